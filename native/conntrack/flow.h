// One tracked flow, split Linux-conntrack/VPP style by access: the hot record
// (one 64-byte cache line) holds all the per-packet path reads and writes; the
// cold record (parallel array, same index) holds what only insert, the rare
// counter flush and the flow log touch. A hit then reads two lines: its slot
// and its hot record. Layout notes give running offsets.
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

// Flow::count[dir]: packets (high 10 bits) and IP bytes (low 22 bits) since the
// last flush into FlowCold. Each packet adds its IP bytes plus a weight of 4096
// to the low field, so one bound check (the low field would overflow) also keeps
// the packet field from overflowing: at most 1023 packets (4 MiB / 4096) fit.
// The fast path is then one and, add, compare. A flush happens at most once per
// 1023 packets (749 of 1500 bytes, 59 of 64 KiB), so the per-packet path writes
// the cold line for under 2 % of its packets even with the largest frames, and
// totals stay exact 64-bit (FlowView::packets/bytes add both parts).
inline constexpr int kCountByteBits = 22;
inline constexpr uint32_t kCountBytesMask = (1u << kCountByteBits) - 1;
inline constexpr uint32_t kCountOnePacket = 1u << kCountByteBits;
inline constexpr uint32_t kCountPacketWeight = 4096;
static_assert(kCountBytesMask / kCountPacketWeight < (1u << (32 - kCountByteBits)), "packet field cannot overflow");

inline uint32_t count_packets(uint32_t c) { return c >> kCountByteBits; }
inline uint32_t count_bytes(uint32_t c) { return (c & kCountBytesMask) - kCountPacketWeight * count_packets(c); }

struct alignas(64) Flow {
  FlowKey key;               // +40 = 40
  uint64_t last_ns = 0;      // +8  = 48  last packet that refreshed the timer (caller's clock)
  uint8_t state = 0;         // +1  = 49  TcpState (TCP only)
  uint8_t flags = 0;         // +1  = 50  kFlow*
  uint8_t timeout_slot = 0;  // +1  = 51  TimeoutSlot the idle timer runs on
  uint8_t aux = 0;           // +1  = 52  free for the engine
  uint32_t generation = 0;   // +4  = 56  table generation the flow was last checked against (free: next free)
  uint32_t count[2] = {};    // +8  = 64  by FlowDir: packets and bytes not yet in FlowCold (see above)
};
static_assert(sizeof(Flow) == 64 && alignof(Flow) == 64, "the hot record is one cache line");

struct FlowCold {
  uint64_t packets[2] = {};  // +16 = 16 by FlowDir (original, reply), flushed part
  uint64_t bytes[2] = {};    // +16 = 32 IP bytes, by FlowDir, flushed part
  uint64_t id = 0;           // +8  = 40 unique per table, never 0
  uint32_t rule = 0;         // +4  = 44 rule index that created the flow
  uint32_t start_s = 0;      // +4  = 48 first packet, whole seconds (flow log `start`)
};
static_assert(sizeof(FlowCold) == 48, "FlowCold layout is pinned: see the offsets above");

// A flow and its cold record, as the sink, for_each_view and the flow log see it.
struct FlowView {
  const Flow& hot;
  const FlowCold& cold;
  const FlowKey& key() const { return hot.key; }
  uint64_t packets(FlowDir d) const { return cold.packets[d] + count_packets(hot.count[d]); }
  uint64_t bytes(FlowDir d) const { return cold.bytes[d] + count_bytes(hot.count[d]); }
  uint64_t id() const { return cold.id; }
  uint32_t rule() const { return cold.rule; }
  uint32_t start_s() const { return cold.start_s; }
};

// One packet of `ip_bytes` in direction `dir`: into the hot counter, flushing
// it into the cold record first when it would overflow. `cold_of()` gives the
// cold record; it is called only on a flush, so the per-packet path does not
// even compute the cold record's address.
template <class ColdOf>
inline void flow_count_with(Flow& f, ColdOf&& cold_of, FlowDir dir, uint32_t ip_bytes) {
  const uint32_t n = f.count[dir];
  const uint64_t low = uint64_t{n & kCountBytesMask} + ip_bytes + kCountPacketWeight;
  if (low <= kCountBytesMask) [[likely]] {
    // = n + kCountOnePacket + kCountPacketWeight + ip_bytes, from the sum just checked (fewer
    // values live across the check: the inlined update spilled them).
    f.count[dir] = (n & ~kCountBytesMask) + kCountOnePacket + static_cast<uint32_t>(low);
    return;
  }
  FlowCold& c = cold_of();
  c.packets[dir] += count_packets(n) + 1;
  c.bytes[dir] += uint64_t{count_bytes(n)} + ip_bytes;
  f.count[dir] = 0;
}

inline void flow_count(Flow& f, FlowCold& c, FlowDir dir, uint32_t ip_bytes) {
  flow_count_with(f, [&c]() -> FlowCold& { return c; }, dir, ip_bytes);
}

