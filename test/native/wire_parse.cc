// parse_frame over byte fixtures: one test per parser path (spec section 5), named as
// smoltcp names them: test_parse_* for what must be understood, test_impossible_len_*
// for lengths that cannot be, test_truncated_* for frames cut short.
#include <doctest/doctest.h>

#include <vector>

#include "fixtures_wire.h"
#include "wire/ipv6.h"

using namespace sgfw;
using namespace sgfw::wire;
using namespace sgfw::wire::fixtures;

namespace {

std::vector<uint8_t> copy(const uint8_t* p, size_t n) { return std::vector<uint8_t>(p, p + n); }
template <size_t N>
std::vector<uint8_t> copy(const uint8_t (&a)[N]) { return copy(a, N); }

PacketMeta parse_vec(const std::vector<uint8_t>& v, LinkType lt, uint32_t wirelen = 0) {
  return parse_exact(v.data(), static_cast<uint32_t>(v.size()), lt, wirelen);
}

void check_malformed(const PacketMeta& m, MalformedSub sub) {
  CHECK(m.kind == FrameKind::Malformed);
  CHECK(m.malformed == sub);
}

}  // namespace

TEST_SUITE("wire parse") {

TEST_CASE("test_link_type_supported") {
  for (uint32_t lt : {0u, 1u, 12u, 14u, 101u, 113u, 228u, 229u, 276u}) {
    CHECK(link_type_supported(lt));
    CHECK(link_type_name(lt) != nullptr);
  }
  for (uint32_t lt : {2u, 9u, 10u, 105u, 127u, 192u, 0xffffffffu}) {
    CHECK_FALSE(link_type_supported(lt));
    CHECK(link_type_name(lt) == nullptr);
  }
  PacketMeta m = parse_exact(kEthIpv4Tcp, static_cast<LinkType>(105));
  check_malformed(m, MalformedSub::Link);
}

TEST_CASE("test_parse_ethernet_ipv4_tcp") {
  PacketMeta m = parse_exact(kEthIpv4Tcp, LinkType::Ethernet);
  CHECK(m.kind == FrameKind::Ip);
  CHECK(m.malformed == MalformedSub::None);
  CHECK(m.frag == FragKind::None);
  CHECK(m.icmp_class == IcmpClass::None);
  CHECK(m.tuple.family == 4);
  CHECK(m.tuple.proto == kProtoTcp);
  CHECK(m.tuple.sport == 43210);
  CHECK(m.tuple.dport == 80);
  CHECK(addr_is(m.tuple.src, v4(192, 0, 2, 10)));
  CHECK(addr_is(m.tuple.dst, v4(198, 51, 100, 5)));
  CHECK(m.tcp_flags == kTcpSyn);
  CHECK(m.has_l4 == 1);
  CHECK(m.frag_id == 0);
  CHECK(m.ip_len == 40);
  CHECK(m.vlan == 0);
  CHECK(m.l3_offset == 14);
  CHECK(m.has_quoted == 0);
}

TEST_CASE("test_parse_ipv4_options_and_padding") {
  // IHL 6: options skipped; the 6 bytes of Ethernet padding after the packet are ignored.
  PacketMeta m = parse_exact(kEthIpv4OptionsUdp, LinkType::Ethernet);
  CHECK(m.kind == FrameKind::Ip);
  CHECK(m.tuple.proto == kProtoUdp);
  CHECK(m.tuple.sport == 5353);
  CHECK(m.tuple.dport == 53);
  CHECK(m.ip_len == 36);
  CHECK(m.has_l4 == 1);
}

TEST_CASE("test_parse_vlan_8021q") {
  PacketMeta m = parse_exact(kEthVlanIpv4Udp, LinkType::Ethernet);
  CHECK(m.kind == FrameKind::Ip);
  CHECK(m.vlan == 100);
  CHECK(m.l3_offset == 18);
  CHECK(m.tuple.sport == 40000);
  CHECK(m.tuple.dport == 4789);
}

TEST_CASE("test_parse_qinq_ipv6_tcp") {
  PacketMeta m = parse_exact(kEthQinQIpv6Tcp, LinkType::Ethernet);
  CHECK(m.kind == FrameKind::Ip);
  CHECK(m.vlan == 200);  // the outermost tag
  CHECK(m.l3_offset == 22);
  CHECK(m.tuple.family == 6);
  CHECK(m.tuple.proto == kProtoTcp);
  CHECK(m.tuple.sport == 443);
  CHECK(m.tuple.dport == 50000);
  CHECK(m.tcp_flags == (kTcpSyn | kTcpAck));
  CHECK(addr_is(m.tuple.src, v6({0x2001, 0xdb8, 0, 0, 0, 0, 0, 0xa})));
  CHECK(addr_is(m.tuple.dst, v6({0x2001, 0xdb8, 1, 0, 0, 0, 0, 5})));
  CHECK(m.ip_len == 60);
}

TEST_CASE("test_parse_vlan_stack_depth_bound") {
  // The QinQ frame with its two tags widened to N tags: 8 parse, 9 are a malformed link.
  auto with_tags = [](int n) {
    std::vector<uint8_t> f(kEthQinQIpv6Tcp, kEthQinQIpv6Tcp + 12);
    for (int i = 0; i < n; ++i) {
      f.insert(f.end(), {0x81, 0x00, 0x00, static_cast<uint8_t>(10 + i)});
    }
    f.insert(f.end(), kEthQinQIpv6Tcp + 20, kEthQinQIpv6Tcp + sizeof kEthQinQIpv6Tcp);
    return f;
  };
  PacketMeta ok = parse_vec(with_tags(8), LinkType::Ethernet);
  CHECK(ok.kind == FrameKind::Ip);
  CHECK(ok.vlan == 10);
  CHECK(ok.l3_offset == 14 + 8 * 4);
  CHECK(ok.tuple.sport == 443);
  check_malformed(parse_vec(with_tags(9), LinkType::Ethernet), MalformedSub::Link);
}

TEST_CASE("test_parse_non_ip") {
  PacketMeta m = parse_exact(kEthArp, LinkType::Ethernet);
  CHECK(m.kind == FrameKind::NonIp);
  CHECK(m.malformed == MalformedSub::None);
  CHECK(m.tuple.family == 0);
  // LLDP behind a VLAN tag: still not IP, and the tag is reported.
  std::vector<uint8_t> lldp = {0x01, 0x80, 0xc2, 0, 0, 0x0e, 0x02, 0, 0, 0, 0, 0x01,
                               0x81, 0x00, 0x00, 0x07, 0x88, 0xcc, 0x02, 0x07, 0x04};
  PacketMeta l = parse_vec(lldp, LinkType::Ethernet);
  CHECK(l.kind == FrameKind::NonIp);
  CHECK(l.vlan == 7);
}

TEST_CASE("test_parse_linux_sll_and_sll2") {
  PacketMeta m = parse_exact(kSllIpv4IcmpEcho, LinkType::LinuxSll);
  CHECK(m.kind == FrameKind::Ip);
  CHECK(m.l3_offset == 16);
  CHECK(m.tuple.proto == kProtoIcmp);
  CHECK(m.icmp_class == IcmpClass::Request);
  CHECK(m.icmp_type == 8);
  CHECK(m.icmp_code == 0);
  CHECK(m.tuple.sport == 0x1234);
  CHECK(m.tuple.dport == 0x1234);
  CHECK(m.has_l4 == 1);
  PacketMeta m2 = parse_exact(kSll2Ipv6Udp, LinkType::LinuxSll2);
  CHECK(m2.kind == FrameKind::Ip);
  CHECK(m2.l3_offset == 20);
  CHECK(m2.tuple.family == 6);
  CHECK(m2.tuple.sport == 5000);
  CHECK(m2.tuple.dport == 6000);
  // An SLL frame of another protocol (802.2 LLC, 0x0004) is not IP.
  auto llc = copy(kSllIpv4IcmpEcho);
  llc[14] = 0x00;
  llc[15] = 0x04;
  CHECK(parse_vec(llc, LinkType::LinuxSll).kind == FrameKind::NonIp);
}

TEST_CASE("test_parse_null_loopback_both_byte_orders") {
  PacketMeta m = parse_exact(kNullIpv4Tcp, LinkType::Null);
  CHECK(m.kind == FrameKind::Ip);
  CHECK(m.l3_offset == 4);
  CHECK(m.tcp_flags == kTcpAck);
  PacketMeta m6 = parse_exact(kNullIpv6UdpBigEndian, LinkType::Null);
  CHECK(m6.kind == FrameKind::Ip);
  CHECK(m6.tuple.family == 6);
  CHECK(m6.tuple.dport == 6000);
  // AF_INET6 as NetBSD (24) and FreeBSD (28) write it, little-endian.
  for (uint8_t af : {24, 28}) {
    auto f = copy(kNullIpv6UdpBigEndian);
    f[0] = af; f[1] = 0; f[2] = 0; f[3] = 0;
    CHECK(parse_vec(f, LinkType::Null).tuple.family == 6);
  }
  // Another family (AF_APPLETALK = 16) is not IP.
  auto other = copy(kNullIpv4Tcp);
  other[0] = 16;
  CHECK(parse_vec(other, LinkType::Null).kind == FrameKind::NonIp);
}

TEST_CASE("test_parse_raw_ip_by_version_nibble") {
  PacketMeta m6 = parse_exact(kRawIpv6Icmpv6Echo, LinkType::Raw);
  CHECK(m6.kind == FrameKind::Ip);
  CHECK(m6.l3_offset == 0);
  CHECK(m6.icmp_class == IcmpClass::Request);
  CHECK(m6.icmp_type == 128);
  CHECK(m6.tuple.sport == 0xbeef);
  CHECK(m6.tuple.dport == 0xbeef);
  // DLT_RAW as 12 and 14 are the same link type.
  for (uint32_t lt : {12u, 14u}) {
    PacketMeta r = parse_exact(kRawIpv4Gre, static_cast<LinkType>(lt));
    CHECK(r.kind == FrameKind::Ip);
    CHECK(r.tuple.proto == kProtoGre);
  }
  // LINKTYPE_IPV4 / IPV6 require their own version.
  CHECK(parse_exact(kRawIpv4Gre, LinkType::Ipv4).kind == FrameKind::Ip);
  check_malformed(parse_exact(kRawIpv4Gre, LinkType::Ipv6), MalformedSub::Ipv6Header);
  CHECK(parse_exact(kRawIpv6Icmpv6Echo, LinkType::Ipv6).kind == FrameKind::Ip);
  check_malformed(parse_exact(kRawIpv6Icmpv6Echo, LinkType::Ipv4), MalformedSub::Ipv4Header);
  // Version 5 and an empty frame are no IP header.
  auto v5 = copy(kRawIpv4Gre);
  v5[0] = 0x55;
  check_malformed(parse_vec(v5, LinkType::Raw), MalformedSub::Ipv4Header);
  check_malformed(parse_exact(kRawIpv4Gre, 0, LinkType::Raw), MalformedSub::Ipv4Header);
}

TEST_CASE("test_parse_gre_no_ports") {
  PacketMeta m = parse_exact(kRawIpv4Gre, LinkType::Raw);
  CHECK(m.kind == FrameKind::Ip);
  CHECK(m.tuple.proto == kProtoGre);
  CHECK(m.tuple.sport == 0);
  CHECK(m.tuple.dport == 0);
  CHECK(m.has_l4 == 0);
  CHECK(m.icmp_class == IcmpClass::None);
}

TEST_CASE("test_parse_ipv4_version_mismatch") {
  auto f = copy(kEthIpv4Tcp);
  f[14] = 0x65;  // version 6 behind EtherType IPv4
  check_malformed(parse_vec(f, LinkType::Ethernet), MalformedSub::Ipv4Header);
  auto g = copy(kEthQinQIpv6Tcp);
  g[22] = 0x40;  // version 4 behind EtherType IPv6
  check_malformed(parse_vec(g, LinkType::Ethernet), MalformedSub::Ipv6Header);
}

TEST_CASE("test_impossible_len_ipv4_bad_ihl") {
  // The tcpdump trace record: IHL 4.
  PacketMeta m = parse_exact(kTcpdumpIpv4InvalidHdrLength, LinkType::Ethernet);
  check_malformed(m, MalformedSub::Ipv4Header);
  CHECK(m.l3_offset == 14);
  // IHL 15 (60 bytes) in a 40-byte packet: the header reaches past the capture.
  auto f = copy(kEthIpv4Tcp);
  f[14] = 0x4f;
  check_malformed(parse_vec(f, LinkType::Ethernet), MalformedSub::Ipv4Header);
}

TEST_CASE("test_impossible_len_ipv4_total_length") {
  auto f = copy(kEthIpv4Tcp);
  f[16] = 0; f[17] = 19;  // total length 19 < IHL*4
  check_malformed(parse_vec(f, LinkType::Ethernet), MalformedSub::Ipv4Length);
  f[17] = 0;  // total length 0 (as TSO captures show): malformed too
  check_malformed(parse_vec(f, LinkType::Ethernet), MalformedSub::Ipv4Length);
  f[17] = 41;  // one byte more than the unsnapped frame holds
  check_malformed(parse_vec(f, LinkType::Ethernet), MalformedSub::Ipv4Length);
  // The same when the capture was snapped but the wire frame holds the byte: headers parse.
  PacketMeta snapped = parse_vec(f, LinkType::Ethernet, 55);
  CHECK(snapped.kind == FrameKind::Ip);
  CHECK(snapped.ip_len == 41);
  CHECK(snapped.tuple.dport == 80);
  // Snapped, but the IP packet claims more than even the wire frame had.
  check_malformed(parse_vec(f, LinkType::Ethernet, 54), MalformedSub::Ipv4Length);
}

TEST_CASE("test_parse_snapped_capture") {
  // A 1514-byte frame captured with snaplen 54: headers are all there.
  auto f = copy(kEthIpv4Tcp);
  f[16] = 0x05; f[17] = 0xdc;  // total length 1500
  PacketMeta m = parse_vec(f, LinkType::Ethernet, 1514);
  CHECK(m.kind == FrameKind::Ip);
  CHECK(m.ip_len == 1500);
  CHECK(m.tuple.sport == 43210);
  CHECK(m.tcp_flags == kTcpSyn);
  // The same frame unsnapped is a length beyond the capture.
  check_malformed(parse_vec(f, LinkType::Ethernet), MalformedSub::Ipv4Length);
  // TCP options cut by snaplen: the fixed header is enough.
  auto o = copy(kEthIpv4Tcp);
  o[46] = 0xa0;  // data offset 10 (40 bytes) in a 1500-byte packet whose capture ends at 20
  o[16] = 0x05; o[17] = 0xdc;
  PacketMeta mo = parse_vec(o, LinkType::Ethernet, 1514);
  CHECK(mo.kind == FrameKind::Ip);
  CHECK(mo.tuple.dport == 80);
}

TEST_CASE("test_parse_ipv4_first_fragment") {
  PacketMeta m = parse_exact(kEthIpv4FirstFragUdp, LinkType::Ethernet);
  CHECK(m.kind == FrameKind::Ip);
  CHECK(m.frag == FragKind::First);
  CHECK(m.frag_id == 0x4242);
  CHECK(m.tuple.sport == 1234);
  CHECK(m.tuple.dport == 53);
  CHECK(m.has_l4 == 1);
  CHECK(m.ip_len == 36);  // the UDP length (100) is the datagram's, not checked here
}

TEST_CASE("test_parse_ipv4_later_fragment") {
  PacketMeta m = parse_exact(kEthIpv4LaterFragUdp, LinkType::Ethernet);
  CHECK(m.kind == FrameKind::Ip);
  CHECK(m.frag == FragKind::Later);
  CHECK(m.frag_id == 0x4242);
  CHECK(m.tuple.proto == kProtoUdp);
  CHECK(m.tuple.sport == 0);
  CHECK(m.tuple.dport == 0);
  CHECK(m.has_l4 == 0);
  CHECK(addr_is(m.tuple.src, v4(192, 0, 2, 10)));
  // A later fragment of TCP carries no header either.
  auto t = copy(kEthIpv4LaterFragUdp);
  t[23] = kProtoTcp;
  PacketMeta mt = parse_vec(t, LinkType::Ethernet);
  CHECK(mt.frag == FragKind::Later);
  CHECK(mt.tcp_flags == 0);
  CHECK(mt.tuple.sport == 0);
}

TEST_CASE("test_parse_ipv4_tiny_fragment") {
  check_malformed(parse_exact(kEthIpv4TinyFragTcp, LinkType::Ethernet), MalformedSub::TinyFragment);
  // UDP: 7 bytes of an 8-byte header.
  auto u = copy(kEthIpv4FirstFragUdp);
  u[17] = 27;  // total length 27: 7 bytes of payload
  check_malformed(parse_vec(u, LinkType::Ethernet), MalformedSub::TinyFragment);
  // RFC 1858: a TCP fragment at offset 8 bytes would overwrite the flags.
  auto fo1 = copy(kEthIpv4LaterFragUdp);
  fo1[23] = kProtoTcp;
  fo1[21] = 0x01;
  check_malformed(parse_vec(fo1, LinkType::Ethernet), MalformedSub::TinyFragment);
  // ...while the same for UDP is an ordinary later fragment.
  auto fo1u = copy(kEthIpv4LaterFragUdp);
  fo1u[21] = 0x01;
  CHECK(parse_vec(fo1u, LinkType::Ethernet).frag == FragKind::Later);
}

TEST_CASE("test_impossible_len_ipv4_fragment_overflow") {
  // Offset 8189 * 8 = 65512, plus 8 bytes = 65520: fits. Offset 8191 * 8 + 8 > 65535.
  auto f = copy(kEthIpv4LaterFragUdp);
  f[20] = 0x1f; f[21] = 0xfd;
  CHECK(parse_vec(f, LinkType::Ethernet).frag == FragKind::Later);
  f[21] = 0xff;
  check_malformed(parse_vec(f, LinkType::Ethernet), MalformedSub::Fragment);
}

TEST_CASE("test_parse_tcp_bad_data_offset") {
  check_malformed(parse_exact(kEthIpv4TcpBadDataOffset, LinkType::Ethernet), MalformedSub::Tcp);
  // Data offset 6 (24 bytes) in a 20-byte segment: beyond the segment.
  auto f = copy(kEthIpv4Tcp);
  f[46] = 0x60;
  check_malformed(parse_vec(f, LinkType::Ethernet), MalformedSub::Tcp);
  // An IP packet too short for the fixed TCP header.
  auto s = copy(kEthIpv4Tcp);
  s[17] = 39;
  check_malformed(parse_vec(std::vector<uint8_t>(s.begin(), s.end() - 1), LinkType::Ethernet),
                  MalformedSub::Tcp);
}

TEST_CASE("test_parse_udp_length_field") {
  auto f = copy(kEthVlanIpv4Udp);
  f[42] = 0; f[43] = 7;  // UDP length 7 < 8
  check_malformed(parse_vec(f, LinkType::Ethernet), MalformedSub::Udp);
  f[43] = 9;  // longer than the 8-byte IP payload
  check_malformed(parse_vec(f, LinkType::Ethernet), MalformedSub::Udp);
  // Shorter than the IP payload is trailing padding, accepted.
  auto o = copy(kEthIpv4OptionsUdp);
  o[43] = 8;
  CHECK(parse_vec(o, LinkType::Ethernet).kind == FrameKind::Ip);
}

TEST_CASE("test_parse_icmp_error_quoting_udp") {
  PacketMeta m = parse_exact(kEthIpv4IcmpUnreachUdp, LinkType::Ethernet);
  CHECK(m.kind == FrameKind::Ip);
  CHECK(m.icmp_class == IcmpClass::Error);
  CHECK(m.icmp_type == 3);
  CHECK(m.icmp_code == 3);
  CHECK(m.tuple.sport == 0);
  CHECK(m.tuple.dport == 0);
  CHECK(addr_is(m.tuple.src, v4(198, 51, 100, 5)));
  CHECK(m.has_quoted == 1);
  CHECK(m.quoted.family == 4);
  CHECK(m.quoted.proto == kProtoUdp);
  CHECK(addr_is(m.quoted.src, v4(192, 0, 2, 10)));
  CHECK(addr_is(m.quoted.dst, v4(198, 51, 100, 5)));
  CHECK(m.quoted.sport == 5353);
  CHECK(m.quoted.dport == 53);
}

TEST_CASE("test_parse_icmp_error_quoting_tcp_with_options") {
  PacketMeta m = parse_exact(kEthIpv4IcmpFragNeededTcp, LinkType::Ethernet);
  CHECK(m.icmp_class == IcmpClass::Error);
  CHECK(m.icmp_code == 4);
  CHECK(m.has_quoted == 1);
  CHECK(m.quoted.proto == kProtoTcp);
  CHECK(m.quoted.sport == 43210);
  CHECK(m.quoted.dport == 25);
}

TEST_CASE("test_parse_icmp_error_quoting_echo_uses_identifier") {
  PacketMeta m = parse_exact(kEthIpv4IcmpTimeExceededEcho, LinkType::Ethernet);
  CHECK(m.icmp_class == IcmpClass::Error);
  CHECK(m.icmp_type == 11);
  CHECK(m.has_quoted == 1);
  CHECK(m.quoted.proto == kProtoIcmp);
  CHECK(m.quoted.sport == 0x0777);
  CHECK(m.quoted.dport == 0x0777);
}

TEST_CASE("test_truncated_icmp_quote") {
  // Quote cut before the ports (IP total length shortened with it): no quoted tuple, still IP.
  auto f = copy(kEthIpv4IcmpUnreachUdp);
  f.resize(f.size() - 5);
  f[17] = static_cast<uint8_t>(f.size() - 14);
  PacketMeta m = parse_vec(f, LinkType::Ethernet);
  CHECK(m.kind == FrameKind::Ip);
  CHECK(m.icmp_class == IcmpClass::Error);
  CHECK(m.has_quoted == 0);
  CHECK(m.quoted.family == 0);
  // A quoted later fragment cannot name a flow.
  auto g = copy(kEthIpv4IcmpUnreachUdp);
  g[48] = 0x00; g[49] = 0x10;  // quoted fragment offset 16
  CHECK(parse_vec(g, LinkType::Ethernet).has_quoted == 0);
  // A quote with a bad IHL is ignored, not malformed.
  auto h = copy(kEthIpv4IcmpUnreachUdp);
  h[42] = 0x44;
  PacketMeta mh = parse_vec(h, LinkType::Ethernet);
  CHECK(mh.kind == FrameKind::Ip);
  CHECK(mh.has_quoted == 0);
}

TEST_CASE("test_parse_icmp_source_quench_and_redirect_are_other") {
  for (uint8_t type : {4, 5}) {
    auto f = copy(kEthIpv4IcmpUnreachUdp);
    f[34] = type;
    PacketMeta m = parse_vec(f, LinkType::Ethernet);
    CHECK(m.icmp_class == IcmpClass::Other);
    CHECK(m.icmp_type == type);
    CHECK(m.has_quoted == 0);
    CHECK(m.tuple.sport == 0);
  }
}

TEST_CASE("test_parse_icmp_timestamp_info_mask_carry_identifier") {
  const uint8_t types[][2] = {{13, 1}, {14, 2}, {15, 1}, {16, 2}, {17, 1}, {18, 2}, {0, 2}};
  for (const auto& tc : types) {
    auto f = copy(kSllIpv4IcmpEcho);
    f[36] = tc[0];
    PacketMeta m = parse_vec(f, LinkType::LinuxSll);
    CHECK(m.icmp_class == static_cast<IcmpClass>(tc[1]));
    CHECK(m.tuple.sport == 0x1234);
  }
}

TEST_CASE("test_truncated_icmp_header") {
  auto f = copy(kSllIpv4IcmpEcho);
  f.resize(f.size() - 1);
  f[19] = 27;  // IP total length 27: 7 bytes of ICMP
  check_malformed(parse_vec(f, LinkType::LinuxSll), MalformedSub::Icmp);
}

TEST_CASE("test_parse_ipv6_extension_chain") {
  PacketMeta m = parse_exact(kEthIpv6ExtChainTcp, LinkType::Ethernet);
  CHECK(m.kind == FrameKind::Ip);
  CHECK(m.tuple.family == 6);
  CHECK(m.tuple.proto == kProtoTcp);
  CHECK(m.tuple.sport == 43210);
  CHECK(m.tuple.dport == 22);
  CHECK(m.tcp_flags == kTcpSyn);
  CHECK(m.ip_len == 100);
  // The destination is the IPv6 header's, not the routing header's 2001:db8::99.
  CHECK(addr_is(m.tuple.dst, v6({0x2001, 0xdb8, 1, 0, 0, 0, 0, 5})));
}

TEST_CASE("test_parse_ipv6_authentication_header") {
  PacketMeta m = parse_exact(kEthIpv6AhUdp, LinkType::Ethernet);
  CHECK(m.kind == FrameKind::Ip);
  CHECK(m.tuple.proto == kProtoUdp);
  CHECK(m.tuple.sport == 500);
  CHECK(m.tuple.dport == 500);
}

TEST_CASE("test_parse_ipv6_esp_and_no_next_header_end_the_chain") {
  for (uint8_t nh : {50, 59}) {
    auto f = copy(kEthIpv6ExtChainTcp);
    f[14 + 40 + 8 + 24] = nh;  // destination options' next header
    PacketMeta m = parse_vec(f, LinkType::Ethernet);
    CHECK(m.kind == FrameKind::Ip);
    CHECK(m.tuple.proto == nh);
    CHECK(m.tuple.sport == 0);
    CHECK(m.has_l4 == 0);
  }
}

// IPv6 + `n` destination-options headers (8 bytes each) + UDP.
static std::vector<uint8_t> ipv6_with_dest_opts(int n) {
  std::vector<uint8_t> f(kEthIpv6AtomicFragUdp, kEthIpv6AtomicFragUdp + 54);
  const uint32_t plen = n * 8 + 8;
  f[18] = plen >> 8; f[19] = plen & 0xff;
  f[20] = n > 0 ? ipv6::kDestOpts : kProtoUdp;
  for (int i = 0; i < n; ++i) {
    f.insert(f.end(), {static_cast<uint8_t>(i + 1 < n ? ipv6::kDestOpts : kProtoUdp), 0, 1, 4, 0, 0, 0, 0});
  }
  f.insert(f.end(), {0x13, 0x88, 0x17, 0x70, 0x00, 0x08, 0x00, 0x00});
  return f;
}

TEST_CASE("test_impossible_len_ipv6_endless_chain") {
  PacketMeta ok = parse_vec(ipv6_with_dest_opts(16), LinkType::Ethernet);
  CHECK(ok.kind == FrameKind::Ip);
  CHECK(ok.tuple.dport == 6000);
  check_malformed(parse_vec(ipv6_with_dest_opts(17), LinkType::Ethernet), MalformedSub::Ipv6ExtChain);
  // A chain that never ends: every header says "another destination options header
  // follows" until the packet runs out.
  auto f = ipv6_with_dest_opts(5);
  f[14 + 40 + 4 * 8] = ipv6::kDestOpts;  // the last one points to another, not to UDP
  check_malformed(parse_vec(f, LinkType::Ethernet), MalformedSub::Ipv6ExtChain);
}

TEST_CASE("test_impossible_len_ipv6_ext_header_beyond_payload") {
  // Routing header announcing 255 * 8 + 8 bytes in a 60-byte payload.
  auto f = copy(kEthIpv6ExtChainTcp);
  f[14 + 40 + 8 + 1] = 0xff;
  check_malformed(parse_vec(f, LinkType::Ethernet), MalformedSub::Ipv6ExtChain);
  // Payload length ending inside the chain, trailing bytes in the frame notwithstanding.
  auto g = copy(kEthIpv6ExtChainTcp);
  g[19] = 20;
  check_malformed(parse_vec(g, LinkType::Ethernet), MalformedSub::Ipv6ExtChain);
}

TEST_CASE("test_impossible_len_ipv6_payload_beyond_capture") {
  auto f = copy(kEthIpv6AtomicFragUdp);
  f[19] = 17;
  check_malformed(parse_vec(f, LinkType::Ethernet), MalformedSub::Ipv6Header);
  PacketMeta snapped = parse_vec(f, LinkType::Ethernet, 71);
  CHECK(snapped.kind == FrameKind::Ip);
  CHECK(snapped.ip_len == 57);
}

TEST_CASE("test_parse_ipv6_atomic_fragment") {
  PacketMeta m = parse_exact(kEthIpv6AtomicFragUdp, LinkType::Ethernet);
  CHECK(m.kind == FrameKind::Ip);
  CHECK(m.frag == FragKind::None);
  CHECK(m.frag_id == 0);
  CHECK(m.tuple.proto == kProtoUdp);
  CHECK(m.tuple.sport == 5000);
  CHECK(m.has_l4 == 1);
}

TEST_CASE("test_parse_ipv6_first_and_later_fragment") {
  PacketMeta first = parse_exact(kEthIpv6FirstFragUdp, LinkType::Ethernet);
  CHECK(first.kind == FrameKind::Ip);
  CHECK(first.frag == FragKind::First);
  CHECK(first.frag_id == 0xa5d33a2du);
  CHECK(first.tuple.proto == kProtoUdp);
  CHECK(first.tuple.sport == 5000);
  CHECK(first.tuple.dport == 6000);
  PacketMeta later = parse_exact(kEthIpv6LaterFragUdp, LinkType::Ethernet);
  CHECK(later.kind == FrameKind::Ip);
  CHECK(later.frag == FragKind::Later);
  CHECK(later.frag_id == 0xa5d33a2du);
  CHECK(later.tuple.proto == kProtoUdp);
  CHECK(later.tuple.sport == 0);
  CHECK(later.has_l4 == 0);
}

TEST_CASE("test_parse_ipv6_fragment_rules") {
  // First fragment too short for the UDP header.
  auto tiny = copy(kEthIpv6FirstFragUdp);
  tiny.resize(14 + 40 + 8 + 4);
  tiny[19] = 12;
  check_malformed(parse_vec(tiny, LinkType::Ethernet), MalformedSub::TinyFragment);
  // Offset 8191 * 8 + 8 bytes passes 65535.
  auto big = copy(kEthIpv6LaterFragUdp);
  big[56] = 0xff; big[57] = 0xf8;
  check_malformed(parse_vec(big, LinkType::Ethernet), MalformedSub::Fragment);
  // Two real fragment headers in one packet.
  std::vector<uint8_t> two(kEthIpv6FirstFragUdp, kEthIpv6FirstFragUdp + 54);
  two[19] = 32;
  two.insert(two.end(), {44, 0, 0, 1, 0, 0, 0, 1});
  two.insert(two.end(), kEthIpv6FirstFragUdp + 54, kEthIpv6FirstFragUdp + sizeof kEthIpv6FirstFragUdp);
  check_malformed(parse_vec(two, LinkType::Ethernet), MalformedSub::Ipv6ExtChain);
}

TEST_CASE("test_parse_icmpv6_packet_too_big_quote") {
  PacketMeta m = parse_exact(kEthIpv6PacketTooBigUdp, LinkType::Ethernet);
  CHECK(m.kind == FrameKind::Ip);
  CHECK(m.tuple.proto == kProtoIcmpv6);
  CHECK(m.icmp_class == IcmpClass::Error);
  CHECK(m.icmp_type == 2);
  CHECK(m.has_quoted == 1);
  CHECK(m.quoted.family == 6);
  CHECK(m.quoted.proto == kProtoUdp);  // through the quoted destination options header
  CHECK(m.quoted.sport == 30000);
  CHECK(m.quoted.dport == 13000);
  CHECK(addr_is(m.quoted.src, v6({0x2001, 0xdb8, 0, 0, 0, 0, 0, 0xa})));
  CHECK(addr_is(m.quoted.dst, v6({0x2001, 0xdb8, 1, 0, 0, 0, 0, 5})));
}

TEST_CASE("test_parse_icmpv6_quote_with_endless_chain") {
  // The quoted destination options header points to itself until the quote ends.
  auto f = copy(kEthIpv6PacketTooBigUdp);
  f[14 + 48 + 40] = ipv6::kDestOpts;
  PacketMeta m = parse_vec(f, LinkType::Ethernet);
  CHECK(m.kind == FrameKind::Ip);
  CHECK(m.icmp_class == IcmpClass::Error);
  CHECK(m.has_quoted == 0);
}

TEST_CASE("test_parse_icmpv6_neighbor_discovery") {
  PacketMeta m = parse_exact(kEthIpv6NeighborSolicit, LinkType::Ethernet);
  CHECK(m.kind == FrameKind::Ip);
  CHECK(m.icmp_class == IcmpClass::NeighborDiscovery);
  CHECK(m.icmp_type == 135);
  CHECK(m.tuple.sport == 0);
  // MLD (130) is not ND: Other.
  auto f = copy(kEthIpv6NeighborSolicit);
  f[54] = 130;
  CHECK(parse_vec(f, LinkType::Ethernet).icmp_class == IcmpClass::Other);
}

TEST_CASE("test_parse_icmp_number_in_wrong_family") {
  // Protocol 58 inside IPv4 is just a number; so is protocol 1 inside IPv6.
  auto f = copy(kSllIpv4IcmpEcho);
  f[25] = kProtoIcmpv6;
  PacketMeta m = parse_vec(f, LinkType::LinuxSll);
  CHECK(m.kind == FrameKind::Ip);
  CHECK(m.icmp_class == IcmpClass::None);
  CHECK(m.has_l4 == 0);
}

TEST_CASE("test_truncated_link_headers") {
  for (uint32_t n = 0; n < 14; ++n) check_malformed(parse_exact(kEthIpv4Tcp, n, LinkType::Ethernet), MalformedSub::Link);
  for (uint32_t n = 0; n < 16; ++n) check_malformed(parse_exact(kSllIpv4IcmpEcho, n, LinkType::LinuxSll), MalformedSub::Link);
  for (uint32_t n = 0; n < 20; ++n) check_malformed(parse_exact(kSll2Ipv6Udp, n, LinkType::LinuxSll2), MalformedSub::Link);
  for (uint32_t n = 0; n < 4; ++n) check_malformed(parse_exact(kNullIpv4Tcp, n, LinkType::Null), MalformedSub::Link);
  for (uint32_t n = 14; n < 18; ++n) check_malformed(parse_exact(kEthVlanIpv4Udp, n, LinkType::Ethernet), MalformedSub::Link);
  // Null data pointer with zero length.
  PacketMeta m;
  parse_frame(nullptr, 0, 0, LinkType::Ethernet, m);
  check_malformed(m, MalformedSub::Link);
}

TEST_CASE("test_parse_overwrites_previous_result") {
  PacketMeta m;
  parse_frame(kEthIpv6PacketTooBigUdp, sizeof kEthIpv6PacketTooBigUdp, sizeof kEthIpv6PacketTooBigUdp,
              LinkType::Ethernet, m);
  CHECK(m.has_quoted == 1);
  parse_frame(kEthArp, sizeof kEthArp, sizeof kEthArp, LinkType::Ethernet, m);
  CHECK(meta_eq(m, parse_exact(kEthArp, LinkType::Ethernet)));
  CHECK(m.has_quoted == 0);
  CHECK(m.quoted.family == 0);
}

}  // TEST_SUITE
