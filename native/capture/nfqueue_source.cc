#include "capture/nfqueue_source.h"

#include <arpa/inet.h>
#include <endian.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "capture/link_types.h"

// libnetfilter_queue.h pulls in libnfnetlink's headers; the nfq_nlmsg_* API needs only these.
extern "C" {
struct nlmsghdr* nfq_nlmsg_put(char* buf, int type, uint32_t queue_num);
void nfq_nlmsg_cfg_put_cmd(struct nlmsghdr* nlh, uint16_t pf, uint8_t cmd);
void nfq_nlmsg_cfg_put_params(struct nlmsghdr* nlh, uint8_t mode, int range);
void nfq_nlmsg_cfg_put_qmaxlen(struct nlmsghdr* nlh, uint32_t qmaxlen);
void nfq_nlmsg_verdict_put(struct nlmsghdr* nlh, int id, int verdict);
int nfq_nlmsg_parse(const struct nlmsghdr* nlh, struct nlattr** attr);
}

namespace sgfw::capture {

namespace {

// Room for the netlink, nfgenmsg and attribute headers around a packet of copy_range bytes
// (packet header, hw address, interfaces, mark, timestamp, cap_len, skb info: < 512 bytes).
constexpr uint32_t kSlotHeadroom = 4096;
// One verdict message: nlmsghdr 16 + nfgenmsg 4 + NFQA_VERDICT_HDR 12, rounded up.
constexpr size_t kVerdictMsgLen = 64;
constexpr int kAckWaitMs = 2000;
constexpr uint32_t kFlagMask = NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO;

uint64_t now_realtime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

bool is_packet_msg(const nlmsghdr* nlh) {
  return nlh->nlmsg_type == ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET);
}

std::string errno_text(int e) {
  const char* name = strerrorname_np(e);
  return std::string(strerror(e)) + " (" + (name ? name : "?") + ")";
}

}  // namespace

NfqueueSource::NfqueueSource() = default;

NfqueueSource::~NfqueueSource() { close(); }

bool NfqueueSource::fail(std::string msg) {
  error_ = std::move(msg);
  close();
  return false;
}

bool NfqueueSource::open(uint16_t queue_num, const NfqueueConfig& cfg) {
  close();
  error_.clear();
  ps_ = PortStats{};
  vc_ = NfqueueVerdictCounters{};
  queue_ = queue_num;
  fail_open_ = cfg.fail_open;
  const std::string q = "NFQUEUE " + std::to_string(queue_num) + ": ";
  if (cfg.max_batch <= 0 || cfg.max_batch > 4096) return fail(q + "max_batch must be 1..4096");
  if (cfg.copy_range == 0 || cfg.copy_range > 0xffff) return fail(q + "copy_range must be 1..65535");
  if (cfg.max_len == 0) return fail(q + "max_len must be > 0");

  max_batch_ = cfg.max_batch;
  // Netlink headers are read in place: every slot starts 8-byte aligned.
  slot_size_ = (cfg.copy_range + kSlotHeadroom + 7u) & ~7u;
  slots_.reset(new uint8_t[static_cast<size_t>(slot_size_) * static_cast<size_t>(max_batch_)]);
  vbuf_.reset(new uint8_t[kVerdictMsgLen * static_cast<size_t>(max_batch_ + 1)]);
  msgs_.reset(new ::mmsghdr[static_cast<size_t>(max_batch_)]);
  iovs_.reset(new ::iovec[static_cast<size_t>(max_batch_)]);
  for (int i = 0; i < max_batch_; ++i) {
    iovs_[i].iov_base = slots_.get() + static_cast<size_t>(i) * slot_size_;
    iovs_[i].iov_len = slot_size_;
    std::memset(&msgs_[i], 0, sizeof(msgs_[i]));
    msgs_[i].msg_hdr.msg_iov = &iovs_[i];
    msgs_[i].msg_hdr.msg_iovlen = 1;
  }

  nl_ = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
  if (!nl_) {
    return fail(q + "netlink socket: " + errno_text(errno) +
                "; the kernel needs nfnetlink (CONFIG_NETFILTER_NETLINK_QUEUE: modprobe nfnetlink_queue)");
  }
  if (mnl_socket_bind(nl_, 0, MNL_SOCKET_AUTOPID) < 0) return fail(q + "netlink bind: " + errno_text(errno));
  fd_ = mnl_socket_get_fd(nl_);

  // A large buffer absorbs bursts; beyond it the kernel counts user_dropped, which stats()
  // reports, so the ENOBUFS error itself carries nothing and would only abort a recv.
  int rcv = cfg.rcvbuf_bytes;
  if (setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) < 0) {
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
  }
  int one = 1;
  setsockopt(fd_, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one));

  proc_fd_ = ::open("/proc/thread-self/net/netfilter/nfnetlink_queue", O_RDONLY | O_CLOEXEC);
  if (proc_fd_ < 0) proc_fd_ = ::open("/proc/self/net/netfilter/nfnetlink_queue", O_RDONLY | O_CLOEXEC);

  return configure(cfg);
}

