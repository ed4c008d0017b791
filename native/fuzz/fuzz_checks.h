// The bodies of the three libFuzzer targets (native/fuzz/fuzz_*.cc), as functions that return
// the broken invariant (or nullptr), so that test/native/fuzz_regressions.cc replays saved
// findings through exactly the same code under doctest. Memory errors are the sanitizers' job;
// these check what a sanitizer cannot see.
//
// Input layouts (what the seed builder, native/fuzz/make_seeds.cc, writes):
//   parse_frame   [link selector][wirelen mode][extra hi][extra lo] frame...
//                 mode % 3: 0 wirelen = caplen, 1 caplen + extra (snapped), 2 extra % (caplen + 1)
//   pipeline      [config] then records [ctl][dt code][len hi][len lo] frame...
//                 config bit 0: Alibaba tables (else AWS), bit 1: bypass when conntrack is full
//                 ctl bits 0-2: link selector, bit 3: swap table first (bits 4-5 pick it),
//                 bit 6: expire() after the packet, bit 7: snapped (wirelen = caplen + 1000)
//   table_loader  [flags] blob...   flags bits 0-1: classifier (auto, linear, tree, auto),
//                 bit 2: recompute the crc32 first (so mutations reach the record checks)
#pragma once
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/crc32.h"
#include "core/packet_meta.h"
#include "engine/engine.h"
#include "fuzz/fuzz_tables.h"
#include "table/loader.h"
#include "wire/parse.h"

