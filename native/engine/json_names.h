// JSON-quoted names of one table generation (interfaces and rule ids), built once when a
// table is adopted so that per-packet output is memcpy only.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "table/match_table.h"

namespace sgfw::engine {

// `"text"` with JSON escapes.
std::string json_quote(std::string_view s);

struct JsonNames {
  std::vector<std::string> interfaces;  // quoted
  std::vector<std::string> rules;       // quoted
  void build(const table::MatchTable& t);
};

}  // namespace sgfw::engine
