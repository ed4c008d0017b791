// Lint warnings: each names the covering rule, and nothing is claimed without proof.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lint, LINT_CODES } from '../../src/lint/lint.js';
import { evaluate } from '../../src/eval/evaluate.js';
import type { Policy } from '../../src/model/policy.js';
import { allowIn, allowOut, egress, ingress, policy } from '../helpers/policy-builder.js';
import { arbPolicy, randomProbes } from '../helpers/random-policy.js';

const codes = (p: Policy) => lint(p).map((d) => d.code);
const find = (p: Policy, code: string) => lint(p).filter((d) => d.code === code);

describe('Alibaba shadowing', () => {
  it('a rule covered by an earlier one (priority) is named with the covering rule and tie-break', () => {
    const p = policy('alibaba')
      .group('sg-a', [
        ingress('accept', 'tcp', '10.0.0.0/8', { ports: '1-1024', priority: 1, id: 'wide' }),
        ingress('accept', 'tcp', '10.1.0.0/16', { ports: 22, priority: 5, id: 'narrow' }),
      ])
      .iface('eni-1', ['10.0.1.10'], ['sg-a'])
      .build();
    const [d, ...rest] = find(p, LINT_CODES.shadowed);
    expect(rest).toEqual([]);
    expect(d!.path).toBe('securityGroups[0].rules[1]');
    expect(d!.message).toContain('rule narrow');
    expect(d!.message).toContain('rule wide');
    expect(d!.message).toContain('lower priority');
    expect(d!.message).toContain('interface eni-1');
  });

  it('a Drop shadowed by an Accept says that it never drops anything', () => {
    const p = policy('alibaba')
      .group('sg-a', [ingress('accept', 'any', '0.0.0.0/0', { priority: 1, id: 'open' }), ingress('drop', 'tcp', '192.0.2.0/24', { ports: 22, priority: 2, id: 'block' })])
      .iface('eni-1', ['10.0.1.10'], ['sg-a'])
      .build();
    const [d] = find(p, LINT_CODES.shadowed);
    expect(d!.message).toMatch(/block.*open.*never drops anything/);
  });

  it('an Accept behind a Drop of equal priority: drop-first is the reason', () => {
    const p = policy('alibaba')
      .group('sg-a', [ingress('accept', 'tcp', '192.0.2.0/24', { ports: 22, id: 'ssh' }), ingress('drop', 'tcp', '192.0.0.0/16', { ports: '1-65535', id: 'block' })])
      .iface('eni-1', ['10.0.1.10'], ['sg-a'])
      .build();
    expect(find(p, LINT_CODES.shadowed)[0]!.message).toMatch(/ssh.*block.*Drop before Accept/);
  });

  it('partial overlap, other ports, a NicType the earlier rule lacks: no warning', () => {
    const p = policy('alibaba')
      .group('sg-a', [
        ingress('accept', 'tcp', '10.1.0.0/16', { ports: 22, priority: 1 }),
        ingress('accept', 'tcp', '10.0.0.0/8', { ports: 22, priority: 2 }),
        ingress('accept', 'tcp', '10.1.0.0/16', { ports: '22-23', priority: 3 }),
        ingress('drop', 'tcp', '10.1.0.0/16', { ports: 22, nicType: 'internet', priority: 1 }),
        ingress('drop', 'tcp', '10.1.0.0/16', { ports: '22-25', priority: 2, locals: '10.0.1.10/32' }),
        ingress('accept', 'udp', '10.1.0.0/16', { ports: 22, priority: 9 }),
        ingress('accept', 'udp', '10.1.0.0/16', { ports: 22, srcPorts: '1-10', priority: 8 }),
      ])
      .iface('eni-1', ['10.0.1.10'], ['sg-a'])
      .build();
    expect(codes(p).filter((c) => c === LINT_CODES.shadowed || c === LINT_CODES.duplicate)).toEqual([]);
  });

  it('exact duplicates; "6" and "tcp" duplicates are called out', () => {
    const p = policy('alibaba')
      .group('sg-a', [
        ingress('accept', 'tcp', '10.0.0.0/8', { ports: 22, id: 'a', protocolText: 'TCP' }),
        ingress('accept', 6, '10.0.0.0/8', { ports: 22, id: 'b', protocolText: '6' }),
        ingress('accept', 'udp', '10.0.0.0/8', { ports: 53, id: 'c' }),
        ingress('accept', 'udp', '10.0.0.0/8', { ports: 53, id: 'd' }),
      ])
      .iface('eni-1', ['10.0.1.10'], ['sg-a'])
      .build();
    expect(find(p, LINT_CODES.protocolAlias)[0]!.message).toMatch(/rule b .*duplicates rule a .*"6" and "TCP" are the same protocol \(tcp\)/);
    expect(find(p, LINT_CODES.duplicate).map((d) => d.message)).toEqual([expect.stringMatching(/rule d .*duplicates rule c/)]);
  });

  it('egress Accept rules of a basic interface with no Drop after them add nothing', () => {
    const p = policy('alibaba')
      .group('sg-a', [egress('accept', 'tcp', '0.0.0.0/0', { ports: 443, id: 'https-out' })])
      .iface('eni-1', ['10.0.1.10'], ['sg-a'])
      .build();
    expect(find(p, LINT_CODES.egressAddsNothing)[0]!.message).toMatch(/https-out.*hidden default/);
    const guarded = policy('alibaba')
      .group('sg-a', [egress('accept', 'tcp', '0.0.0.0/0', { ports: 443, id: 'https-out' }), egress('drop', 'any', '0.0.0.0/0', { priority: 100 })])
      .iface('eni-1', ['10.0.1.10'], ['sg-a'])
      .build();
    expect(find(guarded, LINT_CODES.egressAddsNothing)).toEqual([]);
  });

  it('enterprise groups without egress rules, and rules referencing member-less groups', () => {
    const p = policy('alibaba')
      .group('sg-e', [ingress('accept', 'tcp', { group: 'sg-nobody' }, { ports: 22, id: 'ghost' })], { type: 'enterprise' })
      .group('sg-nobody', [])
      .iface('eni-1', ['10.0.1.10'], ['sg-e'])
      .build();
    expect(find(p, LINT_CODES.noEgress).map((d) => d.path).sort()).toEqual(['interfaces[0]', 'securityGroups[0]']);
    expect(find(p, LINT_CODES.neverMatches)[0]!.message).toMatch(/ghost.*group sg-nobody has no members/);
    const basic = policy('alibaba').group('sg-a', []).iface('eni-1', ['10.0.1.10'], ['sg-a']).build();
    expect(find(basic, LINT_CODES.noEgress)).toEqual([]);
  });
});