namespace sgfw::fuzz {

// Link types by selector byte: every supported one, the DLT_RAW aliases and one unsupported.
inline constexpr uint32_t kFrameLinkTypes[] = {1, 0, 101, 113, 228, 229, 276, 12, 14, 147};
inline constexpr int kFrameLinkTypeCount = sizeof kFrameLinkTypes / sizeof kFrameLinkTypes[0];
// The pipeline sees only what a trace reader would hand it (replay refuses other types).
inline constexpr uint32_t kPipelineLinkTypes[] = {1, 0, 101, 113, 228, 229, 276, 12};

inline constexpr size_t kFrameHeader = 4;
inline constexpr size_t kRecordHeader = 4;
inline constexpr int kMaxPipelinePackets = 512;

// Selector of a link type in a table above, or -1.
inline int link_selector(const uint32_t* types, int n, uint32_t lt) {
  for (int i = 0; i < n; i++)
    if (types[i] == lt) return i;
  return -1;
}

namespace checks_detail {

// Room for a message that names the packet; one per thread (libFuzzer runs one input at a time).
inline const char* say(const char* fmt, ...) {
  static thread_local char buf[320];
  char tmp[sizeof buf];  // arguments may point into buf (a message wrapping a message)
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  std::memcpy(buf, tmp, sizeof buf);
  return buf;
}

}  // namespace checks_detail

// What parse_frame promises about any result (native/wire/README.md, core/packet_meta.h).
inline const char* meta_violation(const PacketMeta& m, uint32_t caplen, uint32_t wirelen) {
  if (static_cast<uint8_t>(m.kind) > 2) return "kind out of range";
  if (static_cast<int>(m.malformed) >= kMalformedSubCount) return "malformed sub out of range";
  if ((m.kind == FrameKind::Malformed) != (m.malformed != MalformedSub::None)) return "kind/sub mismatch";
  if (m.kind == FrameKind::NonIp && m.tuple.family != 0) return "non-ip frame with a family";
  if (m.kind != FrameKind::Ip) return nullptr;
  const Tuple& t = m.tuple;
  if (t.family != 4 && t.family != 6) return "ip frame with family not 4/6";
  if (t.family == 4) {
    for (int i = 4; i < 16; i++)
      if (t.src[i] || t.dst[i]) return "ipv4 address with bytes 4..15 set";
  }
  const uint32_t min_hdr = t.family == 4 ? 20 : 40;
  if (uint64_t{m.l3_offset} + min_hdr > caplen) return "ip header past the capture (l3_offset)";
  const uint32_t wire = wirelen > caplen ? wirelen : caplen;
  if (uint64_t{m.l3_offset} + m.ip_len > wire) return "ip_len past the wire length";
  if (m.ip_len < min_hdr) return "ip_len shorter than the ip header";
  if (static_cast<uint8_t>(m.frag) > 2) return "frag kind out of range";
  if (static_cast<uint8_t>(m.icmp_class) > 5) return "icmp class out of range";
  if (m.frag == FragKind::Later &&
      (t.sport || t.dport || m.has_l4 || m.tcp_flags || m.icmp_class != IcmpClass::None))
    return "later fragment with transport fields";
  if (m.frag == FragKind::None && m.frag_id != 0) return "frag_id on a non-fragment";
  if (!m.has_l4 && (t.sport || t.dport || m.tcp_flags || m.icmp_class != IcmpClass::None))
    return "transport fields without has_l4";
  if (m.tcp_flags && t.proto != kProtoTcp) return "tcp flags on a non-tcp packet";
  const bool icmp = (t.family == 4 && t.proto == kProtoIcmp) || (t.family == 6 && t.proto == kProtoIcmpv6);
  if (m.icmp_class != IcmpClass::None && !icmp) return "icmp class on a non-icmp packet";
  if (!icmp && (m.icmp_type || m.icmp_code)) return "icmp type/code on a non-icmp packet";
  if (m.icmp_class == IcmpClass::NeighborDiscovery && t.family != 6) return "neighbour discovery on ipv4";
  if (m.has_quoted && (m.icmp_class != IcmpClass::Error || (m.quoted.family != 4 && m.quoted.family != 6)))
    return "quoted tuple outside an icmp error";
  if (!m.has_quoted && m.quoted.family != 0) return "stale quoted tuple";
  return nullptr;
}

inline bool same_meta(const PacketMeta& a, const PacketMeta& b) {
  auto tup = [](const Tuple& x, const Tuple& y) {
    return x.family == y.family && x.proto == y.proto && x.sport == y.sport && x.dport == y.dport &&
           std::memcmp(x.src, y.src, 16) == 0 && std::memcmp(x.dst, y.dst, 16) == 0;
  };
  return a.kind == b.kind && a.malformed == b.malformed && a.frag == b.frag && a.icmp_class == b.icmp_class &&
         tup(a.tuple, b.tuple) && a.tcp_flags == b.tcp_flags && a.icmp_type == b.icmp_type &&
         a.icmp_code == b.icmp_code && a.has_l4 == b.has_l4 && a.frag_id == b.frag_id && a.ip_len == b.ip_len &&
         a.vlan == b.vlan && a.l3_offset == b.l3_offset && a.has_quoted == b.has_quoted &&
         tup(a.quoted, b.quoted);
}

// ---- fuzz_parse_frame.

inline const char* check_parse_frame(const uint8_t* data, size_t size) {
  using checks_detail::say;
  if (size < kFrameHeader) return nullptr;
  const uint32_t lt = kFrameLinkTypes[data[0] % kFrameLinkTypeCount];
  const uint32_t extra = (uint32_t{data[2]} << 8) | data[3];
  // Copy into a buffer of exactly the frame's size: ASan then sees any read past the capture.
  const uint32_t caplen = static_cast<uint32_t>(size - kFrameHeader);
  std::unique_ptr<uint8_t[]> frame(new uint8_t[caplen ? caplen : 1]);
  if (caplen) std::memcpy(frame.get(), data + kFrameHeader, caplen);
  uint32_t wirelen = caplen;
  switch (data[1] % 3) {
    case 1: wirelen = caplen + extra; break;
    case 2: wirelen = extra % (caplen + 1); break;
    default: break;
  }
  PacketMeta m, again;
  std::memset(static_cast<void*>(&m), 0xA5, sizeof m);  // parse_frame must overwrite everything it reports
  wire::parse_frame(frame.get(), caplen, wirelen, static_cast<wire::LinkType>(lt), m);
  wire::parse_frame(frame.get(), caplen, wirelen, static_cast<wire::LinkType>(lt), again);
  if (const char* why = meta_violation(m, caplen, wirelen))
    return say("link type %u caplen %u wirelen %u: %s", lt, caplen, wirelen, why);
  if (!same_meta(m, again)) return say("link type %u: parse_frame not deterministic", lt);
  PacketMeta general;
  wire::parse_frame_general(frame.get(), caplen, wirelen, static_cast<wire::LinkType>(lt), general);
  if (!same_meta(m, general)) return say("link type %u: the straight path differs from the general one", lt);
  if (!wire::link_type_supported(lt) && m.kind != FrameKind::Malformed)
    return say("unsupported link type %u parsed as %d", lt, static_cast<int>(m.kind));
  // A wire length at or below the capture is read as the capture's own length (parse.h).
  if (wirelen < caplen) {
    PacketMeta exact;
    wire::parse_frame(frame.get(), caplen, caplen, static_cast<wire::LinkType>(lt), exact);
    if (!same_meta(m, exact)) return say("link type %u: wirelen %u < caplen %u changed the parse", lt, wirelen, caplen);
  }
  return nullptr;
}

// ---- fuzz_pipeline.

// The tables, loaded once; each input runs on a fresh Engine (libFuzzer needs inputs to be
// independent).
class PipelineHarness {
 public:
  PipelineHarness() {
    for (int i = 0; i < kTableCount; i++) {
      const std::vector<uint8_t> blob = fuzz_table_blob(i);
      auto t = std::make_shared<table::MatchTable>();
      const table::LoadResult r = table::load_table(blob.data(), blob.size(), *t);
      if (!r.ok()) {
        error_ = "fuzz table " + std::to_string(i) + " rejected: " + r.message;
        return;
      }
      tables_[i] = std::move(t);
    }
  }
  const std::string& error() const { return error_; }
  std::shared_ptr<const table::MatchTable> table(int i) const { return tables_[i]; }

