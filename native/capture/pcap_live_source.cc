// PcapLiveSource: libpcap capture copied into a per-source arena (pcap_live_source.h).
#include "capture/pcap_live_source.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "capture/libpcap.h"
#include "capture/link_types.h"

namespace sgfw::capture {

namespace {

constexpr uint64_t kNsPerSec = 1000000000u;
constexpr uint32_t kMaxSnaplen = 262144;  // libpcap's MAXIMUM_SNAPLEN
constexpr int kMaxBatchLimit = 4096;

uint64_t monotonic_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000u + static_cast<uint64_t>(ts.tv_nsec) / 1000000u;
}

// libpcap reports DLT_* values; frames carry LINKTYPE_* (link_types.h). They differ only for
// a few types, of which raw IP and OpenBSD loopback are the ones Linux can hand us.
uint32_t dlt_to_linktype(int dlt) {
  switch (dlt) {
    case DLT_RAW: return kLinkTypeRaw;
#ifdef DLT_LOOP
    case DLT_LOOP: return kLinkTypeLoop;
#endif
    default: return static_cast<uint32_t>(dlt);
  }
}

// Adds the growth of a 32-bit libpcap counter to a 64-bit total (pcap_stat fields are u_int and
// wrap on a long-running monitor).
void accumulate(uint64_t& total, uint32_t& last, uint32_t now) {
  total += static_cast<uint32_t>(now - last);
  last = now;
}

// Enters a named network namespace for the lifetime of the object and returns the calling
// thread to its own one afterwards (setns is per thread).
class NetnsGuard {
 public:
  // Empty name: does nothing. ok() false with `why` set on failure.
  explicit NetnsGuard(const std::string& name) {
    if (name.empty()) return;
    home_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (home_ < 0) { why_ = std::string("cannot open /proc/thread-self/ns/net: ") + std::strerror(errno); return; }
    const std::string path = (name.find('/') == std::string::npos) ? "/run/netns/" + name : name;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) { why_ = "cannot open network namespace " + path + ": " + std::strerror(errno); return; }
    if (setns(fd, CLONE_NEWNET) != 0) why_ = "cannot enter network namespace " + path + ": " + std::strerror(errno);
    else entered_ = true;
    ::close(fd);
  }
  ~NetnsGuard() {
    // Failing to go home would leave this thread in the wrong namespace: nothing sane remains.
    if (entered_ && setns(home_, CLONE_NEWNET) != 0) std::abort();
    if (home_ >= 0) ::close(home_);
  }
  NetnsGuard(const NetnsGuard&) = delete;
  NetnsGuard& operator=(const NetnsGuard&) = delete;
  bool ok() const { return why_.empty(); }
  const std::string& why() const { return why_; }

 private:
  int home_ = -1;
  bool entered_ = false;
  std::string why_;
};

}  // namespace

bool PcapLiveSource::fail(const char* fmt, ...) {
  char msg[PCAP_ERRBUF_SIZE + 256];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  error_ = "pcap: " + ifname_ + ": " + msg;
  return false;
}

bool PcapLiveSource::fail_pcap(const char* what) {
  return fail("%s: %s", what, pcap_ ? lib_->geterr(pcap_) : "not open");
}

