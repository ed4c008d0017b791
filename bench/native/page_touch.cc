// What the first touch of fresh memory costs on this machine: anonymous memory written one byte
// per 4 KiB page, in 4 KiB pages (MADV_NOHUGEPAGE) and in transparent huge pages (2 MiB aligned,
// MADV_HUGEPAGE). Every process start pays this for the memory it touches (node's heap, the
// table, the flow table), and some virtual machines pay far more per fault than bare metal, so the
// replay section reports it beside the page faults of each whole-process run.
//
//   page-touch [--mib N] [--rounds R]
//
// Prints one JSON line: medians over R rounds (default 5) of N MiB (default 16) each,
//   {"mib":16,"rounds":5,"smallUsPerPage":..,"hugeUsPerPage":..,"hugeTook":true}
// where ..UsPerPage is wall µs per 4 KiB page touched (map, touch, unmap), and hugeTook says
// whether the kernel gave huge pages (AnonHugePages of the mapping, /proc/self/smaps).
#include <sys/mman.h>
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

constexpr size_t kPage = 4096;
constexpr size_t kHuge = size_t{2} << 20;

double mono_us() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return double(ts.tv_sec) * 1e6 + double(ts.tv_nsec) * 1e-3;
}

// AnonHugePages (kB) of the mapping that contains `p`, from /proc/self/smaps; -1 if unreadable.
long anon_huge_kb(const void* p) {
  FILE* f = std::fopen("/proc/self/smaps", "r");
  if (f == nullptr) return -1;
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  char line[512];
  bool in = false;
  long kb = -1;
  while (std::fgets(line, sizeof line, f)) {
    unsigned long lo = 0, hi = 0;
    if (std::sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && std::strchr(line, '-') < std::strchr(line, ' ')) {
      in = a >= lo && a < hi;
      continue;
    }
    if (in && std::sscanf(line, "AnonHugePages: %ld kB", &kb) == 1) break;
  }
  std::fclose(f);
  return kb;
}

// One round: map `bytes` (2 MiB aligned), advise, write one byte per 4 KiB page, unmap.
// Returns µs per page; *huge_kb gets the mapping's AnonHugePages before the unmap.
double touch(size_t bytes, bool huge, long* huge_kb) {
  const double t0 = mono_us();
  uint8_t* m = static_cast<uint8_t*>(
      mmap(nullptr, bytes + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (m == MAP_FAILED) return -1;
  uint8_t* p = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(m) + kHuge - 1) & ~uintptr_t{kHuge - 1});
  madvise(p, bytes, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
  for (size_t i = 0; i < bytes; i += kPage) p[i] = 1;
  const double t1 = mono_us();
  if (huge_kb) *huge_kb = anon_huge_kb(p);
  const double t2 = mono_us();
  munmap(m, bytes + kHuge);
  const double t3 = mono_us();
  return ((t1 - t0) + (t3 - t2)) / double(bytes / kPage);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  long mib = 16, rounds = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--mib") == 0) mib = std::strtol(argv[i + 1], nullptr, 10);
    else if (std::strcmp(argv[i], "--rounds") == 0) rounds = std::strtol(argv[i + 1], nullptr, 10);
  }
  if (mib < 2 || mib > 1024 || rounds < 1 || rounds > 100) {
    std::fprintf(stderr, "usage: page-touch [--mib 2..1024] [--rounds 1..100]\n");
    return 1;
  }
  const size_t bytes = size_t(mib) << 20;
  std::vector<double> small, big;
  bool took = false;
  for (long r = 0; r < rounds; r++) {
    const double s = touch(bytes, false, nullptr);
    long kb = 0;
    const double h = touch(bytes, true, &kb);
    if (s < 0 || h < 0) {
      std::fprintf(stderr, "page-touch: mmap of %ld MiB failed\n", mib);
      return 1;
    }
    small.push_back(s);
    big.push_back(h);
    took = took || kb > 0;
  }
  std::printf("{\"mib\":%ld,\"rounds\":%ld,\"smallUsPerPage\":%.4f,\"hugeUsPerPage\":%.4f,\"hugeTook\":%s}\n", mib, rounds,
              median(small), median(big), took ? "true" : "false");
  return 0;
}
