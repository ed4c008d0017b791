// PcapLiveSource: passive capture through libpcap for `sgfw monitor`. Judged, counted, never
// enforced: complete() does nothing, because libpcap only ever hands us copies.
//
// libpcap's packet buffers are valid only inside its callback, so receive() copies each frame
// into an arena allocated at open() (max_batch * snaplen bytes): no allocation per packet, and
// every frame of a batch stays valid until the next receive(). Reads are non-blocking
// pcap_dispatch calls with a poll() on pcap_get_selectable_fd() in between, so a receive()
// returns at the first frames or at the timeout, whichever comes first.
//
// Immediate mode is on: with TPACKET_V3 block batching a quiet link would otherwise hold a
// frame back for the block timeout (../shared/notes/af-packet-inline.md: 1-2 ms per round trip).
//
//   PcapLiveSource src;
//   if (!src.open("eth0", PcapLiveConfig{})) die(src.error());
//   Frame f[64];
//   int n = src.receive(f, 64, 50);   // -1: src.error()
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "capture/packet_source.h"

struct pcap;         // libpcap's pcap_t and packet header, kept out of this header
struct pcap_pkthdr;

namespace sgfw::capture {

struct Libpcap;  // libpcap.h: the library's calls, loaded when a capture opens

struct PcapLiveConfig {
  uint32_t snaplen = 262144;     // libpcap's MAXIMUM_SNAPLEN: whole frames, GRO super-frames too
  uint32_t buffer_mib = 16;      // kernel ring (pcap_set_buffer_size)
  bool promiscuous = true;
  bool immediate = true;
  std::string filter;            // BPF filter text (tcpdump syntax); empty: every frame
  int max_batch = 64;            // frames one receive() can return; sizes the arena
  uint32_t port = 0;             // copied into Frame::port
  // A network namespace (a name under /run/netns) to open the capture socket in; the calling
  // thread returns to its own namespace before open() returns. Empty: the caller's namespace.
  std::string netns;
};

// libpcap's own counters, as pcap_stats gave them last (cumulative since open()).
struct PcapLiveCounters {
  uint64_t ps_recv = 0;    // frames the kernel filter passed (those dropped included, on Linux)
  uint64_t ps_drop = 0;    // dropped for lack of ring space
  uint64_t ps_ifdrop = 0;  // dropped by the interface (its rx_dropped since open())
  uint64_t delivered = 0;  // frames receive() has handed out
};

class PcapLiveSource final : public PacketSource {
 public:
  PcapLiveSource() = default;
  ~PcapLiveSource() override { close(); }
  PcapLiveSource(const PcapLiveSource&) = delete;
  PcapLiveSource& operator=(const PcapLiveSource&) = delete;

  // Creates, configures and activates the capture and compiles the filter. false on failure,
  // with error() naming the interface ("pcap: eth9: No such device exists"); warnings from
  // activation (promiscuous mode not supported, ...) are kept in warning().
  bool open(const std::string& ifname, const PcapLiveConfig& cfg);
  void close();
  bool is_open() const { return pcap_ != nullptr; }

  int receive(Frame* frames, int max, int timeout_ms) override;
  void complete(const Frame*, const uint8_t*, int) override {}  // monitor enforces nothing
  void stats(SourceStats& out) override;
  const std::string& error() const override { return error_; }

  const std::string& warning() const { return warning_; }
  const std::string& ifname() const { return ifname_; }
  // LINKTYPE_* of every frame (pcap_datalink, mapped from DLT_* where the two differ).
  uint32_t link_type() const { return link_type_; }
  // true when timestamps are nanosecond-exact (pcap_set_tstamp_precision accepted nano).
  bool nano_timestamps() const { return nano_; }
  // Refreshes from pcap_stats like stats() and returns libpcap's counters.
  PcapLiveCounters counters();

 private:
  static void on_packet(unsigned char* user, const ::pcap_pkthdr* h, const unsigned char* bytes);
  bool fail(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
  bool fail_pcap(const char* what);
  // One non-blocking pcap_dispatch for up to `room` frames; <0 on a fatal error.
  int dispatch(int room);
  void refresh_stats();

  const Libpcap* lib_ = nullptr;  // set by open(), before pcap_
  pcap* pcap_ = nullptr;
  int fd_ = -1;                 // pcap_get_selectable_fd
  std::string ifname_;
  uint32_t snaplen_ = 0;
  uint32_t port_ = 0;
  uint32_t link_type_ = 0;
  bool nano_ = false;
  int max_batch_ = 0;

  std::unique_ptr<uint8_t[]> arena_;  // max_batch_ slots of snaplen_ bytes
  // The batch being filled by on_packet.
  Frame* batch_ = nullptr;
  int batch_n_ = 0;
  uint64_t seq_ = 0;            // Frame::cookie: a running frame number

  PcapLiveCounters counters_;
  uint32_t last_recv_ = 0, last_drop_ = 0, last_ifdrop_ = 0;  // pcap_stats as last read
  std::string error_;
  std::string warning_;
};

}  // namespace sgfw::capture
