#include "core/append_log.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sgfw {
namespace {
uint64_t mono_ns() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}
}  // namespace

bool AppendLog::open(const std::string& path, std::string_view header) {
  close();
  path_ = path;
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    error_ = path + ": " + std::strerror(errno);
    return false;
  }
  buf_.reset(new char[kBufferSize]);
  used_ = 0;
  struct stat st {};
  if (::fstat(fd_, &st) == 0 && st.st_size == 0 && !header.empty()) append(header);
  return true;
}

void AppendLog::append(std::string_view line) {
  std::lock_guard<std::mutex> g(mu_);
  if (fd_ < 0) return;
  if (used_ + line.size() > kBufferSize) flush_locked();
  if (line.size() > kBufferSize) return;  // a line never is; refuse rather than overflow
  std::memcpy(buf_.get() + used_, line.data(), line.size());
  used_ += line.size();
  if (mono_ns() - last_flush_ns_ > 1'000'000'000ull) flush_locked();
}

void AppendLog::flush_locked() {
  size_t off = 0;
  while (off < used_) {
    ssize_t n = ::write(fd_, buf_.get() + off, used_ - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      write_errors_++;
      error_ = path_ + ": " + std::strerror(errno);
      break;
    }
    off += static_cast<size_t>(n);
  }
  used_ = 0;
  last_flush_ns_ = mono_ns();
}

void AppendLog::flush() {
  std::lock_guard<std::mutex> g(mu_);
  if (fd_ >= 0) flush_locked();
}

void AppendLog::close() {
  std::lock_guard<std::mutex> g(mu_);
  if (fd_ < 0) return;
  flush_locked();
  ::close(fd_);
  fd_ = -1;
  buf_.reset();
}

}  // namespace sgfw
