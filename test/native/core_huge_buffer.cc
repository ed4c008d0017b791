// HugeBuffer: zeroed memory of the size asked for, writable end to end, released and reusable;
// outside AddressSanitizer builds, on a 2 MiB boundary so that a huge page can back it.
#ifndef DOCTEST_CONFIG_NO_EXCEPTIONS_BUT_WITH_ALL_ASSERTS
#define DOCTEST_CONFIG_NO_EXCEPTIONS_BUT_WITH_ALL_ASSERTS  // the core builds with -fno-exceptions
#endif
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>

#include "core/huge_buffer.h"

using sgfw::core::HugeBuffer;

namespace {

bool asan_build() {
#if defined(__SANITIZE_ADDRESS__)
  return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  return true;
#else
  return false;
#endif
#else
  return false;
#endif
}

}  // namespace

TEST_CASE("HugeBuffer: zeroed, writable end to end, aligned where mapped") {
  HugeBuffer b;
  CHECK(b.get() == nullptr);
  CHECK(b.size() == 0);
  for (size_t bytes : {size_t{1}, size_t{576} * 1024, (size_t{2} << 20) + 1}) {
    CAPTURE(bytes);
    REQUIRE(b.allocate(bytes));
    REQUIRE(b.get() != nullptr);
    CHECK(b.size() == bytes);
    bool zero = true;
    for (size_t i = 0; i < bytes; i += 997) zero = zero && b.get()[i] == 0;
    CHECK(zero);
    CHECK(b.get()[bytes - 1] == 0);
    std::memset(b.get(), 0xab, bytes);
    CHECK(b.get()[0] == 0xab);
    CHECK(b.get()[bytes - 1] == 0xab);
#if defined(__linux__)
    if (!asan_build()) CHECK(reinterpret_cast<uintptr_t>(b.get()) % (uintptr_t{2} << 20) == 0);
#endif
  }
  // A new allocation replaces the old one and is zeroed again.
  REQUIRE(b.allocate(4096));
  CHECK(b.get()[0] == 0);
  b.reset();
  CHECK(b.get() == nullptr);
  CHECK(b.size() == 0);
  b.reset();  // twice is harmless
}

TEST_CASE("HugeBuffer: zero bytes is refused") {
  HugeBuffer b;
  CHECK_FALSE(b.allocate(0));
  CHECK(b.get() == nullptr);
}
