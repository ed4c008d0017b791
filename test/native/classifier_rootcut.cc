// Root cuts (classifier.h, Part): a partition's walk starts at roots[key[dim] >> shift & mask],
// one tree per slice of a field's bits. Against the linear reference at the edges of every
// slice and of every entry's range: on a field's top bits (a slice is an interval, its tree is
// built for it) and on a window below the bits all entries share (IPv6 under one /32: keys
// from outside the prefix land in the slices too, so those trees hold every entry the window
// bits allow, and entries too wide for one period of the window go to every slice).
#define DOCTEST_CONFIG_NO_EXCEPTIONS_BUT_WITH_ALL_ASSERTS
#include <doctest/doctest.h>

#include <vector>

#include "classifier_check.h"
#include "classifier_rulegen.h"
#include "table/loader.h"

using namespace sgfw;
using namespace sgfw::table;
using namespace sgfw::test;

namespace {

// Bit b (0 = most significant) of a 16-byte address, set or cleared.
void set_bit(Addr16& a, uint32_t b, bool v) {
  const uint8_t m = uint8_t(0x80 >> (b % 8));
  a[b / 8] = v ? uint8_t(a[b / 8] | m) : uint8_t(a[b / 8] & ~m);
}

// The address `a` plus `d` (-1 or +1) as a 128-bit number (wrapping).
Addr16 step(Addr16 a, int d) {
  for (int i = 15; i >= 0; i--) {
    const uint8_t before = a[i];
    a[i] = uint8_t(a[i] + d);
    if ((d > 0 && a[i] > before) || (d < 0 && a[i] < before)) break;
  }
  return a;
}

// The last address of prefix (a, len) in a family of `bits` bits.
Addr16 last_of(Addr16 a, uint32_t len, uint32_t bits) {
  for (uint32_t b = len; b < bits; b++) set_bit(a, b, true);
  return a;
}

// Packets at and next to both edges of every entry's source and destination ranges, and at the
// edges of every slice of the top `slice_bits` bits after `skip` shared ones (window cuts),
// each with the ports and protocol of a random entry (so the rest of the entry can match).
std::vector<Pkt> edge_packets(RuleGen& g, const std::vector<BEntry>& run, uint8_t family, uint32_t skip,
                              const Addr16& shared) {
  const uint32_t bits = family == 4 ? 32 : 128;
  std::vector<Pkt> ps;
  auto add = [&](const Addr16& src, const Addr16& dst) {
    Pkt p;
    const BEntry& e = run[g.below(uint32_t(run.size()))];
    g.packet(&e, p.t, p.it, p.ic);
    p.t.family = family;
    std::memcpy(p.t.src, src.data(), 16);
    std::memcpy(p.t.dst, dst.data(), 16);
    if (family == 4) std::memset(p.t.src + 4, 0, 12), std::memset(p.t.dst + 4, 0, 12);
    ps.push_back(p);
  };
  auto other = [&](const BEntry& e, bool src) {  // the other address: inside the entry's
    const Addr16& base = src ? e.dst : e.src;
    const uint8_t len = src ? e.dst_len : e.src_len;
    Addr16 a = base;
    for (uint32_t b = len; b < bits; b++) set_bit(a, b, g.chance(50));
    return a;
  };
  for (const BEntry& e : run) {
    if (e.family != family) continue;
    for (int side = 0; side < 2; side++) {
      const bool src = side == 0;
      const Addr16 lo = src ? e.src : e.dst, hi = last_of(lo, src ? e.src_len : e.dst_len, bits);
      for (const Addr16& a : {lo, hi, step(lo, -1), step(hi, 1)}) {
        if (src) add(a, other(e, true));
        else add(other(e, false), a);
      }
    }
  }
  // Slice edges of every width up to 12 bits below the shared ones, inside the shared prefix
  // and outside it (the same window bits under another prefix).
  for (uint32_t k = 1; k <= 12; k++) {
    for (uint32_t j = 0; j < (1u << k); j += 1 + (1u << k) / 16) {
      for (int outside = 0; outside < 2; outside++) {
        Addr16 a = shared;
        if (outside) set_bit(a, skip > 0 ? skip - 1 : 0, !((a[0] >> 7) & 1));
        for (uint32_t b = 0; b < k; b++) set_bit(a, skip + b, (j >> (k - 1 - b)) & 1);
        for (uint32_t b = skip + k; b < bits; b++) set_bit(a, b, false);
        const Addr16 before = step(a, -1);
        const BEntry& e = run[g.below(uint32_t(run.size()))];
        add(a, e.family == family ? other(e, true) : a);
        add(before, e.family == family ? other(e, true) : before);
        add(e.family == family ? other(e, false) : a, a);
        add(e.family == family ? other(e, false) : before, before);
      }
    }
  }
  return ps;
}

}  // namespace

