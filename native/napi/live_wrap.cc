#include "napi/live_wrap.h"

#include "engine/sources.h"
#include "napi/counters_js.h"
#include "napi/js_errors.h"
#include "napi/table_wrap.h"

namespace sgfw::napi {
namespace {

std::string str_opt(Napi::Object o, const char* k) {
  Napi::Value v = o.Get(k);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
}
int64_t int_opt(Napi::Object o, const char* k, int64_t dflt) {
  Napi::Value v = o.Get(k);
  return v.IsNumber() ? v.As<Napi::Number>().Int64Value() : dflt;
}
bool bool_opt(Napi::Object o, const char* k, bool dflt) {
  Napi::Value v = o.Get(k);
  return v.IsBoolean() ? v.As<Napi::Boolean>().Value() : dflt;
}

}  // namespace

Napi::Function LiveWrap::Define(Napi::Env env) {
  return DefineClass(env, "Live",
                     {InstanceMethod("loadTable", &LiveWrap::JsLoadTable), InstanceMethod("start", &LiveWrap::JsStart),
                      InstanceMethod("stop", &LiveWrap::JsStop), InstanceMethod("counters", &LiveWrap::JsCounters),
                      InstanceMethod("failure", &LiveWrap::JsFailure)});
}

LiveWrap::LiveWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<LiveWrap>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    throw_error(env, "ERR_INVALID_ARG", "new Live(options)");
    return;
  }
  Napi::Object o = info[0].As<Napi::Object>();
  engine::SourceSpec spec;
  const std::string mode = str_opt(o, "mode");
  if (mode == "monitor") spec.mode = engine::SourceMode::Monitor;
  else if (mode == "inline") spec.mode = engine::SourceMode::Inline;
  else if (mode == "host") spec.mode = engine::SourceMode::Host;
  else {
    throw_error(env, "ERR_INVALID_ARG", "Live: mode must be monitor, inline or host");
    return;
  }
  spec.interface = str_opt(o, "interface");
  spec.outside = str_opt(o, "outside");
  spec.inside = str_opt(o, "inside");
  spec.queue = static_cast<uint16_t>(int_opt(o, "queue", 0));
  spec.fanout_group = static_cast<uint16_t>(int_opt(o, "fanoutGroup", 0));
  spec.vnet_hdr = bool_opt(o, "vnetHdr", true);
  spec.spin_us = int_opt(o, "spinUs", -1);
  spec.fail_open = str_opt(o, "onError") == "open";
  spec.bpf = str_opt(o, "bpf");

  engine::WorkerConfig cfg;
  cfg.audit = bool_opt(o, "audit", false);
  cfg.on_error = spec.fail_open ? engine::OnError::Open : engine::OnError::Closed;
  cfg.engine.on_conntrack_full =
      str_opt(o, "onConntrackFull") == "bypass" ? engine::OnConntrackFull::Bypass : engine::OnConntrackFull::Drop;
  cfg.engine.hash_seed = static_cast<uint64_t>(int_opt(o, "hashSeed", 0));
  cfg.batch = static_cast<int>(int_opt(o, "batch", 64));
  cfg.timeout_ms = static_cast<int>(int_opt(o, "timeoutMs", 20));
  const int workers = static_cast<int>(int_opt(o, "workers", 1));
  const std::string account = str_opt(o, "accountId");
  if (!account.empty()) cfg.account_id = account;

  runner_ = std::make_unique<engine::LiveRunner>();
  std::string err;
  auto factory = [&spec](int w, int n, std::string* e) { return engine::open_source(spec, w, n, e); };
  cfg.dropped_path = str_opt(o, "writeDropped");
  if (!runner_->open(workers, factory, cfg, &err, str_opt(o, "flowLog"), str_opt(o, "verdicts"))) {
    runner_.reset();
    throw_error(env, "ERR_INPUT_SOURCE", err);
  }
}

LiveWrap::~LiveWrap() {
  if (runner_) runner_->stop();
}

Napi::Value LiveWrap::JsLoadTable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!runner_) return throw_error(env, "ERR_INTERNAL", "Live is closed");
  auto t = load_table_or_throw(env, info[0], info[1]);
  if (!t) return env.Undefined();
  return Napi::Number::New(env, runner_->publish(std::move(t)));
}

Napi::Value LiveWrap::JsStart(const Napi::CallbackInfo& info) {
  if (runner_) runner_->start();
  return info.Env().Undefined();
}

Napi::Value LiveWrap::JsStop(const Napi::CallbackInfo& info) {
  if (runner_) runner_->stop();
  return info.Env().Undefined();
}

Napi::Value LiveWrap::JsFailure(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!runner_) return env.Null();
  std::string f = runner_->failure();
  return f.empty() ? env.Null() : Napi::String::New(env, f);
}

Napi::Value LiveWrap::JsCounters(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!runner_) return env.Undefined();
  const engine::WorkerSnapshot s = runner_->snapshot(static_cast<int>(info.Length() > 0 && info[0].IsNumber()
                                                                           ? info[0].As<Napi::Number>().Int32Value()
                                                                           : 200));
  Napi::Object o = Napi::Object::New(env);
  o.Set("generation", s.generation);
  set_engine_counters(env, o, s.counters);
  Napi::Object ex = o.Get("exceptions").As<Napi::Object>();
  ex.Set("unjudged", static_cast<double>(s.unjudged));
  ex.Set("auditWouldDrop", static_cast<double>(s.audit_would_drop));
  o.Set("conntrack", conntrack_js(env, s.conntrack, s.conntrack_max));
  Napi::Array ports = Napi::Array::New(env, static_cast<size_t>(s.source.ports));
  for (int p = 0; p < s.source.ports && p < capture::kMaxPorts; p++) {
    const capture::PortStats& ps = s.source.port[p];
    Napi::Object x = Napi::Object::New(env);
    x.Set("received", static_cast<double>(ps.received));
    x.Set("kernelDrops", static_cast<double>(ps.kernel_drops));
    x.Set("forwarded", static_cast<double>(ps.forwarded));
    x.Set("txErrors", static_cast<double>(ps.tx_errors));
    x.Set("dropped", static_cast<double>(ps.dropped));
    ports.Set(static_cast<uint32_t>(p), x);
  }
  o.Set("ports", ports);
  o.Set("busyPolls", static_cast<double>(s.source.busy_polls));
  o.Set("busyPollHits", static_cast<double>(s.source.busy_poll_hits));
  Napi::Array rules = Napi::Array::New(env);
  for (const auto& [id, v] : s.rules) rules.Set(rules.Length(), rule_js(env, id, v));
  o.Set("rules", rules);
  Napi::Array ifs = Napi::Array::New(env);
  for (const auto& [id, v] : s.interfaces) ifs.Set(ifs.Length(), interface_js(env, id, v));
  o.Set("interfaces", ifs);
  return o;
}

}  // namespace sgfw::napi
