// PcapFile's read window: files many windows long, records up to the caplen limit straddling
// refills, next_batch() records valid together, blocks too big to hold, a file cut while read;
// each both ways (read into the window, mapped), and Auto's choice between them.
#ifndef DOCTEST_CONFIG_NO_EXCEPTIONS_BUT_WITH_ALL_ASSERTS
#define DOCTEST_CONFIG_NO_EXCEPTIONS_BUT_WITH_ALL_ASSERTS  // the core builds with -fno-exceptions
#endif
#include <doctest/doctest.h>
#include <unistd.h>

#include <random>

#include "capture/link_types.h"
#include "capture/pcap_file.h"
#include "capture/pcapng_file.h"
#include "capture_test_util.h"

using namespace sgfw::capture;
using namespace sgfw::capture::test;

namespace {

// Sizes that make records straddle every refill position: mostly small, some near the limit.
std::vector<uint32_t> record_sizes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint32_t> sizes;
  for (size_t i = 0; i < n; ++i) {
    const uint32_t k = rng() % 100;
    sizes.push_back(k < 3 ? kMaxCaplen - rng() % 1000 : k < 10 ? 1000 + rng() % 9000 : rng() % 200);
  }
  return sizes;
}

// Reads with next_batch(), copying each batch only after the call returned.
std::vector<Rec> read_batched(const std::string& path, size_t batch, std::string& error, size_t& calls,
                              ReadMode mode) {
  std::vector<Rec> out;
  PcapFile f;
  if (!f.open(path.c_str(), mode)) {
    error = f.error();
    return out;
  }
  std::vector<Record> rs(batch);
  size_t n;
  calls = 0;
  while ((n = f.next_batch(rs.data(), batch)) > 0) {
    ++calls;
    for (size_t i = 0; i < n; ++i) {
      const Record& r = rs[i];
      CHECK(r.data >= f.window_begin());
      CHECK(r.data + r.caplen <= f.window_end());
      out.push_back({Bytes(r.data, r.data + r.caplen), r.caplen, r.wirelen, r.ts_ns, r.link_type, r.index});
    }
  }
  error = f.error();
  return out;
}

}  // namespace

TEST_CASE("window: multi-megabyte pcap and pcapng files read back exactly, one by one and in batches") {
  TempDir dir;
  const std::vector<uint32_t> sizes = record_sizes(400, 7);  // ~3.5 MB: a dozen refills
  for (int kind = 0; kind < 4; ++kind) {
    CAPTURE(kind);
    const bool be = kind % 2;
    std::vector<Rec> expected;
    Bytes bytes;
    if (kind < 2) {
      PcapBuilder b(be, true, 0, kLinkTypeEthernet);
      for (size_t i = 0; i < sizes.size(); ++i) {
        const Bytes d = payload(sizes[i], uint8_t(i));
        b.add(uint32_t(1000 + i), uint32_t(i), d, sizes[i] + 4);
        expected.push_back({d, sizes[i], sizes[i] + 4, (1000 + i) * 1000000000ull + i, kLinkTypeEthernet, i});
      }
      bytes = b.bytes;
    } else {
      PcapngBuilder b;
      b.shb(be).idb(kLinkTypeRaw, 0, {{9, {9}}});
      for (size_t i = 0; i < sizes.size(); ++i) {
        const Bytes d = payload(sizes[i], uint8_t(i));
        if (i % 50 == 0) b.block(0x40000bad, payload(5000, 1));  // skipped between packets
        b.epb(0, 5000 + i, d, sizes[i], i % 3 == 0);
        expected.push_back({d, sizes[i], sizes[i], 5000 + i, kLinkTypeRaw, i});
      }
      bytes = b.bytes;
    }
    REQUIRE(bytes.size() > 6 * PcapFile::kBufferSize);
    const std::string path = dir.file("big");
    REQUIRE(write_file(path, bytes));
    const ReadResult one = read_all(path);
    CHECK(one.error == "");
    CHECK(one.records == expected);
    for (ReadMode mode : {ReadMode::Read, ReadMode::Map}) {
      for (size_t batch : {size_t{1}, size_t{7}, size_t{64}, size_t{1000}}) {
        CAPTURE(batch);
        CAPTURE(mode == ReadMode::Map);
        std::string error;
        size_t calls = 0;
        const std::vector<Rec> got = read_batched(path, batch, error, calls, mode);
        CHECK(error == "");
        CHECK(got == expected);
        CHECK(calls >= (expected.size() + batch - 1) / batch);
        // Read: batches stop at the end of the window. Mapped, the window is the whole file.
        if (batch == 1000 && mode == ReadMode::Read) CHECK(calls > 1);
      }
    }
  }
}

