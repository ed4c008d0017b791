// Random entry fields and packet values on and beside their edges, shared by the leaf record
// tests (classifier_leaf4.cc, classifier_leaf6.cc): each compares a leaf's test with the full
// entry test (matches on the HotEntry) for the same entries and packets.
#pragma once
#include <cstdint>
#include <random>

#include "table/classifier.h"

namespace sgfw::test {

// A port range as the loader stores it (lo and span): any, one port, the high ports, up to
// 65535, or an arbitrary range.
inline void random_port_range(std::mt19937_64& rng, uint16_t& lo, uint16_t& span) {
  switch (rng() % 5) {
    case 0: lo = 0, span = 65535; break;
    case 1: lo = uint16_t(rng()), span = 0; break;
    case 2: lo = 1024, span = 65535 - 1024; break;
    case 3: lo = uint16_t(rng()), span = uint16_t(65535 - lo); break;
    default: lo = uint16_t(rng() % 60000), span = uint16_t(rng() % 5000); break;
  }
}

// Ports, and a protocol (any in a quarter of the entries) with ICMP type and code tests for
// `icmp` (1 or 58) entries, types drawn from [type_lo, type_lo + type_n).
inline void random_small_fields(std::mt19937_64& rng, table::detail::HotEntry& e, uint8_t icmp, uint8_t type_lo,
                                uint8_t type_n) {
  random_port_range(rng, e.sport_lo, e.sport_span);
  random_port_range(rng, e.dport_lo, e.dport_span);
  if (rng() % 4) e.proto_mask = 0xff, e.proto = uint8_t(rng() % 3 == 0 ? icmp : rng() % 2 ? 6 : 17);
  if (e.proto == icmp && rng() % 2) e.icmp_type_mask = 0xff, e.icmp_type = uint8_t(type_lo + rng() % type_n);
  if (e.proto == icmp && rng() % 3 == 0) e.icmp_code_mask = 0xff, e.icmp_code = uint8_t(rng() % 4);
}

// A field value on or beside one of the range's edges, or anywhere.
inline uint16_t near_range(std::mt19937_64& rng, uint16_t lo, uint16_t span) {
  const uint16_t hi = uint16_t(lo + span);
  switch (rng() % 7) {
    case 0: return lo;
    case 1: return hi;
    case 2: return uint16_t(lo - 1);
    case 3: return uint16_t(hi + 1);
    case 4: return 0;
    case 5: return 65535;
    default: return uint16_t(rng());
  }
}

}  // namespace sgfw::test
