// Classifier internals (private to native/table): the per-entry match record both
// classifiers test, the lookup key, and the decision tree. The split follows DPDK acl:
// classifier_build.cc turns entries into trees (control path, allocates), match_table.cc
// walks them (hot path: no allocation, no locks, no virtual calls).
#pragma once
#include <bit>
#include <cstdint>
#include <cstring>
#include <new>
#include <vector>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

// An IPv4 tree's leaf record (32 B, two per cache line; HotEntry is 80 B): an IPv4 tree only
// sees IPv4 packets and entries of family 4 or any, so the family test and the low address
// halves drop out, and both addresses and the three byte fields pack into one word each.
// Laid out as two 16-byte halves, masks and spans then values and port lows, against a key
// of the same shape (Key4), so that SSE2 tests a whole entry in a few instructions.
struct alignas(16) Leaf4 {
  uint64_t addr_mask;              // src << 32 | dst (the top 32 bits of src_hi / dst_hi)
  uint32_t small_mask;             // proto | icmp_type << 8 | icmp_code << 16
  uint16_t sport_span, dport_span;
  uint64_t addr;
  uint32_t small;
  uint16_t sport_lo, dport_lo;
};
static_assert(sizeof(Leaf4) == 32);

inline Leaf4 leaf4_of(const HotEntry& e) {
  Leaf4 l{};
  l.addr_mask = (e.src_mask_hi & 0xffffffff00000000ull) | (e.dst_mask_hi >> 32);
  l.addr = (e.src_hi & 0xffffffff00000000ull) | (e.dst_hi >> 32);
  l.small_mask = e.proto_mask | uint32_t{e.icmp_type_mask} << 8 | uint32_t{e.icmp_code_mask} << 16;
  l.small = e.proto | uint32_t{e.icmp_type} << 8 | uint32_t{e.icmp_code} << 16;
  l.sport_lo = e.sport_lo, l.sport_span = e.sport_span, l.dport_lo = e.dport_lo, l.dport_span = e.dport_span;
  return l;
}

// A packet as Leaf4 tests it: addr = src_hi's top 32 bits << 32 | dst_hi >> 32, small = proto |
// icmp_type << 8 | icmp_code << 16, then sport, dport (the layout of a Leaf4 half).
#if defined(__SSE2__)
struct Key4 {
  __m128i k;
};
inline Key4 make_key4(uint64_t addr, uint32_t small, uint16_t sport, uint16_t dport) {
  const uint64_t hi = small | uint64_t{sport} << 32 | uint64_t{dport} << 48;
  return {_mm_set_epi64x(static_cast<int64_t>(hi), static_cast<int64_t>(addr))};
}
// Per 16-bit word w: z = ((k & mask) - value) -sat span, all zero <=> match. Address and
// byte-field words have span 0: z = 0 <=> k & mask == value. Port words take mask 0xffff and
// value lo: z = 0 <=> (k - lo) mod 2^16 <= span, the scalar test's range check.
inline __m128i mismatch4(const Leaf4& e, const Key4& k) {
  const __m128i ports = _mm_set_epi32(-1, 0, 0, 0);  // words 6, 7
  const __m128i* p = reinterpret_cast<const __m128i*>(&e);
  const __m128i m = _mm_load_si128(p), v = _mm_load_si128(p + 1);
  const __m128i y = _mm_sub_epi16(_mm_and_si128(k.k, _mm_or_si128(m, ports)), v);
  return _mm_subs_epu16(y, _mm_and_si128(m, ports));
}
inline bool all_zero(__m128i z) { return _mm_movemask_epi8(_mm_cmpeq_epi8(z, _mm_setzero_si128())) == 0xffff; }
inline bool matches4(const Leaf4& e, const Key4& k) { return all_zero(mismatch4(e, k)); }
#else
struct Key4 {
  uint64_t addr;
  uint32_t small;
  uint16_t sport, dport;
};
inline Key4 make_key4(uint64_t addr, uint32_t small, uint16_t sport, uint16_t dport) {
  return {addr, small, sport, dport};
}
inline bool matches4(const Leaf4& e, const Key4& k) {
  return ((k.addr & e.addr_mask) == e.addr) & ((k.small & e.small_mask) == e.small) &
         (uint16_t(k.dport - e.dport_lo) <= e.dport_span) & (uint16_t(k.sport - e.sport_lo) <= e.sport_span);
}
#endif

