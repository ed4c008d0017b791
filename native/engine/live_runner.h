// The live data plane: N workers, each with its own packet source and flow-table shard, one
// shared table slot. The controller (N-API) starts and stops it, pushes tables, reads counters.
#pragma once
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/worker.h"

namespace sgfw::engine {

// Opens worker i's source (control path); nullptr with *error set on failure.
using SourceFactory =
    std::function<std::unique_ptr<capture::PacketSource>(int worker, int workers, std::string* error)>;

class LiveRunner {
 public:
  ~LiveRunner() { stop(); }

  // CONTROL: open every worker's source. Nothing runs yet.
  // flow_log_path: append finished flows there (empty: no flow log).
  // verdicts_path (JSON lines) and cfg.dropped_path (pcap) need a single worker.
  bool open(int workers, const SourceFactory& factory, const WorkerConfig& cfg, std::string* error,
            const std::string& flow_log_path = "", const std::string& verdicts_path = "");
  // CONTROL: publish a validated table; workers adopt it between batches.
  uint32_t publish(std::shared_ptr<const table::MatchTable> t) { return slot_.publish(std::move(t)); }
  uint32_t generation() const { return slot_.generation(); }
  void start();
  void stop();
  bool running() const { return !threads_.empty(); }
  // Sum over workers (waits up to wait_ms for fresh counters from each).
  WorkerSnapshot snapshot(int wait_ms);
  // The first failed worker's error, or empty.
  std::string failure() const;
  int workers() const { return static_cast<int>(workers_.size()); }

 private:
  TableSlot slot_;
  AppendLog flow_log_;
  AppendLog verdicts_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
};

}  // namespace sgfw::engine
