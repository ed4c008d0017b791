// The reference evaluator: the stateless decision of spec sections 2, 3 and 5, computed
// straight from the Policy (never from the compiled table), one rule at a time. It is the
// oracle that compile() + referenceMatch() and the native classifier are tested against,
// so it favours being obviously right over being fast.
import { cidrContainsAddr, isAllAddresses, type Cidr, type Family } from '../model/cidr.js';
import type { Interface, PacketTuple, Policy, PortRange, Rule, SecurityGroup } from '../model/policy.js';
import { PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP } from '../model/protocol.js';
import type { Direction, Verdict } from '../model/reason.js';
import * as ids from '../compile/ids.js';

export interface Decision {
  verdict: Verdict;
  reason: 'rule' | 'default' | 'platform';
  /** The reported rule id. */
  rule: string;
  /** Accepted packets only: whether the flow they start is tracked (AWS untracked flows). */
  tracked?: boolean;
}

// ---- matching one rule -------------------------------------------------------------

function inAny(cidrs: Cidr[], family: Family, addr: bigint): boolean {
  return cidrs.some((c) => cidrContainsAddr(c, family, addr));
}

function inRange(r: PortRange, v: number): boolean {
  return v >= r.from && v <= r.to;
}

/** The peer address of a packet in a direction: ingress source, egress destination. */
export function peerAddr(dir: Direction, t: PacketTuple): bigint {
  return dir === 'ingress' ? t.src : t.dst;
}

/** The local address: ingress destination, egress source. */
export function localAddr(dir: Direction, t: PacketTuple): bigint {
  return dir === 'ingress' ? t.dst : t.src;
}

/**
 * The model.Rule contract: protocol, peer, local address, TCP/UDP ports, ICMP type/code.
 * An 'icmp' rule matches only IPv4 packets and an 'icmpv6' rule only IPv6 packets. Absent
 * ports and ICMP fields read as 0.
 */
export function ruleMatches(rule: Rule, dir: Direction, t: PacketTuple): boolean {
  if (rule.protocol !== 'any' && rule.protocol !== t.protocol) return false;
  if (rule.protocol === PROTO_ICMP && t.family !== 4) return false;
  if (rule.protocol === PROTO_ICMPV6 && t.family !== 6) return false;
  if (!inAny(rule.peers, t.family, peerAddr(dir, t))) return false;
  if (rule.locals !== 'any' && !inAny(rule.locals, t.family, localAddr(dir, t))) return false;
  if (rule.protocol === PROTO_TCP || rule.protocol === PROTO_UDP) {
    if (rule.dstPorts !== 'any' && !rule.dstPorts.some((r) => inRange(r, t.dstPort ?? 0))) return false;
    if (rule.srcPorts !== 'any' && !inRange(rule.srcPorts, t.srcPort ?? 0)) return false;
  }
  if (rule.protocol === PROTO_ICMP || rule.protocol === PROTO_ICMPV6) {
    if (rule.icmp !== 'any') {
      if (rule.icmp.type !== 'any' && rule.icmp.type !== (t.icmpType ?? 0)) return false;
      if (rule.icmp.code !== 'any' && rule.icmp.code !== (t.icmpCode ?? 0)) return false;
    }
  }
  return true;
}

// ---- the interface's groups and rules ------------------------------------------------

function groupsOf(policy: Policy, iface: Interface): SecurityGroup[] {
  const out: SecurityGroup[] = [];
  for (const id of iface.groupIds) {
    const g = policy.groups.get(id);
    if (g && !out.includes(g)) out.push(g);
  }
  return out;
}

/** Rules of one direction, each with its group's attach position, in attach/rule order. */
function rulesOf(policy: Policy, iface: Interface, dir: Direction): { rule: Rule; pos: number }[] {
  const out: { rule: Rule; pos: number }[] = [];
  groupsOf(policy, iface).forEach((g, pos) => {
    for (const rule of g.rules) if (rule.direction === dir) out.push({ rule, pos });
  });
  return out;
}

const other = (dir: Direction): Direction => (dir === 'ingress' ? 'egress' : 'ingress');

// ---- platform (spec 3, and restrictTcp25 for both clouds) -------------------------------

function platformDecision(policy: Policy, dir: Direction, t: PacketTuple): Decision | undefined {
  const accept = (rule: string): Decision => ({ verdict: 'accept', reason: 'platform', rule, tracked: true });
  if (policy.platform.restrictTcp25 && dir === 'egress' && t.protocol === PROTO_TCP && t.dstPort === 25) {
    return { verdict: 'drop', reason: 'platform', rule: ids.PLATFORM_TCP25_DROP };
  }
  if (policy.cloud !== 'alibaba') return undefined;
  const icmp4 = t.family === 4 && t.protocol === PROTO_ICMP;
  const icmp6 = t.family === 6 && t.protocol === PROTO_ICMPV6;
  if (icmp4 && t.icmpType === 3 && t.icmpCode === 4) return accept(ids.PLATFORM_FRAG_NEEDED);
  if (icmp6 && t.icmpType === 2) return accept(ids.PLATFORM_PACKET_TOO_BIG);
  if (dir === 'ingress' && cidrContainsAddr(ids.LOAD_BALANCER_CIDR, t.family, t.src)) {
    return accept(ids.PLATFORM_LOAD_BALANCER);
  }
  if (dir === 'egress' && cidrContainsAddr(ids.METADATA_CIDR, t.family, t.dst)) {
    return accept(ids.PLATFORM_METADATA);
  }
  const echo = (icmp4 && t.icmpType === 8) || (icmp6 && t.icmpType === 128);
  if (dir === 'ingress' && echo && inAny(policy.platform.probeSources, t.family, t.src)) {
    return accept(ids.PLATFORM_PROBE);
  }
  return undefined;
}

