#include "capture/afpacket_source.h"

#include <errno.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <ctime>

#include "capture/afpacket_frame.h"

namespace sgfw::capture {

using afpacket::VnetHdr;

namespace {

// Room the kernel keeps at the head of every V2 slot: the header, then the sockaddr_ll.
constexpr uint32_t kSlotHdrLen = TPACKET_ALIGN(sizeof(tpacket2_hdr)) + sizeof(sockaddr_ll);
constexpr int kSndBuf = 4 << 20;
// Frames longer than a slot wait on the socket's queue until read: room for as many bytes as a
// ring of 64 KiB slots held.
constexpr int kRcvBuf = static_cast<int>(afpacket::kMaxRingBytes);
// One frame read whole: headroom for a reinserted VLAN tag, the vnet header, the frame.
constexpr uint32_t kBigHeadroom = 16;
constexpr uint32_t kBigSlotSize = afpacket::kSuperFrameSize;
constexpr long kSendTimeoutUs = 100 * 1000;  // a stuck egress must not hang the worker
// How long the traffic is watched before deciding whether it is dense enough to spin for.
constexpr uint64_t kDensityWindowNs = 2'000'000;

uint64_t mono_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

std::string errno_text(int e) { return std::string(std::strerror(e)) + " (errno " + std::to_string(e) + ")"; }

}  // namespace

struct AfPacketInline::Port {
  std::string name;
  int ifindex = 0;
  int rx = -1;  // bound to ETH_P_ALL, owns the receive ring
  int tx = -1;  // bound with protocol 0: sends only, never receives
  uint8_t* ring = nullptr;
  size_t ring_bytes = 0;
  afpacket::RingGeometry geo;
  uint32_t head = 0;  // next slot to read
  uint32_t mtu = 0;
  bool ignore_outgoing = false;
  PortStats st;
  AfPacketPortExtra x;
};

struct AfPacketInline::TxBatch {
  mmsghdr msg[kMaxBatch];
  iovec iov[kMaxBatch];
  int n = 0;
};

AfPacketInline::AfPacketInline() = default;
AfPacketInline::~AfPacketInline() { close(); }

uint32_t AfPacketInline::frame_size(int port) const { return ports_ ? ports_[port & 1].geo.frame_size : 0; }
uint32_t AfPacketInline::ring_frames(int port) const { return ports_ ? ports_[port & 1].geo.frame_nr : 0; }
uint32_t AfPacketInline::mtu(int port) const { return ports_ ? ports_[port & 1].mtu : 0; }
const AfPacketPortExtra& AfPacketInline::extra(int port) const {
  static const AfPacketPortExtra kNone;
  return ports_ ? ports_[port & 1].x : kNone;
}

void AfPacketInline::close() {
  if (ports_) {
    for (int i = 0; i < 2; ++i) {
      Port& p = ports_[i];
      if (p.ring) munmap(p.ring, p.ring_bytes);
      if (p.rx >= 0) ::close(p.rx);
      if (p.tx >= 0) ::close(p.tx);
    }
  }
  ports_.reset();
  pending_.reset();
  tx_.reset();
  scratch_.reset();
  big_.reset();
  npending_ = 0;
  nbig_ = 0;
  vnet_len_ = 0;
  open_ = false;
}

bool AfPacketInline::open(const AfPacketConfig& c) {
  close();
  error_.clear();
  if (c.outside.empty() || c.inside.empty() || c.outside == c.inside) {
    error_ = "inline needs two different interfaces, OUTSIDE:INSIDE (got '" + c.outside + ":" + c.inside + "')";
    return false;
  }
  if (c.fanout_group == 0xffff) {
    error_ = "fanout group 65535 leaves no group for the inside port (it uses G+1): pick 1..65534";
    return false;
  }
  vnet_len_ = c.vnet_hdr == AfPacketConfig::Off ? 0 : sizeof(VnetHdr);
  spin_ns_ = uint64_t{c.spin_us} * 1000;
  was_busy_ = false;
  dense_ = false;
  window_start_ns_ = mono_ns();
  window_frames_ = 0;
  spins_ = spin_hits_ = 0;
  ports_ = std::make_unique<Port[]>(2);
  pending_ = std::make_unique<Pending[]>(kMaxBatch);
  tx_ = std::make_unique<TxBatch[]>(2);
  if (!open_port(0, c.outside, c) || !open_port(1, c.inside, c)) {
    std::string keep = error_;
    close();
    error_ = keep;
    return false;
  }
  const uint32_t biggest = ports_[0].mtu > ports_[1].mtu ? ports_[0].mtu : ports_[1].mtu;
  scratch_ = std::make_unique<uint8_t[]>(biggest + 64);
  big_ = std::make_unique_for_overwrite<uint8_t[]>(size_t{kBigFrames} * kBigSlotSize);
  nbig_ = 0;
  for (int e = 0; e < 2; ++e) {
    for (int i = 0; i < kMaxBatch; ++i) {
      std::memset(&tx_[e].msg[i], 0, sizeof(mmsghdr));
      tx_[e].msg[i].msg_hdr.msg_iov = &tx_[e].iov[i];
      tx_[e].msg[i].msg_hdr.msg_iovlen = 1;
    }
  }
  open_ = true;
  return true;
}

bool AfPacketInline::open_port(int i, const std::string& ifname, const AfPacketConfig& c) {
  Port& p = ports_[i];
  p.name = ifname;
  const std::string who = std::string(i ? "inside" : "outside") + " interface '" + ifname + "'";
  auto fail = [&](const std::string& step, int e, const std::string& fix) {
    error_ = who + ": " + step + ": " + errno_text(e);
    if (!fix.empty()) error_ += "; " + fix;
    return false;
  };
  const std::string need_raw =
      "needs CAP_NET_RAW and CAP_NET_ADMIN: run as root or `setcap cap_net_raw,cap_net_admin+ep` on the binary";

  if (ifname.size() >= IFNAMSIZ) return fail("name too long", ENAMETOOLONG, "check it with `ip link show`");
  p.rx = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);  // protocol 0: nothing queued before the ring
  if (p.rx < 0) return fail("socket(AF_PACKET)", errno, need_raw);
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, ifname.c_str(), ifname.size());
  if (ioctl(p.rx, SIOCGIFINDEX, &ifr) < 0)
    return fail("no such interface", errno, "check the name with `ip link show` (and the network namespace)");
  p.ifindex = ifr.ifr_ifindex;
  if (ioctl(p.rx, SIOCGIFHWADDR, &ifr) < 0) return fail("SIOCGIFHWADDR", errno, "");
  if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER)
    return fail("not an Ethernet interface (ARPHRD " + std::to_string(ifr.ifr_hwaddr.sa_family) + ")", EINVAL,
                "inline mode bridges Ethernet ports only");
  if (ioctl(p.rx, SIOCGIFMTU, &ifr) < 0) return fail("SIOCGIFMTU", errno, "");
  p.mtu = static_cast<uint32_t>(ifr.ifr_mtu);

  int v = TPACKET_V2;
  if (setsockopt(p.rx, SOL_PACKET, PACKET_VERSION, &v, sizeof v) < 0)
    return fail("PACKET_VERSION TPACKET_V2", errno, "the kernel lacks TPACKET_V2 (Linux >= 2.6.27 needed)");
  const std::string vnet_fix =
      "use vnet_hdr Off and turn offloads off on both ports: `ethtool -K " + ifname +
      " gro off gso off tso off tx off rx off`";
  int one = 1;
  if (vnet_len_ && setsockopt(p.rx, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0)
    return fail("PACKET_VNET_HDR", errno, vnet_fix);
  // Headroom before the frame for a reinserted VLAN tag, whatever the slot alignment leaves.
  unsigned reserve = 4;
  if (setsockopt(p.rx, SOL_PACKET, PACKET_RESERVE, &reserve, sizeof reserve) < 0)
    return fail("PACKET_RESERVE", errno, "");

  const uint32_t fsize = c.frame_size ? c.frame_size : afpacket::frame_size_for_mtu(p.mtu);
  if (!afpacket::ring_geometry(c.ring_frames, fsize, p.geo))
    return fail("frame_size " + std::to_string(fsize), EINVAL,
                "use 0 (auto) or a multiple of 16 between 256 and 1048576");
  tpacket_req req{};
  req.tp_block_size = p.geo.block_size;
  req.tp_block_nr = p.geo.block_nr;
  req.tp_frame_size = p.geo.frame_size;
  req.tp_frame_nr = p.geo.frame_nr;
  if (setsockopt(p.rx, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) < 0)
    return fail("PACKET_RX_RING (" + std::to_string(p.geo.frame_nr) + " x " + std::to_string(p.geo.frame_size) +
                    " bytes)",
                errno, "lower ring_frames or frame_size");
  p.ring_bytes = size_t{p.geo.block_size} * p.geo.block_nr;
  void* m = mmap(nullptr, p.ring_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, p.rx, 0);
  if (m == MAP_FAILED) {
    p.ring = nullptr;
    return fail("mmap of the receive ring", errno, "lower ring_frames or frame_size");
  }
  p.ring = static_cast<uint8_t*>(m);
  // A frame longer than a slot: the whole of it also goes to the socket's queue (TP_STATUS_COPY),
  // with its VLAN tag in the auxiliary data.
  if (setsockopt(p.rx, SOL_PACKET, PACKET_COPY_THRESH, &one, sizeof one) < 0)
    return fail("PACKET_COPY_THRESH", errno, "");
  if (setsockopt(p.rx, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one) < 0) return fail("PACKET_AUXDATA", errno, "");
  if (setsockopt(p.rx, SOL_SOCKET, SO_RCVBUFFORCE, &kRcvBuf, sizeof kRcvBuf) < 0)
    setsockopt(p.rx, SOL_SOCKET, SO_RCVBUF, &kRcvBuf, sizeof kRcvBuf);  // unprivileged: capped by rmem_max
  // Linux >= 4.20; older kernels: outgoing frames are skipped by their sll_pkttype instead.
  p.ignore_outgoing = setsockopt(p.rx, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) == 0;

  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = p.ifindex;
  if (bind(p.rx, reinterpret_cast<sockaddr*>(&sll), sizeof sll) < 0) return fail("bind", errno, need_raw);
  // A physical NIC filters on its MAC address; a bridge port must see every frame.
  packet_mreq mr{};
  mr.mr_ifindex = p.ifindex;
  mr.mr_type = PACKET_MR_PROMISC;
  if (setsockopt(p.rx, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) < 0)
    return fail("promiscuous mode", errno, need_raw);
  if (c.fanout_group) {
    const int group = c.fanout_group + i;
    const int arg = group | ((PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG) << 16);
    if (setsockopt(p.rx, SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg) < 0)
      return fail("PACKET_FANOUT group " + std::to_string(group), errno,
                  "the group is in use on another interface or with another mode (another sgfw?): pick another "
                  "fanout group");
  }

  p.tx = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (p.tx < 0) return fail("socket(AF_PACKET) for sending", errno, need_raw);
  if (vnet_len_ && setsockopt(p.tx, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0)
    return fail("PACKET_VNET_HDR on the send socket", errno, vnet_fix);
  if (c.qdisc_bypass && setsockopt(p.tx, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) < 0)
    return fail("PACKET_QDISC_BYPASS", errno, "leave qdisc_bypass off");
  if (setsockopt(p.tx, SOL_SOCKET, SO_SNDBUFFORCE, &kSndBuf, sizeof kSndBuf) < 0)
    setsockopt(p.tx, SOL_SOCKET, SO_SNDBUF, &kSndBuf, sizeof kSndBuf);  // unprivileged: capped by wmem_max
  timeval tv{0, kSendTimeoutUs};
  setsockopt(p.tx, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_ll txa{};
  txa.sll_family = AF_PACKET;
  txa.sll_protocol = 0;  // no receive hook; the kernel reads each frame's ethertype on send
  txa.sll_ifindex = p.ifindex;
  if (bind(p.tx, reinterpret_cast<sockaddr*>(&txa), sizeof txa) < 0)
    return fail("bind of the send socket", errno, need_raw);
  return true;
}

void AfPacketInline::release(uint8_t* slot) {
  __atomic_store_n(&reinterpret_cast<tpacket2_hdr*>(slot)->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
}

// Reads the frame the kernel queued whole for a TP_STATUS_COPY slot into buf (headroom, vnet
// header, frame). Returns the frame's length (without the vnet header), or -1 when nothing
// usable was queued or it did not fit.
long AfPacketInline::read_whole(Port& p, uint8_t* buf, uint16_t& vlan_tpid, uint16_t& vlan_tci) {
  iovec iov{buf + kBigHeadroom, kBigSlotSize - kBigHeadroom};
  alignas(cmsghdr) uint8_t control[CMSG_SPACE(sizeof(tpacket_auxdata))];
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = control;
  mh.msg_controllen = sizeof control;
  ssize_t r;
  do r = recvmsg(p.rx, &mh, MSG_DONTWAIT);
  while (r < 0 && errno == EINTR);
  if (r < static_cast<ssize_t>(vnet_len_ + 14) || (mh.msg_flags & MSG_TRUNC)) return -1;
  vlan_tpid = vlan_tci = 0;
  for (cmsghdr* cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
    if (cm->cmsg_level != SOL_PACKET || cm->cmsg_type != PACKET_AUXDATA) continue;
    tpacket_auxdata aux;
    std::memcpy(&aux, CMSG_DATA(cm), sizeof aux);
    if (aux.tp_status & TP_STATUS_VLAN_VALID) {
      vlan_tpid = (aux.tp_status & TP_STATUS_VLAN_TPID_VALID) && aux.tp_vlan_tpid ? aux.tp_vlan_tpid : 0x8100;
      vlan_tci = aux.tp_vlan_tci;
    }
  }
  return static_cast<long>(r - vnet_len_);
}

int AfPacketInline::take(int port, Frame* out, int max) {
  Port& p = ports_[port];
  int n = 0;
  while (n < max && npending_ < kMaxBatch) {
    // Frames never straddle blocks: a block may end with unused bytes.
    uint8_t* slot = p.ring + size_t{p.head / p.geo.per_block} * p.geo.block_size +
                    size_t{p.head % p.geo.per_block} * p.geo.frame_size;
    auto* h = reinterpret_cast<tpacket2_hdr*>(slot);
    const uint32_t status = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
    if (!(status & TP_STATUS_USER)) break;
    // The whole of a frame longer than the slot waits on the socket, queued before the slot was
    // handed over and in ring order: read it now, so that the queue stays in step with the ring.
    const bool whole = status & TP_STATUS_COPY;
    if (whole && nbig_ == kBigFrames) break;  // this batch holds all it can: the next one takes it
    const uint32_t slot_index = p.head;
    p.head = p.head + 1 == p.geo.frame_nr ? 0 : p.head + 1;
    uint8_t* big = whole ? big_.get() + static_cast<size_t>(nbig_) * kBigSlotSize : nullptr;
    uint16_t big_tpid = 0, big_tci = 0;
    const long big_len = whole ? read_whole(p, big, big_tpid, big_tci) : -1;

    const auto* sll = reinterpret_cast<const sockaddr_ll*>(slot + TPACKET_ALIGN(sizeof(tpacket2_hdr)));
    if (sll->sll_pkttype == PACKET_OUTGOING) {  // only without PACKET_IGNORE_OUTGOING
      release(slot);
      continue;
    }
    ++p.st.received;
    const uint64_t ts_ns = uint64_t{h->tp_sec} * 1000000000ull + h->tp_nsec;
    uint8_t* data;
    uint32_t len, wire;
    uint16_t vlan_tpid = 0, vlan_tci = 0;
    uint8_t* floor;  // the first byte a reinserted tag may move the vnet header and MACs to
    if (whole) {
      release(slot);  // the slot holds only the frame's head
      slot = nullptr;
      if (big_len < 0) {
        ++p.x.oversize;
        ++p.st.tx_errors;
        continue;
      }
      ++nbig_;
      ++p.x.copied;
      data = big + kBigHeadroom + vnet_len_;
      len = wire = static_cast<uint32_t>(big_len);
      vlan_tpid = big_tpid;
      vlan_tci = big_tci;
      floor = big;
    } else {
      const uint32_t mac = h->tp_mac;
      len = h->tp_snaplen;
      wire = h->tp_len;
      // Never read outside the slot, whatever the header says; a cut frame cannot be forwarded
      // (cut without TP_STATUS_COPY: the socket's queue was full).
      if (mac < kSlotHdrLen + vnet_len_ || uint64_t{mac} + len > p.geo.frame_size || len < 14 || len < wire) {
        ++p.x.oversize;
        ++p.st.tx_errors;
        release(slot);
        continue;
      }
      data = slot + mac;
      if (status & TP_STATUS_VLAN_VALID) {
        vlan_tpid = (status & TP_STATUS_VLAN_TPID_VALID) && h->tp_vlan_tpid ? h->tp_vlan_tpid : 0x8100;
        vlan_tci = h->tp_vlan_tci;
      }
      floor = slot + kSlotHdrLen;
    }
    if (!vnet_len_ && (status & TP_STATUS_CSUMNOTREADY)) ++p.x.csum_not_ready;
    if (vlan_tpid) {
      uint8_t* start = afpacket::vlan_reinsert(data, len, vlan_tpid, vlan_tci, vnet_len_, floor);
      if (!start) {
        ++p.x.oversize;
        ++p.st.tx_errors;
        if (slot) release(slot);
        continue;
      }
      ++p.x.vlan_tagged;
      data = start;
      len += 4;
      wire += 4;
    }
    Frame& f = out[n++];
    f.data = data;
    f.caplen = len;
    f.wirelen = wire;
    f.ts_ns = ts_ns;
    f.link_type = 1;
    f.port = static_cast<uint32_t>(port);
    f.cookie = (uint64_t{static_cast<uint32_t>(port)} << 32) | slot_index;
    pending_[npending_++] = Pending{slot, data, len, static_cast<uint8_t>(port)};
  }
  return n;
}

bool AfPacketInline::ready(int port) const {
  const Port& p = ports_[port];
  const uint8_t* slot = p.ring + size_t{p.head / p.geo.per_block} * p.geo.block_size +
                        size_t{p.head % p.geo.per_block} * p.geo.frame_size;
  return __atomic_load_n(&reinterpret_cast<const tpacket2_hdr*>(slot)->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER;
}

int AfPacketInline::receive(Frame* frames, int max, int timeout_ms) {
  if (!open_) {
    error_ = "receive() on a source that is not open";
    return -1;
  }
  if (npending_) {  // complete() was skipped: fail closed, nothing of that batch goes out
    for (int i = 0; i < npending_; ++i) {
      ++ports_[pending_[i].port].st.dropped;
      if (pending_[i].slot) release(pending_[i].slot);
    }
    npending_ = 0;
    nbig_ = 0;
  }
  if (max > kMaxBatch) max = kMaxBatch;
  if (max <= 0) return 0;
  // Fair share: the first port gets half, the other the rest, the first the leftovers; the
  // first port alternates between calls. Every harvest counts towards the traffic's density.
  auto harvest = [&]() {
    const int a = next_first_, b = a ^ 1;
    next_first_ = b;
    int n = take(a, frames, (max + 1) / 2);
    n += take(b, frames + n, max - n);
    if (n < max) n += take(a, frames + n, max - n);
    note_density(n);
    return n;
  };
  int n = harvest();
  if (n || timeout_ms == 0) {
    was_busy_ = n != 0;
    return n;
  }
  // Under load the next frame is usually microseconds away: watching the ring costs less than
  // sleeping in poll() and being woken. Only right after a batch of dense traffic, so an idle
  // or lightly used port sleeps.
  if (was_busy_ && dense_) {
    ++spins_;
    const uint64_t end = mono_ns() + spin_ns_;
    do {
      for (int k = 0; k < 64; ++k) {
        if (ready(0) || ready(1)) {
          ++spin_hits_;
          return harvest();
        }
      }
      // No pause instruction, as DPDK's poll loops: measured on a KVM VM (Firecracker), a pause
      // per poll cost TCP 4-8 % and one per 64 polls no less (pause-loop exiting: the hypervisor
      // takes a vCPU that looks like it spins on a lock). The spin is bounded by spin_us.
    } while (mono_ns() < end);
  }
  was_busy_ = false;

  pollfd pf[2] = {{ports_[0].rx, POLLIN, 0}, {ports_[1].rx, POLLIN, 0}};
  const int r = poll(pf, 2, timeout_ms);
  if (r < 0) {
    if (errno == EINTR) return 0;
    error_ = "poll: " + errno_text(errno);
    return -1;
  }
  for (int i = 0; i < 2; ++i) {
    if (pf[i].revents & POLLNVAL) {
      error_ = "interface '" + ports_[i].name + "': socket closed under the worker";
      return -1;
    }
    if (!(pf[i].revents & POLLERR)) continue;
    int e = 0;
    socklen_t el = sizeof e;
    getsockopt(ports_[i].rx, SOL_SOCKET, SO_ERROR, &e, &el);  // reading clears it
    ++ports_[i].x.poll_errors;
    if (e == ENETDOWN) {
      // Down is transient (the kernel re-attaches the ring when it comes back up); removed is not.
      ifreq ifr{};
      ifr.ifr_ifindex = ports_[i].ifindex;
      if (ioctl(ports_[i].rx, SIOCGIFNAME, &ifr) == 0) continue;
      error_ = "interface '" + ports_[i].name + "' was removed";
      return -1;
    }
    if (e) {
      error_ = "interface '" + ports_[i].name + "': " + errno_text(e);
      return -1;
    }
  }
  n = harvest();
  was_busy_ = n != 0;
  return n;
}

// Counts frames over windows of at least kDensityWindowNs (a window closes at the first call after
// it): dense when they came on average within a quarter of the spin time of each other. Cheap
// enough per batch (one vDSO clock read); not per frame.
void AfPacketInline::note_density(int frames) {
  if (!spin_ns_) return;
  window_frames_ += static_cast<uint64_t>(frames);
  const uint64_t now = mono_ns();
  const uint64_t span = now - window_start_ns_;
  if (span < kDensityWindowNs) return;
  dense_ = window_frames_ * (spin_ns_ / 4) >= span;
  window_start_ns_ = now;
  window_frames_ = 0;
}

void AfPacketInline::flush(int egress) {
  TxBatch& b = tx_[egress];
  Port& in = ports_[egress ^ 1];
  int i = 0;
  while (i < b.n) {
    const int r = sendmmsg(ports_[egress].tx, b.msg + i, static_cast<unsigned>(b.n - i), 0);
    if (r > 0) {
      in.st.forwarded += static_cast<uint64_t>(r);
      i += r;
    } else if (r < 0 && errno == EINTR) {
      continue;
    } else {
      ++in.st.tx_errors;  // message i failed (EMSGSIZE, ENOBUFS, ENETDOWN, EAGAIN after the timeout)
      ++i;
    }
  }
  b.n = 0;
}

void AfPacketInline::send_one_fragmented(int ingress, const Pending& p) {
  Port& in = ports_[ingress];
  Port& out = ports_[ingress ^ 1];
  static const VnetHdr kNoOffload{};
  uint16_t ethertype = 0;
  const uint32_t l3 = afpacket::l3_offset(p.data, p.len, ethertype);
  bool ok = true;
  const int count = afpacket::ipv4_fragment(
      p.data, p.len, l3, out.mtu, scratch_.get(), out.mtu + 64, [&](const uint8_t* frag, uint32_t flen) {
        iovec iov[2] = {{const_cast<VnetHdr*>(&kNoOffload), vnet_len_}, {const_cast<uint8_t*>(frag), flen}};
        msghdr mh{};
        mh.msg_iov = vnet_len_ ? iov : iov + 1;
        mh.msg_iovlen = vnet_len_ ? 2 : 1;
        while (sendmsg(out.tx, &mh, 0) < 0) {
          if (errno == EINTR) continue;
          ok = false;
          break;
        }
      });
  if (count > 0 && ok) {
    ++in.st.forwarded;
    ++in.x.refragmented;
  } else {
    ++in.st.tx_errors;
  }
}

void AfPacketInline::complete(const Frame* frames, const uint8_t* accept, int n) {
  (void)frames;  // pending_ holds the slots in the order receive() handed them out
  if (!open_) return;
  if (n > npending_) n = npending_;
  if (n < 0) n = 0;
  for (int i = 0; i < npending_; ++i) {
    const Pending& p = pending_[i];
    Port& in = ports_[p.port];
    if (i >= n || !accept[i]) {
      ++in.st.dropped;
      continue;
    }
    const int egress = p.port ^ 1;
    const Port& out = ports_[egress];
    // A frame past the egress MTU without GSO metadata: a datagram DEFRAG reassembled, or a
    // port MTU mismatch. IPv4 without DF is split again; anything else is left to fail.
    const bool gso = vnet_len_ && reinterpret_cast<const VnetHdr*>(p.data - vnet_len_)->gso_type != 0;
    if (!gso && p.len > out.mtu + 14) {
      uint16_t ethertype = 0;
      const uint32_t l3 = afpacket::l3_offset(p.data, p.len, ethertype);
      if (l3 && ethertype == 0x0800 && p.len - l3 > out.mtu) {
        flush(egress);  // keep the order of the frames on the wire
        send_one_fragmented(p.port, p);
        continue;
      }
    }
    TxBatch& b = tx_[egress];
    b.iov[b.n].iov_base = p.data - vnet_len_;
    b.iov[b.n].iov_len = p.len + vnet_len_;
    ++b.n;
  }
  flush(0);
  flush(1);
  for (int i = 0; i < npending_; ++i)
    if (pending_[i].slot) release(pending_[i].slot);
  npending_ = 0;
  nbig_ = 0;
}

void AfPacketInline::stats(SourceStats& out) {
  out = SourceStats{};
  if (!ports_) return;
  out.ports = 2;
  for (int i = 0; i < 2; ++i) {
    Port& p = ports_[i];
    tpacket_stats ts{};
    socklen_t l = sizeof ts;
    // The kernel resets these counters on every read: accumulate.
    if (p.rx >= 0 && getsockopt(p.rx, SOL_PACKET, PACKET_STATISTICS, &ts, &l) == 0) p.st.kernel_drops += ts.tp_drops;
    out.port[i] = p.st;
  }
  out.busy_polls = spins_;
  out.busy_poll_hits = spin_hits_;
}

}  // namespace sgfw::capture
