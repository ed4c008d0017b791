// The IPv6 leaf test (matches6 on a Leaf6, SSE2 where built with it) against the full entry
// test (matches on the HotEntry it was made from), on random IPv6 and family-any entries and
// IPv6 packets on and beside every edge: prefix bounds in both address halves (prefixes
// shorter and longer than 64 bits), port range ends and their neighbours, protocol and ICMPv6
// type/code masks.
#define DOCTEST_CONFIG_NO_EXCEPTIONS_BUT_WITH_ALL_ASSERTS
#include <doctest/doctest.h>

#include <random>

#include "leaf_edges.h"
#include "table/classifier.h"

using namespace sgfw;
using namespace sgfw::table::detail;

namespace {

struct Prefix {
  uint64_t hi, lo, mask_hi, mask_lo;
};

// A /len prefix as the loader stores it: the 128-bit address as (hi, lo), masks contiguous.
Prefix random_prefix(std::mt19937_64& rng) {
  const uint32_t len = uint32_t(rng() % 129);
  Prefix p{};
  p.mask_hi = len == 0 ? 0 : len >= 64 ? ~uint64_t{0} : ~uint64_t{0} << (64 - len);
  p.mask_lo = len <= 64 ? 0 : ~uint64_t{0} << (128 - len);
  p.hi = (0x2001'0db8'0000'0000ull | (rng() & 0xffff'ffff)) & p.mask_hi;
  p.lo = rng() & p.mask_lo;
  return p;
}

HotEntry random_entry(std::mt19937_64& rng) {
  HotEntry e{};
  if (rng() % 8) {  // family 6; else family any (no address test), as a closing rule is
    const Prefix s = random_prefix(rng), d = random_prefix(rng);
    e.src_hi = s.hi, e.src_lo = s.lo, e.src_mask_hi = s.mask_hi, e.src_mask_lo = s.mask_lo;
    e.dst_hi = d.hi, e.dst_lo = d.lo, e.dst_mask_hi = d.mask_hi, e.dst_mask_lo = d.mask_lo;
    e.family_mask = 0xff, e.family = 6;
  }
  test::random_small_fields(rng, e, 58, 128, 8);
  return e;
}

// An address inside the prefix (its first, its last, anywhere) or one bit outside it.
void near_prefix(std::mt19937_64& rng, uint64_t hi, uint64_t lo, uint64_t mhi, uint64_t mlo, uint64_t& ohi, uint64_t& olo) {
  ohi = hi | (rng() & ~mhi), olo = lo | (rng() & ~mlo);
  switch (rng() % 4) {
    case 0: ohi = hi, olo = lo; break;
    case 1: ohi = hi | ~mhi, olo = lo | ~mlo; break;
    case 2: {
      const uint32_t bit = uint32_t(rng() % 128);
      (bit < 64 ? ohi : olo) ^= uint64_t{1} << (63 - bit % 64);
      break;
    }
    default: break;
  }
}

void put_be64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = uint8_t(v >> (56 - 8 * i));
}

}  // namespace

TEST_CASE("matches6 on a Leaf6 == matches on its HotEntry (IPv6, every edge)") {
  std::mt19937_64 rng(20261128);
  uint64_t hits = 0, misses = 0, bad = 0;
  for (int i = 0; i < 4000; i++) {
    const HotEntry e = random_entry(rng);
    const Leaf6 l = leaf6_of(e);
    for (int j = 0; j < 64; j++) {
      Key k{};
      k.family = 6;
      near_prefix(rng, e.src_hi, e.src_lo, e.src_mask_hi, e.src_mask_lo, k.src_hi, k.src_lo);
      near_prefix(rng, e.dst_hi, e.dst_lo, e.dst_mask_hi, e.dst_mask_lo, k.dst_hi, k.dst_lo);
      k.sport = test::near_range(rng, e.sport_lo, e.sport_span);
      k.dport = test::near_range(rng, e.dport_lo, e.dport_span);
      k.proto = rng() % 4 ? e.proto : uint8_t(rng());
      k.icmp_type = rng() % 2 ? e.icmp_type : uint8_t(128 + rng() % 8);
      k.icmp_code = rng() % 2 ? e.icmp_code : uint8_t(rng() % 4);
      const bool want = matches(e, k);
      // The packet as the lookup holds it: a tuple in network byte order.
      Tuple t{};
      t.family = 6, t.proto = k.proto, t.sport = k.sport, t.dport = k.dport;
      put_be64(t.src, k.src_hi), put_be64(t.src + 8, k.src_lo);
      put_be64(t.dst, k.dst_hi), put_be64(t.dst + 8, k.dst_lo);
      // The lookup's Key4 for an IPv6 packet carries address bits in its address word: the
      // tail's zero mask must ignore them.
      const Key4 k4 = make_key4(rng(), k.proto | uint32_t{k.icmp_type} << 8 | uint32_t{k.icmp_code} << 16, k.sport, k.dport);
      const bool got = matches6(l, make_key6(t), k4);
      if (got != want && ++bad <= 5) {
        FAIL_CHECK("entry " << i << " src " << k.src_hi << "/" << k.src_lo << " dst " << k.dst_hi << "/" << k.dst_lo
                            << " sport " << k.sport << " dport " << k.dport << " proto " << int(k.proto) << ": got " << got);
      }
      (want ? hits : misses)++;
    }
  }
  CHECK(bad == 0);
  // Both outcomes well represented, so the comparison means something either way.
  CHECK(hits > 20000);
  CHECK(misses > 20000);
}
