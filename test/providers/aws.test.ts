// AWS provider: the describe-security-groups shapes -> neutral rules (ids, peers, ports, ICMP).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Policy, Rule } from '../../src/model/policy.js';
import { parsePolicy, parsePolicyText } from '../../src/policy/load.js';

const FIX = join(import.meta.dirname, '../fixtures/policies');

function load(name: string): Policy {
  const file = join(FIX, name);
  const r = parsePolicyText(readFileSync(file, 'utf8'), file);
  expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return r.policy!;
}

/** A compact view of a rule for whole-value comparisons. */
function view(r: Rule) {
  return {
    id: r.id,
    dir: r.direction,
    action: r.action,
    proto: r.protocol,
    kind: r.peerKind,
    ref: r.peerRef,
    peers: r.peers.map((p) => p.text),
    ports: r.dstPorts === 'any' ? 'any' : r.dstPorts.map((p) => `${p.from}-${p.to}`),
    icmp: r.icmp,
    weight: r.quotaWeight,
  };
}

function awsPolicy(perm: Record<string, unknown>, extra: Record<string, unknown> = {}, dir = 'IpPermissions') {
  return {
    cloud: 'aws',
    interfaces: [{ id: 'eni-1', addresses: ['10.0.0.10'], securityGroups: ['sg-a'] }],
    securityGroups: [{ GroupId: 'sg-a', [dir]: [perm] }],
    ...extra,
  };
}

function rulesOf(json: unknown): Rule[] {
  const r = parsePolicy(json);
  expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return [...r.policy!.groups.values()].flatMap((g) => g.rules);
}

