// explain: the decision (from the table), the tie-break that applied, tracking, near misses.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/compile/compile.js';
import { evaluate } from '../../src/eval/evaluate.js';
import { explain } from '../../src/explain/explain.js';
import type { Policy, PacketTuple } from '../../src/model/policy.js';
import type { Direction } from '../../src/model/reason.js';
import { allowIn, allowOut, icmp, ingress, policy, tcp } from '../helpers/policy-builder.js';
import { arbPolicy, randomProbes } from '../helpers/random-policy.js';

const ex = (p: Policy, id: string, dir: Direction, t: PacketTuple) => explain(p, compile(p), id, dir, t);
const ME = '10.0.1.10';

describe('explain: order and tie-breaks (Alibaba)', () => {
  const p = policy('alibaba')
    .group('sg-a', [
      ingress('accept', 'tcp', '0.0.0.0/0', { ports: 22, priority: 1, id: 'p1' }),
      ingress('drop', 'tcp', '192.0.2.0/24', { ports: 22, priority: 2, id: 'p2-drop' }),
      ingress('accept', 'tcp', '0.0.0.0/0', { ports: 80, priority: 5, id: 'web-acc' }),
      ingress('drop', 'tcp', '192.0.2.0/24', { ports: 80, priority: 5, id: 'web-drop' }),
      ingress('accept', 'tcp', '0.0.0.0/0', { ports: 443, priority: 5, id: 'https-a' }),
      ingress('accept', 'tcp', '0.0.0.0/0', { ports: 443, priority: 5, id: 'https-b' }),
      ingress('accept', 'udp', '0.0.0.0/0', { ports: 53, priority: 5, id: 'dns' }),
    ])
    .group('sg-b', [ingress('accept', 'udp', '0.0.0.0/0', { ports: 53, priority: 5, id: 'dns-b' })])
    .iface('eni-1', [ME], ['sg-b', 'sg-a'])
    .build();

  it('priority', () => {
    const e = ex(p, 'eni-1', 'ingress', tcp('192.0.2.1', ME, 22));
    expect(e).toMatchObject({ verdict: 'accept', reason: 'rule', rule: 'p1', tracked: true, order: { tieBreak: 'priority', over: 'p2-drop', priority: 1 } });
  });
  it('drop-first', () => {
    expect(ex(p, 'eni-1', 'ingress', tcp('192.0.2.1', ME, 80)).order).toMatchObject({ tieBreak: 'drop-first', over: 'web-acc' });
  });
  it('rule-index and group-order', () => {
    expect(ex(p, 'eni-1', 'ingress', tcp('192.0.2.1', ME, 443)).order).toMatchObject({ tieBreak: 'rule-index', over: 'https-b' });
    expect(ex(p, 'eni-1', 'ingress', tuple53())).toMatchObject({ rule: 'dns-b', order: { tieBreak: 'group-order', over: 'dns' } });
  });
  it('only-match, platform and default', () => {
    expect(ex(p, 'eni-1', 'ingress', tcp('198.51.100.1', ME, 80)).order.tieBreak).toBe('only-match');
    expect(ex(p, 'eni-1', 'ingress', icmp('198.51.100.1', ME, 3, 4))).toMatchObject({ reason: 'platform', order: { tieBreak: 'platform' } });
    expect(ex(p, 'eni-1', 'egress', tcp(ME, '198.51.100.1', 80))).toMatchObject({ reason: 'default', tracked: true, order: { tieBreak: 'default' } });
  });
  function tuple53() {
    return { ...tcp('192.0.2.1', ME, 53), protocol: 17 };
  }
});

