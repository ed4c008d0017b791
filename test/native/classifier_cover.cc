// The tree builder's covering rule (classifier_build.cc): each side of a cut keeps its entries
// only up to the first one that covers the side's whole box, and the cut's cost counts so.
// Against the linear scan on runs where entries often cover one another, with packets at
// every edge of every entry (the cut points), and on the case that made the rule: proto-only
// entries before a wide default, which used to end in one long leaf.
#define DOCTEST_CONFIG_NO_EXCEPTIONS_BUT_WITH_ALL_ASSERTS
#include <doctest/doctest.h>

#include <cstring>
#include <random>

#include "classifier_check.h"
#include "table/loader.h"
#include "table_blob_builder.h"

using namespace sgfw;
using namespace sgfw::table;
using namespace sgfw::test;

namespace {

BEntry closing_default(uint32_t rule) {
  BEntry d;
  d.rule = rule;
  d.action = 0;
  d.reason = 1;
  d.family = 0;
  d.proto = 0;
  d.flags = kFlagProtoAny;
  return d;
}

// Clears an IPv4 address's bits beyond /len (the loader rejects them).
void mask4(Addr16& a, uint8_t len) {
  for (uint32_t i = 0; i < 4; i++) {
    const uint32_t keep = len >= 8 * (i + 1) ? 8 : len > 8 * i ? len - 8 * i : 0;
    a[i] &= keep == 8 ? 0xff : uint8_t(0xff00 >> keep);
  }
}

// A /len IPv4 prefix's first address plus `delta` (wrapping), as the tuple holds it.
void put4(uint8_t out[16], const Addr16& base, uint8_t len, int64_t delta, bool last) {
  uint32_t a = uint32_t(base[0]) << 24 | uint32_t(base[1]) << 16 | uint32_t(base[2]) << 8 | base[3];
  if (last) a |= len == 0 ? ~0u : len >= 32 ? 0u : (~0u >> len);
  a = uint32_t(int64_t(a) + delta);
  std::memset(out, 0, 16);
  out[0] = uint8_t(a >> 24), out[1] = uint8_t(a >> 16), out[2] = uint8_t(a >> 8), out[3] = uint8_t(a);
}

}  // namespace

TEST_CASE("proto-only entries before a wide default: short leaves, same answers as the scan") {
  // Family-any ICMP / ICMPv6 entries (icmp fields any) interleaved with narrow IPv4 TCP ones,
  // then the default. A cut at proto 2 or 59 leaves one side covered by its first entry.
  std::vector<BEntry> run;
  for (uint32_t i = 0; i < 60; i++) {
    BEntry e;
    e.rule = i;
    if (i % 3 == 0) {
      e.family = 0;
      e.proto = i % 2 ? kProtoIcmp : kProtoIcmpv6;
      e.flags = kFlagIcmpTypeAny | kFlagIcmpCodeAny;
    } else {
      e.family = 4;
      e.proto = kProtoTcp;
      e.src = ip4(198, 18, uint8_t(i), 0);
      e.src_len = 24;
      e.dport_lo = e.dport_hi = uint16_t(1000 + i);
    }
    run.push_back(e);
  }
  run.push_back(closing_default(60));
  const std::vector<uint8_t> blob = single_run_blob("eni-cover", run);
  MatchTable t;
  const LoadResult r = load_table(blob.data(), blob.size(), t);
  REQUIRE_MESSAGE(r.ok(), r.message);
  REQUIRE(t.classifier_kind(0, Direction::Ingress) == ClassifierKind::Tree);
  // 20 ICMP-like entries share every field but proto: without the rule one leaf held them all.
  CHECK(t.tree_stats().max_leaf <= 4);

  std::vector<Pkt> ps;
  for (uint32_t proto = 0; proto < 256; proto++) {
    for (uint32_t i = 0; i < 60; i += 5) {
      Pkt p;
      p.t.family = 4;
      p.t.proto = uint8_t(proto);
      put4(p.t.src, ip4(198, 18, uint8_t(i), 0), 24, 7, false);
      p.t.sport = 40000;
      p.t.dport = uint16_t(1000 + i);
      p.it = uint8_t(i), p.ic = uint8_t(proto);
      ps.push_back(p);
    }
  }
  CHECK(disagreements(t, ps) == 0);
}

