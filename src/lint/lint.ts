// Lint: warnings that know each cloud's semantics and name the rule that makes another one
// useless. Pure; never throws on a valid policy; conservative: a warning is only given when
// the containment it states is proven (src/lint/contain.ts).
import { compile } from '../compile/compile.js';
import { interfaceGroups, isEnterpriseInterface, orderedRules, tieBreakBetween, type OrderedRule, type TieBreak } from '../compile/order.js';
import type { CompiledTable } from '../compile/table.js';
import type { Family } from '../model/cidr.js';
import type { Interface, Policy, Rule, SecurityGroup } from '../model/policy.js';
import { PROTO_ICMP, PROTO_ICMPV6, protocolName } from '../model/protocol.js';
import type { Direction } from '../model/reason.js';
import { DIRECTIONS } from '../model/reason.js';
import type { Diagnostic } from '../validate/diagnostics.js';
import { covers, effectivePeers, isAllowAll, neverMatches } from './contain.js';

export const LINT_CODES = {
  neverMatches: 'WARN_RULE_NEVER_MATCHES',
  shadowed: 'WARN_RULE_SHADOWED',
  redundant: 'WARN_RULE_REDUNDANT',
  duplicate: 'WARN_RULE_DUPLICATE',
  protocolAlias: 'WARN_RULE_DUPLICATE_PROTOCOL_ALIAS',
  egressAddsNothing: 'WARN_EGRESS_ADDS_NOTHING',
  noEgress: 'WARN_GROUP_NO_EGRESS',
  untrackedPmtu: 'WARN_UNTRACKED_NO_FRAG_NEEDED',
} as const;

/** Where a rule set is judged: one interface, or a group that no interface uses. */
interface Context {
  name: string;
  iface: Interface;
}

const TIE_TEXT: Record<TieBreak, string> = {
  priority: 'a lower priority number',
  'drop-first': 'Drop before Accept at equal priority',
  'group-order': 'an earlier group in attach order',
  'rule-index': 'earlier in the same group',
};

function describe(r: Rule): string {
  return `rule ${r.id} (${r.groupId})`;
}

function contexts(policy: Policy): Context[] {
  const out: Context[] = policy.interfaces.map((iface) => ({ name: `interface ${iface.id}`, iface }));
  const used = new Set(policy.interfaces.flatMap((i) => i.groupIds));
  // Unattached groups, sorted by id so the output never depends on Map order.
  const ids = [...policy.groups.values()].map((g) => g.id).sort();
  for (const id of ids) {
    if (used.has(id)) continue;
    out.push({ name: `group ${id} (attached to no interface)`, iface: { id: '', addresses: [], groupIds: [id], path: '' } });
  }
  return out;
}

/** Accumulates one diagnostic per (code, rule, covering rule), listing every context. */
class Collector {
  private readonly byKey = new Map<string, { d: Omit<Diagnostic, 'message'>; text: (where: string) => string; where: string[] }>();
  add(code: string, path: string, key: string, where: string, text: (where: string) => string): void {
    const k = `${code}\u0000${key}`;
    const known = this.byKey.get(k);
    if (known) {
      if (!known.where.includes(where)) known.where.push(where);
      return;
    }
    this.byKey.set(k, { d: { severity: 'warning', code, path }, text, where: [where] });
  }
  list(): Diagnostic[] {
    return [...this.byKey.values()].map(({ d, text, where }) => ({ ...d, message: text(where.join(', ')) }));
  }
}

function protocolAlias(a: Rule, b: Rule): boolean {
  return a.protocolText !== undefined && b.protocolText !== undefined && a.protocolText.toLowerCase() !== b.protocolText.toLowerCase();
}

function duplicate(out: Collector, where: string, r: Rule, s: Rule): void {
  if (protocolAlias(r, s)) {
    out.add(LINT_CODES.protocolAlias, r.path, `${r.id}\u0000${s.id}`, where, (w) =>
      `${describe(r)} duplicates ${describe(s)} on ${w}: IpProtocol ${JSON.stringify(r.protocolText)} and ${JSON.stringify(s.protocolText)} are the same protocol (${protocolName(r.protocol)})`);
  } else {
    out.add(LINT_CODES.duplicate, r.path, `${r.id}\u0000${s.id}`, where, (w) => `${describe(r)} duplicates ${describe(s)} on ${w}`);
  }
}

