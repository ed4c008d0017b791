// Helpers for the capture tests: byte builders for pcap and pcapng files, a temporary directory,
// and a reader that copies records out so that files can be compared after they are closed.
#pragma once
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "capture/pcap_file.h"

namespace sgfw::capture::test {

using Bytes = std::vector<uint8_t>;

// Appends integers in a chosen byte order.
struct Emitter {
  Bytes& out;
  bool big_endian;
  void u8(uint8_t v) { out.push_back(v); }
  void u16(uint16_t v) {
    for (int i = 0; i < 2; ++i) out.push_back(static_cast<uint8_t>(v >> (big_endian ? 8 * (1 - i) : 8 * i)));
  }
  void u32(uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (big_endian ? 8 * (3 - i) : 8 * i)));
  }
  void u64(uint64_t v) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (big_endian ? 8 * (7 - i) : 8 * i)));
  }
  void raw(const Bytes& b) { out.insert(out.end(), b.begin(), b.end()); }
  void pad4() {
    while (out.size() % 4) out.push_back(0);
  }
};

// Packet bytes whose content tells where they came from: n bytes starting at `seed`.
inline Bytes payload(size_t n, uint8_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed + i * 7);
  return b;
}

// Classic pcap: header, then add() records.
struct PcapBuilder {
  Bytes bytes;
  bool big_endian;
  explicit PcapBuilder(bool be, bool nano, uint32_t snaplen = 65535, uint32_t link_type = 1) : big_endian(be) {
    Emitter e{bytes, be};
    e.u32(nano ? 0xa1b23c4d : 0xa1b2c3d4);
    e.u16(2);
    e.u16(4);
    e.u32(0);
    e.u32(0);
    e.u32(snaplen);
    e.u32(link_type);
  }
  // Record header with an explicit caplen (may lie about the data, to build damaged files).
  PcapBuilder& add(uint32_t sec, uint32_t frac, const Bytes& data, uint32_t wirelen, uint32_t caplen) {
    Emitter e{bytes, big_endian};
    e.u32(sec);
    e.u32(frac);
    e.u32(caplen);
    e.u32(wirelen);
    e.raw(data);
    return *this;
  }
  PcapBuilder& add(uint32_t sec, uint32_t frac, const Bytes& data, uint32_t wirelen) {
    return add(sec, frac, data, wirelen, static_cast<uint32_t>(data.size()));
  }
};

// pcapng: blocks appended in order; each section may pick its own byte order.
struct PcapngBuilder {
  Bytes bytes;
  bool big_endian = false;
  // Where each block starts, and whether it is a packet block (for truncation tests).
  std::vector<std::pair<size_t, bool>> blocks;

  // Any block: type, total length, body (padded to 4), total length.
  PcapngBuilder& block(uint32_t type, const Bytes& body_unpadded) {
    Bytes body = body_unpadded;
    while (body.size() % 4) body.push_back(0);
    blocks.emplace_back(bytes.size(), type == 2 || type == 3 || type == 6);
    Emitter e{bytes, big_endian};
    e.u32(type);
    e.u32(static_cast<uint32_t>(body.size() + 12));
    e.raw(body);
    e.u32(static_cast<uint32_t>(body.size() + 12));
    return *this;
  }
  Emitter body_emitter(Bytes& b) const { return Emitter{b, big_endian}; }

  PcapngBuilder& shb(bool be, uint16_t major = 1) {
    big_endian = be;
    Bytes b;
    Emitter e = body_emitter(b);
    e.u32(0x1a2b3c4d);
    e.u16(major);
    e.u16(0);
    e.u64(~uint64_t{0});  // section length unknown
    return block(0x0a0d0d0a, b);
  }
  // Options as (code, value bytes).
  struct Option {
    uint16_t code;
    Bytes value;
  };
  PcapngBuilder& idb(uint16_t link_type, uint32_t snaplen, const std::vector<Option>& options = {}) {
    Bytes b;
    Emitter e = body_emitter(b);
    e.u16(link_type);
    e.u16(0);
    e.u32(snaplen);
    for (const Option& o : options) {
      e.u16(o.code);
      e.u16(static_cast<uint16_t>(o.value.size()));
      e.raw(o.value);
      e.pad4();
    }
    if (!options.empty()) e.u32(0);  // opt_endofopt
    return block(1, b);
  }
  PcapngBuilder& epb(uint32_t itf, uint64_t ts, const Bytes& data, uint32_t wirelen, bool with_option = false) {
    Bytes b;
    Emitter e = body_emitter(b);
    e.u32(itf);
    e.u32(static_cast<uint32_t>(ts >> 32));
    e.u32(static_cast<uint32_t>(ts));
    e.u32(static_cast<uint32_t>(data.size()));
    e.u32(wirelen);
    e.raw(data);
    e.pad4();
    if (with_option) {  // epb_flags: inbound
      e.u16(2);
      e.u16(4);
      e.u32(1);
      e.u32(0);
    }
    return block(6, b);
  }
  PcapngBuilder& opb(uint16_t itf, uint64_t ts, const Bytes& data, uint32_t wirelen) {
    Bytes b;
    Emitter e = body_emitter(b);
    e.u16(itf);
    e.u16(0);  // drops count
    e.u32(static_cast<uint32_t>(ts >> 32));
    e.u32(static_cast<uint32_t>(ts));
    e.u32(static_cast<uint32_t>(data.size()));
    e.u32(wirelen);
    e.raw(data);
    return block(2, b);
  }
  PcapngBuilder& spb(const Bytes& data, uint32_t wirelen) {
    Bytes b;
    Emitter e = body_emitter(b);
    e.u32(wirelen);
    e.raw(data);
    return block(3, b);
  }
};

