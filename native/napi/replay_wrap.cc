#include "napi/replay_wrap.h"

#include <arpa/inet.h>

#include "engine/replay.h"
#include "napi/js_errors.h"
#include "napi/table_wrap.h"

namespace sgfw::napi {
namespace {

std::string opt_string(Napi::Object o, const char* key) {
  Napi::Value v = o.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
}

bool opt_bool(Napi::Object o, const char* key) {
  Napi::Value v = o.Get(key);
  return v.IsBoolean() && v.As<Napi::Boolean>().Value();
}

Napi::Object packet_counters(Napi::Env env, const engine::PacketCounters& c) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("packets", static_cast<double>(c.packets));
  o.Set("bytes", static_cast<double>(c.bytes));
  return o;
}

Napi::Value addr_string(Napi::Env env, uint8_t family, const uint8_t* a) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(family == 6 ? AF_INET6 : AF_INET, a, buf, sizeof buf);
  return Napi::String::New(env, buf);
}

Napi::Object result_to_js(Napi::Env env, const engine::ReplayResult& r) {
  Napi::Object o = Napi::Object::New(env);
  const engine::EngineCounters& c = r.counters;
  o.Set("packets", static_cast<double>(c.packets));
  o.Set("bytes", static_cast<double>(c.bytes));
  o.Set("accepted", static_cast<double>(c.accepted));
  o.Set("dropped", static_cast<double>(c.dropped));
  o.Set("elapsedNs", static_cast<double>(r.elapsed_ns));
  o.Set("linkTypes", r.link_types);
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

  Napi::Object ct = Napi::Object::New(env);
  ct.Set("entries", static_cast<double>(r.conntrack.entries));
  ct.Set("max", static_cast<double>(r.conntrack_max));
  ct.Set("created", static_cast<double>(r.conntrack.created));
  ct.Set("expired", static_cast<double>(r.conntrack.expired));
  ct.Set("evicted", static_cast<double>(r.conntrack.evicted));
  ct.Set("full", static_cast<double>(r.conntrack.full));
  ct.Set("removed", static_cast<double>(r.conntrack.removed));
  o.Set("conntrack", ct);
  Napi::Object fr = Napi::Object::New(env);
  fr.Set("entries", static_cast<double>(r.fragments.entries));
  fr.Set("inserted", static_cast<double>(r.fragments.inserted));
  fr.Set("expired", static_cast<double>(r.fragments.expired));
  fr.Set("evicted", static_cast<double>(r.fragments.evicted));
  fr.Set("hits", static_cast<double>(r.fragments.hits));
  fr.Set("misses", static_cast<double>(r.fragments.misses));
  o.Set("fragments", fr);

  Napi::Array rules = Napi::Array::New(env, r.rules.size());
  for (size_t i = 0; i < r.rules.size(); i++) {
    Napi::Object x = Napi::Object::New(env);
    x.Set("rule", r.rules[i].id);
    x.Set("packets", static_cast<double>(r.rules[i].packets));
    x.Set("bytes", static_cast<double>(r.rules[i].bytes));
    rules.Set(i, x);
  }
  o.Set("rules", rules);
  Napi::Array ifs = Napi::Array::New(env, r.interfaces.size());
  for (size_t i = 0; i < r.interfaces.size(); i++) {
    const engine::InterfaceCounters& ic = r.interfaces[i].counters;
    Napi::Object x = Napi::Object::New(env);
    x.Set("interface", r.interfaces[i].id);
    const char* dirs[2] = {"ingress", "egress"};
    for (int d = 0; d < 2; d++) {
      Napi::Object y = Napi::Object::New(env);
      y.Set("accepted", packet_counters(env, ic.accepted[d]));
      y.Set("dropped", packet_counters(env, ic.dropped[d]));
      x.Set(dirs[d], y);
    }
    ifs.Set(i, x);
  }
  o.Set("interfaces", ifs);

  Napi::Array flows = Napi::Array::New(env, r.flows.size());
  for (size_t i = 0; i < r.flows.size(); i++) {
    const engine::FlowSummary& f = r.flows[i];
    Napi::Object x = Napi::Object::New(env);
    x.Set("iface", f.iface);
    x.Set("family", f.tuple.family);
    x.Set("protocol", f.tuple.proto);
    x.Set("src", addr_string(env, f.tuple.family, f.tuple.src));
    x.Set("srcPort", f.tuple.sport);
    x.Set("dst", addr_string(env, f.tuple.family, f.tuple.dst));
    x.Set("dstPort", f.tuple.dport);
    x.Set("verdict", f.first_verdict == Verdict::Accept ? "accept" : "drop");
    x.Set("reason", kReasonNames[static_cast<int>(f.first_reason)]);
    x.Set("rule", f.first_rule.empty() ? env.Null() : Napi::String::New(env, f.first_rule));
    x.Set("accepted", static_cast<double>(f.accepted));
    x.Set("dropped", static_cast<double>(f.dropped));
    flows.Set(i, x);
  }
  o.Set("flows", flows);
  return o;
}

}  // namespace

Napi::Value JsReplay(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) return throw_error(env, "ERR_INVALID_ARG", "replay(options)");
  Napi::Object o = info[0].As<Napi::Object>();
  engine::ReplayOptions opts;
  opts.trace = opt_string(o, "trace");
  opts.verdicts_path = opt_string(o, "verdicts");
  opts.accepted_path = opt_string(o, "writeAccepted");
  opts.dropped_path = opt_string(o, "writeDropped");
  opts.flow_log_path = opt_string(o, "flowLog");
  std::string account = opt_string(o, "accountId");
  if (!account.empty()) opts.account_id = account;
  opts.flow_summary = opt_bool(o, "flowSummary");
  opts.progress = opt_bool(o, "progress");
  opts.engine.on_conntrack_full =
      opt_string(o, "onConntrackFull") == "bypass" ? engine::OnConntrackFull::Bypass : engine::OnConntrackFull::Drop;
  Napi::Value tables = o.Get("tables");
  if (!tables.IsArray()) return throw_error(env, "ERR_INVALID_ARG", "replay: tables must be an array");
  Napi::Array ta = tables.As<Napi::Array>();
  for (uint32_t i = 0; i < ta.Length(); i++) {
    Napi::Object t = ta.Get(i).As<Napi::Object>();
    engine::ReplayTable rt;
    rt.before_packet = static_cast<uint64_t>(t.Get("before").As<Napi::Number>().Int64Value());
    rt.table = load_table_or_throw(env, t.Get("blob"), o.Get("classifier"));
    if (!rt.table) return env.Undefined();
    opts.tables.push_back(std::move(rt));
  }
  engine::ReplayResult r;
  engine::run_replay(opts, r);
  if (!r.ok) return throw_error(env, r.input_error ? "ERR_INPUT_TRACE" : "ERR_INTERNAL", r.error);
  return result_to_js(env, r);
}

}  // namespace sgfw::napi
