// Classifier build (control path). A run's entries are first split into partitions by
// which fields they leave wide (EffiCuts): an entry with a long source prefix never gets
// copied when a tree cuts the source address, so one tree per partition stays small where
// one tree over everything copied each wide entry into thousands of leaves.
//
// Each partition gets a HyperSplit-style tree: a node cuts one dimension at one threshold,
// chosen to minimise the larger child's entry count; entries spanning the cut go to both
// children. A node becomes a leaf when it holds few entries, when no cut makes progress, or
// when the replication budget is spent. Entries after the first one that covers a node's
// whole box can never win there and are dropped. Large nodes choose their cut on an even
// sample of their entries: the build is then linear in the entries per level.
//
// Before the tree, a partition may take a root cut (HiCuts-style, classifier.h Part): up to
// 2^12 slices by a window of one field's bits, one tree per run of slices with equal entries,
// so that a walk starts a few levels down: fw and acl at 1,000 rules walk 2.0-2.3 two-level
// steps a lookup where they walked 4.3, and since an entry with an 8-bit prefix is never
// copied by a cut on the top 8 bits, most of a run fits one partition.
#include <algorithm>
#include <array>
#include <bit>

#include "table/classifier.h"

namespace sgfw::table::detail {
namespace {

// binth: every partition scans one leaf per lookup. 2 against 4: 1.2-1.6x fewer instructions
// per lookup (callgrind, the bench's profiles at 1,000 rules) for 1.5-3x the leaf entries.
constexpr uint32_t kLeafSize = 2;
constexpr uint32_t kMaxDepth = 48;
constexpr uint32_t kReplication = 24;  // leaf entries per entry before the last partition stops cutting
constexpr uint32_t kSample = 64;       // entries a large node looks at to choose its cut
// Cut candidates per dimension: the median only. The quartiles too cost 30 % more build
// instructions and gave the same lookups (callgrind, within 1 %).
constexpr uint32_t kQuartiles = 1;
// Root cut (see Part): at most 2^kRootBits slices, whose distinct trees hold at most
// kRootCopies / 4 times the partition's entries. 12 bits against 8: lookups/s at 10,000 rules
// +10-20 % (fw, acl), the same at 1,000; 6 or 10 bits measured no better.
constexpr uint32_t kRootBits = 12;
constexpr uint32_t kRootCopies = 8;
// A trial over entries wide in both addresses (mixed_widths) goes ahead only when the root cut
// leaves at most 1/kStrongCut of them in any slice.
constexpr uint32_t kStrongCut = 8;

struct Rect {
  std::array<uint64_t, kDimCount> lo, hi;
};

Rect rect_of(const HotEntry& e) {
  Rect r;
  r.lo[kDimSrcHi] = e.src_hi;
  r.hi[kDimSrcHi] = e.src_hi | ~e.src_mask_hi;
  r.lo[kDimSrcLo] = e.src_lo;
  r.hi[kDimSrcLo] = e.src_lo | ~e.src_mask_lo;
  r.lo[kDimDstHi] = e.dst_hi;
  r.hi[kDimDstHi] = e.dst_hi | ~e.dst_mask_hi;
  r.lo[kDimDstLo] = e.dst_lo;
  r.hi[kDimDstLo] = e.dst_lo | ~e.dst_mask_lo;
  r.lo[kDimSport] = e.sport_lo;
  r.hi[kDimSport] = uint64_t{e.sport_lo} + e.sport_span;
  r.lo[kDimDport] = e.dport_lo;
  r.hi[kDimDport] = uint64_t{e.dport_lo} + e.dport_span;
  auto byte_dim = [&](int d, uint8_t mask, uint8_t v) {
    r.lo[d] = mask ? v : 0;
    r.hi[d] = mask ? v : 255;
  };
  byte_dim(kDimProto, e.proto_mask, e.proto);
  byte_dim(kDimIcmpType, e.icmp_type_mask, e.icmp_type);
  byte_dim(kDimIcmpCode, e.icmp_code_mask, e.icmp_code);
  return r;
}

bool covers(const Rect& r, const Rect& box) {
  bool c = true;
  for (int d = 0; d < kDimCount && c; d++) c = r.lo[d] <= box.lo[d] && r.hi[d] >= box.hi[d];
  return c;
}

Rect full_box() {
  Rect b;
  for (int d = 0; d < kDimCount; d++) {
    b.lo[d] = 0;
    b.hi[d] = ~uint64_t{0};
  }
  b.hi[kDimSport] = b.hi[kDimDport] = 65535;
  b.hi[kDimProto] = b.hi[kDimIcmpType] = b.hi[kDimIcmpCode] = 255;
  return b;
}

// Per-build scratch, kept across the partitions of one build_classifier call so that the
// build allocates O(1) times per run instead of twice per node.
struct Scratch {
  std::vector<Rect> rects;      // by local index
  std::vector<uint32_t> work;   // node entry lists, a stack of [beg, beg + n) ranges
  std::vector<uint32_t> sample;
  std::vector<uint64_t> cuts;
  std::vector<uint16_t> spans;  // per candidate: the dimensions in which it spans the node's box
  std::vector<Node> bin;        // the binary tree being built
  std::vector<uint32_t> leaf_locs;  // the tree's leaves' entries (local), copied out on success
  std::vector<uint32_t> leaf_slots;  // the tree's leaves (bin slots) in the order of leaf_locs
  std::vector<uint32_t> slice_count;  // root cut: per slice counts, then list offsets
  std::vector<uint32_t> slice_lists;  // root cut: the slices' entries (local), match order
  std::vector<uint32_t> run_beg;      // root cut: first slice of each run of equal slices
  std::vector<uint8_t> slice_break;   // root cut: slices whose list differs from the one before
  uint8_t dims[kDimCount];      // dimensions some entry does not span whole: the only cuttable ones
  uint32_t ndims = 0;
};

struct Builder {
  const std::vector<HotEntry>& hot;
  const std::vector<uint32_t>& ids;  // indices into hot by local index, match order
  TreeStore& store;
  Scratch& sc;
  bool v4;  // leaves as Leaf4 (IPv4 tree) or Leaf6
  TreeStats* stats;
  uint64_t budget = 0, spent = 0;
  // Entries in nodes queued but not built yet: each lands in at least one leaf (a covering
  // entry may drop some, rarely), so a trial whose spent + pending passes the budget fails
  // at once instead of after building most of a tree it will throw away.
  uint64_t pending = 0;
  uint32_t max_leaf_ok = ~0u;  // trial build: fail on a longer leaf or a spent budget
  bool failed = false;

