// Partitions walked in groups of up to four (MatchTable::tree_match) against the linear
// reference on many runs of 16-1,200 entries with wide entries sprinkled in: they split into 1-6
// partitions of every size down to a single leaf (a tree whose root is a leaf, which steps to
// itself while the other walks of its group go on), so that groups of 4, 3, 2 and 1 and later
// partitions skipped after an earlier one's match all occur.
#define DOCTEST_CONFIG_NO_EXCEPTIONS_BUT_WITH_ALL_ASSERTS
#include <doctest/doctest.h>

#include <algorithm>

#include "classifier_check.h"
#include "classifier_rulegen.h"
#include "table/loader.h"

using namespace sgfw;
using namespace sgfw::table;
using namespace sgfw::test;

namespace {

// Four shapes of `each` TCP entries in random order, then the default: source /32s; any source
// and destination /32s; any addresses with one destination port; any addresses with one source
// port. A tree over any two shapes copies one into most leaves of the other, so the run splits
// into four trees (source prefixes, destination prefixes, then port widths), walked as a group
// of four: root cuts keep address partitions whole, and runs of rulegen's entries now split
// into one to three trees only.
std::vector<BEntry> four_shapes(RuleGen& g, uint32_t each) {
  std::vector<BEntry> run;
  for (uint32_t shape = 0; shape < 4; shape++) {
    for (uint32_t k = 0; k < each; k++) {
      BEntry e;
      e.family = 4, e.proto = kProtoTcp, e.action = uint8_t(g.chance(50));
      if (shape == 0) e.src = ip4(uint8_t(g.below(256)), uint8_t(g.below(256)), uint8_t(g.below(256)), 1), e.src_len = 32;
      if (shape == 1) e.dst = ip4(uint8_t(g.below(256)), uint8_t(g.below(256)), uint8_t(g.below(256)), 2), e.dst_len = 32;
      if (shape == 2) e.dport_lo = e.dport_hi = uint16_t(g.below(65536));
      if (shape == 3) e.sport_lo = e.sport_hi = uint16_t(g.below(65536));
      run.push_back(e);
    }
  }
  for (uint32_t i = uint32_t(run.size()); i > 1; i--) std::swap(run[i - 1], run[g.below(i)]);
  BEntry d;
  d.family = 0, d.proto = 0, d.flags = table::kFlagProtoAny, d.reason = 1;
  run.push_back(d);
  for (uint32_t i = 0; i < run.size(); i++) run[i].rule = i;
  return run;
}

}  // namespace

TEST_CASE("grouped partition walks == linear on runs of every shape") {
  uint64_t bad = 0, lookups = 0, matched = 0;
  uint32_t by_parts[5] = {}, partitions = 0;  // tables by the widest group of trees they walk together
  // 160 runs at least, more until groups of 4 have shown up enough (shorter leaves since
  // classifier_cover.cc's rule split fewer runs into 4 or more partitions), at most 1,000.
  for (uint32_t seed = 0; seed < 160 || (by_parts[4] <= 5 && seed < 1000); seed++) {
    CAPTURE(seed);
    RuleGen g(1000 + seed);
    const uint32_t n = 16 + seed % 4 * 300 + g.below(300);
    std::vector<BEntry> run = seed % 4 == 3 ? four_shapes(g, 60 + g.below(60)) : g.run(n, 0);
    // Wide entries (any address, maybe any port) at random places: they make a single tree
    // copy too much, so the run splits; a few long-prefix ones make small partitions.
    for (uint32_t i = 0; i + 1 < run.size() && seed % 4 != 3; i++) {
      BEntry& e = run[i];
      const uint32_t r = g.below(100);
      if (r < 8) {
        e.src = {}, e.src_len = 0, e.dst = {}, e.dst_len = 0;
      } else if (r < 22) {
        e.src = {}, e.src_len = 0;
      } else if (r < 36) {
        e.dst = {}, e.dst_len = 0;
      } else if (r < 44 && (e.proto == kProtoTcp || e.proto == kProtoUdp)) {
        e.dport_lo = 1024, e.dport_hi = 65535;
      } else if (r < 48 && e.family != 0) {
        g.prefix(e.family, e.src, e.src_len);
        e.src_len = e.family == 4 ? 32 : 128;
      }
    }
    // No catch-all before the end (any addresses, any protocol): the trees would end there
    // (classifier_build.cc's kCatchAll), and the runs split into fewer partitions.
    for (uint32_t i = 0; i + 1 < run.size(); i++) {
      BEntry& e = run[i];
      if (e.src_len == 0 && e.dst_len == 0 && (e.flags & table::kFlagProtoAny)) {
        e.proto = kProtoTcp;
        e.flags = uint8_t(e.flags & ~table::kFlagProtoAny);
      }
    }
    // Half the runs close with a TCP-only default instead of a catch-all: the wide entries'
    // partition then holds the default in its leaves.
    if (seed % 8 < 4 && seed % 4 != 3) {
      run.back().proto = kProtoTcp;
      run.back().flags = uint8_t(run.back().flags & ~table::kFlagProtoAny);
    }
    const std::vector<uint8_t> blob = single_run_blob("eni-groups", run);
    MatchTable t;
    const LoadResult r = load_table(blob.data(), blob.size(), t, {ClassifierChoice::Tree});
    REQUIRE_MESSAGE(r.ok(), r.message);
    // By the widest group of trees walked together (one-leaf partitions are scanned apart).
    const uint32_t np = t.tree_stats().max_group;
    partitions += t.tree_stats().partitions;
    by_parts[std::min(np, 4u)]++;
    std::vector<Pkt> ps(300);
    for (Pkt& p : ps) g.packet(g.chance(85) ? &run[g.below(uint32_t(run.size()))] : nullptr, p.t, p.it, p.ic);
    bad += disagreements(t, ps, [&](int32_t want) {
      matched += want >= 0 && uint32_t(want) + 1 < run.size();  // an entry before the closing default
    });
    lookups += ps.size();
  }
  CHECK(bad == 0);
  CHECK(matched > lookups / 3);
  // Every group size occurred (a row of 5 or 6 trees walks a group of 4, then 1 or 2).
  CHECK(by_parts[1] > 5);
  CHECK(by_parts[2] > 10);
  CHECK(by_parts[3] > 20);
  CHECK(by_parts[4] > 5);
  CHECK(partitions > 500);  // 577 (a closing catch-all is no partition: kCatchAll)
}

