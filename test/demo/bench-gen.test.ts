import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateTrace, main as traceMain, writeTrace, type TraceStats } from '../../bench/gen-trace.js';
import {
  ALIBABA_MAX_GROUPS, ALIBABA_MAX_RULES, AWS_MAX_GROUPS, AWS_RULES_PER_GROUP_BUCKET, AWS_RULES_TIMES_GROUPS,
  awsGroupCount, generatePolicy, main as policyMain,
} from '../../bench/gen-policy.js';
import { BENCH_INTERFACES } from '../../src/demo/bench-topology.js';
import { parseCidr } from '../../src/model/cidr.js';
import { parsePolicy } from '../../src/policy/load.js';
import { Rng } from '../../src/packet/rng.js';
import { CHECKSUM_COMPLAINT, parseFrame, readPcap, TCPDUMP, tcpdump } from '../packet/wire.js';

const tmp = mkdtempSync(join(tmpdir(), 'sgfw-bench-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const v4 = (t: string): bigint => parseCidr(`${t}/32`)!.cidr.addr;
const v6 = (t: string): bigint => parseCidr(`${t}/128`)!.cidr.addr;
const SERVERS = new Set(BENCH_INTERFACES.flatMap((i) => [v4(i.v4), v6(i.v6)]));
const TEST_NETS = new Map(['198.18.0.0/15', '2001:db8::/32'].map((n) => [n, parseCidr(n)!.cidr]));
const inPrefix = (a: bigint, net: string): boolean => {
  const c = TEST_NETS.get(net)!;
  const shift = BigInt((c.family === 4 ? 32 : 128) - c.prefix);
  return a >> shift === c.addr >> shift;
};

describe('Rng', () => {
  it('is deterministic per seed and roughly uniform', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const xs = Array.from({ length: 1000 }, () => a.u32());
    expect(Array.from({ length: 1000 }, () => b.u32())).toEqual(xs);
    expect(new Rng(43).u32()).not.toBe(new Rng(42).u32());
    const r = new Rng(7);
    const buckets = new Array(10).fill(0);
    for (let i = 0; i < 20000; i++) buckets[Math.floor(r.float() * 10)]++;
    for (const n of buckets) expect(Math.abs(n - 2000)).toBeLessThan(250);
    for (let i = 0; i < 1000; i++) {
      const v = r.int(3, 5);
      expect(v).toBeGreaterThanOrEqual(3);
      expect(v).toBeLessThanOrEqual(5);
    }
  });
});

describe('gen-trace', () => {
  const N = 20_000;
  const file = join(tmp, 'trace.pcap');
  let stats: TraceStats;

  it('writes exactly N packets, byte-identical for the same seed, different for another', () => {
    stats = writeTrace({ packets: N, seed: 5, out: file });
    expect(stats.packets).toBe(N);
    const bytes = readFileSync(file);
    const again = join(tmp, 'again.pcap');
    writeTrace({ packets: N, seed: 5, out: again });
    expect(readFileSync(again).equals(bytes)).toBe(true);
    writeTrace({ packets: N, seed: 6, out: again });
    expect(readFileSync(again).equals(bytes)).toBe(false);
    expect(stats.bytes).toBe(readPcap(new Uint8Array(bytes)).records.reduce((s, r) => s + r.data.length, 0));
  });

  it('has many interleaved flows, ~20 % IPv6, mostly small packets, test addresses, a server at one end', () => {
    const f = readPcap(new Uint8Array(readFileSync(file)));
    expect(f.records).toHaveLength(N);
    expect(stats.flows).toBeGreaterThan(1000);
    expect(stats.maxConcurrentFlows).toBeGreaterThan(100);
    const flows = new Set<string>();
    let v6n = 0;
    let small = 0;
    let syn = 0;
    let fin = 0;
    let udpN = 0;
    let lastFlow = '';
    let switches = 0;
    const bad: string[] = [];
    f.records.forEach((r, i) => {
      if (i > 0 && r.tsNs < f.records[i - 1]!.tsNs) bad.push(`#${i}: time goes back`);
      const p = parseFrame(r.data);
      if (p.family === 6) v6n++;
      if (r.data.length <= 200) small++;
      for (const a of [p.src!, p.dst!]) {
        if (!(p.family === 4 ? inPrefix(a, '198.18.0.0/15') : inPrefix(a, '2001:db8::/32'))) bad.push(`#${i}: address ${a.toString(16)}`);
      }
      if (SERVERS.has(p.src!) === SERVERS.has(p.dst!)) bad.push(`#${i}: not exactly one server end`);
      if (p.protocol === 6) {
        if (p.tcpFlags! & 0x02) syn++;
        if (p.tcpFlags! & 0x01) fin++;
      }
      if (p.protocol === 17) udpN++;
      const [lo, hi] = p.src! < p.dst! ? [`${p.src}:${p.srcPort}`, `${p.dst}:${p.dstPort}`] : [`${p.dst}:${p.dstPort}`, `${p.src}:${p.srcPort}`];
      const key = `${p.protocol}/${lo}/${hi}`;
      if (key !== lastFlow) switches++;
      lastFlow = key;
      flows.add(key);
    });
    expect(bad.slice(0, 5)).toEqual([]);
    expect(flows.size).toBeGreaterThan(1000);
    expect(v6n / N).toBeGreaterThan(0.12);
    expect(v6n / N).toBeLessThan(0.3);
    expect(small / N).toBeGreaterThan(0.8);
    expect(syn).toBeGreaterThan(1000);
    expect(fin).toBeGreaterThan(500);
    expect(udpN).toBeGreaterThan(200);
    // Interleaving: consecutive packets usually belong to different flows.
    expect(switches / N).toBeGreaterThan(0.8);
    expect(stats.v6Packets).toBe(v6n);
  });

  it('generateTrace is a lazy stream (the first records come without building the rest)', () => {
    const it = generateTrace({ packets: 10_000_000, seed: 1 });
    const first = it.next();
    expect(first.done).toBe(false);
    it.return(undefined);
  });

  it('main() validates its arguments', () => {
    expect(traceMain(['--packets', 'x', '--out', join(tmp, 'x.pcap')])).toBe(2);
    expect(traceMain(['--bogus', '1'])).toBe(2);
    expect(traceMain(['--packets', '10'])).toBe(2); // --out is required
  });

  it.skipIf(!TCPDUMP)('tcpdump reads it with the right count and valid checksums', () => {
    const small = join(tmp, 'small.pcap');
    writeTrace({ packets: 3000, seed: 9, out: small });
    expect(tcpdump(small)).toHaveLength(3000);
    expect(tcpdump(small, '-vv').filter((l) => CHECKSUM_COMPLAINT.test(l))).toEqual([]);
  });
});

/** Rules per (group, direction, family) for an AWS policy object. */
function awsBuckets(p: any): { group: string; total: number; buckets: Map<string, number> }[] {
  return p.securityGroups.map((g: any) => {
    const buckets = new Map<string, number>();
    let total = 0;
    for (const [dir, perms] of [['in', g.IpPermissions], ['out', g.IpPermissionsEgress]] as const) {
      for (const perm of perms) {
        const n4 = perm.IpRanges.length;
        const n6 = perm.Ipv6Ranges.length;
        buckets.set(`${dir}4`, (buckets.get(`${dir}4`) ?? 0) + n4);
        buckets.set(`${dir}6`, (buckets.get(`${dir}6`) ?? 0) + n6);
        total += n4 + n6;
      }
    }
    return { group: g.GroupId, total, buckets };
  });
}

describe('gen-policy', () => {
  it('is deterministic per seed', () => {
    for (const cloud of ['aws', 'alibaba'] as const) {
      const a = JSON.stringify(generatePolicy({ cloud, rules: 300, seed: 11 }));
      expect(JSON.stringify(generatePolicy({ cloud, rules: 300, seed: 11 }))).toBe(a);
      expect(JSON.stringify(generatePolicy({ cloud, rules: 300, seed: 12 }))).not.toBe(a);
    }
  });

  it('alibaba: N rules over <= 10 groups, every interface with all of them, string fields, valid CIDRs', () => {
    const p: any = generatePolicy({ cloud: 'alibaba', rules: 1000, seed: 1 });
    expect(p.cloud).toBe('alibaba');
    expect(p.securityGroups.length).toBeLessThanOrEqual(ALIBABA_MAX_GROUPS);
    const perms = p.securityGroups.flatMap((g: any) => g.Permissions.Permission);
    expect(perms).toHaveLength(1000);
    expect(new Set(perms.map((x: any) => x.SecurityGroupRuleId)).size).toBe(1000);
    expect(p.interfaces.map((i: any) => i.id)).toEqual(BENCH_INTERFACES.map((i) => i.id));
    for (const i of p.interfaces) expect(i.securityGroups).toEqual(p.securityGroups.map((g: any) => g.SecurityGroupId));
    const protos = new Set<string>();
    const prefixLens = new Set<number>();
    let drops = 0;
    let ranges = 0;
    for (const r of perms) {
      for (const v of Object.values(r)) expect(typeof v).toBe('string');
      expect(Number(r.Priority)).toBeGreaterThanOrEqual(1);
      expect(Number(r.Priority)).toBeLessThanOrEqual(100);
      protos.add(r.IpProtocol);
      if (r.Policy === 'Drop') drops++;
      const [a, b] = r.PortRange.split('/').map(Number);
      if (r.IpProtocol === 'TCP' || r.IpProtocol === 'UDP') {
        expect(a).toBeGreaterThanOrEqual(1);
        expect(b).toBeLessThanOrEqual(65535);
        expect(a).toBeLessThanOrEqual(b);
        if (a !== b) ranges++;
      } else {
        expect(r.PortRange).toBe('-1/-1');
      }
      for (const k of ['SourceCidrIp', 'Ipv6SourceCidrIp', 'DestCidrIp', 'Ipv6DestCidrIp']) {
        if (r[k] === undefined) continue;
        const c = parseCidr(r[k]);
        expect(c, `${k}: ${r[k]}`).toBeDefined();
        expect(c!.hostBitsSet).toBe(false);
        prefixLens.add(c!.cidr.prefix);
      }
    }
    for (const proto of ['TCP', 'UDP', 'ICMP', 'ALL']) expect(protos).toContain(proto);
    expect(drops).toBeGreaterThan(100);
    expect(ranges).toBeGreaterThan(100);
    expect(prefixLens.size).toBeGreaterThan(20);
    expect(() => generatePolicy({ cloud: 'alibaba', rules: ALIBABA_MAX_RULES + 1, seed: 1 })).toThrow(/at most 1000/);
  });

  it('aws: within 60 per group/direction/family, <= 16 groups, largest group x groups <= 1000', () => {
    for (const n of [1, 59, 300, 777, 1000]) {
      const p: any = generatePolicy({ cloud: 'aws', rules: n, seed: 2 });
      const groups = awsBuckets(p);
      expect(groups.reduce((s, g) => s + g.total, 0)).toBe(n);
      expect(groups.length).toBeLessThanOrEqual(AWS_MAX_GROUPS);
      expect(Math.max(...groups.map((g) => g.total)) * groups.length).toBeLessThanOrEqual(AWS_RULES_TIMES_GROUPS);
      for (const g of groups) for (const v of g.buckets.values()) expect(v).toBeLessThanOrEqual(AWS_RULES_PER_GROUP_BUCKET);
      if (groups.length > 5) expect(p.quotas).toEqual({ groupsPerInterface: 16 });
      else expect(p.quotas).toBeUndefined();
      for (const i of p.interfaces) expect(i.securityGroups).toHaveLength(groups.length);
    }
    expect(awsGroupCount(1000)).toBe(10);
    expect(awsGroupCount(1001)).toBeUndefined();
    expect(() => generatePolicy({ cloud: 'aws', rules: 1001, seed: 1 })).toThrow(/use --cloud alibaba/);
  });

  it('the policy loader accepts the generated policies', () => {
    for (const [cloud, n] of [['aws', 1000], ['aws', 120], ['alibaba', 1000], ['alibaba', 37]] as const) {
      const r = parsePolicy(generatePolicy({ cloud, rules: n, seed: 3 }), `${cloud}-${n}`);
      expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      expect(r.policy?.interfaces).toHaveLength(BENCH_INTERFACES.length);
      const rules = [...r.policy!.groups.values()].reduce((s, g) => s + g.rules.length, 0);
      expect(rules).toBe(n);
    }
  });

  it('main() writes JSON to --out and rejects bad arguments', () => {
    const out = join(tmp, 'p.json');
    expect(policyMain(['--cloud', 'aws', '--rules', '50', '--seed', '4', '--out', out])).toBe(0);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(generatePolicy({ cloud: 'aws', rules: 50, seed: 4 }));
    expect(policyMain(['--cloud', 'gcp', '--out', out])).toBe(2);
    expect(policyMain(['--cloud', 'alibaba', '--rules', '5000', '--out', out])).toBe(2);
  });
});
