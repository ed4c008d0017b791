// The partitioned classifier (classifier_build.cc) against the linear reference at 10,000
// entries for each benchmark profile, and on runs built to stress partitioning: wide
// entries (any address, any port, proto-any) interleaved with narrow ones, IPv6 and ICMP.
#define DOCTEST_CONFIG_NO_EXCEPTIONS_BUT_WITH_ALL_ASSERTS
#include <doctest/doctest.h>

#include <cstring>

#include "../../bench/native/classbench.h"
#include "classifier_rulegen.h"
#include "classifier_check.h"
#include "table/loader.h"

using namespace sgfw;
using namespace sgfw::table;
using namespace sgfw::test;

namespace {

// The rules the entries of every interface name: one per rule index, with the entry's reason
// and action (the loader checks that they agree).
void declare_rules(BlobSpec& s) {
  for (const BIface& f : s.ifaces)
    for (const auto* run : {&f.ingress, &f.egress})
      for (const BEntry& e : *run) {
        if (s.rules.size() <= e.rule) s.rules.resize(e.rule + 1);
        s.rules[e.rule] = {"r" + std::to_string(e.rule), e.reason, e.action};
      }
}

// Probe n for an interface with a big ingress and a small egress run: every fourth one egress,
// 80 % of them aimed at one of the run's entries.
Pkt probe(RuleGen& g, int n, const std::vector<BEntry>& big, const std::vector<BEntry>& small, Direction& dir) {
  dir = n % 4 == 0 ? Direction::Egress : Direction::Ingress;
  const auto& run = dir == Direction::Egress ? small : big;
  Pkt p;
  g.packet(g.chance(80) ? &run[g.below(uint32_t(run.size()))] : nullptr, p.t, p.it, p.ic);
  return p;
}

}  // namespace

TEST_CASE("partitioned trees == linear at 10,000 entries (rulegen, acl, fw)") {
  for (int profile = 0; profile < 3; profile++) {
    CAPTURE(profile);
    BlobSpec spec;
    std::vector<Pkt> ps(20000);
    if (profile == 0) {
      RuleGen g(77);
      spec = random_table(g, 10000, 8);
      const auto& run = spec.ifaces[0].ingress;
      for (Pkt& p : ps) g.packet(g.chance(80) ? &run[g.below(uint32_t(run.size()))] : nullptr, p.t, p.it, p.ic);
    } else {
      bench::ClassBench g(profile == 1 ? bench::acl_profile() : bench::fw_profile(), 99 + profile);
      spec = g.table(10000);
      for (Pkt& p : ps) g.header(spec.ifaces[0].ingress, p.t, p.it, p.ic);
    }
    const std::vector<uint8_t> blob = build_blob(spec);
    MatchTable t;
    const LoadResult r = load_table(blob.data(), blob.size(), t);
    REQUIRE_MESSAGE(r.ok(), r.message);
    REQUIRE(t.classifier_kind(0, Direction::Ingress) == ClassifierKind::Tree);
    uint64_t matched = 0;
    CHECK(disagreements(t, ps, &matched) == 0);
    CHECK(matched > ps.size() / 3);  // real entries, not only the default
    // The point of partitioning: no leaf holds thousands of copies (one tree had 4-5k).
    const detail::TreeStats& st = t.tree_stats();
    CHECK(st.max_leaf <= 64);
    CHECK(st.partitions >= 2);
    CHECK(st.leaf_entries <= 8 * 10000u);
  }
}

