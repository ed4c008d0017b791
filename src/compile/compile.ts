// Policy -> CompiledTable: per interface and direction, one first-match list of entries
// (spec sections 2 and 3). Pure; the reference evaluator (src/eval/evaluate.ts) is the
// independent oracle it is property-tested against.
import type { Cidr, Family } from '../model/cidr.js';
import { isAllAddresses } from '../model/cidr.js';
import type { Action, IcmpMatch, Interface, Policy, PortRange, Rule } from '../model/policy.js';
import { ALL_PORTS } from '../model/policy.js';
import {
  hasPorts,
  PROTO_ICMP,
  PROTO_ICMPV6,
  PROTO_TCP,
  PROTO_UDP,
  type Protocol,
} from '../model/protocol.js';
import type { Direction } from '../model/reason.js';
import * as ids from './ids.js';
import { interfaceGroups, isEnterpriseInterface, orderedRules } from './order.js';
import type { CompiledEntry, CompiledInterface, CompiledRule, CompiledTable, EntryReason } from './table.js';
import { allowsAllResponses, otherDirection, type TrackedProto } from './untracked.js';

const ANY_ICMP: IcmpMatch = { type: 'any', code: 'any' };

/** Registry of reported rules: one CompiledRule per id, in first-use order. */
class RuleRegistry {
  readonly rules: CompiledRule[] = [];
  private readonly byId = new Map<string, number>();

  index(id: string, reason: EntryReason, action: Action): number {
    const known = this.byId.get(id);
    if (known !== undefined) return known;
    const i = this.rules.length;
    this.rules.push({ id, reason, action });
    this.byId.set(id, i);
    return i;
  }
}

interface EntrySpec {
  id: string;
  reason: EntryReason;
  action: Action;
  family?: 0 | Family;
  protocol?: Protocol;
  src?: Cidr | null;
  dst?: Cidr | null;
  srcPorts?: PortRange;
  dstPorts?: PortRange;
  icmp?: IcmpMatch;
  priority?: number;
}

function entry(reg: RuleRegistry, s: EntrySpec): CompiledEntry {
  return {
    rule: reg.index(s.id, s.reason, s.action),
    action: s.action,
    reason: s.reason,
    family: s.family ?? 0,
    protocol: s.protocol ?? 'any',
    src: s.src ?? null,
    dst: s.dst ?? null,
    srcPorts: s.srcPorts ?? ALL_PORTS,
    dstPorts: s.dstPorts ?? ALL_PORTS,
    icmp: s.icmp ?? ANY_ICMP,
    untrackedTcp: false,
    untrackedUdp: false,
    priority: s.priority ?? 0,
  };
}

/** The ICMP protocol number of a family. */
function icmpOf(f: Family): number {
  return f === 4 ? PROTO_ICMP : PROTO_ICMPV6;
}

/**
 * The families a rule's protocol can match: an ICMP rule only its own family
 * ('icmp' never matches IPv6, 'icmpv6' never IPv4).
 */
function ruleMatchesFamily(p: Protocol, f: Family): boolean {
  if (p === PROTO_ICMP) return f === 4;
  if (p === PROTO_ICMPV6) return f === 6;
  return true;
}

/**
 * Expand one rule into entries: one per (peer CIDR x local CIDR x destination port range),
 * same family pairs only. A rule with no peers (group without members) expands to nothing.
 */
function expandRule(
  reg: RuleRegistry,
  rule: Rule,
  dir: Direction,
  reason: EntryReason = 'rule',
): CompiledEntry[] {
  const out: CompiledEntry[] = [];
  const ported = hasPorts(rule.protocol);
  const dstRanges = ported && rule.dstPorts !== 'any' ? rule.dstPorts : [ALL_PORTS];
  const srcPorts = ported && rule.srcPorts !== 'any' ? rule.srcPorts : ALL_PORTS;
  const isIcmp = rule.protocol === PROTO_ICMP || rule.protocol === PROTO_ICMPV6;
  const icmp = isIcmp && rule.icmp !== 'any' ? rule.icmp : ANY_ICMP;
  for (const peer of rule.peers) {
    if (!ruleMatchesFamily(rule.protocol, peer.family)) continue;
    const locals: (Cidr | null)[] =
      rule.locals === 'any' ? [null] : rule.locals.filter((l) => l.family === peer.family);
    for (const local of locals) {
      for (const dports of dstRanges) {
        out.push(
          entry(reg, {
            id: rule.id,
            reason,
            action: rule.action,
            family: peer.family,
            protocol: rule.protocol,
            src: dir === 'ingress' ? peer : local,
            dst: dir === 'ingress' ? local : peer,
            srcPorts,
            dstPorts: dports,
            icmp,
            priority: rule.priority,
          }),
        );
      }
    }
  }
  return out;
}

