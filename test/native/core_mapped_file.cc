// MappedFile: the file's bytes through a mapping, populate ahead, and a file cut short under the
// mapping read as zeros with the mapping marked cut, not a SIGBUS that ends the process; a
// SIGBUS from any other mapping still ends it.
#ifndef DOCTEST_CONFIG_NO_EXCEPTIONS_BUT_WITH_ALL_ASSERTS
#define DOCTEST_CONFIG_NO_EXCEPTIONS_BUT_WITH_ALL_ASSERTS  // the core builds with -fno-exceptions
#endif
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <string>

#include "capture_test_util.h"
#include "core/mapped_file.h"

using sgfw::core::MappedFile;
using namespace sgfw::capture::test;

namespace {
constexpr size_t kSize = 3 * 1024 * 1024 + 123;  // not a whole number of pages

int open_file_of(const std::string& path, size_t size) {
  if (!write_file(path, payload(size, 5))) return -1;
  return ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
}
}  // namespace

TEST_CASE("mapped file: the bytes of the file, populated or faulted in") {
  TempDir dir;
  const std::string path = dir.file("m.bin");
  const int fd = open_file_of(path, kSize);
  REQUIRE(fd >= 0);
  MappedFile m;
  std::string error;
  REQUIRE(m.map(fd, kSize, &error));
  CHECK(m.size() == kSize);
  CHECK(m.populate(1 << 20, 1 << 20));
  CHECK(m.populate(kSize - 10, 1 << 20));  // clamped to the end
  CHECK(m.populate(kSize + 4096, 10));     // past the end: nothing to do
  const Bytes want = payload(kSize, 5);
  bool same = true;
  for (size_t i = 0; i < kSize; ++i) same &= m.data()[i] == want[i];
  CHECK(same);
  CHECK_FALSE(m.cut());
  m.unmap();
  CHECK_FALSE(m.mapped());
  CHECK_FALSE(m.cut());
  ::close(fd);
}

TEST_CASE("mapped file: cut short under the mapping, it reads zeros and says so") {
  TempDir dir;
  const std::string path = dir.file("cut.bin");
  for (bool by_populate : {false, true}) {
    CAPTURE(by_populate);
    const int fd = open_file_of(path, kSize);
    REQUIRE(fd >= 0);
    MappedFile m;
    REQUIRE(m.map(fd, kSize, nullptr));
    REQUIRE(m.populate(0, kSize));
    REQUIRE(ftruncate(open(path.c_str(), O_WRONLY | O_CLOEXEC), 100000) == 0);
    if (by_populate) {
      // The kernel answers a populate past the new end with EFAULT: the mapping is cut
      // before anything is touched.
      CHECK_FALSE(m.populate(2 << 20, 4096));
      CHECK(m.cut());
    }
    // A touch past the new end, page by page: the first one raises SIGBUS, the handler maps
    // zeros over the rest, and the walk goes on.
    uint64_t past = 0;
    for (size_t i = 200000; i < kSize; i += 4096) past += m.data()[i];
    CHECK(past == 0);
    CHECK(m.cut());
    CHECK(m.data()[10] == payload(11, 5)[10]);  // before the cut: still the file
    m.unmap();
    ::close(fd);
  }
}

TEST_CASE("mapped file: a SIGBUS from a mapping that is not ours still ends the process") {
  TempDir dir;
  const std::string ours = dir.file("ours.bin"), other = dir.file("other.bin");
  const int fd = open_file_of(ours, kSize);
  REQUIRE(fd >= 0);
  MappedFile m;
  REQUIRE(m.map(fd, kSize, nullptr));  // the handler is installed by now
  const int ofd = open_file_of(other, 8192);
  REQUIRE(ofd >= 0);
  void* p = mmap(nullptr, 8192, PROT_READ, MAP_PRIVATE, ofd, 0);
  REQUIRE(p != MAP_FAILED);
  REQUIRE(truncate(other.c_str(), 0) == 0);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The handler, inherited with `m`, passes the fault to the disposition it replaced (the
    // default, as doctest handles no SIGBUS; AddressSanitizer's in its builds), which ends the
    // child. Going on would be the bug.
    volatile uint8_t v = static_cast<const uint8_t*>(p)[4096];
    (void)v;
    _exit(0);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  // Killed by the signal; under AddressSanitizer, whose handler was the previous one, its report
  // and exit status 1.
  CAPTURE(status);
  CHECK_FALSE((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  if (WIFSIGNALED(status)) CHECK(WTERMSIG(status) == SIGBUS);
  munmap(p, 8192);
  ::close(ofd);
  ::close(fd);
}
