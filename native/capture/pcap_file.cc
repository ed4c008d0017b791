// PcapFile: opening, the classic pcap format and error reporting. pcapng is in pcapng_file.cc.
#include "capture/pcap_file.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/pcapng_file.h"

namespace sgfw::capture {

namespace {

// Classic pcap magics as read in host order from the first 4 bytes.
constexpr uint32_t kPcapMicro = 0xa1b2c3d4;
constexpr uint32_t kPcapNano = 0xa1b23c4d;
constexpr uint32_t kPcapKuznetsov = 0xa1b2cd34;  // "modified" pcap, 24-byte record headers
constexpr size_t kPcapHeaderLen = 24;
constexpr size_t kPcapRecordHeaderLen = 16;
static_assert(kPcapRecordHeaderLen + kMaxCaplen <= kMaxBlockLen);

// A snapshot length some writers under-declare (their records are longer than the header says,
// and libpcap reads them); below it the header's snaplen is not trusted as a bound.
constexpr uint32_t kTrustedSnaplen = 65535;

uint32_t load_host32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Reads `len` bytes at `off` into dst, retrying interrupted and partial reads. Returns how many
// it read: all of them, or fewer where the file ends (*err 0) or a read fails (*err its errno).
size_t pread_full(int fd, uint8_t* dst, size_t len, uint64_t off, int* err) {
  size_t got = 0;
  *err = 0;
  while (got < len) {
    const ssize_t n = pread(fd, dst + got, len - got, static_cast<off_t>(off + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) *err = errno;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  return got;
}

}  // namespace

bool PcapFile::open(const char* path, ReadMode mode) {
  close();
  path_ = path;
  error_.clear();
  index_ = 0;
  if (open_file(path, mode)) return true;
  close();  // keeps error_
  return false;
}

bool PcapFile::open_file(const char* path, ReadMode mode) {
  fd_ = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) return fail("%s", std::strerror(errno));
  struct stat st;
  if (fstat(fd_, &st) != 0) return fail("%s", std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return fail("not a regular file");
  file_size_ = static_cast<uint64_t>(st.st_size);
  if (file_size_ == 0) return fail("empty file");
  posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);  // deeper readahead; a hint only
  window_offset_ = 0;
  bool mapped = false;
  if (mode == ReadMode::Map || (mode == ReadMode::Auto && file_size_ >= kMapMinBytes)) {
    std::string why;
    mapped = map_.map(fd_, file_size_, &why) && (mode == ReadMode::Map || mapping_pays());
    if (!mapped && mode == ReadMode::Map) return fail("%s", why.c_str());
    if (!mapped) map_.unmap();
  }
  if (mapped) {
    buf_.reset();  // allocated by mapping_pays(), not needed any more
    base_ = cur_ = map_.data();
    end_ = base_ + file_size_;
    populated_ = 0;
  } else {
    if (!buf_.get() && !buf_.allocate(kBufferSize))
      return fail("cannot allocate the %zu-byte read window", kBufferSize);
    base_ = cur_ = end_ = buf_.get();
  }

  if (fill(4) != Fill::Ok) {
    if (failed()) return false;
    return fail("file of %llu bytes is too short for a pcap or pcapng header",
                static_cast<unsigned long long>(file_size_));
  }
  const uint32_t magic = load_host32(cur_);
  if (magic == kPcapMicro || magic == kPcapNano || magic == __builtin_bswap32(kPcapMicro) ||
      magic == __builtin_bswap32(kPcapNano))
    return open_pcap(magic);
  if (magic == kPcapngBlockShb) return open_pcapng();
  if (magic == kPcapKuznetsov || magic == __builtin_bswap32(kPcapKuznetsov))
    return fail("unsupported modified (Kuznetsov) pcap format, magic 0x%08x", magic);
  return fail("not a pcap or pcapng file (magic 0x%02x%02x%02x%02x)", cur_[0], cur_[1], cur_[2], cur_[3]);
}

void PcapFile::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buf_.reset();
  map_.unmap();
  base_ = cur_ = end_ = nullptr;
  populated_ = 0;
  window_offset_ = file_size_ = 0;
  mode_ = Mode::Done;
  format_ = TraceFormat::None;
  no_refill_ = false;
  link_type_ = snaplen_ = 0;
  interfaces_.clear();
  last_ts_ns_ = 0;
}

// Makes `need` (<= kMaxBlockLen) bytes available at cur_: slides what is left of the window to
// the front of the buffer and reads up to kReadChunk of the file behind it (more when `need`
// asks for it). A mapped file is all in the window: Ok or Short.
PcapFile::Fill PcapFile::fill(size_t need) {
  const size_t avail = static_cast<size_t>(end_ - cur_);
  if (avail >= need) return Fill::Ok;
  if (file_left() < need) return Fill::Short;
  if (no_refill_) return Fill::Blocked;
  uint8_t* buf = buf_.get();
  std::memmove(buf, cur_, avail);
  window_offset_ = offset();
  cur_ = buf;
  end_ = buf + avail;
  uint64_t want = file_size_ - window_offset_ - avail;
  if (want > kBufferSize - avail) want = kBufferSize - avail;
  if (want > kReadChunk && need <= avail + kReadChunk) want = kReadChunk;
  int err;
  const size_t got = pread_full(fd_, buf + avail, want, window_offset_ + avail, &err);
  end_ = buf + avail + got;
  if (got < want) {
    // The size was taken at open(): a file cut short since, or an I/O error.
    const uint64_t at = window_offset_ + avail + got;
    if (err == 0)
      fail_shrank(at);
    else
      fail("read failed at offset %llu: %s", static_cast<unsigned long long>(at), std::strerror(err));
    return Fill::Short;
  }
  return Fill::Ok;
}

// Moves past n bytes (n <= file_left()) without reading what is not read yet.
void PcapFile::skip(uint64_t n) {
  const size_t avail = static_cast<size_t>(end_ - cur_);
  if (n <= avail) {
    cur_ += n;
    return;
  }
  window_offset_ = offset() + n;
  cur_ = end_ = base_;
}

bool PcapFile::open_pcap(uint32_t magic) {
  format_ = TraceFormat::Pcap;
  if (fill(kPcapHeaderLen) != Fill::Ok) {
    if (failed()) return false;
    return fail("truncated pcap file header (%llu of %zu bytes)", static_cast<unsigned long long>(file_size_),
                kPcapHeaderLen);
  }
  const bool swapped = magic != kPcapMicro && magic != kPcapNano;
  frac_mul_ = (magic == kPcapNano || magic == __builtin_bswap32(kPcapNano)) ? 1 : 1000;
  auto ld16 = [&](size_t off) {
    uint16_t v;
    std::memcpy(&v, cur_ + off, 2);
    return swapped ? __builtin_bswap16(v) : v;
  };
  const uint16_t major = ld16(4), minor = ld16(6);
  if (major != 2) return fail("unsupported pcap version %u.%u (only 2.x is known)", major, minor);
  snaplen_ = detail::bswap32_if(load_host32(cur_ + 16), swapped);
  link_type_ = detail::bswap32_if(load_host32(cur_ + 20), swapped) & 0xffff;  // top bits: FCS info
  if (snaplen_ == 0 || snaplen_ > kMaxCaplen)
    max_caplen_ = kMaxCaplen;
  else
    max_caplen_ = snaplen_ < kTrustedSnaplen ? kTrustedSnaplen : snaplen_;
  cur_ += kPcapHeaderLen;
  mode_ = swapped ? Mode::PcapSwapped : Mode::PcapNative;
  return true;
}

bool PcapFile::next_slow(Record& r) {
  if (map_.cut()) [[unlikely]] return fail_cut();
  switch (mode_) {
    case Mode::Done:
      return false;
    case Mode::PcapNative:
    case Mode::PcapSwapped:
      return next_pcap(r);
    case Mode::Pcapng:
      return next_pcapng(r);
  }
  return false;
}

size_t PcapFile::next_batch(Record* out, size_t max) {
  size_t n = 0;
  if (map_.mapped()) {
    if (map_.cut()) [[unlikely]] {
      if (mode_ != Mode::Done) fail_cut();
      return 0;
    }
    if (offset() + kPopulateChunk > populated_) populate_ahead();
  }
  if (mode_ == Mode::PcapNative) {
    // The common case: whole records in the window, one inline step each (no refill can move
    // them, since the steps never refill); next() below only for what the step declines.
    // pcap_step's loop with the reader's state in locals: stores to the records cannot
    // change it, so it stays in registers (callgrind: 6 instructions a record fewer).
    const uint8_t* p = cur_;
    const uint8_t* const end = end_;
    const uint32_t max_caplen = max_caplen_, link_type = link_type_;
    const uint64_t frac_mul = frac_mul_;
    uint64_t index = index_;
    for (; n < max; ++n, ++index) {
      const uint8_t* next = pcap_record<false>(p, end, max_caplen, link_type, frac_mul, index, out[n]);
      if (next == nullptr) [[unlikely]] break;
      p = next;
    }
    cur_ = p;
    index_ = index;
    if (n == max) return n;
  }
  if (n == 0) {
    if (max == 0 || !next(out[0])) return 0;
    n = 1;
  }
  no_refill_ = true;  // a refill would move the records already handed out
  while (n < max && next(out[n])) ++n;
  no_refill_ = false;
  return n;
}

// Classic pcap when the inline step declined: the swapped byte order, a record not wholly in
// the window (refill), the clean end of the file, or a damaged record.
bool PcapFile::next_pcap(Record& r) {
  const bool swapped = mode_ == Mode::PcapSwapped;
  if (swapped && pcap_step<true>(r)) return true;
  const uint64_t off = offset();
  Fill f = fill(kPcapRecordHeaderLen);
  if (f == Fill::Blocked || failed()) return false;
  if (f == Fill::Short) {
    const uint64_t left = file_left();
    mode_ = Mode::Done;
    if (left == 0) return false;
    return fail_record(off, "truncated record header (%llu of %zu bytes)", static_cast<unsigned long long>(left),
                       kPcapRecordHeaderLen);
  }
  const uint32_t caplen = detail::bswap32_if(load_host32(cur_ + 8), swapped);
  if (caplen > max_caplen_) {
    if (max_caplen_ == snaplen_) return fail_record(off, "caplen %u exceeds snaplen %u", caplen, snaplen_);
    return fail_record(off, "caplen %u exceeds the limit of %u bytes (file snaplen %u)", caplen, max_caplen_,
                       snaplen_);
  }
  f = fill(kPcapRecordHeaderLen + caplen);
  if (f == Fill::Blocked || failed()) return false;
  if (f == Fill::Short)
    return fail_record(off, "truncated record data (caplen %u, %llu bytes left in the file)", caplen,
                       static_cast<unsigned long long>(file_left() - kPcapRecordHeaderLen));
  return swapped ? pcap_step<true>(r) : pcap_step<false>(r);  // whole in the window now
}

// Whether a mapped walk of this file costs less than reading it into the window, measured here:
// 256 KiB stretches of the file's first 1.5 MiB (kMapMinBytes is more), read and mapped in turn.
// Both ways touch every line of what they brought in, as the walk would. The first round of
// each is a warm-up (the window's first fault, the mapping's first page tables: up to 0.5 ms
// either way) and is not counted; of the others, each way's fastest counts, so that a
// preemption does not decide. In a replay the mapped walk's touches overlap the work per record
// and the read's copy cannot, so the mapping also wins when it measures up to 1.25x the read.
// 0.15-0.35 ms on the Xeon VM (512 KiB stretches and three counted rounds took 0.3-1.1 ms, 1.5 %
// of the bench replay's time, and decided the same: there the read measured 2.4-2.7x the
// mapping with these, 3.4-6.3x with those). The window is allocated for the reads; the caller
// frees it when the mapping wins.
bool PcapFile::mapping_pays() {
  if (!buf_.get() && !buf_.allocate(kBufferSize)) return false;
  constexpr size_t kProbe = size_t{256} << 10;
  constexpr int kRounds = 3;
  static_assert(kProbe <= kBufferSize && 2 * kRounds * kProbe <= kMapMinBytes);
  using Clock = std::chrono::steady_clock;
  uint8_t* window = buf_.get();
  unsigned sum = 0;
  Clock::duration read_best = Clock::duration::max(), map_best = Clock::duration::max();
  for (int k = 0; k < kRounds; ++k) {
    const uint64_t read_at = uint64_t{2} * k * kProbe, map_at = read_at + kProbe;
    auto t0 = Clock::now();
    int err;
    // A short read: the file changed under us. Read it, and report that there.
    if (pread_full(fd_, window, kProbe, read_at, &err) < kProbe) return false;
    for (size_t i = 0; i < kProbe; i += 64) sum += window[i];
    auto t1 = Clock::now();
    if (!map_.populate(map_at, kProbe)) return false;
    const uint8_t* m = map_.data() + map_at;
    for (size_t i = 0; i < kProbe; i += 64) sum += m[i];
    auto t2 = Clock::now();
    if (k == 0) continue;
    read_best = std::min(read_best, t1 - t0);
    map_best = std::min(map_best, t2 - t1);
  }
  asm volatile("" : : "r"(sum));  // the touches are the point: keep them
  return map_best * 4 <= read_best * 5;
}

// Asks for the pages of the next chunk of a mapped file (a hint; a file cut short marks the
// mapping cut, and the next step reports it).
void PcapFile::populate_ahead() {
  const uint64_t want = offset() + kPopulateChunk;
  while (populated_ < want && populated_ < file_size_) {
    map_.populate(populated_, kPopulateChunk);
    populated_ += kPopulateChunk;
  }
}

// A mapped file that could not be read on: shrunk under us, or a page the kernel could not read.
bool PcapFile::fail_cut() {
  struct stat st;
  if (fstat(fd_, &st) == 0 && static_cast<uint64_t>(st.st_size) < file_size_)
    return fail_shrank(static_cast<uint64_t>(st.st_size));
  return fail("read failed: a page of the mapped file could not be read (I/O error)");
}

// The file ends at `end` now, before the size it had at open().
bool PcapFile::fail_shrank(uint64_t end) {
  return fail("file shrank while being read (end at offset %llu, %llu bytes expected)",
              static_cast<unsigned long long>(end), static_cast<unsigned long long>(file_size_));
}

namespace {
void vappend(std::string& out, const char* fmt, va_list ap) {
  char buf[256];
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  out += buf;
}
}  // namespace

bool PcapFile::fail(const char* fmt, ...) {
  error_ = path_ + ": ";
  va_list ap;
  va_start(ap, fmt);
  vappend(error_, fmt, ap);
  va_end(ap);
  mode_ = Mode::Done;
  return false;
}

bool PcapFile::fail_record(uint64_t off, const char* fmt, ...) {
  char head[96];
  std::snprintf(head, sizeof head, ": record %llu at offset %llu: ", static_cast<unsigned long long>(index_),
                static_cast<unsigned long long>(off));
  error_ = path_ + head;
  va_list ap;
  va_start(ap, fmt);
  vappend(error_, fmt, ap);
  va_end(ap);
  mode_ = Mode::Done;
  return false;
}

bool PcapFile::fail_block(const char* kind, uint64_t off, const char* fmt, ...) {
  char head[160];
  std::snprintf(head, sizeof head, ": %s at offset %llu (before record %llu): ", kind,
                static_cast<unsigned long long>(off), static_cast<unsigned long long>(index_));
  error_ = path_ + head;
  va_list ap;
  va_start(ap, fmt);
  vappend(error_, fmt, ap);
  va_end(ap);
  mode_ = Mode::Done;
  return false;
}

}  // namespace sgfw::capture
