#include "core/huge_buffer.h"

#include <cstdint>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
#define SGFW_HUGE_BUFFER_PLAIN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SGFW_HUGE_BUFFER_PLAIN 1
#endif
#endif

namespace sgfw::core {

namespace {
[[maybe_unused]] constexpr size_t kHugePage = size_t{2} << 20;  // unused in the plain (ASan) build
}

bool HugeBuffer::allocate(size_t bytes) {
  reset();
  if (bytes == 0 || bytes > SIZE_MAX / 2) return false;
#if defined(__linux__) && !defined(SGFW_HUGE_BUFFER_PLAIN)
  const size_t whole = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  // One huge page extra, trimmed off again, so that the buffer starts on a 2 MiB boundary.
  void* m = mmap(nullptr, whole + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m != MAP_FAILED) {
    const uintptr_t base = reinterpret_cast<uintptr_t>(m);
    const uintptr_t start = (base + kHugePage - 1) & ~uintptr_t{kHugePage - 1};
    if (start > base) munmap(m, start - base);
    const uintptr_t end = base + whole + kHugePage;
    if (start + whole < end) munmap(reinterpret_cast<void*>(start + whole), end - start - whole);
    data_ = reinterpret_cast<uint8_t*>(start);
    madvise(data_, whole, MADV_HUGEPAGE);  // a hint: without it (or without THP) 4 KiB pages
    size_ = bytes;
    mapped_ = whole;
    return true;
  }
  // No mapping: the heap may still have room.
#endif
  data_ = new (std::nothrow) uint8_t[bytes]();
  if (data_ == nullptr) return false;
  size_ = bytes;
  return true;
}

void HugeBuffer::reset() {
#if defined(__linux__)
  if (mapped_) munmap(data_, mapped_);
  else delete[] data_;
#else
  delete[] data_;
#endif
  data_ = nullptr;
  size_ = mapped_ = 0;
}

}  // namespace sgfw::core
