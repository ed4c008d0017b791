// AWS connection tracking (spec 2): which allowed TCP/UDP flows are untracked.
import type { Family } from '../model/cidr.js';
import { isAllAddresses } from '../model/cidr.js';
import type { Interface, Policy, PortRange, Rule } from '../model/policy.js';
import { PROTO_TCP, PROTO_UDP } from '../model/protocol.js';
import type { Direction } from '../model/reason.js';
import { orderedRules } from './order.js';

export type TrackedProto = typeof PROTO_TCP | typeof PROTO_UDP;

/** True when the ranges together cover 0..65535. */
export function coversAllPorts(ranges: PortRange[] | PortRange | 'any'): boolean {
  if (ranges === 'any') return true;
  const list = (Array.isArray(ranges) ? [...ranges] : [ranges]).sort((a, b) => a.from - b.from);
  let next = 0;
  for (const r of list) {
    if (r.from > next) return false;
    next = Math.max(next, r.to + 1);
  }
  return next > 65535;
}

/**
 * True when `rule` allows every response of `proto` in its direction for the family:
 * peer 0.0.0.0/0 (::/0), every local address, all ports.
 */
export function allowsAllOf(rule: Rule, family: Family, proto: TrackedProto): boolean {
  if (rule.action !== 'accept') return false;
  if (rule.protocol !== 'any' && rule.protocol !== proto) return false;
  if (!rule.peers.some((c) => c.family === family && isAllAddresses(c))) return false;
  if (rule.locals !== 'any' && !rule.locals.some((c) => c.family === family && isAllAddresses(c))) {
    return false;
  }
  if (rule.protocol === 'any') return true;
  return coversAllPorts(rule.dstPorts) && coversAllPorts(rule.srcPorts);
}

/**
 * True when direction `dir` of the interface allows all response traffic of `proto` and
 * `family` (spec 2). aws-classic egress is always allowed, so it counts as allow-all.
 */
export function allowsAllResponses(
  policy: Policy,
  iface: Interface,
  dir: Direction,
  family: Family,
  proto: TrackedProto,
): boolean {
  if (policy.cloud === 'alibaba') return false;
  if (policy.cloud === 'aws-classic' && dir === 'egress') return true;
  return orderedRules(policy, iface, dir).some((o) => allowsAllOf(o.rule, family, proto));
}

export function otherDirection(dir: Direction): Direction {
  return dir === 'ingress' ? 'egress' : 'ingress';
}
