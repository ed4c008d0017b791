// Table loader: validate every byte that matters, then assemble the MatchTable and build
// its classifiers. Order of checks: header (length, magic, version, sizes, crc), sections
// (aligned, past the header, in bounds, disjoint), records (values legal, indices in range,
// runs consistent). Nothing read from the blob is used before it is checked.
#include "table/loader.h"

#include <algorithm>
#include <bit>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <unordered_map>

#include "core/bytes.h"
#include "core/crc32.h"

namespace sgfw::table {

namespace {

// A quick hash of a run's entry bytes, to find identical runs (equality is then checked
// with memcmp); ~0.6 instructions a byte where the CRC takes 4.
uint64_t run_hash(const uint8_t* p, size_t n) {
  uint64_t h = n;
  for (size_t i = 0; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * 0x9E3779B97F4A7C15ull;
    h ^= h >> 29;
  }
  return h;
}

uint8_t rd8(const uint8_t* rec, Field f) { return rec[f.off]; }
uint16_t rd16(const uint8_t* rec, Field f) { return load_le16(rec + f.off); }
uint32_t rd32(const uint8_t* rec, Field f) { return load_le32(rec + f.off); }

[[gnu::format(printf, 2, 3)]] LoadResult fail(TableStatus s, const char* fmt, ...) {
  char buf[192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return LoadResult{s, buf};
}

bool legal_reason(uint8_t r) {
  return r == uint8_t(Reason::Rule) || r == uint8_t(Reason::Default) || r == uint8_t(Reason::Platform);
}

// Bits of a 128-bit prefix mask of `len` bits, as (hi, lo) of the big-endian number.
void prefix_mask(uint32_t len, uint64_t& hi, uint64_t& lo) {
  hi = len == 0 ? 0 : len >= 64 ? ~uint64_t{0} : ~uint64_t{0} << (64 - len);
  lo = len <= 64 ? 0 : len >= 128 ? ~uint64_t{0} : ~uint64_t{0} << (128 - len);
}

struct Section {
  const char* name;
  uint32_t off;
  uint64_t size;
};

}  // namespace

// Fills MatchTable's private parts; only the loader uses it.
class TableAssembler {
 public:
  static LoadResult run(const uint8_t* blob, size_t len, MatchTable& out, const LoadOptions& opts);

