#pragma once
#include <napi.h>

namespace sgfw::napi {
Napi::Value JsDescribeFormat(const Napi::CallbackInfo& info);
}
