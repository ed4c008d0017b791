// PcapFile against libpcap (pcap_open_offline + pcap_next_ex, nanosecond precision), record by
// record, over the shared traces and over hand-built pcapng files; and the trace record counts
// against tcpdump's.
#ifndef DOCTEST_CONFIG_NO_EXCEPTIONS_BUT_WITH_ALL_ASSERTS
#define DOCTEST_CONFIG_NO_EXCEPTIONS_BUT_WITH_ALL_ASSERTS  // the core builds with -fno-exceptions
#endif
#include <doctest/doctest.h>
#include <pcap/pcap.h>

#include <map>

#include "capture/link_types.h"
#include "capture/pcap_file.h"
#include "capture_test_util.h"

using namespace sgfw::capture;
using namespace sgfw::capture::test;

namespace {

// ../shared/traces seen from where the tests usually run (the repo root, native/ under make, or
// test/native); SGFW_TRACES overrides.
std::string find_traces_dir() {
  if (const char* env = std::getenv("SGFW_TRACES"); env && *env) return env;
  for (const char* cand : {"../shared/traces", "../../shared/traces", "../../../shared/traces"}) {
    struct stat st;
    if (stat(cand, &st) == 0 && S_ISDIR(st.st_mode)) return cand;
  }
  return "";
}

std::vector<std::string> pcap_files(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      const std::string n = e->d_name;
      if (n.size() > 5 && n.compare(n.size() - 5, 5, ".pcap") == 0) out.push_back(n);
    }
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// libpcap reports DLT_* values; map back the few that differ from the file's LINKTYPE_*.
uint32_t dlt_to_linktype(int dlt) {
  switch (dlt) {
    case DLT_RAW: return kLinkTypeRaw;
#ifdef DLT_LOOP
    case DLT_LOOP: return kLinkTypeLoop;
#endif
    default: return static_cast<uint32_t>(dlt);
  }
}

// Reads the whole file with libpcap; error set if libpcap fails.
ReadResult read_with_libpcap(const std::string& path) {
  ReadResult out;
  char errbuf[PCAP_ERRBUF_SIZE] = "";
  pcap_t* p = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (p == nullptr) {
    out.error = errbuf;
    return out;
  }
  out.opened = true;
  const uint32_t link = dlt_to_linktype(pcap_datalink(p));
  pcap_pkthdr* h;
  const u_char* data;
  int rc;
  uint64_t i = 0;
  while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
    // libpcap sign-extends the 32-bit seconds of a pcap record; the format says unsigned
    // (draft-ietf-opsawg-pcap), as PcapFile reads them.
    const uint64_t ts = uint64_t(uint32_t(h->ts.tv_sec)) * 1000000000ull + uint64_t(h->ts.tv_usec);  // ns here
    out.records.push_back({Bytes(data, data + h->caplen), h->caplen, h->len, ts, link, i++});
  }
  if (rc != PCAP_ERROR_BREAK) out.error = pcap_geterr(p);
  pcap_close(p);
  return out;
}

// `no_ts`: records whose timestamps are not compared. libpcap gives a Simple Packet Block a zero
// timestamp; PcapFile gives it the previous record's (an SPB carries none, and replay wants time
// to move forward for conntrack timeouts).
void check_same_as_libpcap(const std::string& path, const std::vector<size_t>& no_ts = {}) {
  CAPTURE(path);
  const ReadResult ours = read_all(path);
  const ReadResult theirs = read_with_libpcap(path);
  CHECK(ours.error == "");
  CHECK(theirs.error == "");
  REQUIRE(ours.records.size() == theirs.records.size());
  for (size_t i = 0; i < ours.records.size(); ++i) {
    CAPTURE(i);
    CHECK(ours.records[i].caplen == theirs.records[i].caplen);
    CHECK(ours.records[i].wirelen == theirs.records[i].wirelen);
    if (std::find(no_ts.begin(), no_ts.end(), i) == no_ts.end()) {
      CHECK(ours.records[i].ts_ns == theirs.records[i].ts_ns);
    } else {
      CHECK(theirs.records[i].ts_ns == 0);
      CHECK(ours.records[i].ts_ns == ours.records[i - 1].ts_ns);
    }
    CHECK(ours.records[i].link_type == theirs.records[i].link_type);
    CHECK(ours.records[i].data == theirs.records[i].data);
  }
}

}  // namespace

