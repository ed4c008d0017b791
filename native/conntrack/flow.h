// One tracked flow (104 bytes) and the per-packet state updates the engine
// applies to it. Layout notes give running offsets (VPP style); the hot part
// (key, time, state, counters) comes first.
#pragma once
#include <cstdint>

#include "conntrack/flow_key.h"
#include "conntrack/tcp_fsm.h"
#include "conntrack/timeouts.h"
#include "core/reason.h"

namespace sgfw::conntrack {

// Flow::flags
inline constexpr uint8_t kFlowLive = 0x01;        // in the table (cleared on free flows)
inline constexpr uint8_t kFlowReplied = 0x02;     // a packet was seen in the reply direction
inline constexpr uint8_t kFlowStream = 0x04;      // UDP: reply seen, then original again
inline constexpr uint8_t kFlowOrigEgress = 0x08;  // original direction: 1 egress, 0 ingress
inline constexpr uint8_t kFlowTracked = 0x10;     // replies pass by this flow (AWS tracked)
inline constexpr uint8_t kFlowUser0 = 0x20;       // 0x20..0x80: free for the engine
inline constexpr uint8_t kFlowUser1 = 0x40;
inline constexpr uint8_t kFlowUser2 = 0x80;

struct Flow {
  FlowKey key;               // +40 = 40
  uint64_t last_ns = 0;      // +8  = 48  last packet that refreshed the timer (caller's clock)
  uint8_t state = 0;         // +1  = 49  TcpState (TCP only)
  uint8_t flags = 0;         // +1  = 50  kFlow*
  uint8_t timeout_slot = 0;  // +1  = 51  TimeoutSlot the idle timer runs on
  uint8_t aux = 0;           // +1  = 52  free for the engine
  uint32_t generation = 0;   // +4  = 56  table generation the flow was last checked against
  uint64_t packets[2] = {};  // +16 = 72  by FlowDir (original, reply)
  uint64_t bytes[2] = {};    // +16 = 88  IP bytes, by FlowDir
  uint64_t id = 0;           // +8  = 96  unique per table, never 0 (free flows: next free)
  uint32_t rule = 0;         // +4  = 100 rule index that created the flow
  uint32_t start_s = 0;      // +4  = 104 first packet, whole seconds (flow log `start`)
};
static_assert(sizeof(Flow) == 104, "Flow layout is pinned: see the offsets above");

inline Direction flow_orig_dir(const Flow& f) {
  return (f.flags & kFlowOrigEgress) ? Direction::Egress : Direction::Ingress;
}

// A packet's direction relative to the flow.
inline FlowDir flow_dir(const Flow& f, Direction pkt) {
  return pkt == flow_orig_dir(f) ? kDirOriginal : kDirReply;
}

inline void flow_refresh_slot(Flow& f) {
  f.timeout_slot = static_cast<uint8_t>(
      timeout_slot(f.key.proto, f.state, (f.flags & kFlowStream) != 0));
}

// Fill in a flow that FlowTable::insert just returned, for the packet that
// created it. `tcp_state` comes from tcp_new_flow() (ignored for other protocols).
inline void flow_begin(Flow& f, Direction orig, uint8_t tcp_state, bool tracked, uint32_t rule,
                       uint32_t generation, uint32_t ip_bytes) {
  f.state = f.key.proto == kProtoTcp ? tcp_state : 0;
  f.flags = static_cast<uint8_t>((f.flags & kFlowLive) |
                                 (orig == Direction::Egress ? kFlowOrigEgress : 0) |
                                 (tracked ? kFlowTracked : 0));
  f.rule = rule;
  f.generation = generation;
  f.packets[kDirOriginal] = 1;
  f.bytes[kDirOriginal] = ip_bytes;
  flow_refresh_slot(f);
}

// One packet of an existing flow: advance TCP state, mark replies and UDP
// streams, refresh the idle timer, count. Non-TCP packets always Accept.
// Invalid and Reopen leave the flow untouched (the engine drops, or finishes
// the flow and starts over); Ignore counts the packet but keeps state and timer.
inline TcpStep flow_update(Flow& f, Direction pkt, uint8_t tcp_flags, uint32_t ip_bytes,
                           uint64_t now_ns) {
  const FlowDir dir = flow_dir(f, pkt);
  TcpStep step{TcpAction::Accept, f.state, InvalidSub::None};
  if (f.key.proto == kProtoTcp) {
    step = tcp_step(f.state, dir, tcp_flags);
    if (step.action == TcpAction::Invalid || step.action == TcpAction::Reopen) return step;
  }
  f.packets[dir] += 1;
  f.bytes[dir] += ip_bytes;
  if (step.action == TcpAction::Ignore) return step;
  f.state = step.state;
  if (dir == kDirReply) {
    f.flags |= kFlowReplied;
  } else if ((f.flags & kFlowReplied) && f.key.proto == kProtoUdp) {
    f.flags |= kFlowStream;  // spec 2: a reply, then the original direction again
  }
  // A packet timestamp that goes backwards (pcap merges) never shortens the timer.
  if (static_cast<int64_t>(now_ns - f.last_ns) > 0) f.last_ns = now_ns;
  flow_refresh_slot(f);
  return step;
}

}  // namespace sgfw::conntrack
