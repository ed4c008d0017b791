// Match order of the custom rules of one interface and direction (spec sections 2 and 3).
// Pure functions over the neutral model; the compiler and `explain` share them.
import type { Interface, Policy, Rule, SecurityGroup } from '../model/policy.js';
import type { Direction } from '../model/reason.js';

/** A rule together with the group it came from and that group's attach position. */
export interface OrderedRule {
  rule: Rule;
  group: SecurityGroup;
  /** Position of the group in the interface's attach order (0 first). */
  groupPos: number;
}

/** The comparison that put one Alibaba rule before another. */
export type TieBreak = 'priority' | 'drop-first' | 'group-order' | 'rule-index';

/**
 * The groups of an interface in attach order. A group listed twice counts once (first
 * place); an unknown group id is skipped (validation reports it).
 */
export function interfaceGroups(policy: Policy, iface: Interface): SecurityGroup[] {
  const seen = new Set<string>();
  const out: SecurityGroup[] = [];
  for (const id of iface.groupIds) {
    if (seen.has(id)) continue;
    seen.add(id);
    const g = policy.groups.get(id);
    if (g) out.push(g);
  }
  return out;
}

/**
 * Alibaba classic network: a rule with a NicType applies only to interfaces of that type.
 * Interfaces without nicType (VPC) ignore the field.
 */
export function ruleAppliesTo(rule: Rule, iface: Interface): boolean {
  return iface.nicType === undefined || rule.nicType === undefined || rule.nicType === iface.nicType;
}

/**
 * Total order of Alibaba rules: priority (1 first), Drop before Accept, group attach
 * order, rule index. Never 0 for two different rules of one interface.
 */
export function compareAlibaba(a: OrderedRule, b: OrderedRule): number {
  return (
    a.rule.priority - b.rule.priority ||
    actionRank(a) - actionRank(b) ||
    a.groupPos - b.groupPos ||
    a.rule.index - b.rule.index
  );
}

function actionRank(o: OrderedRule): number {
  return o.rule.action === 'drop' ? 0 : 1;
}

/** Which comparison of compareAlibaba decides between a and b (undefined when equal). */
export function tieBreakBetween(a: OrderedRule, b: OrderedRule): TieBreak | undefined {
  if (a.rule.priority !== b.rule.priority) return 'priority';
  if (a.rule.action !== b.rule.action) return 'drop-first';
  if (a.groupPos !== b.groupPos) return 'group-order';
  if (a.rule.index !== b.rule.index) return 'rule-index';
  return undefined;
}

/**
 * The custom rules of one interface and direction in the order the cloud considers them:
 * Alibaba sorted by compareAlibaba (nicType filter applied), AWS in group attach order then
 * rule order (the order only decides which id is reported; AWS is a union). aws-classic
 * egress rules are ignored (egress is always allowed there).
 * Guarantee: the result depends only on the policy's arrays, never on Map iteration order.
 */
export function orderedRules(policy: Policy, iface: Interface, dir: Direction): OrderedRule[] {
  if (policy.cloud === 'aws-classic' && dir === 'egress') return [];
  const out: OrderedRule[] = [];
  interfaceGroups(policy, iface).forEach((group, groupPos) => {
    for (const rule of group.rules) {
      if (rule.direction !== dir) continue;
      if (policy.cloud === 'alibaba' && !ruleAppliesTo(rule, iface)) continue;
      out.push({ rule, group, groupPos });
    }
  });
  if (policy.cloud === 'alibaba') return out.sort(compareAlibaba);
  return out.sort((a, b) => a.groupPos - b.groupPos || a.rule.index - b.rule.index);
}

/**
 * Alibaba: the interface takes the enterprise defaults (egress dropped) when any of its
 * groups is enterprise. (Mixing is a validation error; this keeps the stricter side.)
 */
export function isEnterpriseInterface(policy: Policy, iface: Interface): boolean {
  return interfaceGroups(policy, iface).some((g) => g.type === 'enterprise');
}