TEST_CASE("partitioned trees == linear with wide entries, IPv6 and ICMP") {
  RuleGen g(5);
  std::vector<BEntry> run;
  for (uint32_t i = 0; i < 3000; i++) {
    BEntry e = g.entry(i);
    switch (i % 7) {
      case 0:  // wide everywhere but one port
        e.src = {}, e.src_len = 0, e.dst = {}, e.dst_len = 0;
        e.family = g.chance(50) ? 4 : 6;
        e.proto = kProtoTcp, e.flags &= uint8_t(~kFlagProtoAny);
        e.sport_lo = 0, e.sport_hi = 65535, e.dport_lo = e.dport_hi = uint16_t(g.below(2000));
        break;
      case 1:  // wide port range, long prefix
        if (e.proto == kProtoTcp || e.proto == kProtoUdp) e.dport_lo = 1024, e.dport_hi = 65535;
        break;
      case 2:  // IPv6 ICMPv6 with a type
        e.family = 6, e.proto = kProtoIcmpv6, e.flags = kFlagIcmpCodeAny;
        e.icmp_type = uint8_t(128 + g.below(4));
        g.prefix(6, e.src, e.src_len);
        e.dst = {}, e.dst_len = 0;
        break;
      case 3:  // IPv4 ICMP type and code
        e.family = 4, e.proto = kProtoIcmp, e.flags = 0, e.icmp_type = uint8_t(g.below(12)), e.icmp_code = uint8_t(g.below(3));
        g.prefix(4, e.src, e.src_len);
        e.dst = {}, e.dst_len = 0;
        break;
      default: break;
    }
    e.rule = i;
    run.push_back(e);
  }
  BEntry d;  // closing default
  d.rule = uint32_t(run.size()), d.action = 0, d.reason = 1, d.family = 0, d.proto = 0, d.flags = kFlagProtoAny;
  run.push_back(d);
  const std::vector<uint8_t> blob = single_run_blob("eni-wide", run);
  for (ClassifierChoice choice : {ClassifierChoice::Auto, ClassifierChoice::Tree}) {
    MatchTable t;
    REQUIRE(load_table(blob.data(), blob.size(), t, {choice}).ok());
    std::vector<Pkt> ps(30000);
    uint32_t v6 = 0, icmp = 0;
    for (Pkt& p : ps) {
      g.packet(g.chance(90) ? &run[g.below(uint32_t(run.size()))] : nullptr, p.t, p.it, p.ic);
      v6 += p.t.family == 6;
      icmp += p.t.proto == kProtoIcmp || p.t.proto == kProtoIcmpv6;
    }
    uint64_t matched = 0;
    CHECK(disagreements(t, ps, &matched) == 0);
    CHECK(matched > ps.size() / 3);
    CHECK(v6 > ps.size() / 10);
    CHECK(icmp > ps.size() / 10);
    CHECK(t.tree_stats().max_leaf <= 64);
  }
}

TEST_CASE("partitions: an early wide entry wins over later narrow ones in other partitions") {
  // Entry 0 is wide (any address, TCP 80); entries 1.. are long-prefix TCP 80 entries that
  // may land in another partition. Entry 0 must win for every TCP 80 packet.
  RuleGen g(9);
  std::vector<BEntry> run(200);
  for (uint32_t i = 0; i < run.size(); i++) {
    BEntry& e = run[i];
    e.rule = i, e.family = 4, e.proto = kProtoTcp, e.dport_lo = e.dport_hi = 80;
    if (i > 0) {
      e.src = ip4(10, uint8_t(i), 0, 0), e.src_len = 24;
      e.dst = ip4(192, 0, 2, 0), e.dst_len = 24;
    }
  }
  const std::vector<uint8_t> blob = single_run_blob("eni-early", run);
  MatchTable t;
  REQUIRE(load_table(blob.data(), blob.size(), t).ok());
  for (uint32_t i = 1; i < run.size(); i++) {
    Tuple p{};
    p.family = 4, p.proto = kProtoTcp, p.sport = 1234, p.dport = 80;
    const Addr16 src = ip4(10, uint8_t(i), 0, 7), dst = ip4(192, 0, 2, 9);
    std::memcpy(p.src, src.data(), 16);
    std::memcpy(p.dst, dst.data(), 16);
    CHECK(t.first_match(0, Direction::Ingress, p, 0, 0) == 0);
    p.dport = 81;
    CHECK(t.first_match(0, Direction::Ingress, p, 0, 0) == -1);
  }
}

