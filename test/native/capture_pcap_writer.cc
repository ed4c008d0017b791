// PcapWriter: round trip through PcapFile and libpcap, snaplen cuts, and no partial output left
// behind on abort, error or destruction.
#ifndef DOCTEST_CONFIG_NO_EXCEPTIONS_BUT_WITH_ALL_ASSERTS
#define DOCTEST_CONFIG_NO_EXCEPTIONS_BUT_WITH_ALL_ASSERTS  // the core builds with -fno-exceptions
#endif
#include <doctest/doctest.h>
#include <pcap/pcap.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <csignal>

#include "capture/link_types.h"
#include "capture/pcap_file.h"
#include "capture/pcap_writer.h"
#include "capture_test_util.h"

using namespace sgfw::capture;
using namespace sgfw::capture::test;

namespace {

// Copies every record of `in` through a writer into `out`.
bool copy_trace(const std::string& in, const std::string& out, uint32_t snaplen, std::string& error) {
  PcapFile f;
  if (!f.open(in.c_str())) {
    error = f.error();
    return false;
  }
  PcapWriter w;
  if (!w.open(out.c_str(), f.link_type(), snaplen)) {
    error = w.error();
    return false;
  }
  Record r;
  while (f.next(r)) {
    if (!w.write(r)) {
      error = w.error();
      return false;
    }
  }
  if (f.failed()) {
    error = f.error();
    return false;
  }
  if (!w.close()) {
    error = w.error();
    return false;
  }
  return true;
}

}  // namespace

