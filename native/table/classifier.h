// Classifier internals (private to native/table): the per-entry match record both
// classifiers test, the lookup key, and the decision tree. The split follows DPDK acl:
// classifier_build.cc turns entries into trees (control path, allocates), match_table.cc
// walks them (hot path: no allocation, no locks, no virtual calls).
#pragma once
#include <bit>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/packet_meta.h"

namespace sgfw::table::detail {

// A packet as the classifier sees it. Addresses are 128-bit big-endian numbers split
// into (hi, lo) so that a prefix is a contiguous range: IPv4 a.b.c.d is a.b.c.d << 96.
struct Key {
  uint64_t src_hi, src_lo, dst_hi, dst_lo;
  uint16_t sport, dport;
  uint8_t family, proto, icmp_type, icmp_code;
};

inline uint64_t load_be64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
  return v;
}

inline Key make_key(const Tuple& t, uint8_t icmp_type, uint8_t icmp_code) {
  Key k;
  k.src_hi = load_be64(t.src);
  k.src_lo = load_be64(t.src + 8);
  k.dst_hi = load_be64(t.dst);
  k.dst_lo = load_be64(t.dst + 8);
  k.sport = t.sport;
  k.dport = t.dport;
  k.family = t.family;
  k.proto = t.proto;
  k.icmp_type = icmp_type;
  k.icmp_code = icmp_code;
  return k;
}

// One entry in branch-free form: every test is (field & mask) == value or a range, and
// a field the entry does not test has mask 0 / the full range. format.h's rules (ports
// only for TCP/UDP, ICMP only for the family's ICMP, proto-any) are folded in at load.
struct alignas(16) HotEntry {
  uint64_t src_mask_hi, src_mask_lo, src_hi, src_lo;
  uint64_t dst_mask_hi, dst_mask_lo, dst_hi, dst_lo;
  uint16_t sport_lo, sport_span;  // sport - lo <= span (unsigned) <=> lo <= sport <= hi
  uint16_t dport_lo, dport_span;
  uint8_t family_mask, family;    // mask 0: any family
  uint8_t proto_mask, proto;
  uint8_t icmp_type_mask, icmp_type;
  uint8_t icmp_code_mask, icmp_code;
};

inline bool matches(const HotEntry& e, const Key& k) {
  // Bitwise & (not &&): one well-predicted branch per entry instead of nine.
  bool small = ((k.family & e.family_mask) == e.family) & ((k.proto & e.proto_mask) == e.proto) &
               (uint16_t(k.dport - e.dport_lo) <= e.dport_span) &
               (uint16_t(k.sport - e.sport_lo) <= e.sport_span) &
               ((k.icmp_type & e.icmp_type_mask) == e.icmp_type) &
               ((k.icmp_code & e.icmp_code_mask) == e.icmp_code);
  bool addr = ((k.src_hi & e.src_mask_hi) == e.src_hi) & ((k.src_lo & e.src_mask_lo) == e.src_lo) &
              ((k.dst_hi & e.dst_mask_hi) == e.dst_hi) & ((k.dst_lo & e.dst_mask_lo) == e.dst_lo);
  return small & addr;
}

// Decision-tree dimensions (HyperSplit-style: one field, one threshold per node).
enum Dim : uint8_t {
  kDimSrcHi, kDimSrcLo, kDimDstHi, kDimDstLo, kDimSport, kDimDport, kDimProto,
  kDimIcmpType, kDimIcmpCode, kDimCount,
};
inline constexpr uint8_t kLeaf = 0xff;

inline void key_dims(const Key& k, uint64_t out[kDimCount]) {
  out[kDimSrcHi] = k.src_hi;
  out[kDimSrcLo] = k.src_lo;
  out[kDimDstHi] = k.dst_hi;
  out[kDimDstLo] = k.dst_lo;
  out[kDimSport] = k.sport;
  out[kDimDport] = k.dport;
  out[kDimProto] = k.proto;
  out[kDimIcmpType] = k.icmp_type;
  out[kDimIcmpCode] = k.icmp_code;
}

// 16 bytes, children stored as adjacent pairs so a step is one add: internal node: next is
// nodes[ref + (key[dim] >= thr)]. Leaf (dim == kLeaf): `thr` entries at leaf_hot/leaf_ids
// [ref, ref + thr), copies of the run's entries in match order, scanned without indirection.
struct Node {
  uint64_t thr;
  uint32_t ref;
  uint8_t dim;
};
static_assert(sizeof(Node) == 16);

// Hash of an interface address (find_interface's open-addressing table).
uint64_t addr_hash(uint8_t family, uint64_t hi, uint64_t lo);

struct TreeStats {
  uint32_t nodes = 0, leaves = 0, leaf_entries = 0, max_depth = 0, max_leaf = 0;
};

// Builds the tree of one (interface, direction, family) run: `ids` are global entry
// indices in match order, all of a family compatible with the tree's. Appends to nodes,
// leaf_hot and leaf_ids and returns the root's node index.
uint32_t build_tree(const std::vector<HotEntry>& hot, const std::vector<uint32_t>& ids,
                    std::vector<Node>& nodes, std::vector<HotEntry>& leaf_hot,
                    std::vector<uint32_t>& leaf_ids, TreeStats* stats);

}  // namespace sgfw::table::detail