  // Leaf refs are into sc.leaf_locs until build_tree moves them to the store.
  void leaf(uint32_t slot, size_t beg, uint32_t n, uint32_t depth) {
    sc.bin[slot] = Node{n, static_cast<uint32_t>(sc.leaf_locs.size()), kLeaf};
    sc.leaf_locs.insert(sc.leaf_locs.end(), sc.work.begin() + beg, sc.work.begin() + beg + n);
    sc.leaf_slots.push_back(slot);
    spent += n;
    if (stats) {
      stats->leaves++;
      stats->leaf_entries += n;
      stats->max_leaf = std::max(stats->max_leaf, n);
      stats->max_depth = std::max(stats->max_depth, depth);
    }
  }

  // The cut minimising max(left, right) (then left + right) over the entries `cand` (a sample
  // of the node's), among the median of each dimension's cut points (the entries' edges inside
  // the box), or on a retry the extremes and quartiles: dim -1 when no cut sheds an entry on
  // either side. Linear per dimension, no sort.
  void choose(const uint32_t* cand, uint32_t n, const Rect& box, int& best_dim, uint64_t& best_thr) {
    std::vector<uint16_t>& spans = sc.spans;
    if (spans.size() < n) spans.resize(n);
    // Only an entry spanning all dimensions but the cut's can cover a side: one that misses two
    // gets no bits. Dimensions no entry narrows are spanned by all.
    for (uint32_t i = 0; i < n; i++) {
      const Rect& r = sc.rects[cand[i]];
      uint16_t m = (1u << kDimCount) - 1;
      uint32_t missed = 0;
      for (uint32_t di = 0; di < sc.ndims; di++) {
        const int d = sc.dims[di];
        if (r.lo[d] > box.lo[d] || r.hi[d] < box.hi[d]) {
          m = uint16_t(m & ~(1u << d));
          if (++missed == 2) {
            m = 0;
            break;
          }
        }
      }
      spans[i] = m;
    }
    choose_pass(cand, n, box, best_dim, best_thr, false);
    if (best_dim < 0) choose_pass(cand, n, box, best_dim, best_thr, true);
  }
  // One pass of choose() over the cut points (sc.spans as choose() left it).
  void choose_pass(const uint32_t* cand, uint32_t n, const Rect& box, int& best_dim, uint64_t& best_thr, bool retry) {
    const std::vector<Rect>& rects = sc.rects;
    const std::vector<uint16_t>& spans = sc.spans;
    std::vector<uint64_t>& los = sc.cuts;
    uint32_t best_sum = 2 * n, best_cost = n;
    best_dim = -1;
    if (los.size() < 2 * size_t{n}) los.resize(2 * size_t{n});
    for (uint32_t di = 0; di < sc.ndims; di++) {
      const int d = sc.dims[di];
      size_t m = 0;  // cut points
      for (uint32_t i = 0; i < n; i++) {
        const Rect& r = rects[cand[i]];
        los[m] = r.lo[d];
        m += r.lo[d] > box.lo[d];
        los[m] = r.hi[d] + 1;
        m += r.hi[d] < box.hi[d];
      }
      if (m == 0) continue;
      // A retry (no median cut made progress) tries the extremes and quartiles: with many
      // equal edges the median can be the one point whose cut keeps a covering entry on both
      // sides (ten proto-1 entries over [0, 5]: the cut at 2 keeps all, the cut at 1 does not).
      const size_t qs[5] = {m / 2, 0, m - 1, m / 4, 3 * m / 4};
      for (uint32_t qi = retry ? 1 : 0; qi < (retry ? 5 : kQuartiles); qi++) {
        const size_t q = qs[qi];
        std::nth_element(los.begin(), los.begin() + q, los.begin() + m);
        const uint64_t t = los[q];
        // Cut at t: left [box.lo, t-1] keeps entries with lo < t, right [t, box.hi] those with hi >= t,
        // each up to the first that covers its child's whole box (build drops the rest). Counting
        // only the ones kept lets a cut that peels the covered part off a wide default win: a run of
        // proto-only entries before the default was a leaf of 21 when both sides kept the default.
        uint32_t left = 0, right = 0;
        bool left_done = false, right_done = false;
        const uint16_t others = uint16_t(((1u << kDimCount) - 1) & ~(1u << d));
        for (uint32_t i = 0; i < n && !(left_done && right_done); i++) {
          const Rect& r = rects[cand[i]];
          const bool rest = (spans[i] & others) == others;
          if (!left_done && r.lo[d] < t) {
            left++;
            left_done = rest && r.lo[d] <= box.lo[d] && r.hi[d] >= t - 1;
          }
          if (!right_done && r.hi[d] >= t) {
            right++;
            right_done = rest && r.lo[d] <= t && r.hi[d] >= box.hi[d];
          }
        }
        const uint32_t cost = std::max(left, right), sum = left + right;
        if (cost < best_cost || (cost == best_cost && sum < best_sum)) {
          best_cost = cost;
          best_sum = sum;
          best_dim = d;
          best_thr = t;
        }
      }
    }
  }

