// Test helper: builds table blobs exactly per native/table/format.h (v1), independently of
// the loader, so loader tests can craft valid blobs and corrupt them field by field.
#pragma once
#include <arpa/inet.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/crc32.h"
#include "table/format.h"

namespace sgfw::test {

using Addr16 = std::array<uint8_t, 16>;

inline Addr16 ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  Addr16 r{};
  r[0] = a, r[1] = b, r[2] = c, r[3] = d;
  return r;
}
inline Addr16 ip6(const char* text) {
  Addr16 r{};
  inet_pton(AF_INET6, text, r.data());
  return r;
}

struct BEntry {
  uint32_t rule = 0;
  uint8_t action = 1, reason = 0, family = 4, proto = 6, flags = 0;
  uint16_t sport_lo = 0, sport_hi = 65535, dport_lo = 0, dport_hi = 65535;
  uint8_t icmp_type = 0, icmp_code = 0, src_len = 0, dst_len = 0;
  Addr16 src{}, dst{};
  uint16_t priority = 0;
};

struct BAddr {
  uint8_t family = 4;
  Addr16 addr{};
};

struct BIface {
  std::string name;
  uint8_t nic_type = 0;
  std::vector<BAddr> addrs;
  std::vector<BEntry> ingress, egress;
  // >= 0: this direction's run is stored once, as that earlier interface's run of the same
  // direction (format.h); the entries above are then not written.
  int shares[2] = {-1, -1};
};

struct BRule {
  std::string id;
  uint8_t reason = 0, action = 1;
};

struct BlobSpec {
  uint8_t cloud = 0;
  std::vector<BIface> ifaces;
  std::vector<BRule> rules;
  uint32_t max_flows = 1000;
  uint32_t timeouts[table::kTimeoutSlotCount] = {120, 60, 432000, 120, 60, 30, 120, 10, 30, 180, 30, 600, 30};
  uint32_t max_fragments = 64;
  uint16_t header_len = table::header::kSize;         // > 64: trailing header bytes a later version adds
  uint16_t entry_record_size = table::kEntryRecordSize;  // > 64: trailing entry fields, filled with 0xAA
};

namespace blob_detail {
inline void put8(std::vector<uint8_t>& b, size_t at, table::Field f, uint8_t v) { b[at + f.off] = v; }
inline void put16(std::vector<uint8_t>& b, size_t at, table::Field f, uint16_t v) {
  b[at + f.off] = v & 0xff;
  b[at + f.off + 1] = v >> 8;
}
inline void put32(std::vector<uint8_t>& b, size_t at, table::Field f, uint32_t v) {
  for (int i = 0; i < 4; i++) b[at + f.off + i] = (v >> (8 * i)) & 0xff;
}
inline uint32_t align8(uint64_t x) { return static_cast<uint32_t>((x + 7) & ~uint64_t{7}); }
}  // namespace blob_detail

inline uint32_t get32(const std::vector<uint8_t>& b, size_t at) {
  return b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (uint32_t{b[at + 3]} << 24);
}

// Recomputes the crc32 field (after a test has corrupted some other field on purpose).
inline void fix_crc(std::vector<uint8_t>& b) {
  using namespace table;
  blob_detail::put32(b, 0, header::kCrc32, 0);
  blob_detail::put32(b, 0, header::kCrc32, crc32(0, b.data(), b.size()));
}

// Section offsets as written in the header.
struct BlobOffsets {
  uint32_t interfaces, addresses, entries, rules, strings, conntrack;
};
inline BlobOffsets offsets_of(const std::vector<uint8_t>& b) {
  using namespace table;
  return {get32(b, header::kInterfacesOff.off), get32(b, header::kAddressesOff.off),
          get32(b, header::kEntriesOff.off),    get32(b, header::kRulesOff.off),
          get32(b, header::kStringsOff.off),    get32(b, header::kConntrackOff.off)};
}

