// AfPacketInline: `sgfw run --inline OUTSIDE:INSIDE`. A transparent two-port bridge in
// userspace: TPACKET_V2 receive rings on both interfaces, the engine's verdict per frame, and
// accepted frames sent out of the other interface with batched sendmmsg().
//
// Choices, measured on this machine (../shared/notes/af-packet-inline.md):
// - TPACKET_V2, not V3: V3 hands frames over per block, which adds 1-2 ms of round trip when
//   idle (its block timeout); V2 adds about 0.15 ms and still batches under load.
// - Transmit with sendmmsg on a separate socket per port, bound with protocol 0 (it never
//   receives, and the kernel parses the ethertype of every frame sent, VLAN tags included), not a
//   TX ring: sendmmsg was the faster of the two for TCP, the case that matters for a firewall,
//   needs no second ring of pinned memory, and reports every failing frame with its errno.
// - PACKET_VNET_HDR (Auto: on): with offloads on (every veth, every NIC with GRO), frames arrive
//   as 64 KiB GSO/GRO super-frames or with the checksum left to the NIC (TP_STATUS_CSUMNOTREADY).
//   Forwarded without their virtio-net header they fail with EMSGSIZE or arrive with bad
//   checksums: TCP never completes a handshake. With it, the header travels with the frame and
//   the egress kernel segments and checksums in software where the NIC cannot.
// - Ring slots fit the MTU, not a 64 KiB super-frame: a longer frame (a GSO/GRO super-frame, a
//   datagram DEFRAG reassembled) is left truncated in its slot with TP_STATUS_COPY, and the kernel
//   queues the whole frame on the socket (PACKET_COPY_THRESH), where it is read with recvmsg into
//   one of kBigFrames buffers, in step with the ring. Measured (bench/RESULTS.md notes): with
//   64 KiB slots a 64 MiB ring holds only 960 frames, and TCP over MTU-sized frames (offloads
//   off) overflowed it (24 k ring drops, 30 k retransmissions in 3 s) at 0.6-0.7x the
//   throughput of MTU-sized slots.
// - No PACKET_QDISC_BYPASS by default: with it a super-frame the egress cannot segment in
//   hardware is dropped silently (ENOBUFS) instead of being segmented; no gain on veth.
// - Busy polling after a batch while traffic is dense (spin_us below): waking from poll() costs
//   every TCP round trip through the bridge a wake-up, and in a VM an IPI and a halted vCPU.
// - PACKET_IGNORE_OUTGOING on the receive sockets: frames this source (or the host) transmits on
//   a port are not looped back into that port's ring.
// - VLAN: the kernel takes the 802.1Q tag out of the frame into tp_vlan_tci before any packet
//   socket sees it. It is put back in place in the ring slot (the slot has headroom before the
//   frame): the engine parses the frame as it was on the wire, the same bytes go out, and no
//   copy of the frame is made.
// - Fanout (fanout_group G != 0): each worker opens its own source; all join group G on OUTSIDE
//   and G+1 on INSIDE with PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG. The kernel picks the
//   member as reciprocal_scale(__skb_get_hash_symmetric(skb), members): the flow dissector's
//   symmetric hash orders the two addresses and the two ports before hashing (with one boot-wide
//   secret), so A->B and B->A give the same hash; with the same member count and join order in
//   both groups, member i of G and of G+1 are the same worker, and a flow's two directions meet
//   the same worker and its conntrack shard (checked by test/native/afpacket_fanout.cc). Open the
//   workers' sources one after another, never in parallel, so the join orders match.
//   DEFRAG reassembles IPv4 fragments before hashing, so the ring holds the whole datagram;
//   when it no longer fits the egress MTU it is fragmented again here (RFC 791, as a router).
//
// Counters are per ingress port: of the frames received on port p, how many were forwarded out
// of the other port, dropped by verdict, or failed to go out (tx_errors: EMSGSIZE, ENOBUFS, a
// frame longer than the ring slot). kernel_drops is the ring's PACKET_STATISTICS, accumulated.
//
// Threading: one worker thread owns one source. stats() may be called from that thread only.
#pragma once
#include <linux/if_packet.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <string>

#include "capture/packet_source.h"

