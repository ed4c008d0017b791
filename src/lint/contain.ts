// Proven containment between rules: covers(s, r) is true only when every packet that r
// matches is also matched by s. Conservative (after aws-cdk's rule-subsumption): whatever
// cannot be proven returns false, so lint never claims a rule is useless by mistake.
import { cidrContainsCidr, type Cidr } from '../model/cidr.js';
import type { IcmpMatch, PortRange, Rule } from '../model/policy.js';
import { ALL_PORTS } from '../model/policy.js';
import { hasPorts, PROTO_ICMP, PROTO_ICMPV6 } from '../model/protocol.js';

/** The peers a rule can ever match: an 'icmp' rule only IPv4 ones, 'icmpv6' only IPv6. */
export function effectivePeers(r: Rule): Cidr[] {
  if (r.protocol === PROTO_ICMP) return r.peers.filter((c) => c.family === 4);
  if (r.protocol === PROTO_ICMPV6) return r.peers.filter((c) => c.family === 6);
  return r.peers;
}

/** A rule that can never match (no peers of a family its protocol allows). */
export function neverMatches(r: Rule): boolean {
  return effectivePeers(r).length === 0;
}

function cidrsCover(outer: Cidr[] | 'any', inner: Cidr[] | 'any'): boolean {
  if (outer === 'any') return true;
  if (inner === 'any') return outer.some((o) => o.prefix === 0 && o.family === 4) && outer.some((o) => o.prefix === 0 && o.family === 6);
  return inner.every((i) => outer.some((o) => cidrContainsCidr(o, i)));
}

/** True when the union of `outer` covers every port of `inner`. */
export function rangesCover(outer: PortRange[], inner: PortRange[]): boolean {
  const sorted = [...outer].sort((a, b) => a.from - b.from);
  return inner.every((r) => {
    let next = r.from;
    for (const o of sorted) {
      if (o.from > next) break;
      if (o.to >= next) next = o.to + 1;
      if (next > r.to) return true;
    }
    return next > r.to;
  });
}

const portsOf = (p: PortRange[] | PortRange | 'any'): PortRange[] => (p === 'any' ? [ALL_PORTS] : Array.isArray(p) ? p : [p]);

function icmpCovers(s: IcmpMatch | 'any', r: IcmpMatch | 'any'): boolean {
  if (s === 'any') return true;
  const rr = r === 'any' ? { type: 'any' as const, code: 'any' as const } : r;
  return (s.type === 'any' || s.type === rr.type) && (s.code === 'any' || s.code === rr.code);
}

function nicCovers(s: Rule, r: Rule): boolean {
  return s.nicType === undefined || s.nicType === r.nicType;
}

/**
 * True when s matches every packet r matches (same direction). Ignores actions. Proven
 * field by field: protocol, peers (each of r's peers inside one of s's), locals, ports
 * (union of s's ranges), source port, ICMP type/code, NicType. A rule that never matches
 * is covered by nothing (it is reported on its own).
 */
export function covers(s: Rule, r: Rule): boolean {
  if (s.direction !== r.direction) return false;
  if (neverMatches(r)) return false;
  if (s.protocol !== 'any' && s.protocol !== r.protocol) return false;
  if (!nicCovers(s, r)) return false;
  if (!cidrsCover(effectivePeers(s), effectivePeers(r))) return false;
  if (!cidrsCover(s.locals, r.locals)) return false;
  if (s.protocol !== 'any' && hasPorts(s.protocol)) {
    if (!rangesCover(portsOf(s.dstPorts), portsOf(r.dstPorts))) return false;
    if (!rangesCover(portsOf(s.srcPorts), portsOf(r.srcPorts))) return false;
  }
  if (s.protocol === PROTO_ICMP || s.protocol === PROTO_ICMPV6) {
    if (!icmpCovers(s.icmp, r.icmp)) return false;
  }
  return true;
}

/** Peer is 0.0.0.0/0 (or ::/0), every protocol and port: the "allow all" rule. */
export function isAllowAll(r: Rule): boolean {
  return r.action === 'accept' && r.protocol === 'any' && r.locals === 'any' && r.peers.some((c) => c.prefix === 0);
}
