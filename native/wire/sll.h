// Linux "cooked" capture headers: SLL (LINKTYPE_LINUX_SLL, 16 bytes) and
// SLL2 (LINKTYPE_LINUX_SLL2, 20 bytes). Both carry the payload's EtherType.
#pragma once
#include "wire/field.h"

namespace sgfw::wire {

namespace sll {
namespace field {
inline constexpr Field kPacketType{0, 2};
inline constexpr Field kHaType{2, 2};
inline constexpr Field kHaLen{4, 2};
inline constexpr Field kAddr{6, 8};
inline constexpr Field kProtocol{14, 2};
}  // namespace field
inline constexpr uint32_t kHeaderLen = field::kProtocol.end();
}  // namespace sll

namespace sll2 {
namespace field {
inline constexpr Field kProtocol{0, 2};
inline constexpr Field kReserved{2, 2};
inline constexpr Field kIfIndex{4, 4};
inline constexpr Field kHaType{8, 2};
inline constexpr Field kPacketType{10, 1};
inline constexpr Field kHaLen{11, 1};
inline constexpr Field kAddr{12, 8};
}  // namespace field
inline constexpr uint32_t kHeaderLen = field::kAddr.end();
}  // namespace sll2

class SllView : public ByteView {
 public:
  using ByteView::ByteView;
  // True when the 16-byte header fits.
  bool check_len() const { return len_ >= sll::kHeaderLen; }
  // Packet type: 0 to us, 1 broadcast, 2 multicast, 3 to another host, 4 sent by us.
  uint16_t packet_type() const { return be16(sll::field::kPacketType); }
  // ARPHRD_ type of the device.
  uint16_t ha_type() const { return be16(sll::field::kHaType); }
  // EtherType of the payload.
  uint16_t protocol() const { return be16(sll::field::kProtocol); }
};

class Sll2View : public ByteView {
 public:
  using ByteView::ByteView;
  // True when the 20-byte header fits.
  bool check_len() const { return len_ >= sll2::kHeaderLen; }
  // EtherType of the payload.
  uint16_t protocol() const { return be16(sll2::field::kProtocol); }
  // Interface index the packet was seen on.
  uint32_t if_index() const { return be32(sll2::field::kIfIndex); }
  // ARPHRD_ type of the device.
  uint16_t ha_type() const { return be16(sll2::field::kHaType); }
  // Packet type, as in SLL.
  uint8_t packet_type() const { return u8(sll2::field::kPacketType); }
};

}  // namespace sgfw::wire
