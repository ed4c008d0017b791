// A small 64-byte UDP generator and sink for the live benchmarks (iperf3 sends one datagram per
// system call and tops out well below what a forwarder can pass on this machine).
//
//   udp-blast sink PORT --seconds S            counts datagrams for at most S seconds
//   udp-blast send ADDR PORT --seconds S [--pps N] [--len 64]
//
// Request/response first, as iperf3 does: the sender sends a hello and waits (bounded) for the
// sink's answer, so every stateful firewall on the path sees a reply and treats the flood as an
// established flow (nftables' `ct state established` needs a reply). Then the sender floods with
// sendmmsg (batches of 64) for S seconds at most N packets/s (default 2,000,000: a bound, never
// an unlimited flood). The sink prints one JSON line: datagrams received after the hello, and the
// time from the first to the last of them; the sender prints what it sent. IPv4 only.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

double mono() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

constexpr int kBatch = 64;
constexpr char kHello[] = "sgfw-bench-hello";

int run_sink(int port, double seconds) {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  int buf = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    std::perror("bind");
    return 1;
  }
  std::fprintf(stderr, "sink listening on %d\n", port);
  static uint8_t data[kBatch][2048];
  mmsghdr msgs[kBatch];
  iovec iov[kBatch];
  sockaddr_in from[kBatch];
  const double end = mono() + seconds;
  unsigned long long count = 0, bytes = 0;
  double first = 0, last = 0, idle_since = 0;
  while (mono() < end) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) {
      // The flood is over once it has been quiet for half a second.
      if (count > 0 && mono() - idle_since > 0.5) break;
      continue;
    }
    for (int i = 0; i < kBatch; i++) {
      iov[i] = {data[i], sizeof data[i]};
      msgs[i].msg_hdr = {};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_namelen = sizeof from[i];
    }
    const int n = recvmmsg(fd, msgs, kBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) continue;
    const double now = mono();
    idle_since = now;
    for (int i = 0; i < n; i++) {
      if (msgs[i].msg_len == sizeof kHello - 1 && std::memcmp(data[i], kHello, sizeof kHello - 1) == 0) {
        sendto(fd, kHello, sizeof kHello - 1, 0, reinterpret_cast<sockaddr*>(&from[i]), msgs[i].msg_hdr.msg_namelen);
        continue;
      }
      if (count == 0) first = now;
      last = now;
      count++;
      bytes += msgs[i].msg_len;
    }
  }
  const double span = last > first ? last - first : 0;
  std::printf("{\"received\":%llu,\"bytes\":%llu,\"seconds\":%.6f,\"pps\":%.1f}\n", count, bytes, span, span > 0 ? double(count) / span : 0.0);
  return 0;
}

int run_send(const char* addr, int port, double seconds, double pps, int len) {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  if (inet_pton(AF_INET, addr, &a.sin_addr) != 1) {
    std::fprintf(stderr, "bad address %s\n", addr);
    return 2;
  }
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    std::perror("connect");
    return 1;
  }
  // Hello until answered (at most 5 s): the path now holds an established flow.
  bool answered = false;
  for (int tries = 0; tries < 50 && !answered; tries++) {
    send(fd, kHello, sizeof kHello - 1, 0);
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) > 0) {
      char b[64];
      answered = recv(fd, b, sizeof b, 0) > 0;
    }
  }
  if (!answered) {
    std::fprintf(stderr, "no answer to the hello from %s:%d\n", addr, port);
    return 1;
  }
  static uint8_t payload[kBatch][2048];
  mmsghdr msgs[kBatch];
  iovec iov[kBatch];
  for (int i = 0; i < kBatch; i++) {
    std::memset(payload[i], 0x5a, sizeof payload[i]);
    iov[i] = {payload[i], size_t(len)};
    msgs[i].msg_hdr = {};
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  const double start = mono(), end = start + seconds;
  unsigned long long sent = 0, errors = 0;
  for (double now = start; now < end; now = mono()) {
    // Pace: never ahead of pps * elapsed.
    const double allowed = (now - start) * pps;
    if (double(sent) >= allowed) {
      const double wait = (double(sent) - allowed) / pps;
      if (wait > 50e-6) usleep(useconds_t(wait * 1e6));
      continue;
    }
    const int n = sendmmsg(fd, msgs, kBatch, 0);
    if (n > 0) sent += unsigned(n);
    else if (errno != EAGAIN && errno != ENOBUFS && errno != ECONNREFUSED) {
      std::perror("sendmmsg");
      return 1;
    } else {
      errors++;
    }
  }
  const double dt = mono() - start;
  std::printf("{\"sent\":%llu,\"seconds\":%.6f,\"pps\":%.1f,\"sendErrors\":%llu}\n", sent, dt, double(sent) / dt, errors);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 3, pps = 2e6;
  int len = 64;
  std::string mode = argc > 1 ? argv[1] : "";
  int pos = mode == "sink" ? 3 : 4;
  if ((mode != "sink" && mode != "send") || argc < pos) {
    std::fprintf(stderr, "usage: udp-blast sink PORT --seconds S | send ADDR PORT --seconds S [--pps N] [--len L]\n");
    return 2;
  }
  for (int i = pos; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--seconds") seconds = std::atof(argv[i + 1]);
    else if (k == "--pps") pps = std::atof(argv[i + 1]);
    else if (k == "--len") len = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (seconds <= 0 || seconds > 60 || pps <= 0 || pps > 1e7 || len < 18 || len > 1472) {
    std::fprintf(stderr, "out of range: --seconds (0, 60], --pps (0, 1e7], --len 18..1472\n");
    return 2;
  }
  if (mode == "sink") return run_sink(std::atoi(argv[2]), seconds);
  return run_send(argv[2], std::atoi(argv[3]), seconds, pps, len);
}
