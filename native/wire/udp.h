// UDP header (RFC 768).
#pragma once
#include "wire/field.h"

namespace sgfw::wire {

namespace udp {
namespace field {
inline constexpr Field kSrcPort{0, 2};
inline constexpr Field kDstPort{2, 2};
inline constexpr Field kLength{4, 2};
inline constexpr Field kChecksum{6, 2};
}  // namespace field
inline constexpr uint32_t kHeaderLen = field::kChecksum.end();
}  // namespace udp

class UdpView : public ByteView {
 public:
  using ByteView::ByteView;
  // True when the 8-byte header fits.
  bool check_len() const { return len_ >= udp::kHeaderLen; }
  // Source port.
  uint16_t src_port() const { return be16(udp::field::kSrcPort); }
  // Destination port.
  uint16_t dst_port() const { return be16(udp::field::kDstPort); }
  // Length of header and data, as the sender wrote it.
  uint16_t length() const { return be16(udp::field::kLength); }
};

}  // namespace sgfw::wire