/** Alibaba: the first earlier rule that covers r, in the interface's sorted order. */
function lintAlibabaOrder(out: Collector, ctx: Context, ordered: OrderedRule[]): Set<Rule> {
  const shadowed = new Set<Rule>();
  ordered.forEach((o, k) => {
    const r = o.rule;
    const by = ordered.slice(0, k).find((e) => covers(e.rule, r));
    if (!by) return;
    shadowed.add(r);
    const s = by.rule;
    if (s.action === r.action && covers(r, s)) return duplicate(out, ctx.name, r, s);
    const why = TIE_TEXT[tieBreakBetween(by, o) ?? 'rule-index'];
    const effect =
      s.action === r.action ? '' : r.action === 'drop' ? `; this Drop never drops anything, ${s.id} accepts first` : `; this Accept never accepts anything, ${s.id} drops first`;
    out.add(LINT_CODES.shadowed, r.path, `${r.id}\u0000${s.id}`, ctx.name, (w) =>
      `${describe(r)} can never match on ${w}: ${describe(s)} comes first (${why}) and covers it${effect}`);
  });
  return shadowed;
}

/** Alibaba basic interfaces: egress Accept rules with no Drop after them add nothing. */
function lintAlibabaEgress(out: Collector, policy: Policy, ctx: Context, ordered: OrderedRule[], shadowed: Set<Rule>): void {
  if (isEnterpriseInterface(policy, ctx.iface)) return;
  ordered.forEach((o, k) => {
    const r = o.rule;
    if (r.action !== 'accept' || shadowed.has(r) || neverMatches(r)) return;
    if (ordered.slice(k + 1).some((e) => e.rule.action === 'drop')) return;
    out.add(LINT_CODES.egressAddsNothing, r.path, r.id, ctx.name, (w) =>
      `egress ${describe(r)} adds nothing on ${w}: the basic group's hidden default already accepts all outbound traffic and no Drop rule follows it`);
  });
}

/** AWS: rules inside another rule of the union are redundant. */
function lintAwsUnion(out: Collector, ctx: Context, dir: Direction, ordered: OrderedRule[]): void {
  ordered.forEach((o, k) => {
    const r = o.rule;
    const coverers = ordered.filter((e, j) => j !== k && covers(e.rule, r));
    if (coverers.length === 0) return;
    const strict = coverers.find((e) => !covers(r, e.rule));
    if (!strict) {
      // Exact duplicates: report the later one only.
      const earlier = coverers.find((e) => ordered.indexOf(e) < k);
      if (earlier) duplicate(out, ctx.name, r, earlier.rule);
      return;
    }
    const allowAll = dir === 'egress' ? coverers.find((e) => isAllowAll(e.rule) && !covers(r, e.rule)) : undefined;
    if (allowAll) {
      out.add(LINT_CODES.egressAddsNothing, r.path, `${r.id}\u0000${allowAll.rule.id}`, ctx.name, (w) =>
        `egress ${describe(r)} adds nothing on ${w}: ${describe(allowAll.rule)} already allows all outbound traffic`);
      return;
    }
    out.add(LINT_CODES.redundant, r.path, `${r.id}\u0000${strict.rule.id}`, ctx.name, (w) =>
      `${describe(r)} is redundant on ${w}: ${describe(strict.rule)} allows everything it allows (security groups are a union)`);
  });
}

function lintNoEgress(policy: Policy, out: Diagnostic[]): void {
  if (policy.cloud === 'aws-classic') return;
  const byGroup = (g: SecurityGroup) => g.rules.some((r) => r.direction === 'egress');
  for (const iface of policy.interfaces) {
    const groups = interfaceGroups(policy, iface);
    const relevant = policy.cloud === 'aws' || groups.some((g) => g.type === 'enterprise');
    if (!relevant || groups.some(byGroup)) continue;
    const names = groups.map((g) => g.id).join(', ');
    out.push({
      severity: 'warning',
      code: LINT_CODES.noEgress,
      path: iface.path,
      message: `interface ${iface.id} can send nothing: its groups (${names}) have no egress rules at all`,
    });
  }
  for (const g of policy.groups.values()) {
    if (byGroup(g)) continue;
    if (policy.cloud === 'alibaba' && g.type !== 'enterprise') continue;
    out.push({
      severity: 'warning',
      code: LINT_CODES.noEgress,
      path: g.path,
      message: `group ${g.id} has no egress rules: ${policy.cloud === 'aws' ? 'the default allow-all egress rule was removed' : 'an enterprise group drops all outbound traffic by default'}`,
    });
  }
}

