#pragma once
#include <napi.h>

#include <memory>

#include "engine/live_runner.h"

namespace sgfw::napi {

// new Live(options): the live data plane (monitor, inline, host) under the controller's hand:
// loadTable(blob) -> generation, start(), counters(), stop(), failure().
class LiveWrap : public Napi::ObjectWrap<LiveWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit LiveWrap(const Napi::CallbackInfo& info);
  ~LiveWrap() override;

 private:
  Napi::Value JsLoadTable(const Napi::CallbackInfo& info);
  Napi::Value JsStart(const Napi::CallbackInfo& info);
  Napi::Value JsStop(const Napi::CallbackInfo& info);
  Napi::Value JsCounters(const Napi::CallbackInfo& info);
  Napi::Value JsFailure(const Napi::CallbackInfo& info);
  std::unique_ptr<engine::LiveRunner> runner_;
};

}  // namespace sgfw::napi
