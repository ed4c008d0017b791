#pragma once
#include <napi.h>

#include <memory>

#include "table/match_table.h"

namespace sgfw::napi {

// Validates and loads a blob; on failure throws (code ERR_TABLE_*) and returns nullptr.
std::shared_ptr<const table::MatchTable> load_table_or_throw(Napi::Env env, Napi::Value blob,
                                                             Napi::Value classifier);

// new Table(blob, classifier?): a loaded table for tests and explain: counts and firstMatch.
// close() frees the native table now instead of when the garbage collector finalizes the
// wrapper (V8 sees only the small wrapper, not the table's memory); a closed table answers undefined.
class TableWrap : public Napi::ObjectWrap<TableWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit TableWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value JsInfo(const Napi::CallbackInfo& info);
  Napi::Value JsFirstMatch(const Napi::CallbackInfo& info);
  Napi::Value JsFirstMatchLinear(const Napi::CallbackInfo& info);
  Napi::Value JsFindInterface(const Napi::CallbackInfo& info);
  Napi::Value JsClose(const Napi::CallbackInfo& info);
  std::shared_ptr<const table::MatchTable> table_;
};

}  // namespace sgfw::napi
