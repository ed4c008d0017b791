// One-leaf partitions (classifier_build.cc: a partition of a few entries is one leaf, and
// Part::group keeps it out of the walk groups, so the lookup scans it on its own between
// groups of trees). Against the linear scan on ClassBench-style and rulegen sets whose
// partitioning leaves such small partitions (about one table in twenty here).
#define DOCTEST_CONFIG_NO_EXCEPTIONS_BUT_WITH_ALL_ASSERTS
#include <doctest/doctest.h>

#include "../../bench/native/classbench.h"
#include "classifier_rulegen.h"
#include "table/loader.h"

using namespace sgfw;
using namespace sgfw::table;
using namespace sgfw::test;

TEST_CASE("one-leaf partitions among the trees == linear") {
  uint64_t bad = 0, lookups = 0, matched_tiny = 0;
  uint32_t tables_with_tiny = 0, tiny = 0;
  // 60 tables at least, more until six have shown one-leaf partitions (root cuts keep more
  // entries in one tree, so fewer splits leave a few entries over), at most 400.
  uint32_t seed = 0;
  for (; seed < 60 || (tables_with_tiny < 6 && seed < 400); seed++) {
    CAPTURE(seed);
    const uint32_t n = 150 + (seed * 397) % 1400;
    BlobSpec spec;
    std::vector<std::pair<Tuple, std::pair<uint8_t, uint8_t>>> ps(2500);
    if (seed % 3 == 2) {
      RuleGen g(5000 + seed);
      spec = random_table(g, n, 4);
      const auto& run = spec.ifaces[0].ingress;
      for (auto& p : ps) {
        g.packet(g.chance(80) ? &run[g.below(uint32_t(run.size()))] : nullptr, p.first, p.second.first,
                 p.second.second);
      }
    } else {
      bench::ClassBench g(seed % 3 == 0 ? bench::acl_profile() : bench::fw_profile(), 7000 + seed);
      spec = g.table(n);
      for (auto& p : ps) g.header(spec.ifaces[0].ingress, p.first, p.second.first, p.second.second);
    }
    const std::vector<uint8_t> blob = build_blob(spec);
    MatchTable t;
    const LoadResult r = load_table(blob.data(), blob.size(), t);  // the 4-entry egress stays linear
    REQUIRE_MESSAGE(r.ok(), r.message);
    REQUIRE(t.classifier_kind(0, Direction::Ingress) == ClassifierKind::Tree);
    REQUIRE(t.classifier_kind(0, Direction::Egress) == ClassifierKind::Linear);
    const uint32_t k = t.tree_stats().one_leaf_parts;
    tiny += k;
    tables_with_tiny += k > 0;
    for (const auto& [tuple, icmp] : ps) {
      const int32_t want = t.first_match_linear(0, Direction::Ingress, tuple, icmp.first, icmp.second);
      const int32_t got = t.first_match(0, Direction::Ingress, tuple, icmp.first, icmp.second);
      if (got != want && ++bad <= 5) FAIL_CHECK("family " << int(tuple.family) << ": got " << got << " want " << want);
      lookups++;
      matched_tiny += k > 0 && want >= 0;
    }
  }
  CHECK(bad == 0);
  // The case occurred, often enough to mean something, and its packets matched entries.
  MESSAGE("tables with one-leaf partitions: " << tables_with_tiny << " of " << seed << ", partitions " << tiny);
  CHECK(tables_with_tiny >= 6);
  CHECK(matched_tiny > 1000);
}