  // Runs one input; the first broken invariant, or nullptr. `packets` (optional) receives how
  // many packets were judged.
  const char* run(const uint8_t* data, size_t size, int* packets = nullptr) const {
    using checks_detail::say;
    if (!error_.empty()) return error_.c_str();
    if (packets) *packets = 0;
    if (size < 1) return nullptr;
    const bool alibaba = data[0] & 1;
    engine::EngineOptions opts;
    opts.on_conntrack_full = (data[0] & 2) ? engine::OnConntrackFull::Bypass : engine::OnConntrackFull::Drop;
    opts.hash_seed = 0x9e3779b97f4a7c15ull;
    engine::Engine eng(opts);
    // The same packets through judge_batch, in batches of 1..64 (from the input) cut at every
    // swap and sweep: each decision must equal judge()'s for the same packet.
    engine::Engine batched(opts);
    const size_t batch_cap = 1 + ((data[0] >> 2) & 63);
    struct Pending {
      std::vector<uint8_t> frame;
      uint32_t caplen, wirelen, lt;
      uint64_t now;
      engine::Decision d;
      PacketMeta m;
    };
    std::vector<Pending> pending;
    int flushed = 0;
    auto flush = [&]() -> const char* {
      capture::Frame frames[engine::Engine::kMaxBatch];
      PacketMeta metas[engine::Engine::kMaxBatch];
      engine::Decision out[engine::Engine::kMaxBatch];
      const uint32_t k_n = static_cast<uint32_t>(pending.size());
      for (uint32_t k = 0; k < k_n; k++) {
        frames[k].data = pending[k].frame.data();
        frames[k].caplen = pending[k].caplen;
        frames[k].wirelen = pending[k].wirelen;
        frames[k].link_type = pending[k].lt;
        frames[k].ts_ns = pending[k].now;
      }
      batched.judge_batch(frames, k_n, metas, out);
      for (uint32_t k = 0; k < k_n; k++) {
        const engine::Decision& a = pending[k].d;
        const engine::Decision& b = out[k];
        if (a.verdict != b.verdict || a.reason != b.reason || a.sub != b.sub || a.dir != b.dir || a.iface != b.iface ||
            a.rule != b.rule)
          return say("packet %d: judge_batch says %s %s rule %d, judge says %s %s rule %d", flushed + int(k),
                     b.verdict == Verdict::Accept ? "accept" : "drop", kReasonNames[int(b.reason)], b.rule,
                     a.verdict == Verdict::Accept ? "accept" : "drop", kReasonNames[int(a.reason)], a.rule);
        if (metas[k].kind != pending[k].m.kind || metas[k].ip_len != pending[k].m.ip_len ||
            std::memcmp(&metas[k].tuple, &pending[k].m.tuple, sizeof(Tuple)) != 0)
          return say("packet %d: judge_batch parsed it otherwise", flushed + int(k));
      }
      flushed += static_cast<int>(k_n);
      pending.clear();
      return nullptr;
    };
    const int* choices = alibaba ? kAlibabaTables : kAwsTables;
    const int n_choices = alibaba ? 3 : 2;
    uint32_t generation = 1;
    std::string err;
    if (!eng.set_table(tables_[choices[0]], generation, &err)) return say("set_table: %s", err.c_str());
    if (!batched.set_table(tables_[choices[0]], generation, &err)) return say("set_table: %s", err.c_str());

    uint64_t now = 1'700'000'000'000'000'000ull;
    size_t at = 1;
    int n = 0;
    std::vector<uint8_t> frame;
    while (at + kRecordHeader <= size && n < kMaxPipelinePackets) {
      const uint8_t ctl = data[at], dt = data[at + 1];
      size_t len = (size_t{data[at + 2]} << 8) | data[at + 3];
      at += kRecordHeader;
      if (len > size - at) len = size - at;
      frame.assign(data + at, data + at + len);
      at += len;
      if (ctl & 0x08) {
        const int pick = choices[((ctl >> 4) & 3) % n_choices];
        if (const char* why = flush()) return why;
        if (!eng.set_table(tables_[pick], ++generation, &err)) return say("set_table: %s", err.c_str());
        if (!batched.set_table(tables_[pick], generation, &err)) return say("set_table: %s", err.c_str());
      }
      now += dt < 128 ? dt * 1'000'000ull                                 // up to 127 ms
             : dt < 192 ? (dt - 127) * 1'000'000'000ull                   // up to 64 s
                        : (dt - 191) * 3 * 3600 * 1'000'000'000ull;        // up to 192 h
      const uint32_t lt = kPipelineLinkTypes[ctl & 7];
      const uint32_t caplen = static_cast<uint32_t>(len);
      const uint32_t wirelen = (ctl & 0x80) ? caplen + 1000 : caplen;
      PacketMeta m;
      const engine::Decision d = eng.judge(frame.data(), caplen, wirelen, static_cast<wire::LinkType>(lt), now, m);
      n++;
      if (const char* why = decision_violation(eng, m, d, caplen, wirelen))
        return say("packet %d (link type %u, %u bytes): %s", n - 1, lt, caplen, why);
      pending.push_back(Pending{frame, caplen, wirelen, lt, now, d, m});
      if (ctl & 0x40) {
        eng.expire(now, 64);
        if (const char* why = flush()) return why;
        batched.expire(now, 64);
      } else if (pending.size() >= batch_cap) {
        if (const char* why = flush()) return why;
      }
      if (const char* why = engine_violation(eng, static_cast<uint64_t>(n)))
        return say("after packet %d: %s", n - 1, why);
    }
    if (const char* why = flush()) return why;
    if (const char* why = engine_violation(batched, static_cast<uint64_t>(n))) return say("judge_batch: %s", why);
    if (batched.counters().accepted != eng.counters().accepted ||
        batched.flows().counters().entries != eng.flows().counters().entries ||
        batched.flows().counters().created != eng.flows().counters().created)
      return "judge_batch and judge end with different counters";
    if (packets) *packets = n;
    // A sweep far in the future must reclaim every flow and fragment verdict.
    eng.expire(now + 400ull * 3600 * 1'000'000'000ull, 1u << 20);
    if (eng.flows().counters().entries != 0) return say("%llu flows left after a full expiry",
                                                        static_cast<unsigned long long>(eng.flows().counters().entries));
    if (eng.frags().counters().entries != 0) return "fragment verdicts left after a full expiry";
    return nullptr;
  }

 private:
  static constexpr int kAwsTables[] = {kAwsA, kAwsB};
  static constexpr int kAlibabaTables[] = {kAlibabaA, kAlibabaB, kAlibabaC};

  static const char* decision_violation(const engine::Engine& eng, const PacketMeta& m, const engine::Decision& d,
                                        uint32_t caplen, uint32_t wirelen) {
    using checks_detail::say;
    if (const char* why = meta_violation(m, caplen, wirelen)) return why;
    const table::MatchTable& t = *eng.current().table;
    const int reason = static_cast<int>(d.reason);
    if (static_cast<uint8_t>(d.verdict) > 1) return "verdict out of range";
    if (reason >= kReasonCount) return "reason out of range";
    if (static_cast<uint8_t>(d.dir) > 1) return "direction out of range";
    const bool accept = d.verdict == Verdict::Accept;
    switch (d.reason) {
      case Reason::Established:
      case Reason::Related:
      case Reason::Infrastructure:
        if (!accept) return say("%s with a drop", kReasonNames[reason]);
        break;
      case Reason::NoInterface:
      case Reason::Malformed:
      case Reason::Invalid:
      case Reason::Fragment:
      case Reason::ConntrackFull:
        if (accept) return say("%s with an accept", kReasonNames[reason]);
        break;
      default:
        break;
    }
    if (m.kind == FrameKind::Malformed &&
        (d.reason != Reason::Malformed || d.sub != static_cast<uint8_t>(m.malformed)))
      return "malformed frame not dropped as malformed";
    if (m.kind == FrameKind::NonIp && d.reason != Reason::Infrastructure) return "non-ip frame not infrastructure";
    if (d.reason == Reason::Malformed && m.kind != FrameKind::Malformed) return "malformed verdict on a parsed frame";
    if (d.reason == Reason::Invalid && (d.sub == 0 || d.sub >= kInvalidSubCount)) return "invalid without a sub-reason";
    const bool no_iface = d.reason == Reason::NoInterface || d.reason == Reason::Malformed ||
                          d.reason == Reason::Infrastructure;
    if (no_iface != (d.iface < 0)) return say("%s with interface %d", kReasonNames[reason], d.iface);
    if (d.iface >= static_cast<int32_t>(t.interface_count())) return say("interface %d out of range", d.iface);
    if (d.rule < -1 || d.rule >= static_cast<int32_t>(t.rule_count())) return say("rule %d out of range", d.rule);
    const bool by_rule = d.reason == Reason::Rule || d.reason == Reason::Default || d.reason == Reason::Platform;
    // `default` may come without a rule: a run with no entries at all (no default entry).
    if (by_rule && d.reason != Reason::Default && d.rule < 0) return say("%s verdict without a rule", kReasonNames[reason]);
    if (by_rule && d.rule >= 0 && (t.rule_reason(d.rule) != d.reason || t.rule_action(d.rule) != d.verdict))
      return say("%s %s names rule %d (%.*s) of action %s, reason %s", accept ? "accept" : "drop", kReasonNames[reason],
                 d.rule, static_cast<int>(t.rule_id(d.rule).size()), t.rule_id(d.rule).data(),
                 t.rule_action(d.rule) == Verdict::Accept ? "accept" : "drop",
                 kReasonNames[static_cast<int>(t.rule_reason(d.rule))]);
    if (d.iface >= 0 && m.kind == FrameKind::Ip) {
      // The interface judged must own the packet's address on that side.
      const uint8_t* own = d.dir == Direction::Egress ? m.tuple.src : m.tuple.dst;
      if (t.find_interface(m.tuple.family, own) != d.iface)
        return say("interface %d %s does not own the packet's %s address", d.iface,
                   d.dir == Direction::Egress ? "egress" : "ingress", d.dir == Direction::Egress ? "source" : "destination");
    }
    return nullptr;
  }

  static const char* engine_violation(const engine::Engine& eng, uint64_t judged) {
    const engine::EngineCounters& c = eng.counters();
    if (c.packets != judged) return "packet counter off";
    if (c.accepted + c.dropped != c.packets) return "accepted + dropped != packets";
    uint64_t by_reason = 0;
    for (uint64_t r : c.reasons) by_reason += r;
    if (by_reason != c.packets) return "reason counters do not sum to packets";
    if (eng.flows().counters().entries > eng.flows().capacity()) return "flow table above its capacity";
    if (eng.frags().counters().entries > eng.frags().capacity()) return "fragment table above its capacity";
    return nullptr;
  }

  std::shared_ptr<const table::MatchTable> tables_[kTableCount];
  std::string error_;
};

// ---- fuzz_table_loader.

namespace checks_detail {

struct Probe {
  Tuple t;
  uint8_t icmp_type = 0, icmp_code = 0;
};

inline uint64_t splitmix(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace checks_detail

// An accepted table must answer first_match inside the run asked, agree with the linear scan,
// and name rules, interfaces and addresses inside the table.
inline const char* check_loaded_table(const table::MatchTable& t, const uint8_t* blob, size_t len, uint64_t seed) {
  using checks_detail::Probe;
  using checks_detail::say;
  using checks_detail::splitmix;
  const uint32_t n_if = t.interface_count(), n_ent = t.entry_count(), n_rule = t.rule_count();
  uint64_t sum = 0;
  for (uint32_t i = 0; i < n_if; i++) {
    sum += t.interface_name(i).size();
    if (t.nic_type(i) > 2) return say("interface %u: nic_type %u", i, t.nic_type(i));
    for (int d = 0; d < 2; d++) {
      const uint64_t end = uint64_t{t.run_first(i, Direction(d))} + t.run_size(i, Direction(d));
      if (end > n_ent) return say("interface %u run ends at %llu > %u entries", i, (unsigned long long)end, n_ent);
    }
  }
  for (uint32_t r = 0; r < n_rule; r++) sum += t.rule_id(r).size();
  for (uint32_t e = 0; e < n_ent; e++) {
    const uint32_t r = t.entry_rule(e);
    if (r >= n_rule) return say("entry %u: rule %u >= %u", e, r, n_rule);
    if (t.entry_action(e) != t.rule_action(r) || t.entry_reason(e) != t.rule_reason(r))
      return say("entry %u disagrees with its rule %u", e, r);
  }
  (void)sum;

  // Probe tuples: fixed corner cases, random ones, and ones built from the blob's own entries
  // (prefix bases and port bounds, where a tree split could go wrong).
  std::vector<Probe> probes;
  uint64_t s = seed;
  const uint8_t protos[] = {kProtoTcp, kProtoUdp, kProtoIcmp, kProtoIcmpv6, kProtoGre, 0, 255};
  for (int k = 0; k < 24; k++) {
    Probe p;
    const uint64_t r = splitmix(s);
    p.t.family = (r & 1) ? 6 : 4;
    p.t.proto = protos[(r >> 1) % sizeof protos];
    p.t.sport = static_cast<uint16_t>(k < 8 ? (k & 1 ? 65535 : 0) : r >> 16);
    p.t.dport = static_cast<uint16_t>(k < 8 ? (k & 2 ? 65535 : 0) : r >> 32);
    p.icmp_type = static_cast<uint8_t>(r >> 48), p.icmp_code = static_cast<uint8_t>(r >> 56);
    const uint64_t a = splitmix(s), b = splitmix(s);
    const int alen = p.t.family == 4 ? 4 : 16;
    for (int i = 0; i < alen; i++) {
      p.t.src[i] = k < 4 ? 0 : k < 8 ? 0xff : static_cast<uint8_t>(a >> (8 * (i % 8)) ^ i);
      p.t.dst[i] = k < 4 ? 0 : k < 8 ? 0xff : static_cast<uint8_t>(b >> (8 * (i % 8)) ^ (i * 7));
    }
    probes.push_back(p);
  }
  const uint32_t ers = load_le16(blob + table::header::kEntryRecordSize.off);
  const uint32_t ents_off = load_le32(blob + table::header::kEntriesOff.off);
  for (uint32_t e = 0; e < n_ent && e < 64; e++) {
    const uint8_t* rec = blob + ents_off + uint64_t{e} * ers;  // validated by the loader
    for (int v = 0; v < 3; v++) {
      Probe p;
      const uint8_t fam = rec[table::entry::kFamily.off];
      p.t.family = fam ? fam : (v & 1 ? 6 : 4);
      p.t.proto = rec[table::entry::kProto.off];
      const int alen = p.t.family == 4 ? 4 : 16;
      std::memcpy(p.t.src, rec + table::entry::kSrc.off, alen);
      std::memcpy(p.t.dst, rec + table::entry::kDst.off, alen);
      const uint64_t r = splitmix(s);
      if (v == 2) {  // just past the prefix: flip a low bit
        p.t.src[alen - 1] ^= 1;
        p.t.dst[(r >> 8) % alen] ^= static_cast<uint8_t>(1u << (r % 8));
      }
      const uint16_t sp[3] = {load_le16(rec + table::entry::kSportLo.off), load_le16(rec + table::entry::kSportHi.off),
                              static_cast<uint16_t>(load_le16(rec + table::entry::kSportHi.off) + 1)};
      const uint16_t dp[3] = {load_le16(rec + table::entry::kDportLo.off), load_le16(rec + table::entry::kDportHi.off),
                              static_cast<uint16_t>(load_le16(rec + table::entry::kDportLo.off) - 1)};
      p.t.sport = sp[v], p.t.dport = dp[(v + r) % 3];
      p.icmp_type = rec[table::entry::kIcmpType.off] + (v == 2);
      p.icmp_code = rec[table::entry::kIcmpCode.off];
      probes.push_back(p);
    }
  }
  // The reference the answers are checked against: the same blob loaded linear, each run with
  // its own copy of its entries, so that a wrong sharing of runs (hash, compare or hot_first)
  // cannot make both answers wrong alike.
  table::MatchTable ref;
  table::LoadOptions ref_opts;
  ref_opts.classifier = table::ClassifierChoice::Linear;
  ref_opts.share_runs = false;
  if (!table::load_table(blob, len, ref, ref_opts).ok()) return "the blob loads, but not without shared runs";
  if (ref.entry_count() != n_ent || ref.interface_count() != n_if) return "the unshared load differs in size";
  for (const Probe& p : probes) {
    const int fi = t.find_interface(p.t.family, p.t.src);
    if (fi < -1 || fi >= static_cast<int>(n_if)) return say("find_interface returned %d", fi);
    for (uint32_t i = 0; i < n_if && i < 32; i++) {
      for (int d = 0; d < 2; d++) {
        const Direction dir = Direction(d);
        const int32_t e = t.first_match(i, dir, p.t, p.icmp_type, p.icmp_code);
        const int32_t lin = t.first_match_linear(i, dir, p.t, p.icmp_type, p.icmp_code);
        const uint32_t first = t.run_first(i, dir), count = t.run_size(i, dir);
        if (e != -1 && (e < 0 || static_cast<uint32_t>(e) < first || static_cast<uint32_t>(e) >= uint64_t{first} + count))
          return say("interface %u %s: first_match %d outside the run [%u, +%u)", i, d ? "egress" : "ingress", e,
                     first, count);
        if (e != lin)
          return say("interface %u %s (%s): first_match %d != linear %d (family %u proto %u ports %u/%u)", i,
                     d ? "egress" : "ingress", table::kClassifierKindNames[static_cast<int>(t.classifier_kind(i, dir))],
                     e, lin, p.t.family, p.t.proto, p.t.sport, p.t.dport);
        const int32_t own = ref.first_match_linear(i, dir, p.t, p.icmp_type, p.icmp_code);
        if (lin != own)
          return say("interface %u %s: linear %d with shared runs, %d with a copy per run", i, d ? "egress" : "ingress",
                     lin, own);
      }
    }
  }
  return nullptr;
}

inline const char* check_table_loader(const uint8_t* data, size_t size) {
  using checks_detail::say;
  if (size < 1) return nullptr;
  const uint8_t flags = data[0];
  std::vector<uint8_t> blob(data + 1, data + size);
  if ((flags & 4) && blob.size() >= table::header::kSize) {
    store_le32(blob.data() + table::header::kCrc32.off, 0);
    store_le32(blob.data() + table::header::kCrc32.off, crc32(0, blob.data(), blob.size()));
  }
  // An exact-size copy, so that ASan sees any read past the blob.
  std::unique_ptr<uint8_t[]> exact(new uint8_t[blob.size() ? blob.size() : 1]);
  if (!blob.empty()) std::memcpy(exact.get(), blob.data(), blob.size());
  table::LoadOptions opts;
  static constexpr table::ClassifierChoice kChoices[] = {table::ClassifierChoice::Auto, table::ClassifierChoice::Linear,
                                                         table::ClassifierChoice::Tree, table::ClassifierChoice::Auto};
  opts.classifier = kChoices[flags & 3];
  table::MatchTable t;
  const table::LoadResult r = table::load_table(blob.empty() ? nullptr : exact.get(), blob.size(), t, opts);
  if (!r.ok()) {
    if (static_cast<int>(r.status) <= 0 || static_cast<int>(r.status) >= table::kTableStatusCount)
      return say("rejected with status %d", static_cast<int>(r.status));
    if (r.message.empty()) return "rejected without a message";
    if (t.interface_count() != 0 || t.entry_count() != 0) return "a rejected load touched the output table";
    return nullptr;
  }
  uint64_t seed = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < size && i < 256; i++) seed = (seed ^ data[i]) * 0x100000001b3ull;
  return check_loaded_table(t, exact.get(), blob.size(), seed);
}

}  // namespace sgfw::fuzz
