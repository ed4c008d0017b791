// A buffered output file that appears only when complete: written to a temporary name
// beside the target and renamed on commit(), removed on abort() or destruction
// (spec 6: bad input leaves no partial output behind).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace sgfw {

class AtomicFile {
 public:
  static constexpr size_t kBufferSize = size_t{1} << 20;

  AtomicFile() = default;
  ~AtomicFile() { abort(); }
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  bool open(const std::string& path);
  // Room for at least n bytes at the returned pointer; advance with commit_bytes().
  char* reserve(size_t n);
  void commit_bytes(size_t n) { used_ += n; }
  bool write(std::string_view s);
  bool commit();
  void abort();

  bool is_open() const { return fd_ >= 0; }
  const std::string& error() const { return error_; }

 private:
  bool flush();

  int fd_ = -1;
  size_t used_ = 0;
  std::unique_ptr<char[]> buf_;
  std::string path_, tmp_path_, error_;
};

}  // namespace sgfw
