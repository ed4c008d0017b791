#include "napi/counters_js.h"

namespace sgfw::napi {
namespace {

Napi::Object packets_js(Napi::Env env, const engine::PacketCounters& c) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("packets", static_cast<double>(c.packets));
  o.Set("bytes", static_cast<double>(c.bytes));
  return o;
}

}  // namespace

void set_engine_counters(Napi::Env env, Napi::Object o, const engine::EngineCounters& c) {
  o.Set("packets", static_cast<double>(c.packets));
  o.Set("bytes", static_cast<double>(c.bytes));
  o.Set("accepted", static_cast<double>(c.accepted));
  o.Set("dropped", static_cast<double>(c.dropped));
  Napi::Object reasons = Napi::Object::New(env);
  for (int i = 0; i < kReasonCount; i++) reasons.Set(kReasonNames[i], static_cast<double>(c.reasons[i]));
  o.Set("reasons", reasons);
  Napi::Object mal = Napi::Object::New(env);
  for (int i = 1; i < kMalformedSubCount; i++)
    if (c.malformed[i]) mal.Set(kMalformedSubNames[i], static_cast<double>(c.malformed[i]));
  o.Set("malformed", mal);
  Napi::Object inv = Napi::Object::New(env);
  for (int i = 1; i < kInvalidSubCount; i++)
    if (c.invalid[i]) inv.Set(kInvalidSubNames[i], static_cast<double>(c.invalid[i]));
  o.Set("invalid", inv);
  Napi::Object ex = Napi::Object::New(env);
  ex.Set("conntrackBypass", static_cast<double>(c.conntrack_bypass));
  ex.Set("ruleChangeCuts", static_cast<double>(c.rule_change_cuts));
  ex.Set("flowsFlushed", static_cast<double>(c.flows_flushed));
  ex.Set("tableSwaps", static_cast<double>(c.table_swaps));
  o.Set("exceptions", ex);
}

Napi::Object conntrack_js(Napi::Env env, const conntrack::FlowTableCounters& c, uint64_t max) {
  Napi::Object ct = Napi::Object::New(env);
  ct.Set("entries", static_cast<double>(c.entries));
  ct.Set("max", static_cast<double>(max));
  ct.Set("created", static_cast<double>(c.created));
  ct.Set("expired", static_cast<double>(c.expired));
  ct.Set("evicted", static_cast<double>(c.evicted));
  ct.Set("full", static_cast<double>(c.full));
  ct.Set("removed", static_cast<double>(c.removed));
  return ct;
}

Napi::Object interface_js(Napi::Env env, const std::string& id, const engine::InterfaceCounters& c) {
  Napi::Object x = Napi::Object::New(env);
  x.Set("interface", id);
  const char* dirs[2] = {"ingress", "egress"};
  for (int d = 0; d < 2; d++) {
    Napi::Object y = Napi::Object::New(env);
    y.Set("accepted", packets_js(env, c.accepted[d]));
    y.Set("dropped", packets_js(env, c.dropped[d]));
    x.Set(dirs[d], y);
  }
  return x;
}

Napi::Object rule_js(Napi::Env env, const std::string& id, const engine::PacketCounters& c) {
  Napi::Object x = Napi::Object::New(env);
  x.Set("rule", id);
  x.Set("packets", static_cast<double>(c.packets));
  x.Set("bytes", static_cast<double>(c.bytes));
  return x;
}

}  // namespace sgfw::napi