// ---- Alibaba (spec 3) --------------------------------------------------------------------

function alibaba(policy: Policy, iface: Interface, dir: Direction, t: PacketTuple): Decision {
  const rules = rulesOf(policy, iface, dir)
    .filter(({ rule }) => iface.nicType === undefined || rule.nicType === undefined || rule.nicType === iface.nicType)
    .sort(
      (a, b) =>
        a.rule.priority - b.rule.priority ||
        (a.rule.action === 'drop' ? 0 : 1) - (b.rule.action === 'drop' ? 0 : 1) ||
        a.pos - b.pos ||
        a.rule.index - b.rule.index,
    );
  for (const { rule } of rules) {
    if (ruleMatches(rule, dir, t)) {
      const d: Decision = { verdict: rule.action, reason: 'rule', rule: rule.id };
      if (rule.action === 'accept') d.tracked = true;
      return d;
    }
  }
  const groups = groupsOf(policy, iface);
  if (dir === 'ingress') {
    for (const g of groups) {
      if (g.type === 'normal' && g.innerAccessPolicy === 'accept' && inAny(policy.members.get(g.id) ?? [], t.family, t.src)) {
        return { verdict: 'accept', reason: 'default', rule: ids.innerAcceptId(g.id), tracked: true };
      }
    }
    return { verdict: 'drop', reason: 'default', rule: ids.DEFAULT_INGRESS_DROP };
  }
  if (groups.some((g) => g.type === 'enterprise')) {
    return { verdict: 'drop', reason: 'default', rule: ids.DEFAULT_EGRESS_DROP };
  }
  return { verdict: 'accept', reason: 'default', rule: ids.DEFAULT_EGRESS_ACCEPT, tracked: true };
}

// ---- AWS (spec 2) ------------------------------------------------------------------------

function allPorts(p: PortRange[] | PortRange | 'any'): boolean {
  if (p === 'any') return true;
  // Any union of ranges that covers every port, checked port by port region.
  const list = Array.isArray(p) ? p : [p];
  let covered = -1;
  let grew = true;
  while (grew && covered < 65535) {
    grew = false;
    for (const r of list) {
      if (r.from <= covered + 1 && r.to > covered) {
        covered = r.to;
        grew = true;
      }
    }
  }
  return covered >= 65535;
}

/** Direction `dir` has a rule that allows all `proto` traffic of the family to/from anywhere. */
function allowsAllResponses(policy: Policy, iface: Interface, dir: Direction, family: Family, proto: number): boolean {
  if (policy.cloud === 'aws-classic' && dir === 'egress') return true;
  return rulesOf(policy, iface, dir).some(({ rule }) => {
    if (rule.action !== 'accept') return false;
    if (rule.protocol !== 'any' && rule.protocol !== proto) return false;
    const anywhere = (cs: Cidr[]) => cs.some((c) => c.family === family && isAllAddresses(c));
    if (!anywhere(rule.peers)) return false;
    if (rule.locals !== 'any' && !anywhere(rule.locals)) return false;
    return rule.protocol === 'any' || (allPorts(rule.dstPorts) && allPorts(rule.srcPorts));
  });
}

/** The rule allows this TCP/UDP packet through its 0.0.0.0/0 (::/0) peer. */
function allowsFromAnywhere(rule: Rule, t: PacketTuple): boolean {
  return rule.peers.some((c) => c.family === t.family && isAllAddresses(c));
}

function aws(policy: Policy, iface: Interface, dir: Direction, t: PacketTuple): Decision {
  const trackedProto = t.protocol === PROTO_TCP || t.protocol === PROTO_UDP;
  const responsesOpen = trackedProto && allowsAllResponses(policy, iface, other(dir), t.family, t.protocol);
  if (policy.cloud === 'aws-classic' && dir === 'egress') {
    // Egress always allowed; the implicit rule allows to anywhere.
    return { verdict: 'accept', reason: 'default', rule: ids.DEFAULT_EGRESS_ACCEPT, tracked: !responsesOpen };
  }
  const matching = rulesOf(policy, iface, dir)
    .map(({ rule }) => rule)
    .filter((rule) => rule.action === 'accept' && ruleMatches(rule, dir, t));
  if (matching.length === 0) {
    const rule = dir === 'ingress' ? ids.DEFAULT_INGRESS_DROP : ids.DEFAULT_EGRESS_DROP;
    return { verdict: 'drop', reason: 'default', rule };
  }
  // Any allowing rule admits the packet; the flow is untracked when one of them allows it
  // from anywhere and the other direction allows every response. Report that rule first.
  const untracked = responsesOpen ? matching.find((r) => allowsFromAnywhere(r, t)) : undefined;
  if (untracked) return { verdict: 'accept', reason: 'rule', rule: untracked.id, tracked: false };
  return { verdict: 'accept', reason: 'rule', rule: matching[0]!.id, tracked: true };
}

/**
 * The stateless decision for a packet of interface `ifaceId` in direction `dir`:
 * platform traffic first, then the custom rules (Alibaba: sorted first match; AWS: any
 * allowing rule), then the hidden defaults. Throws when the interface is unknown.
 */
export function evaluate(policy: Policy, ifaceId: string, dir: Direction, t: PacketTuple): Decision {
  const iface = policy.interfaces.find((i) => i.id === ifaceId);
  if (!iface) throw new Error(`unknown interface ${JSON.stringify(ifaceId)}`);
  const platform = platformDecision(policy, dir, t);
  if (platform) return platform;
  return policy.cloud === 'alibaba' ? alibaba(policy, iface, dir, t) : aws(policy, iface, dir, t);
}
