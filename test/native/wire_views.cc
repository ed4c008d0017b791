// The per-protocol views of native/wire: fields read from byte fixtures (test_deconstruct)
// and check_len() refusing every length too short for what the accessors read
// (test_impossible_len).
#include <doctest/doctest.h>

#include "fixtures_wire.h"
#include "wire/ethernet.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"
#include "wire/ipv6.h"
#include "wire/loopback.h"
#include "wire/sll.h"
#include "wire/tcp.h"
#include "wire/udp.h"
#include "wire/vlan.h"

using namespace sgfw;
using namespace sgfw::wire;
using namespace sgfw::wire::fixtures;

TEST_SUITE("wire views") {

TEST_CASE("test_header_len_derived_from_last_field") {
  CHECK(ethernet::kHeaderLen == 14);
  CHECK(vlan::kHeaderLen == 4);
  CHECK(sll::kHeaderLen == 16);
  CHECK(sll2::kHeaderLen == 20);
  CHECK(loopback::kHeaderLen == 4);
  CHECK(ipv4::kHeaderLen == 20);
  CHECK(ipv6::kHeaderLen == 40);
  CHECK(ipv6_frag::kHeaderLen == 8);
  CHECK(tcp::kHeaderLen == 20);
  CHECK(udp::kHeaderLen == 8);
  CHECK(icmp::kHeaderLen == 8);
}

TEST_CASE("test_deconstruct_ethernet_vlan") {
  EthernetView eth(kEthVlanIpv4Udp, sizeof kEthVlanIpv4Udp);
  CHECK_UNARY(eth.check_len());
  CHECK(eth.dst()[5] == 0x02);
  CHECK(eth.src()[5] == 0x01);
  CHECK(eth.ethertype() == kEthertypeVlan);
  VlanView tag(kEthVlanIpv4Udp + 14, sizeof kEthVlanIpv4Udp - 14);
  CHECK(tag.check_len());
  CHECK(tag.vid() == 100);
  CHECK(tag.pcp() == 5);
  CHECK(tag.ethertype() == kEthertypeIpv4);
}

TEST_CASE("test_impossible_len_link_headers") {
  for (uint32_t n = 0; n < 14; ++n) CHECK_FALSE(EthernetView(kEthIpv4Tcp, n).check_len());
  for (uint32_t n = 0; n < 4; ++n) CHECK_FALSE(VlanView(kEthVlanIpv4Udp + 14, n).check_len());
  for (uint32_t n = 0; n < 16; ++n) CHECK_FALSE(SllView(kSllIpv4IcmpEcho, n).check_len());
  for (uint32_t n = 0; n < 20; ++n) CHECK_FALSE(Sll2View(kSll2Ipv6Udp, n).check_len());
  for (uint32_t n = 0; n < 4; ++n) CHECK_FALSE(LoopbackView(kNullIpv4Tcp, n).check_len());
}

TEST_CASE("test_deconstruct_sll_sll2_loopback") {
  SllView sll(kSllIpv4IcmpEcho, sizeof kSllIpv4IcmpEcho);
  CHECK(sll.check_len());
  CHECK(sll.packet_type() == 4);
  CHECK(sll.ha_type() == 1);
  CHECK(sll.protocol() == kEthertypeIpv4);
  Sll2View sll2(kSll2Ipv6Udp, sizeof kSll2Ipv6Udp);
  CHECK(sll2.check_len());
  CHECK(sll2.protocol() == kEthertypeIpv6);
  CHECK(sll2.if_index() == 3);
  CHECK(sll2.ha_type() == 1);
  CHECK(sll2.packet_type() == 0);
  CHECK(LoopbackView(kNullIpv4Tcp, 4).family() == 2);
  CHECK(LoopbackView(kNullIpv6UdpBigEndian, 4).family() == 30);
}

TEST_CASE("test_deconstruct_ipv4_with_options") {
  Ipv4View ip(kEthIpv4OptionsUdp + 14, sizeof kEthIpv4OptionsUdp - 14);
  CHECK_UNARY(ip.check_len());
  CHECK(ip.version() == 4);
  CHECK(ip.header_len() == 24);
  CHECK(ip.total_len() == 36);
  CHECK(ip.ident() == 0x1234);
  CHECK(ip.dont_frag());
  CHECK_FALSE(ip.more_frags());
  CHECK(ip.frag_offset() == 0);
  CHECK(ip.ttl() == 64);
  CHECK(ip.protocol() == kProtoUdp);
  CHECK(ip.src()[0] == 192);
  CHECK(ip.dst()[3] == 5);
}

TEST_CASE("test_impossible_len_ipv4") {
  // Shorter than the fixed header, or than the IHL-sized header with its options.
  for (uint32_t n = 0; n < 24; ++n) CHECK_FALSE(Ipv4View(kEthIpv4OptionsUdp + 14, n).check_len());
  CHECK(Ipv4View(kEthIpv4OptionsUdp + 14, 24).check_len());
  // IHL 4: a header that cannot hold its own fixed fields, whatever the length.
  CHECK_FALSE(Ipv4View(kTcpdumpIpv4InvalidHdrLength + 14, 84).check_len());
  uint8_t ihl0[20] = {0x40};
  CHECK_FALSE(Ipv4View(ihl0, sizeof ihl0).check_len());
}

TEST_CASE("test_deconstruct_ipv4_fragment_fields") {
  Ipv4View first(kEthIpv4FirstFragUdp + 14, sizeof kEthIpv4FirstFragUdp - 14);
  CHECK_UNARY(first.check_len());
  CHECK(first.more_frags());
  CHECK(first.frag_offset() == 0);
  CHECK(first.ident() == 0x4242);
  Ipv4View later(kEthIpv4LaterFragUdp + 14, sizeof kEthIpv4LaterFragUdp - 14);
  CHECK_UNARY(later.check_len());
  CHECK_FALSE(later.more_frags());
  CHECK(later.frag_offset() == 2);
}

TEST_CASE("test_deconstruct_ipv6_and_extension_headers") {
  const uint8_t* p = kEthIpv6ExtChainTcp + 14;
  const uint32_t n = sizeof kEthIpv6ExtChainTcp - 14;
  Ipv6View ip(p, n);
  CHECK_UNARY(ip.check_len());
  CHECK(ip.version() == 6);
  CHECK(ip.payload_len() == 60);
  CHECK(ip.next_header() == ipv6::kHopByHop);
  CHECK(ip.hop_limit() == 64);
  CHECK(ip.dst()[15] == 0x05);
  Ipv6ExtView hbh(p + 40, n - 40, ipv6::kHopByHop);
  CHECK_UNARY(hbh.check_len());
  CHECK(hbh.header_len() == 8);
  CHECK(hbh.next_header() == ipv6::kRouting);
  Ipv6ExtView rt(p + 48, n - 48, ipv6::kRouting);
  CHECK_UNARY(rt.check_len());
  CHECK(rt.header_len() == 24);
  CHECK(rt.next_header() == ipv6::kDestOpts);
  // AH counts in 4-byte units plus 2.
  Ipv6ExtView ah(kEthIpv6AhUdp + 54, sizeof kEthIpv6AhUdp - 54, ipv6::kAuth);
  CHECK_UNARY(ah.check_len());
  CHECK(ah.header_len() == 24);
  CHECK(ah.next_header() == kProtoUdp);
}

TEST_CASE("test_impossible_len_ipv6") {
  for (uint32_t n = 0; n < 40; ++n) CHECK_FALSE(Ipv6View(kSll2Ipv6Udp + 20, n).check_len());
  // The routing header announces 24 bytes: any fewer is refused.
  const uint8_t* rt = kEthIpv6ExtChainTcp + 14 + 48;
  for (uint32_t n = 0; n < 24; ++n) CHECK_FALSE(Ipv6ExtView(rt, n, ipv6::kRouting).check_len());
  CHECK(Ipv6ExtView(rt, 24, ipv6::kRouting).check_len());
  for (uint32_t n = 0; n < 8; ++n) CHECK_FALSE(Ipv6FragView(kEthIpv6FirstFragUdp + 54, n).check_len());
}

TEST_CASE("test_deconstruct_ipv6_fragment_header") {
  Ipv6FragView first(kEthIpv6FirstFragUdp + 54, 8);
  CHECK_UNARY(first.check_len());
  CHECK(first.next_header() == kProtoUdp);
  CHECK(first.frag_offset() == 0);
  CHECK(first.more_frags());
  CHECK(first.ident() == 0xa5d33a2du);
  Ipv6FragView later(kEthIpv6LaterFragUdp + 54, 8);
  CHECK(later.frag_offset() == 2);
  CHECK_FALSE(later.more_frags());
  Ipv6FragView atomic(kEthIpv6AtomicFragUdp + 54, 8);
  CHECK(atomic.frag_offset() == 0);
  CHECK_FALSE(atomic.more_frags());
  CHECK(atomic.ident() == 0x1234);
}

TEST_CASE("test_deconstruct_tcp_udp") {
  TcpView tcp(kEthIpv4Tcp + 34, 20);
  CHECK_UNARY(tcp.check_len());
  CHECK(tcp.src_port() == 43210);
  CHECK(tcp.dst_port() == 80);
  CHECK(tcp.seq() == 1000);
  CHECK(tcp.ack() == 0);
  CHECK(tcp.header_len() == 20);
  CHECK(tcp.flags() == kTcpSyn);
  CHECK(tcp.window() == 8192);
  CHECK(TcpView(kEthIpv4TcpBadDataOffset + 34, 20).header_len() == 16);
  for (uint32_t n = 0; n < 20; ++n) CHECK_FALSE(TcpView(kEthIpv4Tcp + 34, n).check_len());
  UdpView udp(kEthIpv4OptionsUdp + 38, 12);
  CHECK_UNARY(udp.check_len());
  CHECK(udp.src_port() == 5353);
  CHECK(udp.dst_port() == 53);
  CHECK(udp.length() == 12);
  for (uint32_t n = 0; n < 8; ++n) CHECK_FALSE(UdpView(kEthIpv4OptionsUdp + 38, n).check_len());
}

TEST_CASE("test_deconstruct_icmp") {
  IcmpView echo(kSllIpv4IcmpEcho + 36, 8);
  CHECK_UNARY(echo.check_len());
  CHECK(echo.type() == icmp::kEchoRequest);
  CHECK(echo.code() == 0);
  CHECK(echo.ident() == 0x1234);
  CHECK(echo.seq() == 1);
  IcmpView ptb(kEthIpv6PacketTooBigUdp + 54, sizeof kEthIpv6PacketTooBigUdp - 54);
  CHECK_UNARY(ptb.check_len());
  CHECK(ptb.type() == icmp::kV6PacketTooBig);
  CHECK(ptb.rest_of_header() == 1280);
  CHECK(ptb.payload()[0] == 0x60);
  for (uint32_t n = 0; n < 8; ++n) CHECK_FALSE(IcmpView(kSllIpv4IcmpEcho + 36, n).check_len());
}

TEST_CASE("test_icmp_classes") {
  using icmp::v4_class;
  using icmp::v6_class;
  for (uint8_t t : {8, 13, 15, 17}) CHECK(v4_class(t) == IcmpClass::Request);
  for (uint8_t t : {0, 14, 16, 18}) CHECK(v4_class(t) == IcmpClass::Reply);
  for (uint8_t t : {3, 11, 12}) CHECK(v4_class(t) == IcmpClass::Error);
  // Source quench and redirect never open a path as RELATED.
  for (uint8_t t : {4, 5, 9, 10, 30, 255}) CHECK(v4_class(t) == IcmpClass::Other);
  CHECK(v6_class(128) == IcmpClass::Request);
  CHECK(v6_class(129) == IcmpClass::Reply);
  for (uint8_t t : {1, 2, 3, 4}) CHECK(v6_class(t) == IcmpClass::Error);
  for (uint8_t t = 133; t <= 137; ++t) CHECK(v6_class(t) == IcmpClass::NeighborDiscovery);
  for (uint8_t t : {0, 5, 127, 130, 131, 132, 138, 143, 255}) CHECK(v6_class(t) == IcmpClass::Other);
}

}  // TEST_SUITE
