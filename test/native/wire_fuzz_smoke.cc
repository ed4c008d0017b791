// A cheap stand-in for the libFuzzer target: 200k frames made from the valid fixtures by
// random mutation (flips, interesting bytes, cuts, growth, snapped wire lengths, other link
// types) plus pure noise, from a fixed seed. Each is parsed from an exact-size heap buffer,
// so a build with -fsanitize=address,undefined reports any read outside the capture; the
// invariants below must hold for every result.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <random>
#include <vector>

#include "fixtures_wire.h"

using namespace sgfw;
using namespace sgfw::wire;
using namespace sgfw::wire::fixtures;

namespace {

constexpr uint32_t kLinkTypes[] = {0, 1, 12, 14, 101, 113, 228, 229, 276, 147};
constexpr uint8_t kInteresting[] = {0x00, 0x01, 0x02, 0x04, 0x06, 0x08, 0x11, 0x1f, 0x20, 0x2b,
                                    0x2c, 0x33, 0x3a, 0x3c, 0x3b, 0x40, 0x44, 0x45, 0x4f, 0x5f,
                                    0x60, 0x7f, 0x80, 0x81, 0x86, 0x87, 0x88, 0xa8, 0xdd, 0xff};

// Why a result breaks the parser's contract, or nullptr.
const char* violation(const PacketMeta& m, uint32_t caplen, uint32_t wirelen) {
  if ((m.kind == FrameKind::Malformed) != (m.malformed != MalformedSub::None)) return "kind/sub";
  if (m.kind == FrameKind::NonIp && m.tuple.family != 0) return "non-ip family";
  if (m.kind != FrameKind::Ip) return nullptr;
  const Tuple& t = m.tuple;
  if (t.family != 4 && t.family != 6) return "family";
  const uint32_t min_hdr = t.family == 4 ? 20 : 40;
  if (m.l3_offset + min_hdr > caplen) return "ip header past capture";
  if (m.l3_offset + m.ip_len > (wirelen > caplen ? wirelen : caplen)) return "ip_len past wire";
  if (m.frag == FragKind::Later &&
      (t.sport || t.dport || m.has_l4 || m.tcp_flags || m.icmp_class != IcmpClass::None)) {
    return "later fragment with transport fields";
  }
  if (!m.has_l4 && (t.sport || t.dport || m.tcp_flags || m.icmp_class != IcmpClass::None)) {
    return "transport fields without has_l4";
  }
  if (m.tcp_flags && t.proto != kProtoTcp) return "tcp flags on non-tcp";
  const bool icmp = (t.family == 4 && t.proto == kProtoIcmp) || (t.family == 6 && t.proto == kProtoIcmpv6);
  if (m.icmp_class != IcmpClass::None && !icmp) return "icmp class on non-icmp";
  if (m.has_quoted && (m.icmp_class != IcmpClass::Error || (m.quoted.family != 4 && m.quoted.family != 6))) {
    return "quoted tuple outside an error";
  }
  if (!m.has_quoted && m.quoted.family != 0) return "stale quoted tuple";
  return nullptr;
}

}  // namespace

TEST_SUITE("wire fuzz smoke") {

TEST_CASE("test_fuzz_smoke_parse_frame") {
  std::mt19937_64 rng(0x5367'6677'0001ULL);
  auto pick = [&](uint64_t n) { return static_cast<uint32_t>(rng() % n); };
  constexpr int kFrames = 200000;
  constexpr size_t kFixtures = sizeof kValidFixtures / sizeof kValidFixtures[0];
  int kinds[3] = {0, 0, 0};
  int subs[kMalformedSubCount] = {};
  int failures = 0;
  std::vector<uint8_t> frame;
  for (int i = 0; i < kFrames; ++i) {
    const Fixture& f = kValidFixtures[pick(kFixtures)];
    LinkType lt = f.lt;
    if (pick(8) == 0) {  // pure noise
      frame.resize(pick(128));
      for (auto& b : frame) b = static_cast<uint8_t>(rng());
      lt = static_cast<LinkType>(kLinkTypes[pick(std::size(kLinkTypes))]);
    } else {
      frame.assign(f.bytes, f.bytes + f.len);
      const int edits = 1 + pick(4);
      for (int e = 0; e < edits && !frame.empty(); ++e) {
        switch (pick(7)) {
          case 0: frame[pick(frame.size())] ^= static_cast<uint8_t>(1u << pick(8)); break;
          case 1: frame[pick(frame.size())] = kInteresting[pick(std::size(kInteresting))]; break;
          case 2: frame[pick(frame.size())] = static_cast<uint8_t>(rng()); break;
          case 3: frame.resize(pick(frame.size() + 1)); break;
          case 4: {  // grow: random tail, or a repeated 8-byte chunk (long extension chains)
            const uint32_t n = pick(64);
            for (uint32_t k = 0; k < n; ++k) frame.push_back(static_cast<uint8_t>(rng()));
            break;
          }
          case 5: {
            const size_t at = pick(frame.size());
            std::vector<uint8_t> chunk(frame.begin() + at, frame.begin() + std::min(frame.size(), at + 8));
            for (int r = pick(20); r > 0; --r) frame.insert(frame.begin() + at, chunk.begin(), chunk.end());
            break;
          }
          default: lt = static_cast<LinkType>(kLinkTypes[pick(std::size(kLinkTypes))]); break;
        }
      }
    }
    const uint32_t caplen = static_cast<uint32_t>(frame.size());
    // Mostly whole frames; some snapped (wire longer), a few with an impossible wirelen < caplen.
    uint32_t wirelen = caplen;
    switch (pick(4)) {
      case 0: wirelen = caplen + pick(70000); break;
      case 1: wirelen = pick(caplen + 1); break;
      default: break;
    }
    const PacketMeta m = parse_exact(frame.data(), caplen, lt, wirelen);
    const PacketMeta again = parse_exact(frame.data(), caplen, lt, wirelen);
    const char* why = violation(m, caplen, wirelen);
    if (why == nullptr && !meta_eq(m, again)) why = "not deterministic";
    if (why == nullptr) {
      std::vector<uint8_t> exact(frame.begin(), frame.end());
      PacketMeta general;
      parse_frame_general(exact.data(), caplen, wirelen, lt, general);
      if (!meta_eq(m, general)) why = "parse_frame's straight path differs from the general path";
    }
    if (why != nullptr && ++failures <= 10) {
      FAIL_CHECK("frame ", i, ": ", why);
    }
    ++kinds[static_cast<int>(m.kind)];
    ++subs[static_cast<int>(m.malformed)];
  }
  CHECK(failures == 0);
  // The mutations reach every outcome and every malformed sub-reason.
  CHECK(kinds[static_cast<int>(FrameKind::Ip)] > kFrames / 10);
  CHECK(kinds[static_cast<int>(FrameKind::NonIp)] > 0);
  CHECK(kinds[static_cast<int>(FrameKind::Malformed)] > kFrames / 10);
  for (int s = 1; s < kMalformedSubCount; ++s) {
    INFO("sub-reason ", kMalformedSubNames[s]);
    CHECK(subs[s] > 0);
  }
}

}  // TEST_SUITE
