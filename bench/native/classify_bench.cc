// Classification benchmark (bench/run.js runs it): lookups/s of the chosen classifier (the
// loader's Auto choice: the tree from kTreeMinEntries entries, linear below) against the linear
// scan, on ClassBench-style sets (classbench.h, profiles acl and fw) and on the tests' own
// generator (test/native/classifier_rulegen.h, profile "rulegen"); table build (load_table:
// validate + crc + build) and swap (publish to the workers' TableSlot) time per size.
// `--blob FILE` (profile "sg"): a table the controller compiled from a security-group policy
// (bench/gen-policy.ts, then test/fuzz/make-blob.mjs), its first interface's ingress run, with
// headers to that interface's addresses drawn from the run's own entries (see sg_headers).
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
#include <fstream>
#include <iterator>
#include <random>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "classbench.h"
#include "core/bytes.h"
#include "table/format.h"
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

// Headers for the first interface's ingress run of a compiled policy blob, read with format.h's
// offsets: 70 % inside a random entry of the run (its family, protocol, source prefix, ports,
// ICMP type), the rest from anywhere (TCP or UDP, a random source, a port under 1024 or any);
// the destination is one of the interface's addresses of the packet's family.
bool sg_headers(const std::vector<uint8_t>& b, uint64_t seed, std::vector<Header>& hs, uint32_t& run_len) {
  namespace F = table;
  if (b.size() < F::header::kSize) return false;
  const uint8_t* h = b.data();
  const uint32_t ifaces_off = load_le32(h + F::header::kInterfacesOff.off);
  const uint32_t addrs_off = load_le32(h + F::header::kAddressesOff.off);
  const uint32_t entries_off = load_le32(h + F::header::kEntriesOff.off);
  const uint32_t esize = load_le16(h + F::header::kEntryRecordSize.off);
  const uint8_t* i0 = h + ifaces_off;
  const uint32_t a_first = load_le32(i0 + F::iface::kAddrFirst.off), a_count = load_le32(i0 + F::iface::kAddrCount.off);
  const uint32_t e_first = load_le32(i0 + F::iface::kIngressFirst.off);
  run_len = load_le32(i0 + F::iface::kIngressCount.off);
  std::vector<std::pair<uint8_t, const uint8_t*>> addrs;  // family, 16 bytes
  for (uint32_t a = 0; a < a_count; a++) {
    const uint8_t* r = h + addrs_off + size_t{a_first + a} * F::kAddressRecordSize;
    addrs.emplace_back(r[F::address::kFamily.off], r + F::address::kAddr.off);
  }
  if (addrs.empty() || run_len == 0) return false;
  std::mt19937_64 rng(seed);
  auto pick_addr = [&](uint8_t fam) -> const uint8_t* {
    for (int k = 0; k < 8; k++) {
      const auto& a = addrs[rng() % addrs.size()];
      if (a.first == fam) return a.second;
    }
    return nullptr;
  };
  for (Header& x : hs) {
    for (;;) {
      x = Header{};
      Tuple& t = x.t;
      uint8_t src_len = 0;
      const uint8_t* src_prefix = nullptr;
      if (rng() % 100 < 70) {
        const uint8_t* e = h + entries_off + size_t{e_first + static_cast<uint32_t>(rng() % run_len)} * esize;
        const uint8_t fam = e[F::entry::kFamily.off];
        t.family = fam ? fam : (rng() & 1 ? 4 : 6);
        const uint8_t flags = e[F::entry::kFlags.off];
        t.proto = (flags & F::kFlagProtoAny) ? (rng() & 1 ? 6 : 17) : e[F::entry::kProto.off];
        src_len = e[F::entry::kSrcLen.off];
        src_prefix = e + F::entry::kSrc.off;
        auto in = [&](F::Field lo, F::Field hi) {
          const uint16_t a = load_le16(e + lo.off), z = load_le16(e + hi.off);
          return static_cast<uint16_t>(a + rng() % (uint32_t{z} - a + 1));
        };
        t.sport = in(F::entry::kSportLo, F::entry::kSportHi);
        t.dport = in(F::entry::kDportLo, F::entry::kDportHi);
        x.itype = (flags & F::kFlagIcmpTypeAny) ? static_cast<uint8_t>(rng()) : e[F::entry::kIcmpType.off];
        x.icode = (flags & F::kFlagIcmpCodeAny) ? static_cast<uint8_t>(rng()) : e[F::entry::kIcmpCode.off];
      } else {
        t.family = rng() % 5 ? 4 : 6;
        t.proto = rng() & 1 ? 6 : 17;
        t.sport = static_cast<uint16_t>(rng());
        t.dport = static_cast<uint16_t>(rng() & 1 ? rng() % 1024 : rng());
      }
      const uint8_t* dst = pick_addr(t.family);
      if (!dst) continue;  // the interface has no address of this family
      const int nbytes = t.family == 4 ? 4 : 16;
      for (int k = 0; k < nbytes; k++) t.src[k] = static_cast<uint8_t>(rng());
      for (int k = 0; k < src_len && k < nbytes * 8; k++) {  // the entry's prefix bits
        const uint8_t bit = 0x80 >> (k & 7);
        t.src[k / 8] = static_cast<uint8_t>((t.src[k / 8] & ~bit) | (src_prefix[k / 8] & bit));
      }
      std::memcpy(t.dst, dst, 16);
      if (t.proto == 1 || t.proto == 58) t.sport = t.dport = 0;  // ICMP: ports carry the identifier (0 here)
      break;
    }
  }
  return true;
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
  std::string blob_file;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--profile") profile = v;
    else if (k == "--runs") runs = std::max(1, std::atoi(v));
    else if (k == "--seconds") seconds = std::atof(v);
    else if (k == "--seed") seed = std::strtoull(v, nullptr, 10);
    else if (k == "--blob") blob_file = v, profile = "sg";
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
  if (profile != "acl" && profile != "fw" && profile != "rulegen" && profile != "sg") {
    std::fprintf(stderr, "profile must be acl, fw or rulegen (or --blob FILE)\n");
    return 2;
  }
  std::vector<uint8_t> sg_blob;
  if (profile == "sg") {
    std::ifstream f(blob_file, std::ios::binary);
    sg_blob.assign(std::istreambuf_iterator<char>(f), {});
    if (sg_blob.empty()) {
      std::fprintf(stderr, "%s: cannot read\n", blob_file.c_str());
      return 2;
    }
    sizes = {0};  // one table: the blob's
  }

  for (uint32_t n : sizes) {
    // Rule set and headers.
    test::BlobSpec spec;
    std::vector<Header> hs(1 << 14);
    uint32_t run_len = 0;
    if (profile == "sg") {
      if (!sg_headers(sg_blob, seed, hs, run_len)) {
        std::fprintf(stderr, "%s: no first interface with an ingress run and an address\n", blob_file.c_str());
        return 2;
      }
    } else if (profile == "rulegen") {
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
    const std::vector<uint8_t> blob = profile == "sg" ? sg_blob : test::build_blob(spec);
    if (profile != "sg") run_len = uint32_t(spec.ifaces[0].ingress.size());

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
    const uint32_t last = run_len - 1;  // the run's last entry: its default
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
        profile.c_str(), profile == "sg" ? chosen->rule_count() : n, size_t{run_len}, blob.size(), list(tree_rates).c_str(), list(lin_rates).c_str(),
        list(load_ms).c_str(), list(load_cpu_ms).c_str(), list(lin_load_ms).c_str(), list(swap_us).c_str(), double(chosen->classifier_bytes()) / 1024.0,
        st.max_depth, st.max_leaf, st.nodes, st.partitions, st.max_partitions, double(pos_sum) / double(hs.size()), double(matched) / double(hs.size()), tree_n,
        lin_n, static_cast<long long>(sink & 0xff));
    std::fflush(stdout);
  }
  return 0;
}
