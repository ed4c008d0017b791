// The flow table (native/conntrack/flow_table.h): keys, insert/find/remove,
// early drop when full, lazy expiry and the sweep, a random model check and the
// memory budget per flow.
#include <doctest/doctest.h>

#include <cstddef>
#include <cstring>
#include <initializer_list>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "conntrack/flow_key.h"
#include "conntrack/flow_table.h"

using namespace sgfw;
using namespace sgfw::conntrack;

namespace {

constexpr uint64_t kSec = 1'000'000'000ull;

FlowKey udp_key(uint32_t n, uint16_t iface = 0) {
  FlowKey k;
  k.iface = iface;
  k.family = 4;
  k.proto = kProtoUdp;
  k.local_port = static_cast<uint16_t>(1024 + n % 50000);
  k.remote_port = 53;
  k.local[0] = 10;
  k.local[1] = static_cast<uint8_t>(n >> 16);
  k.local[2] = static_cast<uint8_t>(n >> 8);
  k.local[3] = static_cast<uint8_t>(n);
  k.remote[0] = 192;
  k.remote[1] = 0;
  k.remote[2] = 2;
  k.remote[3] = 53;
  return k;
}

struct Finished {
  uint64_t id;
  FinishReason why;
  FlowKey key;
};

struct Sink {
  std::vector<Finished> got;
  static void fn(void* ctx, const Flow& f, FinishReason why) {
    static_cast<Sink*>(ctx)->got.push_back({f.id, why, f.key});
  }
};

Flow* add(FlowTable& t, const FlowKey& k, uint64_t now, bool replied = false) {
  Flow* f = t.insert(k, t.hash(k), now);
  if (f != nullptr) {
    flow_begin(*f, Direction::Egress, 0, true, 1, 1, 100);
    if (replied) flow_update(*f, Direction::Ingress, 0, 100, now);
  }
  return f;
}

Flow* get(FlowTable& t, const FlowKey& k, uint64_t now) { return t.find(k, t.hash(k), now); }

}  // namespace

TEST_CASE("flow key: 40 bytes at fixed offsets, both directions build the same key") {
  CHECK(offsetof(FlowKey, iface) == 0);
  CHECK(offsetof(FlowKey, family) == 2);
  CHECK(offsetof(FlowKey, proto) == 3);
  CHECK(offsetof(FlowKey, local_port) == 4);
  CHECK(offsetof(FlowKey, remote_port) == 6);
  CHECK(offsetof(FlowKey, local) == 8);
  CHECK(offsetof(FlowKey, remote) == 24);

  Tuple out;  // 10.0.1.10:40000 -> 192.0.2.7:443, sent by the interface
  out.family = 4;
  out.proto = kProtoTcp;
  out.sport = 40000;
  out.dport = 443;
  const uint8_t a[4] = {10, 0, 1, 10}, b[4] = {192, 0, 2, 7};
  std::memcpy(out.src, a, 4);
  std::memcpy(out.dst, b, 4);
  Tuple back = out;  // the reply, received by the interface
  std::swap(back.sport, back.dport);
  std::memcpy(back.src, b, 4);
  std::memcpy(back.dst, a, 4);
  std::memset(back.src + 4, 0, 12);
  std::memset(back.dst + 4, 0, 12);

  const FlowKey k1 = make_flow_key(out, 3, Direction::Egress);
  const FlowKey k2 = make_flow_key(back, 3, Direction::Ingress);
  CHECK(k1 == k2);
  CHECK(flow_hash(k1) == flow_hash(k2));
  CHECK(k1.local_port == 40000);
  CHECK(k1.remote_port == 443);
  CHECK(k1.local[0] == 10);
  CHECK(k1.remote[0] == 192);
  CHECK(k1.iface == 3);
  // Per interface: the same tuple on another interface is another flow.
  const FlowKey k3 = make_flow_key(out, 4, Direction::Egress);
  CHECK_FALSE(k1 == k3);
  CHECK(flow_hash(k1) != flow_hash(k3));
  // Same tuple the other way round is not the same flow.
  CHECK_FALSE(make_flow_key(out, 3, Direction::Ingress) == k1);
  // The seed changes the hash.
  CHECK(flow_hash(k1, 1) != flow_hash(k1, 2));

  // ICMP echo: request and reply carry the identifier as both ports.
  Tuple req = out;
  req.proto = kProtoIcmp;
  req.sport = req.dport = 0x1234;
  Tuple rep = back;
  rep.proto = kProtoIcmp;
  rep.sport = rep.dport = 0x1234;
  CHECK(make_flow_key(req, 1, Direction::Egress) == make_flow_key(rep, 1, Direction::Ingress));
  CHECK(make_flow_key(req, 1, Direction::Egress).local_port == 0x1234);
}