TEST_CASE("covering entries cut at every edge == linear (IPv4, ports, protocols)") {
  // Few distinct values, so boxes nest and cover each other often: every cut has entries that
  // end exactly at it, start exactly at it, or span it.
  static constexpr uint16_t kPorts[] = {0, 22, 23, 80, 443, 1023, 1024, 8080, 65535};
  static constexpr uint8_t kLens[] = {0, 8, 16, 23, 24, 32};
  uint64_t bad = 0, packets = 0;
  for (uint64_t seed = 1; seed <= 24 && bad == 0; seed++) {
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    auto below = [&](uint32_t n) { return uint32_t(rng() % n); };
    std::vector<BEntry> run;
    const uint32_t n = 40 + below(300);
    for (uint32_t i = 0; i + 1 < n; i++) {
      BEntry e;
      e.rule = i;
      e.action = uint8_t(below(2));
      e.family = below(10) == 0 ? 0 : 4;
      const uint32_t pr = below(8);
      e.proto = pr < 3 ? kProtoTcp : pr < 5 ? kProtoUdp : pr < 6 ? kProtoIcmp : pr < 7 ? kProtoGre : 0;
      if (pr == 7) e.flags |= kFlagProtoAny;
      if (e.family == 4) {
        e.src_len = kLens[below(6)];
        e.src = ip4(198, uint8_t(18 + below(2)), uint8_t(below(3)), uint8_t(below(3) * 64));
        mask4(e.src, e.src_len);
        e.dst_len = below(2) ? 0 : kLens[below(6)];
        e.dst = ip4(198, 18, uint8_t(below(2)), uint8_t(below(2) * 128));
        mask4(e.dst, e.dst_len);
      }
      if (e.proto == kProtoTcp || e.proto == kProtoUdp) {
        uint16_t a = kPorts[below(9)], b = kPorts[below(9)];
        if (a > b) std::swap(a, b);
        e.dport_lo = a, e.dport_hi = b;
        if (below(4) == 0) e.sport_lo = 1024;
      }
      if (e.proto == kProtoIcmp) {
        e.icmp_type = uint8_t(below(4) * 3);
        e.icmp_code = uint8_t(below(2));
        if (below(2)) e.flags |= kFlagIcmpCodeAny;
        if (below(3) == 0) e.flags |= kFlagIcmpTypeAny;
      }
      if (e.family == 0 && (e.flags & kFlagProtoAny)) e.flags &= uint8_t(~kFlagProtoAny), e.proto = kProtoTcp;
      run.push_back(e);
    }
    run.push_back(closing_default(n - 1));
    const std::vector<uint8_t> blob = single_run_blob("eni-edges", run);
    MatchTable t;
    const LoadResult r = load_table(blob.data(), blob.size(), t);
    REQUIRE_MESSAGE(r.ok(), r.message);
    REQUIRE(t.classifier_kind(0, Direction::Ingress) == ClassifierKind::Tree);

    // Per entry: its address edges (first, last, one before, one after) crossed with its port
    // edges and its protocol and neighbours.
    std::vector<Pkt> ps;
    for (const BEntry& e : run) {
      for (int ae = 0; ae < 4; ae++) {
        for (int pe = 0; pe < 4; pe++) {
          Pkt p;
          p.t.family = 4;
          const int64_t delta = ae == 2 ? -1 : ae == 3 ? 1 : 0;
          const bool last = ae == 1 || ae == 3;
          put4(p.t.src, e.src, e.src_len, delta, last);
          put4(p.t.dst, e.dst, e.dst_len, below(3) == 0 ? -1 : 0, below(2) == 1);
          p.t.proto = uint8_t(e.proto + int(below(3)) - (below(5) == 0 ? 1 : 0));
          const uint16_t ports[4] = {e.dport_lo, e.dport_hi, uint16_t(e.dport_lo - 1), uint16_t(e.dport_hi + 1)};
          p.t.dport = ports[pe];
          p.t.sport = below(2) ? uint16_t(1023 + below(2)) : uint16_t(below(65536));
          p.it = uint8_t(e.icmp_type + below(2)), p.ic = uint8_t(e.icmp_code + below(2));
          ps.push_back(p);
        }
      }
    }
    packets += ps.size();
    bad += disagreements(t, ps);
  }
  CHECK(bad == 0);
  CHECK(packets > 20000);
}
