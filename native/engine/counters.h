// Engine counters: one block per engine (one writer: the worker that owns it), read as a
// snapshot by the controller. Per-rule and per-interface counters live with the table
// generation they count (engine.h TableState), since rule and interface indices are per table.
#pragma once
#include <cstdint>

#include "core/reason.h"

namespace sgfw::engine {

struct PacketCounters {
  uint64_t packets = 0;
  uint64_t bytes = 0;
};

struct EngineCounters {
  uint64_t packets = 0;
  uint64_t bytes = 0;
  uint64_t accepted = 0;
  uint64_t dropped = 0;
  uint64_t reasons[kReasonCount] = {};
  uint64_t malformed[kMalformedSubCount] = {};
  uint64_t invalid[kInvalidSubCount] = {};
  uint64_t conntrack_bypass = 0;  // --on-conntrack-full bypass: accepted without a flow
  uint64_t rule_change_cuts = 0;  // Alibaba: flows cut because a new Drop rule now matches
  uint64_t flows_flushed = 0;     // flows dropped at a reload that changed the interfaces
  uint64_t table_swaps = 0;
};

// Per interface and direction: what was accepted and dropped there.
struct InterfaceCounters {
  PacketCounters accepted[2];  // by Direction
  PacketCounters dropped[2];
};

}  // namespace sgfw::engine
