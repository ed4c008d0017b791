// Classic pcap through PcapFile: both byte orders and resolutions, every damaged length, every
// truncation, and link_types.h.
#ifndef DOCTEST_CONFIG_NO_EXCEPTIONS_BUT_WITH_ALL_ASSERTS
#define DOCTEST_CONFIG_NO_EXCEPTIONS_BUT_WITH_ALL_ASSERTS  // the core builds with -fno-exceptions
#endif
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "capture/link_types.h"
#include "capture/pcap_file.h"
#include "capture_test_util.h"

using namespace sgfw::capture;
using namespace sgfw::capture::test;

namespace {

// Three records: empty, odd-sized, full-sized with wirelen > caplen.
PcapBuilder sample_pcap(bool be, bool nano) {
  PcapBuilder b(be, nano, 65535, 1);
  b.add(1700000000, nano ? 123456789 : 123456, payload(0, 1), 0);
  b.add(1700000001, nano ? 999999999 : 999999, payload(7, 2), 7);
  b.add(4000000000u, 1, payload(60, 3), 1514);  // seconds beyond 2^31: unsigned in the format
  return b;
}

// Offsets at which a record of sample_pcap starts (a truncation there is a clean, shorter file).
std::vector<size_t> sample_boundaries() { return {24, 24 + 16, 24 + 16 + 16 + 7, 24 + 16 + 16 + 7 + 16 + 60}; }

}  // namespace

TEST_CASE("pcap: both byte orders and both resolutions read back exactly") {
  TempDir dir;
  for (bool be : {false, true}) {
    for (bool nano : {false, true}) {
      CAPTURE(be);
      CAPTURE(nano);
      const std::string path = dir.file("t.pcap");
      REQUIRE(write_file(path, sample_pcap(be, nano).bytes));
      PcapFile f;
      REQUIRE(f.open(path.c_str()));
      CHECK(f.format() == TraceFormat::Pcap);
      CHECK(f.link_type() == kLinkTypeEthernet);
      CHECK(f.snaplen() == 65535);
      CHECK(f.offset() == 24);
      CHECK(f.size() == 24 + 16 * 3 + 67);
      Record r;
      REQUIRE(f.next(r));
      CHECK(r.caplen == 0);
      CHECK(r.wirelen == 0);
      CHECK(r.ts_ns == 1700000000ull * 1000000000ull + 123456789ull - (nano ? 0 : 789));
      CHECK(r.index == 0);
      CHECK(r.link_type == 1);
      REQUIRE(f.next(r));
      CHECK(Bytes(r.data, r.data + r.caplen) == payload(7, 2));
      CHECK(r.wirelen == 7);
      CHECK(r.ts_ns == 1700000001ull * 1000000000ull + 999999999ull - (nano ? 0 : 999));
      CHECK(r.index == 1);
      REQUIRE(f.next(r));
      CHECK(Bytes(r.data, r.data + r.caplen) == payload(60, 3));
      CHECK(r.caplen == 60);
      CHECK(r.wirelen == 1514);
      CHECK(r.ts_ns == 4000000000ull * 1000000000ull + (nano ? 1 : 1000));
      CHECK(r.index == 2);
      CHECK_FALSE(f.next(r));
      CHECK_FALSE(f.failed());
      CHECK_FALSE(f.next(r));  // stays at the end
      CHECK(f.records_read() == 3);
      CHECK(f.offset() == f.size());
    }
  }
}

TEST_CASE("pcap: a header with no records is an empty trace") {
  TempDir dir;
  const std::string path = dir.file("empty.pcap");
  REQUIRE(write_file(path, PcapBuilder(false, false, 262144, 101).bytes));
  const ReadResult res = read_all(path);
  CHECK(res.opened);
  CHECK(res.records.empty());
  CHECK(res.error.empty());
}

TEST_CASE("pcap: the link type is the low 16 bits; FCS bits are not part of it") {
  TempDir dir;
  const std::string path = dir.file("fcs.pcap");
  PcapBuilder b(true, false, 65535, 0x04000000u | (2u << 28) | kLinkTypeLinuxSll2);
  b.add(1, 2, payload(20, 9), 20);
  REQUIRE(write_file(path, b.bytes));
  PcapFile f;
  REQUIRE(f.open(path.c_str()));
  CHECK(f.link_type() == kLinkTypeLinuxSll2);
  Record r;
  REQUIRE(f.next(r));
  CHECK(r.link_type == kLinkTypeLinuxSll2);
}

TEST_CASE("pcap: caplen beyond the snaplen is an error naming file, record and offset") {
  TempDir dir;
  const std::string path = dir.file("trace.pcap");
  PcapBuilder b(false, false, 65535, 1);
  b.add(1, 0, payload(10, 0), 10);
  b.add(2, 0, payload(100, 0), 70000, 70000);  // claims 70000 bytes; the file has 100
  REQUIRE(write_file(path, b.bytes));
  const ReadResult res = read_all(path);
  REQUIRE(res.opened);
  CHECK(res.records.size() == 1);
  CHECK(res.error == path + ": record 1 at offset 50: caplen 70000 exceeds snaplen 65535");
}