TEST_CASE("window: a skipped block too big to hold is jumped over; its trailer is still checked") {
  TempDir dir;
  const std::string path = dir.file("huge.pcapng");
  for (bool be : {false, true}) {
    PcapngBuilder b;
    b.shb(be).idb(kLinkTypeEthernet, 0);
    b.epb(0, 1, payload(10, 1), 10);
    const size_t huge_at = b.bytes.size();
    b.block(0x00000bad, payload(3 * kMaxBlockLen, 2));
    b.epb(0, 2, payload(20, 3), 20);
    REQUIRE(write_file(path, b.bytes));
    ReadResult res = read_all(path);
    CHECK(res.error == "");
    REQUIRE(res.records.size() == 2);
    CHECK(res.records[1].data == payload(20, 3));

    Bytes bad = b.bytes;
    const size_t total = 12 + 3 * size_t{kMaxBlockLen};
    const size_t trailer = huge_at + total - 4;  // the block's last 4 bytes
    bad[trailer] ^= 1;
    bad[trailer + 3] ^= 1;
    REQUIRE(write_file(path, bad));
    res = read_all(path);
    CHECK(res.records.size() == 1);
    CHECK(contains(res.error, "block of type 0x00000bad at offset " + std::to_string(huge_at) +
                                  " (before record 1): block total length " + std::to_string(total) +
                                  " does not match its trailing copy"));
  }
}

TEST_CASE("window: a packet or interface block too big to hold is an error") {
  TempDir dir;
  const std::string path = dir.file("big-epb.pcapng");
  PcapngBuilder b;
  b.shb(false).idb(kLinkTypeEthernet, 0);
  b.epb(0, 1, payload(kMaxBlockLen, 1), kMaxBlockLen);
  REQUIRE(write_file(path, b.bytes));
  const ReadResult res = read_all(path);
  CHECK(res.records.empty());
  CHECK(res.error == path + ": enhanced packet block at offset 48 (before record 0): block total length " +
                         std::to_string(kMaxBlockLen + 32) + " exceeds the limit of " + std::to_string(kMaxBlockLen) +
                         " bytes");
}

TEST_CASE("window: a file cut short while it is read is an error, not a hang or a crash") {
  // Mapped, the pages past the new end raise SIGBUS when touched: MappedFile's handler turns them
  // into zeros and the reader reports the cut, record by record and in batches.
  for (ReadMode mode : {ReadMode::Read, ReadMode::Map}) {
    for (bool batched : {false, true}) {
      CAPTURE(mode == ReadMode::Map);
      CAPTURE(batched);
      TempDir dir;
      const std::string path = dir.file("shrinking.pcap");
      PcapBuilder b(false, false, 0);
      for (uint32_t i = 0; i < 40; ++i) b.add(i, 0, payload(60000, uint8_t(i)), 60000);  // 2.4 MB
      REQUIRE(write_file(path, b.bytes));
      PcapFile f;
      REQUIRE(f.open(path.c_str(), mode));
      CHECK((f.read_mode() == mode));
      Record r;
      REQUIRE(f.next(r));
      REQUIRE(truncate(path.c_str(), 1000000) == 0);
      size_t n = 1;
      uint64_t sum = 0;
      if (batched) {
        Record rs[8];
        size_t got;
        while ((got = f.next_batch(rs, 8)) > 0) {
          n += got;
          // Touch every byte, as a replay's parser might.
          for (size_t k = 0; k < got; ++k)
            for (uint32_t j = 0; j < rs[k].caplen; ++j) sum += rs[k].data[j];
        }
      } else {
        while (f.next(r)) {
          ++n;
          for (uint32_t j = 0; j < r.caplen; ++j) sum += r.data[j];
        }
      }
      CAPTURE(sum);
      CHECK(n < 40);
      CHECK(contains(f.error(), path + ": file shrank while being read (end at offset 1000000, "));
    }
  }
}

TEST_CASE("window: Auto reads small files into the window and measures before mapping a big one") {
  TempDir dir;
  const std::string small = dir.file("small.pcap");
  PcapBuilder b(false, false, 0);
  for (uint32_t i = 0; i < 100; ++i) b.add(i, 0, payload(1000, uint8_t(i)), 1000);
  REQUIRE(write_file(small, b.bytes));
  PcapFile f;
  REQUIRE(f.open(small.c_str()));
  CHECK((f.read_mode() == ReadMode::Read));
  f.close();
  // Past kMapMinBytes Auto times both ways (mapping_pays); whichever it picks reads the file
  // the same.
  const std::string big = dir.file("big.pcap");
  PcapBuilder bb(false, false, 0);
  uint32_t count = 0;
  for (; bb.bytes.size() < PcapFile::kMapMinBytes + 1000; ++count) bb.add(count, 0, payload(9000, uint8_t(count)), 9000);
  REQUIRE(write_file(big, bb.bytes));
  REQUIRE(f.open(big.c_str()));
  const bool mapped = f.read_mode() == ReadMode::Map;
  MESSAGE("Auto on a " << bb.bytes.size() << "-byte file: " << std::string(mapped ? "mapped" : "read"));
  Record r;
  uint32_t n = 0;
  bool same = true;
  while (f.next(r)) {
    same &= r.index == n && r.caplen == 9000 && r.data[0] == uint8_t(n) && r.data[8999] == uint8_t(n + 8999 * 7);
    ++n;
  }
  CHECK(f.error() == "");
  CHECK(n == count);
  CHECK(same);
}
