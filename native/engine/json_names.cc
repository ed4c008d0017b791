#include "engine/json_names.h"

#include <cstdio>

namespace sgfw::engine {

std::string json_quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
  return out;
}

void JsonNames::build(const table::MatchTable& t) {
  interfaces.clear();
  rules.clear();
  for (uint32_t i = 0; i < t.interface_count(); i++) interfaces.push_back(json_quote(t.interface_name(i)));
  for (uint32_t r = 0; r < t.rule_count(); r++) rules.push_back(json_quote(t.rule_id(r)));
}

}  // namespace sgfw::engine
