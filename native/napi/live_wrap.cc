#include "napi/live_wrap.h"

#include "engine/sources.h"
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

Napi::Object pc(Napi::Env env, const engine::PacketCounters& c) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("packets", static_cast<double>(c.packets));
  o.Set("bytes", static_cast<double>(c.bytes));
  return o;
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
  const engine::EngineCounters& c = s.counters;
  o.Set("generation", s.generation);
  o.Set("packets", static_cast<double>(c.packets));
  o.Set("bytes", static_cast<double>(c.bytes));
  o.Set("accepted", static_cast<double>(c.accepted));
  o.Set("dropped", static_cast<double>(c.dropped));
  Napi::Object reasons = Napi::Object::New(env);
  for (int i = 0; i < kReasonCount; i++) reasons.Set(kReasonNames[i], static_cast<double>(c.reasons[i]));
  o.Set("reasons", reasons);
  Napi::Object mal = Napi::Object::New(env);
  for (int i = 1; i < kMalformedSubCount; i++) mal.Set(kMalformedSubNames[i], static_cast<double>(c.malformed[i]));
  o.Set("malformed", mal);
  Napi::Object inv = Napi::Object::New(env);
  for (int i = 1; i < kInvalidSubCount; i++) inv.Set(kInvalidSubNames[i], static_cast<double>(c.invalid[i]));
  o.Set("invalid", inv);
  Napi::Object ex = Napi::Object::New(env);
  ex.Set("conntrackBypass", static_cast<double>(c.conntrack_bypass));
  ex.Set("ruleChangeCuts", static_cast<double>(c.rule_change_cuts));
  ex.Set("flowsFlushed", static_cast<double>(c.flows_flushed));
  ex.Set("tableSwaps", static_cast<double>(c.table_swaps));
  ex.Set("unjudged", static_cast<double>(s.unjudged));
  ex.Set("auditWouldDrop", static_cast<double>(s.audit_would_drop));
  o.Set("exceptions", ex);
  Napi::Object ct = Napi::Object::New(env);
  ct.Set("entries", static_cast<double>(s.conntrack.entries));
  ct.Set("max", static_cast<double>(s.conntrack_max));
  ct.Set("created", static_cast<double>(s.conntrack.created));
  ct.Set("expired", static_cast<double>(s.conntrack.expired));
  ct.Set("evicted", static_cast<double>(s.conntrack.evicted));
  ct.Set("full", static_cast<double>(s.conntrack.full));
  o.Set("conntrack", ct);
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
  Napi::Array rules = Napi::Array::New(env);
  for (const auto& [id, v] : s.rules) {
    Napi::Object x = Napi::Object::New(env);
    x.Set("rule", id);
    x.Set("packets", static_cast<double>(v.packets));
    x.Set("bytes", static_cast<double>(v.bytes));
    rules.Set(rules.Length(), x);
  }
  o.Set("rules", rules);
  Napi::Array ifs = Napi::Array::New(env);
  for (const auto& [id, v] : s.interfaces) {
    Napi::Object x = Napi::Object::New(env);
    x.Set("interface", id);
    const char* dirs[2] = {"ingress", "egress"};
    for (int d = 0; d < 2; d++) {
      Napi::Object y = Napi::Object::New(env);
      y.Set("accepted", pc(env, v.accepted[d]));
      y.Set("dropped", pc(env, v.dropped[d]));
      x.Set(dirs[d], y);
    }
    ifs.Set(ifs.Length(), x);
  }
  o.Set("interfaces", ifs);
  return o;
}

}  // namespace sgfw::napi
