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

struct Builder {
  const std::vector<HotEntry>& hot;
  const std::vector<uint32_t>& ids;  // global ids by local index, match order
  std::vector<Node>& nodes;
  TreeStore& store;
  bool v4;  // leaves as Leaf4 (IPv4 tree) or HotEntry
  TreeStats* stats;
  std::vector<Rect> rects;  // by local index
  uint64_t budget = 0, spent = 0;
  // Entries in nodes queued but not built yet: each lands in at least one leaf (a covering
  // entry may drop some, rarely), so a trial whose spent + pending passes the budget fails
  // at once instead of after building most of a tree it will throw away.
  uint64_t pending = 0;
  std::vector<uint32_t> sample;  // scratch
  std::vector<uint64_t> los, his;  // scratch
  uint32_t max_leaf_ok = ~0u;  // trial build: fail on a longer leaf or a spent budget
  bool failed = false;

  void leaf(uint32_t slot, const std::vector<uint32_t>& loc, uint32_t depth) {
    std::vector<uint32_t>& leaf_ids = v4 ? store.leaf4_ids : store.leaf_ids;
    nodes[slot] = Node{loc.size(), static_cast<uint32_t>(leaf_ids.size()), kLeaf};
    for (uint32_t l : loc) {
      leaf_ids.push_back(ids[l]);
      if (v4) store.leaf4.push_back(leaf4_of(hot[ids[l]]));
      else store.leaf_hot.push_back(hot[ids[l]]);
    }
    spent += loc.size();
    if (stats) {
      stats->leaves++;
      stats->leaf_entries += static_cast<uint32_t>(loc.size());
      stats->max_leaf = std::max<uint32_t>(stats->max_leaf, static_cast<uint32_t>(loc.size()));
      stats->max_depth = std::max(stats->max_depth, depth);
    }
  }

