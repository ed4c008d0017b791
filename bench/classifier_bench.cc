// Classifier micro-benchmark: lookups/s of the tree classifier and the linear reference on
// ClassBench-like runs (test/native/classifier_rulegen.h), and load (validate + build) time.
// Build:  g++ -std=c++20 -O2 -DNDEBUG -Inative -Itest/native native/table/*.cc native/core/crc32.cc
//           bench/classifier_bench.cc -o /tmp/classifier-bench && /tmp/classifier-bench [sizes...]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "classifier_rulegen.h"
#include "table/loader.h"

using namespace sgfw;
using Clock = std::chrono::steady_clock;

namespace {

struct Packet {
  Tuple t;
  uint8_t itype, icode;
};

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

template <class F>
double lookups_per_sec(const std::vector<Packet>& pk, size_t count, F&& f, int64_t& sink) {
  auto t0 = Clock::now();
  for (size_t i = 0; i < count; i++) {
    const Packet& p = pk[i & (pk.size() - 1)];  // size is a power of two
    sink += f(p);
  }
  return double(count) / seconds_since(t0);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<uint32_t> sizes = {10, 100, 1000, 10000};
  if (argc > 1) {
    sizes.clear();
    for (int i = 1; i < argc; i++) sizes.push_back(uint32_t(std::atoi(argv[i])));
  }
  std::printf("%8s %12s %12s %8s %10s %10s %9s %7s %7s %7s %8s %7s\n", "rules", "tree/s", "linear/s", "ratio", "load_ms",
              "linload_ms", "KiB", "depth", "maxleaf", "avgpos", "leafent", "nodes");
  for (uint32_t n : sizes) {
    test::RuleGen g(42 + n);
    test::BlobSpec spec = test::random_table(g, n, 4);
    std::vector<uint8_t> blob = test::build_blob(spec);
    const auto& run = spec.ifaces[0].ingress;

    // Load (validate + crc + build) time: best of a few, as a swap would pay it.
    double load_ms = 1e9, lin_ms = 1e9;
    table::MatchTable tree_t, lin_t;
    for (int rep = 0; rep < 5; rep++) {
      table::MatchTable t;
      auto t0 = Clock::now();
      table::LoadResult r = table::load_table(blob.data(), blob.size(), t);
      load_ms = std::min(load_ms, seconds_since(t0) * 1e3);
      if (!r.ok()) {
        std::printf("load failed: %s\n", r.message.c_str());
        return 1;
      }
      tree_t = std::move(t);
      table::MatchTable l;
      t0 = Clock::now();
      table::load_table(blob.data(), blob.size(), l, {table::ClassifierChoice::Linear});
      lin_ms = std::min(lin_ms, seconds_since(t0) * 1e3);
      lin_t = std::move(l);
    }

    std::vector<Packet> pk(1 << 14);
    for (Packet& p : pk) {
      const test::BEntry* e = g.chance(70) ? &run[g.below(uint32_t(run.size()))] : nullptr;
      g.packet(e, p.t, p.itype, p.icode);
    }
    // Both must agree (a cheap sanity check; the tests do the real comparison).
    for (size_t i = 0; i < 2000; i++) {
      const Packet& p = pk[i];
      if (tree_t.first_match(0, Direction::Ingress, p.t, p.itype, p.icode) !=
          tree_t.first_match_linear(0, Direction::Ingress, p.t, p.itype, p.icode)) {
        std::printf("MISMATCH at packet %zu\n", i);
        return 1;
      }
    }
    int64_t sink = 0, pos_sum = 0;
    for (const Packet& p : pk) pos_sum += tree_t.first_match(0, Direction::Ingress, p.t, p.itype, p.icode);
    const size_t tree_n = 4'000'000;
    const size_t lin_n = std::max<size_t>(20'000, size_t(4'000'000'000ull / (uint64_t(n) * 200 + 1000)));
    double tree_rate = lookups_per_sec(pk, tree_n, [&](const Packet& p) {
      return tree_t.first_match(0, Direction::Ingress, p.t, p.itype, p.icode);
    }, sink);
    double lin_rate = lookups_per_sec(pk, lin_n, [&](const Packet& p) {
      return lin_t.first_match(0, Direction::Ingress, p.t, p.itype, p.icode);
    }, sink);
    const auto& st = tree_t.tree_stats();
    std::printf("%8u %12.3g %12.3g %8.1f %10.3f %10.3f %9zu %7u %7u %7.0f %8u %7u%s\n", n, tree_rate, lin_rate, tree_rate / lin_rate,
                load_ms, lin_ms, tree_t.classifier_bytes() / 1024, st.max_depth, st.max_leaf, double(pos_sum) / double(pk.size()), st.leaf_entries, st.nodes, sink == 42 ? " " : "");
  }
  return 0;
}