describe('AWS union', () => {
  it('a rule inside another rule of the union (another group too) is redundant', () => {
    const p = policy('aws')
      .group('sg-a', [allowIn('tcp', '10.1.0.0/16', { ports: 22 }), allowOut('any', '0.0.0.0/0')])
      .group('sg-b', [allowIn('tcp', '10.0.0.0/8', { ports: '0-65535' })])
      .iface('eni-1', ['10.0.1.10'], ['sg-a', 'sg-b'])
      .build();
    const [d, ...rest] = find(p, LINT_CODES.redundant);
    expect(rest).toEqual([]);
    expect(d!.message).toMatch(/rule sg-a:ingress:0 .*redundant.*rule sg-b:ingress:0/);
  });

  it('duplicates are reported once, on the later rule', () => {
    const p = policy('aws')
      .group('sg-a', [allowIn('tcp', '10.0.0.0/8', { ports: 22 }), allowIn('tcp', '10.0.0.0/8', { ports: 22 }), allowOut('any', '0.0.0.0/0')])
      .iface('eni-1', ['10.0.1.10'], ['sg-a'])
      .build();
    expect(find(p, LINT_CODES.duplicate).map((d) => d.message)).toEqual([expect.stringMatching(/sg-a:ingress:1 .*duplicates rule sg-a:ingress:0/)]);
  });

  it('egress rules next to an allow-all egress add nothing', () => {
    const p = policy('aws')
      .group('sg-a', [allowOut('any', '0.0.0.0/0'), allowOut('tcp', '10.0.0.0/8', { ports: 5432 })])
      .iface('eni-1', ['10.0.1.10'], ['sg-a'])
      .build();
    expect(find(p, LINT_CODES.egressAddsNothing)[0]!.message).toMatch(/sg-a:egress:1 .*adds nothing.*sg-a:egress:0 .*allows all outbound/);
    // An IPv6 egress rule is not covered by an IPv4 allow-all.
    const v6 = policy('aws').group('sg-a', [allowOut('any', '0.0.0.0/0'), allowOut('tcp', '::/0', { ports: 443 })]).iface('eni-1', ['10.0.1.10'], ['sg-a']).build();
    expect(find(v6, LINT_CODES.egressAddsNothing)).toEqual([]);
  });

  it('groups with no egress rules (AWS VPC only)', () => {
    const p = policy('aws').group('sg-a', [allowIn('tcp', '10.0.0.0/8', { ports: 22 })]).iface('eni-1', ['10.0.1.10'], ['sg-a']).build();
    expect(find(p, LINT_CODES.noEgress).map((d) => d.message)).toEqual([
      expect.stringMatching(/eni-1 can send nothing/),
      expect.stringMatching(/group sg-a has no egress rules/),
    ]);
    const classic = policy('aws-classic').group('sg-a', [allowIn('tcp', '10.0.0.0/8', { ports: 22 })]).iface('eni-1', ['10.0.1.10'], ['sg-a']).build();
    expect(find(classic, LINT_CODES.noEgress)).toEqual([]);
  });

  it('untracked flows with no ingress rule for ICMP fragmentation-needed', () => {
    const base = [allowIn('tcp', '0.0.0.0/0', { ports: 443 }), allowOut('any', '0.0.0.0/0')];
    const p = policy('aws').group('sg-a', base).iface('eni-1', ['10.0.1.10'], ['sg-a']).build();
    expect(find(p, LINT_CODES.untrackedPmtu).map((d) => d.message)).toEqual([expect.stringMatching(/IPv4 flows allowed by sg-a:ingress:0 are untracked.*type 3 code 4/)]);
    const fixed = policy('aws').group('sg-a', [...base, allowIn('icmp', '0.0.0.0/0', { icmp: [3, 4] })]).iface('eni-1', ['10.0.1.10'], ['sg-a']).build();
    expect(find(fixed, LINT_CODES.untrackedPmtu)).toEqual([]);
    const tracked = policy('aws').group('sg-a', [allowIn('tcp', '0.0.0.0/0', { ports: 443 }), allowOut('tcp', '10.0.0.0/8', { ports: '0-65535' })]).iface('eni-1', ['10.0.1.10'], ['sg-a']).build();
    expect(find(tracked, LINT_CODES.untrackedPmtu)).toEqual([]);
  });
});

