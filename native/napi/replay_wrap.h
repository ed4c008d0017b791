#pragma once
#include <napi.h>

namespace sgfw::napi {
// replay(options) -> result: runs engine::run_replay synchronously (the CLI waits for it).
Napi::Value JsReplay(const Napi::CallbackInfo& info);
}
