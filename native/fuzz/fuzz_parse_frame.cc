// libFuzzer target: wire::parse_frame over every link type (input layout: fuzz_checks.h).
// The frame sits in an exact-size heap buffer, so ASan reports any read past the capture;
// the PacketMeta invariants of fuzz_checks.h must hold for every result.
#include <cstdio>
#include <cstdlib>

#include "fuzz/fuzz_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (const char* why = sgfw::fuzz::check_parse_frame(data, size)) {
    std::fprintf(stderr, "fuzz_parse_frame: invariant broken: %s\n", why);
    std::abort();
  }
  return 0;
}