/**
 * The key of everything a run (the entries of one interface and direction) depends on
 * besides the policy: the interface's groups in attach order and its nicType.
 */
function runKey(iface: Interface, dir: Direction): string {
  return JSON.stringify([dir, iface.nicType ?? null, iface.groupIds]);
}

function tcp25Drop(reg: RuleRegistry): CompiledEntry {
  return entry(reg, {
    id: ids.PLATFORM_TCP25_DROP,
    reason: 'platform',
    action: 'drop',
    protocol: PROTO_TCP,
    dstPorts: { from: 25, to: 25 },
  });
}

/** Alibaba platform entries (spec 3), in the order they are checked. */
function alibabaPlatform(reg: RuleRegistry, policy: Policy, dir: Direction): CompiledEntry[] {
  const out: CompiledEntry[] = [];
  if (dir === 'egress' && policy.platform.restrictTcp25) out.push(tcp25Drop(reg));
  const p = (s: Omit<EntrySpec, 'reason' | 'action'>) =>
    entry(reg, { ...s, reason: 'platform', action: 'accept' });
  out.push(
    p({
      id: ids.PLATFORM_FRAG_NEEDED,
      family: 4,
      protocol: PROTO_ICMP,
      icmp: { type: ids.ICMP_DEST_UNREACH, code: ids.ICMP_FRAG_NEEDED_CODE },
    }),
    p({
      id: ids.PLATFORM_PACKET_TOO_BIG,
      family: 6,
      protocol: PROTO_ICMPV6,
      icmp: { type: ids.ICMPV6_PACKET_TOO_BIG, code: 'any' },
    }),
  );
  if (dir === 'ingress') {
    out.push(p({ id: ids.PLATFORM_LOAD_BALANCER, family: 4, src: ids.LOAD_BALANCER_CIDR }));
    for (const c of policy.platform.probeSources) {
      const echo = c.family === 4 ? ids.ICMP_ECHO_REQUEST : ids.ICMPV6_ECHO_REQUEST;
      out.push(
        p({
          id: ids.PLATFORM_PROBE,
          family: c.family,
          protocol: icmpOf(c.family),
          src: c,
          icmp: { type: echo, code: 'any' },
        }),
      );
    }
  } else {
    out.push(p({ id: ids.PLATFORM_METADATA, family: 4, dst: ids.METADATA_CIDR }));
  }
  return out;
}

function compileAlibaba(reg: RuleRegistry, policy: Policy, iface: Interface, dir: Direction): CompiledEntry[] {
  const out = alibabaPlatform(reg, policy, dir);
  for (const o of orderedRules(policy, iface, dir)) {
    for (const e of expandRule(reg, o.rule, dir)) out.push(e);
  }
  const enterprise = isEnterpriseInterface(policy, iface);
  if (dir === 'ingress') {
    for (const g of interfaceGroups(policy, iface)) {
      if (g.type !== 'normal' || g.innerAccessPolicy !== 'accept') continue;
      for (const m of policy.members.get(g.id) ?? []) {
        out.push(
          entry(reg, { id: ids.innerAcceptId(g.id), reason: 'default', action: 'accept', family: m.family, src: m }),
        );
      }
    }
    out.push(entry(reg, { id: ids.DEFAULT_INGRESS_DROP, reason: 'default', action: 'drop' }));
  } else if (enterprise) {
    out.push(entry(reg, { id: ids.DEFAULT_EGRESS_DROP, reason: 'default', action: 'drop' }));
  } else {
    out.push(entry(reg, { id: ids.DEFAULT_EGRESS_ACCEPT, reason: 'default', action: 'accept' }));
  }
  return out;
}

/** The peer of an entry in its direction (ingress: source, egress: destination). */
function peerOf(e: CompiledEntry, dir: Direction): Cidr | null {
  return dir === 'ingress' ? e.src : e.dst;
}

