// HugeBuffer: an I/O buffer of fresh memory on a transparent huge page where the kernel gives one.
//
// Why: the first touch of a fresh 4 KiB page is a page fault, and on some virtual machines a
// fault costs far more than on bare metal (measured on this project's VMs with
// bench/native/page_touch.cc: ~14 µs a 4 KiB page, ~0.3 µs a 4 KiB page inside a huge page). The
// pcap reader's 576 KiB window took 144 such faults in every replay, inside the timed loop. One
// 2 MiB huge page holds it with one fault. The mapping is rounded up to whole 2 MiB.
//
// Under AddressSanitizer the buffer comes from new[] instead, so that the sanitizer still
// catches a read or write past its end (the rest of a huge page would hide one).
#pragma once

#include <cstddef>
#include <cstdint>

namespace sgfw::core {

class HugeBuffer {
 public:
  HugeBuffer() = default;
  ~HugeBuffer() { reset(); }
  HugeBuffer(const HugeBuffer&) = delete;
  HugeBuffer& operator=(const HugeBuffer&) = delete;

  // Drops any previous buffer and provides `bytes` (1 .. SIZE_MAX / 2) of zeroed memory. False
  // when out of memory or out of that range.
  bool allocate(size_t bytes);
  void reset();
  uint8_t* get() const { return data_; }
  size_t size() const { return size_; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t mapped_ = 0;  // bytes of the mapping at data_; 0: data_ came from new[]
};

}  // namespace sgfw::core
