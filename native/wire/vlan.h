// IEEE 802.1Q / 802.1ad tag: the 4 bytes that follow a VLAN EtherType
// (TCI, then the EtherType of what the tag wraps).
#pragma once
#include "wire/field.h"

namespace sgfw::wire {

namespace vlan {
namespace field {
inline constexpr Field kTci{0, 2};
inline constexpr Field kEthertype{2, 2};
}  // namespace field
inline constexpr uint32_t kHeaderLen = field::kEthertype.end();
// More tags than this is no real network (QinQ uses 2); treated as a malformed link header.
inline constexpr int kMaxTags = 8;
}  // namespace vlan

class VlanView : public ByteView {
 public:
  using ByteView::ByteView;
  // True when the 4-byte tag fits.
  bool check_len() const { return len_ >= vlan::kHeaderLen; }
  // VLAN identifier (low 12 bits of the TCI).
  uint16_t vid() const { return be16(vlan::field::kTci) & 0x0fff; }
  // Priority code point (top 3 bits of the TCI).
  uint8_t pcp() const { return static_cast<uint8_t>(be16(vlan::field::kTci) >> 13); }
  // EtherType of the wrapped payload (possibly another tag).
  uint16_t ethertype() const { return be16(vlan::field::kEthertype); }
};

}  // namespace sgfw::wire
