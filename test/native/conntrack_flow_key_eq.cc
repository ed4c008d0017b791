// FlowKey equality (flow_key.h: SSE2 compares where available) against a byte compare: equal
// keys compare equal, and a key differing in any one bit of any byte compares unequal.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>

#include "conntrack/flow_key.h"

using namespace sgfw;
using namespace sgfw::conntrack;

namespace {
// Marsaglia's xorshift64: reproducible test bytes.
struct XorShift {
  uint64_t state;
  uint64_t operator()() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  }
};
}  // namespace

TEST_CASE("FlowKey == is the byte compare: every single-bit change of every byte is seen") {
  XorShift next{0x243f6a8885a308d3ull};
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

TEST_CASE("FlowKeyWords stores the key make_flow_key makes, and hashes it as the key's hash does") {
  XorShift next{0x9e3779b97f4a7c15ull};
  const uint64_t seed = 0x1234567887654321ull;
  const FlowHash4 h = FlowHash4::of(seed);
  int checked = 0;
  for (int round = 0; round < 2000; ++round) {
    Tuple t;
    t.family = round % 2 ? 6 : 4;
    t.proto = static_cast<uint8_t>(next());
    t.sport = static_cast<uint16_t>(next());
    t.dport = static_cast<uint16_t>(next());
    for (int i = 0; i < (t.family == 4 ? 4 : 16); ++i) {
      t.src[i] = static_cast<uint8_t>(next());
      t.dst[i] = static_cast<uint8_t>(next());
    }
    const uint16_t iface = static_cast<uint16_t>(next());
    for (Direction dir : {Direction::Ingress, Direction::Egress}) {
      const FlowKey want = make_flow_key(t, iface, dir);
      FlowKey got;
      std::memset(reinterpret_cast<unsigned char*>(&got), 0xa5, sizeof got);  // every byte must be written
      const FlowKeyWords k = t.family == 4 ? FlowKeyWords::of4(t, iface, dir) : FlowKeyWords::of6(t, iface, dir);
      k.store(got);
      if (std::memcmp(&got, &want, sizeof got) != 0) FAIL_CHECK("round ", round, " dir ", static_cast<int>(dir));
      if (flow_hash(k, seed) != flow_hash(want, seed)) FAIL_CHECK("hash, round ", round);
      if (t.family == 4 && flow_hash4(k, h) != flow_hash(want, seed)) FAIL_CHECK("hash4, round ", round);
      checked++;
    }
  }
  CHECK(checked == 4000);
}