TEST_CASE("root cuts on the top bits of an address == linear at every slice and range edge") {
  uint64_t bad = 0, lookups = 0, matched = 0;
  uint32_t with_top_cut = 0;
  for (uint32_t seed = 0; seed < 24; seed++) {
    CAPTURE(seed);
    RuleGen g(9100 + seed);
    const uint32_t n = 40 + seed * 37 % 900;
    std::vector<BEntry> run = g.run(n, 0);
    // Prefixes of every length, so that some end exactly at a slice edge and some span many.
    for (uint32_t i = 0; i + 1 < run.size(); i++) {
      BEntry& e = run[i];
      if (e.family != 4 || !g.chance(30)) continue;
      e.src_len = uint8_t(1 + g.below(32));
      RuleGen::mask_to(e.src, e.src_len);
    }
    const std::vector<uint8_t> blob = single_run_blob("eni-topcut", run);
    MatchTable t;
    const LoadResult r = load_table(blob.data(), blob.size(), t, {ClassifierChoice::Tree});
    REQUIRE_MESSAGE(r.ok(), r.message);
    with_top_cut += t.tree_stats().top_cuts > 0;
    const std::vector<Pkt> ps = edge_packets(g, run, 4, 0, Addr16{});
    bad += disagreements(t, ps, &matched);
    lookups += ps.size();
  }
  CHECK(bad == 0);
  CHECK(with_top_cut >= 20);
  CHECK(matched > lookups / 10);
}

TEST_CASE("root cuts on a window below a shared IPv6 prefix == linear, inside and outside it") {
  uint64_t bad = 0, lookups = 0, matched = 0;
  uint32_t with_window_cut = 0;
  const Addr16 shared = {0x20, 0x01, 0x0d, 0xb8};  // 2001:db8::/32
  for (uint32_t seed = 0; seed < 24; seed++) {
    CAPTURE(seed);
    RuleGen g(9300 + seed);
    std::vector<BEntry> run;
    const uint32_t n = 30 + seed * 53 % 600;
    for (uint32_t i = 0; i < n; i++) {
      BEntry e = g.entry(i);
      e.family = 6;
      if (e.proto == kProtoIcmp) e.proto = kProtoIcmpv6;
      // Source under the shared /32 (its bits below drawn at random), of a length from the
      // /32 itself (one period of every window: all slices) to /128; a few any.
      e.src = shared;
      for (uint32_t b = 32; b < 128; b++) set_bit(e.src, b, g.chance(50));
      e.src_len = uint8_t(g.chance(5) ? 0 : 32 + g.below(97));
      RuleGen::mask_to(e.src, e.src_len);
      if (g.chance(50)) e.dst = {}, e.dst_len = 0;
      run.push_back(e);
    }
    BEntry d;
    d.family = 0, d.proto = 0, d.flags = table::kFlagProtoAny, d.reason = 1, d.rule = n;
    run.push_back(d);
    const std::vector<uint8_t> blob = single_run_blob("eni-window", run);
    MatchTable t;
    const LoadResult r = load_table(blob.data(), blob.size(), t, {ClassifierChoice::Tree});
    REQUIRE_MESSAGE(r.ok(), r.message);
    with_window_cut += t.tree_stats().window_cuts > 0;
    const std::vector<Pkt> ps = edge_packets(g, run, 6, 32, shared);
    bad += disagreements(t, ps, &matched);
    lookups += ps.size();
  }
  CHECK(bad == 0);
  CHECK(with_window_cut >= 20);
  CHECK(matched > lookups / 10);
}
