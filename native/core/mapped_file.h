// MappedFile: a read-only mapping of a whole regular file, for a reader that walks a large file
// once (the pcap reader). Where mapping beats reading, it spares the kernel's copy of every
// byte into a buffer; a walk over a mapping can prefetch ahead of itself, a copy cannot.
//
// A file that shrinks while it is mapped must not kill the process (a bare mapping raises SIGBUS
// on the first touch past the new end). A SIGBUS handler, installed once and chained to the
// disposition it replaces, looks the faulting address up among the live mappings; for one of
// ours it maps zero pages over the rest of that mapping, marks it cut, and returns, so the
// touch reads zeros. The reader checks cut() and reports the file cut short. A fault anywhere
// else goes to the previous handler or the default action, as before.
//
// Pages are brought in ahead of the reader with populate() (MADV_POPULATE_READ): one call per
// chunk instead of a fault per 64 KiB. A populate that fails because the file no longer covers
// the range marks the mapping cut too.
//
// Lifetime: one owner thread reads and unmaps (a fault comes from the thread that touches the
// page, so a mapping is never unmapped while its own fault is handled). At most kMaxLive
// mappings are live at once; map() then refuses and the caller reads instead.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

namespace sgfw::core {

class MappedFile {
 public:
  static constexpr int kMaxLive = 64;

  MappedFile() = default;
  ~MappedFile() { unmap(); }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  // Maps the first `size` (> 0) bytes of the open file `fd`. False with `error` set when the
  // kernel refuses or kMaxLive mappings are live.
  bool map(int fd, uint64_t size, std::string* error);
  void unmap();

  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }
  bool mapped() const { return data_ != nullptr; }
  // Brings the pages of [offset, offset + len) in (clamped to the mapping). A hint: false only
  // when the range lies past the file's end now (the mapping is then cut).
  bool populate(uint64_t offset, uint64_t len);
  // A touch or populate fell past the file's end: the bytes from there on read as zeros.
  bool cut() const { return cut_ != nullptr && cut_->load(std::memory_order_acquire); }

 private:
  uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
  size_t span_ = 0;  // bytes mapped: size_ rounded up to whole pages
  int guard_ = -1;   // this mapping's entry in the handler's table
  const std::atomic<bool>* cut_ = nullptr;  // that entry's mark, set by the handler
};

}  // namespace sgfw::core
