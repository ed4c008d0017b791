// PcapWriter: buffered classic pcap output, renamed into place on close (pcap_writer.h).
#include "capture/pcap_writer.h"

#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace sgfw::capture {

namespace {

constexpr uint32_t kPcapNanoMagic = 0xa1b23c4d;
constexpr size_t kHeaderLen = 24;
constexpr size_t kRecordHeaderLen = 16;
constexpr uint64_t kNsPerSec = 1000000000u;

// Distinguishes temporary files of writers in one process (--write-accepted and
// --write-dropped may name the same directory, or even the same file).
std::atomic<uint32_t> g_temp_counter{0};

void put16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }
void put32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }

}  // namespace

bool PcapWriter::open(const char* path, uint32_t link_type, uint32_t snaplen) {
  abort();
  error_.clear();
  path_ = path;
  records_ = 0;
  if (snaplen == 0) snaplen = kMaxCaplen;
  if (snaplen > kMaxCaplen) return fail("snaplen %u exceeds the limit of %u bytes", snaplen, kMaxCaplen);
  link_type_ = link_type;
  snaplen_ = snaplen;
  if (!buf_.allocate(kBufferSize)) return fail("cannot allocate the %zu-byte write buffer", kBufferSize);

  // O_EXCL on a fresh name: never write through someone else's file or symlink. Mode 0666 so
  // the result gets the usual umask-derived permissions, like any file the user creates.
  for (int attempt = 0; attempt < 100 && fd_ < 0; ++attempt) {
    char suffix[64];
    std::snprintf(suffix, sizeof suffix, ".part-%ld-%u", static_cast<long>(getpid()),
                  g_temp_counter.fetch_add(1, std::memory_order_relaxed));
    tmp_path_ = path_ + suffix;
    fd_ = ::open(tmp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ < 0 && errno != EEXIST) return fail("cannot create %s: %s", tmp_path_.c_str(), std::strerror(errno));
  }
  if (fd_ < 0) return fail("cannot create a temporary file beside it");

  uint8_t* h = buf_.get();
  put32(h, kPcapNanoMagic);
  put16(h + 4, 2);  // version 2.4
  put16(h + 6, 4);
  put32(h + 8, 0);   // thiszone: timestamps are UTC
  put32(h + 12, 0);  // sigfigs
  put32(h + 16, snaplen_);
  put32(h + 20, link_type_);
  used_ = kHeaderLen;
  return true;
}

bool PcapWriter::write(const Record& r) {
  if (fd_ < 0) return failed() ? false : fail("write after close");
  if (r.link_type != link_type_)
    return fail("record %llu has link type %u, the file was opened for link type %u",
                static_cast<unsigned long long>(r.index), r.link_type, link_type_);
  const uint64_t sec = r.ts_ns / kNsPerSec;
  if (sec > UINT32_MAX)
    return fail("record %llu: timestamp %llu s does not fit a pcap file (after 2106)",
                static_cast<unsigned long long>(r.index), static_cast<unsigned long long>(sec));
  const uint32_t caplen = r.caplen < snaplen_ ? r.caplen : snaplen_;
  // snaplen_ <= kMaxCaplen, far below kBufferSize: one flush always makes room.
  if (kBufferSize - used_ < kRecordHeaderLen + caplen && !flush()) return false;
  uint8_t* p = buf_.get() + used_;
  put32(p, static_cast<uint32_t>(sec));
  put32(p + 4, static_cast<uint32_t>(r.ts_ns % kNsPerSec));
  put32(p + 8, caplen);
  put32(p + 12, r.wirelen);
  if (caplen != 0) std::memcpy(p + kRecordHeaderLen, r.data, caplen);  // data may be null when empty
  used_ += kRecordHeaderLen + caplen;
  ++records_;
  return true;
}

bool PcapWriter::flush() {
  const uint8_t* p = buf_.get();
  size_t left = used_;
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("write failed: %s", std::strerror(errno));
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  used_ = 0;
  return true;
}

bool PcapWriter::close() {
  if (fd_ < 0) return failed() ? false : fail("close of a writer that is not open");
  if (!flush()) return false;
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {  // deferred write errors (NFS, quotas) surface here
    const int e = errno;
    unlink(tmp_path_.c_str());
    return fail("write failed: %s", std::strerror(e));
  }
  if (rename(tmp_path_.c_str(), path_.c_str()) != 0) {
    const int e = errno;
    unlink(tmp_path_.c_str());
    return fail("cannot rename %s into place: %s", tmp_path_.c_str(), std::strerror(e));
  }
  buf_.reset();
  used_ = 0;
  return true;
}

void PcapWriter::abort() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
    unlink(tmp_path_.c_str());
  }
  buf_.reset();
  used_ = 0;
}

bool PcapWriter::fail(const char* fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  error_ = path_ + ": " + msg;
  abort();
  return false;
}

}  // namespace sgfw::capture
