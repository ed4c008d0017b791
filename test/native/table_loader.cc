// load_table(): accepts blobs built per format.h, rejects every corruption with a status
// and a message naming the field. Blobs come from table_blob_builder.h.
#define DOCTEST_CONFIG_NO_EXCEPTIONS_BUT_WITH_ALL_ASSERTS
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <string>

#include "core/crc32.h"
#include "table/loader.h"
#include "table_blob_builder.h"

using namespace sgfw;
using namespace sgfw::table;
using namespace sgfw::test;

namespace {

// Two interfaces, four rules, one of each kind of run (empty egress on eni-b).
BlobSpec base_spec() {
  BlobSpec s;
  s.cloud = 2;
  s.rules = {{"sg-1:ingress:0", 0, 1}, {"sg-1:egress:0", 0, 1}, {"default:ingress:drop", 1, 0},
             {"sg-2:ingress:0", 0, 1}};
  BIface a;
  a.name = "eni-a";
  a.nic_type = 1;
  a.addrs = {{4, ip4(10, 0, 0, 1)}, {6, ip6("2001:db8::1")}};
  BEntry ssh;  // tcp 22 from 192.168.0.0/16
  ssh.rule = 0;
  ssh.dport_lo = ssh.dport_hi = 22;
  ssh.src = ip4(192, 168, 0, 0);
  ssh.src_len = 16;
  ssh.priority = 7;
  ssh.flags = kFlagUntrackedTcp;
  BEntry deflt;
  deflt.rule = 2, deflt.action = 0, deflt.reason = 1, deflt.family = 0, deflt.proto = 0, deflt.flags = kFlagProtoAny;
  a.ingress = {ssh, deflt};
  BEntry out;
  out.rule = 1, out.family = 0, out.proto = 0, out.flags = kFlagProtoAny;
  a.egress = {out};
  BIface b;
  b.name = "eni-b";
  b.nic_type = 2;
  b.addrs = {{4, ip4(10, 0, 0, 2)}};
  BEntry ping;
  ping.rule = 3, ping.proto = kProtoIcmp, ping.icmp_type = 8, ping.flags = kFlagIcmpCodeAny;
  b.ingress = {ping};
  s.ifaces = {a, b};
  return s;
}

LoadResult load(const std::vector<uint8_t>& b, MatchTable& t, const LoadOptions& o = {}) {
  return load_table(b.data(), b.size(), t, o);
}

void put(std::vector<uint8_t>& b, size_t at, uint32_t len, uint32_t v) {
  for (uint32_t i = 0; i < len; i++) b[at + i] = uint8_t(v >> (8 * i));
}

// Writes v into field f of the record at `at`, fixes the crc, loads, and checks the result.
void expect_reject(std::vector<uint8_t> b, size_t at, Field f, uint32_t v, TableStatus st, const char* msg) {
  put(b, at + f.off, f.len, v);
  fix_crc(b);
  MatchTable t;
  LoadResult r = load(b, t);
  INFO("expected: " << std::string(msg) << " / got: " << r.message);
  CHECK(r.status == st);
  CHECK(r.message.find(msg) != std::string::npos);
}

size_t entry_at(const std::vector<uint8_t>& b, uint32_t e) {
  return offsets_of(b).entries + size_t{e} * (get32(b, header::kEntryRecordSize.off) & 0xffff);
}

}  // namespace

TEST_CASE("crc32 matches zlib") {
  const char* s = "123456789";
  CHECK(crc32(0, reinterpret_cast<const uint8_t*>(s), 9) == 0xCBF43926u);
  CHECK(crc32(0, nullptr, 0) == 0);
  // Continuation: crc of a split buffer equals crc of the whole.
  CHECK(crc32(crc32(0, reinterpret_cast<const uint8_t*>(s), 4), reinterpret_cast<const uint8_t*>(s) + 4, 5) ==
        0xCBF43926u);
}

