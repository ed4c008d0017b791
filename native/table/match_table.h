// The loaded, immutable match table: what load_table() (loader.h) builds from a blob and
// what the engine's workers read. Build (load_table, control path, allocates, one writer)
// and classify (first_match, hot path: no allocation, no locks, no virtual calls) are apart,
// as in DPDK acl. A MatchTable is never modified after load; swap whole tables instead.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/packet_meta.h"
#include "core/reason.h"
#include "table/classifier.h"
#include "table/format.h"

namespace sgfw::table {

// Which classifier serves an (interface, direction) run.
enum class ClassifierKind : uint8_t {
  Linear = 0,  // straight scan of the run: the reference
  Tree = 1,    // partitioned (EffiCuts) HyperSplit-style decision trees with small linear leaves
};
inline constexpr const char* kClassifierKindNames[] = {"linear", "tree"};

// Runs shorter than this stay linear: a scan of a few 80-byte entries beats a tree walk.
inline constexpr uint32_t kTreeMinEntries = 16;

struct ConntrackSettings {
  uint32_t max_flows = 0;
  uint32_t timeouts[kTimeoutSlotCount] = {};  // seconds
  uint32_t max_fragments = 0;
  uint32_t timeout(TimeoutSlot s) const { return timeouts[static_cast<uint8_t>(s)]; }
};

class MatchTable {
 public:
  MatchTable() = default;
  MatchTable(MatchTable&&) = default;
  MatchTable& operator=(MatchTable&&) = default;
  MatchTable(const MatchTable&) = delete;
  MatchTable& operator=(const MatchTable&) = delete;

  Cloud cloud() const { return cloud_; }
  const ConntrackSettings& conntrack() const { return conntrack_; }

  // Interfaces.
  uint32_t interface_count() const { return static_cast<uint32_t>(ifaces_.size()); }
  std::string_view interface_name(uint32_t i) const { return str(ifaces_[i].name_off, ifaces_[i].name_len); }
  uint8_t nic_type(uint32_t i) const { return ifaces_[i].nic_type; }  // 0 none, 1 internet, 2 intranet
  // The interface owning this address (family 4: bytes 0..3, rest zero), or -1.
  // Inline: the engine asks twice per packet (source and destination).
  int find_interface(uint8_t family, const uint8_t addr[16]) const {
    if (family == 4) {
      // IPv4 (most packets, and two lookups each): the address as stored, no byte swap. Bytes
      // 4..15 must be zero (packet_meta.h), as they are in every stored IPv4 address.
      if (addr4_slots_.empty()) return -1;
      const Addr4Slot* s4 = addr4_slots_.data();
      uint32_t a, t0;
      uint64_t t1;
      std::memcpy(&a, addr, 4);
      std::memcpy(&t0, addr + 4, 4);
      std::memcpy(&t1, addr + 8, 8);
      if ((t0 | t1) != 0) return -1;
      const uint32_t mask = static_cast<uint32_t>(addr4_slots_.size() - 1);
      for (uint32_t i = addr4_home(a);; i = (i + 1) & mask) {
        if (s4[i].iface < 0) return -1;  // a quarter full at most: an empty slot ends every probe
        if (s4[i].addr == a) return s4[i].iface;
      }
    }
    if (addr_slots_.empty()) return -1;
    const AddrSlot* slots = addr_slots_.data();
    const uint64_t hi = detail::load_be64(addr), lo = detail::load_be64(addr + 8);
    const size_t mask = addr_slots_.size() - 1;
    for (size_t i = detail::addr_hash(family, hi, lo) & mask;; i = (i + 1) & mask) {
      const AddrSlot& s = slots[i];
      if (s.iface < 0) return -1;  // the table is at most a quarter full: an empty slot ends every probe
      if (((s.hi ^ hi) | (s.lo ^ lo) | (s.family ^ family)) == 0) return s.iface;
    }
  }

  // Every address with its interface, in no particular order (control path: the engine
  // builds its own IPv4 lookup from them). addr as find_interface takes it.
  template <class F>
  void for_each_address(F&& f) const {
    for (const AddrSlot& s : addr_slots_) {
      if (s.iface < 0) continue;
      uint8_t addr[16];
      for (int b = 0; b < 8; b++) {
        addr[b] = static_cast<uint8_t>(s.hi >> (56 - 8 * b));
        addr[8 + b] = static_cast<uint8_t>(s.lo >> (56 - 8 * b));
      }
      f(s.family, static_cast<const uint8_t*>(addr), s.iface);
    }
  }