  // Appends the entries of [beg, beg + n) that reach each side of the cut: left ones at
  // work's end, then right ones. Returns the left count; work's end is past the right ones.
  // Each side stops after its first entry covering the side's whole box (choose counts so).
  uint32_t split(size_t beg, uint32_t n, const Rect& box, int d, uint64_t thr) {
    std::vector<uint32_t>& w = sc.work;
    const size_t lb = w.size();
    Rect side = box;
    side.hi[d] = thr - 1;
    for (uint32_t i = 0; i < n; i++) {
      const uint32_t l = w[beg + i];
      if (sc.rects[l].lo[d] < thr) {
        w.push_back(l);
        if (covers(sc.rects[l], side)) break;
      }
    }
    const uint32_t nl = static_cast<uint32_t>(w.size() - lb);
    side.hi[d] = box.hi[d];
    side.lo[d] = thr;
    for (uint32_t i = 0; i < n; i++) {
      const uint32_t l = w[beg + i];
      if (sc.rects[l].hi[d] >= thr) {
        w.push_back(l);
        if (covers(sc.rects[l], side)) break;
      }
    }
    return nl;
  }

  // Builds the subtree for work[beg, beg + n) (local indices, match order) inside `box` into
  // bin[slot]. Leaves work's size as it found it.
  void build(uint32_t slot, size_t beg, uint32_t n, const Rect& box, uint32_t depth) {
    pending -= n;
    if (failed) return;
    const std::vector<Rect>& rects = sc.rects;
    std::vector<uint32_t>& w = sc.work;
    // Entries after one covering the whole box are unreachable inside it.
    for (uint32_t i = 0; i < n; i++) {
      if (covers(rects[w[beg + i]], box)) {
        n = i + 1;
        break;
      }
    }
    if (n > max_leaf_ok && (depth >= kMaxDepth || spent + n > budget)) {
      failed = true;
      return;
    }
    if (max_leaf_ok != ~0u && spent + pending + n > budget) {
      failed = true;
      return;
    }
    if (n <= kLeafSize || depth >= kMaxDepth || spent + n > budget) return leaf(slot, beg, n, depth);

    int best_dim;
    uint64_t best_thr = 0;
    if (n > kSample) {
      sc.sample.resize(kSample);
      for (uint32_t i = 0; i < kSample; i++) sc.sample[i] = w[beg + uint64_t{i} * n / kSample];
      choose(sc.sample.data(), kSample, box, best_dim, best_thr);
      if (best_dim < 0) choose(w.data() + beg, n, box, best_dim, best_thr);
    } else {
      choose(w.data() + beg, n, box, best_dim, best_thr);
    }
    if (best_dim < 0) return n > max_leaf_ok ? void(failed = true) : leaf(slot, beg, n, depth);

    const size_t lb = w.size();
    uint32_t nl = split(beg, n, box, best_dim, best_thr);
    uint32_t nr = static_cast<uint32_t>(w.size() - lb) - nl;
    if (nl + nr >= 2 * n) {  // the sample's cut sheds nothing on either side
      w.resize(lb);
      if (n <= kSample) return n > max_leaf_ok ? void(failed = true) : leaf(slot, beg, n, depth);
      choose(w.data() + beg, n, box, best_dim, best_thr);
      if (best_dim < 0) return n > max_leaf_ok ? void(failed = true) : leaf(slot, beg, n, depth);
      nl = split(beg, n, box, best_dim, best_thr);
      nr = static_cast<uint32_t>(w.size() - lb) - nl;
    }
    const uint32_t child = static_cast<uint32_t>(sc.bin.size());
    sc.bin[slot] = Node{best_thr, child, static_cast<uint8_t>(best_dim)};
    sc.bin.resize(child + 2);
    if (stats) stats->nodes++;
    Rect cbox = box;
    cbox.hi[best_dim] = best_thr - 1;
    pending += nl + nr;
    build(child, lb, nl, cbox, depth + 1);
    cbox.hi[best_dim] = box.hi[best_dim];
    cbox.lo[best_dim] = best_thr;
    build(child + 1, lb + nl, nr, cbox, depth + 1);
    w.resize(lb);
  }
};

// Writes binary subtree b as two-level nodes into out[slot] and below.
void emit(const std::vector<Node>& bin, uint32_t b, std::vector<Node4>& out, uint32_t slot) {
  const Node& n = bin[b];
  if (n.dim == kLeaf) {
    out[slot] = leaf_node4(slot, n.ref, static_cast<uint32_t>(n.thr));
    return;
  }
  Node4 q{};
  q.thr[0] = n.thr;
  q.dim[0] = n.dim;
  uint32_t kids[4];
  for (uint32_t s = 0; s < 2; s++) {
    const Node& c = bin[n.ref + s];
    if (c.dim == kLeaf) {  // thr 0 always holds: both slots lead to the leaf
      kids[2 * s] = kids[2 * s + 1] = n.ref + s;
    } else {
      q.dim[1 + s] = c.dim;
      q.thr[1 + s] = c.thr;
      kids[2 * s] = c.ref;
      kids[2 * s + 1] = c.ref + 1;
    }
  }
  q.ref = static_cast<uint32_t>(out.size());
  out.resize(q.ref + 4);
  out[slot] = q;
  for (uint32_t i = 0; i < 4; i++) emit(bin, kids[i], out, q.ref + i);
}

// Bits of a dimension's values (the root cut slices the top ones).
uint32_t dim_bits(int d) { return d <= kDimDstLo ? 64 : d <= kDimDport ? 16 : 8; }

// The root cut of a partition: bits [shift, shift + bits) of `dim` index 2^bits slices. dim
// -1: none. When the window is the top of the field (shift + bits == its width) a slice is an
// interval of the field, and its tree is built for that box; a window below the bits all the
// entries share (IPv6 prefixes under one /16, say) takes keys from anywhere, so its trees are
// built for the whole field.
struct RootCut {
  int dim = -1;
  uint32_t bits = 0, shift = 0;
  bool top = false;
  uint32_t max_slice = 0;  // entries in the largest slice
  uint64_t mask() const { return (uint64_t{1} << bits) - 1; }
  // The slices an entry's range [lo, hi] meets: all of them when the range is not inside one
  // period of the window (it could wrap round). choose_root_cut's windows lie below the bits
  // every narrower entry shares, so only whole-field entries take that branch, and they meet
  // every slice either way; it keeps range() right for any window.
  void range(const Rect& r, uint64_t& a, uint64_t& b) const {
    const uint64_t lo = r.lo[dim], hi = r.hi[dim];
    const uint32_t up = shift + bits;
    if (!top && (lo >> up) != (hi >> up)) {
      a = 0, b = mask();
      return;
    }
    a = (lo >> shift) & mask(), b = (hi >> shift) & mask();
  }
};

// Chooses the root cut: the field and window whose largest slice (entries meeting it) is
// smallest, as long as the slices' distinct trees hold at most kRootCopies / 4 times the
// entries. No cut when none sheds 3/4 of the entries from every slice: it would save no step.
RootCut choose_root_cut(Scratch& sc, uint32_t n) {
  RootCut best;
  uint32_t best_max = n / 4 + 1;
  uint64_t best_copies = 0;
  std::vector<uint32_t>& cnt = sc.slice_count;
  std::vector<uint8_t>& brk = sc.slice_break;
  for (uint32_t di = 0; di < sc.ndims; di++) {
    const int d = sc.dims[di];
    const uint32_t w = dim_bits(d);
    const uint64_t full_hi = w == 64 ? ~uint64_t{0} : (uint64_t{1} << w) - 1;
    // Bits every entry narrower than the whole field shares at the top.
    uint64_t diff = 0, first = 0;
    bool any = false;
    for (uint32_t i = 0; i < n; i++) {
      const Rect& r = sc.rects[i];
      if (r.lo[d] == 0 && r.hi[d] == full_hi) continue;
      if (!any) first = r.lo[d], any = true;
      diff |= (r.lo[d] ^ first) | (r.hi[d] ^ first);
    }
    if (!any) continue;
    const uint32_t common = static_cast<uint32_t>(std::countl_zero(diff)) - (64 - w);
    const uint32_t tops[2] = {w, w - std::min(common, w)};
    for (uint32_t ti = 0; ti < (tops[1] < w && tops[1] > 0 ? 2 : 1); ti++) {
      for (uint32_t k = 1; k <= kRootBits && k <= tops[ti] && (1u << k) <= 4 * n; k++) {
        const RootCut c{d, k, tops[ti] - k, tops[ti] == w};
        const uint32_t ns = 1u << k;
        // cnt: entries starting in slice j minus those ending before it (a difference array);
        // brk: whether some entry starts or ends at j's lower edge, so j's list differs from
        // j - 1's. A run of equal slices shares one tree: copies count entries once per run.
        cnt.assign(ns + 1, 0);
        brk.assign(ns + 1, 0);
        for (uint32_t i = 0; i < n; i++) {
          uint64_t a, b;
          c.range(sc.rects[i], a, b);
          cnt[a]++;
          cnt[b + 1]--;
          brk[a] = brk[b + 1] = 1;
        }
        uint32_t run = 0, mx = 0;
        uint64_t copies = 0;
        for (uint32_t j = 0; j < ns; j++) {
          mx = std::max(mx, run += cnt[j]);
          copies += (j == 0 || brk[j]) ? run : 0;
        }
        if (copies > uint64_t{n} * kRootCopies / 4) continue;
        if (mx < best_max || (mx == best_max && best.dim >= 0 && copies < best_copies)) {
          best_max = mx;
          best_copies = copies;
          best = c;
        }
      }
    }
  }
  best.max_slice = best.dim >= 0 ? best_max : n;
  return best;
}

// Builds one partition's trees over `ids` (indices into hot, match order): a root cut (see Part) and a
// tree per run of slices holding the same entries. Returns the partition's first index into
// store.roots and sets part's dim, shift and mask. A trial (copies > 0) gives up, returning
// ~0u with the outputs unchanged, once the trees copy entries more than `copies` times (leaf
// entries per entry) or need a longer leaf than `max_leaf`; otherwise the budget only ends
// the cutting. `mixed` (a trial over a set mixed_widths judges hopeless for one tree) gives
// up at once unless the root cut is strong.
uint32_t build_tree(const std::vector<HotEntry>& hot, const std::vector<uint32_t>& ids, bool v4, TreeStore& store,
                    Scratch& sc, TreeStats* stats, uint32_t copies, uint32_t max_leaf, Part& part, bool mixed = false) {
  Builder b{hot, ids, store, sc, v4, stats};
  b.budget = uint64_t{copies ? copies : kReplication} * ids.size() + (copies ? kLeafSize : 64);
  if (copies) b.max_leaf_ok = max_leaf;
  const uint32_t n = static_cast<uint32_t>(ids.size());
  sc.rects.resize(n);
  const Rect full = full_box();
  bool cuttable[kDimCount] = {};
  for (uint32_t i = 0; i < n; i++) {
    const Rect r = sc.rects[i] = rect_of(hot[ids[i]]);
    for (int d = 0; d < kDimCount; d++) cuttable[d] |= r.lo[d] != full.lo[d] || r.hi[d] != full.hi[d];
  }
  sc.ndims = 0;
  for (int d = 0; d < kDimCount; d++) {
    if (cuttable[d]) sc.dims[sc.ndims++] = static_cast<uint8_t>(d);
  }
  const RootCut cut = choose_root_cut(sc, n);
  // A trial over entries wide in both addresses copies one kind or the other at every cut
  // (mixed_widths), unless a root cut sheds most of them first: give up before building.
  if (mixed && cut.max_slice > n / kStrongCut) return ~0u;
  // Slices' entry lists (counting sort, match order kept): slice j is [off[j], off[j + 1]).
  const uint32_t ns = cut.dim < 0 ? 1 : 1u << cut.bits;
  std::vector<uint32_t>& off = sc.slice_count;
  std::vector<uint32_t>& lists = sc.slice_lists;
  if (cut.dim < 0) {
    off.assign({0, n});
    lists.resize(n);
    for (uint32_t i = 0; i < n; i++) lists[i] = i;
  } else {
    off.assign(ns + 1, 0);
    for (uint32_t i = 0; i < n; i++) {
      uint64_t a, z;
      cut.range(sc.rects[i], a, z);
      for (uint64_t j = a; j <= z; j++) off[j + 1]++;
    }
    for (uint32_t j = 0; j < ns; j++) off[j + 1] += off[j];
    lists.resize(off[ns]);
    std::vector<uint32_t>& pos = sc.sample;
    pos.assign(off.begin(), off.end() - 1);
    for (uint32_t i = 0; i < n; i++) {
      uint64_t a, z;
      cut.range(sc.rects[i], a, z);
      for (uint64_t j = a; j <= z; j++) lists[pos[j]++] = i;
    }
  }
  auto same = [&](uint32_t x, uint32_t y) {
    return off[x + 1] - off[x] == off[y + 1] - off[y] &&
           std::equal(lists.begin() + off[x], lists.begin() + off[x + 1], lists.begin() + off[y]);
  };
  // Runs of equal slices share a tree: run r is slices [run_beg[r], run_beg[r + 1]), its root bin[r].
  std::vector<uint32_t>& run_beg = sc.run_beg;
  run_beg.clear();
  for (uint32_t j = 0; j < ns; j++) {
    if (j == 0 || !same(j, j - 1)) run_beg.push_back(j);
  }
  const uint32_t nruns = static_cast<uint32_t>(run_beg.size());
  run_beg.push_back(ns);
  sc.leaf_locs.clear();
  sc.leaf_slots.clear();
  sc.work.clear();
  sc.work.reserve(4 * lists.size() + 64);
  sc.bin.assign(nruns, Node{});
  b.pending = 0;
  for (uint32_t r = 0; r < nruns; r++) b.pending += off[run_beg[r] + 1] - off[run_beg[r]];
  for (uint32_t r = 0; r < nruns && !b.failed; r++) {
    const uint32_t j = run_beg[r], cntr = off[j + 1] - off[j];
    Rect box = full;
    if (cut.dim >= 0 && cut.top) {
      box.lo[cut.dim] = uint64_t{j} << cut.shift;
      box.hi[cut.dim] = std::min(full.hi[cut.dim], (uint64_t{run_beg[r + 1]} << cut.shift) - 1);
    }
    const size_t beg = sc.work.size();
    sc.work.insert(sc.work.end(), lists.begin() + off[j], lists.begin() + off[j + 1]);
    if (cntr == 0) {  // no entry meets these slices: an empty leaf
      b.leaf(r, beg, 0, 0);
    } else {
      b.build(r, beg, cntr, box, 0);
    }
    sc.work.resize(beg);
  }
  if (b.failed) return ~0u;
  // Leaves to the store, copies of the entries in match order. An IPv4 leaf of two starts at
  // an even index, so that both lie in one cache line (the store is 64-byte aligned): the
  // lookup reads both. Empty leaves point at one entry of padding (id ~0u, never better than
  // any match): the lookup tests a leaf's first entry without looking at its count.
  std::vector<uint32_t>& leaf_ids = v4 ? store.leaf4_ids : store.leaf_ids;
  const size_t k = sc.leaf_locs.size();
  leaf_ids.reserve(leaf_ids.size() + k + k / 2 + 1);
  if (v4) store.leaf4.reserve(store.leaf4.size() + k + k / 2 + 1);
  else store.leaf6.reserve(store.leaf6.size() + k + 1);
  auto pad_entry = [&] {
    leaf_ids.push_back(~0u);
    if (v4) store.leaf4.push_back(Leaf4{});
    else store.leaf6.push_back(Leaf6{});
  };
  bool empty = false;
  for (uint32_t slot : sc.leaf_slots) {
    Node& nd = sc.bin[slot];
    const uint32_t n = static_cast<uint32_t>(nd.thr);
    if (n == 0) {
      empty = true;
      continue;
    }
    if (v4 && n == 2 && (leaf_ids.size() & 1)) pad_entry();
    const uint32_t at = static_cast<uint32_t>(leaf_ids.size());
    for (uint32_t i = 0; i < n; i++) {
      const uint32_t id = ids[sc.leaf_locs[nd.ref + i]];
      leaf_ids.push_back(id);
      if (v4) store.leaf4.push_back(leaf4_of(hot[id]));
      else store.leaf6.push_back(leaf6_of(hot[id]));
    }
    nd.ref = at;
  }
  if (empty) {
    const uint32_t pad = static_cast<uint32_t>(leaf_ids.size());
    pad_entry();
    for (uint32_t slot : sc.leaf_slots) sc.bin[slot].ref = sc.bin[slot].thr == 0 ? pad : sc.bin[slot].ref;
  }
  store.nodes.reserve(store.nodes.size() + 2 * sc.bin.size() + nruns);  // a Node4 per binary node at most, 4 slots per internal one
  const uint32_t first_root = static_cast<uint32_t>(store.roots.size());
  for (uint32_t r = 0; r < nruns; r++) {
    const uint32_t root = static_cast<uint32_t>(store.nodes.size());
    store.nodes.emplace_back();
    emit(sc.bin, r, store.nodes, root);
    for (uint32_t j = run_beg[r]; j < run_beg[r + 1]; j++) store.roots.push_back(root);
  }
  if (stats && cut.dim >= 0) (cut.top ? stats->top_cuts : stats->window_cuts)++;
  part.dim = static_cast<uint8_t>(cut.dim >= 0 ? cut.dim : kDimSport);
  part.shift = static_cast<uint8_t>(cut.shift);
  part.mask = static_cast<uint16_t>(cut.dim >= 0 ? cut.mask() : 0);
  return first_root;
}

// A partition's "tree" of one leaf holding every entry of `ids` in match order: its index in
// store.roots (no root cut).
uint32_t one_leaf_tree(const std::vector<HotEntry>& hot, const std::vector<uint32_t>& ids, bool v4, TreeStore& store) {
  std::vector<uint32_t>& leaf_ids = v4 ? store.leaf4_ids : store.leaf_ids;
  const uint32_t start = static_cast<uint32_t>(leaf_ids.size());
  for (uint32_t id : ids) {
    leaf_ids.push_back(id);
    if (v4) store.leaf4.push_back(leaf4_of(hot[id]));
    else store.leaf6.push_back(leaf6_of(hot[id]));
  }
  const uint32_t root = static_cast<uint32_t>(store.nodes.size());
  store.nodes.push_back(leaf_node4(root, start, static_cast<uint32_t>(ids.size())));
  store.roots.push_back(root);
  return static_cast<uint32_t>(store.roots.size() - 1);
}

// Whether a prefix mask (contiguous from the top, as the loader builds them) is at least len bits.
bool prefix_at_least(uint64_t mask_hi, uint64_t mask_lo, uint32_t len) {
  return len <= 64 ? (mask_hi >> (64 - len)) & 1 : (mask_lo >> (128 - len)) & 1;
}

// Partition tests, tried when a set's tree copies too much, in the order criteria_order
// picks for the set: entries passing go to one partition, the rest to another (EffiCuts'
// separation by which fields are wide).
constexpr uint32_t kCriteria = 8;
bool narrow(const HotEntry& e, uint8_t family, uint32_t c) {
  const bool v4 = family == 4;
  switch (c) {
    case 0: return prefix_at_least(e.src_mask_hi, e.src_mask_lo, (v4 ? 8u : 32u));
    case 1: return prefix_at_least(e.dst_mask_hi, e.dst_mask_lo, (v4 ? 8u : 32u));
    case 2: return prefix_at_least(e.src_mask_hi, e.src_mask_lo, (v4 ? 16u : 56u));
    case 3: return prefix_at_least(e.dst_mask_hi, e.dst_mask_lo, (v4 ? 16u : 56u));
    case 4: return prefix_at_least(e.src_mask_hi, e.src_mask_lo, (v4 ? 24u : 80u));
    case 5: return prefix_at_least(e.dst_mask_hi, e.dst_mask_lo, (v4 ? 24u : 80u));
    case 6: return e.dport_span < 1024;
    default: return e.sport_span < 1024;
  }
}

// A tree copying entries more than this (leaf entries per entry), or with a leaf this long,
// is split by the next criterion instead.
// 8 against 3: fewer partitions per lookup (acl 2.3 -> 1.7, rulegen 4.1 -> 2.8 at 1,000 rules).
constexpr uint32_t kMaxCopies = 8;
constexpr uint32_t kMaxLeafOk = 8 * kLeafSize;
// mixed_widths: sets this small, or with this few entries wide in one address, get a trial.
constexpr uint32_t kMixedMinEntries = 128;
constexpr uint32_t kMixedMinWide = 32;
// A partition this small is one leaf, scanned apart from the walks (see Part::group).
constexpr uint32_t kTinyPart = 8;

// Whether a trial tree over `ids` would surely copy too much, judged without building it: a
// HyperSplit tree copies the entries wide in the field it cuts, so a set holding many entries
// wide in the source and many wide in the destination (at /16) copies one group or the other
// whichever it cuts. The trial over the whole run failed this way on every benchmark profile
// after building ~4x the final nodes: 70 % of the build. Smaller sets still get their trial,
// and so do mixed ones whose root cut sheds most entries (build_tree's `mixed`).
bool mixed_widths(const std::vector<HotEntry>& hot, const std::vector<uint32_t>& ids, uint8_t family) {
  const uint32_t n = static_cast<uint32_t>(ids.size());
  if (n < kMixedMinEntries) return false;
  uint32_t src_wide = 0, dst_wide = 0;
  for (uint32_t id : ids) {
    src_wide += !narrow(hot[id], family, 2);
    dst_wide += !narrow(hot[id], family, 3);
  }
  return std::min(src_wide, dst_wide) >= std::max(kMixedMinWide, n / 16);
}

// The order the partition criteria are tried in, per (run, family). Sets that test both
// addresses (ClassBench acl/fw, rulegen): any prefix of 8 bits or more first (a root cut on
// the top bits never copies such an entry, so one partition holds them all: rulegen IPv4 at
// 1,000 rules 2 trees where /16 first made 3). Sets that test
// one address and leave the other wide in nearly every entry, as a security group's runs do
// (the peer's prefix, any local address): long prefixes first, /16 then /24 then /8; the
// wide-8 order split the bench's 1,000-rule Alibaba policy into 7 trees, 3 per lookup,
// where this order makes 6, 2 per lookup (lookups/s 0.8x).
constexpr uint8_t kOrderPrefix8First[kCriteria] = {0, 1, 2, 3, 4, 5, 6, 7};
constexpr uint8_t kOrderLongFirst[kCriteria] = {2, 3, 4, 5, 0, 1, 6, 7};
const uint8_t* criteria_order(const std::vector<HotEntry>& hot, const std::vector<uint32_t>& ids, uint8_t family) {
  uint32_t src_any = 0, dst_any = 0;
  for (uint32_t id : ids) {
    src_any += !narrow(hot[id], family, 0);
    dst_any += !narrow(hot[id], family, 1);
  }
  const uint64_t n = ids.size();
  const bool one_address = uint64_t{src_any} * 10 >= n * 9 || uint64_t{dst_any} * 10 >= n * 9;
  return one_address ? kOrderLongFirst : kOrderPrefix8First;
}

struct PartBuilder {
  const std::vector<HotEntry>& hot;
  uint8_t family;
  TreeStore& store;
  TreeStats* stats;
  const uint8_t* order;  // narrow()'s criteria in the order tried (criteria_order)
  Scratch sc;