TEST_CASE("load_table: a valid blob, read back") {
  std::vector<uint8_t> b = build_blob(base_spec());
  MatchTable t;
  LoadResult r = load(b, t);
  REQUIRE_MESSAGE(r.ok(), r.message);
  CHECK(t.cloud() == Cloud::Alibaba);
  REQUIRE(t.interface_count() == 2);
  CHECK(t.interface_name(0) == "eni-a");
  CHECK(t.interface_name(1) == "eni-b");
  CHECK(t.nic_type(0) == 1);
  CHECK(t.nic_type(1) == 2);
  REQUIRE(t.rule_count() == 4);
  CHECK(t.rule_id(2) == "default:ingress:drop");
  CHECK(t.rule_action(2) == Verdict::Drop);
  CHECK(t.rule_reason(2) == Reason::Default);
  CHECK(t.entry_count() == 4);
  CHECK(t.run_size(0, Direction::Ingress) == 2);
  CHECK(t.run_size(0, Direction::Egress) == 1);
  CHECK(t.run_size(1, Direction::Ingress) == 1);
  CHECK(t.run_size(1, Direction::Egress) == 0);
  CHECK(t.run_first(1, Direction::Ingress) == 3);
  CHECK(t.entry_rule(0) == 0);
  CHECK(t.entry_priority(0) == 7);
  CHECK(t.entry_flags(0) == kFlagUntrackedTcp);
  CHECK(t.entry_untracked(0, kProtoTcp));
  CHECK_FALSE(t.entry_untracked(0, kProtoUdp));
  CHECK(t.entry_action(1) == Verdict::Drop);
  CHECK(t.entry_reason(1) == Reason::Default);
  CHECK(t.conntrack().max_flows == 1000);
  CHECK(t.conntrack().timeout(TimeoutSlot::TcpEstablished) == 432000);
  CHECK(t.conntrack().timeout(TimeoutSlot::Fragment) == 30);
  CHECK(t.conntrack().max_fragments == 64);

  // Matching through the loaded table: should match entry 0 (tcp 22 from 192.168/16).
  Tuple p;
  p.family = 4, p.proto = kProtoTcp, p.sport = 40000, p.dport = 22;
  std::memcpy(p.src, ip4(192, 168, 3, 4).data(), 16);
  std::memcpy(p.dst, ip4(10, 0, 0, 1).data(), 16);
  CHECK(t.first_match(0, Direction::Ingress, p, 0, 0) == 0);
  p.dport = 23;  // should match 1 (default drop)
  CHECK(t.first_match(0, Direction::Ingress, p, 0, 0) == 1);
  CHECK(t.first_match(1, Direction::Egress, p, 0, 0) == -1);  // empty run
  p.proto = kProtoIcmp, p.sport = p.dport = 0;                // echo request: should match 3
  CHECK(t.first_match(1, Direction::Ingress, p, 8, 0) == 3);
  CHECK(t.first_match(1, Direction::Ingress, p, 0, 0) == -1);  // echo reply: no entry
}

TEST_CASE("find_interface") {
  BlobSpec s = base_spec();
  for (int i = 0; i < 300; i++) {  // enough addresses to wrap the hash's probes
    BIface f;
    f.name = "eni-x" + std::to_string(i);
    f.addrs = {{4, ip4(172, 16, uint8_t(i >> 8), uint8_t(i))}};
    s.ifaces.push_back(f);
  }
  std::vector<uint8_t> b = build_blob(s);
  MatchTable t;
  REQUIRE(load(b, t).ok());
  CHECK(t.find_interface(4, ip4(10, 0, 0, 1).data()) == 0);
  CHECK(t.find_interface(6, ip6("2001:db8::1").data()) == 0);
  CHECK(t.find_interface(4, ip4(10, 0, 0, 2).data()) == 1);
  CHECK(t.find_interface(4, ip4(10, 0, 0, 3).data()) == -1);
  CHECK(t.find_interface(6, ip4(10, 0, 0, 1).data()) == -1);  // family is part of the key
  CHECK(t.find_interface(6, ip6("2001:db8::2").data()) == -1);
  for (int i = 0; i < 300; i++) CHECK(t.find_interface(4, ip4(172, 16, uint8_t(i >> 8), uint8_t(i)).data()) == 2 + i);
  CHECK(t.interface_name(301) == "eni-x299");

  MatchTable empty;
  CHECK(empty.find_interface(4, ip4(10, 0, 0, 1).data()) == -1);
}

