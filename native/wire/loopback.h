// BSD loopback header (LINKTYPE_NULL): a 4-byte address family in the byte order of
// the host that captured the trace, which need not be ours.
#pragma once
#include "wire/field.h"

namespace sgfw::wire {

namespace loopback {
namespace field {
inline constexpr Field kFamily{0, 4};
}  // namespace field
inline constexpr uint32_t kHeaderLen = field::kFamily.end();
// AF_INET is 2 everywhere; AF_INET6 is 24 (NetBSD, OpenBSD), 28 (FreeBSD), 30 (Darwin).
inline constexpr uint32_t kAfInet = 2;
constexpr bool is_af_inet6(uint32_t af) { return af == 24 || af == 28 || af == 30; }
}  // namespace loopback

class LoopbackView : public ByteView {
 public:
  using ByteView::ByteView;
  // True when the 4-byte header fits.
  bool check_len() const { return len_ >= loopback::kHeaderLen; }
  // Address family in our byte order: every family value is < 65536, so a value with
  // the high half set was written by a host of the other endianness and is swapped back.
  uint32_t family() const {
    uint32_t v = load_le32(at(loopback::field::kFamily));
    if (v > 0xffff) v = __builtin_bswap32(v);
    return v;
  }
};

}  // namespace sgfw::wire