  // Rules (reported ids, counter index).
  uint32_t rule_count() const { return static_cast<uint32_t>(rules_.size()); }
  std::string_view rule_id(uint32_t r) const { return str(rules_[r].id_off, rules_[r].id_len); }
  Verdict rule_action(uint32_t r) const { return static_cast<Verdict>(rules_[r].action); }
  Reason rule_reason(uint32_t r) const { return static_cast<Reason>(rules_[r].reason); }

  // Entries, by global index (as first_match returns them).
  uint32_t entry_count() const { return static_cast<uint32_t>(cold_.size()); }
  Verdict entry_action(uint32_t e) const { return static_cast<Verdict>(cold_[e].action); }
  Reason entry_reason(uint32_t e) const { return static_cast<Reason>(cold_[e].reason); }
  uint32_t entry_rule(uint32_t e) const { return cold_[e].rule; }
  uint8_t entry_flags(uint32_t e) const { return cold_[e].flags; }
  uint16_t entry_priority(uint32_t e) const { return cold_[e].priority; }
  // AWS untracked: whether flows of `proto` admitted by entry e skip connection tracking.
  bool entry_untracked(uint32_t e, uint8_t proto) const {
    uint8_t f = cold_[e].flags;
    return (proto == kProtoTcp && (f & kFlagUntrackedTcp)) || (proto == kProtoUdp && (f & kFlagUntrackedUdp));
  }

  // Runs.
  uint32_t run_first(uint32_t iface, Direction dir) const { return run(iface, dir).first; }
  uint32_t run_size(uint32_t iface, Direction dir) const { return run(iface, dir).count; }
  ClassifierKind classifier_kind(uint32_t iface, Direction dir) const { return run(iface, dir).kind; }

  // Global index of the first entry of the (iface, dir) run matching the packet, or -1.
  // Semantics exactly as format.h. iface must be < interface_count() (unchecked).
  int32_t first_match(uint32_t iface, Direction dir, const Tuple& t, uint8_t icmp_type,
                      uint8_t icmp_code) const {
    const Run& r = run(iface, dir);
    if (r.kind == ClassifierKind::Tree) {
      const int32_t e = t.family == 6 ? tree_match<false>(r.part6, r.nparts6, t, icmp_type, icmp_code)
                                      : tree_match<true>(r.part4, r.nparts4, t, icmp_type, icmp_code);
      // Tree ids are hot_ indices from tree_base (Run): back to this run's global indices.
      return e < 0 ? e : e - static_cast<int32_t>(r.tree_base) + static_cast<int32_t>(r.first);
    }
    return linear_match(r, detail::make_key(t, icmp_type, icmp_code));
  }
  // The reference: a straight scan of the run, whatever classifier the run has.
  int32_t first_match_linear(uint32_t iface, Direction dir, const Tuple& t, uint8_t icmp_type,
                             uint8_t icmp_code) const {
    return linear_match(run(iface, dir), detail::make_key(t, icmp_type, icmp_code));
  }

  // Bytes held by the classifier structures (entries, tree nodes, leaves): for benchmarks.
  size_t classifier_bytes() const;
  const detail::TreeStats& tree_stats() const { return tree_stats_; }

 private:
  friend class TableAssembler;

  struct Iface {
    uint32_t name_off;
    uint16_t name_len;
    uint8_t nic_type;
  };
  struct RuleInfo {
    uint32_t id_off;
    uint16_t id_len;
    uint8_t reason, action;
  };
  struct Cold {
    uint32_t rule;
    uint16_t priority;
    uint8_t action, reason, flags;
  };
  struct Run {
    uint32_t first = 0, count = 0;
    // The run's entries in hot_ ([hot_first, hot_first + count)): runs with the very same
    // entries (interfaces that carry the same groups) keep one copy there.
    uint32_t hot_first = 0;
    // Partitions (trees_.parts) by packet family: [part4, part4 + nparts4) for IPv4 (Tree only).
    uint32_t part4 = 0, part6 = 0;
    uint16_t nparts4 = 0, nparts6 = 0;
    // The trees' entry ids are hot_ indices, from the hot_first of the run they were built for
    // (this run's, or an identical earlier run's whose trees it shares); first_match turns
    // them back into global entry indices.
    uint32_t tree_base = 0;
    ClassifierKind kind = ClassifierKind::Linear;
  };
  struct AddrSlot {
    uint64_t hi, lo;
    int32_t iface;  // -1: empty slot
    uint8_t family;
  };
  // IPv4 addresses again, in a table of their own: 8-byte slots keyed by the address's four
  // bytes as they lie in the packet, homed by a multiply-shift (the product's top bits mix
  // every address bit, so neighbouring addresses do not cluster). callgrind: 40 instructions a
  // packet fewer for its two lookups than through the 16-byte table (replay, 200k packets).
  struct Addr4Slot {
    uint32_t addr;
    int32_t iface;  // -1: empty slot
  };
  uint32_t addr4_home(uint32_t a) const { return (a * 0x9E3779B1u) >> addr4_shift_; }

