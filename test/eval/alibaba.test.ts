// Spec section 3 (Alibaba), one stateless point per test. Every decision is checked on both
// the reference evaluator and the compiled table (helpers/decide.ts).
import { describe, expect, it } from 'vitest';
import { egress, icmp, ingress, policy, tcp, tuple, udp } from '../helpers/policy-builder.js';
import { decide } from '../helpers/decide.js';

const ENI = 'eni-1';
const ME = '10.0.1.10';
const ME6 = '2001:db8:1::10';

function one(rules: Parameters<ReturnType<typeof policy>['group']>[1], opts = {}) {
  return policy('alibaba').group('sg-a', rules, opts).iface(ENI, [ME, ME6], ['sg-a']).build();
}

describe('Alibaba order: priority, Drop first, stable tie-breaks', () => {
  it('a lower priority number wins whatever the action', () => {
    const p = one([
      ingress('accept', 'tcp', '0.0.0.0/0', { ports: 22, priority: 2, id: 'acc2' }),
      ingress('drop', 'tcp', '0.0.0.0/0', { ports: 22, priority: 1, id: 'drop1' }),
    ]);
    expect(decide(p, ENI, 'ingress', tcp('192.0.2.1', ME, 22))).toMatchObject({ verdict: 'drop', reason: 'rule', rule: 'drop1' });
    const q = one([
      ingress('accept', 'tcp', '0.0.0.0/0', { ports: 22, priority: 1, id: 'acc1' }),
      ingress('drop', 'tcp', '0.0.0.0/0', { ports: 22, priority: 2, id: 'drop2' }),
    ]);
    expect(decide(q, ENI, 'ingress', tcp('192.0.2.1', ME, 22))).toMatchObject({ verdict: 'accept', rule: 'acc1' });
  });

  it('Drop before Accept at equal priority, even when written after it', () => {
    const p = one([
      ingress('accept', 'tcp', '0.0.0.0/0', { ports: 22, priority: 5, id: 'acc' }),
      ingress('drop', 'tcp', '192.0.2.0/24', { ports: '1-65535', priority: 5, id: 'drop' }),
    ]);
    expect(decide(p, ENI, 'ingress', tcp('192.0.2.1', ME, 22))).toMatchObject({ verdict: 'drop', rule: 'drop' });
    expect(decide(p, ENI, 'ingress', tcp('198.51.100.1', ME, 22))).toMatchObject({ verdict: 'accept', rule: 'acc' });
  });

  it('same priority and action: group attach order, then rule index', () => {
    const p = policy('alibaba')
      .group('sg-a', [ingress('accept', 'tcp', '0.0.0.0/0', { ports: 80, id: 'a0' })])
      .group('sg-b', [
        ingress('accept', 'tcp', '0.0.0.0/0', { ports: 80, id: 'b0' }),
        ingress('accept', 'tcp', '0.0.0.0/0', { ports: 80, id: 'b1' }),
      ])
      .iface('eni-ba', [ME], ['sg-b', 'sg-a'])
      .iface('eni-ab', ['10.0.1.11'], ['sg-a', 'sg-b'])
      .build();
    expect(decide(p, 'eni-ba', 'ingress', tcp('192.0.2.1', ME, 80)).rule).toBe('b0');
    expect(decide(p, 'eni-ab', 'ingress', tcp('192.0.2.1', '10.0.1.11', 80)).rule).toBe('a0');
  });
});