TEST_CASE("runs with identical entries share their trees and still name their own entries") {
  // Three interfaces: A and C carry the same entries (the same groups), B others. C's lookups go
  // through A's trees and must come back as C's global entry indices, exactly as C's linear scan.
  RuleGen g(4242);
  BlobSpec s;
  const std::vector<BEntry> same = g.run(300, 0), other = g.run(300, 300);
  const char* names[3] = {"eni-a", "eni-b", "eni-c"};
  for (int i = 0; i < 3; i++) {
    BIface f;
    f.name = names[i];
    f.addrs.push_back({4, ip4(10, 0, 0, uint8_t(1 + i))});
    f.ingress = i == 1 ? other : same;
    f.egress = g.run(20, 600 + 20 * uint32_t(i));
    s.ifaces.push_back(f);
  }
  declare_rules(s);
  const std::vector<uint8_t> blob = build_blob(s);
  MatchTable t;
  const LoadResult r = load_table(blob.data(), blob.size(), t);
  if (!r.ok()) FAIL(r.message);
  CHECK(t.tree_stats().shared_runs >= 1);
  uint64_t bad = 0, hits = 0;
  for (int n = 0; n < 20000; n++) {
    const uint32_t iface = uint32_t(n % 3);
    const auto& run = s.ifaces[iface].ingress;
    Pkt p;
    g.packet(g.chance(80) ? &run[g.below(uint32_t(run.size()))] : nullptr, p.t, p.it, p.ic);
    const int32_t want = t.first_match_linear(iface, Direction::Ingress, p.t, p.it, p.ic);
    const int32_t got = t.first_match(iface, Direction::Ingress, p.t, p.it, p.ic);
    if (got != want && ++bad <= 5) FAIL_CHECK("iface " << iface << ": got " << got << " want " << want);
    if (want >= 0) {
      hits++;
      CHECK(uint32_t(want) >= t.run_first(iface, Direction::Ingress));
      CHECK(uint32_t(want) < t.run_first(iface, Direction::Ingress) + t.run_size(iface, Direction::Ingress));
    }
  }
  CHECK(bad == 0);
  CHECK(hits > 10000);
}

TEST_CASE("runs with identical entries keep one copy of them, and each names its own entries and rules") {
  // D matches exactly as A (the same HotEntries) but its entries belong to other rules: sharing
  // the match data must not share the rule data. Tree runs (300 entries) and linear runs (8).
  RuleGen g(777);
  const std::vector<BEntry> big = g.run(300, 0), small = g.run(8, 300);
  auto with_rules = [](std::vector<BEntry> run, uint32_t shift) {
    for (BEntry& e : run) e.rule += shift;
    return run;
  };
  auto spec = [&](int n_ifaces) {
    BlobSpec s;
    for (int i = 0; i < n_ifaces; i++) {
      BIface f;
      f.name = "eni-" + std::to_string(i);
      f.addrs.push_back({4, ip4(10, 0, 0, uint8_t(1 + i))});
      const uint32_t shift = i == 0 ? 0 : 1000;  // every interface after the first: rules 1000..
      f.ingress = with_rules(big, shift);
      f.egress = with_rules(small, shift);
      s.ifaces.push_back(f);
    }
    declare_rules(s);
    return s;
  };
  MatchTable one, four;
  const std::vector<uint8_t> b1 = build_blob(spec(1)), b4 = build_blob(spec(4));
  REQUIRE(load_table(b1.data(), b1.size(), one).ok());
  REQUIRE(load_table(b4.data(), b4.size(), four).ok());
  REQUIRE(four.entry_count() == 4 * one.entry_count());
  REQUIRE(four.classifier_kind(3, Direction::Ingress) == ClassifierKind::Tree);
  REQUIRE(four.classifier_kind(3, Direction::Egress) == ClassifierKind::Linear);
  // Three more interfaces cost their six run records only (a few dozen bytes each): no entry
  // or tree is stored twice (a copy of the entries alone would be 308 x 80 bytes each).
  CHECK(four.classifier_bytes() - one.classifier_bytes() <= 6 * 64);
  // share_runs off (the fuzzers' reference) keeps a copy per run, and answers alike below.
  MatchTable unshared;
  LoadOptions copies;
  copies.share_runs = false;
  REQUIRE(load_table(b4.data(), b4.size(), unshared, copies).ok());
  CHECK(unshared.classifier_bytes() - one.classifier_bytes() >= 3 * 308 * 80);

  uint64_t hits = 0;
  for (int n = 0; n < 20000; n++) {
    Direction dir;
    const Pkt p = probe(g, n, big, small, dir);
    const int32_t ref = one.first_match_linear(0, dir, p.t, p.it, p.ic);
    const int32_t ref_rule = ref < 0 ? -1 : int32_t(one.entry_rule(uint32_t(ref)));
    for (uint32_t i = 0; i < 4; i++) {
      for (const bool linear : {false, true}) {
        const int32_t got = linear ? four.first_match_linear(i, dir, p.t, p.it, p.ic)
                                   : four.first_match(i, dir, p.t, p.it, p.ic);
        CHECK(got == unshared.first_match_linear(i, dir, p.t, p.it, p.ic));
        if (ref < 0) {
          CHECK(got == -1);
          continue;
        }
        REQUIRE(got >= 0);
        // The same position in the interface's own run, and that entry's own rule.
        CHECK(uint32_t(got) - four.run_first(i, dir) == uint32_t(ref) - one.run_first(0, dir));
        CHECK(int32_t(four.entry_rule(uint32_t(got))) == ref_rule + (i == 0 ? 0 : 1000));
      }
    }
    hits += ref >= 0;
  }
  CHECK(hits > 10000);
}