  const Run& run(uint32_t iface, Direction dir) const { return runs_[2 * iface + static_cast<uint8_t>(dir)]; }
  std::string_view str(uint32_t off, uint32_t len) const { return std::string_view(strings_).substr(off, len); }

  int32_t linear_match(const Run& r, const detail::Key& k) const {
    const detail::HotEntry* e = hot_.data() + r.hot_first;
    for (uint32_t i = 0; i < r.count; i++) {
      if (detail::matches(e[i], k)) return static_cast<int32_t>(r.first + i);
    }
    return -1;
  }
  // Walks every partition that could still hold an earlier match than the best so far.
  // V4: an IPv4 packet, whose trees keep Leaf4 leaves.
  // The key's dimensions come straight from the tuple (no Key for an IPv4 packet: its leaves
  // test words built from them). An IPv4 packet's low address halves are zero.
  template <bool V4>
  int32_t tree_match(uint32_t part, uint32_t nparts, const Tuple& t, uint8_t icmp_type, uint8_t icmp_code) const {
    uint64_t v[detail::kDimCount];
    v[detail::kDimSrcHi] = detail::load_be64(t.src);
    v[detail::kDimSrcLo] = V4 ? 0 : detail::load_be64(t.src + 8);
    v[detail::kDimDstHi] = detail::load_be64(t.dst);
    v[detail::kDimDstLo] = V4 ? 0 : detail::load_be64(t.dst + 8);
    v[detail::kDimSport] = t.sport;
    v[detail::kDimDport] = t.dport;
    v[detail::kDimProto] = t.proto;
    v[detail::kDimIcmpType] = icmp_type;
    v[detail::kDimIcmpCode] = icmp_code;
    const detail::Key4 k4 = detail::make_key4(
        (v[detail::kDimSrcHi] & 0xffffffff00000000ull) | (v[detail::kDimDstHi] >> 32),
        t.proto | uint32_t{icmp_type} << 8 | uint32_t{icmp_code} << 16, t.sport, t.dport);
    [[maybe_unused]] detail::Key6 k6;  // IPv6 leaves test the addresses as the tuple holds them
    if constexpr (!V4) k6 = detail::make_key6(t);
    const detail::Node4* nodes = trees_.nodes.data();
    const detail::Part* p = trees_.parts.data() + part;
    const uint32_t* roots = trees_.roots.data();
    // The tree of partition q for this packet: its slice of the root cut (detail::Part).
    auto root = [&](const detail::Part& q) { return nodes + roots[q.root + (static_cast<uint32_t>(v[q.dim] >> q.shift) & q.mask)]; };
    // A closing catch-all partition (detail::kCatchAll) is the match unless a walk finds an
    // earlier one: the same for every lookup of the run, so the branch predicts.
    uint32_t best = ~0u;
    if (nparts != 0 && p[nparts - 1].group == detail::kCatchAll) best = p[--nparts].min_id;
    // A leaf's entries in match order; the first match is the leaf's best, and ids not
    // below the best so far cannot improve it. A leaf of at most two (nearly all: the build's
    // leaf size) is tested whole without a branch: its first and last entries (the same one
    // in a leaf of one; an empty leaf points at padding of id ~0u), the lower id of those
    // that match. The loop's exit and the match test were 45 % of rulegen's mispredictions
    // (rulegen 1,000 with the catch-all: 2.3 -> 0.94 a lookup, callgrind; +34 % lookups/s).
    auto scan = [&](const detail::Node4& n) __attribute__((always_inline)) {
      const uint32_t start = detail::leaf_start(n), cnt = detail::leaf_count(n);
      const uint32_t* ids = (V4 ? trees_.leaf4_ids.data() : trees_.leaf_ids.data()) + start;
      [[maybe_unused]] const detail::Leaf4* leaf4 = nullptr;
      [[maybe_unused]] const detail::Leaf6* leaf6 = nullptr;
      if constexpr (V4) leaf4 = trees_.leaf4.data() + start;
      else leaf6 = trees_.leaf6.data() + start;
      auto test = [&](uint32_t j) __attribute__((always_inline)) {
        if constexpr (V4) return detail::matches4(leaf4[j], k4);
        else return detail::matches6(leaf6[j], k6, k4);
      };
      if (cnt <= 2) [[likely]] {
        const uint32_t j = cnt >> 1;
        const uint32_t c0 = ids[0] | (uint32_t{test(0)} - 1), c1 = ids[j] | (uint32_t{test(j)} - 1);
        const uint32_t c = c0 < c1 ? c0 : c1;
        best = c < best ? c : best;
        return;
      }
      for (uint32_t j = 0; j < cnt && ids[j] < best; j++) {
        if (test(j)) {
          best = ids[j];
          break;
        }
      }
    };
    // Up to four partitions at a time (those left that could still improve on the best): each
    // walk is a chain of dependent loads, and chains in one loop overlap where one after the
    // other each waits on its own. A walk that reaches its leaf first idles there (a leaf
    // steps to itself). The later partitions of a group are walked before the earlier ones'
    // leaves are scanned, so sometimes in vain: more instructions per lookup (callgrind), and
    // 20-45 % more lookups/s on the bench's profiles than one walk after the other. Written
    // out per group size: a loop over an array of walks measured 20-30 % slower (GCC 12).
    // Groups of 2-4 step without jumps, single walks with (see node4_step). Pairs without: with
    // root cuts rulegen's and the bench profiles' IPv4 runs became pairs, whose jumps mispredicted
    // on rulegen (callgrind: 45 % of its mispredictions): rulegen 1,000 +15 % lookups/s, fw and
    // acl 1,000 -10 % and -4 % (still 1.4-1.6x the root-cut-less figures).
    for (uint32_t i = 0; i < nparts && p[i].min_id < best;) {
      const detail::Node4* a = root(p[i]);
      const uint32_t g = p[i].group;  // trees in a row from i, within this (run, family)
      if (g == 0) {  // a one-leaf partition
        scan(*a);
        i++;
        continue;
      }
      if (g >= 4 && p[i + 3].min_id < best) {
        const detail::Node4* b = root(p[i + 1]);
        const detail::Node4* c = root(p[i + 2]);
        const detail::Node4* d = root(p[i + 3]);
        while ((a->kind & b->kind & c->kind & d->kind) == 0) {
          a = detail::node4_step_bf(nodes, *a, v);
          b = detail::node4_step_bf(nodes, *b, v);
          c = detail::node4_step_bf(nodes, *c, v);
          d = detail::node4_step_bf(nodes, *d, v);
        }
        scan(*a);
        if (p[i + 1].min_id < best) scan(*b);
        if (p[i + 2].min_id < best) scan(*c);
        if (p[i + 3].min_id < best) scan(*d);
        i += 4;
        continue;
      }
      if (g >= 3 && p[i + 2].min_id < best) {
        const detail::Node4* b = root(p[i + 1]);
        const detail::Node4* c = root(p[i + 2]);
        while ((a->kind & b->kind & c->kind) == 0) {
          a = detail::node4_step_bf(nodes, *a, v);
          b = detail::node4_step_bf(nodes, *b, v);
          c = detail::node4_step_bf(nodes, *c, v);
        }
        scan(*a);
        if (p[i + 1].min_id < best) scan(*b);
        if (p[i + 2].min_id < best) scan(*c);
        i += 3;
        continue;
      }
      if (g >= 2 && p[i + 1].min_id < best) {
        const detail::Node4* b = root(p[i + 1]);
        while ((a->kind & b->kind) == 0) {
          a = detail::node4_step_bf(nodes, *a, v);
          b = detail::node4_step_bf(nodes, *b, v);
        }
        scan(*a);
        if (p[i + 1].min_id < best) scan(*b);
        i += 2;
      } else {
        while (a->kind != detail::kNode4Leaf) a = detail::node4_step(nodes, *a, v);
        scan(*a);
        i++;
      }
    }
    return static_cast<int32_t>(best);  // ~0u is -1
  }

  Cloud cloud_ = Cloud::Aws;
  ConntrackSettings conntrack_;
  std::string strings_;
  std::vector<Iface> ifaces_;
  std::vector<RuleInfo> rules_;
  std::vector<Cold> cold_;
  std::vector<detail::HotEntry> hot_;  // the runs' entries, one copy per distinct run (Run::hot_first)
  std::vector<Run> runs_;  // 2 per interface: ingress, egress
  detail::TreeStore trees_;  // Tree runs' partitions, nodes and leaves
  std::vector<AddrSlot> addr_slots_;  // open addressing, power-of-two size
  std::vector<Addr4Slot> addr4_slots_;  // the IPv4 ones of addr_slots_, same size
  uint32_t addr4_shift_ = 32;            // 32 - log2(addr4_slots_.size())
  detail::TreeStats tree_stats_;
};

}  // namespace sgfw::table
