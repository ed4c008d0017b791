// The AF_PACKET source's pure helpers: ring geometry, VLAN tag reinsertion in place, and IPv4
// re-fragmentation. No root needed.
#ifndef DOCTEST_CONFIG_NO_EXCEPTIONS_BUT_WITH_ALL_ASSERTS
#define DOCTEST_CONFIG_NO_EXCEPTIONS_BUT_WITH_ALL_ASSERTS  // the core builds with -fno-exceptions
#endif
#include <doctest/doctest.h>

#include "afpacket_netns.h"
#include "capture/afpacket_frame.h"

using namespace sgfw::capture::afpacket;
using sgfw::capture::afptest::Bytes;
using sgfw::capture::afptest::udp4_frame;

TEST_CASE("afpacket ring geometry: whole 1 MiB blocks, capped at 64 MiB, frames never straddle blocks") {
  RingGeometry g;
  REQUIRE(ring_geometry(4096, 2048, g));
  CHECK(g.block_size == 1u << 20);
  CHECK(g.per_block == 512);
  CHECK(g.block_nr == 8);
  CHECK(g.frame_nr == 4096);

  REQUIRE(ring_geometry(4096, kSuperFrameSize, g));
  CHECK(g.per_block == 15);  // 15 x 65792 = 986880: the block's tail is unused
  CHECK(g.block_nr == 64);   // 4096 super-frame slots would be 270 MiB: capped
  CHECK(g.frame_nr == 960);
  CHECK(uint64_t{g.block_nr} * g.block_size <= kMaxRingBytes);

  REQUIRE(ring_geometry(1, 2048, g));
  CHECK(g.frame_nr == 512);  // rounded up to a whole block
  REQUIRE(ring_geometry(0, 4096, g));
  CHECK(g.block_nr == 1);

  CHECK_FALSE(ring_geometry(64, 2050, g));  // not a multiple of 16
  CHECK_FALSE(ring_geometry(64, 128, g));   // under the minimum
  CHECK_FALSE(ring_geometry(64, (1u << 20) + 16, g));

  CHECK(frame_size_for_mtu(1500) == 2048);
  CHECK(frame_size_for_mtu(1900) == 2048);
  CHECK(frame_size_for_mtu(1920) == 4096);
  CHECK(frame_size_for_mtu(9000) == 16384);
}

TEST_CASE("afpacket vlan_reinsert: the tag goes back after the MAC addresses, in place") {
  uint8_t buf[64] = {};
  uint8_t* data = buf + 20;
  const uint8_t frame[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x08, 0x00, 0x45, 0xee};
  std::memcpy(data, frame, sizeof frame);
  uint8_t* s = vlan_reinsert(data, sizeof frame, 0, 0xa064, 0, buf);
  REQUIRE(s == data - 4);
  const uint8_t want[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x81, 0x00, 0xa0, 0x64, 0x08, 0x00, 0x45, 0xee};
  CHECK(std::memcmp(s, want, sizeof want) == 0);

  SUBCASE("an 802.1ad TPID is kept") {
    std::memcpy(data, frame, sizeof frame);
    s = vlan_reinsert(data, sizeof frame, 0x88a8, 7, 0, buf);
    REQUIRE(s);
    CHECK(s[12] == 0x88);
    CHECK(s[13] == 0xa8);
    CHECK(s[15] == 7);
  }
  SUBCASE("the vnet header moves along and its offsets grow by the tag") {
    std::memcpy(data, frame, sizeof frame);
    VnetHdr h{kVnetNeedsCsum, 1 /*TCPV4*/, 66, 1448, 34, 16};
    std::memcpy(data - sizeof h, &h, sizeof h);
    s = vlan_reinsert(data, sizeof frame, 0, 100, sizeof h, buf);
    REQUIRE(s == data - 4);
    VnetHdr g;
    std::memcpy(&g, s - sizeof g, sizeof g);
    CHECK(g.csum_start == 38);
    CHECK(g.csum_offset == 16);
    CHECK(g.hdr_len == 70);
    CHECK(g.gso_size == 1448);
    CHECK(std::memcmp(s, want, 12) == 0);
  }
  SUBCASE("no room before the frame, or no addresses: refused") {
    CHECK(vlan_reinsert(buf + 3, 16, 0, 1, 0, buf) == nullptr);
    CHECK(vlan_reinsert(buf + 10, 16, 0, 1, 10, buf) == nullptr);
    CHECK(vlan_reinsert(data, 11, 0, 1, 0, buf) == nullptr);
  }
}

TEST_CASE("afpacket l3_offset: Ethernet, one and two tags") {
  uint16_t et = 0;
  const Bytes plain = udp4_frame(1, 2, 3, 4, Bytes(10));
  CHECK(l3_offset(plain.data(), static_cast<uint32_t>(plain.size()), et) == 14);
  CHECK(et == 0x0800);
  Bytes tagged = udp4_frame(1, 2, 3, 4, Bytes(10), 100);
  CHECK(l3_offset(tagged.data(), static_cast<uint32_t>(tagged.size()), et) == 18);
  CHECK(et == 0x0800);
  tagged.insert(tagged.begin() + 12, {0x88, 0xa8, 0, 5});
  CHECK(l3_offset(tagged.data(), static_cast<uint32_t>(tagged.size()), et) == 22);
  CHECK(l3_offset(tagged.data(), 13, et) == 0);
}

