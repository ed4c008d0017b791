// FlowKey equality (flow_key.h: SSE2 compares where available) against a byte compare: equal
// keys compare equal, and a key differing in any one bit of any byte compares unequal.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>

#include "conntrack/flow_key.h"

using namespace sgfw;
using namespace sgfw::conntrack;

TEST_CASE("FlowKey == is the byte compare: every single-bit change of every byte is seen") {
  uint64_t state = 0x243f6a8885a308d3ull;
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  int unequal = 0, equal = 0;
  for (int round = 0; round < 64; ++round) {
    FlowKey a;
    unsigned char raw[sizeof(FlowKey)];
    for (size_t i = 0; i < sizeof raw; ++i) raw[i] = static_cast<unsigned char>(next());
    if (round % 2) std::memset(raw + 12, 0, 12), std::memset(raw + 28, 0, 12);  // IPv4-shaped: zero tails
    std::memcpy(&a, raw, sizeof a);
    FlowKey b;
    std::memcpy(&b, &a, sizeof b);
    CHECK(a == b);
    equal++;
    for (size_t byte = 0; byte < sizeof(FlowKey); ++byte) {
      for (int bit = 0; bit < 8; ++bit) {
        FlowKey c;
        std::memcpy(&c, &a, sizeof c);
        reinterpret_cast<unsigned char*>(&c)[byte] ^= static_cast<unsigned char>(1u << bit);
        if (a == c || c == a) FAIL_CHECK("byte ", byte, " bit ", bit, " not seen");
        unequal++;
      }
    }
  }
  CHECK(equal == 64);
  CHECK(unequal == 64 * 40 * 8);
}
