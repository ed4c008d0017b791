// Spec section 2 (AWS, aws-classic), one stateless point per test, checked on both the
// reference evaluator and the compiled table (helpers/decide.ts).
import { describe, expect, it } from 'vitest';
import { allowIn, allowOut, icmp, policy, tcp, tuple, udp } from '../helpers/policy-builder.js';
import { decide } from '../helpers/decide.js';

const ENI = 'eni-1';
const ME = '10.0.1.10';
const ME6 = '2001:db8:1::10';

describe('AWS allow-union', () => {
  it('all groups of the interface are one set; the first group in attach order is reported', () => {
    const p = policy('aws')
      .group('sg-a', [allowIn('tcp', '10.0.0.0/8', { ports: '0-65535' })])
      .group('sg-b', [allowIn('tcp', '10.1.0.0/16', { ports: 22 }), allowIn('udp', '10.0.0.0/8', { ports: 53 })])
      .iface(ENI, [ME], ['sg-b', 'sg-a'])
      .build();
    expect(decide(p, ENI, 'ingress', tcp('10.1.2.3', ME, 22))).toEqual({ verdict: 'accept', reason: 'rule', rule: 'sg-b:ingress:0', tracked: true });
    expect(decide(p, ENI, 'ingress', tcp('10.2.2.3', ME, 22)).rule).toBe('sg-a:ingress:0');
    expect(decide(p, ENI, 'ingress', udp('10.2.2.3', ME, 53)).rule).toBe('sg-b:ingress:1');
    expect(decide(p, ENI, 'ingress', udp('10.2.2.3', ME, 54)).rule).toBe('default:ingress:drop');
  });

  it('no match: dropped by default in both directions (no implicit egress in the model)', () => {
    const p = policy('aws').group('sg-a', []).iface(ENI, [ME], ['sg-a']).build();
    expect(decide(p, ENI, 'ingress', tcp('10.1.2.3', ME, 22))).toEqual({ verdict: 'drop', reason: 'default', rule: 'default:ingress:drop' });
    expect(decide(p, ENI, 'egress', tcp(ME, '10.1.2.3', 22))).toEqual({ verdict: 'drop', reason: 'default', rule: 'default:egress:drop' });
  });

  it('group references and IPv6 ranges', () => {
    const p = policy('aws')
      .group('sg-web', [allowIn('tcp', { group: 'sg-lb' }, { ports: 8080 }), allowIn('tcp', '2001:db8:9::/48', { ports: 443 })])
      .group('sg-lb', [])
      .iface(ENI, [ME, ME6], ['sg-web'])
      .iface('eni-lb', ['10.0.0.5', '2001:db8:1::5'], ['sg-lb'])
      .build();
    expect(decide(p, ENI, 'ingress', tcp('10.0.0.5', ME, 8080)).rule).toBe('sg-web:ingress:0');
    expect(decide(p, ENI, 'ingress', tcp('2001:db8:1::5', ME6, 8080)).rule).toBe('sg-web:ingress:0');
    expect(decide(p, ENI, 'ingress', tcp('10.0.0.6', ME, 8080)).rule).toBe('default:ingress:drop');
    expect(decide(p, ENI, 'ingress', tcp('2001:db8:9:ffff::1', ME6, 443)).rule).toBe('sg-web:ingress:1');
    expect(decide(p, ENI, 'ingress', tcp('2001:db8:a::1', ME6, 443)).rule).toBe('default:ingress:drop');
  });

  it('ICMP type/code in From/ToPort; icmpv6 without ports allows every type', () => {
    const p = policy('aws')
      .group('sg-a', [allowIn('icmp', '0.0.0.0/0', { icmp: [3, 4] }), allowIn('icmpv6', '::/0')])
      .iface(ENI, [ME, ME6], ['sg-a'])
      .build();
    expect(decide(p, ENI, 'ingress', icmp('192.0.2.1', ME, 3, 4)).rule).toBe('sg-a:ingress:0');
    expect(decide(p, ENI, 'ingress', icmp('192.0.2.1', ME, 3, 1)).rule).toBe('default:ingress:drop');
    expect(decide(p, ENI, 'ingress', icmp('2001:db8::1', ME6, 135, 0)).rule).toBe('sg-a:ingress:1');
  });

  it('restrictTcp25 (off by default on AWS) drops outbound TCP 25 first', () => {
    const mk = (restrict: boolean) => policy('aws').group('sg-a', [allowOut('any', '0.0.0.0/0')]).iface(ENI, [ME], ['sg-a']).platform({ restrictTcp25: restrict }).build();
    expect(decide(mk(false), ENI, 'egress', tcp(ME, '192.0.2.1', 25)).rule).toBe('sg-a:egress:0');
    expect(decide(mk(true), ENI, 'egress', tcp(ME, '192.0.2.1', 25))).toEqual({ verdict: 'drop', reason: 'platform', rule: 'platform:egress:tcp25-drop' });
    expect(decide(mk(true), ENI, 'egress', tcp(ME, '192.0.2.1', 26)).rule).toBe('sg-a:egress:0');
  });
});

