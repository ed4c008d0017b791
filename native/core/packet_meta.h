// What the wire parser hands downstream: a small owned summary of one frame.
// Produced by wire::parse_frame (native/wire/parse.h), consumed by the engine,
// conntrack and the classifier. Addresses are in network byte order; an IPv4
// address occupies bytes 0..3 of the 16-byte array and the rest are zero.
#pragma once
#include <cstdint>

#include "reason.h"

namespace sgfw {

inline constexpr uint8_t kProtoIcmp = 1;
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;
inline constexpr uint8_t kProtoGre = 47;
inline constexpr uint8_t kProtoIcmpv6 = 58;

// TCP flag bits as they sit in the header's flags byte.
inline constexpr uint8_t kTcpFin = 0x01, kTcpSyn = 0x02, kTcpRst = 0x04, kTcpPsh = 0x08,
                         kTcpAck = 0x10, kTcpUrg = 0x20, kTcpEce = 0x40, kTcpCwr = 0x80;

// The addressing part of a packet, as on the wire (src = sender).
// For TCP/UDP the ports; for ICMP/ICMPv6 queries and replies (echo, timestamp,
// information, address mask; ICMPv6 echo) both ports hold the identifier, for
// other ICMP messages and other protocols both are 0.
struct Tuple {
  uint8_t family = 0;  // 4 or 6
  uint8_t proto = 0;   // IANA protocol number of the transport header
  uint16_t sport = 0;  // host byte order
  uint16_t dport = 0;  // host byte order
  uint8_t src[16] = {};
  uint8_t dst[16] = {};
};

enum class FrameKind : uint8_t {
  Ip = 0,           // an IPv4 or IPv6 packet, tuple filled in
  NonIp = 1,        // ARP, LLDP, ...: passes as `infrastructure`
  Malformed = 2,    // see malformed_sub
};

enum class FragKind : uint8_t {
  None = 0,    // not a fragment (an IPv6 atomic fragment counts as none)
  First = 1,   // offset 0 with more-fragments set: carries the transport header
  Later = 2,   // offset > 0: no transport header, tuple ports are 0
};

// ICMP classes that matter to connection tracking.
enum class IcmpClass : uint8_t {
  None = 0,     // not ICMP
  Request = 1,  // echo/timestamp/info/address-mask request (v4), echo request (v6)
  Reply = 2,    // the matching replies
  Error = 3,    // destination unreachable, time exceeded, parameter problem, packet too big
  Other = 4,    // anything else (router advertisement, redirect, ...)
  NeighborDiscovery = 5,  // ICMPv6 133..137: passes as `infrastructure`
};

struct PacketMeta {
  FrameKind kind = FrameKind::Malformed;
  MalformedSub malformed = MalformedSub::None;
  FragKind frag = FragKind::None;
  IcmpClass icmp_class = IcmpClass::None;
  Tuple tuple;
  uint8_t tcp_flags = 0;    // 0 when not TCP (or a later fragment)
  uint8_t icmp_type = 0;
  uint8_t icmp_code = 0;
  uint8_t has_l4 = 0;       // 1 when ports/ICMP fields were read from a transport header
  uint32_t frag_id = 0;     // IPv4 identification (16 bits) or IPv6 fragment identification
  uint32_t ip_len = 0;      // bytes from the IP header to the end of the IP packet (wire length)
  uint16_t vlan = 0;        // outermost VLAN id, 0 if untagged
  uint16_t l3_offset = 0;   // offset of the IP header in the frame
  // ICMP errors only: the quoted packet's tuple as the quoted packet had it
  // (src = the original sender). has_quoted is 0 when the quote was too short
  // to hold addresses and ports (such errors meet the rules like any packet).
  uint8_t has_quoted = 0;
  Tuple quoted;
};

}  // namespace sgfw
