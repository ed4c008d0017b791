// The neutral policy model: what the providers (src/providers/*) produce from the clouds'
// JSON shapes, and what the compiler, the reference evaluator, the linter and explain read.
// Cloud quirks stay in the providers; everything here is already resolved: group references
// and prefix lists are expanded to CIDRs, port lists to port ranges, addresses canonicalised.
import type { Address, Cidr, Family } from './cidr.js';
import type { Protocol } from './protocol.js';
import type { Direction } from './reason.js';

export type Cloud = 'aws' | 'aws-classic' | 'alibaba';
export const CLOUDS: readonly Cloud[] = ['aws', 'aws-classic', 'alibaba'];

export type Action = 'accept' | 'drop';

/** Inclusive port range, 0..65535. */
export interface PortRange {
  from: number;
  to: number;
}
export const ALL_PORTS: PortRange = { from: 0, to: 65535 };

/** ICMP type/code match ('any' = -1 in the clouds' shapes). */
export interface IcmpMatch {
  type: number | 'any';
  code: number | 'any';
}

/** How the rule named its peer, kept for lint and explain messages. */
export type PeerKind = 'cidr' | 'group' | 'prefix-list';

/**
 * One rule as the user wrote it, resolved. It matches a packet in its direction when:
 * protocol matches (or is 'any'); the peer address (ingress: source, egress: destination)
 * lies in one of `peers`; the local address (ingress: destination, egress: source) lies in
 * one of `locals` (or locals is 'any'); for TCP/UDP rules the destination port lies in one
 * of `dstPorts` and the source port in `srcPorts`; for ICMP rules of the packet's family,
 * type and code match `icmp`.
 */
export interface Rule {
  /** Reported id: Alibaba SecurityGroupRuleId, else `<groupId>:<direction>:<index>`. */
  id: string;
  groupId: string;
  direction: Direction;
  /** AWS rules are always 'accept'. */
  action: Action;
  /** Alibaba 1..100 (1 first); 0 for AWS. */
  priority: number;
  protocol: Protocol;
  /** IpProtocol exactly as written in the file ("6", "tcp", "TCP"), for lint messages. */
  protocolText?: string;
  /** Peer CIDRs. Empty means the rule can never match (a group with no members). */
  peers: Cidr[];
  peerKind: PeerKind;
  /** The group id or prefix-list id the peers came from, when peerKind is not 'cidr'. */
  peerRef?: string;
  /** Local addresses (Alibaba 5-tuple rules: DestCidrIp on ingress, SourceCidrIp on egress). */
  locals: Cidr[] | 'any';
  /** Destination port ranges, TCP/UDP only ('any' for other protocols). */
  dstPorts: PortRange[] | 'any';
  /** Source port range, TCP/UDP only (Alibaba SourcePortRange). */
  srcPorts: PortRange | 'any';
  /** ICMP type/code, for ICMP/ICMPv6 rules only. */
  icmp: IcmpMatch | 'any';
  /** Alibaba classic network: applies only to interfaces of this nicType. */
  nicType?: 'internet' | 'intranet';
  /** Index of the rule in its group (the source order used for stable tie-breaks). */
  index: number;
  /** JSON path of the rule in the policy file, for messages. */
  path: string;
  /** Weight of the rule in quota counting (prefix lists and port lists count as MaxEntries). */
  quotaWeight: number;
}

export type GroupType = 'normal' | 'enterprise';

export interface SecurityGroup {
  id: string;
  name?: string;
  /** Alibaba: basic ('normal') or 'enterprise'. AWS groups are 'normal'. */
  type: GroupType;
  /** Alibaba InnerAccessPolicy (default 'accept'); AWS: unused ('accept'). */
  innerAccessPolicy: Action;
  rules: Rule[];
  path: string;
}

export interface Interface {
  id: string;
  addresses: Address[];
  /** Group ids in attach order. */
  groupIds: string[];
  /** Alibaba classic network only. */
  nicType?: 'internet' | 'intranet';
  path: string;
}

/** Idle timeouts in seconds, by the names native/table/format.h gives the slots. */
export interface Timeouts {
  tcpSynSent: number;
  tcpSynRecv: number;
  tcpEstablished: number;
  tcpFinWait: number;
  tcpCloseWait: number;
  tcpLastAck: number;
  tcpTimeWait: number;
  tcpClose: number;
  udp: number;
  udpStream: number;
  icmp: number;
  other: number;
  fragment: number;
}

export interface ConntrackConfig {
  maxFlows: number;
  maxFragments: number;
  timeouts: Timeouts;
}

export interface PlatformConfig {
  restrictTcp25: boolean;
  /** Alibaba: sources of connectivity probes (inbound ICMP echo always allowed). */
  probeSources: Cidr[];
}

export interface Quotas {
  groupsPerInterface: number;
  /** AWS: rules per group and direction (per family). Alibaba: rules per interface. */
  rulesPerGroup: number;
  rulesPerInterface: number;
}

export interface Policy {
  cloud: Cloud;
  /** The file it came from ("<inline>" when not from a file), for messages. */
  file: string;
  interfaces: Interface[];
  /** All groups of the file by id, in file order. */
  groups: Map<string, SecurityGroup>;
  /** Resolved members per group id: interface addresses of the file plus groupMembers. */
  members: Map<string, Cidr[]>;
  conntrack: ConntrackConfig;
  platform: PlatformConfig;
  quotas: Quotas;
}

/** A packet as the stateless decision sees it. Ports and ICMP fields as applicable. */
export interface PacketTuple {
  family: Family;
  protocol: number;
  src: bigint;
  dst: bigint;
  srcPort?: number;
  dstPort?: number;
  icmpType?: number;
  icmpCode?: number;
}