  void add(const std::vector<uint32_t>& ids, uint32_t crit) {
    TreeStats st;
    uint32_t root = ~0u;
    // A few entries (a split's leftover): one leaf, scanned without a walk. As a tree it was a
    // walk of its own that made a pair of walks a group of three (acl at 1,000 rules: 300
    // entries split 292 + 8, 6 % fewer lookups/s than before the split).
    if (ids.size() <= kTinyPart) {
      store.parts.push_back(Part{one_leaf_tree(hot, ids, family == 4, store), ids.front(), 0});
      if (stats) {
        stats->one_leaf_parts++;
        stats->leaves++;
        stats->leaf_entries += static_cast<uint32_t>(ids.size());
        stats->max_leaf = std::max(stats->max_leaf, static_cast<uint32_t>(ids.size()));
      }
      return;
    }
    Part part{0, ids.front(), 1};
    if (crit < kCriteria) {
      root = build_tree(hot, ids, family == 4, store, sc, &st, kMaxCopies, kMaxLeafOk, part,
                        crit <= 1 && mixed_widths(hot, ids, family));
    }
    if (root == ~0u) {
      std::vector<uint32_t> a, b;
      a.reserve(ids.size());
      b.reserve(ids.size());
      for (; crit < kCriteria && (a.empty() || b.empty()); crit++) {
        a.clear();
        b.clear();
        for (uint32_t id : ids) (narrow(hot[id], family, order[crit]) ? a : b).push_back(id);
      }
      if (!a.empty() && !b.empty()) {
        add(a, crit);
        add(b, crit);
        return;
      }
      st = {};
      root = build_tree(hot, ids, family == 4, store, sc, &st, 0, 0, part);
    }
    part.root = root;
    store.parts.push_back(part);
    if (stats) {
      stats->nodes += st.nodes;
      stats->leaves += st.leaves;
      stats->leaf_entries += st.leaf_entries;
      stats->max_depth = std::max(stats->max_depth, st.max_depth);
      stats->max_leaf = std::max(stats->max_leaf, st.max_leaf);
      stats->top_cuts += st.top_cuts;
      stats->window_cuts += st.window_cuts;
    }
  }
};

}  // namespace

void build_classifier(const std::vector<HotEntry>& hot, const std::vector<uint32_t>& ids, uint8_t family,
                      TreeStore& store, TreeStats* stats) {
  std::vector<Part>& parts = store.parts;
  const size_t first = parts.size();
  // The first entry that matches every packet of the family (a closing default) ends the
  // run: the entries after it never win, and it is the lookup's best before any walk (a
  // catch-all Part, last). In the trees it lay in every leaf of the partition of wide entries:
  // a leaf of two then held one entry and the default, the tree twice the leaves and one level
  // deeper (rulegen 1,000, IPv4: the pair's walk was that tree's 3.1 steps a lookup, now 2.5).
  const Rect full = full_box();
  size_t end = 0;
  while (end < ids.size() && !covers(rect_of(hot[ids[end]]), full)) end++;
  auto partition = [&](const std::vector<uint32_t>& set) {
    PartBuilder{hot, family, store, stats, criteria_order(hot, set, family), {}}.add(set, 0);
  };
  if (end == ids.size()) {
    if (!ids.empty()) partition(ids);
  } else if (end > 0) {
    partition(std::vector<uint32_t>(ids.begin(), ids.begin() + end));
  }
  std::sort(parts.begin() + first, parts.end(), [](const Part& a, const Part& b) { return a.min_id < b.min_id; });
  // group: how many trees start here in a row (at most 4, the widest walk group); 0 for a
  // one-leaf partition. The lookup walks only trees together, so a tiny partition between
  // them neither makes a pair a group of three nor waits for it.
  for (size_t i = parts.size(); i-- > first;) {
    const bool tree = parts[i].group != 0;
    parts[i].group = !tree ? 0 : i + 1 < parts.size() ? std::min<uint32_t>(4, 1 + parts[i + 1].group) : 1;
  }
  if (end < ids.size()) parts.push_back(Part{0, ids[end], kCatchAll});  // after the groups: never walked
  if (stats) {
    const uint32_t np = static_cast<uint32_t>(parts.size() - first) - (end < ids.size());  // trees and leaves
    stats->partitions += np;
    stats->max_partitions = std::max(stats->max_partitions, np);
    for (size_t i = first; i < parts.size(); i++) {
      if (parts[i].group != kCatchAll) stats->max_group = std::max(stats->max_group, parts[i].group);
    }
    stats->catch_alls += end < ids.size();
  }
}

}  // namespace sgfw::table::detail
