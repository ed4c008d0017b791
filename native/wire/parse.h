// parse_frame: one captured frame -> PacketMeta (core/packet_meta.h). The hot path of
// every data-plane mode: no allocation, no exceptions, no virtual calls, and never a read
// outside [data, data + caplen).
#pragma once
#include <cstdint>

#include "core/packet_meta.h"

namespace sgfw::wire {

// pcap LINKTYPE_ numbers of the link layers sgfw reads.
enum class LinkType : uint32_t {
  Null = 0,         // BSD loopback: 4-byte address family in the capturing host's byte order
  Ethernet = 1,     // Ethernet II, with any 802.1Q / 802.1ad tags
  Raw = 101,        // raw IP, version nibble decides (DLT_RAW 12 and 14 are read as this too)
  LinuxSll = 113,   // Linux cooked capture v1 (16-byte header)
  Ipv4 = 228,       // raw IPv4
  Ipv6 = 229,       // raw IPv6
  LinuxSll2 = 276,  // Linux cooked capture v2 (20-byte header)
};

// DLT_RAW as some platforms wrote it into pcap files before LINKTYPE_RAW existed.
inline constexpr uint32_t kDltRawAlt1 = 12;
inline constexpr uint32_t kDltRawAlt2 = 14;

// True when parse_frame understands frames of this pcap link type.
bool link_type_supported(uint32_t link_type);

// Short name of a supported link type ("EN10MB", "RAW", ...), or nullptr when unsupported,
// for messages that name what a trace holds.
const char* link_type_name(uint32_t link_type);

// Parses one frame into `out` (fully overwritten). `caplen` bytes are readable at `data`;
// `wirelen` is the frame's length on the wire (>= caplen; a smaller value is taken as caplen).
// When caplen < wirelen the capture was snapped: headers that are present are parsed and
// lengths are checked against wirelen. Rules: spec section 5, native/wire/README.md.
void parse_frame(const uint8_t* data, uint32_t caplen, uint32_t wirelen, LinkType lt,
                 PacketMeta& out);

// The general path alone, without parse_frame's straight path for the common Ethernet/IP/TCP|UDP
// frame. Same contract and, for every frame, the same result: the fuzzers and tests compare them.
void parse_frame_general(const uint8_t* data, uint32_t caplen, uint32_t wirelen, LinkType lt,
                         PacketMeta& out);

}  // namespace sgfw::wire