namespace sgfw::capture {

struct AfPacketConfig {
  std::string outside, inside;
  uint16_t fanout_group = 0;  // 0: none; else G on outside and G+1 on inside (G <= 65534)
  uint32_t ring_frames = 4096;  // slots per ring, rounded up to whole 1 MiB blocks, at most 64 MiB
  uint32_t frame_size = 0;      // ring slot bytes; 0: fits the MTU (longer frames are read whole)
  enum VnetHdr { Auto, On, Off } vnet_hdr = Auto;  // Auto: On (offloads are on by default)
  bool qdisc_bypass = false;
  // Busy-poll both rings this long before sleeping in poll(), right after a batch and only while
  // the traffic is dense (frames on average within a quarter of this of each other over the last
  // few ms): a TCP stream's next super-frame or ACK is a round trip away, and waking from poll()
  // (an IPI in a VM) lengthens every round trip. 0: never spin. Measured (bench/README, inline):
  // TCP with offloads on went from 0.64x to 0.81x the kernel's forwarding; sparse traffic (an
  // idle port's ARP, a ping) never starts a spin, so an idle worker still sleeps.
  uint32_t spin_us = 500;
};

// What AfPacketInline knows beyond PortStats, per ingress port.
struct AfPacketPortExtra {
  uint64_t oversize = 0;        // longer than the ring slot and not read whole: dropped (also in tx_errors)
  uint64_t copied = 0;          // longer than the ring slot, read whole from the socket (TP_STATUS_COPY)
  uint64_t refragmented = 0;    // reassembled datagrams (fanout DEFRAG) split again on send
  uint64_t csum_not_ready = 0;  // checksum left to hardware while the vnet header is off
  uint64_t vlan_tagged = 0;     // frames whose tag was put back from tp_vlan_tci
  uint64_t poll_errors = 0;     // socket errors seen by poll (ENETDOWN when a port goes down)
};

class AfPacketInline final : public PacketSource {
 public:
  static constexpr int kMaxBatch = 256;  // receive() never returns more frames than this
  // Frames longer than a ring slot that one batch may hold; a batch ends early at the next one.
  static constexpr int kBigFrames = 64;

  AfPacketInline();
  ~AfPacketInline() override;
  AfPacketInline(const AfPacketInline&) = delete;
  AfPacketInline& operator=(const AfPacketInline&) = delete;

  // Control path: opens, binds and maps both ports. On failure error() names the interface, the
  // step, the errno text and the fix, and nothing stays open.
  bool open(const AfPacketConfig& config);
  void close();
  bool is_open() const { return open_; }

  int receive(Frame* frames, int max, int timeout_ms) override;
  void complete(const Frame* frames, const uint8_t* accept, int n) override;
  void stats(SourceStats& out) override;
  const std::string& error() const override { return error_; }

  // What open() settled on.
  bool vnet_hdr() const { return vnet_len_ != 0; }
  uint32_t frame_size(int port) const;
  uint32_t ring_frames(int port) const;
  uint32_t mtu(int port) const;
  const AfPacketPortExtra& extra(int port) const;

 private:
  struct Port;
  struct Pending {
    uint8_t* slot;     // ring slot, released after complete(); null: already released (read whole)
    uint8_t* data;     // frame start (after any reinserted tag)
    uint32_t len;
    uint8_t port;
  };
  struct TxBatch;

  bool open_port(int i, const std::string& ifname, const AfPacketConfig& c);
  int take(int port, Frame* out, int max);
  long read_whole(Port& p, uint8_t* buf, uint16_t& vlan_tpid, uint16_t& vlan_tci);
  bool ready(int port) const;
  void release(uint8_t* slot);
  void flush(int egress);
  void send_one_fragmented(int ingress, const Pending& p);
  void note_density(int frames);

  std::unique_ptr<Port[]> ports_;
  std::unique_ptr<Pending[]> pending_;
  std::unique_ptr<TxBatch[]> tx_;
  std::unique_ptr<uint8_t[]> scratch_;  // one IPv4 fragment at a time
  std::unique_ptr<uint8_t[]> big_;      // kBigFrames x kBigSlotSize: frames read whole, this batch
  int npending_ = 0;
  int nbig_ = 0;  // big_ buffers the pending batch holds
  int next_first_ = 0;  // port served first by the next receive(): fairness
  uint64_t spin_ns_ = 0;
  bool was_busy_ = false;  // the last receive() returned frames: spin before sleeping
  bool dense_ = false;     // frames came closer than spin_ns_ / 4 apart in the last window
  uint64_t window_start_ns_ = 0;
  uint64_t window_frames_ = 0;
  uint64_t spins_ = 0, spin_hits_ = 0;  // stats(): busy polls started, and those that found frames
  uint32_t vnet_len_ = 0;
  bool open_ = false;
  std::string error_;
};

}  // namespace sgfw::capture
