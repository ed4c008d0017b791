// pcapng through PcapFile: sections in both byte orders, interfaces with their own link types and
// timestamp resolutions, EPB/SPB/OPB, unknown blocks, damaged blocks, every truncation, and random
// corruption.
#ifndef DOCTEST_CONFIG_NO_EXCEPTIONS_BUT_WITH_ALL_ASSERTS
#define DOCTEST_CONFIG_NO_EXCEPTIONS_BUT_WITH_ALL_ASSERTS  // the core builds with -fno-exceptions
#endif
#include <doctest/doctest.h>

#include <random>

#include "capture/link_types.h"
#include "capture/pcap_file.h"
#include "capture/pcapng_file.h"
#include "capture_test_util.h"

using namespace sgfw::capture;
using namespace sgfw::capture::test;

namespace {

constexpr uint64_t kSec = 1000000000ull;

Bytes le_bytes(uint64_t v, size_t n) {
  Bytes b;
  for (size_t i = 0; i < n; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
  return b;
}
// An option value in the section's byte order.
Bytes opt_u64(uint64_t v, bool be) {
  Bytes b = le_bytes(v, 8);
  if (be) std::reverse(b.begin(), b.end());
  return b;
}

// Two sections. The first: four interfaces (Ethernet/µs, raw/ns, IPv4/2^-20 s, IPv6/ps with a
// 1000 s offset), unknown blocks between them, EPB (one with options), SPB, OPB. The second, in
// its own byte order: Linux cooked/ms, EPBs and an SPB whose data needs padding.
struct Sample {
  PcapngBuilder b;
  std::vector<Rec> expected;
};

Sample sample_ng(bool be1, bool be2) {
  Sample s;
  PcapngBuilder& b = s.b;
  b.shb(be1);
  b.idb(kLinkTypeEthernet, 64);
  b.block(0x00000bad, payload(5, 0));  // unknown type: skipped
  b.idb(kLinkTypeRaw, 0, {{9, {9}}, {2, {'e', 't', 'h', '1', '!'}}});  // if_tsresol 10^-9, if_name
  b.block(4, payload(12, 1));  // name resolution block: skipped
  b.epb(0, 1700000000123456ull, payload(60, 2), 60);
  b.epb(1, 1700000000123456789ull, payload(7, 3), 1500, /*with_option=*/true);
  b.spb(payload(100, 4), 100);  // interface 0: cut to its snaplen 64; no timestamp of its own
  b.idb(kLinkTypeIpv4, 0, {{9, {0x80 | 20}}});
  b.epb(2, (5ull << 20) + (1ull << 19), payload(20, 5), 20);  // 5.5 s in 2^-20 s units
  b.idb(kLinkTypeIpv6, 0, {{9, {12}}, {14, opt_u64(1000, be1)}});
  b.epb(3, 1234567890123456ull, payload(40, 6), 40);  // picoseconds, floored to ns, + 1000 s
  b.opb(1, 42, payload(5, 7), 5);
  b.block(5, payload(20, 8));  // interface statistics: skipped
  b.shb(be2);
  b.idb(kLinkTypeLinuxSll, 0, {{9, {3}}});
  b.epb(0, 1500, payload(16, 9), 16);
  b.epb(0, 2000, Bytes{}, 0);
  b.spb(payload(5, 10), 5);  // padded to 8 bytes in the block; caplen stays 5
  s.expected = {
      {payload(60, 2), 60, 60, 1700000000123456000ull, kLinkTypeEthernet, 0},
      {payload(7, 3), 7, 1500, 1700000000123456789ull, kLinkTypeRaw, 1},
      {payload(64, 4), 64, 100, 1700000000123456789ull, kLinkTypeEthernet, 2},
      {payload(20, 5), 20, 20, 5 * kSec + kSec / 2, kLinkTypeIpv4, 3},
      {payload(40, 6), 40, 40, 1234567890123ull + 1000 * kSec, kLinkTypeIpv6, 4},
      {payload(5, 7), 5, 5, 42, kLinkTypeRaw, 5},
      {payload(16, 9), 16, 16, 1500000000ull, kLinkTypeLinuxSll, 6},
      {Bytes{}, 0, 0, 2 * kSec, kLinkTypeLinuxSll, 7},
      {payload(5, 10), 5, 5, 2 * kSec, kLinkTypeLinuxSll, 8},
  };
  return s;
}

}  // namespace

TEST_CASE("pcapng: sections, interfaces, resolutions and packet block kinds read back exactly") {
  TempDir dir;
  const std::string path = dir.file("t.pcapng");
  for (bool be1 : {false, true}) {
    for (bool be2 : {false, true}) {
      CAPTURE(be1);
      CAPTURE(be2);
      const Sample s = sample_ng(be1, be2);
      REQUIRE(write_file(path, s.b.bytes));
      PcapFile f;
      REQUIRE(f.open(path.c_str()));
      CHECK(f.format() == TraceFormat::Pcapng);
      CHECK(f.link_type() == kLinkTypeEthernet);  // known before the first record
      CHECK(f.snaplen() == 64);
      std::vector<Rec> got;
      Record r;
      while (f.next(r)) got.push_back({Bytes(r.data, r.data + r.caplen), r.caplen, r.wirelen, r.ts_ns, r.link_type, r.index});
      CHECK(f.error() == "");
      REQUIRE(got.size() == s.expected.size());
      for (size_t i = 0; i < got.size(); ++i) {
        CAPTURE(i);
        CHECK(got[i].data == s.expected[i].data);
        CHECK(got[i].caplen == s.expected[i].caplen);
        CHECK(got[i].wirelen == s.expected[i].wirelen);
        CHECK(got[i].ts_ns == s.expected[i].ts_ns);
        CHECK(got[i].link_type == s.expected[i].link_type);
        CHECK(got[i].index == s.expected[i].index);
      }
      CHECK(f.link_type() == kLinkTypeLinuxSll);  // the second section's first interface
      CHECK(f.offset() == f.size());
    }
  }
}

TEST_CASE("pcapng: if_tsresol variants") {
  TempDir dir;
  const std::string path = dir.file("res.pcapng");
  struct Case {
    uint8_t tsresol;
    uint64_t ts;
    uint64_t ns;
  };
  const Case cases[] = {
      {0, 7, 7 * kSec},                                     // seconds
      {1, 15, 1500000000ull},                               // deciseconds
      {6, 1700000000000001ull, 1700000000000001000ull},     // microseconds
      {9, 1700000000000000001ull, 1700000000000000001ull},  // nanoseconds
      {10, 12345678901ull, 1234567890ull},                  // 10^-10 s, floored
      {19, 10000000000000000000ull, kSec},                  // 10^-19 s: 1 s
      {0x80 | 0, 3, 3 * kSec},                              // 2^0
      {0x80 | 1, 3, 1500000000ull},                         // 2^-1
      {0x80 | 10, 1024 + 1, kSec + 976562},                 // 2^-10: 1/1024 s = 976562.5 ns
      {0x80 | 30, (1ull << 30) * 100 + (1ull << 28), 100 * kSec + kSec / 4},
      {0x80 | 63, 1ull << 62, kSec / 2},
  };
  for (const Case& c : cases) {
    CAPTURE(int(c.tsresol));
    PcapngBuilder b;
    b.shb(false).idb(kLinkTypeEthernet, 0, {{9, {c.tsresol}}}).epb(0, c.ts, payload(1, 0), 1);
    REQUIRE(write_file(path, b.bytes));
    const ReadResult res = read_all(path);
    CHECK(res.error == "");
    REQUIRE(res.records.size() == 1);
    CHECK(res.records[0].ts_ns == c.ns);
  }
}

TEST_CASE("pcapng: damaged blocks are errors naming file, record or block, and offset") {
  TempDir dir;
  const std::string path = dir.file("bad.pcapng");
  auto error_of = [&](const Bytes& bytes) {
    REQUIRE(write_file(path, bytes));
    return read_all(path).error;
  };
  auto base = [] {
    PcapngBuilder b;
    b.shb(false).idb(kLinkTypeEthernet, 0);
    return b;
  };
  // shb is 28 bytes, idb 20: the first packet block starts at 48.
  SUBCASE("interface id not described") {
    PcapngBuilder b = base();
    b.epb(0, 1, payload(4, 0), 4).epb(2, 1, payload(4, 0), 4);
    CHECK(error_of(b.bytes) == path + ": record 1 at offset 84: interface id 2 is not described (the section has 1 interface)");
  }
  SUBCASE("interfaces do not survive a new section") {
    PcapngBuilder b = base();
    b.shb(true).epb(0, 1, payload(4, 0), 4);
    CHECK(error_of(b.bytes) == path + ": record 0 at offset 76: interface id 0 is not described (the section has 0 interfaces)");
  }
  SUBCASE("trailing total length differs") {
    PcapngBuilder b = base();
    b.epb(0, 1, payload(4, 0), 4);
    b.bytes[b.bytes.size() - 4] = 99;
    CHECK(error_of(b.bytes) ==
          path + ": enhanced packet block at offset 48 (before record 0): block total length 36 does not match its trailing copy 99");
  }
  SUBCASE("total length not a multiple of 4") {
    PcapngBuilder b = base();
    b.epb(0, 1, payload(4, 0), 4);
    b.bytes[48 + 4] = 35;
    CHECK(error_of(b.bytes) ==
          path + ": enhanced packet block at offset 48 (before record 0): block total length 35 is not a multiple of 4 of at least 12");
  }
  SUBCASE("total length below the minimum") {
    PcapngBuilder b = base();
    b.epb(0, 1, payload(4, 0), 4);
    b.bytes[48 + 4] = 8;
    CHECK(contains(error_of(b.bytes), "block total length 8 is not a multiple of 4 of at least 12"));
  }
  SUBCASE("total length past the end of the file") {
    PcapngBuilder b = base();
    b.epb(0, 1, payload(4, 0), 4);
    b.bytes[48 + 4] = 40;
    CHECK(error_of(b.bytes) ==
          path + ": enhanced packet block at offset 48 (before record 0): block total length 40 runs past the end of the file (36 bytes left)");
  }
  SUBCASE("caplen past the end of its block") {
    PcapngBuilder b = base();
    b.epb(0, 1, payload(4, 0), 4);
    b.bytes[48 + 8 + 12] = 5;
    CHECK(error_of(b.bytes) == path + ": record 0 at offset 48: caplen 5 runs past the end of its block (4 bytes of data)");
  }
  SUBCASE("packet block body too short") {
    PcapngBuilder b = base();
    b.block(kPcapngBlockEpb, payload(16, 0));
    CHECK(error_of(b.bytes) == path + ": record 0 at offset 48: enhanced packet block body of 16 bytes is too short");
  }
  SUBCASE("simple packet block before any interface") {
    PcapngBuilder b;
    b.shb(false).spb(payload(4, 0), 4);
    CHECK(error_of(b.bytes) == path + ": record 0 at offset 28: simple packet block before any interface description");
  }
  SUBCASE("bad byte-order magic") {
    PcapngBuilder b = base();
    b.bytes[8] = 0;
    CHECK(error_of(b.bytes) == path + ": section header block at offset 0 (before record 0): bad byte-order magic 003c2b1a");
  }
  SUBCASE("unsupported version") {
    PcapngBuilder b;
    b.shb(true, 2);
    CHECK(error_of(b.bytes) ==
          path + ": section header block at offset 0 (before record 0): unsupported pcapng version 2.0 (only 1.x is known)");
  }
  SUBCASE("bad if_tsresol") {
    PcapngBuilder b;
    b.shb(false).idb(kLinkTypeEthernet, 0, {{9, {6, 6}}});
    CHECK(error_of(b.bytes) ==
          path + ": interface description block at offset 28 (before record 0): if_tsresol of 2 bytes (1 expected)");
    PcapngBuilder c;
    c.shb(false).idb(kLinkTypeEthernet, 0, {{9, {20}}});
    CHECK(contains(error_of(c.bytes), "unsupported if_tsresol 10^-20"));
    PcapngBuilder d;
    d.shb(false).idb(kLinkTypeEthernet, 0, {{9, {0x80 | 64}}});
    CHECK(contains(error_of(d.bytes), "unsupported if_tsresol 2^-64"));
  }
  SUBCASE("option past the end of its block") {
    PcapngBuilder b;
    b.shb(false).idb(kLinkTypeEthernet, 0, {{2, payload(4, 0)}});
    b.bytes[28 + 8 + 8 + 2] = 9;  // if_name length 9 in a block with room for 8
    CHECK(contains(error_of(b.bytes), "option 2 of 9 bytes runs past the end of its block"));
  }
  SUBCASE("interface block body too short") {
    PcapngBuilder b;
    b.shb(false).block(kPcapngBlockIdb, payload(4, 0));
    CHECK(contains(error_of(b.bytes), "interface description block at offset 28 (before record 0): body of 4 bytes is too short"));
  }
  SUBCASE("a few bytes after the last block") {
    PcapngBuilder b = base();
    b.epb(0, 1, payload(4, 0), 4);
    b.bytes.insert(b.bytes.end(), {1, 2, 3});
    CHECK(error_of(b.bytes) == path + ": block at offset 84 (before record 1): truncated block header (3 bytes left)");
  }
}

TEST_CASE("pcapng: every truncation of a valid file is a clean shorter file or an error, never a crash") {
  TempDir dir;
  const std::string path = dir.file("cut.pcapng");
  for (bool be : {false, true}) {
    const Sample s = sample_ng(be, !be);
    const Bytes& full = s.b.bytes;
    for (size_t n = 0; n < full.size(); ++n) {
      CAPTURE(n);
      REQUIRE(write_file(path, full, n));
      const ReadResult res = read_all(path);
      // A cut at a block start (after the first section header) loses only the blocks after it.
      size_t packets_before = 0;
      bool at_boundary = false;
      for (const auto& [start, is_packet] : s.b.blocks) {
        if (start == n) at_boundary = n > 0;
        if (start < n && is_packet) ++packets_before;
      }
      if (at_boundary) {
        CHECK(res.error == "");
        CHECK(res.records.size() == packets_before);
      } else {
        CHECK(contains(res.error, path + ": "));
      }
      REQUIRE(res.records.size() <= s.expected.size());
      for (size_t i = 0; i < res.records.size(); ++i) CHECK(res.records[i] == s.expected[i]);
    }
  }
}

TEST_CASE("pcapng and pcap: random corruption never reads outside the file's bytes") {
  // Deterministic: a fixed seed, so a failure reproduces. read_all() checks every record against
  // the window bounds; the sanitizer build checks the rest.
  TempDir dir;
  const std::string path = dir.file("fuzz");
  std::mt19937 rng(12345);
  const Bytes ng = sample_ng(false, true).b.bytes;
  const Bytes pcap = PcapBuilder(true, false).add(1, 2, payload(30, 1), 30).add(3, 4, payload(9, 2), 9).bytes;
  const uint32_t interesting[] = {0, 1, 3, 12, 0x7fffffff, 0xffffffff, 0xfffffff4, 65535, 262144, 262145};
  int errors = 0, clean = 0;
  for (const Bytes* base : {&ng, &pcap}) {
    for (int iter = 0; iter < 1500; ++iter) {
      Bytes b = *base;
      const int edits = 1 + static_cast<int>(rng() % 3);
      for (int e = 0; e < edits; ++e) {
        const size_t at = rng() % b.size();
        if (rng() % 2) {
          b[at] = static_cast<uint8_t>(rng());
        } else {
          const uint32_t v = interesting[rng() % (sizeof interesting / sizeof interesting[0])];
          const size_t word = (at / 4) * 4;
          if (word + 4 <= b.size()) std::memcpy(&b[word], &v, 4);
        }
      }
      REQUIRE(write_file(path, b));
      const ReadResult res = read_all(path);
      CHECK(res.error != "record outside the window");
      if (res.error.empty()) ++clean; else ++errors;
    }
  }
  // Both outcomes occur, so the corruption reaches the length checks.
  CHECK(errors > 100);
  CHECK(clean > 100);
}
