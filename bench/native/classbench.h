// ClassBench-style rule sets and header traces for the classification benchmark (after Taylor
// and Turner, "ClassBench: a packet classification benchmark", 2005), written for sgfw's table.
//
// A profile gives, as ClassBench's seed files do, the distributions a real filter set shows:
// protocol mix, the joint (source, destination) prefix-length mix, and per port field the port
// class mix: WC (any), HI (1024-65535), LO (0-1023), AR (an arbitrary range), EM (one port).
// Addresses nest as in ClassBench's trie model: with probability `nest` a new prefix extends a
// prefix already in the set (so rules overlap and shadow one another), otherwise it extends one
// of a few dozen base networks. ~15 % of the rules are IPv6 (the same model in 128 bits).
//
// Headers (ClassBench's trace generator): most packets pick a rule, with a Pareto skew towards
// a few hot rules, and a random point of its 5-tuple box; the rest are random headers drawn near
// the base networks, which walk the tree deep and mostly fall through to the closing default.
// Deterministic for a seed. Table-building goes through test/native/table_blob_builder.h.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/packet_meta.h"
#include "table_blob_builder.h"

namespace sgfw::bench {

using test::Addr16;
using test::BEntry;

enum PortClass : uint8_t { kWc, kHi, kLo, kAr, kEm };

struct Weighted {
  double w;
  uint32_t lo, hi;  // a value drawn uniformly in [lo, hi]
};

struct Profile {
  const char* name;
  // Protocol weights: TCP, UDP, ICMP (ICMPv6 for v6), any, other (GRE, ESP, random).
  double proto[5];
  // Prefix-length buckets (IPv4 lengths; IPv6 scales them by 4 up to 128).
  std::vector<Weighted> src_len, dst_len;
  // Port class weights, indexed by PortClass.
  double sport[5], dport[5];
  double nest;      // chance a prefix extends one already in the set
  double v6_share;  // share of IPv6 rules
  double accept;    // share of accept entries
};

// acl1-like: access lists of routers; destinations specific, source often wide, exact ports.
inline Profile acl_profile() {
  return {"acl",
          {0.62, 0.20, 0.08, 0.08, 0.02},
          {{0.28, 0, 0}, {0.10, 8, 16}, {0.24, 17, 24}, {0.10, 25, 31}, {0.28, 32, 32}},
          {{0.08, 0, 0}, {0.10, 16, 23}, {0.34, 24, 31}, {0.48, 32, 32}},
          {0.94, 0.03, 0.00, 0.01, 0.02},
          {0.14, 0.07, 0.03, 0.14, 0.62},
          0.55, 0.15, 0.65};
}

// fw1-like: firewall sets; many wildcards, port ranges, more "any protocol".
inline Profile fw_profile() {
  return {"fw",
          {0.48, 0.24, 0.06, 0.20, 0.02},
          {{0.38, 0, 0}, {0.14, 8, 16}, {0.20, 17, 24}, {0.06, 25, 31}, {0.22, 32, 32}},
          {{0.20, 0, 0}, {0.12, 8, 16}, {0.30, 17, 24}, {0.38, 32, 32}},
          {0.72, 0.14, 0.02, 0.08, 0.04},
          {0.28, 0.10, 0.04, 0.20, 0.38},
          0.45, 0.15, 0.55};
}

struct ClassBench {
  std::mt19937_64 rng;
  Profile p;
  std::vector<Addr16> base4, base6;
  std::vector<std::pair<Addr16, uint8_t>> made4, made6;  // prefixes in the set, for nesting

  ClassBench(const Profile& prof, uint64_t seed) : rng(seed), p(prof) {
    for (int i = 0; i < 48; i++) {
      Addr16 a{};
      for (int k = 0; k < 4; k++) a[k] = uint8_t(rng());
      base4.push_back(a);
      Addr16 b{};
      b[0] = 0x20, b[1] = 0x01, b[2] = 0x0d, b[3] = 0xb8;
      for (int k = 4; k < 16; k++) b[k] = uint8_t(rng());
      base6.push_back(b);
    }
  }

  uint32_t below(uint32_t n) { return n == 0 ? 0 : uint32_t(rng() % n); }
  double unit() { return double(rng() >> 11) * 0x1.0p-53; }
  bool chance(double pr) { return unit() < pr; }
  template <size_t N>
  uint32_t pick(const double (&w)[N]) {
    double s = 0;
    for (double x : w) s += x;
    double r = unit() * s;
    for (uint32_t i = 0; i < N; i++) {
      if (r < w[i]) return i;
      r -= w[i];
    }
    return N - 1;
  }
  uint32_t pick_len(const std::vector<Weighted>& v) {
    double s = 0;
    for (const auto& x : v) s += x.w;
    double r = unit() * s;
    for (const auto& x : v) {
      if (r < x.w) return x.lo + below(x.hi - x.lo + 1);
      r -= x.w;
    }
    return v.back().hi;
  }