TEST_CASE("writer: pcap and pcapng inputs round-trip exactly") {
  TempDir dir;
  const std::string in = dir.file("in"), out = dir.file("out.pcap");
  // Microsecond big-endian pcap in, nanosecond host-order pcap out: the same records.
  PcapBuilder p(true, false, 65535, kLinkTypeEthernet);
  p.add(1700000000, 123456, payload(60, 1), 60).add(1700000000, 999999, payload(0, 2), 0).add(4000000000u, 1, payload(1514, 3), 1514);
  // pcapng with nanosecond stamps in: kept to the nanosecond.
  PcapngBuilder ng;
  ng.shb(false).idb(kLinkTypeRaw, 0, {{9, {9}}}).epb(0, 1700000000123456789ull, payload(40, 4), 40).spb(payload(33, 5), 99);
  for (const Bytes* input : {&p.bytes, &ng.bytes}) {
    REQUIRE(write_file(in, *input));
    std::string error;
    REQUIRE_MESSAGE(copy_trace(in, out, 0, error), error);
    const ReadResult a = read_all(in), b = read_all(out);
    CHECK(b.error == "");
    REQUIRE(a.records.size() == b.records.size());
    for (size_t i = 0; i < a.records.size(); ++i) CHECK(a.records[i] == b.records[i]);
    CHECK(dir.list() == std::vector<std::string>{"in", "out.pcap"});  // no temporary left

    // The header is the nanosecond magic with the given link type and the default snaplen.
    PcapFile f;
    REQUIRE(f.open(out.c_str()));
    CHECK(f.snaplen() == kMaxCaplen);
    CHECK(f.link_type() == a.records[0].link_type);
    const Bytes raw = read_file(out);
    CHECK(raw.size() >= 4);
    CHECK(raw[0] == 0x4d);  // 0xa1b23c4d, written in host (little-endian) order
    CHECK(raw[3] == 0xa1);

    // libpcap reads it too, to the nanosecond.
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t* lp = pcap_open_offline_with_tstamp_precision(out.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
    REQUIRE(lp != nullptr);
    pcap_pkthdr* h;
    const u_char* data;
    size_t i = 0;
    while (pcap_next_ex(lp, &h, &data) == 1 && i < a.records.size()) {
      // libpcap sign-extends the 32-bit seconds; the format says unsigned (draft-ietf-opsawg-pcap).
      CHECK(uint64_t(uint32_t(h->ts.tv_sec)) * 1000000000ull + uint64_t(h->ts.tv_usec) == a.records[i].ts_ns);
      CHECK(h->caplen == a.records[i].caplen);
      CHECK(h->len == a.records[i].wirelen);
      CHECK(Bytes(data, data + h->caplen) == a.records[i].data);
      ++i;
    }
    CHECK(i == a.records.size());
    pcap_close(lp);
  }
}

TEST_CASE("writer: records longer than the snaplen are cut to it, wire length kept") {
  TempDir dir;
  const std::string in = dir.file("in.pcap"), out = dir.file("out.pcap");
  PcapBuilder p(false, true);
  p.add(1, 2, payload(200, 1), 1500).add(3, 4, payload(50, 2), 50);
  REQUIRE(write_file(in, p.bytes));
  std::string error;
  REQUIRE_MESSAGE(copy_trace(in, out, 96, error), error);
  const ReadResult b = read_all(out);
  REQUIRE(b.records.size() == 2);
  CHECK(b.records[0].caplen == 96);
  CHECK(b.records[0].wirelen == 1500);
  const Bytes first = payload(200, 1);
  CHECK(b.records[0].data == Bytes(first.begin(), first.begin() + 96));
  CHECK(b.records[1].caplen == 50);
}

TEST_CASE("writer: output larger than the buffer is flushed in pieces and complete") {
  TempDir dir;
  const std::string out = dir.file("big.pcap");
  PcapWriter w;
  REQUIRE(w.open(out.c_str(), kLinkTypeEthernet));
  const Bytes data = payload(1500, 7);
  constexpr uint32_t kCount = 3000;  // ~4.5 MB: several 1 MiB flushes
  for (uint32_t i = 0; i < kCount; ++i) {
    Record r{data.data(), 1400 + i % 100, 1500, uint64_t(i) * 1000, kLinkTypeEthernet, i};
    REQUIRE(w.write(r));
    if (i == 1000) CHECK(dir.list().size() == 1);  // only the temporary exists, not the target
  }
  CHECK(w.records_written() == kCount);
  REQUIRE(w.close());
  const ReadResult res = read_all(out);
  CHECK(res.error == "");
  REQUIRE(res.records.size() == kCount);
  for (uint32_t i = 0; i < kCount; i += 333) {
    CHECK(res.records[i].caplen == 1400 + i % 100);
    CHECK(res.records[i].ts_ns == uint64_t(i) * 1000);
    CHECK(res.records[i].data == Bytes(data.begin(), data.begin() + 1400 + i % 100));
  }
  CHECK(dir.list() == std::vector<std::string>{"big.pcap"});
}

TEST_CASE("writer: no partial output left behind") {
  TempDir dir;
  const std::string out = dir.file("out.pcap");
  const Bytes data = payload(64, 1);
  const Record r{data.data(), 64, 64, 5, kLinkTypeEthernet, 0};

  SUBCASE("abort") {
    PcapWriter w;
    REQUIRE(w.open(out.c_str(), kLinkTypeEthernet));
    REQUIRE(w.write(r));
    CHECK(dir.list().size() == 1);  // the temporary
    w.abort();
    CHECK(dir.list().empty());
    CHECK_FALSE(w.close());  // nothing to close: an error, and still nothing on disk
    CHECK(dir.list().empty());
  }
  SUBCASE("destroyed without close") {
    {
      PcapWriter w;
      REQUIRE(w.open(out.c_str(), kLinkTypeEthernet));
      REQUIRE(w.write(r));
    }
    CHECK(dir.list().empty());
  }
  SUBCASE("abort keeps an existing target as it was") {
    REQUIRE(write_file(out, Bytes{1, 2, 3}));
    PcapWriter w;
    REQUIRE(w.open(out.c_str(), kLinkTypeEthernet));
    REQUIRE(w.write(r));
    w.abort();
    CHECK(read_file(out) == Bytes{1, 2, 3});
    CHECK(dir.list() == std::vector<std::string>{"out.pcap"});
  }
  SUBCASE("close replaces an existing target") {
    REQUIRE(write_file(out, Bytes{1, 2, 3}));
    PcapWriter w;
    REQUIRE(w.open(out.c_str(), kLinkTypeEthernet));
    REQUIRE(w.write(r));
    REQUIRE(w.close());
    CHECK(read_all(out).records.size() == 1);
    CHECK(dir.list() == std::vector<std::string>{"out.pcap"});
  }
  SUBCASE("a record of another link type fails the writer and deletes its file") {
    PcapWriter w;
    REQUIRE(w.open(out.c_str(), kLinkTypeRaw));
    CHECK_FALSE(w.write(r));
    CHECK(w.error() == out + ": record 0 has link type 1, the file was opened for link type 101");
    CHECK(dir.list().empty());
    CHECK_FALSE(w.write(r));  // stays failed
    CHECK_FALSE(w.close());
    CHECK(w.error() == out + ": record 0 has link type 1, the file was opened for link type 101");
    CHECK(dir.list().empty());
  }
  SUBCASE("a timestamp past 2106 does not fit") {
    PcapWriter w;
    REQUIRE(w.open(out.c_str(), kLinkTypeEthernet));
    Record late = r;
    late.ts_ns = (uint64_t{1} << 32) * 1000000000ull;
    CHECK_FALSE(w.write(late));
    CHECK(contains(w.error(), "does not fit a pcap file"));
    CHECK(dir.list().empty());
  }
  SUBCASE("rename failure (target is a directory) removes the temporary") {
    REQUIRE(mkdir(out.c_str(), 0700) == 0);
    PcapWriter w;
    REQUIRE(w.open(out.c_str(), kLinkTypeEthernet));
    REQUIRE(w.write(r));
    CHECK_FALSE(w.close());
    CHECK(contains(w.error(), "cannot rename"));
    CHECK(dir.list() == std::vector<std::string>{"out.pcap"});
    rmdir(out.c_str());
  }
  SUBCASE("a directory that does not exist") {
    PcapWriter w;
    const std::string missing = dir.file("no/such/dir.pcap");
    CHECK_FALSE(w.open(missing.c_str(), kLinkTypeEthernet));
    CHECK(contains(w.error(), missing + ": cannot create "));
    CHECK(contains(w.error(), "No such file or directory"));
    CHECK_FALSE(w.is_open());
  }
  SUBCASE("snaplen beyond the limit") {
    PcapWriter w;
    CHECK_FALSE(w.open(out.c_str(), kLinkTypeEthernet, kMaxCaplen + 1));
    CHECK(w.error() == out + ": snaplen 262145 exceeds the limit of 262144 bytes");
    CHECK(dir.list().empty());
  }
  SUBCASE("two writers on one directory use distinct temporaries") {
    PcapWriter a, b;
    REQUIRE(a.open(dir.file("a.pcap").c_str(), kLinkTypeEthernet));
    REQUIRE(b.open(dir.file("a.pcap").c_str(), kLinkTypeEthernet));
    CHECK(dir.list().size() == 2);
    REQUIRE(a.write(r));
    REQUIRE(a.close());
    b.abort();
    CHECK(dir.list() == std::vector<std::string>{"a.pcap"});
    CHECK(read_all(dir.file("a.pcap")).records.size() == 1);
  }
}

TEST_CASE("writer: write errors (disk full) fail the writer and delete its file") {
  // /dev/full cannot hold a temporary beside it, so fill a tiny tmpfs-like limit instead:
  // RLIMIT_FSIZE makes write() fail with EFBIG (SIGXFSZ ignored) without touching the disk.
  TempDir dir;
  const std::string out = dir.file("out.pcap");
  struct rlimit old;
  REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0);
  void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old;
  small.rlim_cur = 1 << 20;  // 1 MiB: the first flush of a full buffer crosses it
  REQUIRE(setrlimit(RLIMIT_FSIZE, &small) == 0);
  PcapWriter w;
  bool ok = w.open(out.c_str(), kLinkTypeEthernet);
  const Bytes data = payload(1500, 1);
  uint32_t written = 0;
  for (uint32_t i = 0; ok && i < 2000; ++i, ++written) ok = w.write(Record{data.data(), 1500, 1500, i, kLinkTypeEthernet, i});
  if (ok) ok = w.close();
  setrlimit(RLIMIT_FSIZE, &old);
  signal(SIGXFSZ, old_handler);
  CHECK_FALSE(ok);
  CHECK(written < 2000);
  CHECK(contains(w.error(), out + ": write failed: "));
  CHECK(dir.list().empty());
}
