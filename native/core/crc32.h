// CRC-32 (IEEE 802.3 polynomial, reflected, as zlib's crc32()): the table blob's checksum.
#pragma once
#include <cstddef>
#include <cstdint>

namespace sgfw {

// Continues `crc` (0 to start) over n bytes; crc32(crc32(0, a), b) == crc32(0, a+b), as zlib.
uint32_t crc32(uint32_t crc, const uint8_t* data, size_t n);

}  // namespace sgfw
