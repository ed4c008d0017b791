// parse_frame reads the common frame (Ethernet, IPv4 without options or IPv6 without extension
// headers, TCP or UDP, not a fragment) by a straight path. These tests walk every length field,
// capture length and header byte of such frames through a range that crosses each check, and
// require the same PacketMeta as the general path (parse_frame_general) every time.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "fixtures_wire.h"

using namespace sgfw;
using namespace sgfw::wire;
using namespace sgfw::wire::fixtures;

namespace {

// An Ethernet frame carrying IPv4 or IPv6 and a TCP (20-byte header) or UDP header, plus
// `payload` bytes, with every length field consistent.
std::vector<uint8_t> common_frame(uint8_t family, uint8_t proto, uint32_t payload) {
  const uint32_t l4 = proto == kProtoTcp ? 20 : 8;
  const uint32_t l3 = family == 4 ? 20 : 40;
  std::vector<uint8_t> f(14 + l3 + l4 + payload, 0);
  for (int i = 0; i < 12; i++) f[i] = static_cast<uint8_t>(0x10 + i);
  uint8_t* ip = f.data() + 14;
  if (family == 4) {
    f[12] = 0x08, f[13] = 0x00;
    const uint32_t tot = l3 + l4 + payload;
    ip[0] = 0x45, ip[2] = static_cast<uint8_t>(tot >> 8), ip[3] = static_cast<uint8_t>(tot);
    ip[6] = 0x40;  // DF: the straight path takes it
    ip[8] = 64, ip[9] = proto;
    const uint8_t src[4] = {198, 18, 0, 1}, dst[4] = {198, 18, 7, 9};
    for (int i = 0; i < 4; i++) ip[12 + i] = src[i], ip[16 + i] = dst[i];
  } else {
    f[12] = 0x86, f[13] = 0xdd;
    const uint32_t plen = l4 + payload;
    ip[0] = 0x60, ip[4] = static_cast<uint8_t>(plen >> 8), ip[5] = static_cast<uint8_t>(plen);
    ip[6] = proto, ip[7] = 64;
    ip[8] = 0x20, ip[9] = 0x01, ip[10] = 0x0d, ip[11] = 0xb8, ip[23] = 1;
    ip[24] = 0x20, ip[25] = 0x01, ip[26] = 0x0d, ip[27] = 0xb8, ip[39] = 2;
  }
  uint8_t* t = ip + l3;
  t[0] = 0x9c, t[1] = 0x40, t[2] = 0x01, t[3] = 0xbb;  // 40000 -> 443
  if (proto == kProtoTcp) {
    t[12] = 0x50, t[13] = kTcpSyn | kTcpAck;
  } else {
    const uint32_t ulen = l4 + payload;
    t[4] = static_cast<uint8_t>(ulen >> 8), t[5] = static_cast<uint8_t>(ulen);
  }
  return f;
}

// Parses `f` (caplen bytes of it, from an exact-size copy) both ways; true when they agree.
bool both_agree(const std::vector<uint8_t>& f, uint32_t caplen, uint32_t wirelen, PacketMeta* out = nullptr) {
  std::vector<uint8_t> exact(f.begin(), f.begin() + caplen);
  PacketMeta straight, general;
  parse_frame(exact.data(), caplen, wirelen, LinkType::Ethernet, straight);
  parse_frame_general(exact.data(), caplen, wirelen, LinkType::Ethernet, general);
  if (out) *out = straight;
  return meta_eq(straight, general);
}

struct Shape {
  uint8_t family, proto;
};
constexpr Shape kShapes[] = {{4, kProtoTcp}, {4, kProtoUdp}, {6, kProtoTcp}, {6, kProtoUdp}};

}  // namespace