inline Direction flow_orig_dir(const Flow& f) {
  return (f.flags & kFlowOrigEgress) ? Direction::Egress : Direction::Ingress;
}

// A packet's direction relative to the flow.
inline FlowDir flow_dir(const Flow& f, Direction pkt) {
  // Reply when the packet's direction (Ingress 0, Egress 1) differs from the original's bit.
  static_assert(kFlowOrigEgress == 0x08 && static_cast<int>(Direction::Egress) == 1 && kDirReply == 1);
  return static_cast<FlowDir>(((f.flags >> 3) ^ static_cast<uint8_t>(pkt)) & 1);
}

inline void flow_refresh_slot(Flow& f) {
  f.timeout_slot = static_cast<uint8_t>(
      timeout_slot(f.key.proto, f.state, (f.flags & kFlowStream) != 0));
}

// Fill in a flow that FlowTable::insert just returned, for the packet that
// created it (FlowTable::begin passes its cold record). `tcp_state` comes from
// tcp_new_flow() (ignored for other protocols).
inline void flow_begin(Flow& f, FlowCold& c, Direction orig, uint8_t tcp_state, bool tracked, uint32_t rule,
                       uint32_t generation, uint32_t ip_bytes) {
  f.state = f.key.proto == kProtoTcp ? tcp_state : 0;
  f.flags = static_cast<uint8_t>((f.flags & kFlowLive) |
                                 (orig == Direction::Egress ? kFlowOrigEgress : 0) |
                                 (tracked ? kFlowTracked : 0));
  c.rule = rule;
  f.generation = generation;
  // The original direction's count is this packet (the reply's stays as insert left it: 0).
  f.count[kDirOriginal] = 0;
  c.packets[kDirOriginal] = 0;
  c.bytes[kDirOriginal] = 0;
  flow_count(f, c, kDirOriginal, ip_bytes);
  flow_refresh_slot(f);
}

// One packet of an existing flow: advance TCP state, mark replies and UDP
// streams, refresh the idle timer, count. Non-TCP packets always Accept.
// Invalid and Reopen leave the flow untouched (the engine drops, or finishes
// the flow and starts over); Ignore counts the packet but keeps state and timer.
// The cold record is written only when the hot counter overflows (FlowTable::update;
// flow_count_with says what cold_of is).
template <class ColdOf>
__attribute__((always_inline)) inline TcpStep flow_update_with(Flow& f, ColdOf&& cold_of, Direction pkt,
                                                               uint8_t tcp_flags, uint32_t ip_bytes, uint64_t now_ns) {
  const FlowDir dir = flow_dir(f, pkt);
  // TCP and the rest apart: each tests only what can change for it (TCP never becomes a
  // stream; the rest has no state), fewer values live at once in the inlined engine loop.
  if (f.key.proto == kProtoTcp) {
    const uint8_t old_state = f.state;
    const TcpStep step = tcp_step(old_state, dir, tcp_flags);
    if (step.action == TcpAction::Invalid || step.action == TcpAction::Reopen) return step;
    flow_count_with(f, cold_of, dir, ip_bytes);
    if (step.action == TcpAction::Ignore) return step;
    f.state = step.state;
    // Without a jump: the direction flips packet by packet, which a predictor cannot learn.
    static_assert(kDirReply == 1);
    f.flags |= static_cast<uint8_t>(kFlowReplied * dir);
    // A packet timestamp that goes backwards (pcap merges) never shortens the timer.
    if (static_cast<int64_t>(now_ns - f.last_ns) > 0) f.last_ns = now_ns;
    // A TCP flow's slot depends on its state only (flow_refresh_slot): stored every time, as a
    // test of "state changed" is another jump that follows the packets.
    f.timeout_slot = static_cast<uint8_t>(timeout_slot(kProtoTcp, step.state, false));
    return step;
  }
  flow_count_with(f, cold_of, dir, ip_bytes);
  const uint8_t old_flags = f.flags;
  if (dir == kDirReply) {
    f.flags |= kFlowReplied;
  } else if ((old_flags & kFlowReplied) && f.key.proto == kProtoUdp) {
    f.flags |= kFlowStream;  // spec 2: a reply, then the original direction again
  }
  if (static_cast<int64_t>(now_ns - f.last_ns) > 0) f.last_ns = now_ns;
  if ((f.flags ^ old_flags) & kFlowStream) flow_refresh_slot(f);
  return TcpStep{TcpAction::Accept, f.state, InvalidSub::None};
}

inline TcpStep flow_update(Flow& f, FlowCold& c, Direction pkt, uint8_t tcp_flags, uint32_t ip_bytes,
                           uint64_t now_ns) {
  return flow_update_with(f, [&c]() -> FlowCold& { return c; }, pkt, tcp_flags, ip_bytes, now_ns);
}

}  // namespace sgfw::conntrack