describe('aws-web.json (the CLI output pasted whole)', () => {
  const p = load('aws-web.json');

  it('reads interfaces, groups in file order and canonical addresses', () => {
    expect(p.cloud).toBe('aws');
    expect(p.interfaces.map((i) => [i.id, i.addresses.map((a) => a.text), i.groupIds])).toEqual([
      ['eni-web-1', ['10.0.1.10', '2001:db8:1::10'], ['sg-0web', 'sg-0admin']],
      ['eni-db-1', ['10.0.2.20'], ['sg-0db']],
    ]);
    expect([...p.groups.keys()]).toEqual(['sg-0web', 'sg-0admin', 'sg-0db']);
    expect(p.groups.get('sg-0web')!.name).toBe('web');
    expect(p.groups.get('sg-0web')!.path).toBe('securityGroups.SecurityGroups[0]');
  });

  it('expands each permission into rules sharing <GroupId>:<direction>:<index>', () => {
    expect(p.groups.get('sg-0web')!.rules.map(view)).toEqual([
      { id: 'sg-0web:ingress:0', dir: 'ingress', action: 'accept', proto: 6, kind: 'cidr', ref: undefined, peers: ['0.0.0.0/0', '::/0'], ports: ['80-80'], icmp: 'any', weight: 2 },
      { id: 'sg-0web:ingress:1', dir: 'ingress', action: 'accept', proto: 6, kind: 'cidr', ref: undefined, peers: ['0.0.0.0/0', '::/0'], ports: ['443-443'], icmp: 'any', weight: 2 },
      { id: 'sg-0web:ingress:2', dir: 'ingress', action: 'accept', proto: 1, kind: 'cidr', ref: undefined, peers: ['0.0.0.0/0'], ports: 'any', icmp: { type: 3, code: 4 }, weight: 1 },
      { id: 'sg-0web:ingress:3', dir: 'ingress', action: 'accept', proto: 58, kind: 'cidr', ref: undefined, peers: ['::/0'], ports: 'any', icmp: 'any', weight: 1 },
      { id: 'sg-0web:egress:0', dir: 'egress', action: 'accept', proto: 'any', kind: 'cidr', ref: undefined, peers: ['0.0.0.0/0', '::/0'], ports: 'any', icmp: 'any', weight: 2 },
    ]);
  });

  it('resolves prefix lists (weight MaxEntries) and group references to member addresses', () => {
    expect(p.groups.get('sg-0admin')!.rules.map(view)).toEqual([
      { id: 'sg-0admin:ingress:0', dir: 'ingress', action: 'accept', proto: 6, kind: 'prefix-list', ref: 'pl-office', peers: ['203.0.113.0/24', '198.51.100.0/24'], ports: ['22-22'], icmp: 'any', weight: 10 },
    ]);
    const db = p.groups.get('sg-0db')!.rules.map(view);
    // "6" is tcp; members: interfaces listing sg-0web (as /32, /128) then groupMembers.
    expect(db[0]).toEqual({ id: 'sg-0db:ingress:0', dir: 'ingress', action: 'accept', proto: 6, kind: 'group', ref: 'sg-0web', peers: ['10.0.1.10/32', '2001:db8:1::10/128', '10.0.1.11/32', '10.0.3.0/28'], ports: ['5432-5432'], icmp: 'any', weight: 1 });
    expect(p.members.get('sg-0db')!.map((c) => c.text)).toEqual(['10.0.2.20/32']);
    expect(p.members.get('sg-0admin')!.map((c) => c.text)).toEqual(['10.0.1.10/32', '2001:db8:1::10/128']);
  });

  it('AWS rules are accept, priority 0, any source port and any local address', () => {
    for (const r of [...p.groups.values()].flatMap((g) => g.rules)) {
      expect(r.action).toBe('accept');
      expect(r.priority).toBe(0);
      expect(r.srcPorts).toBe('any');
      expect(r.locals).toBe('any');
      expect(r.path).toMatch(/^securityGroups\.SecurityGroups\[\d\]\.IpPermissions(Egress)?\[\d\]$/);
    }
  });

  it('applies the AWS defaults', () => {
    expect(p.conntrack.timeouts).toEqual({
      tcpSynSent: 120, tcpSynRecv: 60, tcpEstablished: 432000, tcpFinWait: 120, tcpCloseWait: 60,
      tcpLastAck: 30, tcpTimeWait: 120, tcpClose: 10, udp: 30, udpStream: 180, icmp: 30, other: 600, fragment: 30,
    });
    expect(p.conntrack.maxFlows).toBe(1_000_000);
    expect(p.conntrack.maxFragments).toBe(65536);
    expect(p.platform).toEqual({ restrictTcp25: false, probeSources: [] });
    expect(p.quotas).toEqual({ groupsPerInterface: 5, rulesPerGroup: 60, rulesPerInterface: 1000 });
  });
});

