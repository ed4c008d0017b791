// The compiled match table, version 1: the one binary blob the controller hands
// the data plane. This comment is the layout's documentation; src/table/format.ts
// mirrors every constant, and test/table-format.test.ts checks the two against
// native describeFormat().
//
// All integers little-endian. Addresses are 16 bytes in network order (IPv4 in
// bytes 0..3, the rest zero). Sections follow the header at the offsets it names,
// each 8-byte aligned. A reader honours header_len and each record size, so later
// versions may append fields; an unknown major version is rejected.
//
//   header      64 bytes
//   interfaces  interface_count x kInterfaceRecordSize
//   addresses   address_count   x kAddressRecordSize   (grouped by interface)
//   entries     entry_count     x entry_record_size     (sorted: interface, direction, match order;
//                                                        a run shared by later interfaces once)
//   rules       rule_count      x kRuleRecordSize       (one per reported rule id; counters index)
//   conntrack   kConntrackSectionSize
//   strings     strings_len bytes of UTF-8 (ids, not NUL-terminated)
//
// crc32 (IEEE, as zlib) covers the whole blob with the crc32 field read as zero.
#pragma once
#include <cstdint>

namespace sgfw::table {

struct Field {
  uint32_t off;
  uint32_t len;
};

inline constexpr uint32_t kMagic = 0x54464753;  // "SGFT" read as little-endian u32
inline constexpr uint16_t kVersionMajor = 1;

enum class Cloud : uint8_t { Aws = 0, AwsClassic = 1, Alibaba = 2 };

namespace header {
inline constexpr Field kMagicField = {0, 4};
inline constexpr Field kVersion = {4, 2};
inline constexpr Field kHeaderLen = {6, 2};
inline constexpr Field kCloud = {8, 1};
inline constexpr Field kFlags = {9, 1};  // reserved, 0
inline constexpr Field kEntryRecordSize = {10, 2};
inline constexpr Field kInterfaceCount = {12, 4};
inline constexpr Field kAddressCount = {16, 4};
inline constexpr Field kEntryCount = {20, 4};
inline constexpr Field kRuleCount = {24, 4};
inline constexpr Field kStringsLen = {28, 4};
inline constexpr Field kInterfacesOff = {32, 4};
inline constexpr Field kAddressesOff = {36, 4};
inline constexpr Field kEntriesOff = {40, 4};
inline constexpr Field kRulesOff = {44, 4};
inline constexpr Field kStringsOff = {48, 4};
inline constexpr Field kConntrackOff = {52, 4};
inline constexpr Field kTotalLen = {56, 4};
inline constexpr Field kCrc32 = {60, 4};
inline constexpr uint32_t kSize = 64;
}  // namespace header

// One protected interface (ENI). Its entries for each direction are a
// contiguous run of the entries section, already in match order. A run may be
// the very run of an earlier interface, same direction (the same first and
// count, count > 0): interfaces with the same groups store their entries once,
// and those entries name the first interface whose run they are. All other
// runs are disjoint, and the distinct runs cover the entries section.
namespace iface {
inline constexpr Field kNameOff = {0, 4};    // into strings
inline constexpr Field kNameLen = {4, 2};
inline constexpr Field kNicType = {6, 1};    // 0 none (VPC), 1 internet, 2 intranet
inline constexpr Field kReserved = {7, 1};
inline constexpr Field kAddrFirst = {8, 4};  // index into addresses
inline constexpr Field kAddrCount = {12, 4};
inline constexpr Field kIngressFirst = {16, 4};  // index into entries
inline constexpr Field kIngressCount = {20, 4};
inline constexpr Field kEgressFirst = {24, 4};
inline constexpr Field kEgressCount = {28, 4};
inline constexpr uint32_t kSize = 32;
}  // namespace iface
inline constexpr uint32_t kInterfaceRecordSize = iface::kSize;

// One address of an interface: packets to it are that interface's ingress,
// packets from it its egress.
namespace address {
inline constexpr Field kIface = {0, 4};
inline constexpr Field kFamily = {4, 1};  // 4 or 6
inline constexpr Field kReserved = {5, 3};
inline constexpr Field kAddr = {8, 16};
inline constexpr uint32_t kSize = 24;
}  // namespace address
inline constexpr uint32_t kAddressRecordSize = address::kSize;

// Entry flags.
inline constexpr uint8_t kFlagProtoAny = 0x01;     // proto ignored: every protocol
inline constexpr uint8_t kFlagIcmpTypeAny = 0x02;  // icmp_type ignored
inline constexpr uint8_t kFlagIcmpCodeAny = 0x04;  // icmp_code ignored
inline constexpr uint8_t kFlagUntrackedTcp = 0x08; // AWS: TCP flows this entry admits are untracked
inline constexpr uint8_t kFlagUntrackedUdp = 0x10; // AWS: UDP flows this entry admits are untracked

// One match entry. Match semantics (the classifier's contract):
//   family:   0 matches both families, else must equal the packet's (4 or 6)
//   proto:    unless kFlagProtoAny, must equal the packet's protocol
//   src/dst:  the packet's source / destination address lies in src/src_len, dst/dst_len
//             (len 0 = any; the address bytes beyond the prefix are zero)
//   ports:    only when proto is TCP(6) or UDP(17) and not kFlagProtoAny:
//             sport_lo <= sport <= sport_hi and dport_lo <= dport <= dport_hi
//   icmp:     only when proto is ICMP(1, family 4) or ICMPv6(58, family 6) and not kFlagProtoAny:
//             icmp_type unless kFlagIcmpTypeAny, icmp_code unless kFlagIcmpCodeAny
// The first entry of the interface/direction run that matches decides.
namespace entry {
inline constexpr Field kRule = {0, 4};       // index into rules (reported id, counters)
inline constexpr Field kIface = {4, 2};
inline constexpr Field kDirection = {6, 1};  // 0 ingress, 1 egress
inline constexpr Field kAction = {7, 1};     // 0 drop, 1 accept
inline constexpr Field kReason = {8, 1};     // Reason: rule(0), default(1) or platform(4)
inline constexpr Field kFamily = {9, 1};     // 0 any, 4, 6
inline constexpr Field kProto = {10, 1};
inline constexpr Field kFlags = {11, 1};
inline constexpr Field kSportLo = {12, 2};
inline constexpr Field kSportHi = {14, 2};
inline constexpr Field kDportLo = {16, 2};
inline constexpr Field kDportHi = {18, 2};
inline constexpr Field kIcmpType = {20, 1};
inline constexpr Field kIcmpCode = {21, 1};
inline constexpr Field kSrcLen = {22, 1};    // prefix length in bits
inline constexpr Field kDstLen = {23, 1};
inline constexpr Field kSrc = {24, 16};
inline constexpr Field kDst = {40, 16};
inline constexpr Field kPriority = {56, 2};  // Alibaba priority (1..100), 0 elsewhere: for explain
inline constexpr Field kReserved = {58, 2};
inline constexpr Field kOrder = {60, 4};     // position in the interface/direction run
inline constexpr uint32_t kSize = 64;
}  // namespace entry
inline constexpr uint32_t kEntryRecordSize = entry::kSize;

// One reported rule: the id users see, shared by every entry expanded from it.
namespace rule {
inline constexpr Field kIdOff = {0, 4};   // into strings
inline constexpr Field kIdLen = {4, 2};
inline constexpr Field kReason = {6, 1};  // rule, default or platform
inline constexpr Field kAction = {7, 1};
inline constexpr uint32_t kSize = 8;
}  // namespace rule
inline constexpr uint32_t kRuleRecordSize = rule::kSize;

// Connection-tracking settings, computed per cloud by the controller.
enum class TimeoutSlot : uint8_t {
  TcpSynSent = 0, TcpSynRecv, TcpEstablished, TcpFinWait, TcpCloseWait, TcpLastAck,
  TcpTimeWait, TcpClose, Udp, UdpStream, Icmp, Other, Fragment,
};
inline constexpr int kTimeoutSlotCount = 13;
inline constexpr const char* kTimeoutSlotNames[kTimeoutSlotCount] = {
    "tcpSynSent", "tcpSynRecv", "tcpEstablished", "tcpFinWait", "tcpCloseWait", "tcpLastAck",
    "tcpTimeWait", "tcpClose", "udp", "udpStream", "icmp", "other", "fragment",
};
namespace conntrack {
inline constexpr Field kMaxFlows = {0, 4};
inline constexpr Field kTimeouts = {4, 4 * kTimeoutSlotCount};  // seconds, u32 each, by TimeoutSlot
inline constexpr Field kMaxFragments = {56, 4};  // pending first-fragment verdicts kept
inline constexpr Field kReserved = {60, 4};
inline constexpr uint32_t kSize = 64;
}  // namespace conntrack
inline constexpr uint32_t kConntrackSectionSize = conntrack::kSize;

static_assert(header::kCrc32.off + header::kCrc32.len == header::kSize);
static_assert(iface::kEgressCount.off + iface::kEgressCount.len == iface::kSize);
static_assert(address::kAddr.off + address::kAddr.len == address::kSize);
static_assert(entry::kOrder.off + entry::kOrder.len == entry::kSize);
static_assert(rule::kAction.off + rule::kAction.len == rule::kSize);
static_assert(conntrack::kTimeouts.off + conntrack::kTimeouts.len == conntrack::kMaxFragments.off);
static_assert(conntrack::kReserved.off + conntrack::kReserved.len == conntrack::kSize);

}  // namespace sgfw::table
