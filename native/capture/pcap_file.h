// PcapFile: reads a pcap or pcapng trace, handing out records as views into its bytes: no copy
// and no allocation per record. The bytes come one of two ways, chosen at open():
// - Read: pread into a small reused window (576 KiB, on a huge page, so it stays in L2 and the
//   TLB).
// - Map: the whole file mapped (core/mapped_file.h), its pages brought in a chunk ahead of the
//   walk; the caller prefetches the lines of the next batch (upcoming()). The window is then
//   the whole file.
// Which one is cheaper depends on the machine, by a factor of several either way, so Auto
// measures it (mapping_pays): on this project's Intel Xeon VMs the kernel's copy into the window
// costs ~25 ns a record of the bench trace (a quarter of a replay's time) and a mapped walk hides
// its reads under the work done per record; on its AMD EPYC VMs the first touch of every page
// of a mapped file cost ~45 ms per 100 MB however it was mapped, and pread was the cheap way.
// Files under kMapMinBytes are always read.
//
// Every length read from the file is checked against the file and the window before it is used:
// a damaged file ends the walk in an error state with a message naming the file, the record and
// the byte offset,
//   "trace.pcap: record 17 at offset 4312: caplen 70000 exceeds snaplen 65535"
// never a crash or a read past the data read.
//
// Formats: classic pcap in either byte order with microsecond (0xa1b2c3d4) or nanosecond
// (0xa1b23c4d) timestamps; pcapng with any number of sections (each with its own byte order),
// interfaces with their own link type, if_tsresol (powers of 10 and of 2) and if_tsoffset,
// Enhanced, Simple and (obsolete) Packet Blocks; every other block type is skipped.
// Only regular files: stdin and pipes are refused ("not a regular file").
//
// A file cut short while it is read is an error ("file shrank while being read"), never a crash
// or a hang, both ways.
//
// Lifetime: a record's data stays valid until the next call to next(), next_batch() or close();
// next_batch() hands out up to N records that are all valid together.
//
// Use:
//   PcapFile f;
//   if (!f.open(path)) die(f.error());
//   Record r;
//   while (f.next(r)) judge(r);
//   if (f.failed()) die(f.error());
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/huge_buffer.h"
#include "core/mapped_file.h"

namespace sgfw::capture {

// One captured packet. `data` points into the reader's window: valid until the next call to
// next(), next_batch() or close() on the reader that returned it.
struct Record {
  const uint8_t* data;
  uint32_t caplen;     // bytes present at `data`
  uint32_t wirelen;    // length of the packet on the wire (>= caplen in sane files; not enforced)
  uint64_t ts_ns;      // nanoseconds since the Unix epoch
  uint32_t link_type;  // LINKTYPE_* value (link_types.h), low 16 bits of the pcap header field
  uint64_t index;      // 0-based position among the packet records of the file
};

enum class TraceFormat : uint8_t { None, Pcap, Pcapng };

// How PcapFile gets the file's bytes (see the top of this file). Auto measures which is cheaper.
enum class ReadMode : uint8_t { Auto, Read, Map };

// A bound on any record's captured length: libpcap's largest snapshot length (MAXIMUM_SNAPLEN).
inline constexpr uint32_t kMaxCaplen = 256 * 1024;
// A bound on any pcapng block the reader must hold whole (packet and interface blocks): a
// packet of kMaxCaplen plus 64 KiB of headers and options. Other blocks of any size are skipped.
inline constexpr uint32_t kMaxBlockLen = kMaxCaplen + 64 * 1024;

class PcapFile {
 public:
  // The window: big enough for the largest block plus a long read behind it.
  static constexpr size_t kBufferSize = kMaxBlockLen + 256 * 1024;
  // At most this much per read (more only when one block needs it): the page cache's copy
  // into the window is then still in L2 when the records are parsed. Reading the 123 MB
  // benchmark trace in chunks of 64/128/256/576/1024 KiB took 16.5/15.2/14.8/16.5/18.8 ms.
  static constexpr size_t kReadChunk = 256 * 1024;
  // Auto maps only files at least this big: below, the two ways differ by a few milliseconds.
  static constexpr uint64_t kMapMinBytes = uint64_t{32} << 20;
  // A mapped walk asks for the pages of the chunk ahead of it in one call.
  static constexpr uint64_t kPopulateChunk = uint64_t{16} << 20;