// IPv4 and IPv6 addresses live in two lookup tables (match_table.h); whichever a lookup uses,
// it must answer as a plain map would: for stored addresses, their neighbours, the same bytes
// under the other family, and random misses, with tables from one address to hundreds.
TEST_CASE("find_interface equals a map over random address sets") {
  uint64_t x = 0x9e3779b97f4a7c15ull;
  auto rnd = [&x]() {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    return x;
  };
  for (int round = 0; round < 60; round++) {
    const int n = 1 + static_cast<int>(rnd() % (round < 30 ? 8 : 400));
    std::map<std::pair<uint8_t, Addr16>, int> want;
    BlobSpec s = base_spec();
    s.ifaces.clear();
    BIface f;
    f.name = "eni-0";
    for (int i = 0; i < n; i++) {
      BAddr a;
      a.family = (rnd() % 3 == 0) ? 6 : 4;
      // Clustered (neighbouring addresses, one /24) or spread.
      const uint32_t v4 = (round % 2) ? 0xC6120000u + static_cast<uint32_t>(rnd() % 512) : static_cast<uint32_t>(rnd());
      a.addr = ip4(uint8_t(v4 >> 24), uint8_t(v4 >> 16), uint8_t(v4 >> 8), uint8_t(v4));
      if (a.family == 6)
        for (int b = 4; b < 16; b++) a.addr[b] = static_cast<uint8_t>(rnd());
      if (want.count({a.family, a.addr})) continue;
      want[{a.family, a.addr}] = static_cast<int>(f.addrs.size() % 3);  // spread over 3 interfaces
      f.addrs.push_back(a);
    }
    // Addresses go to interface (index % 3), as `want` says.
    std::vector<BIface> ifs(3);
    for (int i = 0; i < 3; i++) ifs[i].name = "eni-" + std::to_string(i);
    for (size_t i = 0; i < f.addrs.size(); i++) ifs[i % 3].addrs.push_back(f.addrs[i]);
    s.ifaces = ifs;
    std::vector<uint8_t> b = build_blob(s);
    MatchTable t;
    REQUIRE(load(b, t).ok());
    auto expect = [&](uint8_t fam, const Addr16& a) {
      auto it = want.find({fam, a});
      return it == want.end() ? -1 : it->second;
    };
    for (const auto& [k, iface] : want) {
      CHECK(t.find_interface(k.first, k.second.data()) == iface);
      Addr16 other = k.second;  // the same bytes as the other family
      if (k.first == 6) std::fill(other.begin() + 4, other.end(), uint8_t{0});
      const uint8_t other_fam = k.first == 4 ? 6 : 4;
      CHECK(t.find_interface(other_fam, other.data()) == expect(other_fam, other));
      // An IPv6 address asked as IPv4, tail and all: no IPv4 address has a non-zero tail.
      if (k.first == 6) CHECK(t.find_interface(4, k.second.data()) == expect(4, k.second));
      Addr16 next = k.second;  // the neighbour: last meaningful byte + 1
      next[k.first == 4 ? 3 : 15]++;
      CHECK(t.find_interface(k.first, next.data()) == expect(k.first, next));
    }
    for (int q = 0; q < 200; q++) {
      const uint32_t v4 = static_cast<uint32_t>(rnd());
      Addr16 a = ip4(uint8_t(v4 >> 24), uint8_t(v4 >> 16), uint8_t(v4 >> 8), uint8_t(v4));
      CHECK(t.find_interface(4, a.data()) == expect(4, a));
    }
  }
}

TEST_CASE("load_table honours larger header_len and entry_record_size") {
  BlobSpec s = base_spec();
  s.header_len = 96;
  s.entry_record_size = 72;  // trailing fields filled with 0xAA: ignored
  std::vector<uint8_t> b = build_blob(s);
  MatchTable t;
  LoadResult r = load(b, t);
  REQUIRE_MESSAGE(r.ok(), r.message);
  CHECK(t.entry_priority(0) == 7);
  CHECK(t.rule_id(3) == "sg-2:ingress:0");
  CHECK(t.entry_action(2) == Verdict::Accept);
}

TEST_CASE("load_table rejects every truncation and leaves `out` untouched") {
  std::vector<uint8_t> b = build_blob(base_spec());
  MatchTable t;
  REQUIRE(load(b, t).ok());
  for (size_t n = 0; n < b.size(); n++) {
    std::vector<uint8_t> cut(b.begin(), b.begin() + n);
    LoadResult r = load_table(cut.data(), cut.size(), t);
    CHECK_MESSAGE(r.status == TableStatus::Truncated, n << ": " << r.message);
  }
  CHECK(t.interface_count() == 2);  // the earlier good table is still there
  CHECK(load_table(nullptr, 0, t).status == TableStatus::Truncated);
  // A longer buffer than total_len is a layout error, not silently accepted.
  std::vector<uint8_t> longer = b;
  longer.push_back(0);
  CHECK(load(longer, t).status == TableStatus::BadLayout);
}

