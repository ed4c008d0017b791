// The compiled table's shape: expansion, named platform/default entries, the rules table,
// AWS untracked flags and the untracked-first order.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/compile/compile.js';
import type { CompiledEntry, CompiledTable } from '../../src/compile/table.js';
import { allowIn, allowOut, egress, ingress, policy } from '../helpers/policy-builder.js';
import { arbPolicy } from '../helpers/random-policy.js';

const ids = (t: CompiledTable, run: CompiledEntry[]) => run.map((e) => t.rules[e.rule]!.id);

describe('expansion', () => {
  it('one entry per peer x local x destination port range, same family only', () => {
    const p = policy('alibaba')
      .group('sg-a', [ingress('accept', 'tcp', ['192.0.2.0/24', '2001:db8::/32', '198.51.100.0/24'], { ports: [80, 443], locals: '10.0.1.10/32', srcPorts: '1024-2048', priority: 7, id: 'r' })])
      .iface('eni-1', ['10.0.1.10', '2001:db8:1::10'], ['sg-a'])
      .build();
    const t = compile(p);
    const mine = t.interfaces[0]!.ingress.filter((e) => t.rules[e.rule]!.id === 'r');
    expect(mine).toHaveLength(4);
    expect(mine.map((e) => [e.src!.text, e.dst!.text, e.dstPorts.from])).toEqual([
      ['192.0.2.0/24', '10.0.1.10/32', 80],
      ['192.0.2.0/24', '10.0.1.10/32', 443],
      ['198.51.100.0/24', '10.0.1.10/32', 80],
      ['198.51.100.0/24', '10.0.1.10/32', 443],
    ]);
    for (const e of mine) {
      expect(e).toMatchObject({ family: 4, protocol: 6, srcPorts: { from: 1024, to: 2048 }, priority: 7, reason: 'rule', action: 'accept' });
    }
  });

  it('egress puts the peer in dst and the local address in src', () => {
    const p = policy('alibaba').group('sg-a', [egress('drop', 'udp', '192.0.2.0/24', { ports: 53, locals: '10.0.1.10/32', id: 'r' })]).iface('eni-1', ['10.0.1.10'], ['sg-a']).build();
    const t = compile(p);
    const e = t.interfaces[0]!.egress.find((x) => t.rules[x.rule]!.id === 'r')!;
    expect([e.src!.text, e.dst!.text]).toEqual(['10.0.1.10/32', '192.0.2.0/24']);
  });

  it('ICMP rules expand only in their family; a member-less group reference expands to nothing', () => {
    const p = policy('aws')
      .group('sg-a', [allowIn('icmp', ['0.0.0.0/0', '::/0'], { icmp: [8, 'any'] }), allowIn('icmpv6', ['0.0.0.0/0', '::/0']), allowIn('tcp', { group: 'sg-ghost' }, { ports: 22 })])
      .iface('eni-1', ['10.0.1.10'], ['sg-a'])
      .build();
    const t = compile(p);
    const run = t.interfaces[0]!.ingress;
    expect(run.map((e) => [t.rules[e.rule]!.id, e.family, e.protocol])).toEqual([
      ['sg-a:ingress:0', 4, 1],
      ['sg-a:ingress:1', 6, 58],
      ['default:ingress:drop', 0, 'any'],
    ]);
    expect(run[0]!.icmp).toEqual({ type: 8, code: 'any' });
    expect(t.rules.map((r) => r.id)).not.toContain('sg-a:ingress:2');
  });
});

