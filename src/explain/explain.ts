// `sgfw explain`: which rule decided a packet, why it came first, whether the flow would be
// tracked, and for a default deny the rules that nearly matched and the field that failed.
// Pure; the decision comes from the compiled table (what the data plane runs), the story
// around it from the policy.
import { orderedRules, tieBreakBetween, type OrderedRule, type TieBreak } from '../compile/order.js';
import type { CompiledTable, EntryReason } from '../compile/table.js';
import { localAddr, peerAddr, ruleMatches } from '../eval/evaluate.js';
import { cidrContainsAddr, formatAddr, type Cidr } from '../model/cidr.js';
import type { PacketTuple, Policy, PortRange, Rule } from '../model/policy.js';
import { hasPorts, PROTO_ICMP, PROTO_ICMPV6, protocolName } from '../model/protocol.js';
import type { Direction, Verdict } from '../model/reason.js';
import { referenceMatch } from '../table/reference-match.js';

/** The fields of a rule, in the order explain checks them. */
export const FIELDS = ['protocol', 'peer', 'local', 'port', 'source port', 'icmp type', 'icmp code'] as const;
export type FieldName = (typeof FIELDS)[number];

export interface NearMiss {
  rule: string;
  /** JSON path of the rule in the policy file. */
  path: string;
  /** The first field (in FIELDS order) that did not match. */
  failed: FieldName;
  detail: string;
  /** How many of the rule's applicable fields did match. */
  matched: number;
}

export type OrderNote =
  | TieBreak // Alibaba: the comparison that put the deciding rule before the next matching one
  | 'only-match' // no other rule matched
  | 'union' // AWS: other rules allow it too; attach/rule order picks the one reported
  | 'untracked-first' // AWS: an untracked rule is reported before tracked ones
  | 'platform'
  | 'default';

export interface Explanation {
  verdict: Verdict;
  reason: EntryReason;
  rule: string;
  /** Accepted and tracked (replies pass as established). */
  tracked: boolean;
  order: {
    /** Position of the deciding entry in the compiled interface/direction run (0 first). */
    entry: number;
    /** Position of the deciding rule among the interface's custom rules in match order. */
    rule?: number;
    /** Alibaba priority of the deciding rule. */
    priority?: number;
    tieBreak: OrderNote;
    /** The next rule that matched too and lost. */
    over?: string;
  };
  nearMisses: NearMiss[];
}

const showCidrs = (cs: Cidr[]) => (cs.length <= 3 ? cs.map((c) => c.text).join(', ') : `${cs.slice(0, 3).map((c) => c.text).join(', ')} and ${cs.length - 3} more`);
const showRanges = (rs: PortRange[]) => rs.map((r) => (r.from === r.to ? `${r.from}` : `${r.from}-${r.to}`)).join(', ');

/** Each applicable field of the rule against the packet: [field, ok, detail if not ok]. */
function fieldChecks(r: Rule, dir: Direction, t: PacketTuple): [FieldName, boolean, string][] {
  const out: [FieldName, boolean, string][] = [];
  const icmpOfFamily = t.family === 4 ? PROTO_ICMP : PROTO_ICMPV6;
  const protoOk = (r.protocol === 'any' || r.protocol === t.protocol) && (r.protocol !== PROTO_ICMP || t.family === 4) && (r.protocol !== PROTO_ICMPV6 || t.family === 6);
  out.push(['protocol', protoOk, `rule is ${protocolName(r.protocol)}, packet is IPv${t.family} ${protocolName(t.protocol)}`]);
  const peer = peerAddr(dir, t);
  const peerWord = dir === 'ingress' ? 'source' : 'destination';
  const peerDetail = r.peers.length === 0 ? `${r.peerKind === 'group' ? `group ${r.peerRef}` : 'the rule'} has no members` : `${peerWord} ${formatAddr(t.family, peer)} not in ${showCidrs(r.peers)}`;
  out.push(['peer', r.peers.some((c) => cidrContainsAddr(c, t.family, peer)), peerDetail]);
  if (r.locals !== 'any') {
    const local = localAddr(dir, t);
    out.push(['local', r.locals.some((c) => cidrContainsAddr(c, t.family, local)), `${dir === 'ingress' ? 'destination' : 'source'} ${formatAddr(t.family, local)} not in ${showCidrs(r.locals)}`]);
  }
  if (hasPorts(r.protocol)) {
    const dp = t.dstPort ?? 0;
    const sp = t.srcPort ?? 0;
    if (r.dstPorts !== 'any') out.push(['port', r.dstPorts.some((x) => dp >= x.from && dp <= x.to), `destination port ${dp} not in ${showRanges(r.dstPorts)}`]);
    if (r.srcPorts !== 'any') out.push(['source port', sp >= r.srcPorts.from && sp <= r.srcPorts.to, `source port ${sp} not in ${showRanges([r.srcPorts])}`]);
  }
  if (r.protocol === icmpOfFamily && r.icmp !== 'any') {
    if (r.icmp.type !== 'any') out.push(['icmp type', r.icmp.type === (t.icmpType ?? 0), `ICMP type ${t.icmpType ?? 0} is not ${r.icmp.type}`]);
    if (r.icmp.code !== 'any') out.push(['icmp code', r.icmp.code === (t.icmpCode ?? 0), `ICMP code ${t.icmpCode ?? 0} is not ${r.icmp.code}`]);
  }
  return out;
}