bool PcapLiveSource::open(const std::string& ifname, const PcapLiveConfig& cfg) {
  close();
  error_.clear();
  warning_.clear();
  ifname_ = ifname;
  counters_ = PcapLiveCounters{};
  last_recv_ = last_drop_ = last_ifdrop_ = 0;
  seq_ = 0;

  if (ifname.empty()) return fail("no interface named");
  if (cfg.snaplen == 0 || cfg.snaplen > kMaxSnaplen) return fail("snaplen %u is not in 1..%u", cfg.snaplen, kMaxSnaplen);
  if (cfg.max_batch <= 0 || cfg.max_batch > kMaxBatchLimit) return fail("max_batch %d is not in 1..%d", cfg.max_batch, kMaxBatchLimit);
  if (cfg.buffer_mib == 0 || cfg.buffer_mib > 4096) return fail("buffer size %u MiB is not in 1..4096", cfg.buffer_mib);

  std::string why;
  lib_ = libpcap(&why);
  if (!lib_) return fail("%s", why.c_str());

  {
    NetnsGuard ns(cfg.netns);
    if (!ns.ok()) return fail("%s", ns.why().c_str());

    char errbuf[PCAP_ERRBUF_SIZE] = "";
    pcap_ = lib_->create(ifname.c_str(), errbuf);
    if (!pcap_) return fail("%s", errbuf);

    // Settings before activation; each fails only on an activated handle, which this is not.
    lib_->set_snaplen(pcap_, static_cast<int>(cfg.snaplen));
    lib_->set_promisc(pcap_, cfg.promiscuous ? 1 : 0);
    lib_->set_immediate_mode(pcap_, cfg.immediate ? 1 : 0);
    lib_->set_buffer_size(pcap_, static_cast<int>(cfg.buffer_mib) << 20);
    lib_->set_timeout(pcap_, 10);  // irrelevant in immediate mode; bounds block hand-over otherwise
    nano_ = lib_->set_tstamp_precision(pcap_, PCAP_TSTAMP_PRECISION_NANO) == 0;

    const int rc = lib_->activate(pcap_);
    if (rc < 0) {
      // PCAP_ERROR carries its text in pcap_geterr; the others are also described by status.
      const char* text = lib_->geterr(pcap_);
      if (rc != PCAP_ERROR && (!text || !*text)) text = lib_->statustostr(rc);
      fail("cannot capture (%s): %s", lib_->statustostr(rc), text);
      close();
      return false;
    }
    if (rc > 0) {
      const char* text = lib_->geterr(pcap_);
      warning_ = "pcap: " + ifname + ": " + lib_->statustostr(rc) + ((text && *text) ? std::string(": ") + text : "");
    }
  }
  // Precision actually in force (activation may fall back to micro).
  nano_ = lib_->get_tstamp_precision(pcap_) == PCAP_TSTAMP_PRECISION_NANO;
  link_type_ = dlt_to_linktype(lib_->datalink(pcap_));

  if (!cfg.filter.empty()) {
    bpf_program prog;
    if (lib_->compile(pcap_, &prog, cfg.filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
      fail("bad filter \"%s\": %s", cfg.filter.c_str(), lib_->geterr(pcap_));
      close();
      return false;
    }
    const int frc = lib_->setfilter(pcap_, &prog);
    lib_->freecode(&prog);
    if (frc != 0) { fail_pcap("cannot set the filter"); close(); return false; }
  }

  char errbuf[PCAP_ERRBUF_SIZE] = "";
  if (lib_->setnonblock(pcap_, 1, errbuf) != 0) { fail("cannot make the capture non-blocking: %s", errbuf); close(); return false; }
  fd_ = lib_->get_selectable_fd(pcap_);
  if (fd_ < 0) { fail("no selectable descriptor"); close(); return false; }

  snaplen_ = cfg.snaplen;
  max_batch_ = cfg.max_batch;
  port_ = cfg.port;
  // Pages are touched only as frames land in them, so a large snaplen costs address space,
  // not memory, until traffic needs it.
  arena_.reset(new uint8_t[static_cast<size_t>(max_batch_) * snaplen_]);
  return true;
}

void PcapLiveSource::close() {
  if (pcap_) {
    refresh_stats();  // keep the final counters readable after close
    lib_->close(pcap_);
  }
  pcap_ = nullptr;
  fd_ = -1;
  arena_.reset();
  batch_ = nullptr;
  batch_n_ = 0;
}

void PcapLiveSource::on_packet(unsigned char* user, const ::pcap_pkthdr* h, const unsigned char* bytes) {
  auto* self = reinterpret_cast<PcapLiveSource*>(user);
  // dispatch() never asks for more frames than there are free slots; this guards libpcap.
  if (self->batch_n_ >= self->max_batch_) return;
  const uint32_t caplen = h->caplen < self->snaplen_ ? h->caplen : self->snaplen_;
  uint8_t* slot = self->arena_.get() + static_cast<size_t>(self->batch_n_) * self->snaplen_;
  std::memcpy(slot, bytes, caplen);
  Frame& f = self->batch_[self->batch_n_++];
  f.data = slot;
  f.caplen = caplen;
  f.wirelen = h->len;
  const uint64_t frac = static_cast<uint64_t>(h->ts.tv_usec);
  f.ts_ns = static_cast<uint64_t>(h->ts.tv_sec) * kNsPerSec + (self->nano_ ? frac : frac * 1000u);
  f.link_type = self->link_type_;
  f.port = self->port_;
  f.cookie = self->seq_++;
}

int PcapLiveSource::dispatch(int room) {
  const int rc = lib_->dispatch(pcap_, room, &PcapLiveSource::on_packet, reinterpret_cast<unsigned char*>(this));
  if (rc == PCAP_ERROR) { fail_pcap("capture failed"); return -1; }
  return rc;  // PCAP_ERROR_BREAK (-2) only follows pcap_breakloop, which we never call
}

int PcapLiveSource::receive(Frame* frames, int max, int timeout_ms) {
  if (!pcap_) {
    if (error_.empty()) fail("capture is not open");
    return -1;
  }
  if (max > max_batch_) max = max_batch_;
  if (max <= 0) return 0;
  batch_ = frames;
  batch_n_ = 0;
  const uint64_t deadline = monotonic_ms() + static_cast<uint64_t>(timeout_ms > 0 ? timeout_ms : 0);
  for (;;) {
    const int rc = dispatch(max - batch_n_);
    if (rc == -1) {
      batch_n_ = 0;
      close();  // a failed capture stays failed: every later receive() returns -1
      return -1;
    }
    // Hand out what there is at once: waiting to fill the batch would add latency.
    if (batch_n_ > 0) {
      counters_.delivered += static_cast<uint64_t>(batch_n_);
      return batch_n_;
    }
    const uint64_t now = monotonic_ms();
    if (now >= deadline) return 0;
    pollfd pfd{fd_, POLLIN, 0};
    const int pr = poll(&pfd, 1, static_cast<int>(deadline - now));
    if (pr < 0) {
      if (errno == EINTR) return 0;  // a signal: let the caller look at its flags
      fail("poll: %s", std::strerror(errno));
      close();
      return -1;
    }
    if (pr == 0) return 0;
    // Readable, or POLLERR/POLLHUP: the next pcap_dispatch reads the frames or reports why
    // ("The interface went down").
  }
}

void PcapLiveSource::refresh_stats() {
  if (!pcap_) return;
  pcap_stat s;
  std::memset(&s, 0, sizeof s);
  if (lib_->stats(pcap_, &s) != 0) return;  // keep the last good values
  // pcap_stats reports totals since activation as 32-bit counters; extend them to 64 bits.
  static_assert(sizeof(s.ps_recv) == 4, "pcap_stat counters are u_int");
  accumulate(counters_.ps_recv, last_recv_, s.ps_recv);
  accumulate(counters_.ps_drop, last_drop_, s.ps_drop);
  accumulate(counters_.ps_ifdrop, last_ifdrop_, s.ps_ifdrop);
}

PcapLiveCounters PcapLiveSource::counters() {
  refresh_stats();
  return counters_;
}

void PcapLiveSource::stats(SourceStats& out) {
  refresh_stats();
  out = SourceStats{};
  const uint32_t i = port_ < static_cast<uint32_t>(kMaxPorts) ? port_ : 0;
  out.ports = static_cast<int>(i) + 1;
  PortStats& p = out.port[i];
  p.received = counters_.ps_recv;
  p.kernel_drops = counters_.ps_drop + counters_.ps_ifdrop;
}

}  // namespace sgfw::capture
