#include "engine/live_runner.h"

namespace sgfw::engine {
namespace {

void add(PacketCounters& a, const PacketCounters& b) {
  a.packets += b.packets;
  a.bytes += b.bytes;
}

void add(EngineCounters& a, const EngineCounters& b) {
  a.packets += b.packets;
  a.bytes += b.bytes;
  a.accepted += b.accepted;
  a.dropped += b.dropped;
  for (int i = 0; i < kReasonCount; i++) a.reasons[i] += b.reasons[i];
  for (int i = 0; i < kMalformedSubCount; i++) a.malformed[i] += b.malformed[i];
  for (int i = 0; i < kInvalidSubCount; i++) a.invalid[i] += b.invalid[i];
  a.conntrack_bypass += b.conntrack_bypass;
  a.rule_change_cuts += b.rule_change_cuts;
  a.flows_flushed += b.flows_flushed;
  a.table_swaps += b.table_swaps;
}

}  // namespace

bool LiveRunner::open(int workers, const SourceFactory& factory, const WorkerConfig& cfg, std::string* error,
                      const std::string& flow_log_path, const std::string& verdicts_path) {
  if (workers < 1) workers = 1;
  WorkerConfig wc = cfg;
  if ((!verdicts_path.empty() || !cfg.dropped_path.empty()) && workers != 1) {
    if (error) *error = "--verdicts and --write-dropped need a single worker";
    return false;
  }
  if (!verdicts_path.empty()) {
    if (!verdicts_.open(verdicts_path, "")) {
      if (error) *error = verdicts_.error();
      return false;
    }
    wc.verdicts = &verdicts_;
  }
  if (!flow_log_path.empty()) {
    if (!flow_log_.open(flow_log_path, kFlowLogHeader)) {
      if (error) *error = flow_log_.error();
      return false;
    }
    wc.flow_log = &flow_log_;
  }
  wc.engine.shards = static_cast<uint32_t>(workers);
  for (int i = 0; i < workers; i++) {
    std::unique_ptr<capture::PacketSource> src = factory(i, workers, error);
    if (!src) {
      workers_.clear();
      return false;
    }
    wc.engine.hash_seed = cfg.engine.hash_seed + static_cast<uint64_t>(i) * 0x9e3779b97f4a7c15ull;
    workers_.push_back(std::make_unique<Worker>(std::move(src), slot_, wc));
  }
  return true;
}

void LiveRunner::start() {
  if (!threads_.empty()) return;
  stop_.store(false);
  for (auto& w : workers_) {
    Worker* wp = w.get();
    threads_.emplace_back([this, wp] { wp->run(stop_); });
  }
}

void LiveRunner::stop() {
  stop_.store(true);
  for (auto& t : threads_) t.join();
  threads_.clear();
  flow_log_.flush();
  verdicts_.flush();
}

WorkerSnapshot LiveRunner::snapshot(int wait_ms) {
  WorkerSnapshot sum;
  bool first = true;
  for (auto& w : workers_) {
    WorkerSnapshot s = w->snapshot(running() ? wait_ms : 0);
    if (first) {
      sum = s;
      first = false;
      continue;
    }
    sum.generation = std::min(sum.generation, s.generation);
    add(sum.counters, s.counters);
    sum.conntrack.entries += s.conntrack.entries;
    sum.conntrack.created += s.conntrack.created;
    sum.conntrack.expired += s.conntrack.expired;
    sum.conntrack.evicted += s.conntrack.evicted;
    sum.conntrack.full += s.conntrack.full;
    sum.conntrack.removed += s.conntrack.removed;
    sum.conntrack_max += s.conntrack_max;
    sum.fragments.entries += s.fragments.entries;
    sum.fragments.inserted += s.fragments.inserted;
    sum.fragments.expired += s.fragments.expired;
    sum.fragments.evicted += s.fragments.evicted;
    sum.fragments.hits += s.fragments.hits;
    sum.fragments.misses += s.fragments.misses;
    for (int p = 0; p < s.source.ports && p < capture::kMaxPorts; p++) {
      capture::PortStats& a = sum.source.port[p];
      const capture::PortStats& b = s.source.port[p];
      a.received += b.received;
      a.kernel_drops += b.kernel_drops;
      a.forwarded += b.forwarded;
      a.tx_errors += b.tx_errors;
      a.dropped += b.dropped;
    }
    if (s.source.ports > sum.source.ports) sum.source.ports = s.source.ports;
    sum.source.busy_polls += s.source.busy_polls;
    sum.source.busy_poll_hits += s.source.busy_poll_hits;
    sum.unjudged += s.unjudged;
    sum.audit_would_drop += s.audit_would_drop;
    for (const auto& [k, v] : s.rules) add(sum.rules[k], v);
    for (const auto& [k, v] : s.interfaces) {
      InterfaceCounters& a = sum.interfaces[k];
      for (int d = 0; d < 2; d++) {
        add(a.accepted[d], v.accepted[d]);
        add(a.dropped[d], v.dropped[d]);
      }
    }
  }
  return sum;
}

std::string LiveRunner::failure() const {
  for (const auto& w : workers_)
    if (w->failed()) return w->error();
  return {};
}

}  // namespace sgfw::engine