/** Up to `limit` accept rules that came closest (most fields matched), each with its first failure. */
export function nearMisses(ordered: OrderedRule[], dir: Direction, t: PacketTuple, limit = 3): NearMiss[] {
  const misses: (NearMiss & { pos: number })[] = [];
  ordered.forEach((o, pos) => {
    if (o.rule.action !== 'accept') return;
    const checks = fieldChecks(o.rule, dir, t);
    const first = checks.find(([, ok]) => !ok);
    if (!first) return;
    misses.push({ rule: o.rule.id, path: o.rule.path, failed: first[0], detail: first[2], matched: checks.filter(([, ok]) => ok).length, pos });
  });
  misses.sort((a, b) => b.matched - a.matched || FIELDS.indexOf(b.failed) - FIELDS.indexOf(a.failed) || a.pos - b.pos);
  return misses.slice(0, limit).map(({ pos: _pos, ...m }) => m);
}

/**
 * Explain the stateless decision for one packet. The verdict, reason and rule are those of
 * the table's first matching entry (so explain never disagrees with the data plane); throws
 * when the interface is unknown or the table has no matching entry.
 */
export function explain(policy: Policy, table: CompiledTable, ifaceId: string, dir: Direction, t: PacketTuple): Explanation {
  const ifaceIndex = table.interfaces.findIndex((i) => i.id === ifaceId);
  const iface = policy.interfaces.find((i) => i.id === ifaceId);
  if (ifaceIndex < 0 || !iface) throw new Error(`unknown interface ${JSON.stringify(ifaceId)}`);
  const m = referenceMatch(table, ifaceIndex, dir, t);
  if (!m) throw new Error(`the table has no entry for this packet on ${ifaceId} ${dir}`);
  const ordered = orderedRules(policy, iface, dir);
  const out: Explanation = {
    verdict: m.verdict,
    reason: m.reason,
    rule: m.rule,
    tracked: m.verdict === 'accept' && m.tracked !== false,
    order: { entry: m.position, tieBreak: m.reason === 'rule' ? 'only-match' : m.reason },
    nearMisses: [],
  };
  if (m.reason === 'rule') {
    const pos = ordered.findIndex((o) => o.rule.id === m.rule);
    const decider = ordered[pos];
    if (decider) {
      out.order.rule = pos;
      if (policy.cloud === 'alibaba') out.order.priority = decider.rule.priority;
      const others = ordered.filter((o, k) => k !== pos && (policy.cloud === 'alibaba' || o.rule.action === 'accept') && ruleMatches(o.rule, dir, t));
      if (policy.cloud === 'alibaba') {
        const next = others.find((o) => ordered.indexOf(o) > pos);
        if (next) {
          out.order.tieBreak = tieBreakBetween(decider, next) ?? 'rule-index';
          out.order.over = next.rule.id;
        }
      } else if (others.length > 0) {
        const before = others.find((o) => ordered.indexOf(o) < pos);
        out.order.tieBreak = !out.tracked && before ? 'untracked-first' : 'union';
        out.order.over = (before ?? others[0]!).rule.id;
      }
    }
  }
  if (m.verdict === 'drop' && m.reason === 'default') out.nearMisses = nearMisses(ordered, dir, t);
  return out;
}
