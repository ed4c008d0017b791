#include "wire/parse.h"

#include <cstddef>
#include <cstring>
#include <type_traits>

#include "wire/ethernet.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"
#include "wire/ipv6.h"
#include "wire/loopback.h"
#include "wire/sll.h"
#include "wire/tcp.h"
#include "wire/udp.h"
#include "wire/vlan.h"

namespace sgfw::wire {

bool link_type_supported(uint32_t lt) { return link_type_name(lt) != nullptr; }

const char* link_type_name(uint32_t lt) {
  switch (lt) {
    case static_cast<uint32_t>(LinkType::Null): return "NULL";
    case static_cast<uint32_t>(LinkType::Ethernet): return "EN10MB";
    case static_cast<uint32_t>(LinkType::Raw):
    case kDltRawAlt1:
    case kDltRawAlt2: return "RAW";
    case static_cast<uint32_t>(LinkType::LinuxSll): return "LINUX_SLL";
    case static_cast<uint32_t>(LinkType::Ipv4): return "IPV4";
    case static_cast<uint32_t>(LinkType::Ipv6): return "IPV6";
    case static_cast<uint32_t>(LinkType::LinuxSll2): return "LINUX_SLL2";
    default: return nullptr;
  }
}

namespace {

inline void set_malformed(PacketMeta& m, MalformedSub sub) {
  m.kind = FrameKind::Malformed;
  m.malformed = sub;
}

inline uint32_t min_u32(uint32_t a, uint32_t b) { return a < b ? a : b; }

// Smallest transport header a first fragment must carry (RFC 1858, RFC 7112): the
// fixed TCP header, the UDP header, the 8-byte ICMP header; 0 for other protocols.
inline uint32_t min_transport_len(uint8_t proto, uint8_t family) {
  switch (proto) {
    case kProtoTcp: return tcp::kHeaderLen;
    case kProtoUdp: return udp::kHeaderLen;
    case kProtoIcmp: return family == 4 ? icmp::kHeaderLen : 0;
    case kProtoIcmpv6: return family == 6 ? icmp::kHeaderLen : 0;
    default: return 0;
  }
}

// Ports of a quoted transport header: only its first 8 bytes are guaranteed (RFC 792), so
// the fields are read by offset rather than through the full-header views. False when the
// quote ends before the fields needed.
bool quoted_ports(const uint8_t* p, uint32_t len, uint8_t proto, uint8_t family, Tuple& q) {
  if (proto == kProtoTcp || proto == kProtoUdp) {
    static_assert(tcp::field::kDstPort.end() == udp::field::kDstPort.end());
    if (len < tcp::field::kDstPort.end()) return false;
    q.sport = load_be16(p + tcp::field::kSrcPort.off);
    q.dport = load_be16(p + tcp::field::kDstPort.off);
    return true;
  }
  const bool is_icmp = (family == 4 && proto == kProtoIcmp) || (family == 6 && proto == kProtoIcmpv6);
  if (is_icmp) {
    if (len < icmp::field::kIdent.end()) return false;
    const uint8_t type = p[icmp::field::kType.off];
    const IcmpClass c = family == 4 ? icmp::v4_class(type) : icmp::v6_class(type);
    if (c == IcmpClass::Request || c == IcmpClass::Reply) {
      q.sport = q.dport = load_be16(p + icmp::field::kIdent.off);
    }
    return true;
  }
  return true;  // no ports: the addresses and protocol are the whole tuple
}

// The IPv4 packet quoted by an ICMP error. Its total length describes the original packet,
// not the quote, so only its header has to fit. A quoted later fragment holds no transport
// header and cannot name a flow: false.
bool quoted_ipv4(const uint8_t* p, uint32_t len, Tuple& q) {
  Ipv4View ip(p, len);
  if (!ip.check_len() || ip.version() != 4 || ip.frag_offset() != 0) return false;
  const uint32_t hl = ip.header_len();
  if (ip.total_len() < hl) return false;
  const uint32_t end = min_u32(len, ip.total_len());
  q.family = 4;
  q.proto = ip.protocol();
  std::memcpy(q.src, ip.src(), 4);
  std::memcpy(q.dst, ip.dst(), 4);
  return quoted_ports(p + hl, end - hl, q.proto, 4, q);
}

// The IPv6 packet quoted by an ICMPv6 error, extension chain walked within the quote.
bool quoted_ipv6(const uint8_t* p, uint32_t len, Tuple& q) {
  Ipv6View ip(p, len);
  if (!ip.check_len() || ip.version() != 6) return false;
  const uint32_t end = min_u32(len, ipv6::kHeaderLen + ip.payload_len());
  q.family = 6;
  std::memcpy(q.src, ip.src(), 16);
  std::memcpy(q.dst, ip.dst(), 16);
  uint8_t nh = ip.next_header();
  uint32_t pos = ipv6::kHeaderLen;
  for (int n = 0;; ++n) {
    const bool ext = ipv6::is_ext_header(nh);
    if (!ext && nh != ipv6::kFragment) break;
    if (n == ipv6::kMaxExtHeaders) return false;
    if (ext) {
      Ipv6ExtView ext(p + pos, end - pos, nh);
      if (!ext.check_len()) return false;
      nh = ext.next_header();
      pos += ext.header_len();
    } else {
      Ipv6FragView fr(p + pos, end - pos);
      if (!fr.check_len() || fr.frag_offset() != 0) return false;
      nh = fr.next_header();
      pos += ipv6_frag::kHeaderLen;
    }
  }
  q.proto = nh;
  return quoted_ports(p + pos, end - pos, nh, 6, q);
}

// The transport header. `cap` bytes are readable at p, `wire` is the transport length the
// IP header gives (cap <= wire). A first fragment holds only part of the segment, so
// lengths that describe the whole segment are not checked against it.
void parse_l4(const uint8_t* p, uint32_t cap, uint32_t wire, bool first_frag, PacketMeta& m) {
  Tuple& t = m.tuple;
  switch (t.proto) {
    case kProtoTcp: {
      TcpView tcp(p, cap);
      if (wire < tcp::kHeaderLen || !tcp.check_len()) return set_malformed(m, MalformedSub::Tcp);
      const uint32_t hl = tcp.header_len();
      if (hl < tcp::kHeaderLen || (!first_frag && hl > wire)) return set_malformed(m, MalformedSub::Tcp);
      t.sport = tcp.src_port();
      t.dport = tcp.dst_port();
      m.tcp_flags = tcp.flags();
      m.has_l4 = 1;
      break;
    }
    case kProtoUdp: {
      UdpView udp(p, cap);
      if (wire < udp::kHeaderLen || !udp.check_len()) return set_malformed(m, MalformedSub::Udp);
      // A shorter length than the IP payload is trailing padding (Linux accepts it too).
      if (!first_frag && (udp.length() < udp::kHeaderLen || udp.length() > wire)) {
        return set_malformed(m, MalformedSub::Udp);
      }
      t.sport = udp.src_port();
      t.dport = udp.dst_port();
      m.has_l4 = 1;
      break;
    }
    case kProtoIcmp:
    case kProtoIcmpv6: {
      const bool v6 = t.proto == kProtoIcmpv6;
      if (v6 != (t.family == 6)) break;  // ICMPv6 in IPv4 or ICMP in IPv6: just a protocol number
      IcmpView ic(p, cap);
      if (wire < icmp::kHeaderLen || !ic.check_len()) return set_malformed(m, MalformedSub::Icmp);
      m.icmp_type = ic.type();
      m.icmp_code = ic.code();
      m.icmp_class = v6 ? icmp::v6_class(ic.type()) : icmp::v4_class(ic.type());
      m.has_l4 = 1;
      if (m.icmp_class == IcmpClass::Request || m.icmp_class == IcmpClass::Reply) {
        t.sport = t.dport = ic.ident();
      } else if (m.icmp_class == IcmpClass::Error) {
        Tuple q;
        const uint32_t qlen = cap - icmp::kHeaderLen;
        if (v6 ? quoted_ipv6(ic.payload(), qlen, q) : quoted_ipv4(ic.payload(), qlen, q)) {
          m.quoted = q;
          m.has_quoted = 1;
        }
      }
      break;
    }
    default:
      break;  // GRE, ESP, SCTP, ...: judged by protocol number, ports 0
  }
  m.kind = FrameKind::Ip;
}

void parse_ipv4(const uint8_t* d, uint32_t cap, uint32_t wire, uint32_t off, PacketMeta& m) {
  m.l3_offset = static_cast<uint16_t>(off);
  const uint32_t cap_rem = cap - off;
  const uint32_t wire_rem = wire - off;
  Ipv4View ip(d + off, cap_rem);
  if (!ip.check_len() || ip.version() != 4) return set_malformed(m, MalformedSub::Ipv4Header);
  const uint32_t hl = ip.header_len();
  const uint32_t tot = ip.total_len();
  // Against wirelen: beyond the capture is fine when snaplen cut it, beyond the wire is not.
  if (tot < hl || tot > wire_rem) return set_malformed(m, MalformedSub::Ipv4Length);
  m.ip_len = tot;
  Tuple& t = m.tuple;
  t.family = 4;
  t.proto = ip.protocol();
  std::memcpy(t.src, ip.src(), 4);
  std::memcpy(t.dst, ip.dst(), 4);
  const uint32_t pay_wire = tot - hl;
  const uint32_t pay_cap = min_u32(cap_rem, tot) - hl;
  const uint32_t fo = ip.frag_offset();
  bool first = false;
  if (fo != 0 || ip.more_frags()) {
    m.frag_id = ip.ident();
    if (fo * 8 + pay_wire > ipv4::kMaxDatagram) return set_malformed(m, MalformedSub::Fragment);
    // RFC 1858 3.2: a TCP fragment at offset 8 can only serve to overwrite the flags.
    if (fo == 1 && t.proto == kProtoTcp) return set_malformed(m, MalformedSub::TinyFragment);
    if (fo != 0) {
      m.frag = FragKind::Later;
      m.kind = FrameKind::Ip;
      return;
    }
    m.frag = FragKind::First;
    first = true;
    if (pay_wire < min_transport_len(t.proto, 4)) return set_malformed(m, MalformedSub::TinyFragment);
  }
  parse_l4(d + off + hl, pay_cap, pay_wire, first, m);
}

void parse_ipv6(const uint8_t* d, uint32_t cap, uint32_t wire, uint32_t off, PacketMeta& m) {
  m.l3_offset = static_cast<uint16_t>(off);
  const uint32_t cap_rem = cap - off;
  const uint32_t wire_rem = wire - off;
  Ipv6View ip(d + off, cap_rem);
  if (!ip.check_len() || ip.version() != 6) return set_malformed(m, MalformedSub::Ipv6Header);
  const uint32_t plen = ip.payload_len();
  // Jumbograms (payload length 0 + HBH option) cannot occur on these links: the empty
  // payload then fails the extension-header bound below.
  if (ipv6::kHeaderLen + plen > wire_rem) return set_malformed(m, MalformedSub::Ipv6Header);
  m.ip_len = ipv6::kHeaderLen + plen;
  Tuple& t = m.tuple;
  t.family = 6;
  std::memcpy(t.src, ip.src(), 16);
  std::memcpy(t.dst, ip.dst(), 16);
  const uint8_t* p = d + off + ipv6::kHeaderLen;
  const uint32_t pcap = min_u32(cap_rem, ipv6::kHeaderLen + plen) - ipv6::kHeaderLen;
  uint32_t pos = 0;  // invariant: pos <= pcap <= plen
  uint8_t nh = ip.next_header();
  bool first = false;
  for (int n = 0;; ++n) {
    const bool ext = ipv6::is_ext_header(nh);
    if (!ext && nh != ipv6::kFragment) break;
    if (n == ipv6::kMaxExtHeaders) return set_malformed(m, MalformedSub::Ipv6ExtChain);
    if (ext) {
      Ipv6ExtView eh(p + pos, pcap - pos, nh);
      if (!eh.check_len()) return set_malformed(m, MalformedSub::Ipv6ExtChain);
      nh = eh.next_header();
      pos += eh.header_len();
      continue;
    }
    Ipv6FragView fr(p + pos, pcap - pos);
    if (!fr.check_len()) return set_malformed(m, MalformedSub::Ipv6ExtChain);
    nh = fr.next_header();
    pos += ipv6_frag::kHeaderLen;
    const uint32_t fo = fr.frag_offset();
    if (fo == 0 && !fr.more_frags()) continue;  // atomic fragment: a whole packet (RFC 6946)
    // Two real fragment headers in one packet: no sender does that.
    if (first) return set_malformed(m, MalformedSub::Ipv6ExtChain);
    m.frag_id = fr.ident();
    if (fo * 8 + (plen - pos) > ipv4::kMaxDatagram) return set_malformed(m, MalformedSub::Fragment);
    if (fo != 0) {
      m.frag = FragKind::Later;
      t.proto = nh;
      m.kind = FrameKind::Ip;
      return;
    }
    m.frag = FragKind::First;
    first = true;
  }
  t.proto = nh;
  if (first && plen - pos < min_transport_len(nh, 6)) return set_malformed(m, MalformedSub::TinyFragment);
  parse_l4(p + pos, pcap - pos, plen - pos, first, m);
}

// After the link header: the EtherType at `off - 2` was `et`. Skips VLAN tags, then IP.
void parse_ethertype(const uint8_t* d, uint32_t cap, uint32_t wire, uint32_t off, uint16_t et,
                     PacketMeta& m) {
  for (int tags = 0; is_vlan_ethertype(et); ++tags) {
    if (tags == vlan::kMaxTags) return set_malformed(m, MalformedSub::Link);
    VlanView v(d + off, cap - off);
    if (!v.check_len()) return set_malformed(m, MalformedSub::Link);
    if (tags == 0) m.vlan = v.vid();
    et = v.ethertype();
    off += vlan::kHeaderLen;
  }
  if (et == kEthertypeIpv4) return parse_ipv4(d, cap, wire, off, m);
  if (et == kEthertypeIpv6) return parse_ipv6(d, cap, wire, off, m);
  m.kind = FrameKind::NonIp;
}

// Raw IP: the version nibble decides. An empty frame or another version is no IP
// header at all, counted as a bad IPv4 header.
void parse_raw(const uint8_t* d, uint32_t cap, uint32_t wire, PacketMeta& m) {
  if (cap == 0) return set_malformed(m, MalformedSub::Ipv4Header);
  const uint8_t version = d[0] >> 4;
  if (version == 6) return parse_ipv6(d, cap, wire, 0, m);
  return parse_ipv4(d, cap, wire, 0, m);  // version != 4 is reported there
}

// The transport header of the common frame (TCP or UDP, not a fragment): true when it is whole
// and its lengths agree with the IP header's, as parse_l4 would find; it then fills the ports.
inline bool common_l4(const uint8_t* p, uint32_t cap, uint32_t wire, uint8_t proto, PacketMeta& m) {
  if (proto == kProtoTcp) {
    if (cap < tcp::kHeaderLen || wire < tcp::kHeaderLen) return false;
    const uint32_t hl = (uint32_t{p[tcp::field::kDataOff.off]} >> 4) * 4;
    if (hl < tcp::kHeaderLen || hl > wire) return false;
    m.tcp_flags = p[tcp::field::kFlags.off];
  } else if (proto == kProtoUdp) {
    if (cap < udp::kHeaderLen || wire < udp::kHeaderLen) return false;
    const uint32_t len = load_be16(p + udp::field::kLength.off);
    if (len < udp::kHeaderLen || len > wire) return false;
  } else {
    return false;
  }
  m.tuple.sport = load_be16(p + tcp::field::kSrcPort.off);
  m.tuple.dport = load_be16(p + tcp::field::kDstPort.off);
  m.has_l4 = 1;
  return true;
}

// Most frames on a cloud interface are Ethernet, untagged, IPv4 without options or
// fragmentation or IPv6 without extension headers, carrying TCP or UDP. For those this reads
// the fields straight from their offsets instead of walking the general path (half its
// instructions, callgrind). It returns false for any other frame, or any length the general
// path would question, and the general path then decides. For every frame it takes, the
// result equals the general path's (checked on every fuzz input, in wire_fuzz_smoke.cc and
// wire_parse_common.cc). `m` is freshly cleared; on false it may hold part of a tuple, and
// parse_frame_general clears it again.
inline bool parse_common_ethernet(const uint8_t* d, uint32_t cap, uint32_t wire, PacketMeta& m) {
  constexpr uint32_t kL3 = ethernet::kHeaderLen;
  if (cap < kL3 + ipv4::kHeaderLen + udp::kHeaderLen) return false;
  const uint16_t et = load_be16(d + ethernet::field::kEthertype.off);
  const uint8_t* ip = d + kL3;
  Tuple& t = m.tuple;
  if (et == kEthertypeIpv4) {
    if (ip[ipv4::field::kVerIhl.off] != 0x45) return false;  // version 4, no options
    const uint32_t tot = load_be16(ip + ipv4::field::kTotalLen.off);
    if (tot < ipv4::kHeaderLen || tot > wire - kL3) return false;
    if (load_be16(ip + ipv4::field::kFlagsFrag.off) & (ipv4::kFlagMf | ipv4::kFragOffsetMask)) return false;
    t.proto = ip[ipv4::field::kProtocol.off];
    const uint32_t cap_rem = cap - kL3;
    const uint32_t pay_cap = (cap_rem < tot ? cap_rem : tot) - ipv4::kHeaderLen;
    if (!common_l4(ip + ipv4::kHeaderLen, pay_cap, tot - ipv4::kHeaderLen, t.proto, m)) return false;
    t.family = 4;
    std::memcpy(t.src, ip + ipv4::field::kSrc.off, 4);
    std::memcpy(t.dst, ip + ipv4::field::kDst.off, 4);
    m.ip_len = tot;
  } else if (et == kEthertypeIpv6) {
    if (cap < kL3 + ipv6::kHeaderLen || (ip[0] >> 4) != 6) return false;
    const uint32_t plen = load_be16(ip + ipv6::field::kPayloadLen.off);
    if (ipv6::kHeaderLen + plen > wire - kL3) return false;
    t.proto = ip[ipv6::field::kNextHeader.off];  // TCP or UDP, else common_l4 declines
    const uint32_t cap_rem = cap - kL3;
    const uint32_t pay_cap = (cap_rem < ipv6::kHeaderLen + plen ? cap_rem : ipv6::kHeaderLen + plen) - ipv6::kHeaderLen;
    if (!common_l4(ip + ipv6::kHeaderLen, pay_cap, plen, t.proto, m)) return false;
    t.family = 6;
    std::memcpy(t.src, ip + ipv6::field::kSrc.off, 16);
    std::memcpy(t.dst, ip + ipv6::field::kDst.off, 16);
    m.ip_len = ipv6::kHeaderLen + plen;
  } else {
    return false;
  }
  m.l3_offset = static_cast<uint16_t>(kL3);
  m.kind = FrameKind::Ip;
  return true;
}

// PacketMeta{} is all zero bytes but kind (Malformed). GCC turns both `= PacketMeta{}` and a
// memset of this size into `rep stos`, which is slow to start on short lengths; plain 16-byte
// stores are seven instructions.
inline void clear_meta(PacketMeta& m) {
  static_assert(std::is_trivially_copyable_v<PacketMeta> && sizeof(PacketMeta) >= 16 &&
                static_cast<int>(MalformedSub::None) == 0 && static_cast<int>(FragKind::None) == 0 &&
                static_cast<int>(IcmpClass::None) == 0);
  typedef uint64_t Chunk __attribute__((vector_size(16), aligned(1), may_alias));
  constexpr size_t kSize = sizeof(PacketMeta);
  unsigned char* p = reinterpret_cast<unsigned char*>(&m);
  const Chunk zero = {0, 0};
#pragma GCC unroll 16
  for (size_t i = 0; i + 16 <= kSize; i += 16) *reinterpret_cast<Chunk*>(p + i) = zero;
  *reinterpret_cast<Chunk*>(p + kSize - 16) = zero;
  m.kind = FrameKind::Malformed;
}

}  // namespace

void parse_frame(const uint8_t* data, uint32_t caplen, uint32_t wirelen, LinkType lt,
                 PacketMeta& out) {
  clear_meta(out);
  if (lt == LinkType::Ethernet && data != nullptr &&
      parse_common_ethernet(data, caplen, wirelen < caplen ? caplen : wirelen, out))
    return;
  parse_frame_general(data, caplen, wirelen, lt, out);
}

void parse_frame_general(const uint8_t* data, uint32_t caplen, uint32_t wirelen, LinkType lt,
                         PacketMeta& out) {
  clear_meta(out);
  if (data == nullptr) caplen = 0;
  if (wirelen < caplen) wirelen = caplen;
  switch (static_cast<uint32_t>(lt)) {
    case static_cast<uint32_t>(LinkType::Ethernet): {
      EthernetView eth(data, caplen);
      if (!eth.check_len()) return set_malformed(out, MalformedSub::Link);
      return parse_ethertype(data, caplen, wirelen, ethernet::kHeaderLen, eth.ethertype(), out);
    }
    case static_cast<uint32_t>(LinkType::LinuxSll): {
      SllView sll(data, caplen);
      if (!sll.check_len()) return set_malformed(out, MalformedSub::Link);
      return parse_ethertype(data, caplen, wirelen, sll::kHeaderLen, sll.protocol(), out);
    }
    case static_cast<uint32_t>(LinkType::LinuxSll2): {
      Sll2View sll(data, caplen);
      if (!sll.check_len()) return set_malformed(out, MalformedSub::Link);
      return parse_ethertype(data, caplen, wirelen, sll2::kHeaderLen, sll.protocol(), out);
    }
    case static_cast<uint32_t>(LinkType::Null): {
      LoopbackView lo(data, caplen);
      if (!lo.check_len()) return set_malformed(out, MalformedSub::Link);
      const uint32_t af = lo.family();
      if (af == loopback::kAfInet) return parse_ipv4(data, caplen, wirelen, loopback::kHeaderLen, out);
      if (loopback::is_af_inet6(af)) return parse_ipv6(data, caplen, wirelen, loopback::kHeaderLen, out);
      out.kind = FrameKind::NonIp;
      return;
    }
    case static_cast<uint32_t>(LinkType::Raw):
    case kDltRawAlt1:
    case kDltRawAlt2:
      return parse_raw(data, caplen, wirelen, out);
    case static_cast<uint32_t>(LinkType::Ipv4):
      return parse_ipv4(data, caplen, wirelen, 0, out);
    case static_cast<uint32_t>(LinkType::Ipv6):
      return parse_ipv6(data, caplen, wirelen, 0, out);
    default:
      return set_malformed(out, MalformedSub::Link);  // callers check link_type_supported first
  }
}

}  // namespace sgfw::wire
