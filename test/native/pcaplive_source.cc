// PcapLiveSource on a real veth: two network namespaces made here (a -- b, one veth pair,
// 198.18.77.0/24 and 2001:db8:77::/64), ping from a to b, capture on b's end. Needs root and
// `ip netns`; elsewhere each case says why in a MESSAGE and checks nothing else.
#ifndef DOCTEST_CONFIG_NO_EXCEPTIONS_BUT_WITH_ALL_ASSERTS
#define DOCTEST_CONFIG_NO_EXCEPTIONS_BUT_WITH_ALL_ASSERTS  // the core builds with -fno-exceptions
#endif
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "capture/link_types.h"
#include "capture/pcap_live_source.h"

using namespace sgfw::capture;

namespace {

uint64_t realtime_ns() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t monotonic_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000u + static_cast<uint64_t>(ts.tv_nsec) / 1000000u;
}

// Runs a shell command quietly; true on exit status 0. Every command here is bounded by
// `timeout` so a wedged tool cannot hang the suite.
bool sh(const std::string& cmd) {
  const std::string full = "timeout 20 " + cmd + " >/dev/null 2>&1";
  return std::system(full.c_str()) == 0;
}

std::string prefix() { return "sgfw-" + std::to_string(getpid()) + "-"; }

// Removes namespaces named sgfw-<pid>-* whose process is gone (a run killed before cleanup).
void sweep_stale() {
  FILE* p = popen("ip netns list 2>/dev/null", "r");
  if (!p) return;
  char line[512];
  std::vector<std::string> stale;
  while (std::fgets(line, sizeof line, p)) {
    std::string name(line);
    name = name.substr(0, name.find_first_of(" \n"));
    if (name.rfind("sgfw-", 0) != 0) continue;
    const size_t dash = name.find('-', 5);
    if (dash == std::string::npos || dash == 5) continue;
    const std::string pid = name.substr(5, dash - 5);
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    struct stat st;
    if (stat(("/proc/" + pid).c_str(), &st) != 0) stale.push_back(name);
  }
  pclose(p);
  for (const auto& n : stale) sh("ip netns del " + n);
}

// Why namespaces cannot be used here, or "" when they can (probed once).
const std::string& netns_unavailable() {
  static const std::string why = [] {
    if (geteuid() != 0) return std::string("not root");
    if (!sh("ip -V")) return std::string("the `ip` command (iproute2) is missing");
    if (!sh("ping -V")) return std::string("the `ping` command (iputils-ping) is missing");
    const std::string probe = prefix() + "probe";
    if (!sh("ip netns add " + probe)) return std::string("`ip netns add` fails here");
    sh("ip netns del " + probe);
    sweep_stale();
    return std::string();
  }();
  return why;
}

// Namespaces a and b joined by one veth pair (pl0 in a, pl1 in b), addressed and up. Removed
// on destruction, including on a failed CHECK (the destructor still runs at scope exit).
struct PingPair {
  std::string a = prefix() + "pla";
  std::string b = prefix() + "plb";
  bool ok = false;

  PingPair() {
    ok = sh("ip netns add " + a) && sh("ip netns add " + b) &&
         sh("ip -n " + a + " link add pl0 type veth peer name pl1 netns " + b) &&
         sh("ip -n " + a + " addr add 198.18.77.1/24 dev pl0") &&
         sh("ip -n " + b + " addr add 198.18.77.2/24 dev pl1") &&
         sh("ip -n " + a + " addr add 2001:db8:77::1/64 dev pl0 nodad") &&
         sh("ip -n " + b + " addr add 2001:db8:77::2/64 dev pl1 nodad") &&
         sh("ip -n " + a + " link set lo up") && sh("ip -n " + b + " link set lo up") &&
         sh("ip -n " + a + " link set pl0 up") && sh("ip -n " + b + " link set pl1 up");
  }
  ~PingPair() {
    sh("ip netns del " + a);
    sh("ip netns del " + b);
  }
  // count echo requests from a to b, 0.2 s apart, each waiting at most 1 s for its reply.
  bool ping(int count, bool v6 = false) const {
    return sh("ip netns exec " + a + " ping " + (v6 ? "-6 " : "-4 ") + "-c " + std::to_string(count) +
              " -i 0.2 -W 1 " + (v6 ? "2001:db8:77::2" : "198.18.77.2"));
  }
};

PcapLiveConfig config_in(const std::string& ns, const std::string& filter) {
  PcapLiveConfig cfg;
  cfg.netns = ns;
  cfg.filter = filter;
  cfg.buffer_mib = 2;
  return cfg;
}

