// Decision-tree build (control path). HyperSplit-style: each node cuts one dimension at
// one threshold, chosen to minimise the larger child's entry count; entries spanning the
// cut go to both children. A node becomes a leaf when it holds few entries, when no cut
// makes progress, or when the replication budget is spent. Entries after the first one
// that covers a node's whole box can never win there and are dropped.
#include <algorithm>
#include <array>

#include "table/classifier.h"

namespace sgfw::table::detail {
namespace {

constexpr uint32_t kLeafSize = 8;    // binth: a leaf scan of 8 entries ~ 10 ns
constexpr uint32_t kMaxDepth = 48;
constexpr uint32_t kReplication = 24;  // leaf entries per input entry before we stop cutting

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
  const std::vector<uint32_t>& ids;
  std::vector<Rect> rects;  // by local index (position in ids)
  const std::vector<HotEntry>& hot;
  std::vector<Node>& nodes;
  std::vector<HotEntry>& leaf_hot;
  std::vector<uint32_t>& leaf_ids;
  TreeStats* stats;
  uint64_t budget;
  uint64_t spent = 0;
  std::vector<uint64_t> los, his;  // scratch

  void leaf(uint32_t slot, const std::vector<uint32_t>& loc, uint32_t depth) {
    nodes[slot] = Node{loc.size(), static_cast<uint32_t>(leaf_ids.size()), kLeaf};
    for (uint32_t l : loc) {
      leaf_ids.push_back(ids[l]);
      leaf_hot.push_back(hot[ids[l]]);
    }
    spent += loc.size();
    if (stats) {
      stats->leaves++;
      stats->leaf_entries += static_cast<uint32_t>(loc.size());
      stats->max_leaf = std::max<uint32_t>(stats->max_leaf, static_cast<uint32_t>(loc.size()));
      stats->max_depth = std::max(stats->max_depth, depth);
    }
  }

  // Builds the subtree for `loc` (local indices, match order) inside `box` into nodes[slot].
  void build(uint32_t slot, std::vector<uint32_t> loc, const Rect& box, uint32_t depth) {
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
    if (n <= kLeafSize || depth >= kMaxDepth || spent + n > budget) return leaf(slot, loc, depth);

    int best_dim = -1;
    uint64_t best_thr = 0;
    uint32_t best_max = n, best_sum = 2 * n, best_cost = ~0u;
    for (int d = 0; d < kDimCount; d++) {
      los.clear();
      his.clear();
      bool useful = false;
      for (uint32_t l : loc) {
        const Rect& r = rects[l];
        uint64_t lo = std::max(r.lo[d], box.lo[d]), hi = std::min(r.hi[d], box.hi[d]);
        useful |= lo != box.lo[d] || hi != box.hi[d];
        los.push_back(lo);
        his.push_back(hi);
      }
      if (!useful) continue;
      std::sort(los.begin(), los.end());
      std::sort(his.begin(), his.end());
      // Cut at t: left [box.lo, t-1] keeps entries with lo < t, right [t, box.hi] those with hi >= t.
      auto consider = [&](uint64_t t) {
        uint32_t left = static_cast<uint32_t>(std::lower_bound(los.begin(), los.end(), t) - los.begin());
        uint32_t right = n - static_cast<uint32_t>(std::lower_bound(his.begin(), his.end(), t) - his.begin());
        // Tried: + replication (L+R-n) and L+R alone; both built deeper, slower trees here.
        uint32_t cost = std::max(left, right), sum = left + right;
        if (std::max(left, right) < n && (cost < best_cost || (cost == best_cost && sum < best_sum))) {
          best_cost = cost;
          best_max = std::max(left, right);
          best_sum = sum;
          best_dim = d;
          best_thr = t;
        }
      };
      for (size_t i = 0; i < los.size(); i++) {
        if (los[i] > box.lo[d] && (i == 0 || los[i] != los[i - 1])) consider(los[i]);
      }
      for (size_t i = 0; i < his.size(); i++) {
        if (his[i] < box.hi[d] && (i == 0 || his[i] != his[i - 1])) consider(his[i] + 1);
      }
    }
    if (best_dim < 0 || best_max >= n) return leaf(slot, loc, depth);

    std::vector<uint32_t> left, right;
    for (uint32_t l : loc) {
      const Rect& r = rects[l];
      if (std::max(r.lo[best_dim], box.lo[best_dim]) < best_thr) left.push_back(l);
      if (std::min(r.hi[best_dim], box.hi[best_dim]) >= best_thr) right.push_back(l);
    }
    loc = {};  // free before recursing
    const uint32_t child = static_cast<uint32_t>(nodes.size());
    nodes[slot] = Node{best_thr, child, static_cast<uint8_t>(best_dim)};
    nodes.resize(child + 2);
    if (stats) stats->nodes++;
    Rect lbox = box, rbox = box;
    lbox.hi[best_dim] = best_thr - 1;
    rbox.lo[best_dim] = best_thr;
    build(child, std::move(left), lbox, depth + 1);
    build(child + 1, std::move(right), rbox, depth + 1);
  }
};

}  // namespace

uint32_t build_tree(const std::vector<HotEntry>& hot, const std::vector<uint32_t>& ids,
                    std::vector<Node>& nodes, std::vector<HotEntry>& leaf_hot,
                    std::vector<uint32_t>& leaf_ids, TreeStats* stats) {
  Builder b{ids, {}, hot, nodes, leaf_hot, leaf_ids, stats, uint64_t{kReplication} * ids.size() + 1024, 0, {}, {}};
  b.rects.reserve(ids.size());
  for (uint32_t id : ids) b.rects.push_back(rect_of(hot[id]));
  std::vector<uint32_t> loc(ids.size());
  for (uint32_t i = 0; i < loc.size(); i++) loc[i] = i;
  const uint32_t root = static_cast<uint32_t>(nodes.size());
  nodes.emplace_back();
  b.build(root, std::move(loc), full_box(), 0);
  return root;
}

}  // namespace sgfw::table::detail