describe('Alibaba hidden defaults', () => {
  it('basic: inbound dropped, outbound accepted', () => {
    const p = one([]);
    expect(decide(p, ENI, 'ingress', tcp('192.0.2.1', ME, 22))).toEqual({ verdict: 'drop', reason: 'default', rule: 'default:ingress:drop' });
    expect(decide(p, ENI, 'egress', tcp(ME, '192.0.2.1', 443))).toEqual({ verdict: 'accept', reason: 'default', rule: 'default:egress:accept', tracked: true });
  });

  it('enterprise: inbound and outbound dropped, no member-to-member default', () => {
    const p = policy('alibaba')
      .group('sg-e', [], { type: 'enterprise' })
      .iface('eni-1', [ME], ['sg-e'])
      .iface('eni-2', ['10.0.1.11'], ['sg-e'])
      .build();
    expect(decide(p, 'eni-1', 'egress', tcp(ME, '192.0.2.1', 443))).toEqual({ verdict: 'drop', reason: 'default', rule: 'default:egress:drop' });
    expect(decide(p, 'eni-1', 'ingress', tcp('10.0.1.11', ME, 22))).toMatchObject({ verdict: 'drop', rule: 'default:ingress:drop' });
  });

  it('InnerAccessPolicy Accept admits members (other interfaces and groupMembers); Drop does not', () => {
    const mk = (inner: 'accept' | 'drop') =>
      policy('alibaba')
        .group('sg-a', [], { inner })
        .iface('eni-1', [ME], ['sg-a'])
        .iface('eni-2', ['10.0.1.11'], ['sg-a'])
        .members('sg-a', ['10.9.0.0/16'])
        .build();
    const acc = mk('accept');
    expect(decide(acc, 'eni-1', 'ingress', tcp('10.0.1.11', ME, 5432))).toEqual({ verdict: 'accept', reason: 'default', rule: 'sg-a:inner-accept', tracked: true });
    expect(decide(acc, 'eni-1', 'ingress', udp('10.9.3.4', ME, 53)).rule).toBe('sg-a:inner-accept');
    expect(decide(acc, 'eni-1', 'ingress', tcp('10.8.0.1', ME, 5432)).rule).toBe('default:ingress:drop');
    const drop = mk('drop');
    expect(decide(drop, 'eni-1', 'ingress', tcp('10.0.1.11', ME, 5432))).toMatchObject({ verdict: 'drop', rule: 'default:ingress:drop' });
  });

  it('a custom Drop between members wins over the inner-accept default', () => {
    const p = policy('alibaba')
      .group('sg-a', [ingress('drop', 'tcp', { group: 'sg-a' }, { ports: 22, priority: 100, id: 'no-ssh' })])
      .iface('eni-1', [ME], ['sg-a'])
      .iface('eni-2', ['10.0.1.11'], ['sg-a'])
      .build();
    expect(decide(p, 'eni-1', 'ingress', tcp('10.0.1.11', ME, 22))).toMatchObject({ verdict: 'drop', reason: 'rule', rule: 'no-ssh' });
    expect(decide(p, 'eni-1', 'ingress', tcp('10.0.1.11', ME, 80)).rule).toBe('sg-a:inner-accept');
  });
});