// A frame seen by the test, copied out so it outlives its batch.
struct Seen {
  std::vector<uint8_t> bytes;
  uint32_t caplen, wirelen, link_type;
  uint64_t ts_ns, cookie;
};

// Receives until `want` frames arrived or deadline_ms passed; each call asks for at most `max`.
std::vector<Seen> collect(PcapLiveSource& src, size_t want, int max, int deadline_ms, int* biggest_batch = nullptr) {
  std::vector<Seen> out;
  std::vector<Frame> frames(static_cast<size_t>(max));
  const uint64_t end = monotonic_ms() + static_cast<uint64_t>(deadline_ms);
  while (out.size() < want && monotonic_ms() < end) {
    const int n = src.receive(frames.data(), max, 100);
    REQUIRE(n >= 0);
    if (biggest_batch && n > *biggest_batch) *biggest_batch = n;
    for (int i = 0; i < n; ++i) {
      const Frame& f = frames[static_cast<size_t>(i)];
      out.push_back(Seen{std::vector<uint8_t>(f.data, f.data + f.caplen), f.caplen, f.wirelen, f.link_type, f.ts_ns, f.cookie});
    }
    if (n > 0) src.complete(frames.data(), nullptr, n);
  }
  return out;
}

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

// ICMP (v4) type of an Ethernet frame, or -1.
int icmp4_type(const Seen& s) {
  if (s.caplen < 14 + 20 + 8 || be16(&s.bytes[12]) != 0x0800) return -1;
  const size_t ihl = (s.bytes[14] & 0x0f) * 4u;
  if (s.bytes[14 + 9] != 1 || s.caplen < 14 + ihl + 8) return -1;
  return s.bytes[14 + ihl];
}

// ICMPv6 type of an Ethernet frame with no extension headers, or -1.
int icmp6_type(const Seen& s) {
  if (s.caplen < 14 + 40 + 8 || be16(&s.bytes[12]) != 0x86dd || s.bytes[14 + 6] != 58) return -1;
  return s.bytes[14 + 40];
}

#define SKIP_WITHOUT_NETNS()                                                       \
  if (!netns_unavailable().empty()) {                                              \
    MESSAGE("skipped: network namespaces unavailable: " << netns_unavailable());   \
    return;                                                                        \
  }

}  // namespace

TEST_CASE("PcapLiveSource: bad configurations and missing interfaces fail with the interface named") {
  PcapLiveSource src;
  Frame f[4];
  CHECK(src.receive(f, 4, 0) == -1);  // never opened
  CHECK(src.error().find("not open") != std::string::npos);

  PcapLiveConfig cfg;
  cfg.snaplen = 0;
  CHECK_FALSE(src.open("sgfwnone0", cfg));
  CHECK(src.error().find("sgfwnone0") != std::string::npos);
  CHECK(src.error().find("snaplen") != std::string::npos);

  cfg = PcapLiveConfig{};
  cfg.max_batch = 0;
  CHECK_FALSE(src.open("sgfwnone0", cfg));
  CHECK(src.error().find("max_batch") != std::string::npos);

  cfg = PcapLiveConfig{};
  cfg.netns = prefix() + "absent";
  CHECK_FALSE(src.open("sgfwnone0", cfg));
  CHECK(src.error().find(cfg.netns) != std::string::npos);
  CHECK_FALSE(src.is_open());
}

TEST_CASE("PcapLiveSource: a missing interface inside a namespace is an error naming it") {
  SKIP_WITHOUT_NETNS();
  PingPair pair;
  REQUIRE(pair.ok);
  PcapLiveSource src;
  CHECK_FALSE(src.open("sgfwnone0", config_in(pair.b, "")));
  INFO(src.error());
  CHECK(src.error().rfind("pcap: sgfwnone0: ", 0) == 0);
  CHECK_FALSE(src.is_open());
  Frame f[4];
  CHECK(src.receive(f, 4, 0) == -1);
}

TEST_CASE("PcapLiveSource: a bad filter is refused with the filter text in the error") {
  SKIP_WITHOUT_NETNS();
  PingPair pair;
  REQUIRE(pair.ok);
  PcapLiveSource src;
  CHECK_FALSE(src.open("pl1", config_in(pair.b, "tcp port nonsense-port")));
  INFO(src.error());
  CHECK(src.error().find("pl1") != std::string::npos);
  CHECK(src.error().find("bad filter \"tcp port nonsense-port\"") != std::string::npos);
}

