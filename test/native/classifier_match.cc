// first_match semantics (format.h) on annotated vectors, and the tree classifier against
// the linear reference on random ClassBench-like tables (fixed seeds).
#define DOCTEST_CONFIG_NO_EXCEPTIONS_BUT_WITH_ALL_ASSERTS
#include <doctest/doctest.h>

#include <cstring>

#include "classifier_rulegen.h"
#include "table/loader.h"

using namespace sgfw;
using namespace sgfw::table;
using namespace sgfw::test;

namespace {

BlobSpec one_run(std::vector<BEntry> run) {
  BlobSpec s;
  BIface f;
  f.name = "eni-1";
  for (uint32_t i = 0; i < run.size(); i++) {
    run[i].rule = i;
    s.rules.push_back({"r" + std::to_string(i), run[i].reason, run[i].action});
  }
  f.ingress = run;
  s.ifaces.push_back(f);
  return s;
}

Tuple pkt(uint8_t family, uint8_t proto, const Addr16& src, const Addr16& dst, uint16_t sport, uint16_t dport) {
  Tuple t;
  t.family = family, t.proto = proto, t.sport = sport, t.dport = dport;
  std::memcpy(t.src, src.data(), 16);
  std::memcpy(t.dst, dst.data(), 16);
  return t;
}

}  // namespace

TEST_CASE("first_match semantics, linear and tree") {
  std::vector<BEntry> run(8);
  // 0: udp 53 from 10/8
  run[0].family = 4, run[0].proto = kProtoUdp, run[0].dport_lo = run[0].dport_hi = 53;
  run[0].src = ip4(10, 0, 0, 0), run[0].src_len = 8;
  // 1: ICMPv6 echo request (128), any code
  run[1].family = 6, run[1].proto = kProtoIcmpv6, run[1].icmp_type = 128, run[1].flags = kFlagIcmpCodeAny;
  // 2: ICMP frag-needed 3/4
  run[2].family = 4, run[2].proto = kProtoIcmp, run[2].icmp_type = 3, run[2].icmp_code = 4;
  // 3: family any, proto 1: ICMP fields are not checked (only for ICMP with family 4)
  run[3].family = 0, run[3].proto = kProtoIcmp, run[3].icmp_type = 99;
  // 4: GRE with ports written: ports apply only to TCP/UDP
  run[4].family = 4, run[4].proto = kProtoGre, run[4].dport_lo = run[4].dport_hi = 80;
  // 5: proto-any from 172.16/12 (proto byte and ports ignored)
  run[5].family = 4, run[5].proto = kProtoTcp, run[5].flags = kFlagProtoAny, run[5].dport_lo = run[5].dport_hi = 1;
  run[5].src = ip4(172, 16, 0, 0), run[5].src_len = 12;
  // 6: tcp 1000-2000 to 2001:db8::/32 from sport 5
  run[6].family = 6, run[6].proto = kProtoTcp, run[6].dport_lo = 1000, run[6].dport_hi = 2000;
  run[6].sport_lo = run[6].sport_hi = 5, run[6].dst = ip6("2001:db8::"), run[6].dst_len = 32;
  // 7: default drop
  run[7].family = 0, run[7].proto = 0, run[7].flags = kFlagProtoAny, run[7].action = 0, run[7].reason = 1;
  std::vector<uint8_t> blob = build_blob(one_run(run));

  for (ClassifierChoice choice : {ClassifierChoice::Linear, ClassifierChoice::Tree}) {
    MatchTable t;
    REQUIRE(load_table(blob.data(), blob.size(), t, {choice}).ok());
    CHECK(t.classifier_kind(0, Direction::Ingress) ==
          (choice == ClassifierChoice::Tree ? ClassifierKind::Tree : ClassifierKind::Linear));
    const Addr16 v4 = ip4(10, 1, 2, 3), me = ip4(192, 0, 2, 1), v6 = ip6("2001:db8::5"), v6b = ip6("2001:db9::5");
    auto m = [&](const Tuple& p, uint8_t it = 0, uint8_t ic = 0) {
      int32_t got = t.first_match(0, Direction::Ingress, p, it, ic);
      CHECK(got == t.first_match_linear(0, Direction::Ingress, p, it, ic));
      return got;
    };
    CHECK(m(pkt(4, kProtoUdp, v4, me, 999, 53)) == 0);                   // should match 0
    CHECK(m(pkt(4, kProtoUdp, v4, me, 999, 54)) == 7);                   // port outside: default
    CHECK(m(pkt(4, kProtoUdp, ip4(11, 0, 0, 0), me, 999, 53)) == 7);     // prefix edge
    CHECK(m(pkt(4, kProtoUdp, ip4(10, 255, 255, 255), me, 1, 53)) == 0); // prefix last address
    CHECK(m(pkt(4, kProtoTcp, v4, me, 999, 53)) == 7);                   // protocol differs
    CHECK(m(pkt(6, kProtoUdp, v6, v6, 999, 53)) == 7);                   // family differs
    CHECK(m(pkt(6, kProtoIcmpv6, v6, v6, 7, 7), 128, 9) == 1);           // any code
    CHECK(m(pkt(6, kProtoIcmpv6, v6, v6, 7, 7), 129, 0) == 7);           // echo reply
    CHECK(m(pkt(4, kProtoIcmpv6, v4, me, 0, 0), 128, 0) == 7);           // ICMPv6 number over IPv4: entry 1 is v6
    CHECK(m(pkt(4, kProtoIcmp, v4, me, 0, 0), 3, 4) == 2);               // should match 2
    CHECK(m(pkt(4, kProtoIcmp, v4, me, 0, 0), 3, 3) == 3);               // code differs: 3 (icmp unchecked)
    CHECK(m(pkt(6, kProtoIcmp, v6, v6, 0, 0), 0, 0) == 3);               // family any: proto 1 over IPv6 too
    CHECK(m(pkt(4, kProtoGre, v4, me, 0, 0)) == 4);                      // ports ignored for GRE
    CHECK(m(pkt(4, kProtoGre, v4, me, 80, 81)) == 4);
    CHECK(m(pkt(4, 200, ip4(172, 31, 255, 255), me, 0, 0)) == 5);        // proto-any
    CHECK(m(pkt(4, kProtoTcp, ip4(172, 16, 0, 0), me, 3, 2)) == 5);     // proto-any ignores ports
    CHECK(m(pkt(4, kProtoTcp, ip4(172, 32, 0, 0), me, 3, 2)) == 7);
    CHECK(m(pkt(6, kProtoTcp, v6b, v6, 5, 1000)) == 6);                  // dport low edge
    CHECK(m(pkt(6, kProtoTcp, v6b, v6, 5, 2000)) == 6);                  // dport high edge
    CHECK(m(pkt(6, kProtoTcp, v6b, v6, 5, 2001)) == 7);
    CHECK(m(pkt(6, kProtoTcp, v6b, v6, 5, 999)) == 7);
    CHECK(m(pkt(6, kProtoTcp, v6b, v6, 6, 1500)) == 7);                  // sport differs
    CHECK(m(pkt(6, kProtoTcp, v6b, v6b, 5, 1500)) == 7);                 // dst outside /32
    CHECK(m(pkt(6, kProtoTcp, v6b, ip6("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"), 5, 1500)) == 6);
  }
}

