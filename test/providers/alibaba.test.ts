// Alibaba provider: DescribeSecurityGroupAttribute shapes (real-API empty strings) -> neutral rules.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Policy, Rule } from '../../src/model/policy.js';
import { parsePolicy, parsePolicyText } from '../../src/policy/load.js';

const FIX = join(import.meta.dirname, '../fixtures/policies');

function load(name: string): Policy {
  const file = join(FIX, name);
  const r = parsePolicyText(readFileSync(file, 'utf8'), file);
  expect(r.diagnostics).toEqual([]);
  return r.policy!;
}

function perm(fields: Record<string, unknown>): Record<string, unknown> {
  // Every key the real API prints, unused ones as "".
  return {
    SecurityGroupRuleId: '', Direction: 'ingress', Policy: 'Accept', Priority: '1', IpProtocol: 'TCP',
    PortRange: '22/22', PortRangeListId: '', SourcePortRange: '', SourceCidrIp: '10.0.0.0/8',
    Ipv6SourceCidrIp: '', SourceGroupId: '', SourcePrefixListId: '', DestCidrIp: '', Ipv6DestCidrIp: '',
    DestGroupId: '', DestPrefixListId: '', NicType: 'intranet', Description: '', ...fields,
  };
}

function policy(perms: Record<string, unknown>[], extra: Record<string, unknown> = {}, group: Record<string, unknown> = {}) {
  return {
    cloud: 'alibaba',
    interfaces: [{ id: 'eni-1', addresses: ['10.0.0.10', '2001:db8::10'], securityGroups: ['sg-a'] }],
    securityGroups: [{ SecurityGroupId: 'sg-a', Permissions: { Permission: perms }, ...group }],
    ...extra,
  };
}

function rule(fields: Record<string, unknown>, extra: Record<string, unknown> = {}): Rule {
  const r = parsePolicy(policy([perm(fields)], extra));
  expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return r.policy!.groups.get('sg-a')!.rules[0]!;
}

