#include "core/atomic_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace sgfw {

bool AtomicFile::open(const std::string& path) {
  abort();
  path_ = path;
  tmp_path_ = path + ".tmp-" + std::to_string(::getpid());
  fd_ = ::open(tmp_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    error_ = path + ": " + std::strerror(errno);
    return false;
  }
  buf_.reset(new char[kBufferSize]);
  used_ = 0;
  error_.clear();
  return true;
}

bool AtomicFile::flush() {
  size_t off = 0;
  while (off < used_) {
    ssize_t n = ::write(fd_, buf_.get() + off, used_ - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      error_ = path_ + ": " + std::strerror(errno);
      return false;
    }
    off += static_cast<size_t>(n);
  }
  used_ = 0;
  return true;
}

char* AtomicFile::reserve(size_t n) {
  if (fd_ < 0 || n > kBufferSize) return nullptr;
  if (used_ + n > kBufferSize && !flush()) return nullptr;
  return buf_.get() + used_;
}

bool AtomicFile::write(std::string_view s) {
  while (!s.empty()) {
    size_t chunk = s.size() < kBufferSize ? s.size() : kBufferSize;
    char* p = reserve(chunk);
    if (!p) return false;
    std::memcpy(p, s.data(), chunk);
    used_ += chunk;
    s.remove_prefix(chunk);
  }
  return true;
}

bool AtomicFile::commit() {
  if (fd_ < 0) return false;
  bool ok = flush();
  if (::close(fd_) != 0 && ok) {
    error_ = path_ + ": " + std::strerror(errno);
    ok = false;
  }
  fd_ = -1;
  if (ok && ::rename(tmp_path_.c_str(), path_.c_str()) != 0) {
    error_ = path_ + ": " + std::strerror(errno);
    ok = false;
  }
  if (!ok) ::unlink(tmp_path_.c_str());
  buf_.reset();
  return ok;
}

void AtomicFile::abort() {
  if (fd_ < 0) return;
  ::close(fd_);
  fd_ = -1;
  ::unlink(tmp_path_.c_str());
  buf_.reset();
}

}  // namespace sgfw
