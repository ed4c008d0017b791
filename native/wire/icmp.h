// ICMP (RFC 792) and ICMPv6 (RFC 4443) headers. Both start with type, code and checksum,
// then 4 bytes whose meaning depends on the type (identifier + sequence for queries,
// MTU for packet-too-big, unused for most errors), then the quoted packet for errors.
#pragma once
#include "core/packet_meta.h"
#include "wire/field.h"

namespace sgfw::wire {

namespace icmp {
namespace field {
inline constexpr Field kType{0, 1};
inline constexpr Field kCode{1, 1};
inline constexpr Field kChecksum{2, 2};
inline constexpr Field kIdent{4, 2};
inline constexpr Field kSeq{6, 2};
}  // namespace field
inline constexpr Field kRestOfHeader{4, 4};
inline constexpr uint32_t kHeaderLen = field::kSeq.end();

// ICMPv4 types.
inline constexpr uint8_t kEchoReply = 0;
inline constexpr uint8_t kDestUnreachable = 3;
inline constexpr uint8_t kSourceQuench = 4;
inline constexpr uint8_t kRedirect = 5;
inline constexpr uint8_t kEchoRequest = 8;
inline constexpr uint8_t kTimeExceeded = 11;
inline constexpr uint8_t kParamProblem = 12;
inline constexpr uint8_t kTimestamp = 13;
inline constexpr uint8_t kTimestampReply = 14;
inline constexpr uint8_t kInfoRequest = 15;
inline constexpr uint8_t kInfoReply = 16;
inline constexpr uint8_t kAddrMaskRequest = 17;
inline constexpr uint8_t kAddrMaskReply = 18;

// ICMPv6 types.
inline constexpr uint8_t kV6DestUnreachable = 1;
inline constexpr uint8_t kV6PacketTooBig = 2;
inline constexpr uint8_t kV6TimeExceeded = 3;
inline constexpr uint8_t kV6ParamProblem = 4;
inline constexpr uint8_t kV6EchoRequest = 128;
inline constexpr uint8_t kV6EchoReply = 129;
inline constexpr uint8_t kV6NdFirst = 133;  // router solicitation
inline constexpr uint8_t kV6NdLast = 137;   // redirect

// Class of an ICMPv4 type. Source quench (deprecated, RFC 6633: hosts ignore it) and
// redirect are Other, not Error: neither may open a path as RELATED.
constexpr IcmpClass v4_class(uint8_t type) {
  switch (type) {
    case kEchoRequest: case kTimestamp: case kInfoRequest: case kAddrMaskRequest:
      return IcmpClass::Request;
    case kEchoReply: case kTimestampReply: case kInfoReply: case kAddrMaskReply:
      return IcmpClass::Reply;
    case kDestUnreachable: case kTimeExceeded: case kParamProblem:
      return IcmpClass::Error;
    default:
      return IcmpClass::Other;
  }
}

// Class of an ICMPv6 type.
constexpr IcmpClass v6_class(uint8_t type) {
  if (type == kV6EchoRequest) return IcmpClass::Request;
  if (type == kV6EchoReply) return IcmpClass::Reply;
  if (type >= kV6DestUnreachable && type <= kV6ParamProblem) return IcmpClass::Error;
  if (type >= kV6NdFirst && type <= kV6NdLast) return IcmpClass::NeighborDiscovery;
  return IcmpClass::Other;
}
}  // namespace icmp

class IcmpView : public ByteView {
 public:
  using ByteView::ByteView;
  // True when the 8-byte header fits.
  bool check_len() const { return len_ >= icmp::kHeaderLen; }
  // Message type.
  uint8_t type() const { return u8(icmp::field::kType); }
  // Message code.
  uint8_t code() const { return u8(icmp::field::kCode); }
  // Identifier of a query or reply.
  uint16_t ident() const { return be16(icmp::field::kIdent); }
  // Sequence number of a query or reply.
  uint16_t seq() const { return be16(icmp::field::kSeq); }
  // The 4 type-specific bytes as one number (the MTU of a packet-too-big).
  uint32_t rest_of_header() const { return be32(icmp::kRestOfHeader); }
  // Start of the quoted packet of an error message (len() - kHeaderLen bytes).
  const uint8_t* payload() const { return data_ + icmp::kHeaderLen; }
};

}  // namespace sgfw::wire