TEST_CASE("traces: record counts match tcpdump and every record matches libpcap") {
  const std::string dir = find_traces_dir();
  if (dir.empty()) {
    MESSAGE("skipped: ../shared/traces not found (set SGFW_TRACES to its path)");
    return;
  }
  // Counts observed with `tcpdump -r FILE 2>/dev/null | wc -l` (tcpdump 4.99 / libpcap 1.10.3),
  // one line per packet, for the traces of ../shared/traces/SOURCES.tsv.
  const std::map<std::string, size_t> tcpdump_counts = {
      {"sv-dns-udp-icmp-portunreach.pcap", 7}, {"sv-ipv4frags-icmp.pcap", 3},
      {"sv-rawip-frag-tcp-syn.pcap", 3},       {"sv-smtp-icmp-fragneeded.pcap", 60},
      {"sv-tcp-ipv6-useless-fraghdr.pcap", 8}, {"sv-tcp-oow-ipv4.pcap", 3},
      {"sv-tcp-oow-ipv6.pcap", 3},             {"sv-tcp-session-equivalence.pcap", 10},
      {"sv-vlan-ipv6-frag-tcp.pcap", 3},       {"tcpdump-ipv4-invalid-hdr-length.pcap", 1},
      {"zeek-communityid-ipv6.pcap", 17},      {"zeek-communityid-tcp.pcap", 12},
      {"zeek-gre-sample.pcap", 40},            {"zeek-icmp-dot1q.pcap", 15},
      {"zeek-icmp6-toobig.pcap", 1},           {"zeek-ipv6-fragmented-dns.pcap", 8},
      {"zeek-ipv6-hbh-routing0.pcap", 1},      {"zeek-tcp-syn-then-rst.pcap", 2},
      {"zeek-trunc-ip4.pcap", 1},              {"zeek-trunc-ip6-ext.pcap", 1},
  };
  const std::vector<std::string> files = pcap_files(dir);
  CHECK(files.size() >= tcpdump_counts.size());
  size_t counted = 0;
  for (const std::string& name : files) {
    CAPTURE(name);
    const std::string path = dir + "/" + name;
    const ReadResult ours = read_all(path);
    CHECK(ours.error == "");
    if (auto it = tcpdump_counts.find(name); it != tcpdump_counts.end()) {
      CHECK(ours.records.size() == it->second);
      ++counted;
    } else {
      MESSAGE("no tcpdump count recorded for " << name << "; compared with libpcap only");
    }
    check_same_as_libpcap(path);
  }
  CHECK(counted == tcpdump_counts.size());
}

TEST_CASE("pcapng and pcap: hand-built files match libpcap") {
  TempDir dir;
  const std::string path = dir.file("lib.pcapng");
  for (bool be : {false, true}) {
    for (uint8_t tsresol : {uint8_t{6}, uint8_t{9}, uint8_t{3}}) {
      CAPTURE(be);
      CAPTURE(int(tsresol));
      // libpcap wants every interface of a file to share one link type and snaplen.
      PcapngBuilder b;
      b.shb(be);
      b.idb(kLinkTypeEthernet, 128, {{9, {tsresol}}});
      b.block(0x00000bad, payload(9, 0));
      b.idb(kLinkTypeEthernet, 128);
      b.epb(0, 1700000000123456789ull / (tsresol == 9 ? 1 : tsresol == 6 ? 1000 : 1000000), payload(60, 1), 60);
      b.epb(1, 1700000000123456ull, payload(61, 2), 1514, true);
      b.spb(payload(90, 3), 90);
      b.epb(0, 1800000000000000000ull / (tsresol == 9 ? 1 : tsresol == 6 ? 1000 : 1000000), payload(1, 4), 1);
      REQUIRE(write_file(path, b.bytes));
      check_same_as_libpcap(path, {2});
    }
  }
  for (bool be : {false, true}) {
    for (bool nano : {false, true}) {
      PcapBuilder p(be, nano, 65535, kLinkTypeRaw);
      p.add(1, 2, payload(40, 1), 40).add(4000000000u, nano ? 999999999 : 999999, payload(3, 2), 300);
      REQUIRE(write_file(dir.file("lib.pcap"), p.bytes));
      check_same_as_libpcap(dir.file("lib.pcap"));
    }
  }
}
