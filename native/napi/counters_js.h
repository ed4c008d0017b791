// Engine counters as JS objects, in one shape for replay results and live snapshots.
#pragma once
#include <napi.h>

#include <map>
#include <string>

#include "conntrack/flow_table.h"
#include "engine/counters.h"

namespace sgfw::napi {

// packets, bytes, accepted, dropped, reasons, malformed and invalid sub-reasons (non-zero
// ones), exceptions {conntrackBypass, ruleChangeCuts, flowsFlushed, tableSwaps}.
void set_engine_counters(Napi::Env env, Napi::Object o, const engine::EngineCounters& c);
// {entries, max, created, expired, evicted, full, removed}
Napi::Object conntrack_js(Napi::Env env, const conntrack::FlowTableCounters& c, uint64_t max);
// {interface, ingress: {accepted, dropped}, egress: {...}} with {packets, bytes} each
Napi::Object interface_js(Napi::Env env, const std::string& id, const engine::InterfaceCounters& c);
// {rule, packets, bytes}
Napi::Object rule_js(Napi::Env env, const std::string& id, const engine::PacketCounters& c);

}  // namespace sgfw::napi
