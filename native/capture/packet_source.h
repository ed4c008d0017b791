// A live packet source: what `monitor` (libpcap), `run --inline` (AF_PACKET rings between two
// NICs) and `run --host` (NFQUEUE) have in common. One worker thread owns one source and one
// engine: receive a batch, judge it, complete it with one verdict per frame.
// One virtual call per batch, never per packet.
#pragma once
#include <cstdint>
#include <string>

namespace sgfw::capture {

// One received frame. `data` stays valid until complete() for the batch it came in.
struct Frame {
  const uint8_t* data = nullptr;
  uint32_t caplen = 0;
  uint32_t wirelen = 0;
  uint64_t ts_ns = 0;      // receive time, CLOCK_REALTIME nanoseconds
  uint32_t link_type = 1;  // pcap LINKTYPE_* of data (1 Ethernet, 101 raw IP for NFQUEUE)
  uint32_t port = 0;       // the interface or queue it came from (inline: 0 = OUTSIDE, 1 = INSIDE)
  uint64_t cookie = 0;     // the source's own handle (ring slot, NFQUEUE packet id)
};

// Counters a source keeps per port; capture loss must never be silent.
struct PortStats {
  uint64_t received = 0;
  uint64_t kernel_drops = 0;  // PACKET_STATISTICS tp_drops, pcap_stats ps_drop, NFQUEUE queue drops
  uint64_t forwarded = 0;     // inline: frames sent to the other side; host: accept verdicts
  uint64_t tx_errors = 0;     // inline: send failures (EMSGSIZE, ENOBUFS, ...)
  uint64_t dropped = 0;       // frames the verdict dropped
};

inline constexpr int kMaxPorts = 4;

struct SourceStats {
  int ports = 0;
  PortStats port[kMaxPorts];
  // Inline: polls of the rings right after a batch while the traffic is dense (busy polling,
  // AfPacketConfig::spin_us), and how many of them found frames. 0 for the other sources.
  uint64_t busy_polls = 0;
  uint64_t busy_poll_hits = 0;
};

class PacketSource {
 public:
  virtual ~PacketSource() = default;
  // Waits up to timeout_ms for frames and fills up to `max`. Returns the count (0 on
  // timeout or signal), or -1 on a fatal error (see error()).
  virtual int receive(Frame* frames, int max, int timeout_ms) = 0;
  // The verdicts for every frame of the last receive(), in order (1 accept/forward, 0 drop).
  // Must be called once per non-empty receive() before the next one.
  virtual void complete(const Frame* frames, const uint8_t* accept, int n) = 0;
  // Per-port counters, refreshed from the kernel where it keeps them.
  virtual void stats(SourceStats& out) = 0;
  virtual const std::string& error() const = 0;
};

}  // namespace sgfw::capture
