// parse_frame over every record of every pcap in ../shared/traces/ (see SOURCES.tsv there):
// no crash, malformed exactly where the traces are known to be broken, and the expected
// result for a few known packets. The pcap reader here is deliberately minimal (classic
// pcap only, both byte orders); the product's reader lives in native/capture.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <map>
#include <string>
#include <vector>

#include "fixtures_wire.h"

using namespace sgfw;
using namespace sgfw::wire;
using namespace sgfw::wire::fixtures;

namespace {

struct Trace {
  bool ok = false;
  uint32_t link_type = 0;
  std::vector<PacketMeta> metas;
  std::vector<uint32_t> caplens;
};

// The traces directory: $SGFW_TRACES, else ../shared/traces seen from the checkout root
// or from native/ (where `make -C native test` runs), else "".
std::string traces_dir() {
  if (const char* env = std::getenv("SGFW_TRACES")) return env;
  for (const char* c : {"../shared/traces", "../../shared/traces", "../../../shared/traces"}) {
    std::string probe = std::string(c) + "/SOURCES.tsv";
    if (FILE* f = std::fopen(probe.c_str(), "rb")) {
      std::fclose(f);
      return c;
    }
  }
  return "";
}

uint32_t rd32(const uint8_t* p, bool swap) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return swap ? __builtin_bswap32(v) : v;
}

Trace read_trace(const std::string& path) {
  Trace t;
  std::vector<uint8_t> buf;
  if (FILE* f = std::fopen(path.c_str(), "rb")) {
    uint8_t chunk[4096];
    size_t n;
    while ((n = std::fread(chunk, 1, sizeof chunk, f)) > 0) buf.insert(buf.end(), chunk, chunk + n);
    std::fclose(f);
  }
  if (buf.size() < 24) return t;
  const uint32_t magic = rd32(buf.data(), false);
  bool swap;
  if (magic == 0xa1b2c3d4u || magic == 0xa1b23c4du) swap = false;
  else if (magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u) swap = true;
  else return t;
  t.link_type = rd32(buf.data() + 20, swap);
  size_t off = 24;
  while (off + 16 <= buf.size()) {
    const uint32_t caplen = rd32(buf.data() + off + 8, swap);
    const uint32_t wirelen = rd32(buf.data() + off + 12, swap);
    off += 16;
    if (caplen > buf.size() - off) return t;
    PacketMeta m = parse_exact(buf.data() + off, caplen, static_cast<LinkType>(t.link_type), wirelen);
    t.metas.push_back(m);
    t.caplens.push_back(caplen);
    off += caplen;
  }
  t.ok = off == buf.size();
  return t;
}

}  // namespace