 private:
  static LoadResult read_entry(const MatchTable& t, const uint8_t* rec, uint32_t e, uint32_t n_if, uint32_t iface,
                               uint32_t run_dir, uint32_t pos, detail::HotEntry& h, MatchTable::Cold& c);
};

// Entry record e (rec), position pos of the run of interface `iface`, direction run_dir:
// checked against the rules and its run, and folded into h (all bytes zero on entry) and c.
LoadResult TableAssembler::read_entry(const MatchTable& t, const uint8_t* rec, uint32_t e, uint32_t n_if,
                                      uint32_t iface, uint32_t run_dir, uint32_t pos, detail::HotEntry& h, MatchTable::Cold& c) {
  using TS = TableStatus;
  const uint32_t rule_ix = rd32(rec, entry::kRule);
  const uint16_t if_ix = rd16(rec, entry::kIface);
  const uint8_t dir = rd8(rec, entry::kDirection), action = rd8(rec, entry::kAction);
  const uint8_t reason = rd8(rec, entry::kReason), fam = rd8(rec, entry::kFamily);
  const uint8_t proto = rd8(rec, entry::kProto), flags = rd8(rec, entry::kFlags);
  const uint32_t n_rule = static_cast<uint32_t>(t.rules_.size());
  if (rule_ix >= n_rule) return fail(TS::BadRecord, "entry %u: rule %u >= rule_count %u", e, rule_ix, n_rule);
  if (if_ix >= n_if) return fail(TS::BadRecord, "entry %u: iface %u >= interface_count %u", e, if_ix, n_if);
  if (dir > 1) return fail(TS::BadRecord, "entry %u: direction %u not ingress(0)/egress(1)", e, dir);
  if (action > 1) return fail(TS::BadRecord, "entry %u: action %u not drop(0)/accept(1)", e, action);
  if (!legal_reason(reason)) return fail(TS::BadRecord, "entry %u: reason %u not rule/default/platform", e, reason);
  if (action != t.rules_[rule_ix].action)
    return fail(TS::BadRecord, "entry %u: action %u != rule %u's action %u", e, action, rule_ix,
                t.rules_[rule_ix].action);
  if (reason != t.rules_[rule_ix].reason)
    return fail(TS::BadRecord, "entry %u: reason %u != rule %u's reason %u", e, reason, rule_ix,
                t.rules_[rule_ix].reason);
  if (fam != 0 && fam != 4 && fam != 6) return fail(TS::BadRecord, "entry %u: family %u not 0, 4 or 6", e, fam);
  constexpr uint8_t kKnownFlags =
      kFlagProtoAny | kFlagIcmpTypeAny | kFlagIcmpCodeAny | kFlagUntrackedTcp | kFlagUntrackedUdp;
  if (flags & ~kKnownFlags) return fail(TS::BadRecord, "entry %u: flags 0x%02x has unknown bits", e, flags);

  const uint32_t max_len = fam == 4 ? 32 : fam == 6 ? 128 : 0;
  const char* fam_name = fam == 4 ? "IPv4" : fam == 6 ? "IPv6" : "family any";
  struct {
    const char* name;
    Field len_f, addr_f;
    uint64_t *mask_hi, *mask_lo, *hi, *lo;
  } prefixes[] = {
      {"src", entry::kSrcLen, entry::kSrc, &h.src_mask_hi, &h.src_mask_lo, &h.src_hi, &h.src_lo},
      {"dst", entry::kDstLen, entry::kDst, &h.dst_mask_hi, &h.dst_mask_lo, &h.dst_hi, &h.dst_lo},
  };
  for (auto& p : prefixes) {
    const uint32_t plen = rd8(rec, p.len_f);
    if (plen > max_len) return fail(TS::BadRecord, "entry %u: %s_len %u > %u for %s", e, p.name, plen, max_len, fam_name);
    prefix_mask(plen, *p.mask_hi, *p.mask_lo);
    const uint64_t hi = detail::load_be64(rec + p.addr_f.off), lo = detail::load_be64(rec + p.addr_f.off + 8);
    if ((hi & ~*p.mask_hi) != 0 || (lo & ~*p.mask_lo) != 0)
      return fail(TS::BadRecord, "entry %u: %s address has bits set beyond /%u", e, p.name, plen);
    *p.hi = hi;
    *p.lo = lo;
  }
  const uint16_t sp_lo = rd16(rec, entry::kSportLo), sp_hi = rd16(rec, entry::kSportHi);
  const uint16_t dp_lo = rd16(rec, entry::kDportLo), dp_hi = rd16(rec, entry::kDportHi);
  if (sp_lo > sp_hi) return fail(TS::BadRecord, "entry %u: sport_lo %u > sport_hi %u", e, sp_lo, sp_hi);
  if (dp_lo > dp_hi) return fail(TS::BadRecord, "entry %u: dport_lo %u > dport_hi %u", e, dp_lo, dp_hi);

  // Fold format.h's matching rules into masks and ranges (see detail::HotEntry).
  const bool proto_any = flags & kFlagProtoAny;
  h.family_mask = fam ? 0xff : 0;
  h.family = fam;
  h.proto_mask = proto_any ? 0 : 0xff;
  h.proto = proto_any ? 0 : proto;
  const bool ports = !proto_any && (proto == kProtoTcp || proto == kProtoUdp);
  h.sport_lo = ports ? sp_lo : 0;
  h.sport_span = ports ? uint16_t(sp_hi - sp_lo) : 0xffff;
  h.dport_lo = ports ? dp_lo : 0;
  h.dport_span = ports ? uint16_t(dp_hi - dp_lo) : 0xffff;
  const bool icmp = !proto_any && ((proto == kProtoIcmp && fam == 4) || (proto == kProtoIcmpv6 && fam == 6));
  h.icmp_type_mask = icmp && !(flags & kFlagIcmpTypeAny) ? 0xff : 0;
  h.icmp_type = rd8(rec, entry::kIcmpType) & h.icmp_type_mask;
  h.icmp_code_mask = icmp && !(flags & kFlagIcmpCodeAny) ? 0xff : 0;
  h.icmp_code = rd8(rec, entry::kIcmpCode) & h.icmp_code_mask;

  c = {rule_ix, rd16(rec, entry::kPriority), action, reason, flags};

  const uint32_t order = rd32(rec, entry::kOrder);
  if (if_ix != iface || dir != run_dir)
    return fail(TS::BadRecord, "entry %u: iface %u direction %u but in the run of interface %u %s", e, if_ix,
                dir, iface, run_dir ? "egress" : "ingress");
  if (order != pos) return fail(TS::BadRecord, "entry %u: order %u != its position %u in the run", e, order, pos);
  return {};
}

LoadResult TableAssembler::run(const uint8_t* b, size_t len, MatchTable& out, const LoadOptions& opts) {
  using TS = TableStatus;
  // ---- Header.
  if (len < header::kSize) return fail(TS::Truncated, "blob length %zu < header size %u", len, header::kSize);
  const uint32_t magic = rd32(b, header::kMagicField);
  if (magic != kMagic) return fail(TS::BadMagic, "magic 0x%08x != 0x%08x", magic, kMagic);
  const uint16_t version = rd16(b, header::kVersion);
  if (version != kVersionMajor)
    return fail(TS::BadVersion, "version %u unsupported (this reader knows %u)", version, kVersionMajor);
  const uint32_t header_len = rd16(b, header::kHeaderLen);
  if (header_len < header::kSize) return fail(TS::BadLayout, "header_len %u < %u", header_len, header::kSize);
  const uint32_t total_len = rd32(b, header::kTotalLen);
  if (total_len > len) return fail(TS::Truncated, "blob length %zu < total_len %u", len, total_len);
  if (total_len != len) return fail(TS::BadLayout, "total_len %u != blob length %zu", total_len, len);
  if (header_len > total_len) return fail(TS::BadLayout, "header_len %u > total_len %u", header_len, total_len);

  const uint32_t stored_crc = rd32(b, header::kCrc32);
  static constexpr uint8_t kZero[4] = {};
  uint32_t crc = crc32(0, b, header::kCrc32.off);
  crc = crc32(crc, kZero, header::kCrc32.len);
  crc = crc32(crc, b + header::kSize, len - header::kSize);
  if (crc != stored_crc) return fail(TS::BadChecksum, "crc32 0x%08x != computed 0x%08x", stored_crc, crc);

  const uint8_t cloud = rd8(b, header::kCloud);
  if (cloud > uint8_t(Cloud::Alibaba)) return fail(TS::BadRecord, "header: cloud %u unknown", cloud);
  const uint8_t hflags = rd8(b, header::kFlags);
  if (hflags != 0) return fail(TS::BadRecord, "header: flags 0x%02x reserved (must be 0)", hflags);
  const uint32_t ers = rd16(b, header::kEntryRecordSize);
  if (ers < kEntryRecordSize) return fail(TS::BadLayout, "entry_record_size %u < %u", ers, kEntryRecordSize);

  const uint32_t n_if = rd32(b, header::kInterfaceCount);
  const uint32_t n_addr = rd32(b, header::kAddressCount);
  const uint32_t n_ent = rd32(b, header::kEntryCount);
  const uint32_t n_rule = rd32(b, header::kRuleCount);
  const uint32_t strings_len = rd32(b, header::kStringsLen);

  // ---- Sections.
  const Section sections[] = {
      {"interfaces", rd32(b, header::kInterfacesOff), uint64_t{n_if} * kInterfaceRecordSize},
      {"addresses", rd32(b, header::kAddressesOff), uint64_t{n_addr} * kAddressRecordSize},
      {"entries", rd32(b, header::kEntriesOff), uint64_t{n_ent} * ers},
      {"rules", rd32(b, header::kRulesOff), uint64_t{n_rule} * kRuleRecordSize},
      {"strings", rd32(b, header::kStringsOff), strings_len},
      {"conntrack", rd32(b, header::kConntrackOff), kConntrackSectionSize},
  };
  for (const Section& s : sections) {
    if (s.off % 8 != 0) return fail(TS::BadLayout, "%s_off %u not 8-byte aligned", s.name, s.off);
    if (s.off < header_len)
      return fail(TS::BadLayout, "%s_off %u inside the header (header_len %u)", s.name, s.off, header_len);
    if (s.off + s.size > total_len)
      return fail(TS::BadLayout, "%s section [%u, +%llu) beyond total_len %u", s.name, s.off,
                  static_cast<unsigned long long>(s.size), total_len);
  }
  for (const Section& s : sections) {
    for (const Section& o : sections) {
      if (&s >= &o || s.size == 0 || o.size == 0) continue;
      if (s.off < o.off + o.size && o.off < s.off + s.size)
        return fail(TS::BadLayout, "%s section overlaps %s section", s.name, o.name);
    }
  }
  const uint8_t* ifs = b + sections[0].off;
  const uint8_t* addrs = b + sections[1].off;
  const uint8_t* ents = b + sections[2].off;
  const uint8_t* rules = b + sections[3].off;
  const uint8_t* strs = b + sections[4].off;
  const uint8_t* ct = b + sections[5].off;

  MatchTable t;
  t.cloud_ = static_cast<Cloud>(cloud);
  t.strings_.assign(reinterpret_cast<const char*>(strs), strings_len);

  // ---- Rules.
  t.rules_.resize(n_rule);
  for (uint32_t r = 0; r < n_rule; r++) {
    const uint8_t* rec = rules + uint64_t{r} * kRuleRecordSize;
    MatchTable::RuleInfo& ri = t.rules_[r];
    ri.id_off = rd32(rec, rule::kIdOff);
    ri.id_len = rd16(rec, rule::kIdLen);
    ri.reason = rd8(rec, rule::kReason);
    ri.action = rd8(rec, rule::kAction);
    if (uint64_t{ri.id_off} + ri.id_len > strings_len)
      return fail(TS::BadRecord, "rule %u: id [%u, +%u) beyond strings_len %u", r, ri.id_off, ri.id_len, strings_len);
    if (!legal_reason(ri.reason)) return fail(TS::BadRecord, "rule %u: reason %u not rule/default/platform", r, ri.reason);
    if (ri.action > 1) return fail(TS::BadRecord, "rule %u: action %u not drop(0)/accept(1)", r, ri.action);
  }

  // ---- Interfaces.
  struct RunSpan {
    uint32_t first, count;
  };
  std::vector<RunSpan> addr_runs(n_if), ent_runs(2 * uint64_t{n_if});
  // The run each entry run stores its entries in: itself, or the earlier run of the same
  // direction with the same first and count (format.h: interfaces with the same groups).
  std::vector<uint32_t> ent_owner(2 * uint64_t{n_if});
  std::unordered_map<uint64_t, uint32_t> run_at[2];  // first << 32 | count -> the run stored there
  t.ifaces_.resize(n_if);
  uint64_t addr_total = 0, ent_total = 0, ent_all = 0;  // ent_all: shared runs counted each time
  for (uint32_t i = 0; i < n_if; i++) {
    const uint8_t* rec = ifs + uint64_t{i} * kInterfaceRecordSize;
    MatchTable::Iface& f = t.ifaces_[i];
    f.name_off = rd32(rec, iface::kNameOff);
    f.name_len = rd16(rec, iface::kNameLen);
    f.nic_type = rd8(rec, iface::kNicType);
    if (uint64_t{f.name_off} + f.name_len > strings_len)
      return fail(TS::BadRecord, "interface %u: name [%u, +%u) beyond strings_len %u", i, f.name_off, f.name_len,
                  strings_len);
    if (f.nic_type > 2) return fail(TS::BadRecord, "interface %u: nic_type %u unknown", i, f.nic_type);
    struct {
      const char* name;
      Field first, count;
      uint32_t limit;
      RunSpan* out;
    } spans[] = {
        {"addresses", iface::kAddrFirst, iface::kAddrCount, n_addr, &addr_runs[i]},
        {"ingress entries", iface::kIngressFirst, iface::kIngressCount, n_ent, &ent_runs[2 * i]},
        {"egress entries", iface::kEgressFirst, iface::kEgressCount, n_ent, &ent_runs[2 * i + 1]},
    };
    for (auto& s : spans) {
      uint32_t first = rd32(rec, s.first), count = rd32(rec, s.count);
      if (uint64_t{first} + count > s.limit)
        return fail(TS::BadRecord, "interface %u: %s [%u, +%u) beyond count %u", i, s.name, first, count, s.limit);
      *s.out = {first, count};
    }
    addr_total += addr_runs[i].count;
    for (uint32_t d = 0; d < 2; d++) {
      const uint32_t ri = 2 * i + d;
      const RunSpan& rs = ent_runs[ri];
      ent_owner[ri] = ri;
      ent_all += rs.count;
      if (rs.count == 0) continue;
      auto [it, fresh] = run_at[d].try_emplace(uint64_t{rs.first} << 32 | rs.count, ri);
      if (fresh) ent_total += rs.count;
      else ent_owner[ri] = it->second;
    }
  }
  // Stored runs are disjoint because each record names its one owner (checked below); with
  // the totals equal they partition the section.
  if (addr_total != n_addr)
    return fail(TS::BadRecord, "interfaces list %llu addresses, address_count is %u",
                static_cast<unsigned long long>(addr_total), n_addr);
  if (ent_total != n_ent)
    return fail(TS::BadRecord, "interface runs store %llu entries, entry_count is %u",
                static_cast<unsigned long long>(ent_total), n_ent);

  // ---- Addresses, straight into the lookup hash (duplicates are ambiguous: rejected).
  // At most a quarter full: most lookups are misses (the remote end of every packet), and a
  // miss probes until an empty slot (2.4 slots at half full, 1.4 at a quarter).
  if (n_addr > 0) {
    size_t cap = 8;
    while (cap < 4 * size_t{n_addr}) cap *= 2;
    t.addr_slots_.assign(cap, MatchTable::AddrSlot{0, 0, -1, 0});
    // IPv4 addresses also go to their own lookup table (match_table.h), the same size.
    t.addr4_slots_.assign(cap, MatchTable::Addr4Slot{0, -1});
    t.addr4_shift_ = 32 - static_cast<uint32_t>(std::countr_zero(cap));
  }
  std::vector<uint32_t> addr_index(t.addr_slots_.size());  // slot -> address record, for messages
  for (uint32_t i = 0; i < n_if; i++) {
    for (uint32_t k = 0; k < addr_runs[i].count; k++) {
      const uint32_t a = addr_runs[i].first + k;
      const uint8_t* rec = addrs + uint64_t{a} * kAddressRecordSize;
      const uint32_t owner = rd32(rec, address::kIface);
      if (owner != i) return fail(TS::BadRecord, "address %u: iface %u but listed under interface %u", a, owner, i);
      const uint8_t fam = rd8(rec, address::kFamily);
      if (fam != 4 && fam != 6) return fail(TS::BadRecord, "address %u: family %u not 4 or 6", a, fam);
      const uint8_t* ip = rec + address::kAddr.off;
      if (fam == 4 && std::any_of(ip + 4, ip + 16, [](uint8_t x) { return x != 0; }))
        return fail(TS::BadRecord, "address %u: IPv4 address with non-zero bytes 4..15", a);
      const uint64_t hi = detail::load_be64(ip), lo = detail::load_be64(ip + 8);
      const size_t mask = t.addr_slots_.size() - 1;
      size_t s = detail::addr_hash(fam, hi, lo) & mask;
      for (;; s = (s + 1) & mask) {
        const MatchTable::AddrSlot& slot = t.addr_slots_[s];
        if (slot.iface < 0) break;
        if (slot.hi == hi && slot.lo == lo && slot.family == fam)
          return fail(TS::BadRecord, "address %u duplicates address %u", a, addr_index[s]);
      }
      t.addr_slots_[s] = {hi, lo, static_cast<int32_t>(i), fam};
      addr_index[s] = a;
      if (fam == 4) {  // unique, as just checked: the bytes as find_interface reads them
        uint32_t raw;
        std::memcpy(&raw, ip, 4);
        uint32_t s4 = t.addr4_home(raw);
        while (t.addr4_slots_[s4].iface >= 0) s4 = (s4 + 1) & static_cast<uint32_t>(mask);
        t.addr4_slots_[s4] = {raw, static_cast<int32_t>(i)};
      }
    }
  }

  // ---- Entries, run by run (the stored runs partition the section, as checked above).
  // Runs with the very same entries (interfaces that carry the same groups) keep one copy of
  // their HotEntries. A run the blob stores once (format.h) takes its owner's copy; any other
  // run is decoded at the end of hot_ and dropped again when an earlier run holds the same
  // bytes (blobs written without sharing). So beyond the distinct runs at most one run's worth
  // of memory is ever touched: the first touch of a page is a fault, which costs ~14 µs on this
  // project's VMs (bench/native/page_touch.cc), and 8 interfaces sharing their groups made 7 of
  // 8 pages of a 1,000-rule table's entries copies.
  t.cold_.resize(n_ent);
  // Never reallocated below: no page is touched before it is written. Without sharing (the
  // fuzzers' reference) a run the blob shares is decoded once per interface.
  t.hot_.reserve(opts.share_runs ? n_ent : ent_all);
  t.runs_.resize(2 * size_t{n_if});
  std::unordered_map<uint64_t, uint32_t> distinct;  // hash of a run's HotEntry bytes -> index in runs_
  for (uint32_t ri = 0; ri < t.runs_.size(); ri++) {
    const uint32_t d = ri % 2, owner = ent_owner[ri];
    const RunSpan& rs = ent_runs[ri];
    MatchTable::Run& run = t.runs_[ri];
    run.first = rs.first;
    run.count = rs.count;
    if (owner != ri && opts.share_runs) {  // stored once in the blob: one copy here too
      run.hot_first = t.runs_[owner].hot_first;
      continue;
    }
    const size_t start = t.hot_.size();
    for (uint32_t k = 0; k < rs.count; k++) {
      const uint32_t e = rs.first + k;
      detail::HotEntry& h = t.hot_.emplace_back();  // value-initialised: all bytes zero
      const LoadResult r = read_entry(t, ents + uint64_t{e} * ers, e, n_if, owner / 2, d, k, h, t.cold_[e]);
      if (!r.ok()) return r;
    }
    run.hot_first = static_cast<uint32_t>(start);
    if (rs.count == 0 || !opts.share_runs) continue;
    const uint8_t* bytes = reinterpret_cast<const uint8_t*>(t.hot_.data() + start);
    const size_t run_bytes = size_t{rs.count} * sizeof(detail::HotEntry);
    auto [it, fresh] = distinct.try_emplace(run_hash(bytes, run_bytes), ri);
    if (fresh) continue;
    const MatchTable::Run& same = t.runs_[it->second];
    if (same.count == rs.count && std::memcmp(t.hot_.data() + same.hot_first, bytes, run_bytes) == 0) {
      t.hot_.resize(start);
      run.hot_first = same.hot_first;
    }
  }

  // ---- Conntrack settings.
  t.conntrack_.max_flows = rd32(ct, conntrack::kMaxFlows);
  for (int s = 0; s < kTimeoutSlotCount; s++) t.conntrack_.timeouts[s] = load_le32(ct + conntrack::kTimeouts.off + 4 * s);
  t.conntrack_.max_fragments = rd32(ct, conntrack::kMaxFragments);

  // ---- Classifiers (the build phase proper).
  std::vector<uint32_t> ids;
  // Runs that share their entries (above) share one set of trees too.
  std::unordered_map<uint32_t, uint32_t> built;  // hot_first of a run with trees -> index in runs_
  for (uint32_t ri = 0; ri < t.runs_.size(); ri++) {
    MatchTable::Run& r = t.runs_[ri];
    const bool tree = opts.classifier == ClassifierChoice::Tree
                          ? r.count > 0
                          : opts.classifier == ClassifierChoice::Auto && r.count >= kTreeMinEntries;
    if (!tree) continue;
    r.kind = ClassifierKind::Tree;
    auto [it, fresh] = built.try_emplace(r.hot_first, ri);
    if (!fresh) {
      const MatchTable::Run& same = t.runs_[it->second];
      r.part4 = same.part4;
      r.part6 = same.part6;
      r.nparts4 = same.nparts4;
      r.nparts6 = same.nparts6;
      r.tree_base = same.tree_base;
      t.tree_stats_.shared_runs++;
      continue;
    }
    r.tree_base = r.hot_first;
    for (uint8_t fam : {uint8_t{4}, uint8_t{6}}) {
      ids.clear();
      for (uint32_t e = r.hot_first; e < r.hot_first + r.count; e++) {
        const uint8_t f = t.hot_[e].family;
        if (f == 0 || f == fam) ids.push_back(e);
      }
      const size_t first = t.trees_.parts.size();
      detail::build_classifier(t.hot_, ids, fam, t.trees_, &t.tree_stats_);
      (fam == 4 ? r.part4 : r.part6) = static_cast<uint32_t>(first);
      (fam == 4 ? r.nparts4 : r.nparts6) = static_cast<uint16_t>(t.trees_.parts.size() - first);
    }
  }

  out = std::move(t);
  return {};
}

LoadResult load_table(const uint8_t* blob, size_t len, MatchTable& out, const LoadOptions& opts) {
  if (blob == nullptr && len != 0) return fail(TableStatus::Truncated, "null blob of length %zu", len);
  if (blob == nullptr) return fail(TableStatus::Truncated, "blob length 0 < header size %u", header::kSize);
  return TableAssembler::run(blob, len, out, opts);
}

}  // namespace sgfw::table
