// Quota checks (spec sections 2 and 3) and the rule counts `sgfw check` prints against them.
// Counting rules:
// - AWS: per group, direction and family. Each CIDR of a permission is one rule; a group
//   reference is one IPv4 rule (Decision: AWS counts a reference once); a prefix-list
//   reference counts as its MaxEntries in the list's family.
// - Alibaba: per interface, over all its groups; a rule counts 1, a rule with a prefix list
//   or port list counts as that list's MaxEntries, and a rule with both as the product
//   (Decision: it expands to every (prefix, port range) pair).
import type { Cloud, Interface, Quotas, Rule, SecurityGroup } from '../model/policy.js';
import { at } from '../policy/json-path.js';
import { CODES } from './codes.js';
import type { Reader } from './reader.js';

export interface FamilyCounts {
  ipv4: number;
  ipv6: number;
}

export interface AwsGroupUsage {
  ingress: FamilyCounts;
  egress: FamilyCounts;
}

/** How much of AWS's per-family quota one neutral rule uses. */
export function awsRuleWeight(rule: Rule): FamilyCounts {
  if (rule.peerKind === 'group') return { ipv4: 1, ipv6: 0 };
  if (rule.peerKind === 'prefix-list') {
    return rule.peers[0]?.family === 6 ? { ipv4: 0, ipv6: rule.quotaWeight } : { ipv4: rule.quotaWeight, ipv6: 0 };
  }
  let ipv4 = 0;
  let ipv6 = 0;
  for (const p of rule.peers) {
    if (p.family === 4) ipv4++;
    else ipv6++;
  }
  return { ipv4, ipv6 };
}

export function awsGroupUsage(g: SecurityGroup): AwsGroupUsage {
  const u: AwsGroupUsage = { ingress: { ipv4: 0, ipv6: 0 }, egress: { ipv4: 0, ipv6: 0 } };
  for (const rule of g.rules) {
    const w = awsRuleWeight(rule);
    u[rule.direction].ipv4 += w.ipv4;
    u[rule.direction].ipv6 += w.ipv6;
  }
  return u;
}

/** Alibaba: rules of one group as its interface quota counts them. */
export function alibabaGroupWeight(g: SecurityGroup): number {
  let n = 0;
  const rules = g.rules;
  // Indexed: for-of allocates per rule in V8's interpreter, and this runs per interface.
  for (let i = 0; i < rules.length; i++) n += rules[i]!.quotaWeight;
  return n;
}

/** Alibaba: rules over all (distinct) groups of an interface. */
export function interfaceRuleCount(iface: Interface, groups: Map<string, SecurityGroup>): number {
  let n = 0;
  for (const id of new Set(iface.groupIds)) {
    const g = groups.get(id);
    if (g) n += alibabaGroupWeight(g);
  }
  return n;
}

export function checkQuotas(
  cloud: Cloud,
  interfaces: Interface[],
  groups: Map<string, SecurityGroup>,
  quotas: Quotas,
  r: Reader,
): void {
  for (const iface of interfaces) {
    const p = at(iface.path, 'securityGroups');
    if (iface.groupIds.length > quotas.groupsPerInterface) {
      r.error(
        CODES.quota,
        p,
        `${iface.groupIds.length} groups exceed the quota of ${quotas.groupsPerInterface} groups per ${cloud === 'aws-classic' ? 'instance' : 'interface'} (quotas.groupsPerInterface)`,
      );
    }
    if (cloud === 'alibaba') {
      const n = interfaceRuleCount(iface, groups);
      if (n > quotas.rulesPerInterface) {
        r.error(
          CODES.quota,
          p,
          `these groups hold ${n} rules, more than the quota of ${quotas.rulesPerInterface} rules per interface (a rule with a prefix list or port list counts as its MaxEntries)`,
        );
      }
    }
  }
  for (const g of groups.values()) {
    if (cloud === 'alibaba') {
      const n = alibabaGroupWeight(g);
      if (n > quotas.rulesPerGroup) {
        r.error(CODES.quota, at(at(g.path, 'Permissions'), 'Permission'), `${n} rules exceed the quota of ${quotas.rulesPerGroup} rules per group (quotas.rulesPerGroup)`);
      }
      continue;
    }
    const u = awsGroupUsage(g);
    for (const dir of ['ingress', 'egress'] as const) {
      const key = dir === 'ingress' ? 'IpPermissions' : 'IpPermissionsEgress';
      for (const fam of ['ipv4', 'ipv6'] as const) {
        const n = u[dir][fam];
        if (n > quotas.rulesPerGroup) {
          r.error(
            CODES.quota,
            at(g.path, key),
            `${n} ${fam === 'ipv4' ? 'IPv4' : 'IPv6'} ${dir === 'ingress' ? 'inbound' : 'outbound'} rules exceed the quota of ${quotas.rulesPerGroup} per group (quotas.rulesPerGroup; each CIDR and group reference counts one, a prefix list its MaxEntries)`,
          );
        }
      }
    }
  }
}