// An IPv6 tree's leaf record (96 B; HotEntry is 80 B but tested field by field in ~50
// instructions): both addresses as the packet carries them (network byte order), masks
// before values, then a Leaf4 with a zero address word for the ports and byte fields. SSE2
// tests an entry in three 16-byte compares (callgrind, rulegen 1,000: an IPv6 lookup 605 -> 499
// instructions, a quarter of them having gone to the scalar test and its key's byte swaps).
struct alignas(16) Leaf6 {
  uint8_t src_mask[16], src[16], dst_mask[16], dst[16];
  Leaf4 tail;  // addr_mask 0, addr 0: only its ports and byte fields test
};
static_assert(sizeof(Leaf6) == 96);

inline void store_be64(uint8_t* p, uint64_t v) {
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
  std::memcpy(p, &v, 8);
}

inline Leaf6 leaf6_of(const HotEntry& e) {
  Leaf6 l{};
  store_be64(l.src_mask, e.src_mask_hi), store_be64(l.src_mask + 8, e.src_mask_lo);
  store_be64(l.src, e.src_hi), store_be64(l.src + 8, e.src_lo);
  store_be64(l.dst_mask, e.dst_mask_hi), store_be64(l.dst_mask + 8, e.dst_mask_lo);
  store_be64(l.dst, e.dst_hi), store_be64(l.dst + 8, e.dst_lo);
  l.tail = leaf4_of(e);
  l.tail.addr_mask = 0, l.tail.addr = 0;
  return l;
}

// A packet's addresses as Leaf6 tests them: the tuple's 16 bytes each.
#if defined(__SSE2__)
struct Key6 {
  __m128i src, dst;
};
inline Key6 make_key6(const Tuple& t) {
  return {_mm_loadu_si128(reinterpret_cast<const __m128i*>(t.src)), _mm_loadu_si128(reinterpret_cast<const __m128i*>(t.dst))};
}
// All-zero <=> match: (k & mask) ^ value for the addresses, the tail's mismatch4.
inline bool matches6(const Leaf6& e, const Key6& k6, const Key4& k4) {
  const __m128i* p = reinterpret_cast<const __m128i*>(&e);
  const __m128i s = _mm_xor_si128(_mm_and_si128(k6.src, _mm_load_si128(p)), _mm_load_si128(p + 1));
  const __m128i d = _mm_xor_si128(_mm_and_si128(k6.dst, _mm_load_si128(p + 2)), _mm_load_si128(p + 3));
  return all_zero(_mm_or_si128(_mm_or_si128(s, d), mismatch4(e.tail, k4)));
}
#else
struct Key6 {
  uint64_t src[2], dst[2];
};
inline Key6 make_key6(const Tuple& t) {
  Key6 k;
  std::memcpy(k.src, t.src, 16);
  std::memcpy(k.dst, t.dst, 16);
  return k;
}
inline bool matches6(const Leaf6& e, const Key6& k6, const Key4& k4) {
  uint64_t w[8];
  std::memcpy(w, &e, sizeof w);  // src_mask, src, dst_mask, dst: two words each
  return (((k6.src[0] & w[0]) ^ w[2]) | ((k6.src[1] & w[1]) ^ w[3]) | ((k6.dst[0] & w[4]) ^ w[6]) |
          ((k6.dst[1] & w[5]) ^ w[7])) == 0 &&
         matches4(e.tail, k4);
}
#endif

// Decision-tree dimensions (HyperSplit-style: one field, one threshold per node).
enum Dim : uint8_t {
  kDimSrcHi, kDimSrcLo, kDimDstHi, kDimDstLo, kDimSport, kDimDport, kDimProto,
  kDimIcmpType, kDimIcmpCode, kDimCount,
};
inline constexpr uint8_t kLeaf = 0xff;

// A binary decision node (the builder's form), children stored as adjacent pairs: internal
// node: next is nodes[ref + (key[dim] >= thr)]. Leaf (dim == kLeaf): `thr` entries.
struct Node {
  uint64_t thr;
  uint32_t ref;
  uint8_t dim;
};
static_assert(sizeof(Node) == 16);

