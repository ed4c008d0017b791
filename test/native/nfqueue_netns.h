// Helpers for the NFQUEUE tests: a client and a server namespace joined by a veth pair
// (198.18.20.1 / 198.18.20.2, 2001:db8:20::1 / ::2), threads that run inside a namespace
// (setns), and small traffic tools run from those threads: ICMP echo with round-trip times,
// UDP datagrams, a TCP bulk transfer. Every wait is bounded; the namespaces go away in the
// destructor, and stale ones of dead test processes (same prefix) are removed first.
#pragma once
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace sgfw::capture::test {

inline constexpr const char* kCliV4 = "198.18.20.1";
inline constexpr const char* kSrvV4 = "198.18.20.2";
inline constexpr const char* kCliV6 = "2001:db8:20::1";
inline constexpr const char* kSrvV6 = "2001:db8:20::2";

// Runs a shell command quietly; returns its exit status (-1 when it could not run).
inline int sh(const std::string& cmd) {
  int rc = std::system((cmd + " >/dev/null 2>&1").c_str());
  if (rc == -1 || !WIFEXITED(rc)) return -1;
  return WEXITSTATUS(rc);
}

inline uint64_t mono_ns() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

// Runs fn on a thread that first joins network namespace `ns` (only that thread moves).
inline bool in_netns(const std::string& ns, const std::function<void()>& fn) {
  bool ok = false;
  std::thread t([&] {
    int fd = ::open(("/var/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    ok = setns(fd, CLONE_NEWNET) == 0;
    ::close(fd);
    if (ok) fn();
  });
  t.join();
  return ok;
}

// Starts fn on a thread inside `ns`; the caller joins it.
inline std::thread spawn_in_netns(const std::string& ns, std::function<void()> fn) {
  return std::thread([ns, fn = std::move(fn)] {
    int fd = ::open(("/var/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    int rc = setns(fd, CLONE_NEWNET);
    ::close(fd);
    if (rc == 0) fn();
  });
}

// A client and a server namespace on one veth pair. ok() is false (with why()) when the
// environment cannot make them (not root, no iproute2): callers skip with a MESSAGE.
class NetnsPair {
 public:
  explicit NetnsPair(const std::string& tag) {
    const std::string prefix = "sgfw-t";
    remove_stale(prefix);
    base_ = prefix + std::to_string(getpid()) + "-" + tag;
    cli = base_ + "-c";
    srv = base_ + "-s";
    if (geteuid() != 0) {
      why_ = "not root: network namespaces need CAP_SYS_ADMIN";
      return;
    }
    if (sh("ip netns add " + cli) != 0 || sh("ip netns add " + srv) != 0) {
      why_ = "`ip netns add` failed (iproute2 missing or no namespace support)";
      return;
    }
    const char* setup[] = {
        "ip -n C link add v0 type veth peer name v1 netns S",
        "ip -n C link set lo up",
        "ip -n S link set lo up",
        "ip -n C addr add 198.18.20.1/24 dev v0",
        "ip -n S addr add 198.18.20.2/24 dev v1",
        "ip -n C addr add 2001:db8:20::1/64 dev v0 nodad",
        "ip -n S addr add 2001:db8:20::2/64 dev v1 nodad",
        "ip -n C link set v0 up",
        "ip -n S link set v1 up",
    };
    for (const char* c : setup) {
      std::string cmd = c;
      for (size_t p; (p = cmd.find("-n C")) != std::string::npos;) cmd.replace(p, 4, "-n " + cli);
      for (size_t p; (p = cmd.find("-n S")) != std::string::npos;) cmd.replace(p, 4, "-n " + srv);
      for (size_t p; (p = cmd.find("netns S")) != std::string::npos;) cmd.replace(p, 7, "netns " + srv);
      if (sh(cmd) != 0) {
        why_ = "namespace setup failed: " + cmd;
        return;
      }
    }
    if (sh("ip netns exec " + srv + " iptables -t mangle -S") != 0) {
      why_ = "iptables does not work in a namespace (apt-get install iptables)";
      return;
    }
    ok_ = true;
  }
  ~NetnsPair() {
    sh("ip netns del " + cli);
    sh("ip netns del " + srv);
  }
  NetnsPair(const NetnsPair&) = delete;
  NetnsPair& operator=(const NetnsPair&) = delete;

  bool ok() const { return ok_; }
  const std::string& why() const { return why_; }
  // Runs an iptables/ip6tables command line in the server namespace.
  int srv_cmd(const std::string& cmd) const { return sh("ip netns exec " + srv + " " + cmd); }

  std::string cli, srv;

 private:
  // Namespaces "sgfw-t<pid>-..." whose process is gone.
  static void remove_stale(const std::string& prefix) {
    DIR* d = opendir("/var/run/netns");
    if (!d) return;
    std::vector<std::string> stale;
    while (dirent* e = readdir(d)) {
      std::string name = e->d_name;
      if (name.rfind(prefix, 0) != 0) continue;
      char* end = nullptr;
      long pid = std::strtol(name.c_str() + prefix.size(), &end, 10);
      if (!end || std::strncmp(end, "-nfq", 4) != 0) continue;  // another suite's namespace
      if (pid > 0 && kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) stale.push_back(name);
    }
    closedir(d);
    for (const auto& n : stale) sh("ip netns del " + n);
  }

  std::string base_;
  std::string why_;
  bool ok_ = false;
};

struct EchoResult {
  int sent = 0;
  int replies = 0;
  std::vector<double> rtt_ms;
  double avg_ms() const {
    double s = 0;
    for (double r : rtt_ms) s += r;
    return rtt_ms.empty() ? 0 : s / static_cast<double>(rtt_ms.size());
  }
};

inline uint16_t inet_checksum(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (n & 1) sum += static_cast<uint32_t>(p[n - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// ICMP echo from inside `ns` to `dst` (IPv4 or IPv6): `count` requests `interval_ms` apart,
// each waiting up to `wait_ms` for its reply (a late reply of an earlier request is counted).
inline EchoResult ping(const std::string& ns, const std::string& dst, int count, int interval_ms, int wait_ms) {
  EchoResult res;
  in_netns(ns, [&] {
    const bool v6 = dst.find(':') != std::string::npos;
    int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_RAW | SOCK_CLOEXEC, v6 ? int{IPPROTO_ICMPV6} : int{IPPROTO_ICMP});
    if (fd < 0) return;
    sockaddr_storage to{};
    socklen_t tolen;
    if (v6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&to);
      a->sin6_family = AF_INET6;
      inet_pton(AF_INET6, dst.c_str(), &a->sin6_addr);
      tolen = sizeof(*a);
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&to);
      a->sin_family = AF_INET;
      inet_pton(AF_INET, dst.c_str(), &a->sin_addr);
      tolen = sizeof(*a);
    }
    const uint16_t ident = static_cast<uint16_t>(getpid() ^ mono_ns());
    std::vector<uint64_t> sent_at(static_cast<size_t>(count), 0);
    std::vector<bool> got(static_cast<size_t>(count), false);
    for (int seq = 0; seq < count; ++seq) {
      uint8_t pkt[64] = {};
      pkt[0] = v6 ? 128 : 8;  // echo request
      pkt[4] = static_cast<uint8_t>(ident >> 8);
      pkt[5] = static_cast<uint8_t>(ident);
      pkt[6] = static_cast<uint8_t>(seq >> 8);
      pkt[7] = static_cast<uint8_t>(seq);
      if (!v6) {  // the kernel computes the ICMPv6 checksum itself
        uint16_t c = inet_checksum(pkt, sizeof(pkt));
        pkt[2] = static_cast<uint8_t>(c >> 8);
        pkt[3] = static_cast<uint8_t>(c);
      }
      sent_at[static_cast<size_t>(seq)] = mono_ns();
      if (sendto(fd, pkt, sizeof(pkt), 0, reinterpret_cast<sockaddr*>(&to), tolen) > 0) ++res.sent;
      const uint64_t until = mono_ns() + static_cast<uint64_t>(seq + 1 == count ? wait_ms : interval_ms) * 1000000ull;
      for (;;) {
        const uint64_t now = mono_ns();
        if (now >= until) break;
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, static_cast<int>((until - now) / 1000000ull) + 1) <= 0) continue;
        uint8_t buf[256];
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n <= 0) continue;
        const uint8_t* icmp = buf;
        if (!v6) {  // raw IPv4 sockets deliver the IP header too
          size_t ihl = static_cast<size_t>(buf[0] & 0x0f) * 4;
          if (static_cast<size_t>(n) < ihl + 8) continue;
          icmp = buf + ihl;
        } else if (n < 8) {
          continue;
        }
        if (icmp[0] != (v6 ? 129 : 0)) continue;  // echo reply
        if ((icmp[4] << 8 | icmp[5]) != ident) continue;
        int rseq = icmp[6] << 8 | icmp[7];
        if (rseq < 0 || rseq >= count || got[static_cast<size_t>(rseq)]) continue;
        got[static_cast<size_t>(rseq)] = true;
        ++res.replies;
        res.rtt_ms.push_back(static_cast<double>(mono_ns() - sent_at[static_cast<size_t>(rseq)]) / 1e6);
        if (seq + 1 == count && res.replies == count) break;
      }
    }
    ::close(fd);
  });
  return res;
}

// A UDP socket bound in the server namespace; receive() collects payloads for up to wait_ms.
class UdpSink {
 public:
  UdpSink(const std::string& ns, uint16_t port) {
    in_netns(ns, [&] {
      fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(port);
      inet_pton(AF_INET, kSrvV4, &a.sin_addr);
      if (bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
        ::close(fd_);
        fd_ = -1;
      }
    });
  }
  ~UdpSink() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  // First payload byte of every datagram that arrives within wait_ms of the last one.
  std::vector<int> receive(int wait_ms) {
    std::vector<int> out;
    for (;;) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, wait_ms) <= 0) break;
      uint8_t b[64];
      if (recv(fd_, b, sizeof(b), 0) > 0) out.push_back(b[0]);
    }
    return out;
  }

 private:
  int fd_ = -1;
};

