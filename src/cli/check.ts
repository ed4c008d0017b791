// sgfw check: validate a policy, summarise it against the cloud's quotas, and lint it.
// Exit 0 with the summary and warnings; exit 2 with every error.
import { readFileSync } from 'node:fs';
import { parse, flag, required } from './args.js';
import { compile } from '../compile/compile.js';
import { lint } from '../lint/lint.js';
import type { Policy } from '../model/policy.js';
import { parsePolicyText } from '../policy/load.js';
import { awsGroupUsage, interfaceRuleCount } from '../validate/quotas.js';
import { type Diagnostic, formatDiagnostic } from '../validate/diagnostics.js';
import { EXIT_BAD_INPUT } from './exit.js';
import { writeOut, writeErr } from './output.js';

const OPTIONS = { policy: { type: 'string' }, json: { type: 'boolean' } } as const;

interface InterfaceSummary {
  id: string;
  groups: number;
  groupQuota: number;
  /** AWS: the fullest group's rules per direction and family, against rulesPerGroup. */
  rules: { ingress: number; egress: number; quota: number; counting: string };
  entries: { ingress: number; egress: number };
}

function summarise(policy: Policy): InterfaceSummary[] {
  const table = compile(policy);
  return policy.interfaces.map((iface, i) => {
    const compiled = table.interfaces[i]!;
    const groups = iface.groupIds.map((id) => policy.groups.get(id)).filter((g) => g !== undefined);
    let rules: InterfaceSummary['rules'];
    if (policy.cloud === 'alibaba') {
      const count = (dir: 'ingress' | 'egress') =>
        groups.reduce((n, g) => n + g.rules.filter((r) => r.direction === dir).reduce((m, r) => m + r.quotaWeight, 0), 0);
      rules = {
        ingress: count('ingress'),
        egress: count('egress'),
        quota: policy.quotas.rulesPerInterface,
        counting: `${interfaceRuleCount(iface, policy.groups)} of ${policy.quotas.rulesPerInterface} rules per interface`,
      };
    } else {
      let ingress = 0;
      let egress = 0;
      for (const g of groups) {
        const u = awsGroupUsage(g);
        ingress = Math.max(ingress, u.ingress.ipv4, u.ingress.ipv6);
        egress = Math.max(egress, u.egress.ipv4, u.egress.ipv6);
      }
      rules = {
        ingress,
        egress,
        quota: policy.quotas.rulesPerGroup,
        counting: `fullest group: ${ingress} inbound, ${egress} outbound of ${policy.quotas.rulesPerGroup} rules per group and family`,
      };
    }
    return {
      id: iface.id,
      groups: groups.length,
      groupQuota: policy.quotas.groupsPerInterface,
      rules,
      entries: { ingress: compiled.ingress.length, egress: compiled.egress.length },
    };
  });
}

export async function runCheck(argv: string[]): Promise<number> {
  const p = parse('check', argv, OPTIONS, 0);
  const file = required('check', p, 'policy');
  const json = flag(p, 'json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    writeErr(`${file}: cannot read the policy: ${(e as NodeJS.ErrnoException).code ?? String(e)}\n`);
    return EXIT_BAD_INPUT;
  }
  const { policy, diagnostics } = parsePolicyText(text, file);
  const errors = diagnostics.filter((d) => d.severity === 'error');
  let warnings: Diagnostic[] = diagnostics.filter((d) => d.severity === 'warning');
  if (!policy) {
    if (json) {
      writeOut(`${JSON.stringify({ ok: false, file, errors, warnings })}\n`);
    } else {
      writeErr(`${file}: ${errors.length} error${errors.length === 1 ? '' : 's'}\n`);
      for (const d of errors) writeErr(`  ${formatDiagnostic(file, d)}\n`);
    }
    return EXIT_BAD_INPUT;
  }
  warnings = [...warnings, ...lint(policy)];
  const interfaces = summarise(policy);
  if (json) {
    writeOut(`${JSON.stringify({ ok: true, file, cloud: policy.cloud, groups: policy.groups.size, interfaces, warnings })}\n`);
    return 0;
  }
  const ruleTotal = [...policy.groups.values()].reduce((n, g) => n + g.rules.length, 0);
  const out: string[] = [
    `${file}: ok (${policy.cloud}): ${interfaces.length} interface${interfaces.length === 1 ? '' : 's'}, ` +
      `${policy.groups.size} security group${policy.groups.size === 1 ? '' : 's'}, ${ruleTotal} rules`,
  ];
  for (const s of interfaces) {
    out.push(
      `  ${s.id}: ${s.groups}/${s.groupQuota} groups; ${s.rules.counting}; ` +
        `table ${s.entries.ingress} ingress + ${s.entries.egress} egress entries`,
    );
  }
  if (warnings.length) {
    out.push(`${warnings.length} warning${warnings.length === 1 ? '' : 's'}:`);
    for (const d of warnings) out.push(`  ${formatDiagnostic(file, d)}`);
  }
  writeOut(`${out.join('\n')}\n`);
  return 0;
}
