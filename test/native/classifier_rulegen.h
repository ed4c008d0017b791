// ClassBench-like random entry runs and packets, shared by the classifier tests and
// bench/native/classify_bench.cc. Prefixes nest (drawn from a pool of networks, then
// lengthened), ports mix exact well-known ports, ranges and any, protocols mix TCP, UDP,
// ICMP/ICMPv6, any and others; a family-any default drop closes every run.
#pragma once
#include <cstdint>
#include <random>
#include <vector>

#include "core/packet_meta.h"
#include "table_blob_builder.h"

namespace sgfw::test {

struct RuleGen {
  std::mt19937_64 rng;
  std::vector<Addr16> pool4, pool6;

  explicit RuleGen(uint64_t seed) : rng(seed) {
    for (int i = 0; i < 64; i++) {
      Addr16 a{};
      for (int k = 0; k < 4; k++) a[k] = uint8_t(rng());
      pool4.push_back(a);
      Addr16 b{};
      b[0] = 0x20, b[1] = 0x01;
      for (int k = 2; k < 16; k++) b[k] = uint8_t(rng());
      pool6.push_back(b);
    }
  }
  uint32_t below(uint32_t n) { return uint32_t(rng() % n); }
  bool chance(uint32_t pct) { return below(100) < pct; }

  static void mask_to(Addr16& a, uint32_t len) {
    for (uint32_t i = 0; i < 16; i++) {
      uint32_t keep = len >= 8 * (i + 1) ? 8 : len > 8 * i ? len - 8 * i : 0;
      a[i] &= keep == 8 ? 0xff : uint8_t(0xff00 >> keep);
    }
  }
  // A prefix near one of the pool's networks (so that prefixes nest and overlap).
  void prefix(uint8_t family, Addr16& out, uint8_t& len) {
    if (family == 0) {
      out = {};
      len = 0;
      return;
    }
    const bool v4 = family == 4;
    const uint32_t max = v4 ? 32 : 128;
    uint32_t r = below(100), l;
    if (r < 3) l = 0;
    else if (r < 30) l = v4 ? 8 + below(9) : 16 + below(33);
    else if (r < 60) l = v4 ? 17 + below(8) : 49 + below(16);
    else if (r < 75) l = v4 ? 25 + below(7) : 65 + below(63);
    else l = max;
    out = (v4 ? pool4 : pool6)[below(64)];
    // Vary the bits below a pool-specific depth so siblings share their upper bits.
    const uint32_t fixed = v4 ? 12 + below(8) : 40 + below(20);
    for (uint32_t bit = fixed; bit < max; bit++) {
      if (chance(50)) out[bit / 8] ^= uint8_t(0x80 >> (bit % 8));
    }
    mask_to(out, l);
    len = uint8_t(l);
  }
  void ports(uint16_t& lo, uint16_t& hi, bool is_dst) {
    static constexpr uint16_t kWellKnown[] = {20, 21, 22, 23, 25, 53, 80, 110, 123, 143, 161, 389, 443, 445,
                                              514, 636, 993, 995, 1433, 1521, 3306, 3389, 5432, 6379, 8080, 8443};
    uint32_t r = below(100);
    if (!is_dst) r = r < 80 ? 99 : r;  // source ports: mostly any
    if (r < 50) {
      lo = hi = kWellKnown[below(sizeof kWellKnown / sizeof kWellKnown[0])];
    } else if (r < 62) {
      lo = uint16_t(below(65536));
      hi = uint16_t(std::min<uint32_t>(65535, lo + below(2000)));
    } else if (r < 70) {
      lo = 1024, hi = 65535;
    } else if (r < 75) {
      lo = hi = uint16_t(below(65536));
    } else {
      lo = 0, hi = 65535;
    }
  }

  BEntry entry(uint32_t rule_ix) {
    BEntry e;
    e.rule = rule_ix;
    e.action = uint8_t(chance(70));
    uint32_t f = below(100);
    e.family = f < 82 ? 4 : f < 99 ? 6 : 0;
    prefix(e.family, e.src, e.src_len);
    if (chance(60)) {
      e.dst = {};
      e.dst_len = 0;
    } else {
      prefix(e.family, e.dst, e.dst_len);
    }
    uint32_t p = below(100);
    const uint8_t icmp = e.family == 6 ? kProtoIcmpv6 : kProtoIcmp;
    if (p < 45) e.proto = kProtoTcp;
    else if (p < 70) e.proto = kProtoUdp;
    else if (p < 85) e.proto = icmp;
    else if (p < 88) e.proto = 0, e.flags |= table::kFlagProtoAny;
    else if (p < 94) e.proto = kProtoGre;
    else e.proto = uint8_t(below(256));
    if (e.family == 0) {  // address-any entries (a protocol from anywhere): keep them narrow
      e.proto = chance(30) ? (chance(50) ? kProtoIcmp : kProtoIcmpv6) : kProtoTcp;  // icmp fields unchecked
      e.flags &= uint8_t(~table::kFlagProtoAny);
    }
    if (e.proto == kProtoTcp || e.proto == kProtoUdp) {
      ports(e.dport_lo, e.dport_hi, true);
      ports(e.sport_lo, e.sport_hi, false);
      if (e.family == 0) e.dport_hi = e.dport_lo;
    }
    if (e.proto == kProtoIcmp || e.proto == kProtoIcmpv6) {
      uint32_t r = below(100);
      e.icmp_type = uint8_t(chance(50) ? below(20) : below(256));
      e.icmp_code = uint8_t(below(5));
      if (r < 30) e.flags |= table::kFlagIcmpTypeAny | table::kFlagIcmpCodeAny;
      else if (r < 70) e.flags |= table::kFlagIcmpCodeAny;
    }
    // Only the closing default is wide open: an any-to-any entry shadows everything after it,
    // which real rule sets avoid (and which would let the linear scan stop early).
    if (e.family != 0 && e.src_len == 0 && e.dst_len == 0) {
      e.src_len = uint8_t(e.family == 4 ? 24 : 64);
      e.src = (e.family == 4 ? pool4 : pool6)[below(64)];
      mask_to(e.src, e.src_len);
    }
    if (chance(5)) e.flags |= table::kFlagUntrackedTcp;
    if (chance(5)) e.flags |= table::kFlagUntrackedUdp;
    return e;
  }