TEST_CASE("runs without a default: -1 when nothing matches") {
  std::vector<BEntry> run(20);
  for (uint32_t i = 0; i < run.size(); i++) run[i].dport_lo = run[i].dport_hi = uint16_t(100 + i);
  std::vector<uint8_t> blob = build_blob(one_run(run));
  MatchTable t;
  REQUIRE(load_table(blob.data(), blob.size(), t).ok());
  CHECK(t.classifier_kind(0, Direction::Ingress) == ClassifierKind::Tree);  // >= kTreeMinEntries
  for (uint16_t port = 95; port < 125; port++) {
    int32_t want = port >= 100 && port < 120 ? port - 100 : -1;
    CHECK(t.first_match(0, Direction::Ingress, pkt(4, kProtoTcp, ip4(1, 2, 3, 4), ip4(5, 6, 7, 8), 1, port), 0, 0) ==
          want);
  }
  // Duplicate entries: the first wins.
  for (BEntry& e : run) e.dport_lo = e.dport_hi = 443;
  blob = build_blob(one_run(run));
  REQUIRE(load_table(blob.data(), blob.size(), t).ok());
  CHECK(t.first_match(0, Direction::Ingress, pkt(4, kProtoTcp, ip4(1, 2, 3, 4), ip4(5, 6, 7, 8), 1, 443), 0, 0) == 0);
}

TEST_CASE("tree == linear on random tables (100k packets, fixed seeds)") {
  struct Case {
    uint32_t seed, n_in, n_eg, packets;
  };
  const Case cases[] = {{1, 17, 3, 10000}, {2, 60, 20, 15000}, {3, 250, 40, 20000}, {4, 1000, 16, 30000},
                        {5, 2000, 100, 25000}};
  uint64_t total = 0, matched_rule = 0, mismatches = 0;
  for (const Case& c : cases) {
    RuleGen g(c.seed);
    BlobSpec spec = random_table(g, c.n_in, c.n_eg);
    std::vector<uint8_t> blob = build_blob(spec);
    MatchTable tree, auto_t;
    LoadResult r = load_table(blob.data(), blob.size(), tree, {ClassifierChoice::Tree});
    REQUIRE_MESSAGE(r.ok(), r.message);
    REQUIRE(load_table(blob.data(), blob.size(), auto_t).ok());
    for (uint32_t i = 0; i < c.packets; i++) {
      const bool egress = g.chance(10);
      const auto& run = egress ? spec.ifaces[0].egress : spec.ifaces[0].ingress;
      const Direction dir = egress ? Direction::Egress : Direction::Ingress;
      Tuple p;
      uint8_t it = 0, ic = 0;
      g.packet(g.chance(85) ? &run[g.below(uint32_t(run.size()))] : nullptr, p, it, ic);
      const int32_t want = tree.first_match_linear(0, dir, p, it, ic);
      const int32_t got = tree.first_match(0, dir, p, it, ic);
      const int32_t got_auto = auto_t.first_match(0, dir, p, it, ic);
      if (got != want || got_auto != want) {
        if (++mismatches <= 5) FAIL_CHECK("seed " << c.seed << " packet " << i << ": tree " << got << " auto " << got_auto << " linear " << want);
      }
      total++;
      matched_rule += want >= 0 && tree.entry_reason(uint32_t(want)) == Reason::Rule;
    }
  }
  CHECK(mismatches == 0);
  CHECK(total == 100000);
  // The packets exercise real entries, not only the default.
  CHECK(matched_rule > total / 3);
}
