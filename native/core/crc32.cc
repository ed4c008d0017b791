// Slicing-by-4 table CRC: control path only (table load), a 1,000-rule blob is ~70 KB.
#include "core/crc32.h"

#include <array>

namespace sgfw {
namespace {

constexpr uint32_t kPoly = 0xEDB88320u;  // 0x04C11DB7 reflected

constexpr std::array<std::array<uint32_t, 256>, 4> make_tables() {
  std::array<std::array<uint32_t, 256>, 4> t{};
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
    t[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; i++) {
    for (int s = 1; s < 4; s++) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
  }
  return t;
}

constexpr auto kTables = make_tables();

}  // namespace

uint32_t crc32(uint32_t crc, const uint8_t* data, size_t n) {
  uint32_t c = ~crc;
  while (n >= 4) {
    c ^= uint32_t{data[0]} | (uint32_t{data[1]} << 8) | (uint32_t{data[2]} << 16) |
         (uint32_t{data[3]} << 24);
    c = kTables[3][c & 0xff] ^ kTables[2][(c >> 8) & 0xff] ^ kTables[1][(c >> 16) & 0xff] ^
        kTables[0][c >> 24];
    data += 4;
    n -= 4;
  }
  while (n--) c = (c >> 8) ^ kTables[0][(c ^ *data++) & 0xff];
  return ~c;
}

}  // namespace sgfw
