// Ethernet II header (IEEE 802.3 framing with an EtherType).
#pragma once
#include "wire/field.h"

namespace sgfw::wire {

namespace ethernet {
namespace field {
inline constexpr Field kDst{0, 6};
inline constexpr Field kSrc{6, 6};
inline constexpr Field kEthertype{12, 2};
}  // namespace field
inline constexpr uint32_t kHeaderLen = field::kEthertype.end();
}  // namespace ethernet

// EtherType values the parser acts on.
inline constexpr uint16_t kEthertypeIpv4 = 0x0800;
inline constexpr uint16_t kEthertypeArp = 0x0806;
inline constexpr uint16_t kEthertypeVlan = 0x8100;    // 802.1Q C-tag
inline constexpr uint16_t kEthertypeQinQ = 0x88a8;    // 802.1ad S-tag
inline constexpr uint16_t kEthertypeQinQOld = 0x9100; // pre-802.1ad QinQ, still seen
inline constexpr uint16_t kEthertypeIpv6 = 0x86dd;

// True for the EtherTypes that announce a VLAN tag.
constexpr bool is_vlan_ethertype(uint16_t t) {
  return t == kEthertypeVlan || t == kEthertypeQinQ || t == kEthertypeQinQOld;
}

class EthernetView : public ByteView {
 public:
  using ByteView::ByteView;
  // True when the 14-byte header fits; then no accessor reads out of bounds.
  bool check_len() const { return len_ >= ethernet::kHeaderLen; }
  // Destination MAC address (6 bytes).
  const uint8_t* dst() const { return at(ethernet::field::kDst); }
  // Source MAC address (6 bytes).
  const uint8_t* src() const { return at(ethernet::field::kSrc); }
  // EtherType of the payload (or of the first VLAN tag).
  uint16_t ethertype() const { return be16(ethernet::field::kEthertype); }
};

}  // namespace sgfw::wire