describe('Alibaba platform traffic, decided before custom rules', () => {
  const denyAll = one([
    ingress('drop', 'any', ['0.0.0.0/0', '::/0'], { id: 'deny-in' }),
    egress('drop', 'any', ['0.0.0.0/0', '::/0'], { id: 'deny-out' }),
    egress('accept', 'tcp', '0.0.0.0/0', { ports: 25, id: 'smtp' }),
  ]);

  it('outbound TCP 25 is dropped even when a rule accepts it (restrictTcp25 default)', () => {
    const p = one([egress('accept', 'tcp', '0.0.0.0/0', { ports: 25, id: 'smtp' })]);
    expect(decide(p, ENI, 'egress', tcp(ME, '192.0.2.1', 25))).toEqual({ verdict: 'drop', reason: 'platform', rule: 'platform:egress:tcp25-drop' });
    expect(decide(p, ENI, 'egress', tcp(ME6, '2001:db8::1', 25)).rule).toBe('platform:egress:tcp25-drop');
    const open = policy('alibaba').group('sg-a', [egress('accept', 'tcp', '0.0.0.0/0', { ports: 25, id: 'smtp' })]).iface(ENI, [ME], ['sg-a']).platform({ restrictTcp25: false }).build();
    expect(decide(open, ENI, 'egress', tcp(ME, '192.0.2.1', 25))).toMatchObject({ verdict: 'accept', rule: 'smtp' });
  });

  it('ICMP fragmentation-needed and ICMPv6 packet-too-big pass both ways', () => {
    expect(decide(denyAll, ENI, 'ingress', icmp('192.0.2.1', ME, 3, 4))).toMatchObject({ verdict: 'accept', reason: 'platform', rule: 'platform:icmp-frag-needed' });
    expect(decide(denyAll, ENI, 'egress', icmp(ME, '192.0.2.1', 3, 4)).rule).toBe('platform:icmp-frag-needed');
    expect(decide(denyAll, ENI, 'ingress', icmp('192.0.2.1', ME, 3, 3))).toMatchObject({ verdict: 'drop', rule: 'deny-in' });
    expect(decide(denyAll, ENI, 'ingress', icmp('2001:db8::1', ME6, 2, 0)).rule).toBe('platform:icmpv6-packet-too-big');
    expect(decide(denyAll, ENI, 'egress', icmp(ME6, '2001:db8::1', 2, 0)).rule).toBe('platform:icmpv6-packet-too-big');
  });

  it('inbound from the load-balancer range and outbound to the metadata server pass', () => {
    expect(decide(denyAll, ENI, 'ingress', tcp('100.64.0.1', ME, 80)).rule).toBe('platform:ingress:load-balancer');
    expect(decide(denyAll, ENI, 'ingress', tcp('100.127.255.255', ME, 80)).rule).toBe('platform:ingress:load-balancer');
    expect(decide(denyAll, ENI, 'ingress', tcp('100.128.0.0', ME, 80)).rule).toBe('deny-in');
    expect(decide(denyAll, ENI, 'egress', tcp(ME, '100.100.100.200', 80)).rule).toBe('platform:egress:metadata');
    expect(decide(denyAll, ENI, 'egress', tcp(ME, '100.100.100.201', 80)).rule).toBe('deny-out');
    // Each only in its direction: outbound to the load-balancer range meets the rules.
    expect(decide(denyAll, ENI, 'egress', tcp(ME, '100.64.0.1', 80)).rule).toBe('deny-out');
  });

  it('inbound echo from probeSources passes; other ICMP from them does not', () => {
    const p = policy('alibaba')
      .group('sg-a', [ingress('drop', 'any', ['0.0.0.0/0', '::/0'], { id: 'deny-in' })])
      .iface(ENI, [ME, ME6], ['sg-a'])
      .platform({ probeSources: ['198.51.100.0/24', '2001:db8:ff::/48'] })
      .build();
    expect(decide(p, ENI, 'ingress', icmp('198.51.100.7', ME, 8))).toMatchObject({ verdict: 'accept', rule: 'platform:ingress:probe' });
    expect(decide(p, ENI, 'ingress', icmp('2001:db8:ff::1', ME6, 128)).rule).toBe('platform:ingress:probe');
    expect(decide(p, ENI, 'ingress', icmp('198.51.100.7', ME, 13)).rule).toBe('deny-in');
    expect(decide(p, ENI, 'ingress', icmp('198.51.101.7', ME, 8)).rule).toBe('deny-in');
    expect(decide(denyAll, ENI, 'ingress', icmp('198.51.100.7', ME, 8)).rule).toBe('deny-in');
  });
});