describe('named entries and the rules table', () => {
  it('Alibaba runs: platform entries first, custom rules by priority, hidden defaults last', () => {
    const p = policy('alibaba')
      .group('sg-a', [ingress('accept', 'tcp', '0.0.0.0/0', { ports: 22, priority: 3, id: 'late' }), ingress('accept', 'tcp', '0.0.0.0/0', { ports: 80, priority: 1, id: 'early' })])
      .iface('eni-1', ['10.0.1.10'], ['sg-a'])
      .iface('eni-2', ['10.0.1.11'], ['sg-a'])
      .platform({ probeSources: ['198.51.100.0/24'] })
      .build();
    const t = compile(p);
    const i = t.interfaces[0]!;
    expect(ids(t, i.ingress)).toEqual([
      'platform:icmp-frag-needed', 'platform:icmpv6-packet-too-big', 'platform:ingress:load-balancer',
      'platform:ingress:probe', 'early', 'late', 'sg-a:inner-accept', 'sg-a:inner-accept', 'default:ingress:drop',
    ]);
    expect(ids(t, i.egress)).toEqual([
      'platform:egress:tcp25-drop', 'platform:icmp-frag-needed', 'platform:icmpv6-packet-too-big',
      'platform:egress:metadata', 'default:egress:accept',
    ]);
    // One CompiledRule per id, shared by every interface and entry.
    expect(new Set(t.rules.map((r) => r.id)).size).toBe(t.rules.length);
    expect(t.interfaces[1]!.ingress[4]!.rule).toBe(i.ingress[4]!.rule);
    expect(t.rules[i.ingress[4]!.rule]).toEqual({ id: 'early', reason: 'rule', action: 'accept' });
    expect(t.rules[i.egress[0]!.rule]).toEqual({ id: 'platform:egress:tcp25-drop', reason: 'platform', action: 'drop' });
  });

  it('every run of every random policy ends with a catch-all', () => {
    fc.assert(
      fc.property(arbPolicy(), (p) => {
        for (const i of compile(p).interfaces) {
          for (const run of [i.ingress, i.egress]) {
            const last = run[run.length - 1]!;
            expect(last).toMatchObject({ protocol: 'any', src: null, dst: null, reason: 'default' });
            if (last.family !== 0) {
              // aws-classic egress split by family: the IPv4 half sits just before.
              expect([p.cloud, last.family]).toEqual(['aws-classic', 6]);
              expect(run[run.length - 2]).toMatchObject({ family: 4, protocol: 'any', src: null, dst: null, reason: 'default' });
            }
          }
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe('AWS untracked flags and order', () => {
  it('untracked entries go first; a protocol-any entry gets per-protocol copies and keeps its place', () => {
    const p = policy('aws')
      .group('sg-a', [allowIn('udp', '10.0.0.0/8', { ports: 53 }), allowIn('any', ['0.0.0.0/0', '10.0.0.0/8']), allowOut('tcp', '0.0.0.0/0', { ports: '0-65535' })])
      .iface('eni-1', ['10.0.1.10'], ['sg-a'])
      .build();
    const t = compile(p);
    const run = t.interfaces[0]!.ingress;
    expect(run.map((e) => [t.rules[e.rule]!.id, e.protocol, e.src?.text ?? null, e.untrackedTcp, e.untrackedUdp])).toEqual([
      ['sg-a:ingress:1', 6, '0.0.0.0/0', true, false],
      ['sg-a:ingress:0', 17, '10.0.0.0/8', false, false],
      ['sg-a:ingress:1', 'any', '0.0.0.0/0', true, false],
      ['sg-a:ingress:1', 'any', '10.0.0.0/8', false, false],
      ['default:ingress:drop', 'any', null, false, false],
    ]);
  });

  it('aws-classic egress is one catch-all, split by family only when the flags differ', () => {
    const same = compile(policy('aws-classic').group('sg-a', [allowIn('tcp', '10.0.0.0/8', { ports: 22 })]).iface('eni-1', ['10.0.1.10'], ['sg-a']).build());
    expect(same.interfaces[0]!.egress).toHaveLength(1);
    expect(same.interfaces[0]!.egress[0]).toMatchObject({ family: 0, action: 'accept', reason: 'default', untrackedTcp: false });
    const split = compile(policy('aws-classic').group('sg-a', [allowIn('tcp', '0.0.0.0/0', { ports: '0-65535' })]).iface('eni-1', ['10.0.1.10'], ['sg-a']).build());
    expect(split.interfaces[0]!.egress.map((e) => [e.family, e.untrackedTcp, e.untrackedUdp])).toEqual([
      [4, true, false],
      [6, false, false],
    ]);
  });
});
