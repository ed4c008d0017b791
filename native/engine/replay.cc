#include "engine/replay.h"

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <map>
#include <unistd.h>
#include <unordered_map>

#include "capture/link_types.h"
#include "capture/pcap_file.h"
#include "capture/pcap_writer.h"
#include "conntrack/flow_key.h"
#include "core/atomic_file.h"
#include "engine/flow_log.h"
#include "engine/json_names.h"

namespace sgfw::engine {
namespace {

uint64_t mono_ns() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

struct KeyHash {
  size_t operator()(const conntrack::FlowKey& k) const { return conntrack::flow_hash(k); }
};

// Appends one verdict line (spec 6) to the file's buffer.
void write_verdict(AtomicFile& f, uint64_t i, const Decision& d, const JsonNames& names) {
  char* p = f.reserve(verdict_line_bound(d, names));
  if (!p) return;
  f.commit_bytes(static_cast<size_t>(format_verdict(p, i, d, names) - p));
}

class Progress {
 public:
  explicit Progress(bool on) : on_(on), start_(mono_ns()) {}
  void tick(uint64_t packets, uint64_t offset_done, uint64_t total) {
    if (!on_ || (packets & 0xffff) != 0) return;
    const uint64_t now = mono_ns();
    if (now - start_ < 2'000'000'000ull || now - last_ < 250'000'000ull) return;
    last_ = now;
    shown_ = true;
    const double secs = static_cast<double>(now - start_) / 1e9;
    std::fprintf(stderr, "\rsgfw replay: %" PRIu64 " packets, %.0f%%, %.2f M packets/s   ", packets,
                 total ? 100.0 * static_cast<double>(offset_done) / static_cast<double>(total) : 0.0,
                 static_cast<double>(packets) / secs / 1e6);
  }
  ~Progress() {
    if (shown_) std::fputs("\n", stderr);
  }

 private:
  bool on_;
  bool shown_ = false;
  uint64_t start_, last_ = 0;
};

struct Outputs {
  AtomicFile verdicts;
  capture::PcapWriter accepted, dropped;
  FlowLog flow_log;
  uint32_t pcap_link_type = 0;
  bool pcap_open = false;

