// IANA protocol numbers and the few names the clouds use for them.

export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;
export const PROTO_GRE = 47;
export const PROTO_ICMPV6 = 58;

/** A protocol in a rule: an IANA number, or 'any' (AWS "-1", Alibaba "ALL"). */
export type Protocol = number | 'any';

const NAMES: Record<number, string> = {
  [PROTO_ICMP]: 'icmp',
  [PROTO_TCP]: 'tcp',
  [PROTO_UDP]: 'udp',
  [PROTO_GRE]: 'gre',
  [PROTO_ICMPV6]: 'icmpv6',
};

/** Lower-case name for printing ("tcp", "icmpv6", "132", "any"). */
export function protocolName(p: Protocol): string {
  if (p === 'any') return 'any';
  return NAMES[p] ?? String(p);
}

/** Parse a protocol as users type it on the CLI: a name or a number 0..255. */
export function parseProtocolName(text: string): Protocol | undefined {
  const t = text.trim().toLowerCase();
  if (t === 'any' || t === 'all' || t === '-1') return 'any';
  for (const [num, name] of Object.entries(NAMES)) if (name === t) return Number(num);
  if (/^\d{1,3}$/.test(t) && Number(t) <= 255) return Number(t);
  return undefined;
}

/** Protocols whose rules carry port ranges. */
export function hasPorts(p: Protocol): boolean {
  return p === PROTO_TCP || p === PROTO_UDP;
}

/** True when p is the ICMP of the given family (ICMP for IPv4, ICMPv6 for IPv6). */
export function isIcmpOf(p: Protocol, family: 4 | 6): boolean {
  return (family === 4 && p === PROTO_ICMP) || (family === 6 && p === PROTO_ICMPV6);
}