describe('aws protocols, ports and ICMP', () => {
  const cidr = { IpRanges: [{ CidrIp: '10.0.0.0/8' }] };

  it.each([
    ['tcp', 6], ['TCP', 6], ['6', 6], ['udp', 17], ['17', 17], ['icmp', 1], ['1', 1], ['-1', 'any'], ['47', 47], ['132', 132],
  ])('IpProtocol %j is %j', (proto, num) => {
    const ports = num === 6 || num === 17 ? { FromPort: 1, ToPort: 2 } : {};
    expect(rulesOf(awsPolicy({ IpProtocol: proto, ...ports, ...cidr }))[0]!.protocol).toBe(num);
  });

  it('"58" is icmpv6', () => {
    expect(rulesOf(awsPolicy({ IpProtocol: '58', Ipv6Ranges: [{ CidrIpv6: '::/0' }] }))[0]!.protocol).toBe(58);
  });

  it('TCP ranges are inclusive and 0..65535 is accepted', () => {
    expect(rulesOf(awsPolicy({ IpProtocol: 'tcp', FromPort: 0, ToPort: 65535, ...cidr }))[0]!.dstPorts).toEqual([{ from: 0, to: 65535 }]);
  });

  it('ICMP FromPort is the type, ToPort the code, -1 any', () => {
    expect(rulesOf(awsPolicy({ IpProtocol: 'icmp', FromPort: 8, ToPort: -1, ...cidr }))[0]!.icmp).toEqual({ type: 8, code: 'any' });
    expect(rulesOf(awsPolicy({ IpProtocol: 'icmp', FromPort: -1, ToPort: -1, ...cidr }))[0]!.icmp).toBe('any');
    expect(rulesOf(awsPolicy({ IpProtocol: 'icmpv6', Ipv6Ranges: [{ CidrIpv6: '::/0' }] }))[0]!.icmp).toBe('any');
  });

  it('"-1" ignores FromPort/ToPort -1 silently and warns about other values', () => {
    const r = parsePolicy(awsPolicy({ IpProtocol: '-1', FromPort: 80, ToPort: -1, ...cidr }));
    expect(r.policy).toBeDefined();
    expect(r.diagnostics).toEqual([
      { severity: 'warning', code: 'WARN_IGNORED_FIELD', path: 'securityGroups[0].IpPermissions[0].FromPort', message: '80 is ignored: this protocol matches all ports' },
    ]);
  });

  it('one Rule per peer kind and reference, all with the permission id', () => {
    const rules = rulesOf(awsPolicy(
      {
        IpProtocol: 'tcp', FromPort: 22, ToPort: 22,
        IpRanges: [{ CidrIp: '10.0.0.0/8' }],
        Ipv6Ranges: [{ CidrIpv6: '2001:DB8::/32' }],
        PrefixListIds: [{ PrefixListId: 'pl-1' }, { PrefixListId: 'pl-2' }],
        UserIdGroupPairs: [{ GroupId: 'sg-a' }, { GroupId: 'sg-ext' }],
      },
      {
        groupMembers: { 'sg-ext': ['192.0.2.7', '198.51.100.0/24'] },
        prefixLists: [
          { PrefixListId: 'pl-1', MaxEntries: 3, Entries: [{ Cidr: '203.0.113.0/24' }] },
          { PrefixListId: 'pl-2', Entries: [{ Cidr: '2001:db8:9::/48' }, { Cidr: '2001:db8:8::/48' }] },
        ],
      },
    ));
    expect(rules.map((r) => [r.id, r.peerKind, r.peerRef ?? null, r.peers.map((c) => c.text), r.quotaWeight])).toEqual([
      ['sg-a:ingress:0', 'cidr', null, ['10.0.0.0/8', '2001:db8::/32'], 2],
      ['sg-a:ingress:0', 'prefix-list', 'pl-1', ['203.0.113.0/24'], 3],
      ['sg-a:ingress:0', 'prefix-list', 'pl-2', ['2001:db8:9::/48', '2001:db8:8::/48'], 2],
      ['sg-a:ingress:0', 'group', 'sg-a', ['10.0.0.10/32'], 1],
      ['sg-a:ingress:0', 'group', 'sg-ext', ['192.0.2.7/32', '198.51.100.0/24'], 1],
    ]);
  });

  it('host bits are cleared with WARN_HOST_BITS naming the value', () => {
    const r = parsePolicy(awsPolicy({ IpProtocol: 'tcp', FromPort: 1, ToPort: 1, IpRanges: [{ CidrIp: '100.68.0.18/18' }] }));
    expect(r.policy!.groups.get('sg-a')!.rules[0]!.peers[0]!.text).toBe('100.68.0.0/18');
    expect(r.diagnostics).toEqual([
      { severity: 'warning', code: 'WARN_HOST_BITS', path: 'securityGroups[0].IpPermissions[0].IpRanges[0].CidrIp', message: '"100.68.0.18/18" has host bits set; it means 100.68.0.0/18' },
    ]);
  });

  it('a group with no members gives a rule with no peers', () => {
    const json = awsPolicy({ IpProtocol: 'tcp', FromPort: 1, ToPort: 1, UserIdGroupPairs: [{ GroupId: 'sg-b' }] });
    json.securityGroups.push({ GroupId: 'sg-b', IpPermissions: [] } as never);
    expect(rulesOf(json)[0]!.peers).toEqual([]);
  });
});