// The lookup form: two levels of the binary tree in one node. The three tests are
// independent loads, so a step costs about one binary step and a walk half as many:
// child = ref + (key[dim[0]] >= thr[0] ? 2 + (key[dim[2]] >= thr[2]) : key[dim[1]] >= thr[1]);
// children stored as adjacent quads. A binary child that is a leaf tests thr 0 (always true)
// and fills both of its slots. Leaf (kind 1): leaf_count entries at [leaf_start, + count) of
// leaf4/leaf4_ids (IPv4 trees) or leaf6/leaf_ids (IPv6 trees), copies of the run's entries
// in match order, scanned without indirection.
// A leaf is also a step to itself: thr[0] = thr[2] = 0 (both tests hold) and ref = its own
// index - 3, so a step lands on it again. Several partitions' walks then share one loop,
// the shallower ones waiting at their leaves, without a branch per walk. Count and start live in
// thr[1], which a leaf's step never reads.
struct Node4 {
  uint64_t thr[3];
  uint32_t ref;
  uint8_t dim[3];
  uint8_t kind;  // 0 internal, 1 leaf
};
static_assert(sizeof(Node4) == 32);
inline constexpr uint8_t kNode4Leaf = 1;

inline uint32_t leaf_start(const Node4& n) { return static_cast<uint32_t>(n.thr[1]); }
inline uint32_t leaf_count(const Node4& n) { return static_cast<uint32_t>(n.thr[1] >> 32); }
inline Node4 leaf_node4(uint32_t self, uint32_t start, uint32_t count) {
  Node4 l{};
  l.thr[1] = start | uint64_t{count} << 32;
  l.ref = self - 3;  // wraps for self < 3: the steps add in 32 bits
  l.kind = kNode4Leaf;
  return l;
}

// The children quad (128 bytes) is known once the node is, the child only after its compares:
// asking for both lines early overlaps their fetch with the compares (rulegen 1,000 / 10,000 and
// acl 10,000: +6 / +9 / +13 % lookups/s, 2 interleaved rounds; the rest within noise). Integer arithmetic: a leaf's ref may wrap
// (leaf_node4), and a prefetch never faults.
inline void prefetch_children(const Node4* nodes, const Node4& n) {
  const uintptr_t q = reinterpret_cast<uintptr_t>(nodes) + uintptr_t{n.ref} * sizeof(Node4);
  __builtin_prefetch(reinterpret_cast<const void*>(q));
  __builtin_prefetch(reinterpret_cast<const void*>(q + 2 * sizeof(Node4)));
}

// The child of n for key dims v (n itself for a leaf), two ways. node4_step: GCC makes the
// top test a jump and the others setcc; a predicted jump lets the walk run ahead of its
// loads, and the bench's acl and fw walks predict well. node4_step_bf: no jump (c0 picks c1
// or c2 by a shift), no misprediction, but each step waits for its three compares: better
// where several walks overlap anyway and mispredictions would flush all of them (groups of
// 3-4 partitions: rulegen +20-30 % lookups/s, acl at 10,000 -8 %, fw unchanged; one or two
// walks: acl and fw -10-25 %, before root cuts; pairs now step without jumps, match_table.h).
inline const Node4* node4_step(const Node4* nodes, const Node4& n, const uint64_t v[kDimCount]) {
  prefetch_children(nodes, n);
  const uint32_t lo = v[n.dim[1]] >= n.thr[1], hi = 2 + (v[n.dim[2]] >= n.thr[2]);
  return nodes + static_cast<uint32_t>(n.ref + (v[n.dim[0]] >= n.thr[0] ? hi : lo));
}
inline const Node4* node4_step_bf(const Node4* nodes, const Node4& n, const uint64_t v[kDimCount]) {
  prefetch_children(nodes, n);
  const uint32_t c0 = v[n.dim[0]] >= n.thr[0], c1 = v[n.dim[1]] >= n.thr[1], c2 = v[n.dim[2]] >= n.thr[2];
  return nodes + static_cast<uint32_t>(n.ref + 2 * c0 + ((c1 | c2 << 1) >> c0 & 1));
}