describe('AWS tracked and untracked flows', () => {
  it('TCP from 0.0.0.0/0 with egress allowing all TCP to 0.0.0.0/0 is untracked', () => {
    const p = policy('aws')
      .group('sg-a', [allowIn('tcp', '0.0.0.0/0', { ports: 22 }), allowOut('any', '0.0.0.0/0')])
      .iface(ENI, [ME], ['sg-a'])
      .build();
    expect(decide(p, ENI, 'ingress', tcp('192.0.2.1', ME, 22))).toEqual({ verdict: 'accept', reason: 'rule', rule: 'sg-a:ingress:0', tracked: false });
    // The egress side: to 0.0.0.0/0 but ingress does not allow all TCP back: tracked.
    expect(decide(p, ENI, 'egress', tcp(ME, '192.0.2.1', 443)).tracked).toBe(true);
  });

  it('a narrower peer, partial response ports, or another family keep the flow tracked', () => {
    const narrow = policy('aws').group('sg-a', [allowIn('tcp', '192.0.2.0/24', { ports: 22 }), allowOut('any', '0.0.0.0/0')]).iface(ENI, [ME], ['sg-a']).build();
    expect(decide(narrow, ENI, 'ingress', tcp('192.0.2.1', ME, 22)).tracked).toBe(true);
    const partial = policy('aws').group('sg-a', [allowIn('tcp', '0.0.0.0/0', { ports: 22 }), allowOut('tcp', '0.0.0.0/0', { ports: '1024-65535' })]).iface(ENI, [ME], ['sg-a']).build();
    expect(decide(partial, ENI, 'ingress', tcp('192.0.2.1', ME, 22)).tracked).toBe(true);
    const v6 = policy('aws').group('sg-a', [allowIn('tcp', '::/0', { ports: 22 }), allowOut('any', '0.0.0.0/0')]).iface(ENI, [ME6], ['sg-a']).build();
    expect(decide(v6, ENI, 'ingress', tcp('2001:db8::1', ME6, 22)).tracked).toBe(true);
    const allTcp = policy('aws').group('sg-a', [allowIn('tcp', '::/0', { ports: 22 }), allowOut('tcp', '::/0', { ports: '0-65535' })]).iface(ENI, [ME6], ['sg-a']).build();
    expect(decide(allTcp, ENI, 'ingress', tcp('2001:db8::1', ME6, 22)).tracked).toBe(false);
  });

  it('the response rule may sit in another group; UDP needs UDP (or all) responses; ICMP is always tracked', () => {
    const p = policy('aws')
      .group('sg-in', [allowIn('any', '0.0.0.0/0')])
      .group('sg-out', [allowOut('udp', '0.0.0.0/0', { ports: '0-65535' })])
      .iface(ENI, [ME], ['sg-in', 'sg-out'])
      .build();
    expect(decide(p, ENI, 'ingress', udp('192.0.2.1', ME, 53)).tracked).toBe(false);
    expect(decide(p, ENI, 'ingress', tcp('192.0.2.1', ME, 22)).tracked).toBe(true);
    expect(decide(p, ENI, 'ingress', icmp('192.0.2.1', ME, 8)).tracked).toBe(true);
  });

  it('the untracked rule is reported even when a tracked rule comes first in attach order', () => {
    const p = policy('aws')
      .group('sg-a', [allowIn('tcp', '192.0.2.0/24', { ports: 22 })])
      .group('sg-b', [allowIn('tcp', '0.0.0.0/0', { ports: 22 }), allowOut('any', '0.0.0.0/0')])
      .iface(ENI, [ME], ['sg-a', 'sg-b'])
      .build();
    expect(decide(p, ENI, 'ingress', tcp('192.0.2.1', ME, 22))).toMatchObject({ rule: 'sg-b:ingress:0', tracked: false });
  });

  it('an allow-all ingress rule reports the tracked-first rule for protocols that stay tracked', () => {
    const p = policy('aws')
      .group('sg-a', [allowIn('udp', '10.0.0.0/8', { ports: 53 }), allowIn('any', '0.0.0.0/0'), allowOut('tcp', '0.0.0.0/0', { ports: '0-65535' })])
      .iface(ENI, [ME], ['sg-a'])
      .build();
    expect(decide(p, ENI, 'ingress', udp('10.0.0.1', ME, 53))).toMatchObject({ rule: 'sg-a:ingress:0', tracked: true });
    expect(decide(p, ENI, 'ingress', tcp('10.0.0.1', ME, 53))).toMatchObject({ rule: 'sg-a:ingress:1', tracked: false });
  });
});

describe('aws-classic', () => {
  it('egress is always allowed (no egress rules); it counts as allow-all for untracked flows', () => {
    const p = policy('aws-classic').group('sg-a', [allowIn('tcp', '0.0.0.0/0', { ports: 80 }), allowIn('tcp', '10.0.0.0/8', { ports: 22 })]).iface(ENI, [ME, ME6], ['sg-a']).build();
    expect(decide(p, ENI, 'egress', tcp(ME, '192.0.2.1', 443))).toEqual({ verdict: 'accept', reason: 'default', rule: 'default:egress:accept', tracked: true });
    expect(decide(p, ENI, 'egress', tuple({ proto: 50, src: ME6, dst: '2001:db8::1' })).verdict).toBe('accept');
    expect(decide(p, ENI, 'ingress', tcp('192.0.2.1', ME, 80)).tracked).toBe(false);
    expect(decide(p, ENI, 'ingress', tcp('10.0.0.1', ME, 22)).tracked).toBe(true);
    expect(decide(p, ENI, 'ingress', tcp('10.0.0.1', ME, 23)).rule).toBe('default:ingress:drop');
  });

  it('egress flows are untracked when ingress allows all of their responses, per family', () => {
    const p = policy('aws-classic').group('sg-a', [allowIn('tcp', '0.0.0.0/0', { ports: '0-65535' })]).iface(ENI, [ME, ME6], ['sg-a']).build();
    expect(decide(p, ENI, 'egress', tcp(ME, '192.0.2.1', 443)).tracked).toBe(false);
    expect(decide(p, ENI, 'egress', udp(ME, '192.0.2.1', 53)).tracked).toBe(true);
    expect(decide(p, ENI, 'egress', tcp(ME6, '2001:db8::1', 443)).tracked).toBe(true);
  });
});