TEST_CASE("flow table: insert, find, remove, ids and counters") {
  FlowTable t;
  CHECK_FALSE(t.init(0));
  CHECK(t.init(100));
  Sink sink;
  t.set_sink(&Sink::fn, &sink);
  CHECK(t.capacity() == 100);
  CHECK(t.slot_count() == 256);  // smallest power of two with 100 <= 0.75 x slots

  Flow* f = t.insert(udp_key(1), t.hash(udp_key(1)), 5 * kSec + 7);
  CHECK(f != nullptr);
  CHECK((f->flags & kFlowLive) != 0);
  CHECK(f->id == 1);
  CHECK(f->last_ns == 5 * kSec + 7);
  CHECK(f->start_s == 5);
  CHECK(f->timeout_slot == uint8_t(TimeoutSlot::Udp));
  CHECK(f->packets[0] == 0);
  flow_begin(*f, Direction::Ingress, 0, true, 42, 9, 1500);
  CHECK(f->rule == 42);
  CHECK(f->generation == 9);
  CHECK(f->packets[kDirOriginal] == 1);
  CHECK(f->bytes[kDirOriginal] == 1500);
  CHECK(flow_orig_dir(*f) == Direction::Ingress);

  CHECK(get(t, udp_key(1), 6 * kSec) == f);
  CHECK(get(t, udp_key(2), 6 * kSec) == nullptr);
  Flow* g = add(t, udp_key(2), 6 * kSec);
  CHECK(g->id == 2);
  CHECK(t.counters().entries == 2);
  CHECK(t.counters().created == 2);

  t.remove(f);
  CHECK(get(t, udp_key(1), 6 * kSec) == nullptr);
  CHECK(get(t, udp_key(2), 6 * kSec) == g);
  CHECK(t.counters().entries == 1);
  CHECK(t.counters().removed == 1);
  CHECK(sink.got.size() == 1);
  CHECK(sink.got[0].id == 1);
  CHECK(sink.got[0].why == FinishReason::Removed);
  CHECK(sink.got[0].key == udp_key(1));
  // The freed record is reused, with a new id.
  Flow* h = add(t, udp_key(3), 7 * kSec);
  CHECK(h == f);
  CHECK(h->id == 3);
  int live = 0;
  t.for_each([&](const Flow&) { ++live; });
  CHECK(live == 2);
}

TEST_CASE("flow table full: early drop evicts the oldest unreplied flow, never a replied one") {
  FlowTable t;
  CHECK(t.init(4));
  Sink sink;
  t.set_sink(&Sink::fn, &sink);
  // Four unreplied flows, the second the least recently seen.
  add(t, udp_key(0), 10 * kSec);
  add(t, udp_key(1), 5 * kSec);
  add(t, udp_key(2), 11 * kSec);
  add(t, udp_key(3), 12 * kSec);
  Flow* n = add(t, udp_key(4), 13 * kSec);
  CHECK(n != nullptr);
  CHECK(t.counters().evicted == 1);
  CHECK(t.counters().entries == 4);
  CHECK(sink.got.size() == 1);
  CHECK(sink.got[0].why == FinishReason::Evicted);
  CHECK(sink.got[0].key == udp_key(1));
  CHECK(get(t, udp_key(1), 13 * kSec) == nullptr);

  // Reply to all but one: only that one can go.
  for (uint32_t k : {0u, 2u, 4u}) flow_update(*get(t, udp_key(k), 14 * kSec), Direction::Ingress, 0, 1, 14 * kSec);
  CHECK(add(t, udp_key(5), 15 * kSec) != nullptr);
  CHECK(sink.got.back().key == udp_key(3));
  CHECK(t.counters().evicted == 2);

  // Now every flow saw a reply (5 was made replied too): inserts fail, nothing goes.
  flow_update(*get(t, udp_key(5), 15 * kSec), Direction::Ingress, 0, 1, 15 * kSec);
  for (uint32_t k = 100; k < 110; ++k) CHECK(add(t, udp_key(k), 16 * kSec) == nullptr);
  CHECK(t.counters().full == 10);
  CHECK(t.counters().evicted == 2);
  CHECK(t.counters().entries == 4);
  for (uint32_t k : {0u, 2u, 4u, 5u}) CHECK(get(t, udp_key(k), 16 * kSec) != nullptr);
}

