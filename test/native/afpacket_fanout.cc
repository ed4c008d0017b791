// PACKET_FANOUT across workers: both directions of every flow reach the same worker (the
// kernel's symmetric flow hash, groups G and G+1 joined in the same order), and IPv4 datagrams
// that PACKET_FANOUT_FLAG_DEFRAG reassembled are fragmented again on the way out.
#ifndef DOCTEST_CONFIG_NO_EXCEPTIONS_BUT_WITH_ALL_ASSERTS
#define DOCTEST_CONFIG_NO_EXCEPTIONS_BUT_WITH_ALL_ASSERTS  // the core builds with -fno-exceptions
#endif
#include <doctest/doctest.h>

#include <map>
#include <memory>

#include "afpacket_netns.h"
#include "capture/afpacket_frame.h"

using namespace sgfw::capture;
using namespace sgfw::capture::afptest;

namespace {

#define REQUIRE_OR_RETURN(cond, msg) \
  do {                               \
    if (!(cond)) {                   \
      FAIL_CHECK(msg);               \
      return;                        \
    }                                \
  } while (0)

// A group id of this process only, so parallel runs never join each other's groups.
uint16_t group_id() { return static_cast<uint16_t>(0x4000 + (getpid() % 8000) * 2); }

constexpr uint8_t kMagic[4] = {'S', 'G', 'F', 'W'};

Bytes tagged_payload(int flow, int dir) {
  Bytes p(kMagic, kMagic + 4);
  p.push_back(static_cast<uint8_t>(flow >> 8));
  p.push_back(static_cast<uint8_t>(flow));
  p.push_back(static_cast<uint8_t>(dir));
  p.resize(24, 0);
  return p;
}

// Ethernet + IPv6 + UDP (checksum left 0: nothing on the way validates it) with a flow label.
Bytes udp6_frame(const uint8_t src[16], const uint8_t dst[16], uint16_t sport, uint16_t dport, uint32_t label,
                 const Bytes& payload) {
  Bytes f = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x86, 0xdd};
  const uint16_t plen = static_cast<uint16_t>(8 + payload.size());
  f.insert(f.end(), {0x60, static_cast<uint8_t>(label >> 16 & 15), static_cast<uint8_t>(label >> 8),
                     static_cast<uint8_t>(label), static_cast<uint8_t>(plen >> 8), static_cast<uint8_t>(plen), 17, 64});
  f.insert(f.end(), src, src + 16);
  f.insert(f.end(), dst, dst + 16);
  f.insert(f.end(), {static_cast<uint8_t>(sport >> 8), static_cast<uint8_t>(sport), static_cast<uint8_t>(dport >> 8),
                     static_cast<uint8_t>(dport), static_cast<uint8_t>(plen >> 8), static_cast<uint8_t>(plen), 0, 0});
  f.insert(f.end(), payload.begin(), payload.end());
  return f;
}

// Finds the magic in a received frame: flow id and direction, or -1.
int parse_tag(const Frame& f, int& dir) {
  for (uint32_t off = 42; off + 7 <= f.caplen && off <= 70; ++off) {
    if (std::memcmp(f.data + off, kMagic, 4) == 0) {
      dir = f.data[off + 6];
      return f.data[off + 4] << 8 | f.data[off + 5];
    }
  }
  return -1;
}

}  // namespace

