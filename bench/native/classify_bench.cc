// Classification benchmark (bench/run.js runs it): lookups/s of the chosen classifier (the
// loader's Auto choice: the tree from kTreeMinEntries entries, linear below) against the linear
// scan, on ClassBench-style sets (classbench.h, profiles acl and fw) and on the tests' own
// generator (test/native/classifier_rulegen.h, profile "rulegen"); table build (load_table:
// validate + crc + build) and swap (publish to the workers' TableSlot) time per size.
// Measurement loop folded from bench/classifier_bench.cc (its author's logic: a power-of-two
// ring of headers, the tree checked against the linear scan first, a sink against dead code).
//
//   bench/out/bin/classify-bench --profile acl --sizes 10,100,1000,10000 --runs 5 --seconds 0.15
//
// Prints one JSON object per size on stdout. Rates use this thread's CPU time, so time spent
// descheduled on a shared machine does not count against the classifier.
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "classbench.h"
#include "classifier_rulegen.h"
#include "engine/table_slot.h"
#include "table/loader.h"

using namespace sgfw;

namespace {

struct Header {
  Tuple t;
  uint8_t itype, icode;
};

double cpu_now() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}
double wall_now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

template <class F>
double rate(const std::vector<Header>& h, size_t count, F&& f, int64_t& sink) {
  const size_t mask = h.size() - 1;  // a power of two
  const double t0 = cpu_now();
  for (size_t i = 0; i < count; i++) sink += f(h[i & mask]);
  const double dt = cpu_now() - t0;
  return double(count) / std::max(dt, 1e-9);
}

std::string list(const std::vector<double>& v) {
  std::string s = "[";
  char buf[64];
  for (size_t i = 0; i < v.size(); i++) {
    std::snprintf(buf, sizeof buf, "%s%.6g", i ? "," : "", v[i]);
    s += buf;
  }
  return s + "]";
}

}  // namespace