TEST_CASE("flow table full: an expired flow makes room before any eviction") {
  FlowTable t;
  CHECK(t.init(4));
  Sink sink;
  t.set_sink(&Sink::fn, &sink);
  add(t, udp_key(0), 0, true);            // udp 30 s, replied: expires at 30 s
  for (uint32_t k = 1; k < 4; ++k) add(t, udp_key(k), 25 * kSec);  // unreplied, alive
  CHECK(add(t, udp_key(9), 31 * kSec) != nullptr);
  CHECK(t.counters().expired == 1);
  CHECK(t.counters().evicted == 0);
  CHECK(sink.got.size() == 1);
  CHECK(sink.got[0].why == FinishReason::Expired);
  CHECK(sink.got[0].key == udp_key(0));
}

TEST_CASE("flow table: large table full of replied flows refuses, evicts nothing") {
  FlowTable t;
  CHECK(t.init(1024));
  for (uint32_t k = 0; k < 1024; ++k) CHECK(add(t, udp_key(k), kSec, true) != nullptr);
  for (uint32_t k = 5000; k < 5100; ++k) CHECK(add(t, udp_key(k), kSec) == nullptr);
  CHECK(t.counters().full == 100);
  CHECK(t.counters().evicted == 0);
  for (uint32_t k = 0; k < 1024; ++k) CHECK(get(t, udp_key(k), 2 * kSec) != nullptr);
}

TEST_CASE("flow table: lazy expiry on lookup and the incremental sweep") {
  FlowTable t;
  CHECK(t.init(2000));
  Sink sink;
  t.set_sink(&Sink::fn, &sink);
  add(t, udp_key(1), 100 * kSec);
  CHECK(get(t, udp_key(1), 130 * kSec - 1) != nullptr);  // 30 s udp: one ns before
  CHECK(get(t, udp_key(1), 130 * kSec) == nullptr);      // idle exactly 30 s: gone
  CHECK(t.counters().expired == 1);
  CHECK(t.counters().entries == 0);
  CHECK(sink.got.size() == 1);
  CHECK(sink.got[0].why == FinishReason::Expired);

  // Clock stepping back (merged pcaps) never expires a flow.
  add(t, udp_key(2), 200 * kSec);
  CHECK(get(t, udp_key(2), 150 * kSec) != nullptr);

  // 1000 flows, half idle since t=0, half refreshed at t=100: sweep at t=120.
  FlowTable s;
  CHECK(s.init(2000));
  Sink swept;
  s.set_sink(&Sink::fn, &swept);
  for (uint32_t k = 0; k < 1000; ++k) add(s, udp_key(k), (k % 2 ? 100 : 0) * kSec);
  uint32_t total = 0;
  int calls = 0;
  for (; calls < 100 && s.counters().entries > 500; ++calls) total += s.expire_some(120 * kSec, 64);
  CHECK(total == 500);
  CHECK(calls == 16);  // 1000 records at 64 a call: one full pass
  CHECK(s.counters().expired == 500);
  CHECK(swept.got.size() == 500);
  for (const Finished& f : swept.got) CHECK(f.key.local[3] % 2 == 0);
  CHECK(s.expire_some(120 * kSec, 5000) == 0);
  for (uint32_t k = 1; k < 1000; k += 2) CHECK(get(s, udp_key(k), 120 * kSec) != nullptr);
  CHECK(s.expire_some(131 * kSec, 5000) == 500);
  CHECK(s.counters().entries == 0);
}

TEST_CASE("flow table: TCP flows that time out in TIME_WAIT or CLOSE finish as closed") {
  FlowTable t;
  CHECK(t.init(16));
  Sink sink;
  t.set_sink(&Sink::fn, &sink);
  FlowKey k = udp_key(1);
  k.proto = kProtoTcp;
  Flow* f = t.insert(k, t.hash(k), 0);
  flow_begin(*f, Direction::Egress, kTcpSynSent, true, 0, 0, 60);
  flow_update(*f, Direction::Ingress, kTcpRst | kTcpAck, 40, 1 * kSec);
  CHECK(f->state == kTcpClose);
  CHECK(get(t, k, 11 * kSec - 1) != nullptr);
  CHECK(get(t, k, 11 * kSec) == nullptr);  // close: 10 s
  CHECK(sink.got.size() == 1);
  CHECK(sink.got[0].why == FinishReason::Closed);
  CHECK(t.counters().expired == 1);
}

