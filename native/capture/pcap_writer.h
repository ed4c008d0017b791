// PcapWriter: writes records to a classic pcap file (nanosecond magic, host byte order) for
// `sgfw replay --write-accepted/--write-dropped`.
//
// Output goes to a temporary file beside the target ("<path>.part-<pid>-<n>", so the rename
// cannot cross file systems) through a 1 MiB buffer: no system call per packet. close() flushes
// and renames it into place; abort(), a failed write or destruction without close() delete it.
// Either the whole file appears or nothing does (spec section 6: "no partial output left behind").
//
//   PcapWriter w;
//   if (!w.open("accepted.pcap", kLinkTypeEthernet)) die(w.error());
//   while (...) if (!w.write(r)) die(w.error());
//   if (!w.close()) die(w.error());
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "capture/pcap_file.h"
#include "core/huge_buffer.h"

namespace sgfw::capture {

class PcapWriter {
 public:
  static constexpr size_t kBufferSize = size_t{1} << 20;

  PcapWriter() = default;
  ~PcapWriter() { abort(); }
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;

  // Creates the temporary file and writes the pcap header. snaplen 0 means kMaxCaplen; records
  // longer than snaplen are cut to it, as a capture would. false on failure, with error() set.
  bool open(const char* path, uint32_t link_type, uint32_t snaplen = 0);

  // Appends a copy of r's captured bytes. r.link_type must be the file's. false (and the
  // temporary file deleted) on failure; every later call then returns false too.
  bool write(const Record& r);

  // Flushes and renames the file into place. false if anything failed since open(), in which
  // case nothing is left at the target or beside it.
  bool close();

  // Deletes the temporary file; the target is untouched. Safe to call at any time.
  void abort();

  bool is_open() const { return fd_ >= 0; }
  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }
  uint64_t records_written() const { return records_; }

 private:
  bool flush();
  bool fail(const char* fmt, ...) __attribute__((format(printf, 2, 3)));

  int fd_ = -1;
  uint32_t link_type_ = 0;
  uint32_t snaplen_ = 0;
  uint64_t records_ = 0;
  size_t used_ = 0;
  core::HugeBuffer buf_;  // on a huge page where there is one
  std::string path_;
  std::string tmp_path_;
  std::string error_;
};

}  // namespace sgfw::capture
