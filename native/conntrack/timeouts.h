// Idle timeouts by TimeoutSlot (native/table/format.h). The controller pushes
// the seconds per cloud in the table blob's conntrack section; the defaults here
// mirror src/policy/defaults.ts and serve tests and a table without overrides.
// As Linux keeps defaults apart from per-namespace overrides (tn->timeouts).
#pragma once
#include <cstdint>

#include "conntrack/tcp_fsm.h"
#include "core/bytes.h"
#include "core/packet_meta.h"
#include "table/format.h"

namespace sgfw::conntrack {

using table::TimeoutSlot;
inline constexpr int kTimeoutSlots = table::kTimeoutSlotCount;

inline constexpr uint32_t kSecs = 1;
inline constexpr uint32_t kMins = 60 * kSecs;
inline constexpr uint32_t kHours = 60 * kMins;
inline constexpr uint32_t kDays = 24 * kHours;

struct Timeouts {
  uint32_t seconds[kTimeoutSlots] = {};
  constexpr uint32_t operator[](TimeoutSlot s) const { return seconds[static_cast<int>(s)]; }
};

namespace detail {
constexpr int slot(TimeoutSlot s) { return static_cast<int>(s); }
}  // namespace detail

// AWS (spec 2): established/UDP/stream/ICMP/other from the EC2 user guide, the
// other TCP states Linux's, fragment as Linux ipfrag_time.
inline constexpr Timeouts kAwsTimeouts = [] {
  Timeouts t;
  using detail::slot;
  t.seconds[slot(TimeoutSlot::TcpSynSent)] = 2 * kMins;
  t.seconds[slot(TimeoutSlot::TcpSynRecv)] = 60 * kSecs;
  t.seconds[slot(TimeoutSlot::TcpEstablished)] = 5 * kDays;
  t.seconds[slot(TimeoutSlot::TcpFinWait)] = 2 * kMins;
  t.seconds[slot(TimeoutSlot::TcpCloseWait)] = 60 * kSecs;
  t.seconds[slot(TimeoutSlot::TcpLastAck)] = 30 * kSecs;
  t.seconds[slot(TimeoutSlot::TcpTimeWait)] = 2 * kMins;
  t.seconds[slot(TimeoutSlot::TcpClose)] = 10 * kSecs;
  t.seconds[slot(TimeoutSlot::Udp)] = 30 * kSecs;
  t.seconds[slot(TimeoutSlot::UdpStream)] = 3 * kMins;
  t.seconds[slot(TimeoutSlot::Icmp)] = 30 * kSecs;
  t.seconds[slot(TimeoutSlot::Other)] = 10 * kMins;
  t.seconds[slot(TimeoutSlot::Fragment)] = 30 * kSecs;
  return t;
}();

// Alibaba (spec 3): one 910 s idle cap for every session; transitional TCP
// states keep Linux's shorter values.
inline constexpr Timeouts kAlibabaTimeouts = [] {
  Timeouts t = kAwsTimeouts;
  using detail::slot;
  t.seconds[slot(TimeoutSlot::TcpEstablished)] = 910;
  t.seconds[slot(TimeoutSlot::Udp)] = 910;
  t.seconds[slot(TimeoutSlot::UdpStream)] = 910;
  t.seconds[slot(TimeoutSlot::Icmp)] = 910;
  t.seconds[slot(TimeoutSlot::Other)] = 910;
  return t;
}();

// The timeout slot of each TCP state. SYN_SENT2 waits like SYN_SENT (Linux);
// NONE never lasts (a flow is created in a real state).
inline constexpr TimeoutSlot kTcpStateSlot[kTcpStateCount] = {
    TimeoutSlot::TcpSynSent,     // NONE
    TimeoutSlot::TcpSynSent,     // SYN_SENT
    TimeoutSlot::TcpSynRecv,     // SYN_RECV
    TimeoutSlot::TcpEstablished, // ESTABLISHED
    TimeoutSlot::TcpFinWait,     // FIN_WAIT
    TimeoutSlot::TcpCloseWait,   // CLOSE_WAIT
    TimeoutSlot::TcpLastAck,     // LAST_ACK
    TimeoutSlot::TcpTimeWait,    // TIME_WAIT
    TimeoutSlot::TcpClose,       // CLOSE
    TimeoutSlot::TcpSynSent,     // SYN_SENT2
};

// The slot of a flow: TCP by state; UDP `udp` until it is a stream (a reply,
// then another packet in the original direction: spec 2); ICMP/ICMPv6 `icmp`;
// anything else `other`.
constexpr TimeoutSlot timeout_slot(uint8_t proto, uint8_t tcp_state, bool udp_stream) {
  switch (proto) {
    case kProtoTcp:
      return tcp_state < kTcpStateCount ? kTcpStateSlot[tcp_state] : TimeoutSlot::TcpClose;
    case kProtoUdp:
      return udp_stream ? TimeoutSlot::UdpStream : TimeoutSlot::Udp;
    case kProtoIcmp:
    case kProtoIcmpv6:
      return TimeoutSlot::Icmp;
    default:
      return TimeoutSlot::Other;
  }
}

// The conntrack section of a table blob (format.h, conntrack::*), read at load.
struct ConntrackConfig {
  uint32_t max_flows = 0;
  uint32_t max_fragments = 0;
  Timeouts timeouts;
};

// `p` points at kConntrackSectionSize bytes the loader has bounds-checked.
inline ConntrackConfig read_conntrack_section(const uint8_t* p) {
  namespace f = table::conntrack;
  ConntrackConfig c;
  c.max_flows = load_le32(p + f::kMaxFlows.off);
  c.max_fragments = load_le32(p + f::kMaxFragments.off);
  for (int i = 0; i < kTimeoutSlots; ++i) c.timeouts.seconds[i] = load_le32(p + f::kTimeouts.off + 4 * i);
  return c;
}

inline constexpr uint64_t kNsPerSec = 1'000'000'000ull;

}  // namespace sgfw::conntrack