namespace {
std::string key_bytes(const FlowKey& k) { return std::string(reinterpret_cast<const char*>(&k), sizeof k); }

void model_check(uint32_t max_flows, uint32_t key_space, uint32_t ops, uint32_t seed) {
  FlowTable t;
  CHECK(t.init(max_flows));
  std::unordered_map<std::string, uint64_t> model;  // key -> flow id
  std::mt19937 rng(seed);
  uint64_t inserts = 0, removes = 0, fulls = 0, mismatches = 0;
  for (uint32_t op = 0; op < ops; ++op) {
    const FlowKey k = udp_key(rng() % key_space, static_cast<uint16_t>(rng() % 2));
    const uint64_t h = t.hash(k);
    const uint32_t r = rng() % 100;
    Flow* f = t.find(k, h, kSec);
    auto it = model.find(key_bytes(k));
    if ((f != nullptr) != (it != model.end()) || (f != nullptr && f->id != it->second)) ++mismatches;
    if (r < 50) {
      if (f == nullptr) {
        Flow* n = t.insert(k, h, kSec);
        if (n == nullptr) {
          ++fulls;
          if (model.size() != max_flows) ++mismatches;
        } else {
          n->flags |= kFlowReplied;  // never evictable: the model stays exact
          model[key_bytes(k)] = n->id;
          ++inserts;
        }
      }
    } else if (r < 85) {
      if (f != nullptr) {
        t.remove(f);
        model.erase(key_bytes(k));
        ++removes;
      }
    }
    if (op % 20000 == 0 || op + 1 == ops) {
      // Every flow the model holds is reachable through its probe chain.
      uint64_t n = 0;
      t.for_each([&](const Flow& fl) {
        ++n;
        auto m = model.find(key_bytes(fl.key));
        if (m == model.end() || m->second != fl.id) ++mismatches;
        Flow* again = t.find(fl.key, t.hash(fl.key), kSec);
        if (again == nullptr || again->id != fl.id) ++mismatches;
      });
      if (n != model.size() || t.counters().entries != model.size()) ++mismatches;
    }
  }
  CAPTURE(max_flows);
  CHECK(mismatches == 0);
  CHECK(inserts > ops / 20);
  CHECK(removes > ops / 20);
  CHECK(t.counters().created == inserts);
  CHECK(t.counters().removed == removes);
  CHECK(t.counters().full == fulls);
  CHECK(t.counters().evicted == 0);
}
}  // namespace

TEST_CASE("flow table: random insert/find/remove agree with std::unordered_map (200k ops)") {
  // A small table kept at 75 % load (long clusters, wrap-around) and a larger one.
  model_check(48, 100, 200'000, 1);
  model_check(4096, 9000, 200'000, 2);
}

TEST_CASE("flow table: the hash spreads structured keys (probe lengths near linear-probing theory)") {
  FlowTable t;
  const uint32_t n = 3 * 4096;  // exactly 75 % of 16384 slots
  CHECK(t.init(n));
  CHECK(t.slot_count() == 16384);
  for (uint32_t k = 0; k < n; ++k) CHECK(add(t, udp_key(k), kSec) != nullptr);
  // Unsuccessful-search cost at load a: (1 + 1/(1-a)^2)/2 = 8.5 at 0.75.
  double sum = 0;
  for (uint32_t k = 100000; k < 110000; ++k) sum += t.probe_length(t.hash(udp_key(k)));
  const double mean = sum / 10000;
  CAPTURE(mean);
  CHECK(mean < 14.0);
  CHECK(mean > 4.0);
}

TEST_CASE("flow table: under 128 bytes of table memory per flow at every size") {
  static_assert(sizeof(Flow) + 8.0 * 8 / 3 < 128.0, "worst case: slots just under 8/3 x flows");
  for (uint32_t n : {1u, 2u, 3u, 100u, 1000u, 49153u, 65536u, 98305u, 786433u, 1000000u, 16777216u})
    CHECK(flow_table_bytes_per_flow(n) < 128.0);
  CHECK(flow_table_bytes_per_flow(1000000) < 121.0);  // 104 + 16.8 (2^21 slots)
  FlowTable t;
  CHECK(t.init(1000000));
  CAPTURE(t.memory_bytes());
  CHECK(double(t.memory_bytes()) / 1000000 < 128.0);
}