  void abort_all() {
    verdicts.abort();
    accepted.abort();
    dropped.abort();
    flow_log.abort();
  }
};

// Dropped traffic for the flow log's REJECT records, by the tuple of its first packet.
struct RejectAgg {
  int32_t iface;
  Tuple tuple;
  uint64_t packets = 0, bytes = 0, start_s = 0, end_s = 0;
};

}  // namespace

void run_replay(const ReplayOptions& opts, ReplayResult& out) {
  out = ReplayResult{};
  auto fail_input = [&](std::string msg) {
    out.ok = false;
    out.input_error = true;
    out.error = std::move(msg);
  };
  if (opts.tables.empty() || opts.tables[0].before_packet != 0) {
    out.error = "replay needs a table for packet 0";
    return;
  }

  // The clock starts before the trace is opened: how its bytes are brought in (and choosing how,
  // PcapFile::open) is part of reading it.
  const uint64_t t0 = mono_ns();
  capture::PcapFile trace;
  if (!trace.open(opts.trace.c_str())) return fail_input(trace.error());

  // A replay touches only the flows its trace opens: no pre-faulting of the whole flow table.
  EngineOptions engine_opts = opts.engine;
  engine_opts.flow_memory = conntrack::FlowTableMemory::Lazy;
  Engine engine(engine_opts);
  std::string err;
  uint32_t generation = 1;
  if (!engine.set_table(opts.tables[0].table, generation, &err)) {
    out.error = err;
    return;
  }
  // Rule and interface names as JSON strings, for the verdicts file only.
  const bool want_names = !opts.verdicts_path.empty();
  JsonNames names;
  if (want_names) names.build(*opts.tables[0].table);
  auto iface_names = [](const table::MatchTable& t) {
    std::vector<std::string> v;
    for (uint32_t i = 0; i < t.interface_count(); i++) v.emplace_back(t.interface_name(i));
    return v;
  };

  Outputs o;
  if (!opts.verdicts_path.empty() && !o.verdicts.open(opts.verdicts_path)) return fail_input(o.verdicts.error());
  if (!opts.flow_log_path.empty()) {
    if (!o.flow_log.open(opts.flow_log_path, opts.account_id)) {
      o.abort_all();
      return fail_input(o.flow_log.error());
    }
    o.flow_log.set_interfaces(iface_names(*opts.tables[0].table));
    engine.set_flow_sink(FlowLog::sink(), &o.flow_log);
  }
  const bool want_pcap = !opts.accepted_path.empty() || !opts.dropped_path.empty();

  std::unordered_map<conntrack::FlowKey, uint32_t, KeyHash> flow_index;
  std::unordered_map<conntrack::FlowKey, RejectAgg, KeyHash> rejects;
  uint64_t seen_link_types[8] = {};

  int seen_link_count = 0;

  size_t next_table = 1;
  // The next swap's packet index, or never: one compare per packet instead of a vector walk.
  auto next_swap_at = [&]() {
    return next_table < opts.tables.size() ? opts.tables[next_table].before_packet : ~uint64_t{0};
  };
  uint64_t swap_at = next_swap_at();
  const bool any_output = o.verdicts.is_open() || want_pcap || opts.flow_summary || o.flow_log.is_open();
  uint32_t last_link_type = ~0u;  // the link type of the previous record (known and supported)

  // Everything a packet may owe the outputs; off the hot loop when there are none.
  auto write_outputs = [&](const capture::Record& r, const Decision& d, const PacketMeta& meta, uint64_t i) -> bool {
    if (o.verdicts.is_open()) write_verdict(o.verdicts, i, d, names);
    if (want_pcap) {
      if (!o.pcap_open) {
        o.pcap_link_type = r.link_type;
        if ((!opts.accepted_path.empty() && !o.accepted.open(opts.accepted_path.c_str(), r.link_type)) ||
            (!opts.dropped_path.empty() && !o.dropped.open(opts.dropped_path.c_str(), r.link_type))) {
          std::string e = o.accepted.failed() ? o.accepted.error() : o.dropped.error();
          o.abort_all();
          fail_input(e);
          return false;
        }
        o.pcap_open = true;
      } else if (r.link_type != o.pcap_link_type) {
        o.abort_all();
        fail_input(opts.trace + ": record " + std::to_string(r.index) +
                   ": link type changes mid-trace; --write-accepted/--write-dropped write one link type");
        return false;
      }
      capture::PcapWriter& w = d.verdict == Verdict::Accept ? o.accepted : o.dropped;
      if (w.is_open() && !w.write(r)) {
        // The writer has removed its temporary file: fail the whole run, leave nothing behind.
        std::string e = w.error();
        o.abort_all();
        out.error = e;
        return false;
      }
    }
    if ((opts.flow_summary || o.flow_log.is_open()) && meta.kind == FrameKind::Ip && d.iface >= 0) {
      const conntrack::FlowKey k = conntrack::make_flow_key(meta.tuple, static_cast<uint16_t>(d.iface), d.dir);
      if (opts.flow_summary) {
        auto [it, fresh] = flow_index.try_emplace(k, static_cast<uint32_t>(out.flows.size()));
        if (fresh) {
          FlowSummary s;
          s.iface = d.iface;
          s.tuple = meta.tuple;
          s.first_verdict = d.verdict;
          s.first_reason = d.reason;
          if (d.rule >= 0) s.first_rule = std::string(engine.current().table->rule_id(d.rule));
          out.flows.push_back(std::move(s));
        }
        FlowSummary& s = out.flows[it->second];
        (d.verdict == Verdict::Accept ? s.accepted : s.dropped)++;
      }
      if (o.flow_log.is_open() && d.verdict == Verdict::Drop) {
        const uint64_t sec = r.ts_ns / 1'000'000'000ull;
        auto [it, fresh] = rejects.try_emplace(k, RejectAgg{d.iface, meta.tuple});
        if (fresh) it->second.start_s = sec;
        it->second.packets++;
        it->second.bytes += meta.ip_len;
        it->second.end_s = sec;
      }
    }
    return true;
  };

  Progress progress(opts.progress && isatty(2));
  // Packets go to the engine in batches (judge_batch prefetches their flows); a batch never
  // spans a table swap or a sweep point, and every record's link type is checked before any
  // of it is judged. Batches also end where the reader's window does, so nothing that counts
  // may depend on where they end: sweeps come after every 1,024th packet exactly, and the
  // end of the trace is its latest timestamp.
  constexpr uint32_t kBatch = 32;
  static_assert(kBatch <= Engine::kMaxBatch);
  // The trace's next bytes that judging a batch prefetches: about a batch of the bench trace's
  // records (32 of ~120 bytes). Half or twice that measured slower.
  constexpr size_t kReadahead = 4096;
  capture::Record recs[kBatch];
  PacketMeta metas[kBatch];
  Decision decisions[kBatch];
  uint64_t i = 0;
  uint64_t end_ts = 0;
  for (;;) {
    if (i >= swap_at) [[unlikely]] {
      while (next_table < opts.tables.size() && opts.tables[next_table].before_packet <= i) {
        if (!engine.set_table(opts.tables[next_table].table, ++generation, &err)) {
          o.abort_all();
          out.error = err;
          return;
        }
        if (want_names) names.build(*opts.tables[next_table].table);
        if (o.flow_log.is_open()) o.flow_log.set_interfaces(iface_names(*opts.tables[next_table].table));
        next_table++;
      }
      swap_at = next_swap_at();
    }
    const uint64_t sweep_at = (i | 1023) + 1;
    uint64_t want = kBatch;
    if (swap_at - i < want) want = swap_at - i;
    if (sweep_at - i < want) want = sweep_at - i;
    const size_t n = trace.next_batch(recs, static_cast<size_t>(want));
    if (n == 0) break;
    // A classic pcap has one link type for all its records: its first record's check stands
    // for every one (pcapng records carry their interface's, each checked).
    const size_t n_check = trace.format() == capture::TraceFormat::Pcap ? 1 : n;
    for (size_t k = 0; k < n_check; k++) {
      const capture::Record& r = recs[k];
      if (r.link_type != last_link_type) [[unlikely]] {
        bool known = false;
        for (int s = 0; s < seen_link_count; s++) known |= seen_link_types[s] == r.link_type;
        if (!known) {
          char buf[96];
          if (!wire::link_type_supported(r.link_type)) {
            o.abort_all();
            return fail_input(opts.trace + ": record " + std::to_string(r.index) + ": unsupported link type " +
                              capture::describe_link_type(r.link_type, buf, sizeof buf));
          }
          if (seen_link_count < 8) seen_link_types[seen_link_count++] = r.link_type;
          if (!out.link_types.empty()) out.link_types += ",";
          out.link_types += capture::describe_link_type(r.link_type, buf, sizeof buf);
        }
        last_link_type = r.link_type;
      }
    }

    engine.judge_batch(recs, static_cast<uint32_t>(n), metas, decisions, trace.upcoming(kReadahead));

    if (any_output) [[unlikely]] {
      for (size_t k = 0; k < n; k++)
        if (!write_outputs(recs[k], decisions[k], metas[k], i + k)) return;
    }
    // The sweep reclaims idle flows at one pool record per four packets, on the clock of the
    // 1,024th packet. Lookups expire lazily too, and an insert into a full pool first looks
    // near its slot for an expired flow to reuse (kEarlyDropScan); only then does it evict an
    // unreplied one or refuse.
    for (size_t k = 0; k < n; k++) end_ts = recs[k].ts_ns > end_ts ? recs[k].ts_ns : end_ts;
    if (((i + n) & 1023) == 0) [[unlikely]] {
      engine.expire(recs[n - 1].ts_ns, 256);
      progress.tick(i + n, trace.offset(), trace.size());
    }
    i += n;
  }
  out.elapsed_ns = mono_ns() - t0;
  if (trace.failed()) {
    o.abort_all();
    return fail_input(trace.error());
  }
  // At the trace's end (its latest timestamp) every flow idle past its timeout has expired: the
  // counters and the flow log then do not depend on how far the sweep had come. Not timed: it
  // is accounting, not judging.
  if (i > 0) engine.expire(end_ts, ~0u);

  // Outputs: flows still open are written as they stand, then every file is committed.
  if (o.flow_log.is_open()) {
    engine.flows().for_each_view([&](const conntrack::FlowView& f) { o.flow_log.write_flow(f); });
    for (const auto& [k, a] : rejects) o.flow_log.write_reject(a.iface, a.tuple, a.packets, a.bytes, a.start_s, a.end_s);
  }
  if (want_pcap && !o.pcap_open) {
    // An empty trace still yields (empty) output files.
    if (!opts.accepted_path.empty()) o.accepted.open(opts.accepted_path.c_str(), capture::kLinkTypeEthernet);
    if (!opts.dropped_path.empty()) o.dropped.open(opts.dropped_path.c_str(), capture::kLinkTypeEthernet);
  }
  std::string commit_error;
  if (o.verdicts.is_open() && !o.verdicts.commit()) commit_error = o.verdicts.error();
  if (o.accepted.is_open() && !o.accepted.close()) commit_error = o.accepted.error();
  if (o.dropped.is_open() && !o.dropped.close()) commit_error = o.dropped.error();
  if (o.flow_log.is_open() && !o.flow_log.commit()) commit_error = o.flow_log.error();
  if (!commit_error.empty()) {
    o.abort_all();
    out.error = commit_error;
    return;
  }

  out.counters = engine.counters();
  out.conntrack = engine.flows().counters();
  out.conntrack_max = engine.flows().capacity();
  out.fragments = engine.frags().counters();
  // Rule and interface counters by id, over every generation, in first-seen order.
  std::map<std::string, size_t, std::less<>> rule_at, iface_at;
  auto add = [&](const TableState& ts) {
    const table::MatchTable& t = *ts.table;
    for (uint32_t r2 = 0; r2 < t.rule_count(); r2++) {
      auto [it, fresh] = rule_at.try_emplace(std::string(t.rule_id(r2)), out.rules.size());
      if (fresh) out.rules.push_back(RuleTotal{std::string(t.rule_id(r2))});
      out.rules[it->second].packets += ts.rules[r2].packets;
      out.rules[it->second].bytes += ts.rules[r2].bytes;
    }
    for (uint32_t f = 0; f < t.interface_count(); f++) {
      auto [it, fresh] = iface_at.try_emplace(std::string(t.interface_name(f)), out.interfaces.size());
      if (fresh) out.interfaces.push_back(InterfaceTotal{std::string(t.interface_name(f))});
      InterfaceCounters& c = out.interfaces[it->second].counters;
      for (int dir = 0; dir < 2; dir++) {
        c.accepted[dir].packets += ts.interfaces[f].accepted[dir].packets;
        c.accepted[dir].bytes += ts.interfaces[f].accepted[dir].bytes;
        c.dropped[dir].packets += ts.interfaces[f].dropped[dir].packets;
        c.dropped[dir].bytes += ts.interfaces[f].dropped[dir].bytes;
      }
    }
  };
  for (const TableState& ts : engine.retired()) add(ts);
  add(engine.current());
  out.ok = true;
}

}  // namespace sgfw::engine