TEST_CASE("load_table rejects a bad checksum anywhere") {
  std::vector<uint8_t> b = build_blob(base_spec());
  MatchTable t;
  for (size_t i = 0; i < b.size(); i += 7) {
    if (i >= header::kCrc32.off && i < header::kSize) continue;
    std::vector<uint8_t> c = b;
    c[i] ^= 0x10;
    // Header fields checked before the crc may report first; beyond them it must be the crc.
    LoadResult r = load(c, t);
    CHECK(!r.ok());
    if (i >= header::kSize) CHECK_MESSAGE(r.status == TableStatus::BadChecksum, i << ": " << r.message);
  }
  std::vector<uint8_t> c = b;
  c[header::kCrc32.off] ^= 1;
  LoadResult r = load(c, t);
  CHECK(r.status == TableStatus::BadChecksum);
  CHECK(r.message.find("crc32") != std::string::npos);
}

TEST_CASE("load_table rejects bad header fields") {
  const std::vector<uint8_t> b = build_blob(base_spec());
  using TS = TableStatus;
  expect_reject(b, 0, header::kMagicField, 0x12345678, TS::BadMagic, "magic");
  expect_reject(b, 0, header::kVersion, 2, TS::BadVersion, "version 2");
  expect_reject(b, 0, header::kVersion, 0, TS::BadVersion, "version 0");
  expect_reject(b, 0, header::kHeaderLen, 63, TS::BadLayout, "header_len 63 < 64");
  expect_reject(b, 0, header::kHeaderLen, 4000, TS::BadLayout, "header_len 4000 > total_len");
  expect_reject(b, 0, header::kCloud, 3, TS::BadRecord, "cloud 3");
  expect_reject(b, 0, header::kFlags, 1, TS::BadRecord, "flags");
  expect_reject(b, 0, header::kEntryRecordSize, 63, TS::BadLayout, "entry_record_size 63 < 64");
  expect_reject(b, 0, header::kEntryRecordSize, 4096, TS::BadLayout, "entries section");
  expect_reject(b, 0, header::kTotalLen, uint32_t(b.size() + 8), TS::Truncated, "total_len");
  expect_reject(b, 0, header::kTotalLen, uint32_t(b.size() - 8), TS::BadLayout, "total_len");
  expect_reject(b, 0, header::kInterfaceCount, 3, TS::BadLayout, "overlaps");
  expect_reject(b, 0, header::kInterfaceCount, 0x08000000, TS::BadLayout, "interfaces section");
  expect_reject(b, 0, header::kInterfaceCount, 1, TS::BadRecord, "address_count");
  expect_reject(b, 0, header::kAddressCount, 2, TS::BadRecord, "beyond count 2");
  expect_reject(b, 0, header::kAddressCount, 0xffffffff, TS::BadLayout, "addresses section");
  expect_reject(b, 0, header::kEntryCount, 5, TS::BadLayout, "overlaps");
  expect_reject(b, 0, header::kEntryCount, 3, TS::BadRecord, "beyond count 3");
  expect_reject(b, 0, header::kRuleCount, 3, TS::BadRecord, "rule 3 >= rule_count 3");
  expect_reject(b, 0, header::kRuleCount, 0x40000000, TS::BadLayout, "rules section");
  expect_reject(b, 0, header::kStringsLen, 5, TS::BadRecord, "beyond strings_len 5");
  expect_reject(b, 0, header::kStringsLen, 10000, TS::BadLayout, "strings section");
  const BlobOffsets o = offsets_of(b);
  expect_reject(b, 0, header::kInterfacesOff, o.interfaces + 4, TS::BadLayout, "interfaces_off");
  expect_reject(b, 0, header::kInterfacesOff, 56, TS::BadLayout, "inside the header");
  expect_reject(b, 0, header::kAddressesOff, o.interfaces, TS::BadLayout, "overlaps");
  expect_reject(b, 0, header::kEntriesOff, o.rules, TS::BadLayout, "entries section");
  expect_reject(b, 0, header::kEntriesOff, o.addresses + 8, TS::BadLayout, "overlaps");
  expect_reject(b, 0, header::kRulesOff, 0xfffffff8, TS::BadLayout, "rules section");
  expect_reject(b, 0, header::kStringsOff, o.conntrack, TS::BadLayout, "overlaps");
  expect_reject(b, 0, header::kConntrackOff, uint32_t(b.size() & ~size_t{7}), TS::BadLayout, "conntrack section");
  expect_reject(b, 0, header::kConntrackOff, 0, TS::BadLayout, "inside the header");
}