function compileAws(reg: RuleRegistry, policy: Policy, iface: Interface, dir: Direction): CompiledEntry[] {
  const other = otherDirection(dir);
  // Asked once per open entry: four answers per interface and direction, computed once each.
  const answers = new Map<string, boolean>();
  const responses = (f: Family, p: TrackedProto): boolean => {
    const k = `${f}/${p}`;
    let v = answers.get(k);
    if (v === undefined) {
      v = allowsAllResponses(policy, iface, other, f, p);
      answers.set(k, v);
    }
    return v;
  };
  const platform = dir === 'egress' && policy.platform.restrictTcp25 ? [tcp25Drop(reg)] : [];

  if (policy.cloud === 'aws-classic' && dir === 'egress') {
    // Egress is always allowed: one catch-all, split by family only when the untracked
    // flags differ between IPv4 and IPv6.
    const flags = (f: Family) => [responses(f, PROTO_TCP), responses(f, PROTO_UDP)] as const;
    const [t4, u4] = flags(4);
    const [t6, u6] = flags(6);
    const mk = (family: 0 | Family, t: boolean, u: boolean) => ({
      ...entry(reg, { id: ids.DEFAULT_EGRESS_ACCEPT, reason: 'default', action: 'accept', family }),
      untrackedTcp: t,
      untrackedUdp: u,
    });
    const catchAll = t4 === t6 && u4 === u6 ? [mk(0, t4, u4)] : [mk(4, t4, u4), mk(6, t6, u6)];
    return [...platform, ...catchAll];
  }

  const untracked: CompiledEntry[] = [];
  const rest: CompiledEntry[] = [];
  for (const o of orderedRules(policy, iface, dir)) {
    if (o.rule.action !== 'accept') continue; // AWS has allow rules only
    for (const e of expandRule(reg, o.rule, dir)) {
      const peer = peerOf(e, dir);
      const open = peer !== null && isAllAddresses(peer) && e.family !== 0;
      const fam = e.family as Family;
      e.untrackedTcp = open && (e.protocol === PROTO_TCP || e.protocol === 'any') && responses(fam, PROTO_TCP);
      e.untrackedUdp = open && (e.protocol === PROTO_UDP || e.protocol === 'any') && responses(fam, PROTO_UDP);
      if (e.protocol === 'any') {
        // Untracked-first must not let this entry report itself for other protocols:
        // the untracked block gets a per-protocol copy, the entry keeps its place.
        if (e.untrackedTcp) {
          untracked.push({ ...e, protocol: PROTO_TCP, untrackedUdp: false, srcPorts: ALL_PORTS, dstPorts: ALL_PORTS });
        }
        if (e.untrackedUdp) {
          untracked.push({ ...e, protocol: PROTO_UDP, untrackedTcp: false, srcPorts: ALL_PORTS, dstPorts: ALL_PORTS });
        }
        rest.push(e);
      } else if (e.untrackedTcp || e.untrackedUdp) {
        untracked.push(e);
      } else {
        rest.push(e);
      }
    }
  }
  const fallback = dir === 'ingress' ? ids.DEFAULT_INGRESS_DROP : ids.DEFAULT_EGRESS_DROP;
  return [
    ...platform,
    ...untracked,
    ...rest,
    entry(reg, { id: fallback, reason: 'default', action: 'drop' }),
  ];
}

/**
 * Compile a policy into its match table.
 * Guarantees: pure and deterministic (Maps are only looked up by key, never iterated, so
 * the result never depends on their insertion order); every run ends with a catch-all
 * entry, so every packet of a configured interface has a first match; entries of one
 * reported id share one CompiledRule; interfaces keep the policy's order.
 */
export function compile(policy: Policy): CompiledTable {
  const reg = new RuleRegistry();
  // Interfaces with the same groups (and nicType) have the same runs: each is compiled once
  // and its entry objects are shared (nothing mutates a compiled table; each interface gets
  // its own array). The first compile registers the rules in the order it always did; a
  // reuse would only have looked up ids already registered.
  const runs = new Map<string, CompiledEntry[]>();
  const interfaces: CompiledInterface[] = policy.interfaces.map((iface) => {
    const run = (dir: Direction): CompiledEntry[] => {
      const key = runKey(iface, dir);
      let entries = runs.get(key);
      if (!entries) {
        entries = policy.cloud === 'alibaba' ? compileAlibaba(reg, policy, iface, dir) : compileAws(reg, policy, iface, dir);
        runs.set(key, entries);
      }
      return entries.slice();
    };
    const ingress = run('ingress');
    const egress = run('egress');
    const out: CompiledInterface = { id: iface.id, addresses: iface.addresses, ingress, egress };
    if (iface.nicType !== undefined) out.nicType = iface.nicType;
    return out;
  });
  return { cloud: policy.cloud, interfaces, rules: reg.rules, conntrack: policy.conntrack };
}