int main(int argc, char** argv) {
  std::string profile = "acl";
  std::vector<uint32_t> sizes = {10, 100, 1000, 10000};
  int runs = 5;
  double seconds = 0.15;
  uint64_t seed = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--profile") profile = v;
    else if (k == "--runs") runs = std::max(1, std::atoi(v));
    else if (k == "--seconds") seconds = std::atof(v);
    else if (k == "--seed") seed = std::strtoull(v, nullptr, 10);
    else if (k == "--sizes") {
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
  if (profile != "acl" && profile != "fw" && profile != "rulegen") {
    std::fprintf(stderr, "profile must be acl, fw or rulegen\n");
    return 2;
  }

  for (uint32_t n : sizes) {
    // Rule set and headers.
    test::BlobSpec spec;
    std::vector<Header> hs(1 << 14);
    if (profile == "rulegen") {
      test::RuleGen g(42 + n + seed);  // bench/classifier_bench.cc's seeds, moved by --seed
      spec = test::random_table(g, n, 4);
      const auto& run = spec.ifaces[0].ingress;
      for (Header& h : hs) {
        const test::BEntry* e = g.chance(70) ? &run[g.below(uint32_t(run.size()))] : nullptr;
        g.packet(e, h.t, h.itype, h.icode);
      }
    } else {
      bench::ClassBench g(profile == "acl" ? bench::acl_profile() : bench::fw_profile(), seed * 1000003 + n);
      spec = g.table(n);
      for (Header& h : hs) g.header(spec.ifaces[0].ingress, h.t, h.itype, h.icode);
    }
    const std::vector<uint8_t> blob = test::build_blob(spec);

    // Build (load) and swap times, each run; the last tables are the ones measured.
    std::vector<double> load_ms, load_cpu_ms, lin_load_ms, swap_us;
    std::shared_ptr<table::MatchTable> chosen, linear;
    engine::TableSlot slot;
    for (int r = 0; r < runs; r++) {
      auto t = std::make_shared<table::MatchTable>();
      double t0 = wall_now();
      const double c0 = cpu_now();
      const table::LoadResult res = table::load_table(blob.data(), blob.size(), *t);
      load_cpu_ms.push_back((cpu_now() - c0) * 1e3);  // this thread's CPU: load on the machine does not count
      load_ms.push_back((wall_now() - t0) * 1e3);
      if (!res.ok()) {
        std::fprintf(stderr, "load failed: %s\n", res.message.c_str());
        return 1;
      }
      auto l = std::make_shared<table::MatchTable>();
      t0 = wall_now();
      table::load_table(blob.data(), blob.size(), *l, {table::ClassifierChoice::Linear});
      lin_load_ms.push_back((wall_now() - t0) * 1e3);
      // Swap: publish to the slot the workers poll, and one worker's pickup of it.
      t0 = wall_now();
      slot.publish(t);
      uint32_t gen = 0;
      std::shared_ptr<const table::MatchTable> got = slot.get(&gen);
      swap_us.push_back((wall_now() - t0) * 1e6);
      if (got.get() != t.get()) return 1;
      chosen = t;
      linear = l;
    }

    // The chosen classifier must agree with the linear scan before its speed means anything.
    int64_t sink = 0, pos_sum = 0, matched = 0;
    const uint32_t last = uint32_t(spec.ifaces[0].ingress.size()) - 1;
    for (const Header& h : hs) {
      const int32_t a = chosen->first_match(0, Direction::Ingress, h.t, h.itype, h.icode);
      const int32_t b = linear->first_match(0, Direction::Ingress, h.t, h.itype, h.icode);
      if (a != b) {
        std::fprintf(stderr, "MISMATCH: chosen %d, linear %d (profile %s, %u rules)\n", a, b, profile.c_str(), n);
        return 1;
      }
      pos_sum += a;
      if (a >= 0 && uint32_t(a) != last) matched++;
    }

    auto lookup_tree = [&](const Header& h) { return chosen->first_match(0, Direction::Ingress, h.t, h.itype, h.icode); };
    auto lookup_lin = [&](const Header& h) { return linear->first_match(0, Direction::Ingress, h.t, h.itype, h.icode); };
    // Calibrate counts to about `seconds` each; warm the caches on the way.
    const double tree_est = rate(hs, hs.size(), lookup_tree, sink);
    const double lin_est = rate(hs, std::min<size_t>(hs.size(), 4096), lookup_lin, sink);
    const size_t tree_n = std::max<size_t>(hs.size(), size_t(tree_est * seconds));
    const size_t lin_n = std::max<size_t>(2048, size_t(lin_est * seconds));
    std::vector<double> tree_rates, lin_rates;
    for (int r = 0; r < runs; r++) {  // interleaved, so drift on the machine hits both
      tree_rates.push_back(rate(hs, tree_n, lookup_tree, sink));
      lin_rates.push_back(rate(hs, lin_n, lookup_lin, sink));
    }
    const auto& st = chosen->tree_stats();
    std::printf(
        "{\"profile\":\"%s\",\"rules\":%u,\"entries\":%zu,\"blobBytes\":%zu,\"chosen\":%s,\"linear\":%s,"
        "\"loadMs\":%s,\"loadCpuMs\":%s,\"linearLoadMs\":%s,\"swapUs\":%s,\"classifierKiB\":%.1f,\"treeDepth\":%u,\"maxLeaf\":%u,"
        "\"nodes\":%u,\"partitions\":%u,\"maxPartitions\":%u,\"avgMatchIndex\":%.1f,\"matchedShare\":%.3f,\"treeLookups\":%zu,\"linearLookups\":%zu,\"sink\":%lld}\n",
        profile.c_str(), n, spec.ifaces[0].ingress.size(), blob.size(), list(tree_rates).c_str(), list(lin_rates).c_str(),
        list(load_ms).c_str(), list(load_cpu_ms).c_str(), list(lin_load_ms).c_str(), list(swap_us).c_str(), double(chosen->classifier_bytes()) / 1024.0,
        st.max_depth, st.max_leaf, st.nodes, st.partitions, st.max_partitions, double(pos_sum) / double(hs.size()), double(matched) / double(hs.size()), tree_n,
        lin_n, static_cast<long long>(sink & 0xff));
    std::fflush(stdout);
  }
  return 0;
}