TEST_CASE("a run the blob stores once serves every interface that names it (format.h)") {
  // Interfaces 1..3 name interface 0's runs (both directions): the blob holds 308 entries, not
  // 4 x 308, and every interface gets interface 0's answers, global entry indices included.
  RuleGen g(991);
  const std::vector<BEntry> big = g.run(300, 0), small = g.run(8, 300);
  auto spec = [&](bool share) {
    BlobSpec s;
    for (int i = 0; i < 4; i++) {
      BIface f;
      f.name = "eni-" + std::to_string(i);
      f.addrs.push_back({4, ip4(10, 0, 1, uint8_t(1 + i))});
      f.ingress = big;
      f.egress = small;
      if (share && i > 0) f.shares[0] = f.shares[1] = 0;
      s.ifaces.push_back(f);
    }
    declare_rules(s);
    return s;
  };
  const std::vector<uint8_t> shared_blob = build_blob(spec(true)), copied_blob = build_blob(spec(false));
  CHECK(copied_blob.size() - shared_blob.size() == 3 * 308 * kEntryRecordSize);
  MatchTable shared, copied, unshared;
  LoadOptions copies;
  copies.share_runs = false;
  REQUIRE(load_table(shared_blob.data(), shared_blob.size(), shared).ok());
  REQUIRE(load_table(copied_blob.data(), copied_blob.size(), copied).ok());
  REQUIRE(load_table(shared_blob.data(), shared_blob.size(), unshared, copies).ok());
  CHECK(shared.entry_count() == 308);
  CHECK(shared.classifier_bytes() == copied.classifier_bytes());  // one copy either way
  CHECK(unshared.classifier_bytes() - shared.classifier_bytes() >= 3 * 308 * 80);
  for (uint32_t i = 0; i < 4; i++) {
    CHECK(shared.run_first(i, Direction::Ingress) == 0);
    CHECK(shared.run_size(i, Direction::Egress) == 8);
  }
  uint64_t hits = 0;
  for (int n = 0; n < 20000; n++) {
    Direction dir;
    const Pkt p = probe(g, n, big, small, dir);
    const uint32_t i = uint32_t(n % 4);
    const int32_t want = copied.first_match_linear(i, dir, p.t, p.it, p.ic);
    const int32_t got = shared.first_match(i, dir, p.t, p.it, p.ic);
    const int32_t ref = unshared.first_match_linear(i, dir, p.t, p.it, p.ic);
    CHECK(got == ref);
    CHECK(shared.first_match_linear(i, dir, p.t, p.it, p.ic) == got);
    if (want < 0) {
      CHECK(got == -1);
      continue;
    }
    hits++;
    REQUIRE(got >= 0);
    // Interface 0's entry, at the position the copied blob has in interface i's own run.
    CHECK(uint32_t(got) == uint32_t(want) - copied.run_first(i, dir) + shared.run_first(0, dir));
    CHECK(shared.entry_rule(uint32_t(got)) == copied.entry_rule(uint32_t(want)));
  }
  CHECK(hits > 10000);

  // Refused: a run naming another direction's run, and a run overlapping one in part.
  const BlobOffsets o = offsets_of(shared_blob);
  auto with_ingress = [&](uint32_t first, uint32_t count) {
    std::vector<uint8_t> b = shared_blob;
    const size_t at = o.interfaces + size_t{1} * kInterfaceRecordSize;
    blob_detail::put32(b, at, iface::kIngressFirst, first);
    blob_detail::put32(b, at, iface::kIngressCount, count);
    fix_crc(b);
    MatchTable t;
    return load_table(b.data(), b.size(), t);
  };
  CHECK(with_ingress(0, 300).ok());  // the blob as built
  const LoadResult other_dir = with_ingress(300, 8);
  CHECK(other_dir.status == TableStatus::BadRecord);
  const LoadResult partial = with_ingress(1, 299);
  CHECK(partial.status == TableStatus::BadRecord);
  CHECK(partial.message.find("entry_count") != std::string::npos);
}