TEST_CASE("load_table rejects bad interface, address and rule records") {
  const std::vector<uint8_t> b = build_blob(base_spec());
  const BlobOffsets o = offsets_of(b);
  using TS = TableStatus;
  const size_t if0 = o.interfaces, if1 = o.interfaces + kInterfaceRecordSize;
  expect_reject(b, if0, iface::kNameOff, 1000, TS::BadRecord, "interface 0: name");
  expect_reject(b, if1, iface::kNameLen, 1000, TS::BadRecord, "interface 1: name");
  expect_reject(b, if0, iface::kNicType, 3, TS::BadRecord, "interface 0: nic_type 3");
  expect_reject(b, if0, iface::kAddrFirst, 2, TS::BadRecord, "interface 0: addresses [2, +2) beyond count 3");
  expect_reject(b, if1, iface::kAddrFirst, 0, TS::BadRecord, "address 0: iface 0 but listed under interface 1");
  expect_reject(b, if0, iface::kAddrCount, 1, TS::BadRecord, "address_count");
  expect_reject(b, if0, iface::kIngressFirst, 3, TS::BadRecord, "interface 0: ingress entries");
  expect_reject(b, if0, iface::kIngressFirst, 1, TS::BadRecord, "entry 1");
  expect_reject(b, if0, iface::kIngressCount, 3, TS::BadRecord, "entry_count");
  expect_reject(b, if0, iface::kEgressFirst, 0xffffffff, TS::BadRecord, "egress entries");
  expect_reject(b, if1, iface::kIngressFirst, 0, TS::BadRecord, "in the run of interface 1 ingress");
  expect_reject(b, if1, iface::kEgressCount, 1, TS::BadRecord, "interface 1: egress entries [4, +1) beyond count 4");

  const size_t a0 = o.addresses, a1 = o.addresses + kAddressRecordSize, a2 = o.addresses + 2 * kAddressRecordSize;
  expect_reject(b, a0, address::kIface, 1, TS::BadRecord, "address 0: iface 1");
  expect_reject(b, a0, address::kFamily, 5, TS::BadRecord, "address 0: family 5");
  expect_reject(b, a1, address::kFamily, 4, TS::BadRecord, "address 1: IPv4 address with non-zero bytes");
  expect_reject(b, a2, Field{address::kAddr.off + 3, 1}, 1, TS::BadRecord, "address 2 duplicates address 0");

  const size_t r0 = o.rules, r2 = o.rules + 2 * kRuleRecordSize;
  expect_reject(b, r0, rule::kIdOff, 0xfffffff0, TS::BadRecord, "rule 0: id");
  expect_reject(b, r2, rule::kIdLen, 0xffff, TS::BadRecord, "rule 2: id");
  expect_reject(b, r0, rule::kReason, 2, TS::BadRecord, "rule 0: reason 2");
  expect_reject(b, r0, rule::kAction, 2, TS::BadRecord, "rule 0: action 2");
}

