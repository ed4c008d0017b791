#include "engine/flow_log.h"

#include <arpa/inet.h>
#include <cinttypes>
#include <cstdio>

namespace sgfw::engine {

bool FlowLog::open(const std::string& path, const std::string& account_id) {
  account_ = account_id.empty() ? "-" : account_id;
  if (!file_.open(path)) return false;
  return file_.write(kFlowLogHeader);
}

void FlowLog::line(uint32_t iface, uint8_t family, const uint8_t* src, const uint8_t* dst, uint16_t sport,
                   uint16_t dport, uint8_t proto, uint64_t packets, uint64_t bytes, uint64_t start_s,
                   uint64_t end_s, const char* action) {
  char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
  const int af = family == 6 ? AF_INET6 : AF_INET;
  inet_ntop(af, src, s, sizeof s);
  inet_ntop(af, dst, d, sizeof d);
  const std::string& name = iface < ifaces_.size() ? ifaces_[iface] : account_;
  const size_t cap = 512 + name.size() + account_.size();
  char local[1024];
  char* out = shared_ ? (cap <= sizeof local ? local : nullptr) : file_.reserve(cap);
  if (!out) return;
  int n = std::snprintf(out, cap, "2 %s %s %s %s %u %u %u %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %s OK\n",
                        account_.c_str(), name.c_str(), s, d, sport, dport, proto, packets, bytes, start_s, end_s,
                        action);
  if (n <= 0 || static_cast<size_t>(n) >= cap) return;
  if (shared_) shared_->append(std::string_view(out, static_cast<size_t>(n)));
  else file_.commit_bytes(static_cast<size_t>(n));
}

void FlowLog::write_flow(const conntrack::FlowView& v) {
  using conntrack::kDirOriginal;
  using conntrack::kDirReply;
  const conntrack::Flow& f = v.hot;
  const bool orig_in = conntrack::flow_orig_dir(f) == Direction::Ingress;
  // Original direction: from the initiator. Ingress-initiated flows come from the remote.
  const uint8_t* isrc = orig_in ? f.key.remote : f.key.local;
  const uint8_t* idst = orig_in ? f.key.local : f.key.remote;
  const uint16_t isport = orig_in ? f.key.remote_port : f.key.local_port;
  const uint16_t idport = orig_in ? f.key.local_port : f.key.remote_port;
  const uint64_t end_s = f.last_ns / 1'000'000'000ull;
  if (const uint64_t n = v.packets(kDirOriginal))
    line(f.key.iface, f.key.family, isrc, idst, isport, idport, f.key.proto, n, v.bytes(kDirOriginal),
         v.start_s(), end_s, "ACCEPT");
  if (const uint64_t n = v.packets(kDirReply))
    line(f.key.iface, f.key.family, idst, isrc, idport, isport, f.key.proto, n, v.bytes(kDirReply),
         v.start_s(), end_s, "ACCEPT");
}

void FlowLog::write_reject(uint32_t iface, const Tuple& t, uint64_t packets, uint64_t bytes, uint64_t start_s,
                           uint64_t end_s) {
  line(iface, t.family, t.src, t.dst, t.sport, t.dport, t.proto, packets, bytes, start_s, end_s, "REJECT");
}

void FlowLog::on_flow(void* ctx, const conntrack::FlowView& f, conntrack::FinishReason) {
  static_cast<FlowLog*>(ctx)->write_flow(f);
}

}  // namespace sgfw::engine
