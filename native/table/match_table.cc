// MatchTable lookups that are not inline: the address -> interface hash.
#include "table/match_table.h"

namespace sgfw::table {

namespace detail {
uint64_t addr_hash(uint8_t family, uint64_t hi, uint64_t lo) {
  uint64_t h = hi * 0x9E3779B97F4A7C15ull ^ (lo + family) * 0xC2B2AE3D27D4EB4Full;
  return h ^ (h >> 31);
}
}  // namespace detail

int MatchTable::find_interface(uint8_t family, const uint8_t addr[16]) const {
  if (addr_slots_.empty()) return -1;
  const uint64_t hi = detail::load_be64(addr), lo = detail::load_be64(addr + 8);
  const size_t mask = addr_slots_.size() - 1;
  for (size_t i = detail::addr_hash(family, hi, lo) & mask;; i = (i + 1) & mask) {
    const AddrSlot& s = addr_slots_[i];
    if (s.iface < 0) return -1;  // the table is at most half full: an empty slot ends every probe
    if (s.hi == hi && s.lo == lo && s.family == family) return s.iface;
  }
}

size_t MatchTable::classifier_bytes() const {
  return hot_.size() * sizeof(detail::HotEntry) + nodes_.size() * sizeof(detail::Node) +
         leaf_hot_.size() * sizeof(detail::HotEntry) + leaf_ids_.size() * sizeof(uint32_t) + runs_.size() * sizeof(Run);
}

}  // namespace sgfw::table
