// TCP header (RFC 9293). Only what classification and conntrack need.
#pragma once
#include "wire/field.h"

namespace sgfw::wire {

namespace tcp {
namespace field {
inline constexpr Field kSrcPort{0, 2};
inline constexpr Field kDstPort{2, 2};
inline constexpr Field kSeq{4, 4};
inline constexpr Field kAck{8, 4};
inline constexpr Field kDataOff{12, 1};
inline constexpr Field kFlags{13, 1};
inline constexpr Field kWindow{14, 2};
inline constexpr Field kChecksum{16, 2};
inline constexpr Field kUrgent{18, 2};
}  // namespace field
inline constexpr uint32_t kHeaderLen = field::kUrgent.end();
}  // namespace tcp

class TcpView : public ByteView {
 public:
  using ByteView::ByteView;
  // True when the fixed 20-byte header fits. The data offset is checked by the caller
  // against the segment length, which a snapped capture may not hold in full.
  bool check_len() const { return len_ >= tcp::kHeaderLen; }
  // Source port.
  uint16_t src_port() const { return be16(tcp::field::kSrcPort); }
  // Destination port.
  uint16_t dst_port() const { return be16(tcp::field::kDstPort); }
  // Sequence number.
  uint32_t seq() const { return be32(tcp::field::kSeq); }
  // Acknowledgment number.
  uint32_t ack() const { return be32(tcp::field::kAck); }
  // Header length in bytes (data offset * 4).
  uint32_t header_len() const { return (uint32_t{u8(tcp::field::kDataOff)} >> 4) * 4; }
  // The flags byte (CWR ECE URG ACK PSH RST SYN FIN), as kTcp* in core/packet_meta.h.
  uint8_t flags() const { return u8(tcp::field::kFlags); }
  // Receive window.
  uint16_t window() const { return be16(tcp::field::kWindow); }
};

}  // namespace sgfw::wire