  // A run of n entries: n-1 random ones and a closing family-any default drop.
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

  // An address inside (or at / just past an edge of) a prefix.
  void addr_near(Addr16& out, const Addr16& base, uint8_t len, uint8_t family) {
    const uint32_t max = family == 4 ? 32 : 128;
    out = base;
    uint32_t r = below(100);
    for (uint32_t bit = len; bit < max; bit++) {  // r<40: random host; <60: first; <80: last
      bool set = r < 40 ? chance(50) : r >= 60;
      if (set) out[bit / 8] |= uint8_t(0x80 >> (bit % 8));
    }
    if (r >= 80 && len > 0) out[(len - 1) / 8] ^= uint8_t(0x80 >> ((len - 1) % 8));  // just outside
  }
  uint16_t port_near(uint16_t lo, uint16_t hi) {
    switch (below(6)) {
      case 0: return lo;
      case 1: return hi;
      case 2: return uint16_t(lo - 1);
      case 3: return uint16_t(hi + 1);
      case 4: return uint16_t(lo + below(uint32_t(hi - lo) + 1));
      default: return uint16_t(below(65536));
    }
  }

  // A packet aimed at entry e (edges included), or a random one when e is null.
  void packet(const BEntry* e, Tuple& t, uint8_t& itype, uint8_t& icode) {
    t = Tuple{};
    if (e == nullptr || (e->family == 0 && e->src_len == 0 && chance(50))) {
      t.family = chance(75) ? 4 : 6;
      Addr16 z{};
      uint8_t l;
      prefix(t.family, z, l);
      addr_near(z, z, l, t.family);
      std::memcpy(t.src, z.data(), 16);
      prefix(t.family, z, l);
      addr_near(z, z, l, t.family);
      std::memcpy(t.dst, z.data(), 16);
      static constexpr uint8_t kProtos[] = {kProtoTcp, kProtoUdp, kProtoIcmp, kProtoIcmpv6, kProtoGre, 0, 255};
      t.proto = kProtos[below(sizeof kProtos)];
      t.sport = uint16_t(below(65536));
      t.dport = chance(50) ? uint16_t(below(1024)) : uint16_t(below(65536));
      itype = uint8_t(below(20));
      icode = uint8_t(below(5));
      if (e == nullptr) return;
    }
    if (e->family != 0) t.family = chance(95) ? e->family : (e->family == 4 ? 6 : 4);
    if (t.family == 0) t.family = 4;
    Addr16 a;
    if (e->family == t.family) {
      addr_near(a, e->src, e->src_len, t.family);
      std::memcpy(t.src, a.data(), 16);
      addr_near(a, e->dst, e->dst_len, t.family);
      std::memcpy(t.dst, a.data(), 16);
    }
    t.proto = (e->flags & table::kFlagProtoAny) || chance(5) ? uint8_t(below(256)) : e->proto;
    t.sport = port_near(e->sport_lo, e->sport_hi);
    t.dport = port_near(e->dport_lo, e->dport_hi);
    itype = chance(85) ? e->icmp_type : uint8_t(below(256));
    icode = chance(85) ? e->icmp_code : uint8_t(below(256));
  }
};

// One interface holding `n` ingress entries (and a few egress), one rule per entry.
inline BlobSpec random_table(RuleGen& g, uint32_t n_ingress, uint32_t n_egress) {
  BlobSpec s;
  BIface f;
  f.name = "eni-bench";
  f.addrs.push_back({4, ip4(10, 0, 0, 1)});
  f.ingress = g.run(n_ingress, 0);
  f.egress = g.run(n_egress, n_ingress);
  for (const auto* run : {&f.ingress, &f.egress}) {
    for (const BEntry& e : *run) s.rules.push_back({"r" + std::to_string(s.rules.size()), e.reason, e.action});
  }
  s.ifaces.push_back(std::move(f));
  return s;
}

}  // namespace sgfw::test
