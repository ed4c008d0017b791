// One live worker: a thread that owns a PacketSource and an Engine (its flow-table shard) and
// loops receive -> judge -> complete. Tables are adopted between batches; counters are
// published as a snapshot when the controller asks (between batches: never a lock per packet).
#pragma once
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "capture/packet_source.h"
#include "core/append_log.h"
#include "engine/engine.h"
#include "capture/pcap_writer.h"
#include "engine/flow_log.h"
#include "engine/json_names.h"
#include "engine/table_slot.h"

namespace sgfw::engine {

enum class OnError : uint8_t { Open = 0, Closed = 1 };

struct WorkerConfig {
  EngineOptions engine;
  bool audit = false;                // forward everything, count what would have been dropped
  OnError on_error = OnError::Closed;  // what to do with frames while no table can judge them
  int batch = 64;
  int timeout_ms = 50;
  AppendLog* flow_log = nullptr;  // finished flows as VPC flow log records (shared by workers)
  std::string account_id = "-";
  // monitor (one worker): every verdict as a JSON line, and the dropped frames as a pcap.
  AppendLog* verdicts = nullptr;
  std::string dropped_path;
};

// What a worker has counted, by value: safe to read on the controller's thread.
struct WorkerSnapshot {
  uint32_t generation = 0;
  EngineCounters counters;
  conntrack::FlowTableCounters conntrack;
  uint64_t conntrack_max = 0;
  conntrack::FragTableCounters fragments;
  capture::SourceStats source;
  uint64_t unjudged = 0;  // frames seen before any table (passed or dropped per on_error)
  uint64_t audit_would_drop = 0;
  std::map<std::string, PacketCounters> rules;            // by rule id, over every generation
  std::map<std::string, InterfaceCounters> interfaces;    // by interface id
};

class Worker {
 public:
  Worker(std::unique_ptr<capture::PacketSource> src, const TableSlot& slot, const WorkerConfig& cfg);

  // The thread body: runs until stop is set or the source fails (error() then says why).
  void run(const std::atomic<bool>& stop);

  // CONTROL: ask for a fresh snapshot and wait up to wait_ms for the worker to publish it;
  // returns the latest published one either way.
  WorkerSnapshot snapshot(int wait_ms);
  const std::string& error() const { return error_; }
  bool failed() const { return failed_.load(std::memory_order_acquire); }

 private:
  void adopt_table();
  void fold_retired();
  void publish_snapshot();
  void write_dropped(const capture::Frame& f);

  std::unique_ptr<capture::PacketSource> src_;
  const TableSlot& slot_;
  WorkerConfig cfg_;
  Engine engine_;
  FlowLog flow_log_;
  JsonNames names_;
  uint64_t judged_ = 0;
  capture::PcapWriter dropped_;
  uint32_t generation_ = 0;
  uint64_t unjudged_ = 0;
  uint64_t audit_would_drop_ = 0;
  std::map<std::string, PacketCounters> rule_totals_;          // retired generations
  std::map<std::string, InterfaceCounters> iface_totals_;

  std::atomic<uint64_t> requested_{0};
  std::atomic<uint64_t> published_seq_{0};
  std::mutex snap_mu_;
  WorkerSnapshot snap_;
  std::string error_;
  std::atomic<bool> failed_{false};
};

}  // namespace sgfw::engine
