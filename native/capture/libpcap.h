// libpcap, loaded when a live capture first needs it. Linked, it would load with every sgfw
// process, together with what Debian's build of it pulls in (dbus, systemd, gcrypt, zstd...):
// about 7 ms of each replay's or check's start-up, for a library only `monitor` uses.
// Types and constants still come from <pcap/pcap.h>; only the calls go through here.
#pragma once
#include <pcap/pcap.h>

#include <string>

namespace sgfw::capture {

struct Libpcap {
#define SGFW_LIBPCAP_FUNCTIONS(X)                                                                     \
  X(create) X(set_snaplen) X(set_promisc) X(set_immediate_mode) X(set_buffer_size) X(set_timeout) \
  X(set_tstamp_precision) X(get_tstamp_precision) X(activate) X(geterr) X(statustostr) X(datalink) \
  X(compile) X(setfilter) X(freecode) X(setnonblock) X(get_selectable_fd) X(dispatch) X(stats) X(close)
#define SGFW_LIBPCAP_MEMBER(name) decltype(&::pcap_##name) name = nullptr;
  SGFW_LIBPCAP_FUNCTIONS(SGFW_LIBPCAP_MEMBER)
#undef SGFW_LIBPCAP_MEMBER
};

// The library, loaded on the first call (thread-safe); nullptr with *why set when this machine
// has no libpcap or it lacks one of the functions.
const Libpcap* libpcap(std::string* why);

}  // namespace sgfw::capture