TEST_SUITE("wire parse common") {

TEST_CASE("test_parse_common_frames_parse_as_ip") {
  for (const Shape& s : kShapes) {
    const std::vector<uint8_t> f = common_frame(s.family, s.proto, 6);
    PacketMeta m;
    CHECK(both_agree(f, static_cast<uint32_t>(f.size()), static_cast<uint32_t>(f.size()), &m));
    CHECK(m.kind == FrameKind::Ip);
    CHECK(m.tuple.family == s.family);
    CHECK(m.tuple.proto == s.proto);
    CHECK(m.tuple.sport == 40000);
    CHECK(m.tuple.dport == 443);
    CHECK(m.has_l4 == 1);
    CHECK(m.l3_offset == 14);
    CHECK(m.ip_len == f.size() - 14);
    CHECK(m.tcp_flags == (s.proto == kProtoTcp ? (kTcpSyn | kTcpAck) : 0));
  }
}

TEST_CASE("test_parse_common_every_capture_and_wire_length") {
  for (const Shape& s : kShapes) {
    const std::vector<uint8_t> f = common_frame(s.family, s.proto, 10);
    const uint32_t n = static_cast<uint32_t>(f.size());
    for (uint32_t cap = 0; cap <= n; cap++)
      for (uint32_t wire : {cap, n - 1, n, n + 1, n + 1000}) {
        INFO("family ", int(s.family), " proto ", int(s.proto), " caplen ", cap, " wirelen ", wire);
        CHECK(both_agree(f, cap, wire));
      }
  }
}

TEST_CASE("test_parse_common_every_value_of_each_header_byte") {
  // Each byte of the Ethernet, IP and transport headers takes all 256 values in turn
  // (version/IHL, lengths, fragment bits, protocol, data offset, UDP length, ...).
  int checked = 0;
  for (const Shape& s : kShapes) {
    const std::vector<uint8_t> base = common_frame(s.family, s.proto, 10);
    const uint32_t headers = 14 + (s.family == 4 ? 20 : 40) + (s.proto == kProtoTcp ? 20 : 8);
    for (uint32_t at = 0; at < headers; at++)
      for (uint32_t v = 0; v < 256; v++) {
        std::vector<uint8_t> f = base;
        f[at] = static_cast<uint8_t>(v);
        for (uint32_t cap : {static_cast<uint32_t>(f.size()), headers, headers - 1}) {
          INFO("family ", int(s.family), " proto ", int(s.proto), " byte ", at, " = ", v, " caplen ", cap);
          CHECK(both_agree(f, cap, static_cast<uint32_t>(f.size())));
          checked++;
        }
      }
  }
  CHECK(checked == 3 * 256 * (2 * (14 + 20) + 2 * (14 + 40) + 2 * 20 + 2 * 8));
}

TEST_CASE("test_parse_common_length_fields_against_the_payload") {
  // Total/payload length and UDP length swept across the frame's real size, with the
  // frame also cut short: every combination of the length checks.
  for (const Shape& s : kShapes) {
    const std::vector<uint8_t> base = common_frame(s.family, s.proto, 12);
    const uint32_t n = static_cast<uint32_t>(base.size());
    const uint32_t len_at = s.family == 4 ? 14 + 2 : 14 + 4;
    for (uint32_t len = 0; len < n + 8; len++) {
      std::vector<uint8_t> f = base;
      f[len_at] = static_cast<uint8_t>(len >> 8), f[len_at + 1] = static_cast<uint8_t>(len);
      for (uint32_t l4len = 0; l4len < n; l4len += (s.proto == kProtoUdp ? 1 : 4)) {
        const uint32_t l4 = 14 + (s.family == 4 ? 20 : 40);
        if (s.proto == kProtoUdp) {
          f[l4 + 4] = static_cast<uint8_t>(l4len >> 8), f[l4 + 5] = static_cast<uint8_t>(l4len);
        } else {
          f[l4 + 12] = static_cast<uint8_t>((l4len / 4 % 16) << 4);
        }
        for (uint32_t cap : {n, n - 5, l4 + 8, l4 + 19})
          for (uint32_t wire : {cap, n, n + 3}) {
            INFO("family ", int(s.family), " proto ", int(s.proto), " len ", len, " l4len ", l4len, " cap ", cap,
                 " wire ", wire);
            CHECK(both_agree(f, cap, wire));
          }
      }
    }
  }
}

}  // TEST_SUITE

TEST_SUITE("wire parse common") {

TEST_CASE("test_parse_clears_to_the_default_meta") {
  // parse_frame clears its output bytewise: the result must equal the declared defaults.
  PacketMeta expected{};
  expected.malformed = MalformedSub::Link;
  PacketMeta got;
  std::memset(static_cast<void*>(&got), 0xA5, sizeof got);
  parse_frame(nullptr, 0, 0, static_cast<LinkType>(147), got);
  CHECK(meta_eq(got, expected));
  CHECK(got.kind == FrameKind::Malformed);
}

}  // TEST_SUITE