describe('aws errors', () => {
  function errors(json: unknown): string[] {
    return parsePolicy(json).diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.path}: ${d.message}`);
  }

  it('ICMP with IPv6 peers names the fix', () => {
    expect(errors(awsPolicy({ IpProtocol: 'icmp', FromPort: 8, ToPort: 0, Ipv6Ranges: [{ CidrIpv6: '::/0' }] }))).toEqual([
      'securityGroups[0].IpPermissions[0].Ipv6Ranges[0].CidrIpv6: "::/0" is IPv6 but IpProtocol "icmp" matches only IPv4: use "icmpv6"',
    ]);
  });

  it('an icmpv6 rule on an IPv4 prefix list is an error', () => {
    expect(errors(awsPolicy(
      { IpProtocol: 'icmpv6', PrefixListIds: [{ PrefixListId: 'pl-4' }] },
      { prefixLists: [{ PrefixListId: 'pl-4', Entries: [{ Cidr: '192.0.2.0/24' }] }] },
    ))).toEqual([
      'securityGroups[0].IpPermissions[0].PrefixListIds[0].PrefixListId: "pl-4" holds only IPv4 but IpProtocol "icmpv6" matches only IPv6: use "icmp"',
    ]);
  });

  it('FromPort -1 with a code, and a type above 255, are ICMP errors', () => {
    expect(errors(awsPolicy({ IpProtocol: 'icmpv6', FromPort: -1, ToPort: 0, Ipv6Ranges: [{ CidrIpv6: '::/0' }] }))).toEqual([
      'securityGroups[0].IpPermissions[0].ToPort: 0 names an ICMP code, but FromPort (type) -1 means any type and needs ToPort -1',
    ]);
    expect(errors(awsPolicy({ IpProtocol: 'icmp', FromPort: 3, ToPort: 300, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }))).toEqual([
      'securityGroups[0].IpPermissions[0].ToPort: 300 is not in -1..255',
    ]);
  });

  it('TCP -1 ports are an error', () => {
    expect(errors(awsPolicy({ IpProtocol: 'tcp', FromPort: -1, ToPort: -1, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }))).toEqual([
      'securityGroups[0].IpPermissions[0].FromPort: -1 is not in 0..65535',
      'securityGroups[0].IpPermissions[0].ToPort: -1 is not in 0..65535',
    ]);
  });

  it('types of group fields are checked', () => {
    expect(errors({ cloud: 'aws', interfaces: [], securityGroups: [{ GroupId: 'sg-a', IpPermissions: {} }, { GroupId: 7 }, 'sg-x'] })).toEqual([
      'securityGroups[0].IpPermissions: {} is an object, expected an array',
      'securityGroups[1].GroupId: 7 is a number, expected a string',
      'securityGroups[2]: "sg-x" is a string, expected an object',
    ]);
  });

  it('60 IPv4 and 60 IPv6 rules are within quota; counting is per family', () => {
    const perm = {
      IpProtocol: 'tcp', FromPort: 1, ToPort: 1,
      IpRanges: Array.from({ length: 60 }, (_, i) => ({ CidrIp: `10.${i}.0.0/16` })),
      Ipv6Ranges: Array.from({ length: 60 }, (_, i) => ({ CidrIpv6: `2001:db8:${i.toString(16)}::/48` })),
    };
    expect(errors(awsPolicy(perm))).toEqual([]);
    expect(errors(awsPolicy(perm, {}, 'IpPermissionsEgress'))).toEqual([]);
  });

  it('16 groups per interface are allowed when quotas.groupsPerInterface says so', () => {
    const groups = Array.from({ length: 16 }, (_, i) => ({ GroupId: `sg-${i}` }));
    const json = {
      cloud: 'aws',
      interfaces: [{ id: 'eni-1', addresses: ['10.0.0.1'], securityGroups: groups.map((g) => g.GroupId) }],
      securityGroups: groups,
    };
    expect(errors(json)).toEqual(['interfaces[0].securityGroups: 16 groups exceed the quota of 5 groups per interface (quotas.groupsPerInterface)']);
    expect(errors({ ...json, quotas: { groupsPerInterface: 16 } })).toEqual([]);
  });
});

describe('aws-classic', () => {
  const p = load('aws-classic.json');

  it('reads account/sg-id references through groupMembers', () => {
    const rules = p.groups.get('sg-classic-web')!.rules.map(view);
    expect(rules[1]).toEqual({ id: 'sg-classic-web:ingress:1', dir: 'ingress', action: 'accept', proto: 6, kind: 'group', ref: '111122223333/sg-bastion', peers: ['10.1.9.9/32'], ports: ['22-22'], icmp: 'any', weight: 1 });
    expect(rules[2]!.icmp).toEqual({ type: 8, code: 'any' });
    expect(p.quotas).toEqual({ groupsPerInterface: 500, rulesPerGroup: 100, rulesPerInterface: 50000 });
  });

  it('account/sg-id falls back to the group id part', () => {
    const json = JSON.parse(readFileSync(join(FIX, 'aws-classic.json'), 'utf8'));
    json.securityGroups[0].IpPermissions[1].UserIdGroupPairs[0].GroupId = '111122223333/sg-classic-web';
    const r = parsePolicy(json);
    expect(r.policy!.groups.get('sg-classic-web')!.rules[1]!.peers.map((c) => c.text)).toEqual(['10.1.2.3/32']);
  });

  it('has no IPv6 and no prefix lists', () => {
    const base = JSON.parse(readFileSync(join(FIX, 'aws-classic.json'), 'utf8'));
    base.interfaces[0].addresses.push('2001:db8::1');
    base.securityGroups[0].IpPermissions[0].Ipv6Ranges = [{ CidrIpv6: '::/0' }];
    base.securityGroups[0].IpPermissions[0].PrefixListIds = [{ PrefixListId: 'pl-1' }];
    base.prefixLists = [{ PrefixListId: 'pl-1', Entries: [] }];
    const errs = parsePolicy(base).diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.path}: ${d.message}`);
    expect(errs).toEqual([
      'interfaces[0].addresses[1]: "2001:db8::1": EC2-Classic has no IPv6',
      'securityGroups[0].IpPermissions[0].Ipv6Ranges[0]: {"CidrIpv6":"::/0"}: EC2-Classic has no IPv6',
      'securityGroups[0].IpPermissions[0].PrefixListIds[0].PrefixListId: "pl-1": EC2-Classic rules cannot use prefix lists',
    ]);
  });

  it('allows 500 groups per instance and 100 rules per group', () => {
    const base = JSON.parse(readFileSync(join(FIX, 'aws-classic.json'), 'utf8'));
    base.securityGroups[0].IpPermissions[0].IpRanges = Array.from({ length: 98 }, (_, i) => ({ CidrIp: `10.0.${i}.0/24` }));
    expect(parsePolicy(base).policy).toBeDefined(); // 98 + 1 group ref + 1 icmp = 100
    base.securityGroups[0].IpPermissions[0].IpRanges.push({ CidrIp: '192.0.2.0/24' });
    const errs = parsePolicy(base).diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.path}: ${d.message}`);
    expect(errs).toEqual([
      'securityGroups[0].IpPermissions: 101 IPv4 inbound rules exceed the quota of 100 per group (quotas.rulesPerGroup; each CIDR and group reference counts one, a prefix list its MaxEntries)',
    ]);
    const groups = Array.from({ length: 501 }, (_, i) => ({ GroupId: `sg-${i}` }));
    const many = { cloud: 'aws-classic', interfaces: [{ id: 'i-1', addresses: ['10.0.0.1'], securityGroups: groups.map((g) => g.GroupId) }], securityGroups: groups };
    expect(parsePolicy(many).diagnostics.map((d) => d.message)).toEqual(['501 groups exceed the quota of 500 groups per instance (quotas.groupsPerInterface)']);
    many.interfaces[0]!.securityGroups.pop();
    expect(parsePolicy(many).policy).toBeDefined();
  });
});