describe('lint is conservative (random policies)', () => {
  it('removing a rule flagged as shadowed, redundant, duplicate or adding nothing never changes a verdict', () => {
    const flagged = new Set<string>([LINT_CODES.shadowed, LINT_CODES.redundant, LINT_CODES.duplicate, LINT_CODES.protocolAlias, LINT_CODES.neverMatches, LINT_CODES.egressAddsNothing]);
    fc.assert(
      fc.property(arbPolicy(), fc.integer(), (p, seed) => {
        for (const d of lint(p)) {
          if (!flagged.has(d.code)) continue;
          // Drop the flagged rule (by path) and compare verdicts on probes.
          const groups = new Map([...p.groups].map(([id, g]) => [id, { ...g, rules: g.rules.filter((r) => r.path !== d.path) }]));
          const q: Policy = { ...p, groups };
          // Only where the warning says it holds (a group may serve other interfaces too).
          const where = (id: string) => new RegExp(`interface ${id}[,:]`).test(d.message) || d.code === LINT_CODES.neverMatches;
          for (const probe of randomProbes(p, seed, 40).filter((x) => where(x.ifaceId))) {
            const a = evaluate(p, probe.ifaceId, probe.dir, probe.tuple);
            const b = evaluate(q, probe.ifaceId, probe.dir, probe.tuple);
            expect(b.verdict, `${d.message}`).toBe(a.verdict);
            if (p.cloud !== 'alibaba') expect(b.tracked, d.message).toBe(a.tracked);
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});
