// The IPv4 leaf test (matches4 on a Leaf4, SSE2 where built with it) against the full entry
// test (matches on the HotEntry it was made from), on random IPv4 entries and packets that sit
// on and beside every edge: prefix bounds, port range ends and their neighbours, wrapping
// port ranges' ends (0, 65535), protocol and ICMP type/code masks.
#define DOCTEST_CONFIG_NO_EXCEPTIONS_BUT_WITH_ALL_ASSERTS
#include <doctest/doctest.h>

#include <random>

#include "leaf_edges.h"
#include "table/classifier.h"

using namespace sgfw;
using namespace sgfw::table::detail;

namespace {

uint64_t prefix_mask(uint32_t len) { return len == 0 ? 0 : ~uint64_t{0} << (64 - len); }

// An IPv4 entry as the loader builds it: addresses in the top 32 bits of src_hi / dst_hi.
HotEntry random_entry(std::mt19937_64& rng) {
  HotEntry e{};
  const uint32_t sl = uint32_t(rng() % 33), dl = uint32_t(rng() % 33);
  e.src_mask_hi = prefix_mask(sl);
  e.dst_mask_hi = prefix_mask(dl);
  e.src_hi = (rng() << 32) & e.src_mask_hi;
  e.dst_hi = (rng() << 32) & e.dst_mask_hi;
  e.family_mask = 0xff, e.family = 4;
  test::random_small_fields(rng, e, 1, 0, 16);
  return e;
}

uint64_t near_prefix(std::mt19937_64& rng, uint64_t value, uint64_t mask) {
  const uint64_t inside = value | ((rng() << 32) & ~mask & 0xffffffff00000000ull);
  switch (rng() % 4) {
    case 0: return value;  // the prefix's first address
    case 1: return value | (~mask & 0xffffffff00000000ull);  // its last
    case 2: return (inside ^ (uint64_t{1} << (32 + rng() % 32))) & 0xffffffff00000000ull;  // one bit off
    default: return inside;
  }
}

}  // namespace

TEST_CASE("matches4 on a Leaf4 == matches on its HotEntry (IPv4, every edge)") {
  std::mt19937_64 rng(20240611);
  uint64_t hits = 0, misses = 0, bad = 0;
  for (int i = 0; i < 4000; i++) {
    const HotEntry e = random_entry(rng);
    const Leaf4 l = leaf4_of(e);
    for (int j = 0; j < 64; j++) {
      Key k{};
      k.family = 4;
      k.src_hi = near_prefix(rng, e.src_hi, e.src_mask_hi);
      k.dst_hi = near_prefix(rng, e.dst_hi, e.dst_mask_hi);
      k.sport = test::near_range(rng, e.sport_lo, e.sport_span);
      k.dport = test::near_range(rng, e.dport_lo, e.dport_span);
      k.proto = rng() % 4 ? e.proto : uint8_t(rng());
      k.icmp_type = rng() % 2 ? e.icmp_type : uint8_t(rng() % 16);
      k.icmp_code = rng() % 2 ? e.icmp_code : uint8_t(rng() % 4);
      const bool want = matches(e, k);
      const Key4 k4 = make_key4((k.src_hi & 0xffffffff00000000ull) | (k.dst_hi >> 32),
                                k.proto | uint32_t{k.icmp_type} << 8 | uint32_t{k.icmp_code} << 16, k.sport, k.dport);
      const bool got = matches4(l, k4);
      if (got != want && ++bad <= 5) {
        FAIL_CHECK("entry " << i << " sport " << k.sport << " in [" << e.sport_lo << "+" << e.sport_span << "] dport "
                            << k.dport << " in [" << e.dport_lo << "+" << e.dport_span << "]: got " << got);
      }
      (want ? hits : misses)++;
    }
  }
  CHECK(bad == 0);
  // Both outcomes well represented, so the comparison means something either way.
  CHECK(hits > 20000);
  CHECK(misses > 20000);
}
