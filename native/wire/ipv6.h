// IPv6 header (RFC 8200) and the extension headers the parser walks past.
#pragma once
#include "wire/field.h"

namespace sgfw::wire {

namespace ipv6 {
namespace field {
inline constexpr Field kVerTcFlow{0, 4};
inline constexpr Field kPayloadLen{4, 2};
inline constexpr Field kNextHeader{6, 1};
inline constexpr Field kHopLimit{7, 1};
inline constexpr Field kSrc{8, 16};
inline constexpr Field kDst{24, 16};
}  // namespace field
inline constexpr uint32_t kHeaderLen = field::kDst.end();

// Next-header values that are extension headers rather than transports.
inline constexpr uint8_t kHopByHop = 0;
inline constexpr uint8_t kRouting = 43;
inline constexpr uint8_t kFragment = 44;
inline constexpr uint8_t kEsp = 50;         // ends the walk: what follows is encrypted
inline constexpr uint8_t kAuth = 51;        // AH, length in 4-byte units (RFC 4302)
inline constexpr uint8_t kNoNext = 59;      // ends the walk
inline constexpr uint8_t kDestOpts = 60;
inline constexpr uint8_t kMobility = 135;
inline constexpr uint8_t kHip = 139;
inline constexpr uint8_t kShim6 = 140;
// A real chain has a handful of headers; more is an attack on the walker.
inline constexpr int kMaxExtHeaders = 16;

// True for the extension headers with the generic {next header, length} layout.
constexpr bool is_ext_header(uint8_t nh) {
  return nh == kHopByHop || nh == kRouting || nh == kDestOpts || nh == kAuth ||
         nh == kMobility || nh == kHip || nh == kShim6;
}
}  // namespace ipv6

// Generic extension header: next header, length, then options or data.
namespace ipv6_ext {
namespace field {
inline constexpr Field kNextHeader{0, 1};
inline constexpr Field kLength{1, 1};
}  // namespace field
// Bytes needed to read the length; every extension header is at least 8 bytes long.
inline constexpr uint32_t kMinLen = field::kLength.end();
}  // namespace ipv6_ext

// Fragment header (RFC 8200 section 4.5), always 8 bytes.
namespace ipv6_frag {
namespace field {
inline constexpr Field kNextHeader{0, 1};
inline constexpr Field kReserved{1, 1};
inline constexpr Field kOffsetFlags{2, 2};
inline constexpr Field kIdent{4, 4};
}  // namespace field
inline constexpr uint32_t kHeaderLen = field::kIdent.end();
}  // namespace ipv6_frag

class Ipv6View : public ByteView {
 public:
  using ByteView::ByteView;
  // True when the 40-byte header fits. The version is not checked here.
  bool check_len() const { return len_ >= ipv6::kHeaderLen; }
  // IP version nibble (6 for a valid packet).
  uint8_t version() const { return u8(ipv6::field::kVerTcFlow) >> 4; }
  // Payload length in bytes (extension headers included).
  uint16_t payload_len() const { return be16(ipv6::field::kPayloadLen); }
  // Type of the first header after this one.
  uint8_t next_header() const { return u8(ipv6::field::kNextHeader); }
  // Hop limit. All values are acceptable, since we do not route.
  uint8_t hop_limit() const { return u8(ipv6::field::kHopLimit); }
  // Source address, 16 bytes.
  const uint8_t* src() const { return at(ipv6::field::kSrc); }
  // Destination address, 16 bytes: the header's field, never a routing header's final hop.
  const uint8_t* dst() const { return at(ipv6::field::kDst); }
};

class Ipv6ExtView : public ByteView {
 public:
  // `type` is the next-header value that announced this header (it decides the length unit).
  constexpr Ipv6ExtView(const uint8_t* data, uint32_t len, uint8_t type)
      : ByteView(data, len), type_(type) {}
  // True when the length byte and the whole header it announces fit.
  bool check_len() const { return len_ >= ipv6_ext::kMinLen && header_len() <= len_; }
  // Type of the header that follows.
  uint8_t next_header() const { return u8(ipv6_ext::field::kNextHeader); }
  // Header length in bytes: (len + 2) * 4 for AH, (len + 1) * 8 for the others.
  uint32_t header_len() const {
    const uint32_t n = u8(ipv6_ext::field::kLength);
    return type_ == ipv6::kAuth ? (n + 2) * 4 : (n + 1) * 8;
  }

 private:
  uint8_t type_;
};

class Ipv6FragView : public ByteView {
 public:
  using ByteView::ByteView;
  // True when the 8-byte header fits.
  bool check_len() const { return len_ >= ipv6_frag::kHeaderLen; }
  // Type of the header that follows (in the first fragment) or of the fragmented payload.
  uint8_t next_header() const { return u8(ipv6_frag::field::kNextHeader); }
  // Fragment offset in 8-byte units.
  uint16_t frag_offset() const { return be16(ipv6_frag::field::kOffsetFlags) >> 3; }
  // M flag: more fragments follow.
  bool more_frags() const { return (be16(ipv6_frag::field::kOffsetFlags) & 1) != 0; }
  // Identification (32 bits).
  uint32_t ident() const { return be32(ipv6_frag::field::kIdent); }
};

}  // namespace sgfw::wire