TEST_SUITE("wire traces") {

TEST_CASE("test_parse_shared_traces") {
  const std::string dir = traces_dir();
  if (dir.empty()) {
    MESSAGE("skipped: ../shared/traces not found (set SGFW_TRACES to its path)");
    return;
  }
  std::map<std::string, Trace> traces;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string name = e->d_name;
      if (name.size() > 5 && name.compare(name.size() - 5, 5, ".pcap") == 0) {
        traces[name] = read_trace(dir + "/" + name);
      }
    }
    closedir(d);
  }
  // Packets per trace (SOURCES.tsv) and how many of them are malformed, and why.
  struct Want { size_t packets; size_t malformed; };
  const std::map<std::string, Want> want = {
      {"sv-dns-udp-icmp-portunreach.pcap", {7, 0}},  {"sv-ipv4frags-icmp.pcap", {3, 0}},
      {"sv-rawip-frag-tcp-syn.pcap", {3, 2}},        {"sv-smtp-icmp-fragneeded.pcap", {60, 0}},
      {"sv-tcp-ipv6-useless-fraghdr.pcap", {8, 0}},  {"sv-tcp-oow-ipv4.pcap", {3, 0}},
      {"sv-tcp-oow-ipv6.pcap", {3, 0}},              {"sv-tcp-session-equivalence.pcap", {10, 0}},
      {"sv-vlan-ipv6-frag-tcp.pcap", {3, 0}},        {"tcpdump-ipv4-invalid-hdr-length.pcap", {1, 1}},
      {"zeek-communityid-ipv6.pcap", {17, 0}},       {"zeek-communityid-tcp.pcap", {12, 0}},
      {"zeek-gre-sample.pcap", {40, 0}},             {"zeek-icmp-dot1q.pcap", {15, 0}},
      {"zeek-icmp6-toobig.pcap", {1, 0}},            {"zeek-ipv6-fragmented-dns.pcap", {8, 0}},
      {"zeek-ipv6-hbh-routing0.pcap", {1, 0}},       {"zeek-tcp-syn-then-rst.pcap", {2, 0}},
      {"zeek-trunc-ip4.pcap", {1, 1}},               {"zeek-trunc-ip6-ext.pcap", {1, 1}},
  };
  CHECK(traces.size() == want.size());
  for (const auto& entry : want) {
    const std::string& name = entry.first;
    const Want& w = entry.second;
    INFO("trace ", name);
    auto it = traces.find(name);
    CHECK(it != traces.end());
    if (it == traces.end()) continue;
    const Trace& t = it->second;
    CHECK(t.ok);
    CHECK(link_type_supported(t.link_type));
    CHECK(t.metas.size() == w.packets);
    size_t malformed = 0;
    for (const PacketMeta& m : t.metas) malformed += m.kind == FrameKind::Malformed;
    CHECK(malformed == w.malformed);
  }
  auto pkt = [&](const char* name, size_t i) -> const PacketMeta* {
    auto it = traces.find(name);
    if (it == traces.end() || i >= it->second.metas.size()) return nullptr;
    return &it->second.metas[i];
  };
  auto at = [&](const char* name, size_t i) {
    const PacketMeta* p = pkt(name, i);
    static const PacketMeta none;
    CHECK_MESSAGE(p != nullptr, name, " has no packet ", i);
    return p ? *p : none;
  };

  // Ethernet + IPv4 with 6 bytes of a 20-byte header captured.
  CHECK(at("zeek-trunc-ip4.pcap", 0).malformed == MalformedSub::Ipv4Header);
  CHECK(at("tcpdump-ipv4-invalid-hdr-length.pcap", 0).malformed == MalformedSub::Ipv4Header);
  // Payload length 20 with nothing after the IPv6 header, capture not snapped.
  CHECK(at("zeek-trunc-ip6-ext.pcap", 0).malformed == MalformedSub::Ipv6Header);

  {  // ICMPv6 packet too big quoting UDP fe80::beef:30000 -> fe80::dead:13000.
    const PacketMeta m = at("zeek-icmp6-toobig.pcap", 0);
    CHECK(m.kind == FrameKind::Ip);
    CHECK(m.icmp_class == IcmpClass::Error);
    CHECK(m.icmp_type == 2);
    CHECK(addr_is(m.tuple.src, v6({0xfe80, 0, 0, 0, 0, 0, 0, 0xdead})));
    CHECK(m.has_quoted == 1);
    CHECK(m.quoted.proto == kProtoUdp);
    CHECK(addr_is(m.quoted.src, v6({0xfe80, 0, 0, 0, 0, 0, 0, 0xbeef})));
    CHECK(addr_is(m.quoted.dst, v6({0xfe80, 0, 0, 0, 0, 0, 0, 0xdead})));
    CHECK(m.quoted.sport == 30000);
    CHECK(m.quoted.dport == 13000);
  }
  {  // HBH + routing type 0 + UDP 53 -> 53: the destination stays the header's field.
    const PacketMeta m = at("zeek-ipv6-hbh-routing0.pcap", 0);
    CHECK(m.kind == FrameKind::Ip);
    CHECK(m.tuple.proto == kProtoUdp);
    CHECK(m.tuple.sport == 53);
    CHECK(m.tuple.dport == 53);
    CHECK(addr_is(m.tuple.dst, v6({0x2001, 0x4f8, 4, 7, 0x2e0, 0x81ff, 0xfe52, 0x9a6b})));
  }
  {  // Raw IPv4 TCP SYN in 8-byte fragments: tiny first, offset-8 TCP, then a later one.
    CHECK(at("sv-rawip-frag-tcp-syn.pcap", 0).malformed == MalformedSub::TinyFragment);
    CHECK(at("sv-rawip-frag-tcp-syn.pcap", 1).malformed == MalformedSub::TinyFragment);
    const PacketMeta m = at("sv-rawip-frag-tcp-syn.pcap", 2);
    CHECK(m.frag == FragKind::Later);
    CHECK(m.frag_id == 1);
    CHECK(m.tuple.proto == kProtoTcp);
  }
  {  // VLAN 6 + IPv6 fragments of one TCP segment.
    const PacketMeta first = at("sv-vlan-ipv6-frag-tcp.pcap", 0);
    CHECK(first.vlan == 6);
    CHECK(first.frag == FragKind::First);
    CHECK(first.frag_id == 0xa5d33a2du);
    CHECK(first.tuple.sport == 12345);
    CHECK(first.tuple.dport == 8080);
    CHECK(first.tcp_flags == kTcpAck);
    for (size_t i : {1, 2}) {
      const PacketMeta later = at("sv-vlan-ipv6-frag-tcp.pcap", i);
      CHECK(later.frag == FragKind::Later);
      CHECK(later.frag_id == 0xa5d33a2du);
      CHECK(later.tuple.sport == 0);
    }
  }
  {  // Atomic fragment header on the data segment: an ordinary packet.
    const PacketMeta m = at("sv-tcp-ipv6-useless-fraghdr.pcap", 3);
    CHECK(m.kind == FrameKind::Ip);
    CHECK(m.frag == FragKind::None);
    CHECK(m.tuple.sport == 43210);
    CHECK(m.tuple.dport == 80);
    CHECK(m.tcp_flags == (kTcpPsh | kTcpAck));
  }
  {  // IPv6 DNS: a later fragment, then a first fragment with the UDP ports.
    CHECK(at("zeek-ipv6-fragmented-dns.pcap", 3).frag == FragKind::Later);
    const PacketMeta m = at("zeek-ipv6-fragmented-dns.pcap", 5);
    CHECK(m.frag == FragKind::First);
    CHECK(m.frag_id == 2);
    CHECK(m.tuple.sport == 53);
    CHECK(m.tuple.dport == 51851);
  }
  {  // ICMP port unreachable quoting the DNS reply 192.168.10.10:53 -> 192.168.10.31:58186.
    const PacketMeta m = at("sv-dns-udp-icmp-portunreach.pcap", 6);
    CHECK(m.icmp_class == IcmpClass::Error);
    CHECK(m.icmp_type == 3);
    CHECK(m.icmp_code == 3);
    CHECK(m.has_quoted == 1);
    CHECK(m.quoted.proto == kProtoUdp);
    CHECK(addr_is(m.quoted.src, v4(192, 168, 10, 10)));
    CHECK(m.quoted.sport == 53);
    CHECK(m.quoted.dport == 58186);
  }
  {  // Need-to-frag errors quoting the SMTP session's TCP segments.
    for (size_t i : {25, 27, 28, 29}) {
      const PacketMeta m = at("sv-smtp-icmp-fragneeded.pcap", i);
      CHECK(m.icmp_class == IcmpClass::Error);
      CHECK(m.icmp_code == 4);
      CHECK(m.quoted.proto == kProtoTcp);
      CHECK(m.quoted.sport == 1470);
      CHECK(m.quoted.dport == 25);
    }
  }
  {  // Echo request in two IPv4 fragments, then the reply.
    const PacketMeta first = at("sv-ipv4frags-icmp.pcap", 0);
    CHECK(first.frag == FragKind::First);
    CHECK(first.icmp_class == IcmpClass::Request);
    CHECK(first.tuple.sport == 5058);
    CHECK(at("sv-ipv4frags-icmp.pcap", 1).frag == FragKind::Later);
    CHECK(at("sv-ipv4frags-icmp.pcap", 2).icmp_class == IcmpClass::Reply);
  }
  {  // Snaplen 96: the 1514-byte segment's headers are all there.
    const PacketMeta m = at("zeek-communityid-tcp.pcap", 5);
    CHECK(m.kind == FrameKind::Ip);
    CHECK(m.ip_len == 1500);
    CHECK(m.tuple.sport == 80);
    CHECK(m.tuple.dport == 34855);
  }
  {  // GRE: protocol 47, no ports, no decapsulation.
    const PacketMeta m = at("zeek-gre-sample.pcap", 0);
    CHECK(m.tuple.proto == kProtoGre);
    CHECK(m.tuple.sport == 0);
    CHECK(addr_is(m.tuple.src, v4(172, 27, 1, 66)));
  }
  {  // 802.1Q VLAN 123: ARP is not IP, the echo request carries its identifier.
    const PacketMeta arp = at("zeek-icmp-dot1q.pcap", 0);
    CHECK(arp.kind == FrameKind::NonIp);
    CHECK(arp.vlan == 123);
    size_t echo = 0;
    auto it = traces.find("zeek-icmp-dot1q.pcap");
    if (it != traces.end()) {
      for (const PacketMeta& m : it->second.metas) {
        CHECK(m.vlan == 123);
        echo += m.icmp_class == IcmpClass::Request || m.icmp_class == IcmpClass::Reply;
      }
    }
    CHECK(echo > 0);
  }
}

}  // TEST_SUITE
