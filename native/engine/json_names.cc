#include "engine/json_names.h"

#include <cinttypes>
#include <cstdio>
#include <cstring>

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

namespace {
const std::string* iface_of(const Decision& d, const JsonNames& n) {
  return d.iface >= 0 && static_cast<size_t>(d.iface) < n.interfaces.size() ? &n.interfaces[d.iface] : nullptr;
}
const std::string* rule_of(const Decision& d, const JsonNames& n) {
  return d.rule >= 0 && static_cast<size_t>(d.rule) < n.rules.size() ? &n.rules[d.rule] : nullptr;
}
}  // namespace

size_t verdict_line_bound(const Decision& d, const JsonNames& names) {
  const std::string* iface = iface_of(d, names);
  const std::string* rule = rule_of(d, names);
  return 160 + (iface ? iface->size() : 4) + (rule ? rule->size() : 4);
}

char* format_verdict(char* s, uint64_t i, const Decision& d, const JsonNames& names) {
  const std::string* iface = iface_of(d, names);
  const std::string* rule = rule_of(d, names);
  s += std::sprintf(s, "{\"i\":%" PRIu64 ",\"verdict\":\"%s\",\"reason\":\"%s\",\"interface\":", i,
                    d.verdict == Verdict::Accept ? "accept" : "drop", kReasonNames[static_cast<int>(d.reason)]);
  auto put = [&](const std::string* v) {
    if (v) {
      std::memcpy(s, v->data(), v->size());
      s += v->size();
    } else {
      std::memcpy(s, "null", 4);
      s += 4;
    }
  };
  put(iface);
  if (d.iface >= 0) {
    s += std::sprintf(s, ",\"direction\":\"%s\",\"rule\":", d.dir == Direction::Ingress ? "ingress" : "egress");
  } else {
    s += std::sprintf(s, ",\"direction\":null,\"rule\":");
  }
  put(rule);
  *s++ = '}';
  *s++ = '\n';
  return s;
}

}  // namespace sgfw::engine
