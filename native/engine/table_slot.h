// The table every worker should be using, published by the controller. Workers poll the
// generation (one relaxed atomic load per batch) and take the lock only when it changed, so
// the packet path never waits for a reload.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "table/match_table.h"

namespace sgfw::engine {

class TableSlot {
 public:
  // CONTROL: publish a new table; returns its generation (1, 2, ...).
  uint32_t publish(std::shared_ptr<const table::MatchTable> t) {
    std::lock_guard<std::mutex> g(mu_);
    table_ = std::move(t);
    const uint32_t gen = generation_.load(std::memory_order_relaxed) + 1;
    generation_.store(gen, std::memory_order_release);
    return gen;
  }
  uint32_t generation() const { return generation_.load(std::memory_order_acquire); }
  // The current table and its generation (0 and nullptr before the first publish).
  std::shared_ptr<const table::MatchTable> get(uint32_t* gen) const {
    std::lock_guard<std::mutex> g(mu_);
    *gen = generation_.load(std::memory_order_relaxed);
    return table_;
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const table::MatchTable> table_;
  std::atomic<uint32_t> generation_{0};
};

}  // namespace sgfw::engine
