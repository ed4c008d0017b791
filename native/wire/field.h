// Header fields as data, in the smoltcp manner: each protocol view names its fields
// as {offset, length} in a `field` namespace and derives kHeaderLen from the last one.
#pragma once
#include <cstdint>

#include "core/bytes.h"

namespace sgfw::wire {

struct Field {
  uint16_t off;
  uint16_t len;
  constexpr uint16_t end() const { return static_cast<uint16_t>(off + len); }
};

// Base of every view: a pointer and the number of bytes that may be read from it.
// Views are plain values (no virtuals, no ownership); accessors read fixed fields only,
// and each view's check_len() proves those fields lie inside [data, data + len).
class ByteView {
 public:
  constexpr ByteView(const uint8_t* data, uint32_t len) : data_(data), len_(len) {}
  constexpr const uint8_t* data() const { return data_; }
  constexpr uint32_t len() const { return len_; }

 protected:
  uint8_t u8(Field f) const { return data_[f.off]; }
  uint16_t be16(Field f) const { return load_be16(data_ + f.off); }
  uint32_t be32(Field f) const { return load_be32(data_ + f.off); }
  const uint8_t* at(Field f) const { return data_ + f.off; }

  const uint8_t* data_;
  uint32_t len_;
};

}  // namespace sgfw::wire