/** True when some ingress rule could admit ICMP frag-needed (v4) / packet-too-big (v6). */
function admitsPmtuErrors(rules: Rule[], family: Family): boolean {
  const [proto, type, code] = family === 4 ? [PROTO_ICMP, 3, 4] : [PROTO_ICMPV6, 2, 0];
  return rules.some((r) => {
    if (r.action !== 'accept') return false;
    if (r.protocol !== 'any' && r.protocol !== proto) return false;
    if (!effectivePeers(r).some((c) => c.family === family)) return false;
    if (r.protocol === 'any' || r.icmp === 'any') return true;
    return (r.icmp.type === 'any' || r.icmp.type === type) && (family === 6 || r.icmp.code === 'any' || r.icmp.code === code);
  });
}

function lintUntrackedPmtu(policy: Policy, table: CompiledTable, out: Diagnostic[]): void {
  if (policy.cloud === 'alibaba') return;
  for (const iface of policy.interfaces) {
    const ci = table.interfaces.find((i) => i.id === iface.id);
    if (!ci) continue;
    const ingress = orderedRules(policy, iface, 'ingress').map((o) => o.rule);
    for (const family of [4, 6] as const) {
      const untracked = [...ci.ingress, ...ci.egress].find(
        (e) => (e.untrackedTcp || e.untrackedUdp) && (e.family === family || e.family === 0),
      );
      if (!untracked || admitsPmtuErrors(ingress, family)) continue;
      const what = family === 4 ? 'ICMP type 3 code 4 (fragmentation needed)' : 'ICMPv6 type 2 (packet too big)';
      out.push({
        severity: 'warning',
        code: LINT_CODES.untrackedPmtu,
        path: iface.path,
        message: `interface ${iface.id}: IPv${family} flows allowed by ${table.rules[untracked.rule]!.id} are untracked, so ${what} replies are not related to them and no ingress rule allows them: path MTU discovery will fail`,
      });
    }
  }
}

/**
 * Lint a (valid) policy. `table` is its compiled table when the caller has it (compiled
 * here otherwise); it supplies the AWS untracked flags.
 * Warnings: rules that never match (group without members), Alibaba rules shadowed by an
 * earlier rule (naming the tie-break), AWS rules redundant in the union, exact duplicates
 * (and "6" vs "tcp" duplicates when the loader keeps protocolText), egress rules that add
 * nothing next to an allow-all egress, interfaces and groups with no egress, AWS untracked
 * flows without an ingress rule for ICMP fragmentation-needed.
 * Guarantee: every warning that says a rule is covered names the covering rule, and the
 * covering is proven (contain.ts); doubt means no warning.
 */
export function lint(policy: Policy, table: CompiledTable = compile(policy)): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const g of policy.groups.values()) {
    for (const r of g.rules) {
      if (!neverMatches(r)) continue;
      const why = r.peerKind === 'group' ? `group ${r.peerRef} has no members` : r.peers.length === 0 ? 'it has no peers' : `its ${protocolName(r.protocol)} protocol never matches the family of its peers`;
      out.push({ severity: 'warning', code: LINT_CODES.neverMatches, path: r.path, message: `${describe(r)} can never match: ${why}` });
    }
  }
  const rules = new Collector();
  for (const ctx of contexts(policy)) {
    for (const dir of DIRECTIONS) {
      const ordered = orderedRules(policy, ctx.iface, dir).filter((o) => !neverMatches(o.rule));
      if (policy.cloud === 'alibaba') {
        const shadowed = lintAlibabaOrder(rules, ctx, ordered);
        if (dir === 'egress' && ctx.iface.path !== '') lintAlibabaEgress(rules, policy, ctx, ordered, shadowed);
      } else {
        lintAwsUnion(rules, ctx, dir, ordered);
      }
    }
  }
  out.push(...rules.list());
  lintNoEgress(policy, out);
  lintUntrackedPmtu(policy, table, out);
  return out;
}
