// Errors thrown to JS carry a string `code` (ERR_TABLE_*, ERR_INPUT_*, ERR_INTERNAL), so the
// controller can tell bad input (exit 2) from internal failures without parsing messages.
#pragma once
#include <napi.h>

#include <string>

namespace sgfw::napi {

inline Napi::Value throw_error(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  e.ThrowAsJavaScriptException();
  return env.Undefined();
}

}  // namespace sgfw::napi