// A fresh directory under $TMPDIR (or /tmp), removed with its files at the end of the test.
struct TempDir {
  std::string path;
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/sgfw-capture-test-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (mkdtemp(buf.data()) != nullptr) path = buf.data();
  }
  ~TempDir() {
    for (const std::string& f : list()) unlink((path + "/" + f).c_str());
    rmdir(path.c_str());
  }
  std::string file(const std::string& name) const { return path + "/" + name; }
  // Names in the directory, sorted (to show that nothing was left behind).
  std::vector<std::string> list() const {
    std::vector<std::string> names;
    if (DIR* d = opendir(path.c_str())) {
      while (dirent* e = readdir(d)) {
        const std::string n = e->d_name;
        if (n != "." && n != "..") names.push_back(n);
      }
      closedir(d);
    }
    std::sort(names.begin(), names.end());
    return names;
  }
};

inline bool write_file(const std::string& path, const Bytes& b, size_t len) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  const bool ok = len == 0 || std::fwrite(b.data(), 1, len, f) == len;
  return std::fclose(f) == 0 && ok;
}
inline bool write_file(const std::string& path, const Bytes& b) { return write_file(path, b, b.size()); }

inline Bytes read_file(const std::string& path) {
  Bytes b;
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return b;
  uint8_t chunk[4096];
  size_t n;
  while ((n = std::fread(chunk, 1, sizeof chunk, f)) > 0) b.insert(b.end(), chunk, chunk + n);
  std::fclose(f);
  return b;
}

// A record copied out of the map.
struct Rec {
  Bytes data;
  uint32_t caplen;
  uint32_t wirelen;
  uint64_t ts_ns;
  uint32_t link_type;
  uint64_t index;
  bool operator==(const Rec&) const = default;
};

struct ReadResult {
  bool opened = false;
  std::vector<Rec> records;
  std::string error;  // empty when the file was read to its end cleanly
};

inline ReadResult read_with(const std::string& path, ReadMode mode) {
  ReadResult out;
  PcapFile f;
  out.opened = f.open(path.c_str(), mode);
  if (!out.opened) {
    out.error = f.error();
    return out;
  }
  Record r;
  while (f.next(r)) {
    // Every record lies inside the bytes read, whatever the file says.
    if (r.data < f.window_begin() || r.data > f.window_end() ||
        r.caplen > static_cast<size_t>(f.window_end() - r.data)) {
      out.error = "record outside the window";
      return out;
    }
    out.records.push_back({Bytes(r.data, r.data + r.caplen), r.caplen, r.wirelen, r.ts_ns, r.link_type, r.index});
  }
  if (f.failed()) out.error = f.error();
  return out;
}

// The file read record by record through the window (ReadMode::Read) and through a mapping
// (ReadMode::Map): every test that reads a file this way also checks that both ways agree,
// records and errors alike. On a difference, the error says so.
inline ReadResult read_all(const std::string& path) {
  ReadResult read = read_with(path, ReadMode::Read);
  const ReadResult mapped = read_with(path, ReadMode::Map);
  if (mapped.opened != read.opened || mapped.records != read.records || mapped.error != read.error)
    read.error = "read and mapped differ: read gave " + std::to_string(read.records.size()) + " records, error '" +
                 read.error + "'; mapped gave " + std::to_string(mapped.records.size()) + " records, error '" +
                 mapped.error + "'";
  return read;
}

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace sgfw::capture::test