bool NfqueueSource::configure(const NfqueueConfig& cfg) {
  const std::string q = "NFQUEUE " + std::to_string(queue_) + ": ";
  alignas(nlmsghdr) char buf[512];

  nlmsghdr* nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue_);
  nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_BIND);
  nlh->nlmsg_flags |= NLM_F_ACK;
  nlh->nlmsg_seq = 1;
  if (!send_and_ack("bind", buf, nlh->nlmsg_len)) {
    // EPERM is both "no CAP_NET_ADMIN" and "another socket holds this queue".
    if (error_.find("EPERM") != std::string::npos) {
      error_ += ": another process has bound this queue, or this process lacks CAP_NET_ADMIN";
    } else if (error_.find("EOPNOTSUPP") != std::string::npos || error_.find("ENOENT") != std::string::npos) {
      error_ += ": the kernel has no nfnetlink_queue (modprobe nfnetlink_queue)";
    }
    return fail(q + error_);
  }

  nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue_);
  nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, static_cast<int>(cfg.copy_range));
  nfq_nlmsg_cfg_put_qmaxlen(nlh, cfg.max_len);
  nlh->nlmsg_flags |= NLM_F_ACK;
  nlh->nlmsg_seq = 2;
  if (!send_and_ack("copy mode and queue length", buf, nlh->nlmsg_len)) return fail(q + error_);

  uint32_t flags = (cfg.fail_open ? NFQA_CFG_F_FAIL_OPEN : 0u) | (cfg.gso ? NFQA_CFG_F_GSO : 0u);
  nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue_);
  mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
  mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(kFlagMask));
  nlh->nlmsg_flags |= NLM_F_ACK;
  nlh->nlmsg_seq = 3;
  if (!send_and_ack("flags (fail-open, GSO)", buf, nlh->nlmsg_len)) {
    if (error_.find("EOPNOTSUPP") != std::string::npos) error_ += ": this kernel lacks a queue flag";
    return fail(q + error_);
  }
  return true;
}

// Sends one configuration message and waits for its acknowledgement. Packets that race in
// meanwhile (a rule already points at the queue) cannot be handed out yet: they get the
// fail-open/closed verdict at once.
bool NfqueueSource::send_and_ack(const char* what, const void* buf, size_t len) {
  const uint32_t seq = static_cast<const nlmsghdr*>(buf)->nlmsg_seq;
  if (mnl_socket_sendto(nl_, buf, len) < 0) {
    error_ = std::string(what) + ": send: " + errno_text(errno);
    return false;
  }
  uint8_t* rbuf = slots_.get();
  const uint64_t deadline = now_realtime_ns() + kAckWaitMs * 1000000ull;
  for (;;) {
    const uint64_t now = now_realtime_ns();
    if (now >= deadline) {
      error_ = std::string(what) + ": no answer from the kernel";
      return false;
    }
    pollfd p{fd_, POLLIN, 0};
    int pr = poll(&p, 1, static_cast<int>((deadline - now) / 1000000ull) + 1);
    if (pr < 0 && errno != EINTR) {
      error_ = std::string(what) + ": poll: " + errno_text(errno);
      return false;
    }
    if (pr <= 0) continue;
    ssize_t got = recv(fd_, rbuf, slot_size_, MSG_DONTWAIT);
    if (got < 0) {
      if (errno == EAGAIN || errno == EINTR || errno == ENOBUFS) continue;
      error_ = std::string(what) + ": recv: " + errno_text(errno);
      return false;
    }
    int left = static_cast<int>(got);
    for (auto* nlh = reinterpret_cast<const nlmsghdr*>(rbuf); mnl_nlmsg_ok(nlh, left);
         nlh = mnl_nlmsg_next(nlh, &left)) {
      if (is_packet_msg(nlh)) {
        nlattr* attr[NFQA_MAX + 1] = {};
        if (nfq_nlmsg_parse(nlh, attr) >= 0 && attr[NFQA_PACKET_HDR]) {
          auto* ph = static_cast<const nfqnl_msg_packet_hdr*>(mnl_attr_get_payload(attr[NFQA_PACKET_HDR]));
          verdict_now(ntohl(ph->packet_id), fail_open_);
        }
        continue;
      }
      if (nlh->nlmsg_type != NLMSG_ERROR || nlh->nlmsg_seq != seq) continue;
      auto* e = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
      if (e->error == 0) return true;
      error_ = std::string(what) + ": " + errno_text(-e->error);
      return false;
    }
  }
}

