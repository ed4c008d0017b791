// IPv4 header (RFC 791). Options are skipped by header_len(), never interpreted.
#pragma once
#include "wire/field.h"

namespace sgfw::wire {

namespace ipv4 {
namespace field {
inline constexpr Field kVerIhl{0, 1};
inline constexpr Field kTos{1, 1};
inline constexpr Field kTotalLen{2, 2};
inline constexpr Field kIdent{4, 2};
inline constexpr Field kFlagsFrag{6, 2};
inline constexpr Field kTtl{8, 1};
inline constexpr Field kProtocol{9, 1};
inline constexpr Field kChecksum{10, 2};
inline constexpr Field kSrc{12, 4};
inline constexpr Field kDst{16, 4};
}  // namespace field
inline constexpr uint32_t kHeaderLen = field::kDst.end();
inline constexpr uint16_t kFlagDf = 0x4000;
inline constexpr uint16_t kFlagMf = 0x2000;
inline constexpr uint16_t kFragOffsetMask = 0x1fff;
// Largest IP datagram; a fragment reaching past it cannot be reassembled.
inline constexpr uint32_t kMaxDatagram = 65535;
}  // namespace ipv4

class Ipv4View : public ByteView {
 public:
  using ByteView::ByteView;
  // True when the fixed header fits, IHL >= 5 and the IHL-sized header (with options)
  // fits as well. The version is not checked here (see version()).
  bool check_len() const {
    return len_ >= ipv4::kHeaderLen && header_len() >= ipv4::kHeaderLen && header_len() <= len_;
  }
  // IP version nibble (4 for a valid packet).
  uint8_t version() const { return u8(ipv4::field::kVerIhl) >> 4; }
  // Header length in bytes, IHL * 4 (options included).
  uint32_t header_len() const { return uint32_t{u8(ipv4::field::kVerIhl) & 0x0fu} * 4; }
  // Total length of the datagram (header and payload) in bytes.
  uint16_t total_len() const { return be16(ipv4::field::kTotalLen); }
  // Identification, which groups the fragments of one datagram.
  uint16_t ident() const { return be16(ipv4::field::kIdent); }
  // More-fragments flag.
  bool more_frags() const { return (be16(ipv4::field::kFlagsFrag) & ipv4::kFlagMf) != 0; }
  // Don't-fragment flag.
  bool dont_frag() const { return (be16(ipv4::field::kFlagsFrag) & ipv4::kFlagDf) != 0; }
  // Fragment offset in 8-byte units.
  uint16_t frag_offset() const { return be16(ipv4::field::kFlagsFrag) & ipv4::kFragOffsetMask; }
  // Time to live. All values are acceptable, since we do not route.
  uint8_t ttl() const { return u8(ipv4::field::kTtl); }
  // Protocol number of the payload.
  uint8_t protocol() const { return u8(ipv4::field::kProtocol); }
  // Source address, 4 bytes in network order.
  const uint8_t* src() const { return at(ipv4::field::kSrc); }
  // Destination address, 4 bytes in network order.
  const uint8_t* dst() const { return at(ipv4::field::kDst); }
};

}  // namespace sgfw::wire