  static void mask_to(Addr16& a, uint32_t len) {
    for (uint32_t i = 0; i < 16; i++) {
      const uint32_t keep = len >= 8 * (i + 1) ? 8 : len > 8 * i ? len - 8 * i : 0;
      a[i] &= keep == 8 ? 0xff : uint8_t(0xff00 >> keep);
    }
  }
  void randomize_below(Addr16& a, uint32_t from, uint32_t max) {
    for (uint32_t bit = from; bit < max; bit++) {
      if (chance(0.5)) a[bit / 8] ^= uint8_t(0x80 >> (bit % 8));
    }
  }

  // A prefix of IPv4-scale length len4 in the family, nested under an existing one when drawn.
  void prefix(uint8_t family, uint32_t len4, Addr16& out, uint8_t& len) {
    const bool v4 = family == 4;
    const uint32_t max = v4 ? 32 : 128;
    uint32_t l = v4 ? len4 : (len4 == 32 ? 128 : len4 == 0 ? 0 : std::min<uint32_t>(127, 16 + len4 * 3));
    auto& made = v4 ? made4 : made6;
    out = {};
    if (l == 0) {
      len = 0;
      return;
    }
    bool nested = false;
    if (!made.empty() && chance(p.nest)) {
      // A parent at most as long as l: a few tries, ClassBench's trie walk in miniature.
      for (int t = 0; t < 4 && !nested; t++) {
        const auto& [pa, pl] = made[below(uint32_t(made.size()))];
        if (pl <= l) {
          out = pa;
          randomize_below(out, pl, max);
          nested = true;
        }
      }
    }
    if (!nested) {
      out = (v4 ? base4 : base6)[below(48)];
      randomize_below(out, v4 ? 10 + below(6) : 36 + below(12), max);
    }
    mask_to(out, l);
    len = uint8_t(l);
    made.push_back({out, len});
  }

  void ports(const double (&w)[5], uint16_t& lo, uint16_t& hi) {
    static constexpr uint16_t kCommon[] = {20, 21, 22, 23, 25, 53, 80, 110, 123, 143, 161, 389, 443, 445, 514,
                                           636, 993, 995, 1433, 1521, 3306, 3389, 5432, 6379, 8080, 8443};
    switch (pick(w)) {
      case kWc: lo = 0, hi = 65535; break;
      case kHi: lo = 1024, hi = 65535; break;
      case kLo: lo = 0, hi = 1023; break;
      case kAr: lo = uint16_t(below(60000)), hi = uint16_t(std::min<uint32_t>(65535, lo + 1 + below(4000))); break;
      default: lo = hi = chance(0.7) ? kCommon[below(sizeof kCommon / sizeof kCommon[0])] : uint16_t(below(65536));
    }
  }

  BEntry entry(uint32_t rule) {
    BEntry e;
    e.rule = rule;
    e.action = uint8_t(chance(p.accept));
    e.family = chance(p.v6_share) ? 6 : 4;
    const uint32_t sl = pick_len(p.src_len), dl = pick_len(p.dst_len);
    prefix(e.family, sl, e.src, e.src_len);
    prefix(e.family, dl, e.dst, e.dst_len);
    if (e.src_len == 0 && e.dst_len == 0) prefix(e.family, 24, e.src, e.src_len);  // no any-any: it shadows all
    const uint8_t icmp = e.family == 6 ? kProtoIcmpv6 : kProtoIcmp;
    switch (pick(p.proto)) {
      case 0: e.proto = kProtoTcp; break;
      case 1: e.proto = kProtoUdp; break;
      case 2: e.proto = icmp; break;
      case 3: e.proto = 0, e.flags |= table::kFlagProtoAny; break;
      default: e.proto = chance(0.5) ? kProtoGre : uint8_t(50 + below(2));  // GRE, ESP, AH
    }
    if (e.proto == kProtoTcp || e.proto == kProtoUdp) {
      ports(p.sport, e.sport_lo, e.sport_hi);
      ports(p.dport, e.dport_lo, e.dport_hi);
    } else if (e.proto == icmp) {
      static constexpr uint8_t kTypes4[] = {0, 3, 8, 11}, kTypes6[] = {1, 2, 3, 128, 129};
      e.icmp_type = e.family == 4 ? kTypes4[below(4)] : kTypes6[below(5)];
      if (chance(0.4)) e.flags |= table::kFlagIcmpTypeAny;
      e.flags |= table::kFlagIcmpCodeAny;
    }
    return e;
  }

