// Verdicts, reasons and sub-reasons: the vocabulary of spec section 6.
// The names here are the ones users see; src/model/reason.ts holds the same lists
// in the same order, and test/table-format.test.ts checks that they agree.
#pragma once
#include <cstdint>

namespace sgfw {

enum class Verdict : uint8_t { Drop = 0, Accept = 1 };

enum class Direction : uint8_t { Ingress = 0, Egress = 1 };

enum class Reason : uint8_t {
  Rule = 0,
  Default = 1,
  Established = 2,
  Related = 3,
  Platform = 4,
  Infrastructure = 5,
  NoInterface = 6,
  Malformed = 7,
  Invalid = 8,
  Fragment = 9,
  ConntrackFull = 10,
};
inline constexpr int kReasonCount = 11;
inline constexpr const char* kReasonNames[kReasonCount] = {
    "rule",         "default",    "established", "related",
    "platform",     "infrastructure", "no-interface", "malformed",
    "invalid",      "fragment",   "conntrack-full",
};

// Which header was malformed, counted per sub-reason in the summary.
enum class MalformedSub : uint8_t {
  None = 0,
  Link,          // link-layer header truncated (Ethernet, VLAN tag, SLL)
  Ipv4Header,    // truncated, version != 4, IHL < 5 or beyond the capture
  Ipv4Length,    // total length < IHL*4 or beyond the captured bytes
  Ipv6Header,    // truncated, version != 6, payload length beyond the capture
  Ipv6ExtChain,  // extension header truncated, looping or too long a chain
  Tcp,           // TCP header truncated or data offset < 5 / beyond the packet
  Udp,           // UDP header truncated or length field inconsistent
  Icmp,          // ICMP/ICMPv6 header truncated
  TinyFragment,  // RFC 1858: a first fragment too short to hold the transport header, or a
                 // TCP fragment at offset 8 bytes, which could only serve to overwrite the flags
  Fragment,      // fragment offset/length inconsistent (overflow past 65535)
};
inline constexpr int kMalformedSubCount = 11;
inline constexpr const char* kMalformedSubNames[kMalformedSubCount] = {
    "none", "link", "ipv4-header", "ipv4-length", "ipv6-header", "ipv6-ext-chain",
    "tcp", "udp", "icmp", "tiny-fragment", "fragment",
};

// Why a packet was judged `invalid` by connection tracking.
enum class InvalidSub : uint8_t {
  None = 0,
  TcpFlags,      // impossible flag combination (SYN+FIN, SYN+RST, no flags, ...)
  TcpState,      // flags not acceptable in the flow's state (e.g. a SYN/ACK in the original direction)
};
inline constexpr int kInvalidSubCount = 3;
inline constexpr const char* kInvalidSubNames[kInvalidSubCount] = {"none", "tcp-flags", "tcp-state"};

}  // namespace sgfw