  // The cut minimising max(left, right) (then left + right) over the entries `cand` (a sample
  // of the node's), among the quartiles of each dimension's cut points (the entries' edges
  // inside the box): dim -1 when no cut separates them. Linear per dimension, no sort.
  void choose(const std::vector<uint32_t>& cand, const Rect& box, int& best_dim, uint64_t& best_thr) {
    const uint32_t n = static_cast<uint32_t>(cand.size());
    uint32_t best_sum = 2 * n, best_cost = n;
    best_dim = -1;
    for (int d = 0; d < kDimCount; d++) {
      los.clear();  // cut points
      for (uint32_t l : cand) {
        const Rect& r = rects[l];
        if (r.lo[d] > box.lo[d]) los.push_back(r.lo[d]);
        if (r.hi[d] < box.hi[d]) los.push_back(r.hi[d] + 1);
      }
      if (los.empty()) continue;
      const size_t m = los.size();
      const size_t qs[3] = {m / 2, m / 4, 3 * m / 4};
      for (uint32_t qi = 0; qi < kQuartiles; qi++) {
        const size_t q = qs[qi];
        std::nth_element(los.begin(), los.begin() + q, los.end());
        const uint64_t t = los[q];
        // Cut at t: left [box.lo, t-1] keeps entries with lo < t, right [t, box.hi] those with hi >= t.
        uint32_t left = 0, right = 0;
        for (uint32_t l : cand) {
          const Rect& r = rects[l];
          left += std::max(r.lo[d], box.lo[d]) < t;
          right += std::min(r.hi[d], box.hi[d]) >= t;
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

  // Builds the subtree for `loc` (local indices, match order) inside `box` into nodes[slot].
  void build(uint32_t slot, std::vector<uint32_t> loc, const Rect& box, uint32_t depth) {
    pending -= loc.size();
    if (failed) return;
    // Entries after one covering the whole box are unreachable inside it.
    for (size_t i = 0; i < loc.size(); i++) {
      const Rect& r = rects[loc[i]];
      bool covers = true;
      for (int d = 0; d < kDimCount && covers; d++) covers = r.lo[d] <= box.lo[d] && r.hi[d] >= box.hi[d];
      if (covers) {
        loc.resize(i + 1);
        break;
      }
    }
    const uint32_t n = static_cast<uint32_t>(loc.size());
    if (n > max_leaf_ok && (depth >= kMaxDepth || spent + n > budget)) {
      failed = true;
      return;
    }
    if (max_leaf_ok != ~0u && spent + pending + n > budget) {
      failed = true;
      return;
    }
    if (n <= kLeafSize || depth >= kMaxDepth || spent + n > budget) return leaf(slot, loc, depth);

    int best_dim;
    uint64_t best_thr = 0;
    if (n > kSample) {
      sample.resize(kSample);
      for (uint32_t i = 0; i < kSample; i++) sample[i] = loc[uint64_t{i} * n / kSample];
      choose(sample, box, best_dim, best_thr);
      if (best_dim < 0) choose(loc, box, best_dim, best_thr);
    } else {
      choose(loc, box, best_dim, best_thr);
    }
    if (best_dim < 0) return n > max_leaf_ok ? void(failed = true) : leaf(slot, loc, depth);

    std::vector<uint32_t> left, right;
    left.reserve(n);
    right.reserve(n);
    for (uint32_t l : loc) {
      const Rect& r = rects[l];
      if (std::max(r.lo[best_dim], box.lo[best_dim]) < best_thr) left.push_back(l);
      if (std::min(r.hi[best_dim], box.hi[best_dim]) >= best_thr) right.push_back(l);
    }
    if (left.size() >= n || right.size() >= n) {  // the sample's cut does not split the node
      if (n <= kSample) return n > max_leaf_ok ? void(failed = true) : leaf(slot, loc, depth);
      choose(loc, box, best_dim, best_thr);
      if (best_dim < 0) return n > max_leaf_ok ? void(failed = true) : leaf(slot, loc, depth);
      left.clear();
      right.clear();
      for (uint32_t l : loc) {
        const Rect& r = rects[l];
        if (std::max(r.lo[best_dim], box.lo[best_dim]) < best_thr) left.push_back(l);
        if (std::min(r.hi[best_dim], box.hi[best_dim]) >= best_thr) right.push_back(l);
      }
    }
    loc = {};  // free before recursing
    const uint32_t child = static_cast<uint32_t>(nodes.size());
    nodes[slot] = Node{best_thr, child, static_cast<uint8_t>(best_dim)};
    nodes.resize(child + 2);
    if (stats) stats->nodes++;
    Rect lbox = box, rbox = box;
    lbox.hi[best_dim] = best_thr - 1;
    rbox.lo[best_dim] = best_thr;
    pending += left.size() + right.size();
    build(child, std::move(left), lbox, depth + 1);
    build(child + 1, std::move(right), rbox, depth + 1);
  }
};

// Writes binary subtree b as two-level nodes into out[slot] and below.
void emit(const std::vector<Node>& bin, uint32_t b, std::vector<Node4>& out, uint32_t slot) {
  const Node& n = bin[b];
  if (n.dim == kLeaf) {
    out[slot] = Node4{{n.thr, 0, 0}, n.ref, {0, 0, 0}, kNode4Leaf};
    return;
  }
  Node4 q{{n.thr, 0, 0}, 0, {n.dim, 0, 0}, 0};
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

// Builds one partition's tree over `ids` (global, match order) and returns the root's index.
// A trial (copies > 0) gives up, returning ~0u with the outputs unchanged, once the tree
// copies entries more than `copies` times (leaf entries per entry) or needs a longer leaf
// than `max_leaf`; otherwise the budget only ends the cutting.
uint32_t build_tree(const std::vector<HotEntry>& hot, const std::vector<uint32_t>& ids, bool v4, TreeStore& store,
                    TreeStats* stats, uint32_t copies, uint32_t max_leaf) {
  std::vector<Node> bin;
  const size_t l4 = store.leaf4.size(), l6 = store.leaf_hot.size();
  Builder b{hot, ids, bin, store, v4, stats, {}, 0, 0, 0, {}, {}, {}};
  b.budget = uint64_t{copies ? copies : kReplication} * ids.size() + (copies ? kLeafSize : 64);
  if (copies) b.max_leaf_ok = max_leaf;
  b.rects.reserve(ids.size());
  for (uint32_t id : ids) b.rects.push_back(rect_of(hot[id]));
  std::vector<uint32_t> loc(ids.size());
  for (uint32_t i = 0; i < loc.size(); i++) loc[i] = i;
  bin.emplace_back();
  b.pending = loc.size();
  b.build(0, std::move(loc), full_box(), 0);
  if (b.failed) {
    store.leaf4.resize(l4);
    store.leaf4_ids.resize(l4);
    store.leaf_hot.resize(l6);
    store.leaf_ids.resize(l6);
    return ~0u;
  }
  const uint32_t root = static_cast<uint32_t>(store.nodes.size());
  store.nodes.emplace_back();
  emit(bin, 0, store.nodes, root);
  return root;
}

uint32_t prefix_len(uint64_t mask_hi, uint64_t mask_lo) {
  return static_cast<uint32_t>(std::popcount(mask_hi) + std::popcount(mask_lo));
}

// Partition tests, tried in order when a set's tree copies too much: entries passing go to
// one partition, the rest to another (EffiCuts' separation by which fields are wide). Long
// address prefixes first: security groups test the remote prefix, ClassBench both.
constexpr uint32_t kCriteria = 8;
bool narrow(const HotEntry& e, uint8_t family, uint32_t c) {
  const bool v4 = family == 4;
  switch (c) {
    case 0: return prefix_len(e.src_mask_hi, e.src_mask_lo) >= (v4 ? 16u : 56u);
    case 1: return prefix_len(e.dst_mask_hi, e.dst_mask_lo) >= (v4 ? 16u : 56u);
    case 2: return prefix_len(e.src_mask_hi, e.src_mask_lo) >= (v4 ? 24u : 80u);
    case 3: return prefix_len(e.dst_mask_hi, e.dst_mask_lo) >= (v4 ? 24u : 80u);
    case 4: return prefix_len(e.src_mask_hi, e.src_mask_lo) >= (v4 ? 8u : 32u);
    case 5: return prefix_len(e.dst_mask_hi, e.dst_mask_lo) >= (v4 ? 8u : 32u);
    case 6: return e.dport_span < 1024;
    default: return e.sport_span < 1024;
  }
}

// A tree copying entries more than this (leaf entries per entry), or with a leaf this long,
// is split by the next criterion instead.
// 8 against 3: fewer partitions per lookup (acl 2.3 -> 1.7, rulegen 4.1 -> 2.8 at 1,000 rules).
constexpr uint32_t kMaxCopies = 8;
constexpr uint32_t kMaxLeafOk = 8 * kLeafSize;

struct PartBuilder {
  const std::vector<HotEntry>& hot;
  uint8_t family;
  TreeStore& store;
  TreeStats* stats;

  void add(const std::vector<uint32_t>& ids, uint32_t crit) {
    TreeStats st;
    uint32_t root = ~0u;
    if (crit < kCriteria) root = build_tree(hot, ids, family == 4, store, &st, kMaxCopies, kMaxLeafOk);
    if (root == ~0u) {
      std::vector<uint32_t> a, b;
      for (; crit < kCriteria && (a.empty() || b.empty()); crit++) {
        a.clear();
        b.clear();
        for (uint32_t id : ids) (narrow(hot[id], family, crit) ? a : b).push_back(id);
      }
      if (!a.empty() && !b.empty()) {
        add(a, crit);
        add(b, crit);
        return;
      }
      st = {};
      root = build_tree(hot, ids, family == 4, store, &st, 0, 0);
    }
    store.parts.push_back(Part{root, ids.front()});
    if (stats) {
      stats->nodes += st.nodes;
      stats->leaves += st.leaves;
      stats->leaf_entries += st.leaf_entries;
      stats->max_depth = std::max(stats->max_depth, st.max_depth);
      stats->max_leaf = std::max(stats->max_leaf, st.max_leaf);
    }
  }
};

}  // namespace

void build_classifier(const std::vector<HotEntry>& hot, const std::vector<uint32_t>& ids, uint8_t family,
                      TreeStore& store, TreeStats* stats) {
  std::vector<Part>& parts = store.parts;
  const size_t first = parts.size();
  if (!ids.empty()) PartBuilder{hot, family, store, stats}.add(ids, 0);
  std::sort(parts.begin() + first, parts.end(), [](const Part& a, const Part& b) { return a.min_id < b.min_id; });
  if (stats) {
    const uint32_t np = static_cast<uint32_t>(parts.size() - first);
    stats->partitions += np;
    stats->max_partitions = std::max(stats->max_partitions, np);
  }
}

}  // namespace sgfw::table::detail
