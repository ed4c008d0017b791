// Policy loading: JSON text errors with line/column, the top-level shape, defaults and overrides,
// member resolution, collecting all errors, and hostile or huge input.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultConntrack, defaultQuotas } from '../../src/policy/defaults.js';
import { scanJson } from '../../src/policy/json-text.js';
import { loadPolicy, parsePolicy, parsePolicyText } from '../../src/policy/load.js';
import { formatDiagnostic, PolicyError } from '../../src/validate/diagnostics.js';

const FIX = join(import.meta.dirname, '../fixtures/policies');
const awsWeb = (): Record<string, unknown> => JSON.parse(readFileSync(join(FIX, 'aws-web.json'), 'utf8'));
const aliWeb = (): Record<string, unknown> => JSON.parse(readFileSync(join(FIX, 'alibaba-web.json'), 'utf8'));

function errors(json: unknown): string[] {
  return parsePolicy(json).diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.path}: ${d.message}`);
}

const minimal = (extra: Record<string, unknown> = {}) => ({
  cloud: 'aws',
  interfaces: [{ id: 'eni-1', addresses: ['10.0.0.1'], securityGroups: ['sg-a'] }],
  securityGroups: [{ GroupId: 'sg-a' }],
  ...extra,
});

describe('JSON text', () => {
  it.each([
    ['', 'line 1, column 1: unexpected end of input, expected a value'],
    ['{"cloud": "aws",}', 'line 1, column 17: unexpected character "}", expected a key in double quotes'],
    ['{\n  "cloud": "aws"\n  "interfaces": []\n}', "line 3, column 3: unexpected character \"\\\"\", expected ',' or '}' after a property value"],
    ['{"a": [1, 2', "line 1, column 12: unexpected end of input, expected ',' or ']' after an array element"],
    ['{"a": "x\ny"}', 'line 1, column 9: control character inside a string (escape it)'],
    ['{"a": tru}', 'line 1, column 7: unexpected character "t", expected a value'],
    ['{} {}', 'line 1, column 4: unexpected character "{" after the end of the document'],
    ['{"a": 01}', "line 1, column 8: unexpected character \"1\", expected ',' or '}' after a property value"],
    ['{"a": "\\x"}', 'line 1, column 8: bad escape \\x in a string'],
    ['{"a": "abc', 'line 1, column 7: unterminated string'],
  ])('%j -> %s', (text, message) => {
    const r = parsePolicyText(text, 'p.json');
    expect(r.policy).toBeUndefined();
    expect(r.diagnostics).toEqual([{ severity: 'error', code: 'ERR_JSON', path: '', message }]);
  });

  it('a byte-order mark is skipped', () => {
    const text = `\uFEFF${readFileSync(join(FIX, 'aws-web.json'), 'utf8')}`;
    expect(parsePolicyText(text).policy).toBeDefined();
  });

  it('duplicate keys are errors at their path, after escapes are decoded', () => {
    const r = parsePolicyText('{"cloud": "aws", "interfaces": [], "securityGroups": [{"GroupId": "sg-a", "Group\\u0049d": "sg-b"}], "cloud": "aws"}');
    expect(r.policy).toBeUndefined();
    expect(r.diagnostics.map((d) => `${d.code} ${d.path}`)).toEqual(['ERR_DUPLICATE_KEY securityGroups[0].GroupId', 'ERR_DUPLICATE_KEY cloud']);
  });

  it('property: the scanner agrees with JSON.parse on values and on broken text', () => {
    fc.assert(fc.property(fc.jsonValue(), (v) => {
      const s = scanJson(JSON.stringify(v, null, 1));
      expect(s.error).toBeUndefined();
      expect(s.value).toEqual(JSON.parse(JSON.stringify(v)));
    }), { numRuns: 300 });
    fc.assert(fc.property(fc.jsonValue(), fc.nat(), fc.string({ maxLength: 2 }), (v, at, junk) => {
      const text = JSON.stringify(v);
      const i = at % (text.length + 1);
      const broken = text.slice(0, i) + junk + text.slice(i + 1);
      let ok = true;
      try {
        JSON.parse(broken);
      } catch {
        ok = false;
      }
      const s = scanJson(broken);
      expect(s.error === undefined).toBe(ok);
    }), { numRuns: 500 });
  });

  it('deep nesting does not overflow', () => {
    const deep = `{"cloud": ${'['.repeat(200000)}${']'.repeat(200000)}}`;
    const r = parsePolicyText(deep);
    expect(r.policy).toBeUndefined();
    expect(r.diagnostics.some((d) => d.path === 'cloud' && d.code === 'ERR_CLOUD')).toBe(true);
  });
});

describe('top-level shape', () => {
  it('lists every unknown top-level key', () => {
    expect(errors(minimal({ interface: [], Quotas: {} }))).toEqual([
      'interface: unknown top-level key "interface" (expected one of: cloud, interfaces, securityGroups, groupMembers, prefixLists, portLists, conntrack, platform, quotas)',
      'Quotas: unknown top-level key "Quotas" (expected one of: cloud, interfaces, securityGroups, groupMembers, prefixLists, portLists, conntrack, platform, quotas)',
    ]);
  });

  it('requires cloud, interfaces and securityGroups', () => {
    expect(errors({ cloud: 'aws' })).toEqual([
      'securityGroups: is required (an array of groups, or the AWS CLI {"SecurityGroups": [...]} object)',
      'interfaces: is required',
    ]);
  });

  it('ignores unknown keys inside cloud objects but not inside sgfw objects', () => {
    const p = awsWeb();
    (p.securityGroups as { SecurityGroups: Record<string, unknown>[] }).SecurityGroups[0]!.FutureField = { x: 1 };
    (p as { prefixLists: Record<string, unknown>[] }).prefixLists[0]!.OwnerId = '1';
    expect(parsePolicy(p).policy).toBeDefined();
    expect(errors(minimal({ platform: { restrictTCP25: true } }))).toEqual([
      'platform.restrictTCP25: unknown key "restrictTCP25" (expected one of: restrictTcp25, probeSources)',
    ]);
  });

  it('interfaces: required fields, addresses canonicalised, empty lists refused', () => {
    expect(errors(minimal({ interfaces: [{ addresses: [], securityGroups: [] }] }))).toEqual([
      'interfaces[0].id: is required',
      'interfaces[0].addresses: [] lists no address (an interface needs at least one)',
      'interfaces[0].securityGroups: [] lists no security group (an interface has at least one)',
    ]);
    const p = parsePolicy(minimal({ interfaces: [{ id: 'e', addresses: ['2001:DB8:0::0:1', ' 10.0.0.1 '], securityGroups: ['sg-a'] }] })).policy!;
    expect(p.interfaces[0]!.addresses.map((a) => a.text)).toEqual(['2001:db8::1', '10.0.0.1']);
  });

  it('the same address written two ways on two interfaces is a duplicate', () => {
    expect(errors(minimal({
      interfaces: [
        { id: 'e1', addresses: ['2001:db8::1'], securityGroups: ['sg-a'] },
        { id: 'e2', addresses: ['2001:DB8:0:0::1'], securityGroups: ['sg-a'] },
      ],
    }))).toEqual(['interfaces[1].addresses[0]: "2001:DB8:0:0::1" is also an address of interface "e1" (interfaces[0].addresses[0])']);
  });

  it('collects errors from every section in one pass', () => {
    const p = aliWeb();
    (p.interfaces as Record<string, unknown>[])[0]!.addresses = ['10.0.1.300'];
    (p.securityGroups as { Permissions: { Permission: Record<string, unknown>[] } }[])[0]!.Permissions.Permission[3]!.Priority = '101';
    p.conntrack = { maxFlows: -1 };
    p.quotas = { groupsPerInterface: 11 };
    p.bogus = 1;
    expect(errors(p)).toEqual([
      'bogus: unknown top-level key "bogus" (expected one of: cloud, interfaces, securityGroups, groupMembers, prefixLists, portLists, conntrack, platform, quotas)',
      'interfaces[0].addresses[0]: "10.0.1.300" is not an IP address',
      `conntrack.maxFlows: -1 is not in 1..${16 * 1024 * 1024}`,
      'quotas.groupsPerInterface: 11 is not in 1..10',
      'securityGroups[0].Permissions.Permission[3].Priority: "101" is not in 1..100',
    ]);
  });
});

describe('members, prefix lists, port lists', () => {
  it('members: interface addresses as host routes plus groupMembers, deduplicated, host bits warned', () => {
    const r = parsePolicy(minimal({ groupMembers: { 'sg-a': ['10.0.0.1', '10.0.0.1/32', '10.9.0.5/16'], 'sg-remote': ['2001:db8::/64'] } }));
    expect(r.policy!.members.get('sg-a')!.map((c) => c.text)).toEqual(['10.0.0.1/32', '10.9.0.0/16']);
    expect(r.policy!.members.get('sg-remote')!.map((c) => c.text)).toEqual(['2001:db8::/64']);
    expect(r.diagnostics).toEqual([
      { severity: 'warning', code: 'WARN_HOST_BITS', path: 'groupMembers["sg-a"][2]', message: '"10.9.0.5/16" has host bits set; it means 10.9.0.0/16' },
    ]);
  });

  it('prefix lists: one family, MaxEntries at least the entries', () => {
    expect(errors(minimal({
      prefixLists: [
        { PrefixListId: 'pl-1', MaxEntries: 1, Entries: [{ Cidr: '10.0.0.0/8' }, { Cidr: '::/0' }] },
        { PrefixListId: 'pl-2', MaxEntries: 1, Entries: [{ Cidr: '10.0.0.0/8' }, { Cidr: '10.1.0.0/16' }] },
        { PrefixListId: 'pl-2' },
      ],
    }))).toEqual([
      'prefixLists[0].Entries[1].Cidr: "::/0" is IPv6 but the list holds IPv4 (a prefix list has one address family)',
      'prefixLists[0].MaxEntries: 1 is less than the 2 entries of the list',
      'prefixLists[1].MaxEntries: 1 is less than the 2 entries of the list',
      'prefixLists[2].PrefixListId: "pl-2" is also the id of prefixLists[1]',
    ]);
  });

  it('port lists: entries are "a/b" in 1..65535', () => {
    const p = aliWeb();
    p.portLists = [{ PortRangeListId: 'prl-web', Entries: [{ PortRange: '0/10' }, { PortRange: '80' }, {}] }];
    expect(errors(p)).toEqual([
      'portLists[0].Entries[0].PortRange: "0/10" is not in 1..65535',
      'portLists[0].Entries[1].PortRange: "80" is not a port range "from/to"',
      'portLists[0].Entries[2].PortRange: is required',
    ]);
  });
});

describe('defaults and overrides', () => {
  it('conntrack overrides within the AWS ranges are taken', () => {
    const p = parsePolicy(minimal({ conntrack: { maxFlows: 5000, maxFragments: 100, timeouts: { tcpEstablished: 60, udp: 60, udpStream: 60, tcpTimeWait: 5 } } })).policy!;
    expect(p.conntrack).toEqual({
      maxFlows: 5000,
      maxFragments: 100,
      timeouts: { ...defaultConntrack('aws').timeouts, tcpEstablished: 60, udp: 60, udpStream: 60, tcpTimeWait: 5 },
    });
  });

  it('AWS range limits do not apply to Alibaba (only positivity)', () => {
    const p = aliWeb();
    p.conntrack = { timeouts: { tcpEstablished: 30, udp: 900 } };
    expect(parsePolicy(p).policy!.conntrack.timeouts.tcpEstablished).toBe(30);
    p.conntrack = { timeouts: { udp: 0 } };
    expect(errors(p)).toEqual(['conntrack.timeouts.udp: 0 is not in 1..432000']);
  });

  it('platform overrides and probe sources', () => {
    const p = aliWeb();
    p.platform = { restrictTcp25: false, probeSources: ['100.100.0.0/16', '192.0.2.1'] };
    const pol = parsePolicy(p).policy!;
    expect([pol.platform.restrictTcp25, pol.platform.probeSources.map((c) => c.text)]).toEqual([false, ['100.100.0.0/16', '192.0.2.1/32']]);
    const w = parsePolicy(minimal({ platform: { probeSources: ['192.0.2.1'] } }));
    expect(w.diagnostics.map((d) => `${d.code} ${d.path}`)).toEqual(['WARN_IGNORED_FIELD platform.probeSources']);
  });

  it('quota overrides: rulesPerGroup may be lowered and is enforced', () => {
    const json = minimal({ quotas: { rulesPerGroup: 1 }, securityGroups: [{ GroupId: 'sg-a', IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '10.0.0.0/8' }] }, { IpProtocol: '-1', IpRanges: [{ CidrIp: '11.0.0.0/8' }] }] }] });
    expect(errors(json)).toEqual([
      'securityGroups[0].IpPermissions: 2 IPv4 inbound rules exceed the quota of 1 per group (quotas.rulesPerGroup; each CIDR and group reference counts one, a prefix list its MaxEntries)',
    ]);
    expect(parsePolicy(minimal({ quotas: { groupsPerInterface: 16 } })).policy!.quotas).toEqual({ ...defaultQuotas('aws'), groupsPerInterface: 16 });
  });
});

describe('hostile and huge input', () => {
  it('property: parsePolicy never throws and never returns a policy with errors', () => {
    fc.assert(fc.property(fc.anything(), (v) => {
      const r = parsePolicy(v);
      expect(r.policy === undefined).toBe(r.diagnostics.some((d) => d.severity === 'error'));
    }), { numRuns: 300 });
  });

  it('property: a good policy with one value replaced never throws', () => {
    const base = aliWeb();
    const paths: (string | number)[][] = [];
    const walk = (v: unknown, p: (string | number)[]): void => {
      paths.push(p);
      if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...p, i]));
      else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...p, k]);
    };
    walk(base, []);
    fc.assert(fc.property(fc.constantFrom(...paths.slice(1)), fc.jsonValue(), (path, value) => {
      const copy = JSON.parse(JSON.stringify(base));
      let o = copy;
      for (const k of path.slice(0, -1)) o = o[k];
      o[path[path.length - 1]!] = value;
      parsePolicy(copy);
    }), { numRuns: 400 });
  });

  it('100k rules in one group get a quota error quickly', () => {
    const perms = Array.from({ length: 100_000 }, (_, i) => ({ Direction: 'ingress', IpProtocol: 'TCP', PortRange: `${(i % 65535) + 1}/${(i % 65535) + 1}`, SourceCidrIp: '10.0.0.0/8' }));
    const json = { cloud: 'alibaba', interfaces: [{ id: 'e', addresses: ['10.0.0.1'], securityGroups: ['sg-a'] }], securityGroups: [{ SecurityGroupId: 'sg-a', Permissions: { Permission: perms } }] };
    const t0 = performance.now();
    const r = parsePolicyText(JSON.stringify(json));
    expect(performance.now() - t0).toBeLessThan(20_000);
    expect(r.diagnostics.map((d) => `${d.path}: ${d.message}`)).toEqual([
      'securityGroups[0].Permissions.Permission: 100000 rules exceed the quota of 1000 rules per group (quotas.rulesPerGroup); only the first 1000 were checked',
    ]);
  });

  it('100k interfaces and 100k CIDRs: quota errors, no hang', () => {
    const interfaces = Array.from({ length: 100_000 }, (_, i) => ({ id: `e${i}`, addresses: [`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`], securityGroups: ['sg-a'] }));
    const cidrs = Array.from({ length: 100_000 }, (_, i) => ({ CidrIp: `11.${i >> 16}.${(i >> 8) & 255}.${i & 255}/32` }));
    const json = { cloud: 'aws', interfaces, securityGroups: [{ GroupId: 'sg-a', IpPermissions: [{ IpProtocol: 'tcp', FromPort: 1, ToPort: 1, UserIdGroupPairs: [{ GroupId: 'sg-a' }], IpRanges: cidrs }] }] };
    const t0 = performance.now();
    const r = parsePolicy(json);
    expect(performance.now() - t0).toBeLessThan(20_000);
    expect(r.diagnostics.map((d) => d.message)).toEqual([
      '100000 entries exceed the quota of 60 rules per group (quotas.rulesPerGroup); only the first 60 were checked',
    ]);
  });

  it('error floods are capped with a count of what was cut', () => {
    const perms = Array.from({ length: 3000 }, () => ({ Direction: 'sideways' }));
    const json = { cloud: 'alibaba', interfaces: [], securityGroups: [{ SecurityGroupId: 'sg-a', Permissions: { Permission: perms } }] };
    const d = parsePolicy(json).diagnostics;
    expect(d.length).toBe(1001);
    expect(d[1000]).toEqual({ severity: 'error', code: 'ERR_TOO_MANY_ERRORS', path: '', message: '1001 more errors not shown (first 1000 listed)' });
  });
});

describe('loadPolicy', () => {
  it('returns the policy of a good file', () => {
    expect(loadPolicy(join(FIX, 'alibaba-web.json')).file).toBe(join(FIX, 'alibaba-web.json'));
  });

  it('throws PolicyError naming the file for an unreadable file', () => {
    const f = join(FIX, 'no-such-file.json');
    expect(() => loadPolicy(f)).toThrow(PolicyError);
    expect(() => loadPolicy(f)).toThrow(`${f}: cannot read the policy: ENOENT`);
  });

  it('formats diagnostics as file: path: message', () => {
    const d = parsePolicy(minimal({ cloud: 'gcp' })).diagnostics[0]!;
    expect(formatDiagnostic('p.json', d)).toBe('p.json: cloud: "gcp" is not "aws", "aws-classic" or "alibaba"');
  });
});
