// The flow table (native/conntrack/flow_table.h): keys, insert/find/remove,
// early drop when full, lazy expiry and the sweep, a random model check and the
// memory budget per flow.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <initializer_list>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include <sys/resource.h>

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
  static void fn(void* ctx, const FlowView& f, FinishReason why) {
    static_cast<Sink*>(ctx)->got.push_back({f.id(), why, f.key()});
  }
};

Flow* add(FlowTable& t, const FlowKey& k, uint64_t now, bool replied = false) {
  Flow* f = t.insert(k, t.hash(k), now);
  if (f != nullptr) {
    t.begin(*f, Direction::Egress, 0, true, 1, 1, 100);
    if (replied) t.update(*f, Direction::Ingress, 0, 100, now);
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
  CHECK(t.slot_count() == 134);  // fewest slots with 100 <= 0.75 x slots

  Flow* f = t.insert(udp_key(1), t.hash(udp_key(1)), 5 * kSec + 7);
  CHECK(f != nullptr);
  CHECK((f->flags & kFlowLive) != 0);
  CHECK(t.id(*f) == 1);
  CHECK(f->last_ns == 5 * kSec + 7);
  CHECK(t.start_s(*f) == 5);
  CHECK(f->timeout_slot == uint8_t(TimeoutSlot::Udp));
  CHECK(t.packets(*f, kDirOriginal) == 0);
  t.begin(*f, Direction::Ingress, 0, true, 42, 9, 1500);
  CHECK(t.rule(*f) == 42);
  CHECK(f->generation == 9);
  CHECK(t.packets(*f, kDirOriginal) == 1);
  CHECK(t.bytes(*f, kDirOriginal) == 1500);
  CHECK(t.packets(*f, kDirReply) == 0);
  CHECK(t.view(*f).start_s() == 5);
  CHECK(flow_orig_dir(*f) == Direction::Ingress);

  CHECK(get(t, udp_key(1), 6 * kSec) == f);
  CHECK(get(t, udp_key(2), 6 * kSec) == nullptr);
  Flow* g = add(t, udp_key(2), 6 * kSec);
  CHECK(t.id(*g) == 2);
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
  CHECK(t.id(*h) == 3);
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
  for (uint32_t k : {0u, 2u, 4u}) t.update(*get(t, udp_key(k), 14 * kSec), Direction::Ingress, 0, 1, 14 * kSec);
  CHECK(add(t, udp_key(5), 15 * kSec) != nullptr);
  CHECK(sink.got.back().key == udp_key(3));
  CHECK(t.counters().evicted == 2);

  // Now every flow saw a reply (5 was made replied too): inserts fail, nothing goes.
  t.update(*get(t, udp_key(5), 15 * kSec), Direction::Ingress, 0, 1, 15 * kSec);
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
  t.begin(*f, Direction::Egress, kTcpSynSent, true, 0, 0, 60);
  t.update(*f, Direction::Ingress, kTcpRst | kTcpAck, 40, 1 * kSec);
  CHECK(f->state == kTcpClose);
  CHECK(get(t, k, 11 * kSec - 1) != nullptr);
  CHECK(get(t, k, 11 * kSec) == nullptr);  // close: 10 s
  CHECK(sink.got.size() == 1);
  CHECK(sink.got[0].why == FinishReason::Closed);
  CHECK(t.counters().expired == 1);
}

namespace {
std::string key_bytes(const FlowKey& k) { return std::string(reinterpret_cast<const char*>(&k), sizeof k); }

void model_check(uint32_t max_flows, uint32_t key_space, uint32_t ops, uint32_t seed,
                 FlowTableMemory memory = FlowTableMemory::Prefault) {
  FlowTable t;
  CHECK(t.init(max_flows, 0, memory));
  std::unordered_map<std::string, uint64_t> model;  // key -> flow id
  std::mt19937 rng(seed);
  uint64_t inserts = 0, removes = 0, fulls = 0, mismatches = 0;
  for (uint32_t op = 0; op < ops; ++op) {
    const FlowKey k = udp_key(rng() % key_space, static_cast<uint16_t>(rng() % 2));
    const uint64_t h = t.hash(k);
    const uint32_t r = rng() % 100;
    Flow* f = t.find(k, h, kSec);
    auto it = model.find(key_bytes(k));
    if ((f != nullptr) != (it != model.end()) || (f != nullptr && t.id(*f) != it->second)) ++mismatches;
    if (r < 50) {
      if (f == nullptr) {
        Flow* n = t.insert(k, h, kSec);
        if (n == nullptr) {
          ++fulls;
          if (model.size() != max_flows) ++mismatches;
        } else {
          n->flags |= kFlowReplied;  // never evictable: the model stays exact
          model[key_bytes(k)] = t.id(*n);
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
        if (m == model.end() || m->second != t.id(fl)) ++mismatches;
        Flow* again = t.find(fl.key, t.hash(fl.key), kSec);
        if (again == nullptr || t.id(*again) != t.id(fl)) ++mismatches;
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

TEST_CASE("flow table: lazily faulted memory behaves like prefaulted memory") {
  // Spans several 2 MiB pages of pool, so untouched (never faulted) pages are read too.
  model_check(48, 100, 50'000, 3, FlowTableMemory::Lazy);
  model_check(40000, 90000, 200'000, 4, FlowTableMemory::Lazy);
  FlowTable t;
  CHECK(t.init(1000000, 7, FlowTableMemory::Lazy));
  CHECK(t.capacity() == 1000000);
  CHECK(t.memory_bytes() >= 1000000 * (sizeof(Flow) + sizeof(FlowCold)));
  for (uint32_t k = 0; k < 1000; ++k) CHECK(get(t, udp_key(k * 997), kSec) == nullptr);
  Flow* f = add(t, udp_key(5), kSec);
  CHECK(f != nullptr);
  if (f == nullptr) return;
  CHECK(get(t, udp_key(5), kSec) == f);
  // Re-init gives fresh zeroed memory (the old contents are dropped, not reported).
  CHECK(t.init(1000, 7, FlowTableMemory::Prefault));
  CHECK(get(t, udp_key(5), kSec) == nullptr);
  CHECK(t.counters().entries == 0);
}

TEST_CASE("flow table: a lazily faulted table grows its index as it fills, up to max_flows") {
  FlowTable t;
  const uint32_t max = FlowTable::kLazyIndexFlows * 5 + 3;  // grows three times, the last short of double
  CHECK(t.init(max, 11, FlowTableMemory::Lazy));
  if (t.capacity() != max) return;
  const uint32_t first = t.slot_count();
  CHECK(first < max);  // sized for kLazyIndexFlows, not max
  std::vector<Flow*> flows;
  std::vector<uint32_t> slot_counts{first};
  for (uint32_t k = 0; k < max; ++k) {
    Flow* f = add(t, udp_key(k), kSec);
    if (f == nullptr) {
      FAIL_CHECK("insert ", k, " refused");
      return;
    }
    flows.push_back(f);
    if (t.slot_count() != slot_counts.back()) {
      slot_counts.push_back(t.slot_count());
      // Right after each growth every flow so far is found again (placed anew by its tag).
      uint32_t lost = 0;
      for (uint32_t j = 0; j <= k; ++j) lost += get(t, udp_key(j), kSec) != flows[j];
      CHECK(lost == 0);
    }
  }
  CAPTURE(slot_counts.size());
  CHECK(slot_counts.size() == 4);
  FlowTable pre;
  CHECK(pre.init(max, 11, FlowTableMemory::Prefault));
  CHECK(t.slot_count() == pre.slot_count());  // grown to the size a prefaulted table starts at
  uint32_t lost = 0;
  for (uint32_t j = 0; j < max; ++j) lost += get(t, udp_key(j), kSec) != flows[j];
  CHECK(lost == 0);
  // Full: early drop makes room (none of these flows saw a reply), as in a table that never grew.
  CHECK(t.counters().entries == max);
  CHECK(add(t, udp_key(max + 1), kSec) != nullptr);
  CHECK(t.counters().evicted == 1);
  // A prefaulted table starts at its full size and never grows.
  const uint32_t pre_slots = pre.slot_count();
  uint32_t refused = 0;
  for (uint32_t k = 0; k < 2 * FlowTable::kLazyIndexFlows; ++k) refused += add(pre, udp_key(k), kSec) == nullptr;
  CHECK(refused == 0);
  CHECK(pre.slot_count() == pre_slots);
}

// Minor page faults of this process so far.
static long minor_faults() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_minflt;
}

TEST_CASE("flow table: a lazily faulted table's index is written when allocated, not by lookups") {
  // Lookups read slots at random before any insert writes them; a read of an untouched page
  // maps the zero page, and the insert's write later faults again (copy on write, with a TLB
  // flush on every CPU running the process). The index's pages are therefore faulted in when
  // it is allocated: misses on a fresh or just grown index fault nothing.
  FlowTable t;
  CHECK(t.init(1000000, 13, FlowTableMemory::Lazy));
  if (t.capacity() != 1000000) return;
  auto misses = [&](uint32_t from) {
    const long before = minor_faults();
    uint32_t found = 0;
    for (uint32_t k = 0; k < 20000; ++k) {
      FlowKey key = udp_key(from + k * 7919);
      key.remote_port = 5353;  // no inserted key has it
      found += get(t, key, kSec) != nullptr;
    }
    const long faults = minor_faults() - before;  // before the CHECK, which may touch memory of its own
    CHECK(found == 0);
    return faults;
  };
  // 20,000 keys at random over an index of ~700 KiB (171 pages) would touch nearly every page.
  CHECK(misses(0) == 0);
  const uint32_t first = t.slot_count();
  for (uint32_t k = 0; t.slot_count() == first && k < 2 * FlowTable::kLazyIndexFlows; ++k) add(t, udp_key(k), kSec);
  CHECK(t.slot_count() > first);
  CHECK(misses(1) == 0);
}

TEST_CASE("flow table: find_batch returns what find returns, expiring like find") {
  FlowTable t;
  CHECK(t.init(5000));
  std::vector<FlowKey> keys;
  std::vector<Flow*> want;
  for (uint32_t k = 0; k < 3000; ++k) {
    const FlowKey key = udp_key(k, static_cast<uint16_t>(k % 3));
    keys.push_back(key);
    // Two thirds inserted; of those, every 5th is old enough to have expired by the batch.
    Flow* f = k % 3 ? add(t, key, k % 5 == 0 ? kSec : 1000 * kSec) : nullptr;
    want.push_back(f != nullptr && k % 5 == 0 ? nullptr : f);
  }
  const uint64_t before = t.counters().entries;
  std::vector<uint64_t> hashes;
  for (const FlowKey& k : keys) hashes.push_back(t.hash(k));
  std::vector<Flow*> got(keys.size(), reinterpret_cast<Flow*>(1));
  // An odd batch size covers the last, partial group.
  const uint32_t batch = FlowTable::kFindGroup * 2 + 7;
  for (uint32_t i = 0; i < keys.size(); i += batch) {
    const uint32_t n = std::min<uint32_t>(batch, static_cast<uint32_t>(keys.size()) - i);
    t.find_batch(&keys[i], &hashes[i], n, 1000 * kSec + 1, &got[i]);
  }
  uint64_t wrong = 0, expired = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (got[i] != want[i]) ++wrong;
    if (i % 3 && i % 5 == 0) ++expired;
  }
  CHECK(wrong == 0);
  CHECK(expired > 100);
  CHECK(t.counters().expired == expired);
  CHECK(t.counters().entries == before - expired);
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
  static_assert(sizeof(Flow) == 64 && sizeof(FlowCold) == 48);
  // Slots are ceil(4/3 x flows): 10.7 bytes a flow from 3 flows up; a 1-flow table needs 2 slots.
  CHECK(flow_table_bytes_per_flow(1) == 128.0);
  for (uint32_t n : {2u, 3u, 100u, 1000u, 10000u, 49153u, 65536u, 98305u, 100000u, 786433u, 1000000u, 16777216u}) {
    CAPTURE(n);
    CHECK(flow_table_bytes_per_flow(n) < 124.1);
  }
  CHECK(flow_table_bytes_per_flow(1000000) < 122.7);  // 64 + 48 + 10.67
  FlowTable t;
  CHECK(t.init(1000000));
  CAPTURE(t.memory_bytes());
  CHECK(double(t.memory_bytes()) / 1000000 < 128.0);
}

TEST_CASE("flow table: per-direction counts stay exact 64-bit across hot-counter flushes") {
  FlowTable t;
  CHECK(t.init(64));
  uint64_t seen_packets[2] = {}, seen_bytes[2] = {};
  struct Totals {
    uint64_t* p;
    uint64_t* b;
    static void fn(void* ctx, const FlowView& v, FinishReason) {
      auto* x = static_cast<Totals*>(ctx);
      for (FlowDir d : {kDirOriginal, kDirReply}) x->p[d] = v.packets(d), x->b[d] = v.bytes(d);
    }
  } totals{seen_packets, seen_bytes};
  t.set_sink(&Totals::fn, &totals);
  Flow* f = add(t, udp_key(1), kSec);  // original: 1 packet, 100 bytes
  CHECK(f != nullptr);
  if (f == nullptr) return;
  uint64_t want_p[2] = {1, 0}, want_b[2] = {100, 0};
  // Small packets: about a thousand stay in the hot line before the cold record is written.
  uint32_t in_hot = 1;
  while (t.cold(*f).packets[kDirOriginal] == 0 && in_hot < 5000) {
    CHECK(t.packets(*f, kDirOriginal) == in_hot);
    CHECK(t.cold(*f).bytes[kDirOriginal] == 0);
    t.update(*f, Direction::Egress, 0, 40, kSec);
    want_p[0] += 1, want_b[0] += 40;
    ++in_hot;
  }
  CAPTURE(in_hot);
  CHECK(in_hot > 1000);
  CHECK(in_hot <= 1024);
  CHECK(t.cold(*f).packets[kDirOriginal] == in_hot);  // flushed with the packet that overflowed
  CHECK(t.cold(*f).bytes[kDirOriginal] == 100 + (in_hot - 1) * 40);
  CHECK(f->count[kDirOriginal] == 0);
  // Mixed sizes in both directions, up to and past the 22-bit byte field and u32.
  std::mt19937 rng(11);
  const uint32_t sizes[] = {0, 1, 40, 1500, 9000, 65535, (1u << 22) - 1, 1u << 22, 5'000'000, 0xffffffffu};
  for (int i = 0; i < 20000; ++i) {
    const FlowDir d = rng() % 2 ? kDirReply : kDirOriginal;
    const uint32_t b = i % 97 == 0 ? sizes[rng() % 10] : sizes[rng() % 6];
    t.update(*f, d == kDirOriginal ? Direction::Egress : Direction::Ingress, 0, b, 2 * kSec);
    want_p[d] += 1, want_b[d] += b;
  }
  CHECK(want_b[kDirReply] > (uint64_t{1} << 32));
  // A counter already past u32 (a long 10 Gbit/s flow) keeps counting.
  t.cold(*f).packets[kDirReply] += uint64_t{0xffffffffu} - 7;
  want_p[kDirReply] += uint64_t{0xffffffffu} - 7;
  for (int i = 0; i < 3000; ++i) t.update(*f, Direction::Ingress, 0, 1500, 3 * kSec);
  want_p[kDirReply] += 3000, want_b[kDirReply] += 3000ull * 1500;
  for (FlowDir d : {kDirOriginal, kDirReply}) {
    CAPTURE(int(d));
    CHECK(t.packets(*f, d) == want_p[d]);
    CHECK(t.bytes(*f, d) == want_b[d]);
  }
  uint64_t via_each = 0;
  t.for_each_view([&](const FlowView& v) { via_each += v.packets(kDirOriginal) + v.packets(kDirReply); });
  CHECK(via_each == want_p[0] + want_p[1]);
  // The sink sees the same totals.
  t.remove(f);
  for (FlowDir d : {kDirOriginal, kDirReply}) {
    CHECK(seen_packets[d] == want_p[d]);
    CHECK(seen_bytes[d] == want_b[d]);
  }
  // A reused record starts from zero in both parts.
  Flow* g = add(t, udp_key(2), 4 * kSec);
  CHECK(g == f);
  if (g != f) return;
  CHECK(t.packets(*g, kDirOriginal) == 1);
  CHECK(t.bytes(*g, kDirOriginal) == 100);
  CHECK(t.packets(*g, kDirReply) == 0);
  CHECK(t.bytes(*g, kDirReply) == 0);
}

TEST_CASE("flow table: a first packet too big for the hot counter goes to the cold record") {
  FlowTable t;
  CHECK(t.init(8));
  const FlowKey k = udp_key(9);
  Flow* f = t.insert(k, t.hash(k), kSec);
  CHECK(f != nullptr);
  if (f == nullptr) return;
  t.begin(*f, Direction::Egress, 0, true, 3, 1, 6'000'000);
  CHECK(t.packets(*f, kDirOriginal) == 1);
  CHECK(t.bytes(*f, kDirOriginal) == 6'000'000);
  CHECK(t.rule(*f) == 3);
}

TEST_CASE("flow table: prefetch_flow's hint names the flow, and a stale or wrong hint changes no result") {
  FlowTable t;
  CHECK(t.init(1000));
  Sink sink;
  t.set_sink(&Sink::fn, &sink);
  const uint64_t now = 100 * kSec;
  const FlowKey a = udp_key(1), b = udp_key(2), c = udp_key(3);
  Flow* fa = add(t, a, now);
  Flow* fb = add(t, b, now);
  CHECK(fa != nullptr);
  CHECK(fb != nullptr);
  // The hint is the record's index + 1 (almost always: the flow sits within 8 slots of home).
  const uint32_t ha = t.prefetch_flow(t.hash(a));
  CHECK(ha != 0);
  CHECK(t.find(a, t.hash(a), now, ha) == fa);
  // Another flow's record, no hint, an out-of-place index: the full probe still finds it.
  const uint32_t hb = t.prefetch_flow(t.hash(b));
  CHECK(t.find(a, t.hash(a), now, hb) == fa);
  CHECK(t.find(a, t.hash(a), now, 0) == fa);
  // Stale: a's record removed, then reused by c (free list): the hint no longer names a.
  t.remove(fa);
  CHECK(t.find(a, t.hash(a), now, ha) == nullptr);
  Flow* fc = add(t, c, now);
  CHECK(fc == fa);  // the same record, now c's
  CHECK(t.find(a, t.hash(a), now, ha) == nullptr);
  CHECK(t.find(c, t.hash(c), now, ha) == fc);
  // A hinted flow that expired is reclaimed and reported absent, as find() does.
  const uint64_t expired_before = t.counters().expired;
  const uint64_t later = now + 100000 * kSec;
  CHECK(t.find(b, t.hash(b), later, hb) == nullptr);
  CHECK(t.counters().expired == expired_before + 1);
  CHECK(t.find(b, t.hash(b), later) == nullptr);
}

// prefetch_flow looks at the eight slots from home: hashes chosen to share one home slot
// (home = tag * slots >> 32) and differ in tag put nine flows at 0..8 slots from home. The
// first eight get their own record as hint (records are handed out in insert order on a
// fresh table), the ninth none; a flow whose tag repeats an earlier one's gets that one's
// record, which find() then rejects on the key.
TEST_CASE("flow table: prefetch_flow's hint names flows up to seven slots from home") {
  FlowTable t;
  CHECK(t.init(64));
  const uint64_t now = 10 * kSec;
  const uint32_t home = 5;
  const uint64_t base = ((uint64_t{home} << 32) + t.slot_count() - 1) / t.slot_count();  // first tag homed at 5
  std::vector<FlowKey> keys;
  std::vector<uint64_t> hashes;
  for (uint32_t k = 0; k < 9; ++k) {
    keys.push_back(udp_key(100 + k));
    hashes.push_back(0xabcd000000000000ull | (base + k));
    Flow* f = t.insert(keys[k], hashes[k], now);
    CHECK(f != nullptr);
    if (f == nullptr) return;
  }
  for (uint32_t k = 0; k < 8; ++k) {
    CAPTURE(k);
    CHECK(t.prefetch_flow(hashes[k]) == k + 1);
    CHECK(t.find(keys[k], hashes[k], now, k + 1) == t.find(keys[k], hashes[k], now));
  }
  CHECK(t.prefetch_flow(hashes[8]) == 0);
  CHECK(t.find(keys[8], hashes[8], now, 0) != nullptr);
  // A tenth flow with the tag of the third: its hint is the third's record, find still finds it.
  const FlowKey dup = udp_key(200);
  Flow* fd = t.insert(dup, hashes[2], now);
  CHECK(fd != nullptr);
  if (fd == nullptr) return;
  CHECK(t.prefetch_flow(hashes[2]) == 3);
  CHECK(t.find(dup, hashes[2], now, 3) == fd);
}

TEST_CASE("flow table: find with random hints equals find without, through inserts and removals") {
  FlowTable t;
  CHECK(t.init(4000));
  std::mt19937_64 rng(7);
  const uint64_t now = 10 * kSec;
  std::vector<FlowKey> keys;
  for (uint32_t k = 0; k < 6000; ++k) keys.push_back(udp_key(k, static_cast<uint16_t>(k % 2)));
  uint64_t wrong = 0, hinted_hits = 0;
  for (int step = 0; step < 40000; ++step) {
    const FlowKey& k = keys[rng() % keys.size()];
    const uint64_t h = t.hash(k);
    uint32_t hint = 0;
    switch (rng() % 3) {
      case 0: hint = t.prefetch_flow(h); break;
      case 1: hint = static_cast<uint32_t>(rng() % (t.capacity() + 1)); break;
      default: break;
    }
    Flow* want = t.find(k, h, now);
    Flow* got = t.find(k, h, now, hint);
    if (got != want) ++wrong;
    if (got != nullptr && hint != 0) ++hinted_hits;
    if (want == nullptr) {
      if (rng() % 2) add(t, k, now);
    } else if (rng() % 4 == 0) {
      t.remove(want);
    }
  }
  CHECK(wrong == 0);
  CHECK(hinted_hits > 1000);
}