TEST_CASE("PcapLiveSource: IPv4 pings across a veth are captured with Ethernet framing and sane timestamps") {
  SKIP_WITHOUT_NETNS();
  PingPair pair;
  REQUIRE(pair.ok);
  PcapLiveSource src;
  REQUIRE_MESSAGE(src.open("pl1", config_in(pair.b, "icmp")), src.error());
  CHECK(src.link_type() == kLinkTypeEthernet);
  CHECK(src.warning().empty());

  const uint64_t before = realtime_ns();
  REQUIRE(pair.ping(5));  // every request answered: the capture does not get in the way
  const uint64_t after = realtime_ns();

  // 5 requests in, 5 replies out: a capture on Linux sees both directions.
  const std::vector<Seen> got = collect(src, 10, 64, 3000);
  REQUIRE(got.size() == 10);
  int requests = 0, replies = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const Seen& s = got[i];
    CHECK(s.link_type == kLinkTypeEthernet);
    CHECK(s.caplen == s.wirelen);  // small frames, whole within the snaplen
    CHECK(s.caplen == 14 + 20 + 8 + 56);
    CHECK(s.ts_ns >= before);
    CHECK(s.ts_ns <= after);
    if (i > 0) {
      CHECK(s.ts_ns >= got[i - 1].ts_ns);
      CHECK(s.cookie == got[i - 1].cookie + 1);
    }
    const int type = icmp4_type(s);
    requests += type == 8;
    replies += type == 0;
  }
  CHECK(requests == 5);
  CHECK(replies == 5);
  // Nanosecond timestamps: at least one of ten is not a whole microsecond (1 in 10^10 odds).
  if (src.nano_timestamps()) {
    bool sub_us = false;
    for (const Seen& s : got) sub_us |= s.ts_ns % 1000 != 0;
    CHECK(sub_us);
  }

  // Nothing more arrives: the filter kept out ARP and IPv6 neighbour traffic.
  Frame f[8];
  CHECK(src.receive(f, 8, 300) == 0);

  SourceStats st;
  src.stats(st);
  CHECK(st.ports == 1);
  // ps_recv may also count a frame or two that reached the socket between its creation and the
  // filter (libpcap drains those unseen): link-up chatter of a fresh veth.
  CHECK(st.port[0].received >= 10);
  CHECK(st.port[0].received <= 14);
  CHECK(st.port[0].kernel_drops == 0);
  const PcapLiveCounters c = src.counters();
  CHECK(c.delivered == 10);
  CHECK(c.ps_drop == 0);
}

TEST_CASE("PcapLiveSource: unfiltered IPv6 pings, batches bounded by max, frames of a batch distinct") {
  SKIP_WITHOUT_NETNS();
  PingPair pair;
  REQUIRE(pair.ok);
  PcapLiveSource src;
  PcapLiveConfig cfg = config_in(pair.b, "");
  cfg.max_batch = 4;  // receive() never returns more, whatever it is asked for
  REQUIRE_MESSAGE(src.open("pl1", cfg), src.error());

  REQUIRE(pair.ping(6, true));
  // Neighbour discovery comes along (no filter): wait until the 12 echo frames are in.
  std::vector<Seen> got;
  int biggest = 0;
  const uint64_t end = monotonic_ms() + 3000;
  auto echoes = [&] {
    int n = 0;
    for (const Seen& s : got) n += icmp6_type(s) == 128 || icmp6_type(s) == 129;
    return n;
  };
  while (echoes() < 12 && monotonic_ms() < end) {
    std::vector<Seen> more = collect(src, 1, 16, 200, &biggest);
    got.insert(got.end(), more.begin(), more.end());
  }
  int req = 0, rep = 0;
  for (const Seen& s : got) {
    req += icmp6_type(s) == 128;
    rep += icmp6_type(s) == 129;
  }
  CHECK(req == 6);
  CHECK(rep == 6);
  CHECK(biggest >= 1);
  CHECK(biggest <= 4);

  // Every frame handed out so far passed through the stats.
  SourceStats st;
  src.stats(st);
  CHECK(st.port[0].received >= got.size());
  CHECK(st.port[0].kernel_drops == 0);
}