namespace {

struct Frag {
  Bytes bytes;
};

std::vector<Frag> fragment(const Bytes& f, uint32_t l3, uint32_t mtu, int& count) {
  std::vector<Frag> out;
  uint8_t scratch[2048];
  count = ipv4_fragment(f.data(), static_cast<uint32_t>(f.size()), l3, mtu, scratch, sizeof scratch,
                        [&](const uint8_t* p, uint32_t n) { out.push_back({Bytes(p, p + n)}); });
  return out;
}

}  // namespace

TEST_CASE("afpacket ipv4_fragment: splits a reassembled datagram as a router would") {
  Bytes payload(3972);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i * 7);
  const Bytes f = udp4_frame(0xc6120a01, 0xc6120a02, 1000, 2000, payload, 42);  // tagged: l3 at 18
  int count = 0;
  const auto frags = fragment(f, 18, 1500, count);
  REQUIRE(count == 3);
  REQUIRE(frags.size() == 3);
  Bytes joined;
  uint32_t expect_off = 0;
  for (size_t i = 0; i < frags.size(); ++i) {
    const Bytes& g = frags[i].bytes;
    CHECK(std::memcmp(g.data(), f.data(), 18) == 0);  // same addresses and tag
    const uint8_t* ip = g.data() + 18;
    CHECK(load_be16(ip + 2) == g.size() - 18);
    CHECK(g.size() - 18 <= 1500);
    CHECK(ipv4_header_checksum(ip, 20) == 0);  // a valid header sums to zero
    CHECK(load_be16(ip + 4) == 0x1234);        // same identification
    const uint16_t fo = load_be16(ip + 6);
    CHECK((fo & 0x1fff) * 8u == expect_off);
    CHECK(bool(fo & 0x2000) == (i + 1 < frags.size()));
    if (i + 1 < frags.size()) CHECK((g.size() - 38) % 8 == 0);  // offsets count 8-byte units
    joined.insert(joined.end(), g.begin() + 38, g.end());
    expect_off += static_cast<uint32_t>(g.size() - 38);
  }
  CHECK(joined == Bytes(f.begin() + 18 + 20, f.begin() + 18 + 20 + 8 + 3972));

  SUBCASE("DF set: refused") {
    Bytes df = f;
    df[18 + 6] = 0x40;
    CHECK(fragment(df, 18, 1500, count).empty());
    CHECK(count == -1);
  }
  SUBCASE("truncated or lying lengths: refused") {
    Bytes cut(f.begin(), f.begin() + 1000);
    CHECK(fragment(cut, 18, 1500, count).empty());
    CHECK(count == -1);
    CHECK(fragment(f, 18, 20, count).empty());  // no room for 8 bytes of data
    CHECK(count == -1);
  }
  SUBCASE("a fragment of a fragment keeps its offset and MF") {
    Bytes mid = f;
    store_be16(mid.data() + 18 + 6, 0x2000 | 100);  // offset 800, more to come
    store_be16(mid.data() + 18 + 10, 0);
    store_be16(mid.data() + 18 + 10, ipv4_header_checksum(mid.data() + 18, 20));
    const auto fr = fragment(mid, 18, 1500, count);
    REQUIRE(count == 3);
    CHECK((load_be16(fr[0].bytes.data() + 24) & 0x1fff) == 100);
    CHECK((load_be16(fr[2].bytes.data() + 24) & 0x2000) != 0);  // the last piece still says MF
  }
}

TEST_CASE("afpacket ipv4_fragment: only options with the copied bit go into later fragments") {
  // IPv4 header with 8 bytes of options: router alert (0x94, copied) then record route stub
  // (0x07, not copied, length 3) and EOL padding.
  Bytes payload(2000, 0x5a);
  Bytes f = udp4_frame(0xc6120a01, 0xc6120a02, 1, 2, payload);
  const uint8_t opts[] = {0x94, 0x04, 0x00, 0x00, 0x07, 0x03, 0x04, 0x00};
  f.insert(f.begin() + 34, opts, opts + sizeof opts);
  f[14] = 0x47;
  store_be16(f.data() + 16, static_cast<uint16_t>(load_be16(f.data() + 16) + 8));
  store_be16(f.data() + 24, 0);
  store_be16(f.data() + 24, ipv4_header_checksum(f.data() + 14, 28));
  int count = 0;
  const auto frags = fragment(f, 14, 1500, count);
  REQUIRE(count == 2);
  CHECK((frags[0].bytes[14] & 15) == 7);  // the first keeps all options
  CHECK((frags[1].bytes[14] & 15) == 6);  // the later: router alert only
  CHECK(frags[1].bytes[34] == 0x94);
  CHECK(ipv4_header_checksum(frags[1].bytes.data() + 14, 24) == 0);
  const size_t data_first = frags[0].bytes.size() - 14 - 28;
  CHECK(data_first % 8 == 0);
  CHECK(data_first + frags[1].bytes.size() - 14 - 24 == 2008);
}
