// A log file that several worker threads append lines to (the live flow log). Lines are
// buffered and written with O_APPEND, at the latest a second after they were added; a
// mutex guards the buffer — taken once per finished flow, never per packet.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace sgfw {

class AppendLog {
 public:
  static constexpr size_t kBufferSize = size_t{64} << 10;
  ~AppendLog() { close(); }

  // Opens (creating) path for appending; writes `header` first when the file is empty.
  bool open(const std::string& path, std::string_view header);
  void append(std::string_view line);
  void flush();
  void close();
  bool is_open() const { return fd_ >= 0; }
  const std::string& error() const { return error_; }
  uint64_t write_errors() const { return write_errors_; }

 private:
  void flush_locked();
  std::mutex mu_;
  int fd_ = -1;
  size_t used_ = 0;
  uint64_t last_flush_ns_ = 0;
  uint64_t write_errors_ = 0;
  std::unique_ptr<char[]> buf_;
  std::string path_, error_;
};

}  // namespace sgfw