TEST_CASE("PcapLiveSource: frames of one batch are separate copies that stay valid together") {
  SKIP_WITHOUT_NETNS();
  PingPair pair;
  REQUIRE(pair.ok);
  PcapLiveSource src;
  PcapLiveConfig cfg = config_in(pair.b, "icmp[icmptype] == icmp-echo");
  cfg.port = 1;
  REQUIRE_MESSAGE(src.open("pl1", cfg), src.error());
  REQUIRE(pair.ping(4));
  // The four requests sit in the ring; one receive() takes them all.
  Frame f[8];
  int n = 0;
  const uint64_t end = monotonic_ms() + 2000;
  while (n == 0 && monotonic_ms() < end) n = src.receive(f, 8, 100);
  REQUIRE(n == 4);
  for (int i = 0; i < n; ++i) {
    CHECK(f[i].port == 1);
    REQUIRE(f[i].caplen >= 14 + 20 + 8);
    // ICMP echo sequence numbers 1..4, each read from its own copy after the whole batch.
    const uint8_t* icmp = f[i].data + 14 + (f[i].data[14] & 0x0f) * 4;
    CHECK(icmp[0] == 8);
    CHECK(be16(icmp + 6) == i + 1);
    if (i > 0) CHECK(f[i].data != f[i - 1].data);
  }
  src.complete(f, nullptr, n);
  SourceStats st;
  src.stats(st);
  CHECK(st.ports == 2);  // counted under its port
  CHECK(st.port[1].received >= 4);  // see the IPv4 case on ps_recv
}

TEST_CASE("PcapLiveSource: receive() waits for the timeout when the link is quiet") {
  SKIP_WITHOUT_NETNS();
  PingPair pair;
  REQUIRE(pair.ok);
  PcapLiveSource src;
  REQUIRE_MESSAGE(src.open("pl1", config_in(pair.b, "icmp")), src.error());
  Frame f[8];
  const uint64_t t0 = monotonic_ms();
  CHECK(src.receive(f, 8, 250) == 0);
  const uint64_t waited = monotonic_ms() - t0;
  CHECK(waited >= 240);
  CHECK(waited < 2000);
  CHECK(src.receive(f, 8, 0) == 0);  // a zero timeout only polls
}

TEST_CASE("PcapLiveSource: the interface going away ends the capture with an error naming it") {
  SKIP_WITHOUT_NETNS();
  PingPair pair;
  REQUIRE(pair.ok);
  PcapLiveSource src;
  REQUIRE_MESSAGE(src.open("pl1", config_in(pair.b, "")), src.error());
  REQUIRE(sh("ip -n " + pair.a + " link del pl0"));  // takes its peer pl1 with it
  Frame f[8];
  int rc = 0;
  const uint64_t end = monotonic_ms() + 3000;
  // Frames already in the ring may come first; the failure must follow within the deadline.
  while (rc >= 0 && monotonic_ms() < end) rc = src.receive(f, 8, 100);
  CHECK(rc == -1);
  INFO(src.error());
  CHECK(src.error().rfind("pcap: pl1: ", 0) == 0);
  CHECK(src.receive(f, 8, 0) == -1);  // stays failed
  SourceStats st;
  src.stats(st);  // still readable after the failure
  CHECK(st.ports == 1);
}

TEST_CASE("PcapLiveSource: a frame arriving during a long wait is handed out at once") {
  SKIP_WITHOUT_NETNS();
  PingPair pair;
  REQUIRE(pair.ok);
  PcapLiveSource src;
  REQUIRE_MESSAGE(src.open("pl1", config_in(pair.b, "icmp")), src.error());
  // Three pings 0.3 s apart, in the background (bounded by count and -w).
  REQUIRE(sh("sh -c 'ip netns exec " + pair.a + " ping -4 -c 3 -i 0.3 -w 4 198.18.77.2 >/dev/null 2>&1 &'"));
  int frames = 0;
  uint64_t worst_ns = 0;
  const uint64_t end = monotonic_ms() + 4000;
  Frame f[8];
  while (frames < 6 && monotonic_ms() < end) {
    const int n = src.receive(f, 8, 3000);  // far longer than the gap between pings
    REQUIRE(n >= 0);
    const uint64_t now = realtime_ns();
    for (int i = 0; i < n; ++i) {
      const uint64_t lag = now > f[i].ts_ns ? now - f[i].ts_ns : 0;
      if (lag > worst_ns) worst_ns = lag;
    }
    frames += n;
  }
  CHECK(frames == 6);
  // From the kernel's receive timestamp to our hands: milliseconds, not the 3 s timeout.
  INFO("worst delivery lag " << worst_ns / 1000 << " us");
  CHECK(worst_ns < 200'000'000u);
}
