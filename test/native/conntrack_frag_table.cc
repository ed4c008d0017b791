// First-fragment verdicts (native/conntrack/frag_table.h): hit, miss, later
// fragments before the first, expiry, the bound, and a random model check.
#include <doctest/doctest.h>

#include <deque>
#include <random>

#include "conntrack/frag_table.h"

using namespace sgfw;
using namespace sgfw::conntrack;

namespace {

constexpr uint64_t kSec = 1'000'000'000ull;

FragKey fkey(uint32_t id, uint16_t iface = 0, uint8_t family = 4) {
  PacketMeta m;
  m.tuple.family = family;
  m.tuple.proto = kProtoUdp;
  m.tuple.src[0] = 198;
  m.tuple.src[3] = 9;
  m.tuple.dst[0] = 10;
  m.tuple.dst[3] = 1;
  m.frag_id = id;
  return make_frag_key(m, iface);
}

FragVerdict accept(uint32_t rule) { return FragVerdict{rule, Verdict::Accept, Reason::Rule, 0, 0}; }

const FragVerdict* look(FragTable& t, const FragKey& k, uint64_t now) { return t.lookup(k, t.hash(k), now); }
void put(FragTable& t, const FragKey& k, const FragVerdict& v, uint64_t now) { t.record(k, t.hash(k), v, now); }

}  // namespace

TEST_CASE("frag table: later fragments take the first fragment's verdict") {
  FragTable t;
  CHECK_FALSE(t.init(0));
  CHECK(t.init(64));
  put(t, fkey(77), accept(5), kSec);
  const FragVerdict* v = look(t, fkey(77), 2 * kSec);
  CHECK(v != nullptr);
  CHECK(v->verdict == Verdict::Accept);
  CHECK(v->reason == Reason::Rule);
  CHECK(v->rule == 5);
  CHECK(look(t, fkey(78), 2 * kSec) == nullptr);     // another datagram
  CHECK(look(t, fkey(77, 1), 2 * kSec) == nullptr);  // another interface
  CHECK(look(t, fkey(77, 0, 6), 2 * kSec) == nullptr);
  CHECK(t.counters().hits == 1);
  CHECK(t.counters().misses == 3);
  // A dropped first fragment drops the rest too.
  put(t, fkey(80), FragVerdict{9, Verdict::Drop, Reason::Default, 0, 0}, kSec);
  CHECK(look(t, fkey(80), 2 * kSec)->verdict == Verdict::Drop);
}

TEST_CASE("frag table: later fragments before the first are misses and leave nothing") {
  FragTable t;
  CHECK(t.init(8));
  for (int i = 0; i < 1000; ++i) CHECK(look(t, fkey(5), kSec) == nullptr);
  CHECK(t.counters().entries == 0);
  CHECK(t.counters().misses == 1000);
  put(t, fkey(5), accept(1), kSec);  // the first fragment arrives late
  CHECK(look(t, fkey(5), kSec) != nullptr);
}

TEST_CASE("frag table: entries expire after the fragment timeout from the first fragment") {
  FragTable t;
  CHECK(t.init(16));
  t.set_timeout(30);
  put(t, fkey(1), accept(1), 10 * kSec);
  CHECK(look(t, fkey(1), 40 * kSec - 1) != nullptr);  // not refreshed by lookups
  CHECK(look(t, fkey(1), 40 * kSec) == nullptr);
  CHECK(t.counters().expired == 1);
  CHECK(t.counters().entries == 0);
  // The sweep takes expired entries from the oldest end.
  put(t, fkey(2), accept(1), 100 * kSec);
  put(t, fkey(3), accept(1), 110 * kSec);
  CHECK(t.expire_some(135 * kSec, 10) == 1);
  CHECK(t.counters().entries == 1);
  CHECK(look(t, fkey(3), 135 * kSec) != nullptr);
}

TEST_CASE("frag table: bounded; the oldest entry makes room; a repeated first fragment replaces") {
  FragTable t;
  CHECK(t.init(8));
  for (uint32_t id = 0; id < 100; ++id) put(t, fkey(id), accept(id), kSec + id);
  CHECK(t.counters().entries == 8);
  CHECK(t.counters().evicted == 92);
  for (uint32_t id = 0; id < 92; ++id) CHECK(look(t, fkey(id), 2 * kSec) == nullptr);
  for (uint32_t id = 92; id < 100; ++id) CHECK(look(t, fkey(id), 2 * kSec)->rule == id);
  put(t, fkey(95), accept(1000), 3 * kSec);
  CHECK(t.counters().entries == 8);
  CHECK(look(t, fkey(95), 3 * kSec)->rule == 1000);
  t.set_timeout(30);
  CHECK(look(t, fkey(95), kSec + 95 + 30 * kSec) == nullptr);  // timer from the first copy
  CHECK(t.memory_bytes() == 8 * 64 + 16 * 8);
}

TEST_CASE("frag table: random record/lookup agree with a FIFO model (100k ops)") {
  const uint32_t cap = 32;
  FragTable t;
  CHECK(t.init(cap));
  t.set_timeout(30);
  struct M {
    uint32_t id;
    uint32_t rule;
    uint64_t at;
  };
  std::deque<M> model;  // arrival order, unique ids
  std::mt19937 rng(7);
  uint64_t now = 0;
  int mismatches = 0;
  for (uint32_t op = 0; op < 100'000; ++op) {
    now += (rng() % 1000) * 1'000'000ull;  // up to 1 s per op
    const uint32_t id = rng() % 64;
    // The model: drop expired, then answer.
    while (!model.empty() && now - model.front().at >= 30 * kSec) model.pop_front();
    if (rng() % 2) {
      M* same = nullptr;
      for (M& x : model)
        if (x.id == id) same = &x;
      if (same != nullptr) {
        same->rule = op;  // new verdict, same timer and place
      } else {
        if (model.size() == cap) model.pop_front();
        model.push_back({id, op, now});
      }
      put(t, fkey(id), accept(op), now);
    } else {
      const M* m = nullptr;
      for (const M& x : model)
        if (x.id == id) m = &x;
      const FragVerdict* v = look(t, fkey(id), now);
      if ((v != nullptr) != (m != nullptr) || (v != nullptr && v->rule != m->rule)) ++mismatches;
    }
    if (t.counters().entries > cap) ++mismatches;
  }
  CHECK(mismatches == 0);
  CHECK(t.counters().hits > 1000);
  CHECK(t.counters().evicted > 0);
  CHECK(t.counters().expired > 0);
}
