// JSON-quoted names of one table generation (interfaces and rule ids), built once when a
// table is adopted so that per-packet output is memcpy only.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "engine/decision.h"
#include "table/match_table.h"

namespace sgfw::engine {

// `"text"` with JSON escapes.
std::string json_quote(std::string_view s);

struct JsonNames {
  std::vector<std::string> interfaces;  // quoted
  std::vector<std::string> rules;       // quoted
  void build(const table::MatchTable& t);
};

// The most bytes one verdict line can take.
size_t verdict_line_bound(const Decision& d, const JsonNames& names);
// Writes one verdict line of spec 6 (`{"i":0,"verdict":...}` and a newline) at out, which
// holds verdict_line_bound() bytes; returns the end of what was written.
char* format_verdict(char* out, uint64_t i, const Decision& d, const JsonNames& names);

}  // namespace sgfw::engine
