// NfqueueSource against the real kernel: a client and a server namespace on a veth pair, an
// iptables NFQUEUE rule in the server's mangle INPUT chain (as src/host/netfilter.ts installs
// it), and the source driven on a thread inside the server namespace. Needs root; otherwise
// each case says why in a MESSAGE and checks nothing.
#define DOCTEST_CONFIG_NO_EXCEPTIONS_BUT_WITH_ALL_ASSERTS
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "capture/link_types.h"
#include "capture/nfqueue_source.h"
#include "nfqueue_netns.h"

namespace sgfw::capture::test {
namespace {

constexpr uint16_t kQueue = 7;

std::string queue_rule(const char* tool, const char* dst, const std::string& extra) {
  return std::string(tool) + " -t mangle -A INPUT -d " + dst + " -j NFQUEUE --queue-num " + std::to_string(kQueue) +
         extra;
}

struct SeenFrame {
  uint32_t caplen, wirelen, link_type, port;
  uint64_t ts_ns, cookie;
  std::vector<uint8_t> head;  // first bytes of the IP packet
};

// The source on a thread in `ns`: answers every frame with verdict(frame) until finish() or
// limit_ms, keeping the first frames it saw, its counters and its error.
class VerdictLoop {
 public:
  VerdictLoop(const std::string& ns, NfqueueConfig cfg, std::function<bool(const Frame&)> verdict, int limit_ms) {
    t_ = spawn_in_netns(ns, [this, cfg, verdict, limit_ms] {
      NfqueueSource src;
      opened_ = src.open(kQueue, cfg);
      if (!opened_) {
        error_ = src.error();
        ready_ = true;
        return;
      }
      ready_ = true;
      const uint64_t until = mono_ns() + static_cast<uint64_t>(limit_ms) * 1000000ull;
      Frame frames[64];
      uint8_t accept[64];
      while (!stop_ && mono_ns() < until) {
        int n = src.receive(frames, 64, 20);
        if (n < 0) {
          error_ = src.error();
          break;
        }
        for (int i = 0; i < n; ++i) {
          accept[i] = verdict(frames[i]) ? 1 : 0;
          max_caplen_ = std::max(max_caplen_, frames[i].caplen);
          if (seen_.size() < 256) {
            const Frame& f = frames[i];
            seen_.push_back({f.caplen, f.wirelen, f.link_type, f.port, f.ts_ns, f.cookie,
                             std::vector<uint8_t>(f.data, f.data + std::min<uint32_t>(f.caplen, 48))});
          }
        }
        src.complete(frames, accept, n);
      }
      src.stats(stats_);
      vc_ = src.verdicts();
    });
    const uint64_t until = mono_ns() + 3000000000ull;
    while (!ready_ && mono_ns() < until) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~VerdictLoop() { finish(); }
  void finish() {
    stop_ = true;
    if (t_.joinable()) t_.join();
  }
  bool opened() const { return opened_; }
  const std::string& error() const { return error_; }
  const SourceStats& stats() const { return stats_; }
  const NfqueueVerdictCounters& verdicts() const { return vc_; }
  const std::vector<SeenFrame>& seen() const { return seen_; }
  uint32_t max_caplen() const { return max_caplen_; }

 private:
  std::thread t_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> ready_{false};
  std::atomic<bool> opened_{false};
  std::string error_;
  SourceStats stats_;
  NfqueueVerdictCounters vc_;
  std::vector<SeenFrame> seen_;
  uint32_t max_caplen_ = 0;
};

// Opens a source inside `ns` and returns it (the socket stays in that namespace).
std::unique_ptr<NfqueueSource> open_in(const std::string& ns, const NfqueueConfig& cfg) {
  auto src = std::make_unique<NfqueueSource>();
  in_netns(ns, [&] { src->open(kQueue, cfg); });
  return src;
}

#define NETNS_OR_SKIP(pair)                                   \
  if (!(pair).ok()) {                                         \
    MESSAGE("skipped (needs root + netns): " << (pair).why()); \
    return;                                                   \
  }

}  // namespace

TEST_CASE("nfqueue: open refuses a bad configuration with a message naming the queue") {
  NfqueueSource src;
  NfqueueConfig cfg;
  cfg.max_batch = 0;
  CHECK_FALSE(src.open(3, cfg));
  CHECK(src.error() == "NFQUEUE 3: max_batch must be 1..4096");
  cfg = NfqueueConfig{};
  cfg.copy_range = 0x10000;
  CHECK_FALSE(src.open(3, cfg));
  CHECK(src.error().find("copy_range") != std::string::npos);
  Frame f[1];
  CHECK(src.receive(f, 1, 0) == -1);
  CHECK_FALSE(src.is_open());
}

TEST_CASE("nfqueue: accept-all passes ping (IPv4, IPv6), drop-all blocks it; frames are raw IP") {
  NetnsPair net("nfq1");
  NETNS_OR_SKIP(net);
  REQUIRE(net.srv_cmd(queue_rule("iptables", kSrvV4, "")) == 0);
  REQUIRE(net.srv_cmd(queue_rule("ip6tables", kSrvV6, "")) == 0);
  const uint64_t t0 = static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());