function errors(json: unknown): string[] {
  return parsePolicy(json).diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.path}: ${d.message}`);
}

const P = 'securityGroups[0].Permissions.Permission[0]';

describe('alibaba-web.json (real API output, empty strings)', () => {
  const p = load('alibaba-web.json');

  it('reads every rule with its id, priority, action, peers and ports', () => {
    const rules = p.groups.get('sg-web')!.rules;
    expect(rules.map((r) => [r.id, r.direction, r.action, r.priority, r.protocol, r.peerKind, r.peerRef ?? null, r.peers.map((c) => c.text), r.dstPorts, r.quotaWeight])).toEqual([
      ['sgr-web-http', 'ingress', 'accept', 1, 6, 'cidr', null, ['0.0.0.0/0'], [{ from: 80, to: 80 }], 1],
      ['sgr-web-https6', 'ingress', 'accept', 1, 6, 'cidr', null, ['::/0'], [{ from: 443, to: 443 }], 1],
      ['sgr-web-ssh-office', 'ingress', 'accept', 1, 6, 'prefix-list', 'pl-office', ['203.0.113.0/24'], [{ from: 22, to: 22 }], 20],
      ['sgr-web-ssh-drop', 'ingress', 'drop', 100, 6, 'cidr', null, ['0.0.0.0/0'], [{ from: 22, to: 22 }], 1],
      ['sgr-web-icmp', 'ingress', 'accept', 10, 1, 'cidr', null, ['0.0.0.0/0'], 'any', 1],
      ['sg-web:ingress:5', 'ingress', 'accept', 5, 6, 'group', 'sg-db', ['10.0.2.20/32', '10.0.2.21/32'], [{ from: 8080, to: 8080 }, { from: 8443, to: 8443 }], 5],
      ['sgr-web-5tuple', 'ingress', 'accept', 2, 17, 'cidr', null, ['192.168.0.0/16'], [{ from: 53, to: 53 }], 1],
      ['sgr-web-out', 'egress', 'accept', 1, 'any', 'cidr', null, ['0.0.0.0/0'], 'any', 1],
    ]);
    expect(rules.map((r) => r.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('5-tuple rule: SourcePortRange and DestCidrIp as the local address', () => {
    const r = p.groups.get('sg-web')!.rules.find((x) => x.id === 'sgr-web-5tuple')!;
    expect(r.srcPorts).toEqual({ from: 1024, to: 65535 });
    expect(r.locals).toEqual([{ family: 4, addr: 0x0a00010an, prefix: 32, text: '10.0.1.10/32' }]);
  });

  it('group types, inner access policy and defaults', () => {
    expect(p.groups.get('sg-web')!.type).toBe('normal');
    expect(p.groups.get('sg-web')!.innerAccessPolicy).toBe('accept');
    expect(p.groups.get('sg-db')!.innerAccessPolicy).toBe('drop');
    expect(p.conntrack.timeouts.tcpEstablished).toBe(910);
    expect(p.conntrack.timeouts.udp).toBe(910);
    expect(p.conntrack.timeouts.tcpTimeWait).toBe(120);
    expect(Object.values(p.conntrack.timeouts).every((t) => t <= 910)).toBe(true);
    expect(p.platform).toEqual({ restrictTcp25: true, probeSources: [] });
    expect(p.quotas).toEqual({ groupsPerInterface: 10, rulesPerGroup: 1000, rulesPerInterface: 1000 });
  });
});

describe('alibaba-classic.json', () => {
  it('keeps NicType on rules and nicType on interfaces', () => {
    const p = load('alibaba-classic.json');
    expect(p.interfaces.map((i) => i.nicType)).toEqual(['intranet', 'internet']);
    expect(p.groups.get('sg-classic')!.rules.map((r) => [r.id, r.nicType])).toEqual([
      ['sgr-c-web', 'internet'], ['sgr-c-ssh', 'intranet'], ['sgr-c-out', 'internet'],
    ]);
  });
});

describe('alibaba field rules', () => {
  it('Policy, Direction and IpProtocol are case-insensitive; Priority "" defaults to 1', () => {
    const r = rule({ Policy: 'DROP', Direction: 'INGRESS', IpProtocol: 'udp', Priority: '' });
    expect([r.action, r.direction, r.protocol, r.priority]).toEqual(['drop', 'ingress', 17, 1]);
    expect(rule({ Policy: '' }).action).toBe('accept');
    expect(rule({ Priority: 100 }).priority).toBe(100);
  });

  it.each([['ICMPv6', 58, 'Ipv6SourceCidrIp'], ['GRE', 47, 'SourceCidrIp'], ['ALL', 'any', 'SourceCidrIp'], ['132', 132, 'SourceCidrIp']])(
    '%s takes "-1/-1" or no PortRange',
    (proto, num, key) => {
      const peer = key === 'SourceCidrIp' ? {} : { SourceCidrIp: '', [key]: '::/0' };
      expect(rule({ IpProtocol: proto, PortRange: '-1/-1', ...peer }).protocol).toBe(num);
      expect(rule({ IpProtocol: proto, PortRange: '', ...peer }).dstPorts).toBe('any');
    },
  );

  it('a bare address is a host CIDR; IPv6 is canonicalised', () => {
    expect(rule({ SourceCidrIp: '192.0.2.9' }).peers[0]!.text).toBe('192.0.2.9/32');
    expect(rule({ SourceCidrIp: '', Ipv6SourceCidrIp: '2001:DB8:0:0::1/64' }).peers[0]!.text).toBe('2001:db8::/64');
  });

  it('precedence: CIDR over group, group over prefix list (ignored ones warned)', () => {
    const extra = { prefixLists: [{ PrefixListId: 'pl-1', MaxEntries: 7, Entries: [{ Cidr: '198.51.100.0/24' }] }] };
    const r = parsePolicy(policy([perm({ SourceGroupId: 'sg-a', SourcePrefixListId: 'pl-1' })], extra));
    const got = r.policy!.groups.get('sg-a')!.rules[0]!;
    expect([got.peerKind, got.peers.map((c) => c.text), got.quotaWeight]).toEqual(['cidr', ['10.0.0.0/8'], 1]);
    expect(r.diagnostics.map((d) => `${d.code} ${d.path}`)).toEqual([
      `WARN_IGNORED_FIELD ${P}.SourceGroupId`,
      `WARN_IGNORED_FIELD ${P}.SourcePrefixListId`,
    ]);
    const g = rule({ SourceCidrIp: '', SourceGroupId: 'sg-a', SourcePrefixListId: 'pl-1' }, extra);
    expect([g.peerKind, g.peerRef, g.peers.map((c) => c.text)]).toEqual(['group', 'sg-a', ['10.0.0.10/32', '2001:db8::10/128']]);
    const l = rule({ SourceCidrIp: '', SourcePrefixListId: 'pl-1' }, extra);
    expect([l.peerKind, l.peerRef, l.peers.map((c) => c.text), l.quotaWeight]).toEqual(['prefix-list', 'pl-1', ['198.51.100.0/24'], 7]);
  });

  it('PortRangeListId is ignored when PortRange is given, else resolved', () => {
    const extra = { portLists: [{ PortRangeListId: 'prl-1', MaxEntries: 4, Entries: [{ PortRange: '80/81' }] }] };
    expect(rule({ PortRangeListId: 'prl-1' }, extra).dstPorts).toEqual([{ from: 22, to: 22 }]);
    const r = rule({ PortRange: '', PortRangeListId: 'prl-1' }, extra);
    expect([r.dstPorts, r.quotaWeight]).toEqual([[{ from: 80, to: 81 }], 4]);
  });

  it('a rule with a prefix list and a port list weighs the product', () => {
    const extra = {
      prefixLists: [{ PrefixListId: 'pl-1', MaxEntries: 3, Entries: [] }],
      portLists: [{ PortRangeListId: 'prl-1', MaxEntries: 4, Entries: [] }],
    };
    expect(rule({ SourceCidrIp: '', SourcePrefixListId: 'pl-1', PortRange: '', PortRangeListId: 'prl-1' }, extra).quotaWeight).toBe(12);
  });

  it('egress: DestCidrIp is the peer, SourceCidrIp the local address; SourcePortRange "-1/-1" is any', () => {
    const r = rule({ Direction: 'egress', SourceCidrIp: '10.0.0.10', DestCidrIp: '0.0.0.0/0', SourcePortRange: '-1/-1' });
    expect([r.peers.map((c) => c.text), r.locals === 'any' ? 'any' : r.locals.map((c) => c.text), r.srcPorts]).toEqual([['0.0.0.0/0'], ['10.0.0.10/32'], 'any']);
  });

  it('a local address outside every interface of the group is warned', () => {
    const r = parsePolicy(policy([perm({ DestCidrIp: '10.9.9.9' }), perm({ SourceCidrIp: '', Ipv6SourceCidrIp: '::/0', Ipv6DestCidrIp: '2001:db8::10' })]));
    expect(r.policy).toBeDefined();
    expect(r.diagnostics).toEqual([
      { severity: 'warning', code: 'WARN_UNUSED', path: `${P}.DestCidrIp`, message: '10.9.9.9/32 holds no address of the interfaces that use sg-a: rule sg-a:ingress:0 can never match' },
    ]);
  });

  it('rule id defaults to <SecurityGroupId>:<direction>:<index in Permission>', () => {
    const r = parsePolicy(policy([perm({ SecurityGroupRuleId: 'sgr-x' }), perm({ Direction: 'egress', SourceCidrIp: '', DestCidrIp: '0.0.0.0/0' })]));
    expect(r.policy!.groups.get('sg-a')!.rules.map((x) => x.id)).toEqual(['sgr-x', 'sg-a:egress:1']);
  });

  it('enterprise groups: type kept, no member default (innerAccessPolicy drop)', () => {
    const r = parsePolicy(policy([perm({})], {}, { SecurityGroupType: 'Enterprise', InnerAccessPolicy: '' }));
    const g = r.policy!.groups.get('sg-a')!;
    expect([g.type, g.innerAccessPolicy]).toEqual(['enterprise', 'drop']);
  });
});

describe('alibaba errors', () => {
  it('collects every error of a rule, each with path and value', () => {
    expect(errors(policy([perm({ Priority: '101', IpProtocol: 'TCPX', Direction: 'in', Policy: 'allow', SourceCidrIp: '10.0.0.0/40' })]))).toEqual([
      `${P}.Direction: "in" is not "ingress" or "egress"`,
      `${P}.Policy: "allow" is not "accept" or "drop"`,
      `${P}.Priority: "101" is not in 1..100`,
      `${P}.IpProtocol: "TCPX" is not TCP, UDP, ICMP, ICMPv6, GRE, ALL or a protocol number 0..255`,
    ]);
  });

  it('errors across groups and rules are all reported', () => {
    const json = policy([perm({ Priority: '0' }), perm({ PortRange: '90/80' }), perm({ IpProtocol: 'ICMP', PortRange: '8/0' })]);
    expect(errors(json)).toEqual([
      `${P}.Priority: "0" is not in 1..100`,
      'securityGroups[0].Permissions.Permission[1].PortRange: "90/80" starts after it ends',
      'securityGroups[0].Permissions.Permission[2].PortRange: "8/0": ICMP rules have no ports, write "-1/-1"',
    ]);
  });

  it('TCP without PortRange, port list on ICMP, SourcePortRange on ICMP', () => {
    expect(errors(policy([perm({ PortRange: '' })]))).toEqual([
      `${P}.PortRange: is required (TCP rules need PortRange or PortRangeListId)`,
    ]);
    const extra = { portLists: [{ PortRangeListId: 'prl-1', Entries: [{ PortRange: '80/80' }] }] };
    expect(errors(policy([perm({ IpProtocol: 'ICMP', PortRange: '', PortRangeListId: 'prl-1', SourcePortRange: '1/2' })], extra))).toEqual([
      `${P}.PortRangeListId: "prl-1": port lists apply to TCP and UDP rules only, not ICMP`,
      `${P}.SourcePortRange: "1/2": ICMP rules have no ports, write "-1/-1" or leave it empty`,
    ]);
  });

  it('ICMPv6 with an IPv4 peer, and ICMP with an IPv6 local address', () => {
    expect(errors(policy([perm({ IpProtocol: 'ICMPv6', PortRange: '-1/-1' })]))).toEqual([
      `${P}.SourceCidrIp: "10.0.0.0/8" is IPv4 but IpProtocol ICMPv6 matches only IPv6: use ICMP`,
    ]);
    expect(errors(policy([perm({ IpProtocol: 'ICMP', PortRange: '-1/-1', Ipv6DestCidrIp: '2001:db8::10' })]))).toEqual([
      `${P}.Ipv6DestCidrIp: "2001:db8::10" is IPv6 but IpProtocol ICMP matches only IPv4: use ICMPv6`,
    ]);
  });

  it('non-string values are type errors', () => {
    expect(errors(policy([perm({ PortRange: 22, SourceCidrIp: ['10.0.0.0/8'] })]))).toEqual([
      `${P}.PortRange: 22 is a number, expected a string`,
      `${P}.SourceCidrIp: ["10.0.0.0/8"] is an array, expected a string`,
    ]);
    expect(errors(policy([], {}, { Permissions: [] }))).toEqual(['securityGroups[0].Permissions: [] is an array, expected an object']);
  });

  it('quotas: 1000 rules per interface counted over all its groups', () => {
    const groups = [0, 1].map((g) => ({
      SecurityGroupId: `sg-${g}`,
      Permissions: { Permission: Array.from({ length: 500 }, (_, i) => perm({ PortRange: `${i + 1}/${i + 1}` })) },
    }));
    const json = { cloud: 'alibaba', interfaces: [{ id: 'eni-1', addresses: ['10.0.0.1'], securityGroups: ['sg-0', 'sg-1'] }], securityGroups: groups };
    expect(errors(json)).toEqual([]);
    groups[1]!.Permissions.Permission.push(perm({}));
    expect(errors(json)).toEqual([
      'interfaces[0].securityGroups: these groups hold 1001 rules, more than the quota of 1000 rules per interface (a rule with a prefix list or port list counts as its MaxEntries)',
    ]);
  });
});
