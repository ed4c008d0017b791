// `sgfw replay`: judge every packet of a pcap/pcapng trace in order, with table swaps at
// given packet indices, and write the requested outputs. Outputs appear only when the
// whole trace was judged (no partial files on bad input).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace sgfw::engine {

struct ReplayTable {
  uint64_t before_packet = 0;  // adopt this table before judging packet N (0: the first table)
  std::shared_ptr<const table::MatchTable> table;
};

struct ReplayOptions {
  std::string trace;
  std::vector<ReplayTable> tables;  // sorted by before_packet, the first at 0
  std::string verdicts_path;        // JSONL, one line per packet
  std::string accepted_path;        // pcap of accepted packets
  std::string dropped_path;         // pcap of dropped packets
  std::string flow_log_path;        // AWS VPC flow log v2
  std::string account_id = "-";
  bool flow_summary = false;        // collect per-flow first verdicts (for --diff)
  bool progress = false;            // progress line on stderr after 2 s
  EngineOptions engine;
};

// One flow of the trace, by the tuple of its first packet, for --diff.
struct FlowSummary {
  int32_t iface = -1;
  Tuple tuple;            // as the first packet had it
  Verdict first_verdict = Verdict::Drop;
  Reason first_reason = Reason::Default;
  std::string first_rule;  // empty: none
  uint64_t accepted = 0;
  uint64_t dropped = 0;
};

struct RuleTotal {
  std::string id;
  uint64_t packets = 0;
  uint64_t bytes = 0;
};

struct InterfaceTotal {
  std::string id;
  InterfaceCounters counters;
};

struct ReplayResult {
  bool ok = false;
  bool input_error = false;  // the trace or an option was bad (exit 2), not an internal failure
  std::string error;
  std::string link_types;    // names of the link types seen
  uint64_t elapsed_ns = 0;   // opening and reading the trace + judging, start-up excluded
  EngineCounters counters;
  conntrack::FlowTableCounters conntrack;
  uint64_t conntrack_max = 0;
  conntrack::FragTableCounters fragments;
  std::vector<RuleTotal> rules;             // summed by id over every table generation
  std::vector<InterfaceTotal> interfaces;   // summed by id
  std::vector<FlowSummary> flows;           // with flow_summary
};

void run_replay(const ReplayOptions& opts, ReplayResult& out);

}  // namespace sgfw::engine