describe('explain: AWS', () => {
  it('union and untracked-first', () => {
    const p = policy('aws')
      .group('sg-a', [allowIn('tcp', '192.0.2.0/24', { ports: 22 })])
      .group('sg-b', [allowIn('tcp', '0.0.0.0/0', { ports: 22 }), allowOut('any', '0.0.0.0/0'), allowIn('tcp', '198.51.100.0/24', { ports: '0-65535' })])
      .iface('eni-1', [ME], ['sg-a', 'sg-b'])
      .build();
    expect(ex(p, 'eni-1', 'ingress', tcp('192.0.2.1', ME, 22))).toMatchObject({ rule: 'sg-b:ingress:0', tracked: false, order: { tieBreak: 'untracked-first', over: 'sg-a:ingress:0' } });
    expect(ex(p, 'eni-1', 'ingress', tcp('198.51.100.1', ME, 22))).toMatchObject({ rule: 'sg-b:ingress:0', tracked: false });
    expect(ex(p, 'eni-1', 'egress', tcp(ME, '198.51.100.1', 5))).toMatchObject({ rule: 'sg-b:egress:1', tracked: true, order: { tieBreak: 'only-match' } });
  });
});

describe('explain: near misses for a default deny', () => {
  const p = policy('aws')
    .group('sg-a', [
      allowIn('tcp', '10.0.0.0/8', { ports: 443 }),
      allowIn('tcp', '192.0.2.0/24', { ports: [80, 8080] }),
      allowIn('udp', '192.0.2.0/24', { ports: 8443 }),
      allowIn('icmp', '192.0.2.0/24', { icmp: [8, 0] }),
      allowIn('tcp', { group: 'sg-nobody' }, { ports: 8443 }),
    ])
    .iface('eni-1', [ME], ['sg-a'])
    .build();

  it('ranks the closest rules first and names the first field that failed', () => {
    const e = ex(p, 'eni-1', 'ingress', tcp('192.0.2.7', ME, 8443));
    expect(e).toMatchObject({ verdict: 'drop', reason: 'default', rule: 'default:ingress:drop', tracked: false });
    // Most matched fields first; among equals, the one that failed later in FIELDS order.
    expect(e.nearMisses).toEqual([
      { rule: 'sg-a:ingress:1', path: 'securityGroups[0].rules[1]', failed: 'port', detail: 'destination port 8443 not in 80, 8080', matched: 2 },
      { rule: 'sg-a:ingress:4', path: 'securityGroups[0].rules[4]', failed: 'peer', detail: 'group sg-nobody has no members', matched: 2 },
      { rule: 'sg-a:ingress:2', path: 'securityGroups[0].rules[2]', failed: 'protocol', detail: 'rule is udp, packet is IPv4 tcp', matched: 2 },
    ]);
    // The rule that only matched the protocol ranks below all three.
    expect(e.nearMisses.map((m) => m.rule)).not.toContain('sg-a:ingress:0');
  });

  it('ICMP type and code', () => {
    const e = ex(p, 'eni-1', 'ingress', icmp('192.0.2.7', ME, 8, 3));
    expect(e.nearMisses[0]).toMatchObject({ rule: 'sg-a:ingress:3', failed: 'icmp code', detail: 'ICMP code 3 is not 0' });
  });

  it('no near misses unless the verdict is a default drop', () => {
    expect(ex(p, 'eni-1', 'ingress', tcp('192.0.2.7', ME, 80)).nearMisses).toEqual([]);
  });
});

describe('explain agrees with the reference evaluator (random policies)', () => {
  it('verdict, reason, rule and tracking', () => {
    fc.assert(
      fc.property(arbPolicy(), fc.integer(), (p, seed) => {
        const table = compile(p);
        for (const pr of randomProbes(p, seed, 20)) {
          const e = explain(p, table, pr.ifaceId, pr.dir, pr.tuple);
          const d = evaluate(p, pr.ifaceId, pr.dir, pr.tuple);
          expect([e.verdict, e.reason, e.rule, e.tracked]).toEqual([d.verdict, d.reason, d.rule, d.verdict === 'accept' && d.tracked !== false]);
          if (e.reason === 'rule') expect(e.order.rule).toBeGreaterThanOrEqual(0);
          for (const m of e.nearMisses) expect(m.rule).not.toBe(e.rule);
        }
      }),
      { numRuns: 100 },
    );
  });
});
