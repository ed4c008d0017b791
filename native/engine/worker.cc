#include "engine/worker.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

namespace sgfw::engine {
namespace {

uint64_t realtime_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

void add(PacketCounters& a, const PacketCounters& b) {
  a.packets += b.packets;
  a.bytes += b.bytes;
}

void add(InterfaceCounters& a, const InterfaceCounters& b) {
  for (int d = 0; d < 2; d++) {
    add(a.accepted[d], b.accepted[d]);
    add(a.dropped[d], b.dropped[d]);
  }
}

// Adds a generation's per-rule and per-interface counters into totals keyed by id.
void fold(const TableState& ts, std::map<std::string, PacketCounters>& rules,
          std::map<std::string, InterfaceCounters>& ifaces) {
  const table::MatchTable& t = *ts.table;
  for (uint32_t r = 0; r < t.rule_count() && r < ts.rules.size(); r++) add(rules[std::string(t.rule_id(r))], ts.rules[r]);
  for (uint32_t i = 0; i < t.interface_count() && i < ts.interfaces.size(); i++)
    add(ifaces[std::string(t.interface_name(i))], ts.interfaces[i]);
}

}  // namespace

Worker::Worker(std::unique_ptr<capture::PacketSource> src, const TableSlot& slot, const WorkerConfig& cfg)
    : src_(std::move(src)), slot_(slot), cfg_(cfg), engine_(cfg.engine) {
  if (cfg_.batch < 1) cfg_.batch = 1;
  if (cfg_.flow_log) {
    flow_log_.attach(cfg_.flow_log, cfg_.account_id);
    engine_.set_flow_sink(FlowLog::sink(), &flow_log_);
  }
}

void Worker::adopt_table() {
  uint32_t gen = 0;
  std::shared_ptr<const table::MatchTable> t = slot_.get(&gen);
  if (!t || gen == generation_) return;
  std::string err;
  if (!engine_.set_table(std::move(t), gen, &err)) {
    error_ = err;
    failed_.store(true, std::memory_order_release);
    return;
  }
  generation_ = gen;
  if (cfg_.verdicts) names_.build(*engine_.current().table);
  if (cfg_.flow_log) {
    const table::MatchTable& t = *engine_.current().table;
    std::vector<std::string> names;
    for (uint32_t i = 0; i < t.interface_count(); i++) names.emplace_back(t.interface_name(i));
    flow_log_.set_interfaces(std::move(names));
  }
  fold_retired();
}

void Worker::fold_retired() {
  for (const TableState& ts : engine_.take_retired()) fold(ts, rule_totals_, iface_totals_);
}

void Worker::publish_snapshot() {
  const uint64_t req = requested_.load(std::memory_order_acquire);
  std::lock_guard<std::mutex> g(snap_mu_);
  snap_.generation = generation_;
  snap_.counters = engine_.counters();
  snap_.conntrack = engine_.flows().counters();
  snap_.conntrack_max = engine_.flows().capacity();
  snap_.fragments = engine_.frags().counters();
  src_->stats(snap_.source);
  snap_.unjudged = unjudged_;
  snap_.audit_would_drop = audit_would_drop_;
  snap_.rules = rule_totals_;
  snap_.interfaces = iface_totals_;
  if (engine_.has_table()) fold(engine_.current(), snap_.rules, snap_.interfaces);
  published_seq_.store(req, std::memory_order_release);
}

void Worker::run(const std::atomic<bool>& stop) {
  std::vector<capture::Frame> frames(static_cast<size_t>(cfg_.batch));
  std::vector<uint8_t> accept(static_cast<size_t>(cfg_.batch));
  std::vector<PacketMeta> metas(Engine::kMaxBatch);
  std::vector<Decision> decisions(Engine::kMaxBatch);
  const uint8_t pass_unjudged = cfg_.on_error == OnError::Open ? 1 : 0;
  while (!stop.load(std::memory_order_relaxed) && !failed_.load(std::memory_order_relaxed)) {
    const int n = src_->receive(frames.data(), cfg_.batch, cfg_.timeout_ms);
    if (n < 0) {
      error_ = src_->error();
      failed_.store(true, std::memory_order_release);
      break;
    }
    // After receive(), not before: it may have waited in poll() across a reload, and a frame
    // that arrived after the publish must meet the table the controller says is in force.
    if (slot_.generation() != generation_) adopt_table();
    uint64_t now = 0;
    for (int base = 0; base < n; base += static_cast<int>(Engine::kMaxBatch)) {
      const int m = std::min(n - base, static_cast<int>(Engine::kMaxBatch));
      if (!engine_.has_table()) {
        unjudged_ += static_cast<uint64_t>(m);
        std::memset(accept.data() + base, pass_unjudged, static_cast<size_t>(m));
        continue;
      }
      engine_.judge_batch(frames.data() + base, static_cast<uint32_t>(m), metas.data(), decisions.data());
      for (int k = 0; k < m; k++) {
        const int i = base + k;
        const capture::Frame& f = frames[static_cast<size_t>(i)];
        const Decision& d = decisions[static_cast<size_t>(k)];
        if (cfg_.verdicts) {
          char line[1024];
          if (verdict_line_bound(d, names_) <= sizeof line)
            cfg_.verdicts->append(
                std::string_view(line, static_cast<size_t>(format_verdict(line, judged_, d, names_) - line)));
        }
        judged_++;
        if (!cfg_.dropped_path.empty() && d.verdict == Verdict::Drop) write_dropped(f);
        uint8_t ok = d.verdict == Verdict::Accept ? 1 : 0;
        if (!ok && cfg_.audit) {
          audit_would_drop_++;
          ok = 1;
        }
        accept[static_cast<size_t>(i)] = ok;
        now = f.ts_ns;
      }
    }
    if (n > 0) src_->complete(frames.data(), accept.data(), n);
    engine_.expire(now ? now : realtime_ns(), 256);
    if (requested_.load(std::memory_order_relaxed) != published_seq_.load(std::memory_order_relaxed))
      publish_snapshot();
  }
  // Flows still open are logged as they stand when sgfw stops.
  if (cfg_.flow_log && engine_.has_table())
    engine_.flows().for_each_view([&](const conntrack::FlowView& f) { flow_log_.write_flow(f); });
  publish_snapshot();
  if (dropped_.is_open()) dropped_.close();
}

void Worker::write_dropped(const capture::Frame& f) {
  if (!dropped_.is_open()) {
    if (dropped_.failed() || !dropped_.open(cfg_.dropped_path.c_str(), f.link_type)) return;
  }
  capture::Record r{f.data, f.caplen, f.wirelen, f.ts_ns, f.link_type, judged_};
  dropped_.write(r);
}

WorkerSnapshot Worker::snapshot(int wait_ms) {
  const uint64_t want = requested_.fetch_add(1, std::memory_order_acq_rel) + 1;
  for (int waited = 0; waited < wait_ms && published_seq_.load(std::memory_order_acquire) < want; waited++)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::lock_guard<std::mutex> g(snap_mu_);
  return snap_;
}

}  // namespace sgfw::engine
