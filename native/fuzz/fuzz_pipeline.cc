// libFuzzer target: the whole per-packet pipeline, engine::Engine::judge (parse, interface,
// fragments, related ICMP, conntrack, classify), over the fixed tables of fuzz_tables.h, with
// advancing timestamps, many packets per input, table swaps and expiry sweeps (input layout:
// fuzz_checks.h). Decisions and counters must keep the invariants of fuzz_checks.h.
#include <cstdio>
#include <cstdlib>

#include "fuzz/fuzz_checks.h"

namespace {
const sgfw::fuzz::PipelineHarness& harness() {
  static const sgfw::fuzz::PipelineHarness h;  // tables built and loaded once
  return h;
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (!harness().error().empty()) {
    std::fprintf(stderr, "fuzz_pipeline: %s\n", harness().error().c_str());
    std::abort();
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (const char* why = harness().run(data, size)) {
    std::fprintf(stderr, "fuzz_pipeline: invariant broken: %s\n", why);
    std::abort();
  }
  return 0;
}
