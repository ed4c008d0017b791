// What the engine says about one packet.
#pragma once
#include <cstdint>

#include "core/reason.h"

namespace sgfw::engine {

inline constexpr int32_t kNoRule = -1;
inline constexpr int32_t kNoInterface = -1;

struct Decision {
  Verdict verdict = Verdict::Drop;
  Reason reason = Reason::Malformed;
  uint8_t sub = 0;               // MalformedSub or InvalidSub, by reason
  Direction dir = Direction::Ingress;
  int32_t iface = kNoInterface;  // interface index in the table the packet met
  int32_t rule = kNoRule;        // rule index in that table (rule, default, platform)
};

}  // namespace sgfw::engine
