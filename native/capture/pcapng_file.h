// pcapng block and option codes (draft-ietf-opsawg-pcapng) used by PcapFile (pcap_file.h), which
// reads both formats through one map and one next(); pcapng_file.cc holds its pcapng half.
#pragma once
#include <cstdint>

namespace sgfw::capture {

// Block types. The section header type is a palindrome, so it reads the same in both byte orders.
inline constexpr uint32_t kPcapngBlockShb = 0x0a0d0d0a;  // Section Header Block
inline constexpr uint32_t kPcapngBlockIdb = 0x00000001;  // Interface Description Block
inline constexpr uint32_t kPcapngBlockOpb = 0x00000002;  // Packet Block (obsolete)
inline constexpr uint32_t kPcapngBlockSpb = 0x00000003;  // Simple Packet Block
inline constexpr uint32_t kPcapngBlockEpb = 0x00000006;  // Enhanced Packet Block

inline constexpr uint32_t kPcapngByteOrderMagic = 0x1a2b3c4d;
inline constexpr uint16_t kPcapngMajorVersion = 1;

// Fixed part of each block: type, total length, body..., total length again.
inline constexpr uint32_t kPcapngBlockOverhead = 12;
inline constexpr uint32_t kPcapngShbBodyLen = 16;  // byte-order magic, major, minor, section length
inline constexpr uint32_t kPcapngIdbBodyLen = 8;   // link type, reserved, snaplen
inline constexpr uint32_t kPcapngEpbBodyLen = 20;  // interface, ts high, ts low, caplen, origlen
inline constexpr uint32_t kPcapngOpbBodyLen = 20;  // interface u16, drops u16, ts high/low, caplen, len
inline constexpr uint32_t kPcapngSpbBodyLen = 4;   // origlen

// Interface Description Block options we honour.
inline constexpr uint16_t kPcapngOptEnd = 0;
inline constexpr uint16_t kPcapngOptIfTsresol = 9;   // 1 byte: bit 7 clear 10^-n, set 2^-n seconds
inline constexpr uint16_t kPcapngOptIfTsoffset = 14; // 8 bytes: seconds added to every timestamp

}  // namespace sgfw::capture
