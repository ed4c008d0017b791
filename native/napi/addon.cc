// N-API module init: the only place that wires native entry points to JS names.
#include <napi.h>

#include "napi/describe_format.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("describeFormat", Napi::Function::New(env, sgfw::napi::JsDescribeFormat));
  return exports;
}

}  // namespace

NODE_API_MODULE(sgfw_native, Init)
