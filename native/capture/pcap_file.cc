// PcapFile: opening, the classic pcap format and error reporting. pcapng is in pcapng_file.cc.
#include "capture/pcap_file.h"

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <fcntl.h>
#include <sys/mman.h>
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

// A snapshot length some writers under-declare (their records are longer than the header says,
// and libpcap reads them); below it the header's snaplen is not trusted as a bound.
constexpr uint32_t kTrustedSnaplen = 65535;

uint32_t load_host32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

}  // namespace

bool PcapFile::open(const char* path) {
  close();
  path_ = path;
  error_.clear();
  index_ = 0;
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail("%s", std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    return fail("%s", std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail("not a regular file");
  }
  const size_t size = static_cast<size_t>(st.st_size);
  if (size == 0) {
    ::close(fd);
    return fail("empty file");
  }
  void* map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int map_errno = errno;
  ::close(fd);  // the map keeps the file referenced
  if (map == MAP_FAILED) return fail("cannot map the file: %s", std::strerror(map_errno));
  madvise(map, size, MADV_SEQUENTIAL);
  base_ = static_cast<const uint8_t*>(map);
  cur_ = base_;
  end_ = base_ + size;

  if (size < 4) return fail("file of %zu bytes is too short for a pcap or pcapng header", size);
  const uint32_t magic = load_host32(base_);
  if (magic == kPcapMicro || magic == kPcapNano || magic == __builtin_bswap32(kPcapMicro) ||
      magic == __builtin_bswap32(kPcapNano))
    return open_pcap(magic);
  if (magic == kPcapngBlockShb) return open_pcapng();
  if (magic == kPcapKuznetsov || magic == __builtin_bswap32(kPcapKuznetsov))
    return fail("unsupported modified (Kuznetsov) pcap format, magic 0x%08x", magic);
  return fail("not a pcap or pcapng file (magic 0x%02x%02x%02x%02x)", base_[0], base_[1],
              base_[2], base_[3]);
}

void PcapFile::close() {
  if (base_ != nullptr) munmap(const_cast<uint8_t*>(base_), static_cast<size_t>(end_ - base_));
  base_ = cur_ = end_ = nullptr;
  mode_ = Mode::Done;
  format_ = TraceFormat::None;
  link_type_ = snaplen_ = 0;
  interfaces_.clear();
  last_ts_ns_ = 0;
}

bool PcapFile::open_pcap(uint32_t magic) {
  format_ = TraceFormat::Pcap;
  const size_t size = static_cast<size_t>(end_ - base_);
  if (size < kPcapHeaderLen)
    return fail("truncated pcap file header (%zu of %zu bytes)", size, kPcapHeaderLen);
  const bool swapped = magic != kPcapMicro && magic != kPcapNano;
  frac_mul_ = (magic == kPcapNano || magic == __builtin_bswap32(kPcapNano)) ? 1 : 1000;
  auto ld16 = [&](size_t off) {
    uint16_t v;
    std::memcpy(&v, base_ + off, 2);
    return swapped ? __builtin_bswap16(v) : v;
  };
  const uint16_t major = ld16(4), minor = ld16(6);
  if (major != 2) return fail("unsupported pcap version %u.%u (only 2.x is known)", major, minor);
  snaplen_ = detail::bswap32_if(load_host32(base_ + 16), swapped);
  link_type_ = detail::bswap32_if(load_host32(base_ + 20), swapped) & 0xffff;  // top bits: FCS info
  if (snaplen_ == 0 || snaplen_ > kMaxCaplen)
    max_caplen_ = kMaxCaplen;
  else
    max_caplen_ = snaplen_ < kTrustedSnaplen ? kTrustedSnaplen : snaplen_;
  cur_ = base_ + kPcapHeaderLen;
  mode_ = swapped ? Mode::PcapSwapped : Mode::PcapNative;
  return true;
}

bool PcapFile::next_slow(Record& r) {
  switch (mode_) {
    case Mode::Done:
      return false;
    case Mode::PcapNative:
      return pcap_record_error();  // the inline step declined this record
    case Mode::PcapSwapped:
      if (pcap_step<true>(r)) return true;
      return pcap_record_error();
    case Mode::Pcapng:
      return next_pcapng(r);
  }
  return false;
}

// Why pcap_step declined the record at cur_: the clean end of the file, or a damaged record.
bool PcapFile::pcap_record_error() {
  const bool swapped = mode_ == Mode::PcapSwapped;
  mode_ = Mode::Done;
  const size_t left = static_cast<size_t>(end_ - cur_);
  const uint64_t off = offset();
  if (left == 0) return false;
  if (left < kPcapRecordHeaderLen)
    return fail_record(off, "truncated record header (%zu of %zu bytes)", left, kPcapRecordHeaderLen);
  const uint32_t caplen = detail::bswap32_if(load_host32(cur_ + 8), swapped);
  if (caplen > max_caplen_) {
    if (max_caplen_ == snaplen_) return fail_record(off, "caplen %u exceeds snaplen %u", caplen, snaplen_);
    return fail_record(off, "caplen %u exceeds the limit of %u bytes (file snaplen %u)", caplen, max_caplen_,
                       snaplen_);
  }
  return fail_record(off, "truncated record data (caplen %u, %zu bytes left in the file)", caplen,
                     left - kPcapRecordHeaderLen);
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