  // n entries: n-1 drawn, then the closing family-any default drop every run ends with.
  std::vector<BEntry> run(uint32_t n, uint32_t first_rule) {
    std::vector<BEntry> out;
    for (uint32_t i = 0; i + 1 < n; i++) out.push_back(entry(first_rule + i));
    BEntry d;
    d.rule = first_rule + n - 1;
    d.action = 0;
    d.reason = 1;
    d.family = 0;
    d.proto = 0;
    d.flags = table::kFlagProtoAny;
    if (n > 0) out.push_back(d);
    return out;
  }

  // One interface with `n` ingress entries and a short egress run.
  test::BlobSpec table(uint32_t n) {
    test::BlobSpec s;
    test::BIface f;
    f.name = std::string("eni-") + p.name;
    f.addrs.push_back({4, test::ip4(198, 18, 0, 2)});
    f.ingress = run(n, 0);
    f.egress = run(4, n);
    for (const auto* r : {&f.ingress, &f.egress}) {
      for (const BEntry& e : *r) s.rules.push_back({"r" + std::to_string(s.rules.size()), e.reason, e.action});
    }
    s.ifaces.push_back(std::move(f));
    return s;
  }

  void point_in(Addr16& out, const Addr16& base, uint8_t len, uint8_t family) {
    out = base;
    randomize_below(out, len, family == 4 ? 32 : 128);
  }

  // A header: a point in the box of a Pareto-chosen rule (90 %), else random near the bases.
  void header(const std::vector<BEntry>& run, Tuple& t, uint8_t& itype, uint8_t& icode) {
    t = Tuple{};
    itype = uint8_t(below(16));
    icode = 0;
    const uint32_t rules = uint32_t(run.size()) - 1;  // the default is not a target
    if (rules == 0 || chance(0.10)) {
      t.family = chance(0.85) ? 4 : 6;
      Addr16 a = (t.family == 4 ? base4 : base6)[below(48)];
      randomize_below(a, t.family == 4 ? 10 : 36, t.family == 4 ? 32 : 128);
      std::memcpy(t.src, a.data(), 16);
      a = (t.family == 4 ? base4 : base6)[below(48)];
      randomize_below(a, t.family == 4 ? 10 : 36, t.family == 4 ? 32 : 128);
      std::memcpy(t.dst, a.data(), 16);
      static constexpr uint8_t kP[] = {kProtoTcp, kProtoTcp, kProtoTcp, kProtoUdp, kProtoUdp, kProtoIcmp, kProtoGre};
      t.proto = kP[below(sizeof kP)];
      if (t.family == 6 && t.proto == kProtoIcmp) t.proto = kProtoIcmpv6;
      t.sport = uint16_t(1024 + below(64512));
      t.dport = chance(0.6) ? uint16_t(below(1024)) : uint16_t(below(65536));
      return;
    }
    // Pareto(a=1, b=0.1) rank, as ClassBench's locality of reference, folded onto the rules.
    const double u = std::max(unit(), 1e-9);
    const uint32_t rank = uint32_t(std::fmod(0.1 / u * 7.0, double(rules)));
    const BEntry& e = run[(rank * 2654435761u) % rules];
    t.family = e.family;
    Addr16 a;
    point_in(a, e.src, e.src_len, t.family);
    std::memcpy(t.src, a.data(), 16);
    point_in(a, e.dst, e.dst_len, t.family);
    std::memcpy(t.dst, a.data(), 16);
    if (e.flags & table::kFlagProtoAny) {
      static constexpr uint8_t kP[] = {kProtoTcp, kProtoUdp, kProtoGre};
      t.proto = kP[below(3)];
    } else {
      t.proto = e.proto;
    }
    auto in = [&](uint16_t lo, uint16_t hi) { return uint16_t(lo + below(uint32_t(hi - lo) + 1)); };
    if (t.proto == kProtoTcp || t.proto == kProtoUdp) {
      const bool ranged = e.proto == t.proto;
      t.sport = ranged ? in(e.sport_lo, e.sport_hi) : uint16_t(1024 + below(64512));
      t.dport = ranged ? in(e.dport_lo, e.dport_hi) : uint16_t(below(1024));
    }
    if (t.proto == kProtoIcmp || t.proto == kProtoIcmpv6) itype = (e.flags & table::kFlagIcmpTypeAny) ? itype : e.icmp_type;
  }
};

}  // namespace sgfw::bench
