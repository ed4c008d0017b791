// Finished flows as AWS VPC Flow Logs version 2 records, one line per flow and direction:
//   version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status
// A connection gives two records (original and reply direction) as AWS writes them;
// a direction that saw no packet gives none.
#pragma once
#include <string>
#include <vector>

#include "conntrack/flow.h"
#include "conntrack/flow_table.h"
#include "core/append_log.h"
#include "core/atomic_file.h"

namespace sgfw::engine {

inline constexpr const char* kFlowLogHeader =
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n";

// Writes to its own file, complete on commit() (replay), or appends to a log shared by the
// live workers (attach()).
class FlowLog {
 public:
  bool open(const std::string& path, const std::string& account_id);
  void attach(AppendLog* shared, const std::string& account_id) {
    shared_ = shared;
    account_ = account_id.empty() ? "-" : account_id;
  }
  // Interface names by index for the table in force (plain text, not quoted).
  void set_interfaces(std::vector<std::string> names) { ifaces_ = std::move(names); }
  // A flow with its cold record (FlowTable::view / for_each_view / the sink).
  void write_flow(const conntrack::FlowView& f);
  // Lines for dropped traffic are written by the caller through this.
  void write_reject(uint32_t iface, const Tuple& t, uint64_t packets, uint64_t bytes, uint64_t start_s,
                    uint64_t end_s);
  bool commit() { return file_.commit(); }
  void abort() { file_.abort(); }
  bool is_open() const { return shared_ != nullptr || file_.is_open(); }
  const std::string& error() const { return file_.error(); }
  static conntrack::FlowSink sink() { return &FlowLog::on_flow; }

 private:
  static void on_flow(void* ctx, const conntrack::FlowView& f, conntrack::FinishReason why);
  void line(uint32_t iface, uint8_t family, const uint8_t* src, const uint8_t* dst, uint16_t sport,
            uint16_t dport, uint8_t proto, uint64_t packets, uint64_t bytes, uint64_t start_s, uint64_t end_s,
            const char* action);
  AtomicFile file_;
  AppendLog* shared_ = nullptr;
  std::string account_;
  std::vector<std::string> ifaces_;
};

}  // namespace sgfw::engine
