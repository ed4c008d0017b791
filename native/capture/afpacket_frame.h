// Pure frame helpers of the AF_PACKET inline source, kept apart so they can be tested without
// root: ring geometry, 802.1Q tag reinsertion in place, and IPv4 re-fragmentation.
#pragma once
#include <cstdint>
#include <cstring>

namespace sgfw::capture::afpacket {

// The virtio-net header PACKET_VNET_HDR puts before every frame (host byte order on the
// little-endian hosts we run on: af_packet uses virtio's legacy little-endian layout).
struct VnetHdr {
  uint8_t flags;
  uint8_t gso_type;
  uint16_t hdr_len;
  uint16_t gso_size;
  uint16_t csum_start;
  uint16_t csum_offset;
};
static_assert(sizeof(VnetHdr) == 10);
inline constexpr uint8_t kVnetNeedsCsum = 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM
inline constexpr uint8_t kVnetGsoNone = 0;

inline uint16_t load_be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline void store_be16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

// TPACKET_V2 ring layout. Blocks of 1 MiB (a power of two, so the kernel's page-order
// allocation wastes nothing), at least `want_frames` slots rounded up to whole blocks, and at
// most kMaxRingBytes per ring: 4096 slots of 64 KiB super-frames would pin 270 MiB per port.
inline constexpr uint32_t kBlockSize = 1u << 20;
inline constexpr uint32_t kMaxRingBytes = 64u << 20;
inline constexpr uint32_t kMinFrameSize = 256;
inline constexpr uint32_t kSuperFrameSize = 65536 + 256;  // 64 KiB GSO/GRO frame + ring header room

struct RingGeometry {
  uint32_t frame_size = 0;
  uint32_t block_size = 0;
  uint32_t block_nr = 0;
  uint32_t frame_nr = 0;
  uint32_t per_block = 0;  // frames never straddle blocks: slot i is at block i / per_block
};

// False when frame_size is unusable (not a multiple of 16, under kMinFrameSize or over a block).
inline bool ring_geometry(uint32_t want_frames, uint32_t frame_size, RingGeometry& g) {
  if (frame_size < kMinFrameSize || frame_size % 16 != 0 || frame_size > kBlockSize) return false;
  if (want_frames == 0) want_frames = 1;
  const uint32_t per_block = kBlockSize / frame_size;
  uint64_t blocks = (uint64_t{want_frames} + per_block - 1) / per_block;
  const uint64_t max_blocks = kMaxRingBytes / kBlockSize;
  if (blocks > max_blocks) blocks = max_blocks;
  g.frame_size = frame_size;
  g.block_size = kBlockSize;
  g.block_nr = static_cast<uint32_t>(blocks);
  g.frame_nr = g.block_nr * per_block;
  g.per_block = per_block;
  return true;
}

// Slot size that holds a frame of the given MTU: ring header room, Ethernet + one tag, rounded
// up to a power of two (min 2048) so slots never straddle pages oddly.
inline uint32_t frame_size_for_mtu(uint32_t mtu) {
  uint32_t need = 128 + mtu + 18;
  uint32_t s = 2048;
  while (s < need && s < kBlockSize) s <<= 1;
  return s;
}

// Puts an 802.1Q/802.1ad tag back after the two MAC addresses, in place: the 12 address bytes
// (and the vnet header before them, if any) move 4 bytes towards `floor`, the first byte that
// may be written. The vnet header's offsets are relative to the frame start, so csum_start and
// hdr_len grow by the tag. Returns the new frame start, or nullptr when there is no room or the
// frame is shorter than two addresses.
inline uint8_t* vlan_reinsert(uint8_t* data, uint32_t len, uint16_t tpid, uint16_t tci, uint32_t vnet_len,
                              const uint8_t* floor) {
  if (len < 12 || data - floor < static_cast<long>(4 + vnet_len)) return nullptr;
  uint8_t* start = data - 4;
  if (vnet_len) {
    VnetHdr h;
    std::memcpy(&h, data - vnet_len, sizeof h);
    if (h.flags & kVnetNeedsCsum) h.csum_start = static_cast<uint16_t>(h.csum_start + 4);
    if (h.gso_type != kVnetGsoNone || h.hdr_len) h.hdr_len = static_cast<uint16_t>(h.hdr_len + 4);
    std::memcpy(start - vnet_len, &h, sizeof h);
  }
  std::memmove(start, data, 12);
  store_be16(start + 12, tpid ? tpid : 0x8100);
  store_be16(start + 14, tci);
  return start;
}

// Offset of the network header after Ethernet and up to two VLAN tags, and its ethertype.
inline uint32_t l3_offset(const uint8_t* f, uint32_t len, uint16_t& ethertype) {
  uint32_t off = 12;
  for (int tags = 0; tags <= 2; ++tags) {
    if (len < off + 2) return 0;
    ethertype = load_be16(f + off);
    if (ethertype != 0x8100 && ethertype != 0x88a8) return off + 2;
    off += 4;
  }
  return 0;
}

inline uint16_t ipv4_header_checksum(const uint8_t* h, uint32_t hl) {
  uint32_t sum = 0;
  for (uint32_t i = 0; i + 1 < hl; i += 2) sum += load_be16(h + i);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// Splits an IPv4 frame (L2 header of l3off bytes, then the datagram) into fragments whose IP
// length fits `mtu`, as a router would (RFC 791): the first keeps every option, the others only
// the options with the copied bit. Each fragment is built in `scratch` and handed to
// emit(const uint8_t*, uint32_t) before the next one overwrites it. Needed because
// PACKET_FANOUT_FLAG_DEFRAG hands the ring a reassembled datagram that no longer fits the MTU.
// Returns the number of fragments, or -1 when the frame cannot be split (DF set, malformed,
// scratch too small, MTU too small).
template <class Emit>
int ipv4_fragment(const uint8_t* f, uint32_t len, uint32_t l3off, uint32_t mtu, uint8_t* scratch,
                  uint32_t scratch_size, Emit&& emit) {
  if (len < l3off + 20) return -1;
  const uint8_t* ip = f + l3off;
  const uint32_t ihl = (ip[0] & 15u) * 4;
  const uint32_t total = load_be16(ip + 2);
  if ((ip[0] >> 4) != 4 || ihl < 20 || total <= ihl || total > len - l3off) return -1;
  const uint16_t fo = load_be16(ip + 6);
  if (fo & 0x4000) return -1;  // DF: a bridge may not split it
  const uint32_t base_off = (fo & 0x1fffu) * 8;
  const bool base_mf = fo & 0x2000;

  // Header of the later fragments: fixed part plus copied options, padded to 4 bytes.
  uint8_t later[60];
  std::memcpy(later, ip, 20);
  uint32_t hl2 = 20;
  for (uint32_t i = 20; i < ihl;) {
    const uint8_t type = ip[i];
    if (type == 0) break;
    if (type == 1) {
      ++i;
      continue;
    }
    if (i + 1 >= ihl || ip[i + 1] < 2 || i + ip[i + 1] > ihl) return -1;
    const uint32_t olen = ip[i + 1];
    if (type & 0x80) {
      std::memcpy(later + hl2, ip + i, olen);
      hl2 += olen;
    }
    i += olen;
  }
  while (hl2 % 4) later[hl2++] = 0;
  later[0] = static_cast<uint8_t>(0x40 | hl2 / 4);

  if (mtu < ihl + 8 || scratch_size < l3off + mtu) return -1;
  const uint32_t payload = total - ihl;
  const uint8_t* data = ip + ihl;
  int count = 0;
  for (uint32_t pos = 0; pos < payload;) {
    const uint32_t hl = pos == 0 ? ihl : hl2;
    uint32_t chunk = (mtu - hl) & ~7u;
    if (chunk == 0) return -1;
    const bool last = payload - pos <= chunk;
    if (last) chunk = payload - pos;
    std::memcpy(scratch, f, l3off);
    uint8_t* h = scratch + l3off;
    std::memcpy(h, pos == 0 ? ip : later, hl);
    store_be16(h + 2, static_cast<uint16_t>(hl + chunk));
    const uint32_t off8 = (base_off + pos) / 8;
    store_be16(h + 6, static_cast<uint16_t>(off8 | ((!last || base_mf) ? 0x2000 : 0)));
    store_be16(h + 10, 0);
    store_be16(h + 10, ipv4_header_checksum(h, hl));
    std::memcpy(h + hl, data + pos, chunk);
    emit(static_cast<const uint8_t*>(scratch), l3off + hl + chunk);
    ++count;
    pos += chunk;
  }
  return count;
}

}  // namespace sgfw::capture::afpacket