void NfqueueSource::verdict_now(uint32_t id, bool accept) {
  alignas(nlmsghdr) char buf[kVerdictMsgLen];
  nlmsghdr* nlh = nfq_nlmsg_put(buf, NFQNL_MSG_VERDICT, queue_);
  nfq_nlmsg_verdict_put(nlh, static_cast<int>(id), accept ? NF_ACCEPT : NF_DROP);
  ++vc_.stray;
  ++ps_.received;
  if (accept) {
    ++ps_.forwarded;
  } else {
    ++ps_.dropped;
  }
  ++vc_.single_messages;
  ++vc_.send_calls;
  if (mnl_socket_sendto(nl_, buf, nlh->nlmsg_len) < 0) ++ps_.tx_errors;
}

void NfqueueSource::close() {
  if (nl_) {
    // Closing the socket unbinds the queue; the kernel drops what still waits for a verdict.
    mnl_socket_close(nl_);
    nl_ = nullptr;
    fd_ = -1;
  }
  if (proc_fd_ >= 0) {
    ::close(proc_fd_);
    proc_fd_ = -1;
  }
}

int NfqueueSource::receive(Frame* frames, int max, int timeout_ms) {
  if (!nl_) {
    if (error_.empty()) error_ = "NFQUEUE source is not open";
    return -1;
  }
  if (max > max_batch_) max = max_batch_;
  if (max <= 0) return 0;

  int got = recvmmsg(fd_, msgs_.get(), static_cast<unsigned>(max), MSG_DONTWAIT, nullptr);
  if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && timeout_ms != 0) {
    pollfd p{fd_, POLLIN, 0};
    int pr = poll(&p, 1, timeout_ms);
    if (pr < 0) {
      if (errno == EINTR) return 0;
      error_ = "NFQUEUE " + std::to_string(queue_) + ": poll: " + errno_text(errno);
      return -1;
    }
    if (pr == 0) return 0;
    got = recvmmsg(fd_, msgs_.get(), static_cast<unsigned>(max), MSG_DONTWAIT, nullptr);
  }
  if (got < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ENOBUFS) return 0;
    error_ = "NFQUEUE " + std::to_string(queue_) + ": recvmmsg: " + errno_text(errno);
    return -1;
  }

  const uint64_t now = now_realtime_ns();
  int n = 0;
  for (int i = 0; i < got; ++i) {
    uint8_t* buf = static_cast<uint8_t*>(iovs_[i].iov_base);
    int left = static_cast<int>(msgs_[i].msg_len);
    for (auto* nlh = reinterpret_cast<const nlmsghdr*>(buf); mnl_nlmsg_ok(nlh, left);
         nlh = mnl_nlmsg_next(nlh, &left)) {
      if (nlh->nlmsg_type == NLMSG_ERROR) {
        // Errors answer verdicts (no ACK is asked for, so a zero error never comes).
        auto* e = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
        if (e->error != 0) ++vc_.kernel_errors;
        continue;
      }
      if (!is_packet_msg(nlh)) continue;
      nlattr* attr[NFQA_MAX + 1] = {};
      if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR]) {
        ++vc_.kernel_errors;
        continue;
      }
      auto* ph = static_cast<const nfqnl_msg_packet_hdr*>(mnl_attr_get_payload(attr[NFQA_PACKET_HDR]));
      const uint32_t id = ntohl(ph->packet_id);
      if (n == max) {
        // Never seen (the kernel sends one packet per datagram): no frame left for it.
        verdict_now(id, fail_open_);
        continue;
      }
      Frame& f = frames[n++];
      if (attr[NFQA_PAYLOAD]) {
        f.data = static_cast<const uint8_t*>(mnl_attr_get_payload(attr[NFQA_PAYLOAD]));
        f.caplen = mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]);
      } else {
        f.data = buf;  // any valid pointer; caplen 0 makes it unreadable
        f.caplen = 0;
      }
      f.wirelen = attr[NFQA_CAP_LEN] ? ntohl(mnl_attr_get_u32(attr[NFQA_CAP_LEN])) : f.caplen;
      if (f.wirelen < f.caplen) f.wirelen = f.caplen;
      if (attr[NFQA_TIMESTAMP]) {
        auto* t = static_cast<const nfqnl_msg_packet_timestamp*>(mnl_attr_get_payload(attr[NFQA_TIMESTAMP]));
        f.ts_ns = be64toh(t->sec) * 1000000000ull + be64toh(t->usec) * 1000ull;
      } else {
        f.ts_ns = now;
      }
      f.link_type = kLinkTypeRaw;
      f.port = queue_;
      f.cookie = id;
    }
    if (msgs_[i].msg_hdr.msg_flags & MSG_TRUNC) ++vc_.kernel_errors;  // cannot happen: slot > copy range
  }
  ps_.received += static_cast<uint64_t>(n);
  return n;
}

