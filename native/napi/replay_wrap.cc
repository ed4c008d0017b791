#include "napi/replay_wrap.h"

#include <arpa/inet.h>

#include "engine/replay.h"
#include "napi/counters_js.h"
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

Napi::Value addr_string(Napi::Env env, uint8_t family, const uint8_t* a) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(family == 6 ? AF_INET6 : AF_INET, a, buf, sizeof buf);
  return Napi::String::New(env, buf);
}

Napi::Object result_to_js(Napi::Env env, const engine::ReplayResult& r) {
  Napi::Object o = Napi::Object::New(env);
  set_engine_counters(env, o, r.counters);
  o.Set("elapsedNs", static_cast<double>(r.elapsed_ns));
  o.Set("linkTypes", r.link_types);
  o.Set("conntrack", conntrack_js(env, r.conntrack, r.conntrack_max));
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
    engine::PacketCounters pc{r.rules[i].packets, r.rules[i].bytes};
    rules.Set(i, rule_js(env, r.rules[i].id, pc));
  }
  o.Set("rules", rules);
  Napi::Array ifs = Napi::Array::New(env, r.interfaces.size());
  for (size_t i = 0; i < r.interfaces.size(); i++) ifs.Set(i, interface_js(env, r.interfaces[i].id, r.interfaces[i].counters));
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
    if (!rt.table) {
      // Which of the tables was refused, so that the caller can name its file.
      Napi::Error e = env.GetAndClearPendingException();
      e.Value().Set("tableIndex", Napi::Number::New(env, i));
      e.ThrowAsJavaScriptException();
      return env.Undefined();
    }
    opts.tables.push_back(std::move(rt));
  }
  engine::ReplayResult r;
  engine::run_replay(opts, r);
  if (!r.ok) return throw_error(env, r.input_error ? "ERR_INPUT_TRACE" : "ERR_INTERNAL", r.error);
  return result_to_js(env, r);
}

}  // namespace sgfw::napi