inline std::vector<uint8_t> build_blob(const BlobSpec& s) {
  using namespace table;
  using namespace blob_detail;
  uint32_t n_addr = 0, n_ent = 0;
  std::string strings;
  std::vector<uint32_t> name_off, id_off;
  for (const BIface& f : s.ifaces) {
    n_addr += static_cast<uint32_t>(f.addrs.size());
    if (f.shares[0] < 0) n_ent += static_cast<uint32_t>(f.ingress.size());
    if (f.shares[1] < 0) n_ent += static_cast<uint32_t>(f.egress.size());
    name_off.push_back(static_cast<uint32_t>(strings.size()));
    strings += f.name;
  }
  for (const BRule& r : s.rules) {
    id_off.push_back(static_cast<uint32_t>(strings.size()));
    strings += r.id;
  }
  const uint32_t n_if = static_cast<uint32_t>(s.ifaces.size()), n_rule = static_cast<uint32_t>(s.rules.size());
  const uint32_t ers = s.entry_record_size;
  const uint32_t off_if = align8(s.header_len);
  const uint32_t off_addr = align8(off_if + uint64_t{n_if} * kInterfaceRecordSize);
  const uint32_t off_ent = align8(off_addr + uint64_t{n_addr} * kAddressRecordSize);
  const uint32_t off_rule = align8(off_ent + uint64_t{n_ent} * ers);
  const uint32_t off_ct = align8(off_rule + uint64_t{n_rule} * kRuleRecordSize);
  const uint32_t off_str = align8(off_ct + kConntrackSectionSize);
  const uint32_t total = static_cast<uint32_t>(off_str + strings.size());

  std::vector<uint8_t> b(total, 0);
  put32(b, 0, header::kMagicField, kMagic);
  put16(b, 0, header::kVersion, kVersionMajor);
  put16(b, 0, header::kHeaderLen, s.header_len);
  put8(b, 0, header::kCloud, s.cloud);
  put8(b, 0, header::kFlags, 0);
  put16(b, 0, header::kEntryRecordSize, static_cast<uint16_t>(ers));
  put32(b, 0, header::kInterfaceCount, n_if);
  put32(b, 0, header::kAddressCount, n_addr);
  put32(b, 0, header::kEntryCount, n_ent);
  put32(b, 0, header::kRuleCount, n_rule);
  put32(b, 0, header::kStringsLen, static_cast<uint32_t>(strings.size()));
  put32(b, 0, header::kInterfacesOff, off_if);
  put32(b, 0, header::kAddressesOff, off_addr);
  put32(b, 0, header::kEntriesOff, off_ent);
  put32(b, 0, header::kRulesOff, off_rule);
  put32(b, 0, header::kStringsOff, off_str);
  put32(b, 0, header::kConntrackOff, off_ct);
  put32(b, 0, header::kTotalLen, total);

  uint32_t addr_ix = 0, ent_ix = 0;
  std::vector<std::array<uint32_t, 2>> run_first(n_if), run_count(n_if);
  for (uint32_t i = 0; i < n_if; i++) {
    const BIface& f = s.ifaces[i];
    const size_t at = off_if + size_t{i} * kInterfaceRecordSize;
    put32(b, at, iface::kNameOff, name_off[i]);
    put16(b, at, iface::kNameLen, static_cast<uint16_t>(f.name.size()));
    put8(b, at, iface::kNicType, f.nic_type);
    put32(b, at, iface::kAddrFirst, addr_ix);
    put32(b, at, iface::kAddrCount, static_cast<uint32_t>(f.addrs.size()));
    for (const BAddr& a : f.addrs) {
      const size_t aat = off_addr + size_t{addr_ix++} * kAddressRecordSize;
      put32(b, aat, address::kIface, i);
      put8(b, aat, address::kFamily, a.family);
      std::memcpy(&b[aat + address::kAddr.off], a.addr.data(), 16);
    }
    for (int d = 0; d < 2; d++) {
      const std::vector<BEntry>& run = d == 0 ? f.ingress : f.egress;
      if (f.shares[d] >= 0) {
        run_first[i][d] = run_first[f.shares[d]][d];
        run_count[i][d] = run_count[f.shares[d]][d];
        put32(b, at, d == 0 ? iface::kIngressFirst : iface::kEgressFirst, run_first[i][d]);
        put32(b, at, d == 0 ? iface::kIngressCount : iface::kEgressCount, run_count[i][d]);
        continue;
      }
      run_first[i][d] = ent_ix;
      run_count[i][d] = static_cast<uint32_t>(run.size());
      put32(b, at, d == 0 ? iface::kIngressFirst : iface::kEgressFirst, ent_ix);
      put32(b, at, d == 0 ? iface::kIngressCount : iface::kEgressCount, static_cast<uint32_t>(run.size()));
      for (uint32_t k = 0; k < run.size(); k++) {
        const BEntry& e = run[k];
        const size_t eat = off_ent + size_t{ent_ix++} * ers;
        put32(b, eat, entry::kRule, e.rule);
        put16(b, eat, entry::kIface, static_cast<uint16_t>(i));
        put8(b, eat, entry::kDirection, static_cast<uint8_t>(d));
        put8(b, eat, entry::kAction, e.action);
        put8(b, eat, entry::kReason, e.reason);
        put8(b, eat, entry::kFamily, e.family);
        put8(b, eat, entry::kProto, e.proto);
        put8(b, eat, entry::kFlags, e.flags);
        put16(b, eat, entry::kSportLo, e.sport_lo);
        put16(b, eat, entry::kSportHi, e.sport_hi);
        put16(b, eat, entry::kDportLo, e.dport_lo);
        put16(b, eat, entry::kDportHi, e.dport_hi);
        put8(b, eat, entry::kIcmpType, e.icmp_type);
        put8(b, eat, entry::kIcmpCode, e.icmp_code);
        put8(b, eat, entry::kSrcLen, e.src_len);
        put8(b, eat, entry::kDstLen, e.dst_len);
        std::memcpy(&b[eat + entry::kSrc.off], e.src.data(), 16);
        std::memcpy(&b[eat + entry::kDst.off], e.dst.data(), 16);
        put16(b, eat, entry::kPriority, e.priority);
        put32(b, eat, entry::kOrder, k);
        for (uint32_t x = kEntryRecordSize; x < ers; x++) b[eat + x] = 0xAA;
      }
    }
  }
  for (uint32_t r = 0; r < n_rule; r++) {
    const size_t at = off_rule + size_t{r} * kRuleRecordSize;
    put32(b, at, rule::kIdOff, id_off[r]);
    put16(b, at, rule::kIdLen, static_cast<uint16_t>(s.rules[r].id.size()));
    put8(b, at, rule::kReason, s.rules[r].reason);
    put8(b, at, rule::kAction, s.rules[r].action);
  }
  put32(b, off_ct, table::conntrack::kMaxFlows, s.max_flows);
  for (int t = 0; t < kTimeoutSlotCount; t++) put32(b, off_ct + table::conntrack::kTimeouts.off + 4 * t, table::Field{0, 4}, s.timeouts[t]);
  put32(b, off_ct, table::conntrack::kMaxFragments, s.max_fragments);
  std::memcpy(b.data() + off_str, strings.data(), strings.size());
  fix_crc(b);
  return b;
}

// A blob of one interface whose ingress run is `run`, with one rule per entry (id "r<rule>").
inline std::vector<uint8_t> single_run_blob(const std::string& iface, const std::vector<BEntry>& run) {
  BlobSpec s;
  BIface f;
  f.name = iface;
  f.ingress = run;
  for (const BEntry& e : run) s.rules.push_back({"r" + std::to_string(e.rule), e.reason, e.action});
  s.ifaces.push_back(f);
  return build_blob(s);
}

}  // namespace sgfw::test