TEST_CASE("a deep partition last in its group is walked to its leaf") {
  // Wide entries first (any source address, so a single tree would copy them into every
  // leaf and the run splits), then a long run of narrow ones: the narrow entries' partition,
  // the deepest, comes last in the min_id order, after shallow ones. The wide entries name
  // ports the packets rarely use, so the deep partition's leaf decides the match; a group
  // loop that stopped when its first walks reached their leaves would scan an inner node.
  uint64_t bad = 0, lookups = 0, deep_matches = 0;
  uint32_t four_or_more = 0;
  for (uint32_t seed = 0; seed < 40; seed++) {
    CAPTURE(seed);
    RuleGen g(5000 + seed);
    std::vector<BEntry> run;
    // Three shapes the root cut cannot keep in one tree with the narrow entries or with one
    // another (see four_shapes): destination /8s, one destination port (any source port), one
    // source port (any destination port).
    for (uint32_t shape = 0; shape < 3; shape++)
      for (uint32_t k = 0; k < 40; k++) {
        BEntry e;
        e.family = 4, e.proto = kProtoTcp;
        e.sport_lo = e.sport_hi = 7;  // never a packet's source port (RuleGen draws >= 1024 or listed ones)
        if (shape == 0) e.dst = ip4(uint8_t(10 + k), 0, 0, 0), e.dst_len = 8;
        if (shape == 1) e.dport_lo = e.dport_hi = uint16_t(60000 + k), e.sport_lo = 0, e.sport_hi = 65535;
        if (shape == 2) e.sport_lo = e.sport_hi = uint16_t(1 + k);
        run.push_back(e);
      }
    const uint32_t wide = uint32_t(run.size());
    for (const BEntry& e : g.run(600 + 100 * (seed % 5), 0)) run.push_back(e);
    for (uint32_t i = 0; i < run.size(); i++) run[i].rule = i;
    const std::vector<uint8_t> blob = single_run_blob("eni-deep", run);
    MatchTable t;
    const LoadResult r = load_table(blob.data(), blob.size(), t, {ClassifierChoice::Tree});
    REQUIRE_MESSAGE(r.ok(), r.message);
    four_or_more += t.tree_stats().max_partitions >= 4;
    std::vector<Pkt> ps(400);
    for (Pkt& p : ps) g.packet(&run[wide + g.below(uint32_t(run.size()) - wide - 1)], p.t, p.it, p.ic);
    bad += disagreements(t, ps, [&](int32_t want) {
      deep_matches += want >= int32_t(wide) && uint32_t(want) + 1 < run.size();
    });
    lookups += ps.size();
  }
  CHECK(bad == 0);
  CHECK(four_or_more > 20);
  CHECK(deep_matches > lookups / 2);
}
