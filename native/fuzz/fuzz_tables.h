// The fixed tables the fuzzers run against, built as blobs with the loader-independent test
// builder (test/native/table_blob_builder.h). Their interfaces own the addresses of the byte
// fixtures (test/native/fixtures_wire.h) and of the hosts in ../shared/traces, so mutated
// frames get past `no-interface` into conntrack and the classifier.
//   kAwsA, kAwsB             AWS, same interfaces, B drops some rules (reload keeps flows)
//   kAlibabaA, kAlibabaB     Alibaba, same interfaces, B adds Drop rules (cuts flows)
//   (the B tables also number their rules in reverse, as a recompiled policy may)
//   kAlibabaC                Alibaba, one interface less (reload flushes flows)
// Every table has a run of >= kTreeMinEntries entries (tree classifier) and short runs (linear),
// a small conntrack (64 flows, 8 fragments) so that full tables, eviction and expiry happen.
#pragma once
#include <cstdint>
#include <vector>

#include "core/packet_meta.h"
#include "table/format.h"
#include "table_blob_builder.h"

namespace sgfw::fuzz {

enum TableId : int { kAwsA = 0, kAwsB = 1, kAlibabaA = 2, kAlibabaB = 3, kAlibabaC = 4 };
inline constexpr int kTableCount = 5;

namespace tables_detail {

using test::BEntry;
using test::BIface;
using test::BlobSpec;
using test::ip4;
using test::ip6;

// Rule indices (the B tables reverse them, see fuzz_table_spec).
enum Rule : uint32_t {
  kRWeb = 0, kRSsh, kRDns, kRIcmp, kRIcmp6, kRLanAll, kRPorts, kREgress, kRPlatformDns,
  kRDropTelnet, kRDropWeb, kRDropLan, kRDefaultIn, kRDefaultOut, kRuleCount
};

inline std::vector<test::BRule> rules() {
  // {id, reason, action}: reason 0 rule, 1 default, 4 platform; action 0 drop, 1 accept.
  return {{"sgr-web", 0, 1},        {"sgr-ssh", 0, 1},          {"sgr-dns", 0, 1},
          {"sgr-icmp", 0, 1},       {"sgr-icmp6", 0, 1},        {"sgr-lan-all", 0, 1},
          {"sgr-ports", 0, 1},      {"sgr-egress", 0, 1},       {"platform-dns", 4, 1},
          {"sgr-drop-telnet", 0, 0}, {"sgr-drop-web", 0, 0},    {"sgr-drop-lan", 0, 0},
          {"default:ingress", 1, 0}, {"default:egress", 1, 0}};
}

inline BEntry tcp_to(uint32_t rule, uint16_t lo, uint16_t hi, uint8_t family = 0) {
  BEntry e;
  e.rule = rule, e.family = family, e.proto = kProtoTcp, e.dport_lo = lo, e.dport_hi = hi;
  return e;
}
inline BEntry udp_to(uint32_t rule, uint16_t lo, uint16_t hi) {
  BEntry e;
  e.rule = rule, e.family = 0, e.proto = kProtoUdp, e.dport_lo = lo, e.dport_hi = hi;
  return e;
}
inline BEntry any_proto(uint32_t rule, uint8_t action, uint8_t reason, uint8_t extra_flags = 0) {
  BEntry e;
  e.rule = rule, e.action = action, e.reason = reason, e.family = 0, e.proto = 0;
  e.flags = table::kFlagProtoAny | extra_flags;
  return e;
}
inline BEntry from4(BEntry e, uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint8_t len) {
  e.family = 4, e.src = ip4(a, b, c, d), e.src_len = len;
  return e;
}
inline BEntry dropping(BEntry e) {
  e.action = 0;
  return e;
}

// The ingress run of every interface: the tree-sized run of eni-srv is `ports` plus these.
inline std::vector<BEntry> ingress_run(bool alibaba, int variant, bool big) {
  std::vector<BEntry> v;
  uint16_t prio = 1;
  auto add = [&](BEntry e) {
    if (alibaba) e.priority = prio++;
    v.push_back(e);
  };
  if (alibaba && variant == 1) {
    BEntry web = dropping(tcp_to(kRDropWeb, 80, 80));
    add(web);
    add(dropping(from4(any_proto(kRDropLan, 0, 0), 10, 10, 0, 0, 16)));
  }
  if (alibaba) add(dropping(tcp_to(kRDropTelnet, 23, 23)));
  if (!(variant == 1 && !alibaba)) add(tcp_to(kRWeb, 80, 80, 4));
  add(tcp_to(kRWeb, 443, 443));
  if (variant == 0) add(from4(tcp_to(kRSsh, 22, 22), 192, 0, 2, 0, 24));
  BEntry dns = udp_to(kRDns, 53, 53);
  if (!alibaba) dns.flags = table::kFlagUntrackedUdp;
  add(dns);
  BEntry ping;
  ping.rule = kRIcmp, ping.family = 4, ping.proto = kProtoIcmp, ping.icmp_type = 8;
  ping.flags = table::kFlagIcmpCodeAny;
  add(ping);
  BEntry unreach;
  unreach.rule = kRIcmp, unreach.family = 4, unreach.proto = kProtoIcmp, unreach.icmp_type = 3,
  unreach.icmp_code = 4;
  add(unreach);
  BEntry icmp6;
  icmp6.rule = kRIcmp6, icmp6.family = 6, icmp6.proto = kProtoIcmpv6;
  icmp6.flags = table::kFlagIcmpTypeAny | table::kFlagIcmpCodeAny;
  add(icmp6);
  add(from4(any_proto(kRLanAll, 1, 0, alibaba ? 0 : table::kFlagUntrackedTcp | table::kFlagUntrackedUdp),
            10, 0, 0, 0, 8));
  BEntry v6net = any_proto(kRLanAll, 1, 0);
  v6net.family = 6, v6net.src = ip6("2001:db8::"), v6net.src_len = 32;
  add(v6net);
  if (big) {
    for (uint16_t k = 0; k < 18; k++) {
      BEntry p = k % 3 == 2 ? udp_to(kRPorts, 1000 + 100 * k, 1049 + 100 * k)
                            : tcp_to(kRPorts, 1000 + 100 * k, 1049 + 100 * k);
      if (k % 4 == 1) {  // a few source prefixes of every length class
        static constexpr uint8_t kNet[4][5] = {{172, 16, 0, 0, 12}, {172, 17, 0, 0, 16},
                                               {172, 18, 5, 0, 24}, {172, 19, 5, 7, 32}};
        const uint8_t* n = kNet[(k / 4) % 4];
        p = from4(p, n[0], n[1], n[2], n[3], n[4]);
      }
      p.sport_lo = k % 5 == 0 ? 1024 : 0;
      add(p);
    }
  }
  add(any_proto(kRDefaultIn, 0, 1));
  return v;
}

inline std::vector<BEntry> egress_run(bool alibaba, bool open_untracked) {
  std::vector<BEntry> v;
  BEntry dns = udp_to(kRPlatformDns, 53, 53);
  dns.reason = 4, dns.family = 4, dns.dst = ip4(169, 254, 169, 253), dns.dst_len = 32;
  v.push_back(dns);
  if (alibaba) {
    BEntry telnet = dropping(tcp_to(kRDropTelnet, 23, 23));
    telnet.priority = 1;
    v.push_back(telnet);
  }
  uint8_t flags = open_untracked && !alibaba ? table::kFlagUntrackedTcp | table::kFlagUntrackedUdp : 0;
  BEntry all = any_proto(kREgress, 1, 0, flags);
  if (alibaba) all.priority = 100;
  v.push_back(all);
  v.push_back(any_proto(kRDefaultOut, 0, 1));
  return v;
}

}  // namespace tables_detail

inline test::BlobSpec fuzz_table_spec(int id) {
  using namespace tables_detail;
  const bool alibaba = id >= kAlibabaA;
  const int variant = id == kAwsB || id == kAlibabaB ? 1 : 0;
  test::BlobSpec s;
  s.cloud = alibaba ? static_cast<uint8_t>(table::Cloud::Alibaba) : static_cast<uint8_t>(table::Cloud::Aws);
  s.rules = rules();
  s.max_flows = 64;
  s.max_fragments = 8;
  struct If {
    const char* name;
    std::vector<test::BAddr> addrs;
  };
  const If ifs[] = {
      {"eni-doc", {{4, ip4(192, 0, 2, 10)}, {6, ip6("2001:db8::a")}, {6, ip6("2001:db8::10")}}},
      {"eni-srv", {{4, ip4(198, 51, 100, 5)}, {6, ip6("2001:db8:1::5")}, {4, ip4(192, 168, 10, 10)},
                   {4, ip4(10, 10, 1, 4)}, {4, ip4(66, 35, 250, 204)}}},
      {"eni-lan", {{4, ip4(192, 168, 123, 1)}, {4, ip4(172, 27, 1, 66)}, {4, ip4(2, 1, 1, 1)},
                   {4, ip4(1, 1, 1, 2)}, {4, ip4(2, 2, 2, 2)}, {6, ip6("fe80::beef")}, {6, ip6("::1")}}},
      {"eni-v6", {{6, ip6("2607:f740:b::f93")}, {6, ip6("2001:4f8:4:7:2e0:81ff:fe52:9a6b")},
                  {6, ip6("2001:470:e5bf:dead:4957:2174:e82c:4887")}, {4, ip4(74, 53, 140, 153)}}},
  };
  const int n_if = id == kAlibabaC ? 3 : 4;
  for (int i = 0; i < n_if; i++) {
    test::BIface f;
    f.name = ifs[i].name;
    f.nic_type = alibaba ? static_cast<uint8_t>(1 + i % 2) : 0;
    f.addrs = ifs[i].addrs;
    f.ingress = ingress_run(alibaba, variant, i == 1);
    if (i != 2) f.egress = egress_run(alibaba, i == 3);  // eni-lan: empty egress run
    s.ifaces.push_back(std::move(f));
  }
  if (variant == 1) {
    // The B tables list their rules in reverse: a reload renumbers every rule, so a decision
    // that carries a rule index across a reload names the wrong rule.
    std::vector<test::BRule> rev(s.rules.rbegin(), s.rules.rend());
    s.rules = rev;
    const uint32_t last = static_cast<uint32_t>(s.rules.size()) - 1;
    for (test::BIface& f : s.ifaces) {
      for (BEntry& e : f.ingress) e.rule = last - e.rule;
      for (BEntry& e : f.egress) e.rule = last - e.rule;
    }
  }
  return s;
}

inline std::vector<uint8_t> fuzz_table_blob(int id) { return test::build_blob(fuzz_table_spec(id)); }

}  // namespace sgfw::fuzz