// Sends `count` one-byte-tagged datagrams (payload[0] = index) from the client namespace.
inline int udp_send(const std::string& ns, uint16_t port, int count) {
  int sent = 0;
  in_netns(ns, [&] {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, kSrvV4, &a.sin_addr);
    for (int i = 0; i < count; ++i) {
      uint8_t b[32] = {};
      b[0] = static_cast<uint8_t>(i);
      if (sendto(fd, b, sizeof(b), 0, reinterpret_cast<sockaddr*>(&a), sizeof(a)) > 0) ++sent;
    }
    ::close(fd);
  });
  return sent;
}

struct TransferResult {
  uint64_t sent = 0;
  uint64_t received = 0;
  double seconds = 0;
  double gbit_s() const { return seconds > 0 ? static_cast<double>(received) * 8 / seconds / 1e9 : 0; }
};

// A TCP bulk transfer of `bytes` from the client to the server namespace, bounded by
// limit_ms overall; timed from connect() to the server seeing the end of the stream.
inline TransferResult tcp_transfer(const std::string& cli, const std::string& srv, uint16_t port, uint64_t bytes,
                                   int limit_ms) {
  TransferResult res;
  std::atomic<int> listen_fd{-1};
  std::atomic<bool> listening{false};
  std::atomic<uint64_t> done_at{0};
  const uint64_t deadline = mono_ns() + static_cast<uint64_t>(limit_ms) * 1000000ull;
  std::thread server = spawn_in_netns(srv, [&] {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, kSrvV4, &a.sin_addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || listen(fd, 1) != 0) {
      ::close(fd);
      listening = true;
      return;
    }
    listen_fd = fd;
    listening = true;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, limit_ms) <= 0) return;
    int c = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) return;
    static thread_local uint8_t buf[256 * 1024];
    while (mono_ns() < deadline) {
      pollfd q{c, POLLIN, 0};
      if (poll(&q, 1, 100) <= 0) continue;
      ssize_t n = recv(c, buf, sizeof(buf), 0);
      if (n <= 0) break;
      res.received += static_cast<uint64_t>(n);
    }
    done_at = mono_ns();
    ::close(c);
  });
  while (!listening) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  uint64_t start = 0;
  std::thread client = spawn_in_netns(cli, [&] {
    if (listen_fd < 0) return;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, kSrvV4, &a.sin_addr);
    timeval tv{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    start = mono_ns();
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      ::close(fd);
      return;
    }
    static thread_local uint8_t buf[256 * 1024];
    std::memset(buf, 0x5a, sizeof(buf));
    while (res.sent < bytes && mono_ns() < deadline) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(sizeof(buf), bytes - res.sent));
      ssize_t n = send(fd, buf, want, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        break;
      }
      res.sent += static_cast<uint64_t>(n);
    }
    ::close(fd);
  });
  client.join();
  server.join();
  if (listen_fd >= 0) ::close(listen_fd);
  if (done_at > start && start > 0) res.seconds = static_cast<double>(done_at - start) / 1e9;
  return res;
}

}  // namespace sgfw::capture::test
