// Test topology for the AF_PACKET inline source, built with `ip` in network namespaces:
//   client ns (198.18.10.1/24, 2001:db8:10::1/64) eth0 -- out [fw ns] in -- eth0 server ns (.2, ::2)
// The fw ns has two veths, no addresses (IPv6 disabled there), no forwarding, no bridge.
// Namespaces are named sgfw-tafp<pid>-<n>-{c,f,s}; the guard removes them (and kills what ran in
// them) even when a check fails, and stale ones of dead test processes are removed first.
// Loops run in threads that setns() into a namespace: a thread's network namespace is its own.
#pragma once
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/icmp6.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "capture/afpacket_source.h"

namespace sgfw::capture::afptest {

inline double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

inline int sh(const std::string& cmd) {
  const int r = std::system(cmd.c_str());
  return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

inline std::string sh_out(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

// Why the namespace tests cannot run here, or "" when they can.
inline std::string netns_unavailable() {
  if (geteuid() != 0) return "not root: the AF_PACKET namespace tests need CAP_NET_ADMIN and CAP_NET_RAW";
  if (sh("command -v ip >/dev/null 2>&1") != 0) return "the `ip` command (iproute2) is missing";
  const std::string probe = "sgfw-tafp" + std::to_string(getpid()) + "-probe";
  if (sh("ip netns add " + probe + " 2>/dev/null") != 0) return "`ip netns add` fails: no network namespaces";
  sh("ip netns del " + probe);
  return "";
}

// Runs fn on a thread inside namespace ns and waits for it.
inline bool in_netns(const std::string& ns, const std::function<void()>& fn) {
  bool ok = false;
  std::thread t([&] {
    const int fd = ::open(("/var/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    ok = setns(fd, CLONE_NEWNET) == 0;
    ::close(fd);
    if (ok) fn();
  });
  t.join();
  return ok;
}

class Topology {
 public:
  explicit Topology(int n) {
    const std::string pre = "sgfw-tafp";
    remove_stale(pre);
    base_ = pre + std::to_string(getpid()) + "-" + std::to_string(n);
    c = base_ + "-c";
    f = base_ + "-f";
    s = base_ + "-s";
    const std::vector<std::string> steps = {
        "ip netns add " + c,
        "ip netns add " + f,
        "ip netns add " + s,
        // No address of any kind in the fw ns, not even IPv6 link-local.
        "ip netns exec " + f + " sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1",
        "ip -n " + c + " link add eth0 type veth peer name out netns " + f,
        "ip -n " + s + " link add eth0 type veth peer name in netns " + f,
        "ip -n " + c + " addr add 198.18.10.1/24 dev eth0",
        "ip -n " + c + " addr add 2001:db8:10::1/64 dev eth0 nodad",
        "ip -n " + s + " addr add 198.18.10.2/24 dev eth0",
        "ip -n " + s + " addr add 2001:db8:10::2/64 dev eth0 nodad",
        "ip -n " + c + " link set lo up",
        "ip -n " + s + " link set lo up",
        "ip -n " + f + " link set lo up",
        "ip -n " + c + " link set eth0 up",
        "ip -n " + s + " link set eth0 up",
        "ip -n " + f + " link set out up",
        "ip -n " + f + " link set in up",
    };
    for (const auto& st : steps) {
      if (sh(st + " >/dev/null 2>&1") != 0) {
        failed_step = st;
        return;
      }
    }
    ok = true;
  }
  ~Topology() {
    for (const auto* ns : {&c, &f, &s}) {
      // Whatever the test started in its namespaces (nc, iperf3) goes with them.
      sh("for p in $(ip netns pids " + *ns + " 2>/dev/null); do kill -9 $p; done; ip netns del " + *ns +
         " >/dev/null 2>&1");
    }
  }
  Topology(const Topology&) = delete;
  Topology& operator=(const Topology&) = delete;

  // ethtool -K on all four ports: on = the veth defaults.
  void offloads(bool on) const {
    const std::string v = on ? " on" : " off";
    const std::string feats = " gro" + v + " gso" + v + " tso" + v + " tx" + v + " rx" + v;
    sh("ip netns exec " + c + " ethtool -K eth0" + feats + " >/dev/null 2>&1");
    sh("ip netns exec " + s + " ethtool -K eth0" + feats + " >/dev/null 2>&1");
    sh("ip netns exec " + f + " ethtool -K out" + feats + " >/dev/null 2>&1");
    sh("ip netns exec " + f + " ethtool -K in" + feats + " >/dev/null 2>&1");
  }
  // The kernel baseline: a Linux bridge over the same two ports.
  bool kernel_bridge(bool on) const {
    if (on)
      return sh("ip -n " + f + " link add br0 type bridge && ip -n " + f + " link set out master br0 && ip -n " + f +
                " link set in master br0 && ip -n " + f + " link set br0 up") == 0;
    return sh("ip -n " + f + " link del br0") == 0;
  }

  bool ok = false;
  std::string failed_step;
  std::string c, f, s;

 private:
  static void remove_stale(const std::string& pre) {
    DIR* d = opendir("/var/run/netns");
    if (!d) return;
    while (dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      if (name.rfind(pre, 0) != 0) continue;
      const long pid = std::strtol(name.c_str() + pre.size(), nullptr, 10);
      if (pid > 0 && kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
        sh("for p in $(ip netns pids " + name + " 2>/dev/null); do kill -9 $p; done; ip netns del " + name +
           " >/dev/null 2>&1");
    }
    closedir(d);
  }
  std::string base_;
};

// An accept-all (or drop-all) loop over AfPacketInline on its own thread in the fw ns, bounded
// by time and by frame count.
struct LoopStats {
  SourceStats src;
  AfPacketPortExtra extra[2];
  uint64_t frames = 0;
  uint64_t vlan_on_wire = 0;  // frames the engine would see with an 802.1Q tag at offset 12
  uint64_t max_caplen = 0;
};

class InlineLoop {
 public:
  InlineLoop(const std::string& ns, AfPacketConfig cfg, bool accept, double max_seconds = 60,
             uint64_t max_frames = 50'000'000)
      : cfg_(std::move(cfg)), accept_(accept) {
    thread_ = std::thread([this, ns, max_seconds, max_frames] {
      const int fd = ::open(("/var/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
        if (fd >= 0) ::close(fd);
        error_ = "setns into " + ns + " failed";
        state_ = -1;
        return;
      }
      ::close(fd);
      AfPacketInline src;
      if (!src.open(cfg_)) {
        error_ = src.error();
        state_ = -1;
        return;
      }
      vnet_ = src.vnet_hdr();
      state_ = 1;
      Frame frames[64];
      uint8_t verdict[64];
      const double end = now_ms() + max_seconds * 1000;
      while (!stop_.load(std::memory_order_relaxed) && now_ms() < end && stats_.frames < max_frames) {
        const int n = src.receive(frames, 64, 20);
        if (n < 0) {
          error_ = src.error();
          break;
        }
        for (int i = 0; i < n; ++i) {
          verdict[i] = accept_;
          if (frames[i].caplen >= 14 && frames[i].data[12] == 0x81 && frames[i].data[13] == 0x00) ++stats_.vlan_on_wire;
          if (frames[i].caplen > stats_.max_caplen) stats_.max_caplen = frames[i].caplen;
        }
        stats_.frames += static_cast<uint64_t>(n);
        if (n > 0) src.complete(frames, verdict, n);
      }
      src.stats(stats_.src);
      stats_.extra[0] = src.extra(0);
      stats_.extra[1] = src.extra(1);
    });
    while (state_ == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~InlineLoop() { stop(); }
  bool running() const { return state_ == 1; }
  const std::string& error() const { return error_; }
  bool vnet() const { return vnet_; }
  // Stops the loop and returns its final counters.
  const LoopStats& stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return stats_;
  }

 private:
  AfPacketConfig cfg_;
  bool accept_;
  std::atomic<bool> stop_{false};
  std::atomic<int> state_{0};
  bool vnet_ = false;
  std::string error_;
  LoopStats stats_;
  std::thread thread_;
};

inline uint16_t inet_csum(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (n & 1) sum += static_cast<uint32_t>(p[n - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

struct PingResult {
  int sent = 0, received = 0;
  double min_ms = 0, avg_ms = 0;
};

// ICMP echo over a raw socket from inside ns (no ping binary needed): `count` echoes, each
// waiting up to wait_ms for its reply. IPv6 goes through neighbour discovery like any ping.
inline PingResult ping(const std::string& ns, const char* dst, int count, int wait_ms, int gap_ms = 20) {
  PingResult r;
  in_netns(ns, [&] {
    const bool v6 = std::strchr(dst, ':') != nullptr;
    sockaddr_storage ss{};
    socklen_t sl;
    if (v6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
      a->sin6_family = AF_INET6;
      inet_pton(AF_INET6, dst, &a->sin6_addr);
      sl = sizeof *a;
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&ss);
      a->sin_family = AF_INET;
      inet_pton(AF_INET, dst, &a->sin_addr);
      sl = sizeof *a;
    }
    const int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_RAW | SOCK_CLOEXEC, v6 ? int{IPPROTO_ICMPV6} : int{IPPROTO_ICMP});
    if (fd < 0) return;
    const uint16_t id = static_cast<uint16_t>(getpid() ^ 0x5a5a);
    double total = 0;
    for (int seq = 1; seq <= count; ++seq) {
      uint8_t pkt[64] = {};
      pkt[0] = v6 ? 128 : 8;
      pkt[4] = static_cast<uint8_t>(id >> 8);
      pkt[5] = static_cast<uint8_t>(id);
      pkt[6] = static_cast<uint8_t>(seq >> 8);
      pkt[7] = static_cast<uint8_t>(seq);
      if (!v6) {  // ICMPv6's checksum is the kernel's (raw ICMPv6 sockets always compute it)
        const uint16_t cs = inet_csum(pkt, sizeof pkt);
        pkt[2] = static_cast<uint8_t>(cs >> 8);
        pkt[3] = static_cast<uint8_t>(cs);
      }
      const double t0 = now_ms();
      if (sendto(fd, pkt, sizeof pkt, 0, reinterpret_cast<sockaddr*>(&ss), sl) < 0) continue;
      ++r.sent;
      for (;;) {
        const int left = static_cast<int>(t0 + wait_ms - now_ms());
        if (left <= 0) break;
        pollfd pf{fd, POLLIN, 0};
        if (poll(&pf, 1, left) <= 0) break;
        uint8_t buf[1500];
        const ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        const uint8_t* icmp = buf;
        ssize_t len = n;
        if (!v6) {
          const size_t ihl = (buf[0] & 15u) * 4;
          icmp += ihl;
          len -= static_cast<ssize_t>(ihl);
        }
        if (len < 8 || icmp[0] != (v6 ? 129 : 0)) continue;
        if ((icmp[4] << 8 | icmp[5]) != id || (icmp[6] << 8 | icmp[7]) != seq) continue;
        const double rtt = now_ms() - t0;
        ++r.received;
        total += rtt;
        if (r.min_ms == 0 || rtt < r.min_ms) r.min_ms = rtt;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(gap_ms));
    }
    if (r.received) r.avg_ms = total / r.received;
    ::close(fd);
  });
  return r;
}

using Bytes = std::vector<uint8_t>;

// Sends raw Ethernet frames out of `ifname` in namespace ns (a packet socket, as a NIC would).
inline int send_frames(const std::string& ns, const char* ifname, const std::vector<Bytes>& frames) {
  int sent = 0;
  in_netns(ns, [&] {
    const int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (fd < 0) return;
    sockaddr_ll a{};
    a.sll_family = AF_PACKET;
    a.sll_ifindex = static_cast<int>(if_nametoindex(ifname));
    a.sll_halen = 6;
    for (const Bytes& f : frames)
      if (sendto(fd, f.data(), f.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a) == static_cast<ssize_t>(f.size()))
        ++sent;
    ::close(fd);
  });
  return sent;
}

// Captures the frames arriving on `ifname` in ns for `ms` milliseconds on a thread of its own,
// VLAN tags put back from PACKET_AUXDATA (the kernel strips them before packet sockets).
class Capture {
 public:
  Capture(const std::string& ns, const char* ifname, int ms) {
    thread_ = std::thread([this, ns, name = std::string(ifname), ms] {
      const int nsfd = ::open(("/var/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
      if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) != 0) {
        ready_ = -1;
        return;
      }
      ::close(nsfd);
      const int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
      int one = 1;
      setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one);
      sockaddr_ll a{};
      a.sll_family = AF_PACKET;
      a.sll_protocol = htons(ETH_P_ALL);
      a.sll_ifindex = static_cast<int>(if_nametoindex(name.c_str()));
      if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ready_ = -1;
        return;
      }
      ready_ = 1;
      const double end = now_ms() + ms;
      for (;;) {
        const int left = static_cast<int>(end - now_ms());
        if (left <= 0) break;
        pollfd pf{fd, POLLIN, 0};
        if (poll(&pf, 1, left) <= 0) continue;
        uint8_t buf[70000];
        char cbuf[256];
        iovec iov{buf, sizeof buf};
        msghdr mh{};
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        mh.msg_control = cbuf;
        mh.msg_controllen = sizeof cbuf;
        const ssize_t n = recvmsg(fd, &mh, 0);
        if (n < 14) continue;
        Bytes f(buf, buf + n);
        for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
          if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA) continue;
          tpacket_auxdata aux;
          std::memcpy(&aux, CMSG_DATA(c), sizeof aux);
          if (aux.tp_status & TP_STATUS_VLAN_VALID) {
            const uint16_t tpid = (aux.tp_status & TP_STATUS_VLAN_TPID_VALID) ? aux.tp_vlan_tpid : 0x8100;
            const uint8_t tag[4] = {static_cast<uint8_t>(tpid >> 8), static_cast<uint8_t>(tpid),
                                    static_cast<uint8_t>(aux.tp_vlan_tci >> 8), static_cast<uint8_t>(aux.tp_vlan_tci)};
            f.insert(f.begin() + 12, tag, tag + 4);
          }
        }
        frames.push_back(std::move(f));
      }
      ::close(fd);
    });
    while (ready_ == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~Capture() { wait(); }
  bool ok() const { return ready_ == 1; }
  // Waits for the capture window to end; `frames` is complete afterwards.
  void wait() {
    if (thread_.joinable()) thread_.join();
  }
  std::vector<Bytes> frames;

 private:
  std::atomic<int> ready_{0};
  std::thread thread_;
};

// An Ethernet + IPv4 + UDP frame (valid IP header checksum, UDP checksum 0), with an optional
// 802.1Q tag, carrying `payload`.
inline Bytes udp4_frame(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, const Bytes& payload,
                        int vlan = -1) {
  Bytes f = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
  if (vlan >= 0) f.insert(f.end(), {0x81, 0x00, static_cast<uint8_t>(vlan >> 8), static_cast<uint8_t>(vlan)});
  f.insert(f.end(), {0x08, 0x00});
  const size_t ip = f.size();
  const uint16_t total = static_cast<uint16_t>(28 + payload.size());
  f.insert(f.end(), {0x45, 0, static_cast<uint8_t>(total >> 8), static_cast<uint8_t>(total), 0x12, 0x34, 0, 0, 64, 17,
                     0, 0});
  for (uint32_t a : {src, dst})
    f.insert(f.end(), {static_cast<uint8_t>(a >> 24), static_cast<uint8_t>(a >> 16), static_cast<uint8_t>(a >> 8),
                       static_cast<uint8_t>(a)});
  const uint16_t cs = inet_csum(f.data() + ip, 20);
  f[ip + 10] = static_cast<uint8_t>(cs >> 8);
  f[ip + 11] = static_cast<uint8_t>(cs);
  const uint16_t ulen = static_cast<uint16_t>(8 + payload.size());
  f.insert(f.end(), {static_cast<uint8_t>(sport >> 8), static_cast<uint8_t>(sport), static_cast<uint8_t>(dport >> 8),
                     static_cast<uint8_t>(dport), static_cast<uint8_t>(ulen >> 8), static_cast<uint8_t>(ulen), 0, 0});
  f.insert(f.end(), payload.begin(), payload.end());
  while (f.size() < 60) f.push_back(0);
  return f;
}

// A private temporary directory, removed with its files.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/sgfw-afp-XXXXXX";
    if (mkdtemp(tmpl)) path = tmpl;
  }
  ~TempDir() {
    if (!path.empty()) sh("rm -rf '" + path + "'");
  }
};

struct Transfer {
  bool intact = false;
  double seconds = 0;
  double gbit = 0;
};

// Sends `mbytes` MB of random data client -> server with nc over TCP (host is the server's
// address) and compares what arrived, byte for byte. Bounded by `timeout` seconds.
inline Transfer nc_transfer(const Topology& t, const char* host, int port, int mbytes) {
  Transfer r;
  TempDir d;
  const std::string in = d.path + "/in", out = d.path + "/out";
  if (sh("head -c " + std::to_string(mbytes) + "M /dev/urandom > " + in) != 0) return r;
  const std::string p = std::to_string(port);
  const double t0 = now_ms();
  sh("ip netns exec " + t.s + " timeout 30 nc -l " + host + " " + p + " < /dev/null > " + out +
     " 2>/dev/null & sleep 0.3; ip netns exec " + t.c + " timeout 30 nc -N " + host + " " + p + " < " + in +
     " >/dev/null 2>&1; wait");
  r.seconds = (now_ms() - t0) / 1000 - 0.3;
  r.intact = sh("cmp -s " + in + " " + out) == 0;
  if (r.seconds > 0) r.gbit = mbytes * 8.0 * 1048576 / 1e9 / r.seconds;
  return r;
}

// iperf3 client -> server for `seconds`; the receiver's Gbit/s, or -1 when the run failed.
inline double iperf_gbit(const Topology& t, const char* host, int port, int seconds) {
  const std::string p = std::to_string(port);
  const std::string out = sh_out("ip netns exec " + t.s + " timeout " + std::to_string(seconds + 10) +
                                 " iperf3 -s -1 -B " + host + " -p " + p + " >/dev/null 2>&1 & sleep 0.3; ip netns exec " +
                                 t.c + " timeout " + std::to_string(seconds + 8) + " iperf3 -c " + host + " -p " + p +
                                 " -t " + std::to_string(seconds) + " -J 2>/dev/null; wait");
  const size_t at = out.find("\"sum_received\"");
  if (at == std::string::npos) return -1;
  const size_t b = out.find("\"bits_per_second\":", at);
  if (b == std::string::npos) return -1;
  return std::strtod(out.c_str() + b + 18, nullptr) / 1e9;
}

}  // namespace sgfw::capture::afptest
