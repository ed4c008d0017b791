import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { parseCidr } from '../../src/model/cidr.js';
import type { PacketTuple } from '../../src/model/policy.js';
import { REASONS } from '../../src/model/reason.js';
import { evaluate } from '../../src/eval/evaluate.js';
import { lint } from '../../src/lint/lint.js';
import { parsePolicy, parsePolicyText } from '../../src/policy/load.js';
import {
  DEMO_FILES, DEMO_INTERFACE_ID, DEMO_POLICY_ALIBABA, DEMO_POLICY_AWS, DEMO_SERVER_V4, DEMO_SERVER_V6,
  demoExpectations, demoPackets, demoPolicyJson, demoTrace, writeDemoFiles, type DemoCloud,
} from '../../src/demo/index.js';
import { CHECKSUM_COMPLAINT, parseFrame, readPcap, TCPDUMP, tcpdump, type ParsedFrame } from '../packet/wire.js';

const tmp = mkdtempSync(join(tmpdir(), 'sgfw-demo-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const server4 = parseCidr(`${DEMO_SERVER_V4}/32`)!.cidr.addr;
const server6 = parseCidr(`${DEMO_SERVER_V6}/128`)!.cidr.addr;
const TEST_V4 = parseCidr('198.18.0.0/15')!.cidr;
const TEST_V6 = parseCidr('2001:db8::/32')!.cidr;
const inCidr = (c: typeof TEST_V4, a: bigint): boolean => a >> BigInt((c.family === 4 ? 32 : 128) - c.prefix) === c.addr >> BigInt((c.family === 4 ? 32 : 128) - c.prefix);

function tryParse(data: Uint8Array): ParsedFrame | undefined {
  try {
    return parseFrame(data);
  } catch {
    return undefined;
  }
}

function tuple(p: ParsedFrame): PacketTuple {
  const t: PacketTuple = { family: p.family!, protocol: p.protocol!, src: p.src!, dst: p.dst! };
  if (p.srcPort !== undefined) t.srcPort = p.srcPort;
  if (p.dstPort !== undefined) t.dstPort = p.dstPort;
  if (p.icmpType !== undefined) t.icmpType = p.icmpType;
  if (p.icmpCode !== undefined) t.icmpCode = p.icmpCode;
  return t;
}

describe('demo trace', () => {
  it('is deterministic, also across a fresh module load', async () => {
    const a = demoTrace();
    expect(Buffer.from(a).equals(Buffer.from(demoTrace()))).toBe(true);
    vi.resetModules();
    const fresh = await import('../../src/demo/trace.js');
    expect(Buffer.from(fresh.demoTrace()).equals(Buffer.from(a))).toBe(true);
  });

  it('holds a few hundred time-ordered Ethernet frames matching demoPackets()', () => {
    const f = readPcap(demoTrace());
    const pk = demoPackets();
    expect(f.linkType).toBe(1);
    expect(f.records.length).toBe(pk.length);
    expect(pk.length).toBeGreaterThanOrEqual(200);
    expect(pk.length).toBeLessThanOrEqual(500);
    f.records.forEach((r, i) => {
      expect(r.tsNs).toBe(pk[i]!.tsNs);
      if (i > 0) expect(r.tsNs).toBeGreaterThanOrEqual(f.records[i - 1]!.tsNs);
      expect(Buffer.from(r.data).equals(Buffer.from(pk[i]!.data))).toBe(true);
    });
    // demoPackets() hands out copies: callers cannot corrupt the embedded trace.
    pk[0]!.data[0] = 0xee;
    expect(demoPackets()[0]!.data[0]).not.toBe(0xee);
  });

  it('uses only test addresses (and link-local multicast for neighbour discovery)', () => {
    for (const p of demoPackets()) {
      const f = tryParse(p.data);
      if (!f || f.family === undefined) continue;
      for (const a of [f.src!, f.dst!]) {
        const ok = f.family === 4 ? inCidr(TEST_V4, a) : inCidr(TEST_V6, a) || a >> 120n === 0xffn;
        expect(ok, `${p.what}: ${a.toString(16)}`).toBe(true);
      }
    }
  });

  it('has one expectation per packet for each cloud, covering every scene', () => {
    for (const cloud of ['aws', 'alibaba'] as DemoCloud[]) {
      const ex = demoExpectations(cloud);
      expect(ex.length).toBe(demoPackets().length);
      ex.forEach((e, i) => {
        expect(e.i).toBe(i);
        expect(REASONS).toContain(e.reason);
        expect(['accept', 'drop']).toContain(e.verdict);
      });
      const reasons = new Set(ex.map((e) => e.reason));
      for (const r of ['rule', 'default', 'established', 'related', 'infrastructure', 'malformed', 'no-interface'] as const) {
        expect(reasons, `${cloud} lacks ${r}`).toContain(r);
      }
    }
    expect(demoExpectations('alibaba').some((e) => e.reason === 'platform')).toBe(true);
    const what = demoPackets().map((p) => p.what).join('\n');
    for (const scene of [/^arp who-has/m, /nd solicitation/, /dns A .* query/, /http .* SYN$/m, /http .* FIN$/m, /ssh 198\.19\.200\.7/,
      /ssh 198\.18\.150\.9/, /telnet/, /ping .* echo request/, /ping-out/, /https \[2001:db8/, /frag-needed/, /packet-too-big/,
      /truncated/, /scan .* SYN/, /other hosts/]) {
      expect(what).toMatch(scene);
    }
  });

  it('directions agree with the addresses: ingress is to the server, egress from it', () => {
    const pk = demoPackets();
    for (const cloud of ['aws', 'alibaba'] as DemoCloud[]) {
      demoExpectations(cloud).forEach((e) => {
        if (e.direction !== 'ingress' && e.direction !== 'egress') return;
        expect(e.interface).toBe(DEMO_INTERFACE_ID);
        const f = parseFrame(pk[e.i]!.data);
        const server = f.family === 4 ? server4 : server6;
        expect(e.direction === 'ingress' ? f.dst : f.src, `${cloud} #${e.i} ${e.what}`).toBe(server);
      });
    }
  });

  it('marks exactly the truncated frame as malformed, and it really is truncated', () => {
    const pk = demoPackets();
    demoExpectations('aws').forEach((e) => {
      expect(tryParse(pk[e.i]!.data) === undefined, `#${e.i} ${e.what}`).toBe(e.reason === 'malformed');
    });
  });

  it('quotes tracked flows in the related ICMP errors', () => {
    const pk = demoPackets();
    const related = demoExpectations('aws').filter((e) => e.reason === 'related');
    expect(related.length).toBe(2);
    for (const e of related) {
      const f = parseFrame(pk[e.i]!.data);
      const inner = parseFrame(Uint8Array.from([...pk[e.i]!.data.subarray(0, 14), ...pk[e.i]!.data.subarray(f.l4Offset! + 8)]));
      // The quoted packet is one the server sent earlier in the same (accepted) flow.
      const earlier = pk.slice(0, e.i).map((p) => tryParse(p.data)).filter((q) => q && q.srcPort === inner.srcPort && q.dstPort === inner.dstPort && q.src === inner.src);
      expect(earlier.length).toBeGreaterThan(0);
      expect(inner.src).toBe(f.dst);
    }
  });
});

describe('demo policies', () => {
  it('load without a single diagnostic and lint clean', () => {
    for (const p of [DEMO_POLICY_AWS, DEMO_POLICY_ALIBABA]) {
      const r = parsePolicy(p, 'demo');
      expect(r.diagnostics).toEqual([]);
      expect(r.policy).toBeDefined();
      expect(lint(r.policy!)).toEqual([]);
    }
  });

  it('round-trip through their JSON text', () => {
    expect(JSON.parse(demoPolicyJson('aws'))).toEqual(DEMO_POLICY_AWS);
    const r = parsePolicyText(demoPolicyJson('alibaba'), 'demo-alibaba.json');
    expect(r.policy?.cloud).toBe('alibaba');
  });

  it('have the spec section 1 shapes', () => {
    expect(Object.keys(DEMO_POLICY_AWS).sort()).toEqual(['cloud', 'groupMembers', 'interfaces', 'prefixLists', 'securityGroups']);
    const aws = DEMO_POLICY_AWS.securityGroups.SecurityGroups;
    for (const g of aws) {
      for (const perm of [...g.IpPermissions, ...g.IpPermissionsEgress]) {
        expect(perm).toHaveProperty('IpProtocol');
        expect(perm).toHaveProperty('IpRanges');
        expect(perm).toHaveProperty('Ipv6Ranges');
      }
    }
    for (const g of DEMO_POLICY_ALIBABA.securityGroups) {
      for (const perm of g.Permissions.Permission) {
        for (const v of Object.values(perm)) expect(typeof v).toBe('string');
        expect(perm.PortRange).toMatch(/^-?\d+\/-?\d+$/);
        expect(['Accept', 'Drop']).toContain(perm.Policy);
      }
    }
  });

  it('name in the expectations only rules that exist', () => {
    const awsIds = new Set([...parsePolicy(DEMO_POLICY_AWS).policy!.groups.values()].flatMap((g) => g.rules.map((r) => r.id)));
    const aliIds = new Set(DEMO_POLICY_ALIBABA.securityGroups.flatMap((g) => g.Permissions.Permission.map((p) => p.SecurityGroupRuleId)));
    for (const e of demoExpectations('aws')) if (e.rule) expect(awsIds).toContain(e.rule);
    for (const e of demoExpectations('alibaba')) if (e.rule) expect(aliIds).toContain(e.rule);
  });
});

describe('expectations agree with the reference evaluator', () => {
  // Every packet whose expected reason is a stateless one (rule, default, platform) must get
  // that decision from src/eval/evaluate.ts on the loaded demo policy; AWS flows it accepts
  // must be tracked (replies then pass as established, errors as related).
  for (const cloud of ['aws', 'alibaba'] as DemoCloud[]) {
    it(`${cloud}`, () => {
      const policy = parsePolicy(cloud === 'aws' ? DEMO_POLICY_AWS : DEMO_POLICY_ALIBABA).policy!;
      const pk = demoPackets();
      let checked = 0;
      for (const e of demoExpectations(cloud)) {
        if (e.reason !== 'rule' && e.reason !== 'default' && e.reason !== 'platform') continue;
        const d = evaluate(policy, e.interface!, e.direction!, tuple(parseFrame(pk[e.i]!.data)));
        const label = `#${e.i} ${e.what}`;
        expect(d.verdict, label).toBe(e.verdict);
        expect(d.reason, label).toBe(e.reason);
        if (e.rule) expect(d.rule, label).toBe(e.rule);
        if (cloud === 'aws' && d.verdict === 'accept') expect(d.tracked, label).toBe(true);
        checked++;
      }
      expect(checked).toBeGreaterThan(40);
    });
  }

  it('the tracked state matters: AWS rules alone would drop the web replies', () => {
    const policy = parsePolicy(DEMO_POLICY_AWS).policy!;
    const pk = demoPackets();
    const replies = demoExpectations('aws').filter((e) => e.reason === 'established' && e.direction === 'egress' && /^http /.test(e.what));
    expect(replies.length).toBeGreaterThan(20);
    for (const e of replies) {
      expect(evaluate(policy, DEMO_INTERFACE_ID, 'egress', tuple(parseFrame(pk[e.i]!.data))).verdict).toBe('drop');
    }
  });
});

describe('writeDemoFiles', () => {
  it('writes both policies and the trace', () => {
    const out = writeDemoFiles(join(tmp, 'demo'));
    expect(out.trace.endsWith(DEMO_FILES.trace)).toBe(true);
    expect(Buffer.from(readFileSync(out.trace)).equals(Buffer.from(demoTrace()))).toBe(true);
    expect(JSON.parse(readFileSync(out.awsPolicy, 'utf8'))).toEqual(DEMO_POLICY_AWS);
    expect(JSON.parse(readFileSync(out.alibabaPolicy, 'utf8'))).toEqual(DEMO_POLICY_ALIBABA);
  });
});

describe.skipIf(!TCPDUMP)('tcpdump reads the demo trace', () => {
  it('with the right count and no checksum complaints', () => {
    const file = join(tmp, 'demo.pcap');
    writeFileSync(file, demoTrace());
    const lines = tcpdump(file, '-vv', '-e');
    expect(lines.join('\n')).not.toMatch(CHECKSUM_COMPLAINT);
    const brief = tcpdump(file, '-e');
    expect(brief).toHaveLength(demoPackets().length);
    expect(brief.filter((l) => /vlan 42/.test(l))).toHaveLength(demoExpectations('aws').filter((e) => /^ssh 198\.19\.200\.7/.test(e.what)).length);
  });
});