  {
    VerdictLoop loop(net.srv, NfqueueConfig{}, [](const Frame&) { return true; }, 8000);
    REQUIRE_MESSAGE(loop.opened(), loop.error());
    EchoResult r4 = ping(net.cli, kSrvV4, 3, 100, 1000);
    EchoResult r6 = ping(net.cli, kSrvV6, 3, 100, 1000);
    loop.finish();
    CHECK(r4.replies == 3);
    CHECK(r6.replies == 3);
    const PortStats& ps = loop.stats().port[0];
    CHECK(loop.stats().ports == 1);
    CHECK(ps.received >= 6);
    CHECK(ps.forwarded == ps.received);
    CHECK(ps.dropped == 0);
    CHECK(ps.kernel_drops == 0);
    CHECK(loop.verdicts().kernel_errors == 0);

    // The echo requests, as raw IP packets with their queue, ids in order, fresh timestamps.
    int v4_echo = 0, v6_echo = 0;
    uint64_t last_id = 0;
    for (size_t i = 0; i < loop.seen().size(); ++i) {
      const SeenFrame& f = loop.seen()[i];
      CHECK(f.link_type == kLinkTypeRaw);
      CHECK(f.port == kQueue);
      CHECK(f.wirelen >= f.caplen);
      CHECK(f.ts_ns >= t0 - 1000000000ull);
      if (i > 0) CHECK(f.cookie > last_id);
      last_id = f.cookie;
      REQUIRE(f.head.size() >= 20);
      const int version = f.head[0] >> 4;
      if (version == 4 && f.head[9] == 1 && f.head[20] == 8) {
        CHECK(f.caplen == 84u);  // 20 IP + 64 ICMP
        CHECK((f.head[16] == 198 && f.head[17] == 18 && f.head[18] == 20 && f.head[19] == 2));
        ++v4_echo;
      }
      if (version == 6 && f.head.size() >= 41 && f.head[6] == 58 && f.head[40] == 128) {
        CHECK(f.caplen == 104u);  // 40 IPv6 + 64 ICMPv6
        ++v6_echo;
      }
    }
    CHECK(v4_echo == 3);
    CHECK(v6_echo == 3);
  }
  {
    VerdictLoop loop(net.srv, NfqueueConfig{}, [](const Frame&) { return false; }, 8000);
    REQUIRE_MESSAGE(loop.opened(), loop.error());
    EchoResult r4 = ping(net.cli, kSrvV4, 3, 100, 600);
    EchoResult r6 = ping(net.cli, kSrvV6, 3, 100, 600);
    loop.finish();
    CHECK(r4.sent == 3);
    CHECK(r4.replies == 0);
    CHECK(r6.replies == 0);
    const PortStats& ps = loop.stats().port[0];
    CHECK(ps.dropped >= 6);
    CHECK(ps.forwarded == 0);
    CHECK(ps.dropped == ps.received);
  }
}

TEST_CASE("nfqueue: with no reader, --queue-bypass passes traffic and a plain rule holds it") {
  NetnsPair net("nfq2");
  NETNS_OR_SKIP(net);
  REQUIRE(net.srv_cmd(queue_rule("iptables", kSrvV4, " --queue-bypass")) == 0);
  EchoResult open_r = ping(net.cli, kSrvV4, 3, 100, 1000);
  CHECK(open_r.replies == 3);

  REQUIRE(net.srv_cmd("iptables -t mangle -F INPUT") == 0);
  REQUIRE(net.srv_cmd(queue_rule("iptables", kSrvV4, "")) == 0);
  EchoResult closed_r = ping(net.cli, kSrvV4, 3, 100, 500);
  CHECK(closed_r.sent == 3);
  CHECK(closed_r.replies == 0);
}

TEST_CASE("nfqueue: a full queue accepts with fail-open, drops and counts without it") {
  NetnsPair net("nfq3");
  NETNS_OR_SKIP(net);
  REQUIRE(net.srv_cmd(queue_rule("iptables", kSrvV4, "")) == 0);
  NfqueueConfig cfg;
  cfg.max_len = 2;  // and nobody reads: the first two requests wait, the others find it full

  cfg.fail_open = true;
  {
    auto src = open_in(net.srv, cfg);
    REQUIRE_MESSAGE(src->is_open(), src->error());
    EchoResult r = ping(net.cli, kSrvV4, 6, 100, 500);
    CHECK(r.replies == 4);
    SourceStats st;
    src->stats(st);
    CHECK(st.port[0].kernel_drops == 0);
  }
  cfg.fail_open = false;
  {
    auto src = open_in(net.srv, cfg);
    REQUIRE_MESSAGE(src->is_open(), src->error());
    EchoResult r = ping(net.cli, kSrvV4, 6, 100, 300);
    CHECK(r.replies == 0);
    SourceStats st;
    src->stats(st);
    CHECK(st.port[0].kernel_drops == 4);
    CHECK(st.port[0].received == 0);
  }
}

TEST_CASE("nfqueue: verdicts of one batch apply in order; runs of ids go as one VERDICT_BATCH") {
  NetnsPair net("nfq4");
  NETNS_OR_SKIP(net);
  REQUIRE(net.srv_cmd(queue_rule("iptables", kSrvV4, "")) == 0);
  UdpSink sink(net.srv, 5000);
  REQUIRE(sink.ok());
  auto src = open_in(net.srv, NfqueueConfig{});
  REQUIRE_MESSAGE(src->is_open(), src->error());

  REQUIRE(udp_send(net.cli, 5000, 10) == 10);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  Frame frames[64];
  int n = src->receive(frames, 64, 1000);
  REQUIRE(n == 10);
  for (int i = 0; i < n; ++i) {
    REQUIRE(frames[i].caplen == 20u + 8u + 32u);
    CHECK(frames[i].data[9] == 17);
    CHECK(frames[i].data[28] == i);  // queue order = send order
    if (i > 0) CHECK(frames[i].cookie == frames[i - 1].cookie + 1);
  }
  const uint8_t accept[10] = {1, 1, 1, 1, 0, 0, 0, 1, 0, 0};
  src->complete(frames, accept, n);
  // accept 0-3 (batch), drop 4-6 (batch), accept 7 (single), drop 8-9 (batch): one sendto.
  CHECK(src->verdicts().batch_messages == 3);
  CHECK(src->verdicts().single_messages == 1);
  CHECK(src->verdicts().send_calls == 1);
  CHECK(sink.receive(300) == std::vector<int>{0, 1, 2, 3, 7});
  CHECK(src->receive(frames, 64, 0) == 0);
  CHECK(src->verdicts().kernel_errors == 0);  // every id was known to the kernel

  // A batch smaller than what waits: the rest comes with the next receive().
  REQUIRE(udp_send(net.cli, 5000, 5) == 5);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  REQUIRE(src->receive(frames, 3, 1000) == 3);
  const uint8_t all[5] = {1, 1, 1, 1, 1};
  src->complete(frames, all, 3);
  REQUIRE(src->receive(frames, 64, 1000) == 2);
  CHECK(frames[0].data[28] == 3);
  src->complete(frames, all, 2);
  CHECK(sink.receive(300) == std::vector<int>{0, 1, 2, 3, 4});
  SourceStats st;
  src->stats(st);
  CHECK(st.port[0].received == 15);
  CHECK(st.port[0].forwarded == 10);
  CHECK(st.port[0].dropped == 5);
}

TEST_CASE("nfqueue: a second bind of a held queue fails with a message naming the queue") {
  NetnsPair net("nfq5");
  NETNS_OR_SKIP(net);
  auto first = open_in(net.srv, NfqueueConfig{});
  REQUIRE_MESSAGE(first->is_open(), first->error());
  auto second = open_in(net.srv, NfqueueConfig{});
  CHECK_FALSE(second->is_open());
  CHECK(second->error().rfind("NFQUEUE 7: bind: ", 0) == 0);
  CHECK(second->error().find("another process") != std::string::npos);
  first->close();
  auto third = open_in(net.srv, NfqueueConfig{});
  CHECK_MESSAGE(third->is_open(), third->error());
}

TEST_CASE("nfqueue: TCP through an accept-all queue delivers every byte (GSO on and off); timings") {
  NetnsPair net("nfq6");
  NETNS_OR_SKIP(net);
  constexpr uint64_t kBytes = 32ull << 20;
  constexpr int kPings = 20;

  EchoResult base_ping = ping(net.cli, kSrvV4, kPings, 20, 1000);
  TransferResult base = tcp_transfer(net.cli, net.srv, 5001, kBytes, 15000);
  CHECK(base_ping.replies == kPings);
  CHECK(base.received == kBytes);

  REQUIRE(net.srv_cmd(queue_rule("iptables", kSrvV4, "")) == 0);
  double q_ping_ms = 0, gso_gbit = 0, nogso_gbit = 0;
  uint32_t gso_max = 0;
  {
    VerdictLoop loop(net.srv, NfqueueConfig{}, [](const Frame&) { return true; }, 30000);
    REQUIRE_MESSAGE(loop.opened(), loop.error());
    EchoResult p = ping(net.cli, kSrvV4, kPings, 20, 1000);
    TransferResult t = tcp_transfer(net.cli, net.srv, 5002, kBytes, 15000);
    loop.finish();
    CHECK(p.replies == kPings);
    CHECK(t.received == kBytes);
    CHECK(loop.stats().port[0].dropped == 0);
    q_ping_ms = p.avg_ms();
    gso_gbit = t.gbit_s();
    gso_max = loop.max_caplen();
  }
  {
    NfqueueConfig cfg;
    cfg.gso = false;
    VerdictLoop loop(net.srv, cfg, [](const Frame&) { return true; }, 30000);
    REQUIRE_MESSAGE(loop.opened(), loop.error());
    TransferResult t = tcp_transfer(net.cli, net.srv, 5003, kBytes, 15000);
    loop.finish();
    CHECK(t.received == kBytes);
    // Without NFQA_CFG_F_GSO the kernel segments before queueing: nothing beyond the MTU.
    CHECK(loop.max_caplen() <= 1500u);
    nogso_gbit = t.gbit_s();
  }
  MESSAGE("ping RTT avg over " << kPings << ": no queue " << base_ping.avg_ms() << " ms, accept-all NFQUEUE "
                                << q_ping_ms << " ms");
  MESSAGE("TCP " << (kBytes >> 20) << " MiB: no queue " << base.gbit_s() << " Gbit/s, NFQUEUE GSO " << gso_gbit
                 << " Gbit/s (largest frame " << gso_max << " B), NFQUEUE no GSO " << nogso_gbit << " Gbit/s");
}

}  // namespace sgfw::capture::test
