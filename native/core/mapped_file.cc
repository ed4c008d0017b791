#include "core/mapped_file.h"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22  // Linux 5.14
#endif

namespace sgfw::core {

namespace {

// One live mapping as the SIGBUS handler sees it. Lock-free atomics only: the handler may run
// at any instruction of the owner thread.
struct Guard {
  std::atomic<bool> used{false};
  std::atomic<uintptr_t> begin{0};  // 0 while the entry is free or being filled in
  std::atomic<uintptr_t> end{0};
  std::atomic<bool> cut{false};
};
static_assert(std::atomic<uintptr_t>::is_always_lock_free && std::atomic<bool>::is_always_lock_free);

Guard g_guards[MappedFile::kMaxLive];
struct sigaction g_previous;  // the disposition the handler replaced, for faults not ours
uintptr_t g_page = 4096;
std::once_flag g_install_once;
int g_install_errno = 0;  // sigaction's errno when it failed, 0 once installed

void on_sigbus(int sig, siginfo_t* info, void* ctx) {
  const uintptr_t addr = reinterpret_cast<uintptr_t>(info->si_addr);
  for (Guard& g : g_guards) {
    const uintptr_t b = g.begin.load(std::memory_order_acquire);
    if (b == 0 || addr < b || addr >= g.end.load(std::memory_order_acquire)) continue;
    // Ours: zeros over the rest of the mapping, then the touch is retried and reads them.
    const uintptr_t from = addr & ~(g_page - 1);
    void* z = mmap(reinterpret_cast<void*>(from), g.end.load(std::memory_order_relaxed) - from, PROT_READ,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (z != MAP_FAILED) {
      g.cut.store(true, std::memory_order_release);
      return;
    }
    break;  // cannot repair it: as if it were not ours
  }
  if (g_previous.sa_flags & SA_SIGINFO) {
    g_previous.sa_sigaction(sig, info, ctx);
    return;
  }
  if (g_previous.sa_handler == SIG_DFL || g_previous.sa_handler == SIG_IGN) {
    // The default action: the faulting instruction runs again and the signal ends the process
    // (an ignored SIGBUS from a fault would only repeat forever).
    signal(SIGBUS, SIG_DFL);
    return;
  }
  g_previous.sa_handler(sig);
}

void install() {
  g_page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sigbus;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  g_install_errno = sigaction(SIGBUS, &sa, &g_previous) == 0 ? 0 : errno;
}

}  // namespace

bool MappedFile::map(int fd, uint64_t size, std::string* error) {
  unmap();
  std::call_once(g_install_once, install);
  if (g_install_errno != 0) {
    if (error) *error = std::string("cannot install the SIGBUS handler: ") + std::strerror(g_install_errno);
    return false;
  }
  if (size == 0 || size > SIZE_MAX / 2) {
    if (error) *error = "cannot map " + std::to_string(size) + " bytes";
    return false;
  }
  int slot = -1;
  for (int i = 0; i < kMaxLive && slot < 0; ++i) {
    bool expected = false;
    if (g_guards[i].used.compare_exchange_strong(expected, true)) slot = i;
  }
  if (slot < 0) {
    if (error) *error = "more than " + std::to_string(kMaxLive) + " files mapped at once";
    return false;
  }
  const size_t span = static_cast<size_t>((size + g_page - 1) / g_page * g_page);
  void* m = mmap(nullptr, span, PROT_READ, MAP_PRIVATE, fd, 0);
  if (m == MAP_FAILED) {
    if (error) *error = std::string("mmap: ") + std::strerror(errno);
    g_guards[slot].used.store(false);
    return false;
  }
  madvise(m, span, MADV_SEQUENTIAL);  // a hint: earlier pages may go first under pressure
  Guard& g = g_guards[slot];
  g.cut.store(false, std::memory_order_relaxed);
  g.end.store(reinterpret_cast<uintptr_t>(m) + span, std::memory_order_release);
  g.begin.store(reinterpret_cast<uintptr_t>(m), std::memory_order_release);
  data_ = static_cast<uint8_t*>(m);
  size_ = size;
  span_ = span;
  guard_ = slot;
  cut_ = &g.cut;
  return true;
}

void MappedFile::unmap() {
  if (data_ == nullptr) return;
  Guard& g = g_guards[guard_];
  g.begin.store(0, std::memory_order_release);
  g.end.store(0, std::memory_order_release);
  munmap(data_, span_);
  g.used.store(false, std::memory_order_release);
  data_ = nullptr;
  size_ = 0;
  span_ = 0;
  guard_ = -1;
  cut_ = nullptr;
}

bool MappedFile::populate(uint64_t offset, uint64_t len) {
  if (data_ == nullptr || offset >= size_) return true;
  if (len > size_ - offset) len = size_ - offset;
  const uint64_t from = offset / g_page * g_page;
  if (madvise(data_ + from, static_cast<size_t>(offset + len - from), MADV_POPULATE_READ) == 0) return true;
  // EINVAL: a kernel before 5.14 (the touches fault the pages in instead); ENOMEM, EAGAIN:
  // the same. EFAULT: the range would raise SIGBUS, the file no longer covers it.
  if (errno != EFAULT) return true;
  g_guards[guard_].cut.store(true, std::memory_order_release);
  return false;
}

}  // namespace sgfw::core