TEST_CASE("pcap: a snaplen below 65535 or above 256 KiB is not trusted as the bound") {
  TempDir dir;
  const std::string path = dir.file("t.pcap");
  SUBCASE("small snaplen, larger records are read (libpcap reads them too)") {
    PcapBuilder b(false, false, 96, 1);
    b.add(1, 0, payload(1500, 0), 1500);
    REQUIRE(write_file(path, b.bytes));
    const ReadResult res = read_all(path);
    CHECK(res.error.empty());
    REQUIRE(res.records.size() == 1);
    CHECK(res.records[0].caplen == 1500);
  }
  SUBCASE("small snaplen, still bounded by 65535") {
    PcapBuilder b(false, false, 96, 1);
    b.add(1, 0, payload(70000, 0), 70000);
    REQUIRE(write_file(path, b.bytes));
    const ReadResult res = read_all(path);
    CHECK(res.records.empty());
    CHECK(res.error == path + ": record 0 at offset 24: caplen 70000 exceeds the limit of 65535 bytes (file snaplen 96)");
  }
  SUBCASE("snaplen 0, bounded by 256 KiB") {
    PcapBuilder b(true, true, 0, 1);
    b.add(1, 0, payload(200000, 0), 200000);
    b.add(1, 0, payload(8, 0), 300000, 300000);
    REQUIRE(write_file(path, b.bytes));
    const ReadResult res = read_all(path);
    CHECK(res.records.size() == 1);
    CHECK(res.error == path + ": record 1 at offset 200040: caplen 300000 exceeds the limit of 262144 bytes (file snaplen 0)");
  }
}

TEST_CASE("pcap: truncated record header and data") {
  TempDir dir;
  const std::string path = dir.file("cut.pcap");
  const Bytes full = sample_pcap(false, false).bytes;
  REQUIRE(write_file(path, full, 24 + 16 + 16 + 7 + 5));
  ReadResult res = read_all(path);
  CHECK(res.records.size() == 2);
  CHECK(res.error == path + ": record 2 at offset 63: truncated record header (5 of 16 bytes)");
  REQUIRE(write_file(path, full, full.size() - 1));
  res = read_all(path);
  CHECK(res.records.size() == 2);
  CHECK(res.error == path + ": record 2 at offset 63: truncated record data (caplen 60, 59 bytes left in the file)");
}

TEST_CASE("pcap: every truncation of a valid file is a clean shorter file or an error, never a crash") {
  TempDir dir;
  const std::string path = dir.file("cut.pcap");
  for (bool be : {false, true}) {
    const Bytes full = sample_pcap(be, true).bytes;
    const std::vector<Rec> expected = [&] {
      REQUIRE(write_file(path, full));
      return read_all(path).records;
    }();
    REQUIRE(expected.size() == 3);
    const std::vector<size_t> bounds = sample_boundaries();
    for (size_t n = 0; n < full.size(); ++n) {
      CAPTURE(n);
      REQUIRE(write_file(path, full, n));
      const ReadResult res = read_all(path);
      const auto at = std::find(bounds.begin(), bounds.end(), n);
      if (at != bounds.end()) {
        CHECK(res.error.empty());
        CHECK(res.records.size() == static_cast<size_t>(at - bounds.begin()));
      } else {
        CHECK_FALSE(res.error.empty());
        CHECK(contains(res.error, path + ": "));
      }
      // Whatever was read before the damage is exactly what the whole file holds.
      REQUIRE(res.records.size() <= expected.size());
      for (size_t i = 0; i < res.records.size(); ++i) CHECK(res.records[i] == expected[i]);
    }
  }
}

