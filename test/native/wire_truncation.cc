// Every prefix of every valid fixture, parsed from a buffer of exactly that size (so ASan
// sees any over-read), both as a whole frame (caplen == wirelen) and as a capture snapped
// by snaplen (caplen < wirelen): a cut inside a header is Malformed, a cut after the headers
// of a snapped capture parses as the whole frame does.
#include <doctest/doctest.h>

#include "fixtures_wire.h"

using namespace sgfw;
using namespace sgfw::wire;
using namespace sgfw::wire::fixtures;

TEST_SUITE("wire truncation") {

TEST_CASE("test_truncated_every_prefix_unsnapped") {
  for (const Fixture& f : kValidFixtures) {
    INFO("fixture ", f.name);
    const PacketMeta full = parse_exact(f.bytes, f.len, f.lt);
    CHECK(full.kind != FrameKind::Malformed);
    // Bytes up to the end of the IP packet (or the link header of a non-IP frame).
    const uint32_t ip_end = full.kind == FrameKind::Ip ? full.l3_offset + full.ip_len : f.hdr_end;
    for (uint32_t n = 0; n < f.len; ++n) {
      INFO("caplen = wirelen = ", n);
      const PacketMeta m = parse_exact(f.bytes, n, f.lt);
      if (n < ip_end) {
        CHECK(m.kind == FrameKind::Malformed);
        CHECK(m.malformed != MalformedSub::None);
      } else {
        CHECK(meta_eq(m, full));  // only link-layer padding was cut
      }
    }
  }
}

TEST_CASE("test_truncated_every_prefix_snapped") {
  for (const Fixture& f : kValidFixtures) {
    INFO("fixture ", f.name);
    const PacketMeta full = parse_exact(f.bytes, f.len, f.lt);
    for (uint32_t n = 0; n < f.len; ++n) {
      INFO("caplen ", n, " of wirelen ", f.len);
      const PacketMeta m = parse_exact(f.bytes, n, f.lt, f.len);
      if (n < f.hdr_end) {
        CHECK(m.kind == FrameKind::Malformed);
        CHECK(m.malformed != MalformedSub::None);
      } else if (n < f.quote_end) {
        // The ICMP error itself is whole; its quote is not, so it names no flow.
        PacketMeta want = full;
        want.has_quoted = 0;
        want.quoted = Tuple{};
        CHECK(meta_eq(m, want));
      } else {
        CHECK(meta_eq(m, full));
      }
    }
  }
}

TEST_CASE("test_truncated_malformed_sub_names_the_cut_header") {
  // Ethernet + IPv4 + TCP, unsnapped: which header each cut lands in.
  for (uint32_t n = 0; n < sizeof kEthIpv4Tcp; ++n) {
    const PacketMeta m = parse_exact(kEthIpv4Tcp, n, LinkType::Ethernet);
    const MalformedSub want = n < 14 ? MalformedSub::Link
                            : n < 34 ? MalformedSub::Ipv4Header
                                     : MalformedSub::Ipv4Length;
    CHECK(m.malformed == want);
  }
  // The same snapped: once the IP header is whole, the TCP header is what is cut.
  for (uint32_t n = 34; n < sizeof kEthIpv4Tcp; ++n) {
    const PacketMeta m = parse_exact(kEthIpv4Tcp, n, LinkType::Ethernet, sizeof kEthIpv4Tcp);
    CHECK(m.malformed == MalformedSub::Tcp);
  }
  // IPv6 chain cut by snaplen inside the extension headers.
  for (uint32_t n = 54; n < 94; ++n) {
    const PacketMeta m = parse_exact(kEthIpv6ExtChainTcp, n, LinkType::Ethernet, sizeof kEthIpv6ExtChainTcp);
    CHECK(m.malformed == MalformedSub::Ipv6ExtChain);
  }
  for (uint32_t n = 94; n < 114; ++n) {
    const PacketMeta m = parse_exact(kEthIpv6ExtChainTcp, n, LinkType::Ethernet, sizeof kEthIpv6ExtChainTcp);
    CHECK(m.malformed == MalformedSub::Tcp);
  }
}

}  // TEST_SUITE
