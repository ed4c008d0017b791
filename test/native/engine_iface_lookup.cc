// The engine's own interface lookups (engine.h, a collision-free slot per address) and the
// IPv4 flow hash (flow_key.h flow_hash4) must answer exactly as the table's find_interface and
// the general flow_hash do.
#define DOCTEST_CONFIG_NO_EXCEPTIONS_BUT_WITH_ALL_ASSERTS
#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <string>

#include "conntrack/flow_key.h"
#include "conntrack/flow_table.h"
#include "engine/engine.h"
#include "table/loader.h"
#include "table_blob_builder.h"

using namespace sgfw;
using namespace sgfw::test;

namespace {

uint64_t xorshift(uint64_t& x) {
  x ^= x << 13, x ^= x >> 7, x ^= x << 17;
  return x;
}

}  // namespace

TEST_CASE("flow_hash4 equals flow_hash for IPv4 keys, any seed") {
  uint64_t x = 0x2545F4914F6CDD1Dull;
  for (int i = 0; i < 20000; i++) {
    const uint64_t seed = i % 4 == 0 ? 0 : xorshift(x);
    Tuple t;
    t.family = 4;
    t.proto = static_cast<uint8_t>(xorshift(x));
    t.sport = static_cast<uint16_t>(xorshift(x));
    t.dport = static_cast<uint16_t>(xorshift(x));
    const uint64_t a = xorshift(x);
    std::memcpy(t.src, &a, 4);
    std::memcpy(t.dst, reinterpret_cast<const uint8_t*>(&a) + 4, 4);
    const conntrack::FlowKey k = conntrack::make_flow_key(t, static_cast<uint16_t>(xorshift(x)),
                                                          i % 2 ? Direction::Ingress : Direction::Egress);
    REQUIRE(conntrack::flow_hash4(k, conntrack::FlowHash4::of(seed)) == conntrack::flow_hash(k, seed));
  }
  // A table's hash4 is its seed's (before and after init).
  conntrack::FlowTable ft;
  Tuple t;
  t.family = 4, t.proto = 6, t.sport = 1234, t.dport = 80, t.src[0] = 10, t.dst[0] = 192;
  const conntrack::FlowKey k = conntrack::make_flow_key(t, 1, Direction::Egress);
  CHECK(ft.hash4(k) == ft.hash(k));
  REQUIRE(ft.init(64, 0x1234567887654321ull, conntrack::FlowTableMemory::Lazy));
  CHECK(ft.hash4(k) == ft.hash(k));
  CHECK(ft.hash(k) == conntrack::flow_hash(k, 0x1234567887654321ull));
}

// Random address sets from one address to hundreds (past the engine map's size, where the
// table's lookup serves IPv4 too), clustered or spread, with table swaps in between: the
// engine answers as the table does for stored addresses, their neighbours and random ones.
TEST_CASE("engine interface lookup equals the table's find_interface") {
  uint64_t x = 0x9e3779b97f4a7c15ull;
  engine::EngineOptions opts;
  opts.flow_memory = conntrack::FlowTableMemory::Lazy;
  engine::Engine eng(opts);
  for (int round = 0; round < 60; round++) {
    const int n = 1 + static_cast<int>(xorshift(x) % (round < 20 ? 24 : round < 40 ? 70 : 400));
    BlobSpec s;
    s.cloud = 2;
    s.rules = {{"default:ingress:drop", 1, 0}};
    std::vector<BIface> ifs(3);
    for (int i = 0; i < 3; i++) ifs[i].name = "eni-" + std::to_string(i);
    std::vector<std::pair<uint8_t, Addr16>> stored;
    std::map<std::pair<uint8_t, Addr16>, bool> seen;
    for (int i = 0; i < n; i++) {
      BAddr a;
      a.family = (xorshift(x) % 4 == 0) ? 6 : 4;
      const uint32_t v4 =
          (round % 2) ? 0xC6120000u + static_cast<uint32_t>(xorshift(x) % 512) : static_cast<uint32_t>(xorshift(x));
      a.addr = ip4(uint8_t(v4 >> 24), uint8_t(v4 >> 16), uint8_t(v4 >> 8), uint8_t(v4));
      if (a.family == 6)
        for (int b = 4; b < 16; b++) a.addr[b] = static_cast<uint8_t>(xorshift(x));
      if (seen.count({a.family, a.addr})) continue;
      seen[{a.family, a.addr}] = true;
      ifs[stored.size() % 3].addrs.push_back(a);
      stored.push_back({a.family, a.addr});
    }
    s.ifaces = ifs;
    const std::vector<uint8_t> blob = build_blob(s);
    auto t = std::make_shared<table::MatchTable>();
    REQUIRE(table::load_table(blob.data(), blob.size(), *t).ok());
    std::string err;
    REQUIRE(eng.set_table(t, static_cast<uint32_t>(round + 1), &err));
    int checked = 0;
    auto same = [&](uint8_t fam, const Addr16& a) {
      CHECK(eng.interface_of(fam, a.data()) == t->find_interface(fam, a.data()));
      checked++;
    };
    for (const auto& [fam, a] : stored) {
      REQUIRE(eng.interface_of(fam, a.data()) >= 0);
      same(fam, a);
      Addr16 next = a;
      next[fam == 4 ? 3 : 15]++;
      same(fam, next);
      Addr16 head = a;  // its first four bytes as an address of either family
      std::fill(head.begin() + 4, head.end(), uint8_t{0});
      same(4, head);
      same(6, head);
      if (fam == 6) {
        Addr16 flip = a;  // a difference in the second word only
        flip[8] ^= 1;
        same(6, flip);
      }
    }
    for (int q = 0; q < 500; q++) {
      const uint32_t v4 = static_cast<uint32_t>(xorshift(x));
      same(4, ip4(uint8_t(v4 >> 24), uint8_t(v4 >> 16), uint8_t(v4 >> 8), uint8_t(v4)));
      same(4, ip4(0, 0, 0, uint8_t(v4)));  // near zero: empty slots hold address 0
      Addr16 r6;
      for (auto& b : r6) b = static_cast<uint8_t>(xorshift(x));
      same(6, r6);
      same(6, ip4(0, 0, 0, uint8_t(v4)));
    }
    CHECK(checked > 1000);
  }
}