TEST_CASE("afpacket fanout: both directions of a flow reach the same worker") {
  const std::string why = netns_unavailable();
  if (!why.empty()) {
    MESSAGE("skipped: " << why);
    return;
  }
  Topology t(5);
  REQUIRE_OR_RETURN(t.ok, "topology step failed: " << t.failed_step);

  // 96 flows: IPv4 UDP, IPv4 TCP (protocol byte patched), IPv6 UDP with a different flow label
  // per direction, as two real stacks would choose.
  constexpr int kFlows = 96;
  std::vector<Bytes> fwd, rev;
  for (int i = 0; i < kFlows; ++i) {
    const uint16_t cport = static_cast<uint16_t>(20000 + i * 37), sport = static_cast<uint16_t>(i % 3 ? 443 : 53 + i);
    if (i % 3 == 2) {
      uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0x10}, b[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0x10};
      a[15] = 1;
      b[15] = static_cast<uint8_t>(2 + i);
      fwd.push_back(udp6_frame(a, b, cport, sport, 0x12345u + i, tagged_payload(i, 0)));
      rev.push_back(udp6_frame(b, a, sport, cport, 0x54321u + i, tagged_payload(i, 1)));
      continue;
    }
    const uint32_t a = 0xc6120a01, b = 0xc6120a00u + 2 + static_cast<uint32_t>(i);
    Bytes x = udp4_frame(a, b, cport, sport, tagged_payload(i, 0));
    Bytes y = udp4_frame(b, a, sport, cport, tagged_payload(i, 1));
    if (i % 3 == 1) {
      for (Bytes* f : {&x, &y}) {  // TCP: the dissector reads the same port words
        (*f)[23] = 6;
        afpacket::store_be16(f->data() + 24, 0);
        afpacket::store_be16(f->data() + 24, afpacket::ipv4_header_checksum(f->data() + 14, 20));
      }
    }
    fwd.push_back(x);
    rev.push_back(y);
  }

  int worker_of[kFlows][2];
  for (auto& w : worker_of) w[0] = w[1] = -1;
  uint64_t per_worker[2] = {0, 0};
  bool opened = false;
  std::string err;
  in_netns(t.f, [&] {
    AfPacketConfig c;
    c.outside = "out";
    c.inside = "in";
    c.ring_frames = 512;
    c.fanout_group = group_id();
    AfPacketInline w[2];
    // One after the other: the join order must match in both groups.
    if (!w[0].open(c) || !w[1].open(c)) {
      err = w[0].error() + " / " + w[1].error();
      return;
    }
    opened = true;
    std::thread tx([&] {
      send_frames(t.c, "eth0", fwd);
      send_frames(t.s, "eth0", rev);
    });
    Frame frames[64];
    uint8_t drop[64] = {};
    double quiet_since = now_ms();
    const double end = now_ms() + 5000;
    while (now_ms() < end && now_ms() - quiet_since < 400) {
      for (int k = 0; k < 2; ++k) {
        const int n = w[k].receive(frames, 64, 5);
        if (n <= 0) continue;
        quiet_since = now_ms();
        for (int i = 0; i < n; ++i) {
          int dir = 0;
          const int flow = parse_tag(frames[i], dir);
          if (flow < 0 || flow >= kFlows || dir > 1) continue;
          const uint32_t port = frames[i].port;
          if ((dir == 0 && port != 0) || (dir == 1 && port != 1)) continue;  // must enter on its own side
          worker_of[flow][dir] = k;
          ++per_worker[k];
        }
        w[k].complete(frames, drop, n);
      }
    }
    tx.join();
  });
  REQUIRE_OR_RETURN(opened, err);
  int both = 0, same = 0;
  for (int i = 0; i < kFlows; ++i) {
    CAPTURE(i);
    CHECK(worker_of[i][0] >= 0);
    CHECK(worker_of[i][1] >= 0);
    if (worker_of[i][0] >= 0 && worker_of[i][1] >= 0) {
      ++both;
      if (worker_of[i][0] == worker_of[i][1]) ++same;
      CHECK_MESSAGE(worker_of[i][0] == worker_of[i][1], (i % 3 == 2 ? "IPv6 UDP" : i % 3 ? "IPv4 TCP" : "IPv4 UDP"));
    }
  }
  CHECK(both == kFlows);
  CHECK(same == both);
  // The hash spreads: with 96 flows, one idle worker would mean no fanout at all.
  CHECK(per_worker[0] > 0);
  CHECK(per_worker[1] > 0);
  MESSAGE("fanout: " << same << "/" << kFlows << " flows with both directions on one worker; frames per worker "
                     << per_worker[0] << " / " << per_worker[1]);
}

TEST_CASE("afpacket fanout: two workers forward TCP and re-fragment IPv4 datagrams that DEFRAG reassembled") {
  const std::string why = netns_unavailable();
  if (!why.empty()) {
    MESSAGE("skipped: " << why);
    return;
  }
  Topology t(6);
  REQUIRE_OR_RETURN(t.ok, "topology step failed: " << t.failed_step);
  AfPacketConfig c;
  c.outside = "out";
  c.inside = "in";
  c.ring_frames = 512;
  c.fanout_group = static_cast<uint16_t>(group_id() + 16000);
  // The constructor returns once the source is open: workers join in order.
  auto w0 = std::make_unique<InlineLoop>(t.f, c, true);
  auto w1 = std::make_unique<InlineLoop>(t.f, c, true);
  REQUIRE_OR_RETURN(w0->running() && w1->running(), (std::string(w0->error()) + " / " + w1->error()));

  CHECK(ping(t.c, "198.18.10.2", 3, 1000).received == 3);
  CHECK(ping(t.c, "2001:db8:10::2", 3, 1000).received == 3);
  CHECK(nc_transfer(t, "198.18.10.2", 5301, 4).intact);

  // UDP datagrams the client's stack fragments (MTU 1500, DF clear for UDP by default).
  std::vector<size_t> got;
  std::thread rx([&] {
    in_netns(t.s, [&] {
      const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(7000);
      inet_pton(AF_INET, "198.18.10.2", &a.sin_addr);
      if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return;
      const double end = now_ms() + 3000;
      while (got.size() < 3 && now_ms() < end) {
        pollfd pf{fd, POLLIN, 0};
        if (poll(&pf, 1, 200) <= 0) continue;
        static uint8_t buf[65536];
        const ssize_t n = recv(fd, buf, sizeof buf, 0);
        bool pattern = n > 0;
        for (ssize_t i = 0; i < n && pattern; ++i) pattern = buf[i] == static_cast<uint8_t>(i * 13);
        if (pattern) got.push_back(static_cast<size_t>(n));
      }
      ::close(fd);
    });
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  in_netns(t.c, [&] {
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(7000);
    inet_pton(AF_INET, "198.18.10.2", &a.sin_addr);
    static uint8_t buf[9000];
    for (size_t i = 0; i < sizeof buf; ++i) buf[i] = static_cast<uint8_t>(i * 13);
    for (size_t n : {size_t{3000}, size_t{4000}, size_t{9000}}) {
      sendto(fd, buf, n, 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ::close(fd);
  });
  rx.join();
  const LoopStats s0 = w0->stop();
  const LoopStats s1 = w1->stop();
  CHECK(got == std::vector<size_t>{3000, 4000, 9000});
  const uint64_t refrag = s0.extra[0].refragmented + s1.extra[0].refragmented;
  CHECK(refrag == 3);
  CHECK(s0.src.port[0].tx_errors + s1.src.port[0].tx_errors == 0);
  CHECK(s0.frames > 0);
  CHECK(s1.frames > 0);
  MESSAGE("two workers: frames " << s0.frames << " / " << s1.frames << ", datagrams re-fragmented " << refrag);
}
