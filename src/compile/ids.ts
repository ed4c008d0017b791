// The ids reported for entries that no user rule names: platform traffic and hidden
// defaults. They appear in verdicts, counters and `explain`, so they are part of the output.
import { parseCidr, type Cidr } from '../model/cidr.js';

export const PLATFORM_TCP25_DROP = 'platform:egress:tcp25-drop';
export const PLATFORM_FRAG_NEEDED = 'platform:icmp-frag-needed';
export const PLATFORM_PACKET_TOO_BIG = 'platform:icmpv6-packet-too-big';
export const PLATFORM_LOAD_BALANCER = 'platform:ingress:load-balancer';
export const PLATFORM_METADATA = 'platform:egress:metadata';
export const PLATFORM_PROBE = 'platform:ingress:probe';

export const DEFAULT_INGRESS_DROP = 'default:ingress:drop';
export const DEFAULT_EGRESS_DROP = 'default:egress:drop';
export const DEFAULT_EGRESS_ACCEPT = 'default:egress:accept';

/** Alibaba basic group with InnerAccessPolicy Accept: members reach each other inbound. */
export function innerAcceptId(groupId: string): string {
  return `${groupId}:inner-accept`;
}

function cidr(text: string): Cidr {
  const p = parseCidr(text);
  if (!p) throw new Error(`bad built-in CIDR ${text}`);
  return p.cidr;
}

/** Alibaba load-balancer / health-check range (spec 3). */
export const LOAD_BALANCER_CIDR: Cidr = cidr('100.64.0.0/10');
/** Alibaba metadata server (spec 3). */
export const METADATA_CIDR: Cidr = cidr('100.100.100.200/32');

export const ICMP_DEST_UNREACH = 3;
export const ICMP_FRAG_NEEDED_CODE = 4;
export const ICMP_ECHO_REQUEST = 8;
export const ICMPV6_PACKET_TOO_BIG = 2;
export const ICMPV6_ECHO_REQUEST = 128;