  PcapFile() = default;
  ~PcapFile() { close(); }
  PcapFile(const PcapFile&) = delete;
  PcapFile& operator=(const PcapFile&) = delete;

  // Opens the file and reads its header (for pcapng, up to the first packet block).
  // false on failure, with error() set.
  bool open(const char* path, ReadMode mode = ReadMode::Auto);

  // The next packet record. false at the end of the file or on a damaged record: failed() tells
  // which. Once it has returned false it keeps returning false.
  inline bool next(Record& r);

  // Up to `max` records, all valid until the next call; fewer when the window ends (the next
  // call refills it). 0 only at the end of the file or on an error, as next() returns false.
  size_t next_batch(Record* out, size_t max);

  // Closes the file and frees the window. Safe to call twice.
  void close();

  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }
  TraceFormat format() const { return format_; }
  // Classic pcap: the header's link type. pcapng: the first interface's of the current section
  // (0 before any interface was described); records carry their own interface's link type.
  uint32_t link_type() const { return link_type_; }
  // Classic pcap: the header's snapshot length. pcapng: the first interface's (0 = unlimited).
  uint32_t snaplen() const { return snaplen_; }
  // The bytes after the last record handed out, up to `bytes` of them, as far as they are in
  // the window (a mapped file: all of it): what the next batch will read, for a caller that
  // prefetches them while it works on this one (Engine::judge_batch).
  std::span<const uint8_t> upcoming(size_t bytes) const {
    const size_t avail = static_cast<size_t>(end_ - cur_);
    return {cur_, bytes < avail ? bytes : avail};
  }
  // Read or Map: how this file's bytes are being read (Auto never stays).
  ReadMode read_mode() const { return map_.mapped() ? ReadMode::Map : ReadMode::Read; }
  uint64_t records_read() const { return index_; }
  // Bytes of the file walked so far and in all, for a progress line.
  uint64_t offset() const { return window_offset_ + static_cast<uint64_t>(cur_ - base_); }
  uint64_t size() const { return file_size_; }
  // The bytes read and not yet consumed or discarded: every record handed out since the last
  // refill lies in [window_begin(), window_end()). For checks in tests.
  const uint8_t* window_begin() const { return base_; }
  const uint8_t* window_end() const { return end_; }

 private:
  enum class Mode : uint8_t { Done, PcapNative, PcapSwapped, Pcapng };
  // fill(): the bytes are there; the file ends first (or a read failed: failed() says); or
  // they are not there and next_batch() forbids a refill now.
  enum class Fill : uint8_t { Ok, Short, Blocked };

  // An interface of the current pcapng section.
  struct Interface {
    uint32_t link_type;
    uint32_t snaplen;
    uint64_t units;     // timestamp units per second (if_tsresol; 10^6 by default)
    uint64_t ns_mul;    // 10^9 / units when that is a whole number, else 0 (slow conversion)
    int64_t offset_s;   // if_tsoffset, seconds added to every timestamp
  };

  template <bool kSwapped>
  static const uint8_t* pcap_record(const uint8_t* p, const uint8_t* end, uint32_t max_caplen, uint32_t link_type,
                                    uint64_t frac_mul, uint64_t index, Record& r);
  template <bool kSwapped>
  bool pcap_step(Record& r);
  bool next_slow(Record& r);
  bool next_pcap(Record& r);
  Fill fill(size_t need);
  void skip(uint64_t n);
  uint64_t file_left() const { return file_size_ - offset(); }
  bool open_file(const char* path, ReadMode mode);
  bool mapping_pays();
  void populate_ahead();
  bool fail_cut();
  bool fail_shrank(uint64_t end);
  bool open_pcap(uint32_t magic);
  // pcapng (pcapng_file.cc)
  bool open_pcapng();
  bool next_pcapng(Record& r);
  bool walk_pcapng(Record* r);
  bool check_length(const char* kind, uint64_t off, uint32_t total, uint64_t left);
  bool check_trailer(const char* kind, uint64_t off, uint32_t total, const uint8_t* trailer);
  bool read_section_header();
  bool read_interface(const uint8_t* body, uint32_t body_len, uint64_t off);
  uint32_t ng32(const uint8_t* p) const;
  uint16_t ng16(const uint8_t* p) const;
  static uint64_t to_ns(uint64_t ts, const Interface& itf);

