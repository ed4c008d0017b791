// Conntrack benchmark (bench/run.js runs it): inserts/s, hit lookups/s (plain, and batched with
// prefetch as the engine runs them), miss lookups/s and bytes per flow at 10K, 100K and 1M flows,
// one core; the baseline, in the same process and run, is std::unordered_map keyed by the same
// FlowKey and hash with the same record, hot and cold parts (what a straightforward C++ table
// would be). Hits read a hot field, as the engine's per-packet path does.
// Key mix and loops folded from bench/conntrack_bench.cc (its author's logic: random IPv4
// keys over 4 interfaces, a 2M-packet stream of random flows, batches of 64 through
// find_batch, CPU time so that time spent descheduled does not count).
//
//   bench/out/bin/flow-bench --flows 10000,100000,1000000 --runs 5
//
// initPrefaultMs / initLazyMs: FlowTable::init CPU time with FlowTableMemory::Prefault
// (live workers) and ::Lazy (replay).
//
// Prints one JSON object per table size on stdout.
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "conntrack/flow_table.h"

using namespace sgfw;
using namespace sgfw::conntrack;

namespace {

double cpu_now() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

long anon_huge_kb() {
  FILE* f = std::fopen("/proc/self/smaps_rollup", "r");
  if (f == nullptr) return -1;
  char line[256];
  long kb = -1;
  while (std::fgets(line, sizeof line, f))
    if (std::sscanf(line, "AnonHugePages: %ld kB", &kb) == 1) break;
  std::fclose(f);
  return kb;
}

FlowKey key_of(uint32_t n, std::mt19937_64& rng) {
  FlowKey k;
  k.iface = static_cast<uint16_t>(n % 4);
  k.family = 4;
  k.proto = (n % 3) ? kProtoTcp : kProtoUdp;
  k.local_port = static_cast<uint16_t>(1024 + rng() % 60000);
  k.remote_port = static_cast<uint16_t>((n % 5) ? 443 : rng());
  const uint32_t local = 0x0a000000u | (n & 0xffffff), remote = static_cast<uint32_t>(rng());
  for (int i = 0; i < 4; ++i) {
    k.local[i] = static_cast<uint8_t>(local >> (24 - 8 * i));
    k.remote[i] = static_cast<uint8_t>(remote >> (24 - 8 * i));
  }
  return k;
}

// Bytes the baseline map asks the allocator for (nodes and bucket array).
size_t g_map_bytes = 0;
template <class T>
struct CountingAlloc {
  using value_type = T;
  CountingAlloc() = default;
  template <class U>
  CountingAlloc(const CountingAlloc<U>&) {}
  T* allocate(size_t n) {
    g_map_bytes += n * sizeof(T);
    return std::allocator<T>().allocate(n);
  }
  void deallocate(T* p, size_t n) {
    g_map_bytes -= n * sizeof(T);
    std::allocator<T>().deallocate(p, n);
  }
  template <class U>
  bool operator==(const CountingAlloc<U>&) const { return true; }
};

struct KeyHash {
  size_t operator()(const FlowKey& k) const { return flow_hash(k, 0x5eed); }
};
struct FullFlow {
  Flow hot;
  FlowCold cold;
};
using BaselineMap =
    std::unordered_map<FlowKey, FullFlow, KeyHash, std::equal_to<FlowKey>, CountingAlloc<std::pair<const FlowKey, FullFlow>>>;

std::string list(const std::vector<double>& v) {
  std::string s = "[";
  char buf[64];
  for (size_t i = 0; i < v.size(); i++) {
    std::snprintf(buf, sizeof buf, "%s%.6g", i ? "," : "", v[i]);
    s += buf;
  }
  return s + "]";
}

void run(uint32_t flows, int runs) {
  std::mt19937_64 rng(flows);
  std::vector<FlowKey> keys(flows);
  for (uint32_t i = 0; i < flows; ++i) keys[i] = key_of(i, rng);
  const uint32_t stream_len = 1u << 21;
  std::vector<FlowKey> stream(stream_len), misses(1u << 16);
  for (auto& k : stream) k = keys[rng() % flows];
  for (uint32_t i = 0; i < misses.size(); ++i) misses[i] = key_of(flows + 1 + i, rng);  // never inserted
  const uint64_t now = 1'000'000'000ull;
  const uint32_t lookups = 4u << 20;
  uint64_t sum = 0;

  std::vector<double> ins, hit, batched, batched_upd, miss, base_ins, base_hit, init_prefault, init_lazy;
  size_t bytes = 0, base_bytes = 0;
  long thp_mib = 0;
  for (int r = 0; r < runs; ++r) {
    // init cost, both memory modes (CPU time includes the kernel zeroing the pages).
    for (int lazy = 0; lazy < 2; ++lazy) {
      FlowTable z;
      const double z0 = cpu_now();
      if (!z.init(flows, 0x5eed, lazy ? FlowTableMemory::Lazy : FlowTableMemory::Prefault)) std::exit(1);
      (lazy ? init_lazy : init_prefault).push_back((cpu_now() - z0) * 1e3);
    }
    // sgfw's table: fresh each run, so inserts are measured every run.
    FlowTable t;
    if (!t.init(flows, 0x5eed)) {
      std::fprintf(stderr, "init failed\n");
      std::exit(1);
    }
    double t0 = cpu_now();
    for (uint32_t i = 0; i < flows; ++i) {
      Flow* f = t.insert(keys[i], t.hash(keys[i]), now);
      if (f == nullptr) std::abort();  // random keys never repeat in practice; a repeat is a bench bug
      t.begin(*f, Direction::Egress, kTcpEstablished, true, 0, 0, 64);
    }
    ins.push_back(flows / (cpu_now() - t0));
    bytes = t.memory_bytes();
    thp_mib = anon_huge_kb() / 1024;

    t0 = cpu_now();
    for (uint32_t i = 0; i < lookups; ++i) {
      const FlowKey& k = stream[i & (stream_len - 1)];
      sum += t.find(k, t.hash(k), now)->generation;
    }
    hit.push_back(lookups / (cpu_now() - t0));

    constexpr uint32_t kBatch = 64;
    uint64_t h[kBatch];
    Flow* out[kBatch];
    for (int update = 0; update < 2; ++update) {
      t0 = cpu_now();
      for (uint32_t i = 0; i < lookups; i += kBatch) {
        const FlowKey* b = &stream[i & (stream_len - 1)];
        for (uint32_t j = 0; j < kBatch; ++j) h[j] = t.hash(b[j]);
        t.find_batch(b, h, kBatch, now, out);
        if (update) {
          // The engine's update of an established flow: state, timer, counters.
          for (uint32_t j = 0; j < kBatch; ++j) sum += uint8_t(t.update(*out[j], Direction::Egress, kTcpAck, 64, now).action);
        } else {
          for (uint32_t j = 0; j < kBatch; ++j) sum += out[j]->generation;
        }
      }
      (update ? batched_upd : batched).push_back(lookups / (cpu_now() - t0));
    }

    const uint32_t miss_n = lookups / 4;
    t0 = cpu_now();
    for (uint32_t i = 0; i < miss_n; ++i) {
      const FlowKey& k = misses[i & (misses.size() - 1)];
      sum += t.find(k, t.hash(k), now) == nullptr;
    }
    miss.push_back(miss_n / (cpu_now() - t0));
    t.init(1, 0);  // give the memory back before the baseline allocates its own

    // Baseline: std::unordered_map, reserved up front (its best case).
    {
      g_map_bytes = 0;
      BaselineMap m;
      m.reserve(flows);
      t0 = cpu_now();
      for (uint32_t i = 0; i < flows; ++i) {
        FullFlow f{};
        f.hot.key = keys[i];
        flow_begin(f.hot, f.cold, Direction::Egress, kTcpEstablished, true, 0, 0, 64);
        f.hot.generation = i + 1;
        f.cold.id = i + 1;
        m.emplace(keys[i], f);
      }
      base_ins.push_back(flows / (cpu_now() - t0));
      base_bytes = g_map_bytes;
      t0 = cpu_now();
      for (uint32_t i = 0; i < lookups; ++i) sum += m.find(stream[i & (stream_len - 1)])->second.hot.generation;
      base_hit.push_back(lookups / (cpu_now() - t0));
    }
  }
  std::printf(
      "{\"flows\":%u,\"insert\":%s,\"hit\":%s,\"batched\":%s,\"batchedUpdate\":%s,\"miss\":%s,\"bytesPerFlow\":%.1f,"
      "\"thpMiB\":%ld,\"initPrefaultMs\":%s,\"initLazyMs\":%s,\"baseInsert\":%s,\"baseHit\":%s,\"baseBytesPerFlow\":%.1f,\"lookupsPerRun\":%u,\"sink\":%llu}\n",
      flows, list(ins).c_str(), list(hit).c_str(), list(batched).c_str(), list(batched_upd).c_str(), list(miss).c_str(),
      double(bytes) / flows, thp_mib, list(init_prefault).c_str(), list(init_lazy).c_str(), list(base_ins).c_str(), list(base_hit).c_str(), double(base_bytes) / flows, lookups,
      static_cast<unsigned long long>(sum & 0xff));
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<uint32_t> sizes = {10'000u, 100'000u, 1'000'000u};
  int runs = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--runs") runs = std::max(1, std::atoi(v));
    else if (k == "--flows") {
      sizes.clear();
      for (const char* p = v; *p;) {
        sizes.push_back(uint32_t(std::strtoul(p, const_cast<char**>(&p), 10)));
        if (*p == ',') p++;
      }
    } else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  for (uint32_t n : sizes) run(n, runs);
  return 0;
}
