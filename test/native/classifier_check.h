// Checks the chosen classifier against the linear first-match scan of the same loaded table:
// the reference every classifier test compares with (one ingress run, interface 0).
#pragma once
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "table/match_table.h"

namespace sgfw::test {

struct Pkt {
  Tuple t;
  uint8_t it = 0, ic = 0;  // ICMP type and code
};

// Packets where first_match and first_match_linear disagree (the first five are reported).
// `on_answer(want)` sees each packet's linear answer, for tests that count where packets matched.
template <class OnAnswer>
inline uint64_t disagreements(const table::MatchTable& t, const std::vector<Pkt>& ps, OnAnswer&& on_answer) {
  uint64_t bad = 0;
  for (const Pkt& p : ps) {
    const int32_t want = t.first_match_linear(0, Direction::Ingress, p.t, p.it, p.ic);
    const int32_t got = t.first_match(0, Direction::Ingress, p.t, p.it, p.ic);
    if (got != want && ++bad <= 5) {
      FAIL_CHECK("family " << int(p.t.family) << " proto " << int(p.t.proto) << " sport " << p.t.sport << " dport "
                           << p.t.dport << " src0 " << int(p.t.src[0]) << "." << int(p.t.src[1]) << "."
                           << int(p.t.src[2]) << "." << int(p.t.src[3]) << ": got " << got << " want " << want);
    }
    on_answer(want);
  }
  return bad;
}

// The same; `matched_rule`, when given, counts packets whose linear answer is a rule's entry.
inline uint64_t disagreements(const table::MatchTable& t, const std::vector<Pkt>& ps,
                              uint64_t* matched_rule = nullptr) {
  return disagreements(t, ps, [&](int32_t want) {
    if (matched_rule) *matched_rule += want >= 0 && t.entry_reason(uint32_t(want)) == Reason::Rule;
  });
}

}  // namespace sgfw::test