  // Set the error "<path>: [record N at offset O: ]<printf-formatted message>", stop the walk and
  // return false.
  bool fail(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
  bool fail_record(uint64_t off, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
  bool fail_block(const char* kind, uint64_t off, const char* fmt, ...)
      __attribute__((format(printf, 4, 5)));

  Mode mode_ = Mode::Done;
  TraceFormat format_ = TraceFormat::None;
  bool no_refill_ = false;  // set inside next_batch() after its first record
  int fd_ = -1;
  uint64_t file_size_ = 0;
  core::HugeBuffer buf_;  // Read: the window, kBufferSize bytes, on a huge page where there is one
  core::MappedFile map_;  // Map: the whole file, which is then the window
  const uint8_t* base_ = nullptr;   // the window's first byte: buf_ or the mapping
  uint64_t window_offset_ = 0;      // file offset of base_[0] (0 when mapped)
  uint64_t populated_ = 0;          // Map: file offset up to which pages were asked for
  const uint8_t* cur_ = nullptr;    // next unread byte, in [base_, end_]
  const uint8_t* end_ = nullptr;    // end of the bytes read
  uint32_t link_type_ = 0;
  uint32_t snaplen_ = 0;
  uint32_t max_caplen_ = kMaxCaplen;  // classic pcap: bound on a record's caplen
  uint32_t frac_mul_ = 1000;          // classic pcap: ns per unit of the fraction field
  uint64_t index_ = 0;
  // pcapng
  bool ng_swapped_ = false;
  uint64_t last_ts_ns_ = 0;  // for Simple Packet Blocks, which carry no timestamp
  std::vector<Interface> interfaces_;
  std::string path_;
  std::string error_;
};

namespace detail {
inline uint32_t bswap32_if(uint32_t v, bool swap) { return swap ? __builtin_bswap32(v) : v; }
}  // namespace detail

// Classic pcap, the hot loop: one bounds check on the header, one on the data, no other branch.
// Returns false without moving on anything it does not like; next_slow() then says why.
// The step itself, on the reader's state as arguments (next_batch keeps it in locals): the
// record at p into r, and the next record's start; nullptr, r untouched, when it declines.
template <bool kSwapped>
inline const uint8_t* PcapFile::pcap_record(const uint8_t* p, const uint8_t* end, uint32_t max_caplen,
                                            uint32_t link_type, uint64_t frac_mul, uint64_t index, Record& r) {
  const size_t left = static_cast<size_t>(end - p);
  if (left < 16) [[unlikely]] return nullptr;
  uint32_t h[4];
  std::memcpy(h, p, sizeof h);
  const uint32_t caplen = detail::bswap32_if(h[2], kSwapped);
  if (caplen > max_caplen || caplen > left - 16) [[unlikely]] return nullptr;
  r.data = p + 16;
  r.caplen = caplen;
  r.wirelen = detail::bswap32_if(h[3], kSwapped);
  r.ts_ns = uint64_t{detail::bswap32_if(h[0], kSwapped)} * 1000000000u +
            uint64_t{detail::bswap32_if(h[1], kSwapped)} * frac_mul;
  r.link_type = link_type;
  r.index = index;
  return p + 16 + caplen;
}

template <bool kSwapped>
inline bool PcapFile::pcap_step(Record& r) {
  const uint8_t* next = pcap_record<kSwapped>(cur_, end_, max_caplen_, link_type_, frac_mul_, index_, r);
  if (next == nullptr) [[unlikely]] return false;
  index_++;
  cur_ = next;
  return true;
}

inline bool PcapFile::next(Record& r) {
  if (mode_ == Mode::PcapNative && !map_.cut() && pcap_step<false>(r)) [[likely]] return true;
  return next_slow(r);
}

}  // namespace sgfw::capture
