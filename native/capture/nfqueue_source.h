// NfqueueSource: the packet source of `sgfw run --host`. Netfilter queues the host's own traffic
// (rules installed by src/host/netfilter.ts) to one NFQUEUE number per worker; this source binds
// that queue on a netlink socket (libnetfilter_queue's nfq_nlmsg_* API over libmnl), hands out
// each queued packet as a raw IP frame and sends the verdicts back in order.
//
// Receive: poll with the caller's timeout, then one recvmmsg() drains up to a batch of packet
// messages into fixed slots (one per frame, sized for the copy range): no allocation per packet,
// and every frame stays valid until complete().
// Verdicts: one sendto() per complete() carrying every verdict message of the batch. A run of
// two or more consecutive packet ids with the same verdict becomes one NFQNL_MSG_VERDICT_BATCH
// (the kernel applies it to every queued id <= the last one: safe, since every earlier packet
// already has its verdict), anything else a per-packet NFQNL_MSG_VERDICT.
// Kernel-side loss is read from /proc/net/netfilter/nfnetlink_queue: queue_dropped (the queue
// was full and fail-open was off) plus user_dropped (the socket buffer was full).
//
// Namespaces: the socket and the /proc file are opened by open(), in the calling thread's
// network namespace (the file through /proc/thread-self, since /proc/self/net follows the main
// thread); after that, any one thread at a time may drive the source.
//
// Use:
//   NfqueueSource src;
//   if (!src.open(queue, NfqueueConfig{})) die(src.error());
//   int n = src.receive(frames, 64, 50);       // -1: fatal, see error()
//   ... judge ... src.complete(frames, accept, n);
#pragma once
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <string>

#include "capture/packet_source.h"

struct mnl_socket;

namespace sgfw::capture {

struct NfqueueConfig {
  uint32_t max_len = 4096;       // packets the kernel holds for us before it drops (or accepts)
  uint32_t copy_range = 0xffff;  // bytes of each packet copied to us (the kernel's maximum)
  bool fail_open = false;        // NFQA_CFG_F_FAIL_OPEN: a full queue accepts instead of dropping
  bool gso = true;               // NFQA_CFG_F_GSO: take GSO super-frames whole, no forced segmentation
  int max_batch = 64;            // frames per receive(); sizes the receive slots
  int rcvbuf_bytes = 8 << 20;    // socket receive buffer (SO_RCVBUFFORCE when allowed)
};

// What the source has done with its verdict messages (for tests and diagnostics).
struct NfqueueVerdictCounters {
  uint64_t batch_messages = 0;   // NFQNL_MSG_VERDICT_BATCH sent
  uint64_t single_messages = 0;  // NFQNL_MSG_VERDICT sent
  uint64_t send_calls = 0;       // sendto() calls carrying them
  uint64_t kernel_errors = 0;    // NLMSG_ERROR answers to verdicts (e.g. ENOENT: unknown id)
  uint64_t stray = 0;            // packets that could not be handed out (see receive()) and got
                                 // the fail-open/closed verdict at once
};

class NfqueueSource final : public PacketSource {
 public:
  NfqueueSource();
  ~NfqueueSource() override;
  NfqueueSource(const NfqueueSource&) = delete;
  NfqueueSource& operator=(const NfqueueSource&) = delete;

  // Binds `queue_num` in the calling thread's network namespace. False with error() on failure
  // (no CAP_NET_ADMIN, queue held by another process, kernel without NFQUEUE or a flag).
  bool open(uint16_t queue_num, const NfqueueConfig& cfg);
  // Unbinds and closes; packets still without a verdict are dropped by the kernel.
  void close();
  bool is_open() const { return nl_ != nullptr; }
  uint16_t queue() const { return queue_; }

  // Frames: data = the IP packet (link_type 101), caplen = bytes copied, wirelen = packet length
  // (NFQA_CAP_LEN when truncated), ts_ns = NFQA_TIMESTAMP or now, port = queue number,
  // cookie = packet id.
  int receive(Frame* frames, int max, int timeout_ms) override;
  void complete(const Frame* frames, const uint8_t* accept, int n) override;
  // One port: port[0] is this queue.
  void stats(SourceStats& out) override;
  const std::string& error() const override { return error_; }
  const NfqueueVerdictCounters& verdicts() const { return vc_; }

 private:
  bool configure(const NfqueueConfig& cfg);
  bool send_and_ack(const char* what, const void* buf, size_t len);
  void verdict_now(uint32_t id, bool accept);
  bool send_verdicts(size_t len);
  bool fail(std::string msg);

  mnl_socket* nl_ = nullptr;
  int fd_ = -1;
  int proc_fd_ = -1;  // /proc/thread-self/net/netfilter/nfnetlink_queue of the socket's netns
  uint16_t queue_ = 0;
  bool fail_open_ = false;
  uint32_t slot_size_ = 0;
  int max_batch_ = 0;
  std::unique_ptr<uint8_t[]> slots_;        // max_batch_ receive slots of slot_size_ bytes
  std::unique_ptr<uint8_t[]> vbuf_;         // verdict messages of one complete()
  std::unique_ptr<::mmsghdr[]> msgs_;  // recvmmsg vector, one per slot
  std::unique_ptr<::iovec[]> iovs_;
  PortStats ps_;
  NfqueueVerdictCounters vc_;
  std::string error_;
};

}  // namespace sgfw::capture