// Hash of an interface address (find_interface's open-addressing table, indexed by the low
// bits). The products alone carry each address bit only upwards, so neighbouring addresses
// (198.18.0.10, .11, ...) filled neighbouring slots and every miss walked the whole cluster
// (4.2 probes a lookup, callgrind); folding the high half down and multiplying again spreads
// every bit over the low ones.
inline uint64_t addr_hash(uint8_t family, uint64_t hi, uint64_t lo) {
  uint64_t h = hi * 0x9E3779B97F4A7C15ull ^ (lo + family) * 0xC2B2AE3D27D4EB4Full;
  h = (h ^ (h >> 32)) * 0xD6E8FEB86659FD93ull;
  return h ^ (h >> 32);
}

struct TreeStats {
  uint32_t nodes = 0, leaves = 0, leaf_entries = 0, max_depth = 0, max_leaf = 0;
  uint32_t partitions = 0, max_partitions = 0;  // trees in all runs / in the largest (run, family)
  uint32_t shared_runs = 0;  // runs that reuse the trees of an identical earlier run
  uint32_t one_leaf_parts = 0;  // partitions of a few entries kept as one leaf (Part::group 0)
  uint32_t max_group = 0;       // the widest group of trees a lookup walks together (Part::group)
  uint32_t top_cuts = 0, window_cuts = 0;  // partitions with a root cut on a field's top bits / lower bits (Part)
  uint32_t catch_alls = 0;  // (run, family) pairs closed by an entry matching every packet (kCatchAll)
};

// One partition of a (run, family): a tree over entries alike in which fields are wide
// (EffiCuts), so that cutting one field rarely copies an entry. `min_id` is the id of its
// first entry (an index into the entries built over, MatchTable's hot_): partitions are kept
// sorted by it, and a lookup that already holds a match before min_id skips this partition
// and every later one.
// The walk starts with a multi-way cut (HiCuts-style, on a window of bits of one field): the
// partition's tree for the packet is roots[root + (key[dim] >> shift & mask)], one tree per
// slice, so a walk skips the binary levels that would split the field that far (one load and
// three instructions for up to six two-level steps). A partition without the cut: mask 0.
struct Part {
  uint32_t root;  // into TreeStore::roots
  uint32_t min_id;
  // Trees in a row from this one, at most 4: the widest group the lookup may walk together.
  // 0: a one-leaf partition (a few entries), scanned alone. Default 1: a tree walked alone,
  // never an inner node scanned as a leaf.
  uint32_t group = 1;
  uint8_t dim = kDimSport, shift = 0;
  uint16_t mask = 0;
};
// Part::group of a (run, family)'s last partition when min_id is an entry matching every
// packet of the family (no tree, counted in nparts): the lookup's best before any walk.
inline constexpr uint32_t kCatchAll = 5;

// Storage on 64-byte boundaries (cache lines): IPv4 leaves of two start at even indices.
template <typename T>
struct LineAllocator {
  using value_type = T;
  LineAllocator() = default;
  template <typename U>
  LineAllocator(const LineAllocator<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{64})); }
  void deallocate(T* p, size_t) { ::operator delete(p, std::align_val_t{64}); }
  template <typename U>
  bool operator==(const LineAllocator<U>&) const { return true; }
};

// Where the trees go: nodes and partitions for both families, leaves by family.
struct TreeStore {
  std::vector<Node4> nodes;
  std::vector<Leaf4, LineAllocator<Leaf4>> leaf4;  // IPv4 trees' leaves
  std::vector<uint32_t> leaf4_ids;
  std::vector<Leaf6, LineAllocator<Leaf6>> leaf6;  // IPv6 trees' leaves
  std::vector<uint32_t> leaf_ids;
  std::vector<Part> parts;
  std::vector<uint32_t> roots;  // per partition, a tree's root node by slice (Part::root)
};

// Builds the classifier of one (interface, direction) run for packets of `family` (4 or 6):
// `ids` are indices into `hot` in match order, all of family 0 or `family`; lookups return
// them (MatchTable maps them back to the run's global entry indices). Appends the
// partitions' trees to the store, partitions sorted by min_id.
void build_classifier(const std::vector<HotEntry>& hot, const std::vector<uint32_t>& ids, uint8_t family,
                      TreeStore& store, TreeStats* stats);

}  // namespace sgfw::table::detail
