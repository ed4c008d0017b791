#include "engine/engine.h"

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstring>
#include <iterator>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <unordered_map>

#include "conntrack/flow.h"
#include "conntrack/tcp_fsm.h"

namespace sgfw::engine {

using conntrack::Flow;
using conntrack::FlowKey;
using table::MatchTable;

namespace {

Direction opposite(Direction d) { return d == Direction::Ingress ? Direction::Egress : Direction::Ingress; }

Decision verdict_of(Verdict v, Reason r, int32_t iface = kNoInterface, Direction dir = Direction::Ingress,
                    int32_t rule = kNoRule, uint8_t sub = 0) {
  Decision d;
  d.verdict = v;
  d.reason = r;
  d.iface = iface;
  d.dir = dir;
  d.rule = rule;
  d.sub = sub;
  return d;
}

// verdict_of(Accept, Established, iface, dir) as two stores (the batch's short way writes
// one per packet; field by field it was eight instructions).
Decision established(int32_t iface, Direction dir) {
  static_assert(std::is_trivially_copyable_v<Decision> && sizeof(Decision) == 12 &&
                offsetof(Decision, verdict) == 0 && offsetof(Decision, reason) == 1 && offsetof(Decision, sub) == 2 &&
                offsetof(Decision, dir) == 3 && offsetof(Decision, iface) == 4 && offsetof(Decision, rule) == 8);
  if constexpr (std::endian::native != std::endian::little) return verdict_of(Verdict::Accept, Reason::Established, iface, dir);
  const uint32_t head = static_cast<uint32_t>(Verdict::Accept) | static_cast<uint32_t>(Reason::Established) << 8 |
                        static_cast<uint32_t>(dir) << 24;
  const uint64_t tail = static_cast<uint32_t>(iface) | uint64_t{static_cast<uint32_t>(kNoRule)} << 32;
  Decision d;
  unsigned char* bytes = reinterpret_cast<unsigned char*>(&d);  // trivially copyable: bytes are its value
  std::memcpy(bytes, &head, 4);
  std::memcpy(bytes + 4, &tail, 8);
  return d;
}

// The decision for a packet of a tracked flow, by the state machine's step (not a reopen,
// which leaves the flow to the rules).
Decision flow_verdict(const conntrack::TcpStep& step, int32_t iface, Direction dir) {
  if (step.action == conntrack::TcpAction::Invalid)
    return verdict_of(Verdict::Drop, Reason::Invalid, iface, dir, kNoRule, static_cast<uint8_t>(step.sub));
  return verdict_of(Verdict::Accept, Reason::Established, iface, dir);  // Accept, Ignore
}

// The ICMP type of the request a reply answers, so that a flow created by a request can be
// re-judged in its original direction after a reload (ports carry the identifier).
uint8_t request_type_of(uint8_t family, uint8_t type) {
  if (family == 6) return type == 129 ? 128 : type;
  switch (type) {
    case 0: return 8;
    case 14: return 13;
    case 16: return 15;
    case 18: return 17;
    default: return type;
  }
}

// The tuple of a flow's original direction, rebuilt from its key.
Tuple original_tuple(const Flow& f) {
  Tuple t;
  t.family = f.key.family;
  t.proto = f.key.proto;
  if (conntrack::flow_orig_dir(f) == Direction::Ingress) {
    std::memcpy(t.src, f.key.remote, 16);
    std::memcpy(t.dst, f.key.local, 16);
    t.sport = f.key.remote_port;
    t.dport = f.key.local_port;
  } else {
    std::memcpy(t.src, f.key.local, 16);
    std::memcpy(t.dst, f.key.remote, 16);
    t.sport = f.key.local_port;
    t.dport = f.key.remote_port;
  }
  return t;
}

// Which new packets open a flow (spec 4): TCP per the state machine, UDP and other
// protocols always, ICMP only queries (echo, timestamp, info, address mask).
bool creates_flow(const PacketMeta& m) {
  const uint8_t p = m.tuple.proto;
  if (p == kProtoIcmp || p == kProtoIcmpv6) return m.icmp_class == IcmpClass::Request;
  return true;
}

bool same_tables_interfaces(const MatchTable& a, const MatchTable& b) {
  if (a.interface_count() != b.interface_count()) return false;
  for (uint32_t i = 0; i < a.interface_count(); i++)
    if (a.interface_name(i) != b.interface_name(i)) return false;
  return true;
}

}  // namespace

Engine::Engine(const EngineOptions& opts) : opts_(opts) {}

bool Engine::set_table(std::shared_ptr<const MatchTable> t, uint32_t generation, std::string* error) {
  const table::ConntrackSettings& ct = t->conntrack();
  conntrack::Timeouts timeouts;
  for (int i = 0; i < table::kTimeoutSlotCount; i++) timeouts.seconds[i] = ct.timeouts[i];

  if (!current_.table) {
    const uint32_t shards = opts_.shards ? opts_.shards : 1;
    const uint32_t max_flows = (ct.max_flows + shards - 1) / shards;
    if (!flows_.init(max_flows ? max_flows : 1, opts_.hash_seed, opts_.flow_memory)) {
      if (error) *error = "cannot allocate the flow table for conntrack.maxFlows " + std::to_string(ct.max_flows);
      return false;
    }
    if (!frags_.init(ct.max_fragments ? ct.max_fragments : 1, opts_.hash_seed ^ 0x5bd1e995u)) {
      if (error) *error = "cannot allocate the fragment table for " + std::to_string(ct.max_fragments) + " entries";
      return false;
    }
    frags_ready_ = true;
  } else {
    // Flows are keyed by interface index: if the interface list changed, the old keys
    // mean other interfaces now. Decision: flush (counted) rather than guess a mapping.
    if (!same_tables_interfaces(*current_.table, *t)) {
      uint64_t before = flows_.counters().entries;
      std::vector<Flow*> all;
      all.reserve(before);
      flows_.for_each([&](const Flow& f) { all.push_back(const_cast<Flow*>(&f)); });
      for (Flow* f : all) flows_.remove(f, conntrack::FinishReason::Removed);
      counters_.flows_flushed += before;
    }
    // Fragment verdicts name rules by the old table's numbers: keep a map to the new ones.
    std::unordered_map<std::string_view, int32_t> by_id;
    by_id.reserve(t->rule_count());
    for (uint32_t n = 0; n < t->rule_count(); n++) by_id.emplace(t->rule_id(n), static_cast<int32_t>(n));
    rule_renumber_.assign(current_.table->rule_count(), kNoRule);
    for (uint32_t r = 0; r < current_.table->rule_count(); r++) {
      auto it = by_id.find(current_.table->rule_id(r));
      if (it != by_id.end()) rule_renumber_[r] = it->second;
    }
    prev_generation_ = current_.generation;
    retired_.push_back(std::move(current_));
    counters_.table_swaps++;
  }
  flows_.set_timeouts(timeouts);
  frags_.set_timeout(ct.timeouts[static_cast<int>(table::TimeoutSlot::Fragment)]);

  current_ = TableState{};
  current_.table = std::move(t);
  current_.generation = generation;
  current_.rules.assign(current_.table->rule_count(), PacketCounters{});
  current_.interfaces.assign(current_.table->interface_count(), InterfaceCounters{});
  t_ = current_.table.get();
  build_iface_maps();
  return true;
}

// A fixed sequence of odd multipliers (splitmix64): the same table always gets the same maps.
static uint64_t next_multiplier(uint64_t& seed) {
  seed += 0x9E3779B97F4A7C15ull;
  uint64_t z = seed;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return (z ^ (z >> 31)) | 1;
}

// Tries the multipliers of `seed`'s sequence until one sends every item to a slot of its own,
// and leaves the items placed under it in `slots` (mult: that multiplier). False after 128
// tries: the caller keeps the table's lookup.
template <class Slot, size_t N, class Home>
static bool place_apart(const std::vector<Slot>& items, Slot (&slots)[N], uint64_t seed, Home home, uint64_t& mult) {
  Slot empty{};
  empty.iface = -1;
  for (int attempt = 0; attempt < 128; attempt++) {
    const uint64_t m = next_multiplier(seed);
    std::fill(std::begin(slots), std::end(slots), empty);
    bool ok = true;
    for (const Slot& a : items) {
      Slot& s = slots[home(a, m)];
      if (s.iface >= 0) {
        ok = false;
        break;
      }
      s = a;
    }
    if (ok) {
      mult = m;
      return true;
    }
  }
  return false;
}

void Engine::build_iface_maps() {
  iface4_family_ = 0;
  iface6_family_ = 0;
  std::vector<Iface4Slot> v4;
  std::vector<Iface6Slot> v6;
  t_->for_each_address([&](uint8_t family, const uint8_t* addr, int32_t iface) {
    if (family == 6) {
      Iface6Slot s{};
      std::memcpy(&s.w0, addr, 8);
      std::memcpy(&s.w1, addr + 8, 8);
      s.iface = iface;
      v6.push_back(s);
      return;
    }
    Iface4Slot s{};
    std::memcpy(&s.addr, addr, 4);
    s.iface = iface;
    v4.push_back(s);
  });
  // At most a quarter of the slots filled. Eight addresses in 256 slots: a multiplier has no
  // collision with chance ~0.9; forty, ~0.05. Otherwise the table's lookup serves the family.
  if (v6.size() <= (size_t{1} << kIface6Bits) / 4 &&
      place_apart(v6, iface6_slots_, 0x243F6A8885A308D3ull,
                  [](const Iface6Slot& a, uint64_t m) { return iface6_home(a.w0, a.w1, m); }, iface6_mult_))
    iface6_family_ = 6;
  if (v4.size() <= (size_t{1} << kIface4Bits) / 4 &&
      place_apart(v4, iface4_slots_, 0x9E3779B97F4A7C15ull,
                  [](const Iface4Slot& a, uint64_t m) { return iface4_home(a.addr, m); }, iface4_mult_))
    iface4_family_ = 4;
}

void Engine::expire(uint64_t now_ns, uint32_t budget) {
  if (!t_) return;
  flows_.expire_some(now_ns, budget);
  if (frags_ready_) frags_.expire_some(now_ns, budget);
}

// The per-packet steps are forced inline into judge() and judge_batch(): measured with
// callgrind, the calls' register saves and argument shuffles were a tenth of the
// instructions per packet.
#define SGFW_HOT_INLINE __attribute__((always_inline)) inline

SGFW_HOT_INLINE void Engine::count(const Decision& d, uint32_t bytes) {
  counters_.reasons[static_cast<int>(d.reason)]++;
  if (d.verdict == Verdict::Accept) {
    counters_.accepted++;
  } else {
    counters_.dropped++;
  }
  if (d.reason == Reason::Malformed && d.sub < kMalformedSubCount) counters_.malformed[d.sub]++;
  if (d.reason == Reason::Invalid && d.sub < kInvalidSubCount) counters_.invalid[d.sub]++;
  if (d.iface >= 0 && static_cast<size_t>(d.iface) < current_.interfaces.size()) {
    InterfaceCounters& ic = current_.interfaces[d.iface];
    PacketCounters& pc = d.verdict == Verdict::Accept ? ic.accepted[static_cast<int>(d.dir)]
                                                      : ic.dropped[static_cast<int>(d.dir)];
    pc.packets++;
    pc.bytes += bytes;
  }
}

SGFW_HOT_INLINE void Engine::prepare(const uint8_t* data, uint32_t caplen, uint32_t wirelen, wire::LinkType lt,
                                     PacketMeta& m, Prep& p) {
  wire::parse_frame(data, caplen, wirelen, lt, m);
  p.keyed = false;
  p.short_way = false;
  p.absent = false;
  p.hint = 0;
  int32_t src_if = -1, dst_if = -1;
  // iface4_family_ is 4 only once a table is set, and IPv4 has no neighbour discovery.
  if (m.kind == FrameKind::Ip && m.tuple.family == iface4_family_) [[likely]] {
    uint32_t s, d;
    std::memcpy(&s, m.tuple.src, 4);
    std::memcpy(&d, m.tuple.dst, 4);
    src_if = find_iface4(s);
    dst_if = find_iface4(d);
  } else if (m.kind == FrameKind::Ip && m.tuple.family == iface6_family_ &&
             m.icmp_class != IcmpClass::NeighborDiscovery) {
    src_if = find_iface6(m.tuple.src);
    dst_if = find_iface6(m.tuple.dst);
  } else if (m.kind == FrameKind::Ip && m.icmp_class != IcmpClass::NeighborDiscovery && t_) {
    src_if = t_->find_interface(m.tuple.family, m.tuple.src);
    dst_if = t_->find_interface(m.tuple.family, m.tuple.dst);
  }
  p.src_if = src_if;
  p.dst_if = dst_if;
  if (src_if < 0 && dst_if < 0) return;
  // Later fragments and ICMP errors look up no flow of their own.
  if (m.frag == FragKind::Later || m.icmp_class == IcmpClass::Error) return;
  const Direction dir = src_if >= 0 ? Direction::Egress : Direction::Ingress;
  const uint16_t key_if = static_cast<uint16_t>(src_if >= 0 ? src_if : dst_if);
  p.dir = dir;
  p.short_way = (src_if < 0 || dst_if < 0) && m.frag == FragKind::None;
  // A parsed IPv4 packet's addresses have zero bytes 4..15 (packet_meta.h), as of4 and hash4
  // need.
  if (m.tuple.family == 4) {
    const conntrack::FlowKeyWords k = conntrack::FlowKeyWords::of4(m.tuple, key_if, dir);
    k.store(p.key);
    p.hash = flows_.hash4(k);
  } else {
    const conntrack::FlowKeyWords k = conntrack::FlowKeyWords::of6(m.tuple, key_if, dir);
    k.store(p.key);
    p.hash = flows_.hash(k);
  }
  p.keyed = true;
}

// Counts the packet's decision; the caller counts the packet itself (packets, bytes).
SGFW_HOT_INLINE Decision Engine::finish(const PacketMeta& m, uint32_t wirelen, uint64_t now_ns, const Prep& p) {
  Decision d;
  if (m.kind == FrameKind::NonIp || m.icmp_class == IcmpClass::NeighborDiscovery) {
    // Neither cloud filters ARP/LLDP or IPv6 neighbour discovery (spec 5).
    d = verdict_of(Verdict::Accept, Reason::Infrastructure);
  } else if (m.kind == FrameKind::Malformed) {
    d = verdict_of(Verdict::Drop, Reason::Malformed, kNoInterface, Direction::Ingress, kNoRule,
                   static_cast<uint8_t>(m.malformed));
  } else if (!t_) {
    d = verdict_of(Verdict::Drop, Reason::NoInterface);
  } else {
    d = judge_ip(m, wirelen, now_ns, p);
  }
  count(d, wirelen);
  return d;
}

Decision Engine::judge(const uint8_t* data, uint32_t caplen, uint32_t wirelen, wire::LinkType lt,
                       uint64_t now_ns, PacketMeta& m) {
  Prep p;
  prepare(data, caplen, wirelen, lt, m, p);
  counters_.packets++;
  counters_.bytes += wirelen;
  return finish(m, wirelen, now_ns, p);
}

template <class FrameT>
SGFW_HOT_INLINE void Engine::judge_batch_of(const FrameT* frames, uint32_t n, PacketMeta* metas, Decision* out,
                                            std::span<const uint8_t> next_bytes) {
  Prep* preps = preps_;
  if (n > kMaxBatch) n = kMaxBatch;
  // Three passes: parse and hash (prefetching each flow's slot line), then prefetch the flow
  // records those slots name (keeping each as a hint for find), then judge in order.
  // prepare() reads only the table, never a flow, so doing it early for the whole batch
  // changes no decision; a hint that an earlier packet of the batch made stale (its flow
  // removed, its record reused) fails find's key check and costs only the full probe.
  uint64_t bytes = 0;
  for (uint32_t i = 0; i < n; i++) {
    const FrameT& f = frames[i];
    prepare(f.data, f.caplen, f.wirelen, static_cast<wire::LinkType>(f.link_type), metas[i], preps[i]);
    if (preps[i].keyed) flows_.prefetch(preps[i].hash);
    bytes += f.wirelen;
  }
  // Every packet of the batch is judged below: counted here, once.
  counters_.packets += n;
  counters_.bytes += bytes;
  for (uint32_t i = 0; i < n; i++)
    if (preps[i].keyed) preps[i].hint = flows_.prefetch_flow(preps[i].hash);
  // next_bytes' lines, the same whole number per packet (judge_batch in engine.h says why); a
  // share under a line per packet (a short span at the trace's end) prefetches nothing. Replay's
  // full batches get two (4 KiB over 32 packets), without a loop: the bounded loop per packet
  // it replaces was 3 % of a replay's instructions (callgrind).
  const size_t ahead_lines = n ? next_bytes.size() / 64 / n : 0;
  const uint8_t* ahead = next_bytes.data();
  for (uint32_t i = 0; i < n; i++) {
    if (ahead_lines == 2) [[likely]] {
      __builtin_prefetch(ahead);
      __builtin_prefetch(ahead + 64);
      ahead += 128;
    } else {
      for (size_t k = 0; k < ahead_lines; k++, ahead += 64) __builtin_prefetch(ahead);
    }
    if (!judge_established(metas[i], frames[i].wirelen, frames[i].ts_ns, preps[i], out[i]))
      out[i] = finish(metas[i], frames[i].wirelen, frames[i].ts_ns, preps[i]);
  }
}

void Engine::judge_batch(const capture::Frame* frames, uint32_t n, PacketMeta* metas, Decision* out) {
  judge_batch_of(frames, n, metas, out, {});
}

void Engine::judge_batch(const capture::Record* records, uint32_t n, PacketMeta* metas, Decision* out,
                         std::span<const uint8_t> next_bytes) {
  judge_batch_of(records, n, metas, out, next_bytes);
}

// The batch's short way for the common packet: one protected interface, not a fragment, a
// live flow of the current table generation. It takes the same steps as finish() ->
// judge_ip() -> judge_on() take for such a packet, without their branches for every other
// case (callgrind: 5 % of the instructions of a replay). False, having changed
// nothing, when the packet needs the general path: no flow (find may have reclaimed an
// expired one, which the general path's find then also misses), an older generation, or a
// TCP reopen (tcp_step leaves the flow as it was for those). The fuzz pipeline compares
// judge_batch with judge() on every input.
SGFW_HOT_INLINE bool Engine::judge_established(const PacketMeta& m, uint32_t wirelen, uint64_t now_ns,
                                               Prep& p, Decision& d) {
  // short_way: keyed (an IP packet with an interface, not neighbour discovery, a later
  // fragment or an ICMP error, and a table), not a fragment, one protected interface.
  if (!p.short_way) return false;
  Flow* f = flows_.find(p.key, p.hash, now_ns, p.hint);
  if (f == nullptr) {
    p.absent = true;
    return false;
  }
  if (f->generation != current_.generation) return false;
  const Direction dir = p.dir;
  const int32_t ifx = p.key.iface;
  const conntrack::TcpStep step = flows_.update(*f, dir, m.tcp_flags, m.ip_len, now_ns);
  if (step.action == conntrack::TcpAction::Reopen) return false;
  if (step.action != conntrack::TcpAction::Invalid) [[likely]] {
    // count() for this decision: the interface is the table's (find_interface), so in range.
    d = established(ifx, dir);
    counters_.reasons[static_cast<int>(Reason::Established)]++;
    counters_.accepted++;
    PacketCounters& pc = current_.interfaces[ifx].accepted[static_cast<int>(dir)];
    pc.packets++;
    pc.bytes += wirelen;
    return true;
  }
  d = flow_verdict(step, ifx, dir);
  count(d, wirelen);
  return true;
}

SGFW_HOT_INLINE Decision Engine::judge_ip(const PacketMeta& m, uint32_t bytes, uint64_t now_ns, const Prep& p) {
  const int src_if = p.src_if;
  const int dst_if = p.dst_if;
  if (src_if < 0 && dst_if < 0) return verdict_of(Verdict::Drop, Reason::NoInterface);
  const uint32_t primary = static_cast<uint32_t>(src_if >= 0 ? src_if : dst_if);
  const Direction primary_dir = src_if >= 0 ? Direction::Egress : Direction::Ingress;

  // Later fragments carry no ports: they take their first fragment's verdict (spec 5).
  if (m.frag == FragKind::Later) {
    const conntrack::FragKey fk = conntrack::make_frag_key(m, static_cast<uint16_t>(primary));
    const conntrack::FragVerdict* v = frags_.lookup(fk, frags_.hash(fk), now_ns);
    if (!v) return verdict_of(Verdict::Drop, Reason::Fragment, static_cast<int32_t>(primary), primary_dir);
    // The rule index is the first fragment's table's: after a reload, renumber it by id.
    int32_t rule = v->rule == 0xffffffffu ? kNoRule : static_cast<int32_t>(v->rule);
    if (rule >= 0 && v->reserved != static_cast<uint8_t>(current_.generation)) {
      const bool previous = v->reserved == static_cast<uint8_t>(prev_generation_) &&
                            static_cast<size_t>(rule) < rule_renumber_.size();
      rule = previous ? rule_renumber_[rule] : kNoRule;
      // The rule that decided the first fragment is gone: its verdict no longer stands.
      if (rule < 0) return verdict_of(Verdict::Drop, Reason::Fragment, static_cast<int32_t>(primary), primary_dir);
    }
    // aux holds the direction of the decision that stood and its sub-reason (see below).
    const Direction dir = (v->aux & 0x80) ? Direction::Egress : Direction::Ingress;
    const int32_t iface = (v->aux & 0x80) ? src_if : dst_if;
    Decision d = verdict_of(v->verdict, v->reason, iface >= 0 ? iface : static_cast<int32_t>(primary), dir, rule,
                            static_cast<uint8_t>(v->aux & 0x7f));
    if (d.rule >= 0 && static_cast<uint32_t>(d.rule) < current_.rules.size()) {
      current_.rules[d.rule].packets++;
      current_.rules[d.rule].bytes += bytes;
    }
    return d;
  }

  // A packet between two protected interfaces passes the sender's egress, then the
  // receiver's ingress (spec 5).
  Decision d;
  // prepare() keyed the first of these lookups.
  const Prep* keyed = p.keyed ? &p : nullptr;
  if (src_if >= 0) d = judge_on(static_cast<uint32_t>(src_if), Direction::Egress, m, bytes, now_ns, keyed);
  if (dst_if >= 0 && (src_if < 0 || d.verdict == Verdict::Accept))
    d = judge_on(static_cast<uint32_t>(dst_if), Direction::Ingress, m, bytes, now_ns, src_if < 0 ? keyed : nullptr);

  if (m.frag == FragKind::First) {
    conntrack::FragVerdict v;
    v.verdict = d.verdict;
    v.reason = d.reason;
    v.rule = d.rule >= 0 ? static_cast<uint32_t>(d.rule) : 0xffffffffu;
    v.aux = static_cast<uint8_t>((d.dir == Direction::Egress ? 0x80 : 0) | (d.sub & 0x7f));
    v.reserved = static_cast<uint8_t>(current_.generation);
    const conntrack::FragKey fk = conntrack::make_frag_key(m, static_cast<uint16_t>(primary));
    frags_.record(fk, frags_.hash(fk), v, now_ns);
  }
  return d;
}

// ICMP errors about a tracked flow pass as `related` (spec 2 and 4): the quoted packet,
// as its sender had it, must belong to a flow of this interface, and the error must go
// back to that packet's sender.
bool Engine::related_error(uint32_t iface, Direction dir, const PacketMeta& m, uint64_t now_ns) {
  if (m.icmp_class != IcmpClass::Error || !m.has_quoted) return false;
  if (m.quoted.family != m.tuple.family) return false;
  if (std::memcmp(m.tuple.dst, m.quoted.src, 16) != 0) return false;
  const FlowKey k = conntrack::make_flow_key(m.quoted, static_cast<uint16_t>(iface), opposite(dir));
  const Flow* f = flows_.find(k, flows_.hash(k), now_ns);
  return f != nullptr && (f->flags & conntrack::kFlowTracked);
}

// AWS: a packet that answers an untracked flow of the other direction must not open a
// tracked flow of its own (the connection is untracked as a whole, spec 2).
bool Engine::reply_of_untracked(uint32_t iface, Direction dir, const PacketMeta& m) const {
  const uint8_t p = m.tuple.proto;
  if (p != kProtoTcp && p != kProtoUdp) return false;
  Tuple r;
  r.family = m.tuple.family;
  r.proto = p;
  r.sport = m.tuple.dport;
  r.dport = m.tuple.sport;
  std::memcpy(r.src, m.tuple.dst, 16);
  std::memcpy(r.dst, m.tuple.src, 16);
  const int32_t e = t_->first_match(iface, opposite(dir), r, 0, 0);
  return e >= 0 && t_->entry_action(e) == Verdict::Accept && t_->entry_untracked(e, p);
}

// Alibaba (spec 3): after a reload, a flow keeps passing unless its original-direction
// tuple now first-matches an explicit Drop rule. AWS tracked flows survive any change.
bool Engine::cut_by_rule_change(Flow& f, int32_t* drop_entry) const {
  if (t_->cloud() != table::Cloud::Alibaba) return false;
  const Tuple t = original_tuple(f);
  uint8_t type = 0;
  if (t.proto == kProtoIcmp || t.proto == kProtoIcmpv6) type = request_type_of(t.family, t.family == 6 ? 128 : 8);
  const int32_t e = t_->first_match(f.key.iface, conntrack::flow_orig_dir(f), t, type, 0);
  if (e >= 0 && t_->entry_action(e) == Verdict::Drop && t_->entry_reason(e) == Reason::Rule) {
    *drop_entry = e;
    return true;
  }
  return false;
}

SGFW_HOT_INLINE Decision Engine::judge_on(uint32_t iface, Direction dir, const PacketMeta& m, uint32_t bytes,
                                          uint64_t now_ns, const Prep* keyed) {
  const int32_t ifx = static_cast<int32_t>(iface);
  if (m.icmp_class == IcmpClass::Error && related_error(iface, dir, m, now_ns))
    return verdict_of(Verdict::Accept, Reason::Related, ifx, dir);

  const bool is_tcp = m.tuple.proto == kProtoTcp;
  // ICMP errors never belong to a flow of their own; all else looks its flow up.
  const bool flowless = m.icmp_class == IcmpClass::Error;
  FlowKey own_key;
  const FlowKey* key = &own_key;  // prepare()'s when keyed: not copied
  uint64_t hash = 0;
  if (!flowless) {
    uint32_t hint = 0;
    if (keyed) {
      key = &keyed->key;
      hash = keyed->hash;
      hint = keyed->hint;
    } else {
      own_key = conntrack::make_flow_key(m.tuple, static_cast<uint16_t>(iface), dir);
      hash = flows_.hash(own_key);
    }
    Flow* f = keyed && keyed->absent ? nullptr : flows_.find(*key, hash, now_ns, hint);
    if (f) {
      if (f->generation != current_.generation) {
        int32_t e = -1;
        if (cut_by_rule_change(*f, &e)) {
          flows_.remove(f, conntrack::FinishReason::Removed);
          counters_.rule_change_cuts++;
          const int32_t rule = static_cast<int32_t>(t_->entry_rule(e));
          current_.rules[rule].packets++;
          current_.rules[rule].bytes += bytes;
          return verdict_of(Verdict::Drop, Reason::Rule, ifx, dir, rule);
        }
        f->generation = current_.generation;
      }
      const conntrack::TcpStep step = flows_.update(*f, dir, m.tcp_flags, m.ip_len, now_ns);
      if (step.action != conntrack::TcpAction::Reopen) return flow_verdict(step, ifx, dir);
      // A SYN on a closed connection: the old flow is finished, the rules judge anew.
      flows_.remove(f, conntrack::FinishReason::Closed);
    }
  }

  // No flow: TCP flags first (an impossible combination never reaches the rules).
  conntrack::TcpNew tn{conntrack::TcpNewAction::Create, 0, InvalidSub::None};
  if (is_tcp && m.has_l4) {
    tn = conntrack::tcp_new_flow(m.tcp_flags);
    if (tn.action == conntrack::TcpNewAction::Invalid)
      return verdict_of(Verdict::Drop, Reason::Invalid, ifx, dir, kNoRule, static_cast<uint8_t>(tn.sub));
  }

  const int32_t e = t_->first_match(iface, dir, m.tuple, m.icmp_type, m.icmp_code);
  if (e < 0) return verdict_of(Verdict::Drop, Reason::Default, ifx, dir);  // tables end in a default
  const int32_t rule = static_cast<int32_t>(t_->entry_rule(e));
  current_.rules[rule].packets++;
  current_.rules[rule].bytes += bytes;
  const Verdict v = t_->entry_action(e);
  const Decision d = verdict_of(v, t_->entry_reason(e), ifx, dir, rule);
  if (v == Verdict::Drop || flowless || !creates_flow(m)) return d;
  if (is_tcp && tn.action != conntrack::TcpNewAction::Create) return d;
  if (t_->entry_untracked(e, m.tuple.proto)) return d;
  if (t_->cloud() != table::Cloud::Alibaba && reply_of_untracked(iface, dir, m)) return d;

  Flow* f = flows_.insert(*key, hash, now_ns);
  if (!f) {
    if (opts_.on_conntrack_full == OnConntrackFull::Bypass) {
      counters_.conntrack_bypass++;
      return d;
    }
    return verdict_of(Verdict::Drop, Reason::ConntrackFull, ifx, dir, rule);
  }
  flows_.begin(*f, dir, tn.state, true, static_cast<uint32_t>(rule), current_.generation, m.ip_len);
  return d;
}

}  // namespace sgfw::engine
