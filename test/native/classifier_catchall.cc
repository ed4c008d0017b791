// Catch-alls and short leaves (classifier_build.cc, MatchTable::tree_match): the first entry
// matching every packet of a family ends that family's trees and is the lookup's best before
// any walk (kCatchAll); leaves of up to two entries are tested whole without a branch, an empty
// leaf pointing at padding. Against the linear reference on rulegen runs with catch-alls for
// both families, for IPv4 only, for IPv6 only, none, at the end, in the middle and first.
#define DOCTEST_CONFIG_NO_EXCEPTIONS_BUT_WITH_ALL_ASSERTS
#include <doctest/doctest.h>

#include "classifier_check.h"
#include "classifier_rulegen.h"
#include "table/loader.h"

using namespace sgfw;
using namespace sgfw::table;
using namespace sgfw::test;

namespace {

// Any addresses, any protocol, for `family` (0: both).
BEntry catch_all(uint8_t family, uint32_t rule) {
  BEntry e;
  e.rule = rule, e.family = family, e.proto = 0, e.flags = table::kFlagProtoAny, e.reason = 1;
  return e;
}

// An entry that covers nearly everything but not all (a port range short of the whole): not
// a catch-all, and in every leaf of its partition.
BEntry near_catch_all(uint32_t rule) {
  BEntry e;
  e.rule = rule, e.family = 0, e.proto = kProtoTcp, e.dport_lo = 0, e.dport_hi = 65534;
  return e;
}

}  // namespace

TEST_CASE("catch-alls and two-entry leaves == linear") {
  uint64_t bad = 0, lookups = 0, by_catch_all = 0, before = 0, none = 0;
  uint32_t with_catch_all = 0;
  for (uint32_t seed = 0; seed < 96; seed++) {
    CAPTURE(seed);
    RuleGen g(9100 + seed);
    const uint32_t n = 20 + g.below(900);
    std::vector<BEntry> run = g.run(n, 0);
    // Shape by seed: 0 the default as it is (a catch-all for both families); 1 none (the last
    // entry TCP only, so some packets match nothing); 2 an IPv4-only catch-all in the middle
    // (IPv6 packets go on to later entries); 3 an IPv6-only one in the middle and the default;
    // 4 a catch-all first (nothing else reachable); 5 a near catch-all in the middle, none at the end.
    const uint32_t shape = seed % 6, mid = uint32_t(run.size()) / 3 + g.below(uint32_t(run.size()) / 3);
    if (shape == 1 || shape == 5) {
      run.back().proto = kProtoTcp;
      run.back().flags = uint8_t(run.back().flags & ~table::kFlagProtoAny);
    }
    if (shape == 2) run.insert(run.begin() + mid, catch_all(4, 0));
    if (shape == 3) run.insert(run.begin() + mid, catch_all(6, 0));
    if (shape == 4) run.insert(run.begin(), catch_all(0, 0));
    if (shape == 5) run.insert(run.begin() + mid, near_catch_all(0));
    for (uint32_t i = 0; i < run.size(); i++) run[i].rule = i;
    const std::vector<uint8_t> blob = single_run_blob("eni-catch-all", run);
    MatchTable t;
    const LoadResult r = load_table(blob.data(), blob.size(), t, {ClassifierChoice::Tree});
    REQUIRE_MESSAGE(r.ok(), r.message);
    REQUIRE(t.classifier_kind(0, Direction::Ingress) == ClassifierKind::Tree);
    // Catch-alls by (run, family): the default closes both families' trees, an IPv4-only one
    // the IPv4 trees (the IPv6 ones still end at the default), none without a default.
    const uint32_t want_catch_alls = shape == 1 || shape == 5 ? 0 : 2;
    CHECK(t.tree_stats().catch_alls == want_catch_alls);
    with_catch_all += t.tree_stats().catch_alls > 0;
    const uint32_t first = t.run_first(0, Direction::Ingress);
    std::vector<Pkt> ps(400);
    for (Pkt& p : ps) g.packet(g.chance(80) ? &run[g.below(uint32_t(run.size()))] : nullptr, p.t, p.it, p.ic);
    CAPTURE(shape);
    bad += disagreements(t, ps, [&](int32_t want) {
      none += want < 0;
      if (want >= 0) {
        const BEntry& e = run[uint32_t(want) - first];
        const bool ca = e.src_len == 0 && e.dst_len == 0 && (e.flags & table::kFlagProtoAny);
        by_catch_all += ca;
        before += !ca;
      }
    });
    lookups += ps.size();
  }
  CHECK(bad == 0);
  CHECK(with_catch_all >= 60);
  // Every outcome occurred often: a catch-all's match, an earlier entry's, no match at all.
  CHECK(by_catch_all > lookups / 10);
  CHECK(before > lookups / 4);
  CHECK(none > lookups / 50);
}

TEST_CASE("a catch-all first: every packet of its family matches it, without a tree") {
  RuleGen g(77);
  std::vector<BEntry> run = g.run(200, 0);
  run.insert(run.begin(), catch_all(4, 0));
  for (uint32_t i = 0; i < run.size(); i++) run[i].rule = i;
  const std::vector<uint8_t> blob = single_run_blob("eni-first", run);
  MatchTable t;
  REQUIRE(load_table(blob.data(), blob.size(), t, {ClassifierChoice::Tree}).ok());
  const uint32_t first = t.run_first(0, Direction::Ingress);
  uint32_t v4 = 0;
  for (int k = 0; k < 2000; k++) {
    Tuple p;
    uint8_t it = 0, ic = 0;
    g.packet(g.chance(80) ? &run[g.below(uint32_t(run.size()))] : nullptr, p, it, ic);
    const int32_t got = t.first_match(0, Direction::Ingress, p, it, ic);
    CHECK(got == t.first_match_linear(0, Direction::Ingress, p, it, ic));
    if (p.family == 4) {
      CHECK(got == int32_t(first));
      v4++;
    }
  }
  CHECK(v4 > 1000);
}
