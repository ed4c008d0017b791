// N-API module init: the only place that wires native entry points to JS names.
#include <napi.h>

#include "napi/crc32_js.h"
#include "napi/describe_format.h"
#include "napi/live_wrap.h"
#include "napi/replay_wrap.h"
#include "napi/table_wrap.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("crc32", Napi::Function::New(env, sgfw::napi::JsCrc32));
  exports.Set("describeFormat", Napi::Function::New(env, sgfw::napi::JsDescribeFormat));
  exports.Set("replay", Napi::Function::New(env, sgfw::napi::JsReplay));
  exports.Set("Table", sgfw::napi::TableWrap::Define(env));
  exports.Set("Live", sgfw::napi::LiveWrap::Define(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(sgfw_native, Init)