void NfqueueSource::complete(const Frame* frames, const uint8_t* accept, int n) {
  if (!nl_ || n <= 0) return;
  size_t off = 0;
  for (int i = 0; i < n;) {
    const bool acc = accept[i] != 0;
    int j = i + 1;
    while (j < n && (accept[j] != 0) == acc &&
           static_cast<uint32_t>(frames[j].cookie) == static_cast<uint32_t>(frames[j - 1].cookie) + 1) {
      ++j;
    }
    const bool batch = j - i >= 2;
    nlmsghdr* nlh = nfq_nlmsg_put(reinterpret_cast<char*>(vbuf_.get() + off),
                                  batch ? NFQNL_MSG_VERDICT_BATCH : NFQNL_MSG_VERDICT, queue_);
    nfq_nlmsg_verdict_put(nlh, static_cast<int>(static_cast<uint32_t>(frames[j - 1].cookie)),
                          acc ? NF_ACCEPT : NF_DROP);
    off += MNL_ALIGN(nlh->nlmsg_len);
    if (batch) {
      ++vc_.batch_messages;
    } else {
      ++vc_.single_messages;
    }
    if (acc) {
      ps_.forwarded += static_cast<uint64_t>(j - i);
    } else {
      ps_.dropped += static_cast<uint64_t>(j - i);
    }
    i = j;
  }
  ++vc_.send_calls;
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (mnl_socket_sendto(nl_, vbuf_.get(), off) >= 0) return;
    if (errno != EINTR && errno != ENOBUFS && errno != EAGAIN) break;
  }
  // The packets stay queued until the socket closes; count them so the loss is visible.
  ps_.tx_errors += static_cast<uint64_t>(n);
  error_ = "NFQUEUE " + std::to_string(queue_) + ": sending verdicts: " + errno_text(errno);
}

void NfqueueSource::stats(SourceStats& out) {
  out = SourceStats{};
  out.ports = 1;
  if (proc_fd_ >= 0) {
    // "queue portid total copy_mode copy_range queue_dropped user_dropped id_sequence 1",
    // one line per queue of the namespace (seq_file: pread from 0 re-reads it whole).
    char text[8192];
    size_t len = 0;
    for (;;) {
      ssize_t r = pread(proc_fd_, text + len, sizeof(text) - 1 - len, static_cast<off_t>(len));
      if (r <= 0) break;
      len += static_cast<size_t>(r);
      if (len == sizeof(text) - 1) break;
    }
    text[len] = '\0';
    for (char* line = text; line && *line;) {
      char* next = std::strchr(line, '\n');
      if (next) *next++ = '\0';
      unsigned qn = 0, portid = 0, total = 0, mode = 0, range = 0, qdrop = 0, udrop = 0;
      if (std::sscanf(line, "%u %u %u %u %u %u %u", &qn, &portid, &total, &mode, &range, &qdrop, &udrop) == 7 &&
          qn == queue_) {
        ps_.kernel_drops = static_cast<uint64_t>(qdrop) + udrop;
        break;
      }
      line = next;
    }
  }
  out.port[0] = ps_;
}

}  // namespace sgfw::capture