TEST_CASE("pcap: files that are not traces are refused with the file named") {
  TempDir dir;
  const std::string path = dir.file("bad.pcap");
  SUBCASE("missing") {
    const ReadResult res = read_all(path);
    CHECK_FALSE(res.opened);
    CHECK(res.error == path + ": No such file or directory");
  }
  SUBCASE("a directory") {
    const ReadResult res = read_all(dir.path);
    CHECK_FALSE(res.opened);
    CHECK(res.error == dir.path + ": not a regular file");
  }
  SUBCASE("a character device") {
    const ReadResult res = read_all("/dev/null");
    CHECK_FALSE(res.opened);
    CHECK(res.error == "/dev/null: not a regular file");
  }
  SUBCASE("a FIFO") {
    // O_RDONLY on a FIFO with no writer would block; a writer end held open lets open() proceed.
    const std::string fifo = dir.file("fifo");
    REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
    const int wfd = ::open(fifo.c_str(), O_RDWR);
    REQUIRE(wfd >= 0);
    const ReadResult res = read_all(fifo);
    ::close(wfd);
    CHECK_FALSE(res.opened);
    CHECK(res.error == fifo + ": not a regular file");
  }
  SUBCASE("empty") {
    REQUIRE(write_file(path, Bytes{}));
    CHECK(read_all(path).error == path + ": empty file");
  }
  SUBCASE("too short for a magic") {
    REQUIRE(write_file(path, Bytes{0xd4, 0xc3}));
    CHECK(read_all(path).error == path + ": file of 2 bytes is too short for a pcap or pcapng header");
  }
  SUBCASE("unknown magic") {
    REQUIRE(write_file(path, Bytes{'P', 'K', 3, 4, 0, 0, 0, 0}));
    CHECK(read_all(path).error == path + ": not a pcap or pcapng file (magic 0x504b0304)");
  }
  SUBCASE("truncated file header") {
    Bytes b = PcapBuilder(false, false).bytes;
    b.resize(20);
    REQUIRE(write_file(path, b));
    CHECK(read_all(path).error == path + ": truncated pcap file header (20 of 24 bytes)");
  }
  SUBCASE("unknown major version") {
    Bytes b = PcapBuilder(false, false).bytes;
    b[4] = 3;
    REQUIRE(write_file(path, b));
    CHECK(read_all(path).error == path + ": unsupported pcap version 3.4 (only 2.x is known)");
  }
  SUBCASE("modified (Kuznetsov) pcap") {
    Bytes b = PcapBuilder(false, false).bytes;
    b[0] = 0x34;
    b[1] = 0xcd;
    REQUIRE(write_file(path, b));
    CHECK(read_all(path).error == path + ": unsupported modified (Kuznetsov) pcap format, magic 0xa1b2cd34");
  }
}

TEST_CASE("pcap: close() and reopen") {
  TempDir dir;
  const std::string a = dir.file("a.pcap"), b = dir.file("b.pcapng");
  REQUIRE(write_file(a, sample_pcap(false, false).bytes));
  PcapngBuilder ng;
  ng.shb(true).idb(kLinkTypeRaw, 0).epb(0, 5, payload(3, 0), 3);
  REQUIRE(write_file(b, ng.bytes));
  PcapFile f;
  Record r;
  REQUIRE(f.open(a.c_str()));
  REQUIRE(f.next(r));
  REQUIRE(f.open(b.c_str()));  // implicitly closes a
  CHECK(f.format() == TraceFormat::Pcapng);
  REQUIRE(f.next(r));
  CHECK(r.index == 0);
  CHECK(r.link_type == kLinkTypeRaw);
  f.close();
  f.close();
  CHECK_FALSE(f.next(r));
  CHECK(f.format() == TraceFormat::None);
}

TEST_CASE("link types: names for messages") {
  CHECK(std::string(link_type_name(147)) == "LINKTYPE_USER0");
  CHECK(std::string(link_type_name(kLinkTypeEthernet)) == "LINKTYPE_ETHERNET");
  CHECK(std::string(link_type_name(kLinkTypeRaw)) == "LINKTYPE_RAW");
  CHECK(std::string(link_type_name(kLinkTypeLinuxSll)) == "LINKTYPE_LINUX_SLL");
  CHECK(std::string(link_type_name(kLinkTypeLinuxSll2)) == "LINKTYPE_LINUX_SLL2");
  CHECK(std::string(link_type_name(kLinkTypeIpv4)) == "LINKTYPE_IPV4");
  CHECK(std::string(link_type_name(kLinkTypeIpv6)) == "LINKTYPE_IPV6");
  CHECK(std::string(link_type_name(kLinkTypeNull)) == "LINKTYPE_NULL");
  CHECK(std::string(link_type_name(kLinkTypeLoop)) == "LINKTYPE_LOOP");
  CHECK(std::string(link_type_name(127)) == "LINKTYPE_IEEE802_11_RADIOTAP");
  CHECK(std::string(link_type_name(162)) == "LINKTYPE_USER15");
  CHECK(link_type_name(11) == nullptr);
  CHECK(link_type_name(999) == nullptr);
  char buf[64];
  CHECK(std::string(describe_link_type(147, buf, sizeof buf)) == "147 (LINKTYPE_USER0)");
  CHECK(std::string(describe_link_type(65000, buf, sizeof buf)) == "65000 (unregistered)");
  // The lookup is a binary search: the table must be strictly increasing.
  for (size_t i = 1; i < sizeof(kLinkTypeNames) / sizeof(kLinkTypeNames[0]); ++i)
    CHECK(kLinkTypeNames[i - 1].value < kLinkTypeNames[i].value);
  static_assert(link_type_name(kLinkTypeEthernet) != nullptr);
}