describe('Alibaba 5-tuple rules, lists, references, families, ICMP, NicType', () => {
  it('local address (DestCidrIp on ingress) and source port', () => {
    const p = policy('alibaba')
      .group('sg-a', [
        ingress('accept', 'tcp', '0.0.0.0/0', { ports: 443, locals: '10.0.1.10/32', srcPorts: '1024-65535', id: 'web' }),
        egress('drop', 'udp', '0.0.0.0/0', { ports: 53, locals: '10.0.1.11/32', id: 'no-dns-from-11' }),
      ])
      .iface(ENI, [ME, '10.0.1.11'], ['sg-a'])
      .build();
    expect(decide(p, ENI, 'ingress', tcp('192.0.2.1', ME, 443, 1024)).rule).toBe('web');
    expect(decide(p, ENI, 'ingress', tcp('192.0.2.1', ME, 443, 1023)).rule).toBe('default:ingress:drop');
    expect(decide(p, ENI, 'ingress', tcp('192.0.2.1', '10.0.1.11', 443, 5000)).rule).toBe('default:ingress:drop');
    expect(decide(p, ENI, 'egress', udp('10.0.1.11', '192.0.2.53', 53)).rule).toBe('no-dns-from-11');
    expect(decide(p, ENI, 'egress', udp(ME, '192.0.2.53', 53)).rule).toBe('default:egress:accept');
  });

  it('port lists (several ranges) and prefix lists (several CIDRs)', () => {
    const p = one([
      ingress('accept', 'tcp', { prefixList: 'pl-office', cidrs: ['203.0.113.0/24', '198.51.100.128/25'] }, { ports: [80, 443, '8000-8010'], id: 'web' }),
    ]);
    for (const port of [80, 443, 8000, 8010]) expect(decide(p, ENI, 'ingress', tcp('203.0.113.9', ME, port)).rule).toBe('web');
    for (const port of [79, 81, 444, 7999, 8011]) expect(decide(p, ENI, 'ingress', tcp('203.0.113.9', ME, port)).rule).toBe('default:ingress:drop');
    expect(decide(p, ENI, 'ingress', tcp('198.51.100.128', ME, 80)).rule).toBe('web');
    expect(decide(p, ENI, 'ingress', tcp('198.51.100.127', ME, 80)).rule).toBe('default:ingress:drop');
  });

  it('group references match the members; a group without members matches nothing', () => {
    const p = policy('alibaba')
      .group('sg-a', [
        ingress('accept', 'tcp', { group: 'sg-db' }, { ports: 5432, id: 'from-db' }),
        ingress('accept', 'tcp', { group: 'sg-empty' }, { ports: 22, id: 'from-empty' }),
      ])
      .group('sg-db', [])
      .group('sg-empty', [])
      .iface(ENI, [ME], ['sg-a'])
      .iface('eni-db', ['10.0.2.21'], ['sg-db'])
      .members('sg-db', ['10.0.3.0/28'])
      .build();
    expect(decide(p, ENI, 'ingress', tcp('10.0.2.21', ME, 5432)).rule).toBe('from-db');
    expect(decide(p, ENI, 'ingress', tcp('10.0.3.15', ME, 5432)).rule).toBe('from-db');
    expect(decide(p, ENI, 'ingress', tcp('10.0.3.16', ME, 5432)).rule).toBe('default:ingress:drop');
    expect(decide(p, ENI, 'ingress', tcp('10.0.2.21', ME, 22)).rule).toBe('default:ingress:drop');
  });

  it('IPv6 rules match IPv6 only, and IPv4 rules IPv4 only', () => {
    const p = one([
      ingress('accept', 'tcp', '::/0', { ports: 22, id: 'ssh6' }),
      ingress('accept', 'tcp', '2001:db8:5::/64', { ports: 80, id: 'web6' }),
    ]);
    expect(decide(p, ENI, 'ingress', tcp('2001:db8::1', ME6, 22)).rule).toBe('ssh6');
    expect(decide(p, ENI, 'ingress', tcp('192.0.2.1', ME, 22)).rule).toBe('default:ingress:drop');
    expect(decide(p, ENI, 'ingress', tcp('2001:db8:5::ffff', ME6, 80)).rule).toBe('web6');
    expect(decide(p, ENI, 'ingress', tcp('2001:db8:5:1::', ME6, 80)).rule).toBe('default:ingress:drop');
  });

  it('ICMP type and code; an icmp rule never matches ICMPv6', () => {
    const p = one([
      ingress('accept', 'icmp', ['0.0.0.0/0', '::/0'], { icmp: [8, 'any'], id: 'echo' }),
      ingress('accept', 'icmp', '0.0.0.0/0', { icmp: [11, 0], id: 'ttl' }),
      ingress('accept', 'icmpv6', '::/0', { icmp: [129, 'any'], id: 'echo-reply6' }),
    ]);
    expect(decide(p, ENI, 'ingress', icmp('192.0.2.1', ME, 8, 0)).rule).toBe('echo');
    expect(decide(p, ENI, 'ingress', icmp('192.0.2.1', ME, 8, 7)).rule).toBe('echo');
    expect(decide(p, ENI, 'ingress', icmp('192.0.2.1', ME, 11, 0)).rule).toBe('ttl');
    expect(decide(p, ENI, 'ingress', icmp('192.0.2.1', ME, 11, 1)).rule).toBe('default:ingress:drop');
    expect(decide(p, ENI, 'ingress', icmp('2001:db8::1', ME6, 8, 0)).rule).toBe('default:ingress:drop');
    expect(decide(p, ENI, 'ingress', icmp('2001:db8::1', ME6, 129, 0)).rule).toBe('echo-reply6');
    // An IPv6 packet carrying protocol 1 is no ICMP for an 'icmp' rule either.
    expect(decide(p, ENI, 'ingress', tuple({ proto: 1, src: '2001:db8::1', dst: ME6, type: 8, code: 0 })).rule).toBe('default:ingress:drop');
  });

  it('GRE and numbered protocols; ALL matches every protocol', () => {
    const p = one([ingress('accept', 47, '192.0.2.0/24', { id: 'gre' }), ingress('accept', 'any', '198.51.100.0/24', { id: 'all' })]);
    expect(decide(p, ENI, 'ingress', tuple({ proto: 47, src: '192.0.2.1', dst: ME })).rule).toBe('gre');
    expect(decide(p, ENI, 'ingress', tuple({ proto: 50, src: '192.0.2.1', dst: ME })).rule).toBe('default:ingress:drop');
    expect(decide(p, ENI, 'ingress', tuple({ proto: 132, src: '198.51.100.1', dst: ME })).rule).toBe('all');
  });

  it('classic NicType: a rule applies only to interfaces of its type; VPC interfaces ignore it', () => {
    const p = policy('alibaba')
      .group('sg-a', [
        ingress('drop', 'tcp', '0.0.0.0/0', { ports: 22, nicType: 'internet', id: 'no-ssh-internet' }),
        ingress('accept', 'tcp', '0.0.0.0/0', { ports: 22, priority: 2, id: 'ssh' }),
      ])
      .iface('eni-pub', ['10.0.1.1'], ['sg-a'], 'internet')
      .iface('eni-priv', ['10.0.1.2'], ['sg-a'], 'intranet')
      .iface('eni-vpc', ['10.0.1.3'], ['sg-a'])
      .build();
    expect(decide(p, 'eni-pub', 'ingress', tcp('192.0.2.1', '10.0.1.1', 22)).rule).toBe('no-ssh-internet');
    expect(decide(p, 'eni-priv', 'ingress', tcp('192.0.2.1', '10.0.1.2', 22)).rule).toBe('ssh');
    expect(decide(p, 'eni-vpc', 'ingress', tcp('192.0.2.1', '10.0.1.3', 22)).rule).toBe('no-ssh-internet');
  });

  it('Alibaba flows are always tracked', () => {
    const p = one([ingress('accept', 'any', '0.0.0.0/0', { id: 'all' }), egress('accept', 'any', '0.0.0.0/0', { id: 'out' })]);
    expect(decide(p, ENI, 'ingress', tcp('192.0.2.1', ME, 22)).tracked).toBe(true);
  });
});
