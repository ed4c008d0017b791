// libFuzzer target: table::load_table on arbitrary bytes (seeded with valid blobs; a flag bit
// re-seals the crc32 so that mutations reach the record checks). A rejected blob must come
// back with a status and a message; an accepted one must classify inside its runs and agree
// with the linear reference (input layout and checks: fuzz_checks.h).
#include <cstdio>
#include <cstdlib>

#include "fuzz/fuzz_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (const char* why = sgfw::fuzz::check_table_loader(data, size)) {
    std::fprintf(stderr, "fuzz_table_loader: invariant broken: %s\n", why);
    std::abort();
  }
  return 0;
}