TEST_CASE("load_table rejects bad entry records") {
  const std::vector<uint8_t> b = build_blob(base_spec());
  using TS = TableStatus;
  const size_t e0 = entry_at(b, 0), e1 = entry_at(b, 1), e2 = entry_at(b, 2), e3 = entry_at(b, 3);
  expect_reject(b, e0, entry::kRule, 4, TS::BadRecord, "entry 0: rule 4 >= rule_count 4");
  expect_reject(b, e0, entry::kRule, 2, TS::BadRecord, "entry 0: action 1 != rule 2's action 0");
  expect_reject(b, e1, entry::kReason, 0, TS::BadRecord, "entry 1: reason 0 != rule 2's reason 1");
  expect_reject(b, e0, entry::kIface, 2, TS::BadRecord, "entry 0: iface 2 >= interface_count 2");
  expect_reject(b, e0, entry::kIface, 1, TS::BadRecord, "entry 0: iface 1 direction 0 but in the run of interface 0");
  expect_reject(b, e2, entry::kDirection, 0, TS::BadRecord, "entry 2: iface 0 direction 0");
  expect_reject(b, e0, entry::kDirection, 2, TS::BadRecord, "entry 0: direction 2");
  expect_reject(b, e0, entry::kAction, 2, TS::BadRecord, "entry 0: action 2");
  expect_reject(b, e0, entry::kReason, 3, TS::BadRecord, "entry 0: reason 3");
  expect_reject(b, e0, entry::kFamily, 5, TS::BadRecord, "entry 0: family 5");
  expect_reject(b, e0, entry::kFamily, 0, TS::BadRecord, "entry 0: src_len 16 > 0 for family any");
  expect_reject(b, e0, entry::kFlags, 0x20, TS::BadRecord, "entry 0: flags 0x20");
  expect_reject(b, e0, entry::kSrcLen, 40, TS::BadRecord, "entry 0: src_len 40 > 32 for IPv4");
  expect_reject(b, e0, entry::kSrcLen, 8, TS::BadRecord, "entry 0: src address has bits set beyond /8");
  expect_reject(b, e0, entry::kDstLen, 33, TS::BadRecord, "entry 0: dst_len 33 > 32");
  expect_reject(b, e0, Field{entry::kSrc.off + 4, 1}, 1, TS::BadRecord, "src address has bits set beyond /16");
  expect_reject(b, e0, Field{entry::kDst.off + 15, 1}, 1, TS::BadRecord, "dst address has bits set beyond /0");
  std::vector<uint8_t> lo70 = b;
  put(lo70, e0 + entry::kSportLo.off, 2, 70);
  expect_reject(lo70, e0, entry::kSportHi, 69, TS::BadRecord, "entry 0: sport_lo 70 > sport_hi 69");
  expect_reject(b, e0, entry::kDportLo, 23, TS::BadRecord, "entry 0: dport_lo 23 > dport_hi 22");
  expect_reject(b, e0, entry::kOrder, 1, TS::BadRecord, "entry 0: order 1 != its position 0");
  expect_reject(b, e3, entry::kOrder, 0xffffffff, TS::BadRecord, "entry 3: order");
  // IPv6 entries take lengths up to 128, and not beyond.
  expect_reject(b, e0, entry::kFamily, 6, TS::Ok, "");  // 192.168/16 is a valid IPv6 prefix too
  std::vector<uint8_t> c = b;
  put(c, e0 + entry::kFamily.off, 1, 6);
  expect_reject(c, e0, entry::kSrcLen, 129, TS::BadRecord, "entry 0: src_len 129 > 128 for IPv6");
}

TEST_CASE("load_table survives random corruption (never trusts the blob)") {
  // Cheap in-test fuzz: flip bytes, fix the crc (or not), load; the sanitizer build
  // checks no out-of-bounds read happens on any path. Acceptance is possible
  // (priority bytes, names), so only "no crash, ok or a message" is asserted.
  const std::vector<uint8_t> b = build_blob(base_spec());
  uint64_t x = 88172645463325252ull;
  auto next = [&] { x ^= x << 13, x ^= x >> 7, x ^= x << 17; return x; };
  int rejected = 0;
  for (int i = 0; i < 20000; i++) {
    std::vector<uint8_t> c = b;
    int flips = 1 + int(next() % 4);
    for (int k = 0; k < flips; k++) c[next() % c.size()] ^= uint8_t(1 + next() % 255);
    if (next() % 8 != 0) fix_crc(c);
    MatchTable t;
    LoadResult r = load(c, t, {ClassifierChoice::Tree});
    if (!r.ok()) {
      rejected++;
      CHECK(!r.message.empty());
    } else {
      // Whatever loaded must be usable.
      for (uint32_t i2 = 0; i2 < t.interface_count(); i2++) {
        Tuple p;
        p.family = 4, p.proto = 6;
        (void)t.first_match(i2, Direction::Ingress, p, 0, 0);
        (void)t.first_match(i2, Direction::Egress, p, 0, 0);
        (void)t.interface_name(i2);
      }
      for (uint32_t r2 = 0; r2 < t.rule_count(); r2++) (void)t.rule_id(r2);
    }
  }
  CHECK(rejected > 15000);
}
