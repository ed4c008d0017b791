// The command line as users run it (package.json's bin: the one-file build of dist/cli/bin.js):
// exit statuses, messages that name file, path and value, the JSON shapes of spec section 6,
// --diff, and no partial output.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoFiles } from '../../src/demo/index.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const BIN = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: { sgfw: string } }).bin.sgfw;
const CLI = join(ROOT, BIN);
const ESM = join(ROOT, 'dist', 'cli', 'bin.js'); // what the bin is built from
const sgfw = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

let dir: string;
let files: { awsPolicy: string; alibabaPolicy: string; trace: string };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sgfw-cli-'));
  files = writeDemoFiles(join(dir, 'demo'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sgfw check', () => {
  it('a good policy: exit 0 and a summary against the quotas', () => {
    const r = sgfw('check', '--policy', files.awsPolicy);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/ok \(aws\): 1 interface, 3 security groups/);
    expect(r.stdout).toMatch(/eni-web-1: 2\/5 groups/);
    const j = JSON.parse(sgfw('check', '--policy', files.alibabaPolicy, '--json').stdout) as { ok: boolean; cloud: string };
    expect(j).toMatchObject({ ok: true, cloud: 'alibaba' });
  });

  it('a bad policy: exit 2 and every error with file, path and value', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({
      cloud: 'alibaba',
      interfaces: [{ id: 'eni-1', addresses: ['198.18.1.10'], securityGroups: ['sg-1'] }],
      securityGroups: [{ SecurityGroupId: 'sg-1', Permissions: { Permission: [
        { Direction: 'ingress', Policy: 'Accept', Priority: '101', IpProtocol: 'TCP', PortRange: '22/22', SourceCidrIp: '198.19.0.0/33' },
      ] } }],
      extra: true,
    }));
    const r = sgfw('check', '--policy', bad);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${bad}: securityGroups[0].Permissions.Permission[0].Priority: "101" is not in 1..100`);
    expect(r.stderr).toContain('securityGroups[0].Permissions.Permission[0].SourceCidrIp: "198.19.0.0/33"');
    expect(r.stderr).toContain('extra');
    expect(sgfw('check', '--policy', join(dir, 'missing.json')).status).toBe(2);
    expect(sgfw('check').status).toBe(2);
  });
});

describe('sgfw explain', () => {
  it('names the deciding rule, with JSON in the vocabulary of spec section 6', () => {
    const args = ['explain', '--policy', files.awsPolicy, '--interface', 'eni-web-1', '--direction', 'ingress', '--protocol', 'tcp',
      '--src', '198.18.200.7', '--dst', '198.18.1.10', '--dst-port', '443', '--json'];
    const j = JSON.parse(sgfw(...args).stdout) as { verdict: string; reason: string; rule: string; tracked: boolean };
    expect(j).toMatchObject({ verdict: 'accept', reason: 'rule', rule: 'sg-web:ingress:1' });
    const denied = sgfw(...args.slice(0, -2), '22');
    expect(denied.stdout).toMatch(/^drop \(default\): default:ingress:drop/);
    expect(denied.stdout).toMatch(/nearest rules that missed/);
    expect(sgfw('explain', '--policy', files.awsPolicy, '--interface', 'eni-nope', '--direction', 'ingress', '--protocol', 'tcp',
      '--src', '198.18.0.1', '--dst', '198.18.1.10', '--dst-port', '1').status).toBe(2);
  });
});

describe('sgfw replay', () => {
  it('--json has the keys of spec section 6; --verdicts has one line per packet', () => {
    const v = join(dir, 'v.jsonl');
    const r = sgfw('replay', '--policy', files.awsPolicy, files.trace, '--json', '--verdicts', v);
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stdout) as Record<string, unknown>;
    for (const k of ['packets', 'accepted', 'dropped', 'reasons', 'rules', 'conntrack', 'elapsedSeconds', 'packetsPerSecond']) expect(s).toHaveProperty(k);
    expect(Object.keys(s.conntrack as object)).toEqual(expect.arrayContaining(['entries', 'created', 'expired', 'evicted', 'full']));
    const lines = readFileSync(v, 'utf8').trim().split('\n');
    expect(lines.length).toBe(s.packets);
    expect(Object.keys(JSON.parse(lines[0]!) as object)).toEqual(['i', 'verdict', 'reason', 'interface', 'direction', 'rule']);
  });

  it('the human summary names drops by reason and the top rules', () => {
    const r = sgfw('replay', '--policy', files.awsPolicy, files.trace);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/by reason:/);
    expect(r.stdout).toMatch(/top rules:/);
    expect(r.stdout).toMatch(/M packets\/s/);
  });

  it('bad input: exit 2 naming the file, and no partial output files', () => {
    const out = join(dir, 'bad-out');
    rmSync(out, { recursive: true, force: true });
    const broken = join(dir, 'broken.pcap');
    writeFileSync(broken, readFileSync(files.trace).subarray(0, 1000));
    const r = sgfw('replay', '--policy', files.awsPolicy, broken, '--verdicts', join(dir, 'partial.jsonl'),
      '--write-accepted', join(dir, 'partial-acc.pcap'), '--flow-log', join(dir, 'partial.log'));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('broken.pcap');
    expect(readdirSync(dir).filter((f) => f.startsWith('partial'))).toEqual([]);
    const unknown = join(dir, 'unknown-link.pcap');
    const head = Buffer.from(readFileSync(files.trace).subarray(0, 24));
    head.writeUInt32LE(147, 20);
    writeFileSync(unknown, Buffer.concat([head, readFileSync(files.trace).subarray(24)]));
    const u = sgfw('replay', '--policy', files.awsPolicy, unknown);
    expect(u.status).toBe(2);
    expect(u.stderr).toMatch(/unsupported link type 147 \(LINKTYPE_USER0\)/);
    const badPolicy = join(dir, 'badpolicy.json');
    writeFileSync(badPolicy, '{"cloud": "gcp"}');
    const p = sgfw('replay', '--policy', badPolicy, files.trace, '--verdicts', join(dir, 'partial2.jsonl'));
    expect(p.status).toBe(2);
    expect(p.stderr).toContain(`${badPolicy}: cloud: "gcp"`);
    expect(existsSync(join(dir, 'partial2.jsonl'))).toBe(false);
  });

  it('--diff lists the flows whose verdict a policy change flips', () => {
    const policy = JSON.parse(readFileSync(files.awsPolicy, 'utf8')) as { securityGroups: { SecurityGroups: { GroupId: string; IpPermissions: unknown[] }[] } };
    const admin = policy.securityGroups.SecurityGroups.find((g) => g.GroupId === 'sg-admin')!;
    admin.IpPermissions = []; // no more SSH from the office
    const next = join(dir, 'no-ssh.json');
    writeFileSync(next, JSON.stringify(policy));
    const r = sgfw('replay', '--policy', files.awsPolicy, '--diff', next, files.trace, '--json');
    expect(r.status).toBe(0);
    const d = JSON.parse(r.stdout) as { flows: number; changed: { flow: { protocol: string; dstPort: number }; old: { verdict: string; rule: string }; new: { verdict: string; rule: string } }[] };
    expect(d.flows).toBeGreaterThan(10);
    const ssh = d.changed.filter((c) => c.flow.protocol === 'tcp' && c.flow.dstPort === 22);
    expect(ssh.length).toBeGreaterThanOrEqual(1);
    expect(ssh[0]).toMatchObject({ old: { verdict: 'accept', rule: 'sg-admin:ingress:0' }, new: { verdict: 'drop', rule: 'default:ingress:drop' } });
    expect(d.changed.every((c) => c.flow.dstPort === 22 || c.old.verdict === c.new.verdict || c.old.rule !== c.new.rule)).toBe(true);
    const same = JSON.parse(sgfw('replay', '--policy', files.awsPolicy, '--diff', files.awsPolicy, files.trace, '--json').stdout) as { changed: unknown[] };
    expect(same.changed).toEqual([]);
  });
});

describe('sgfw compile', () => {
  // The summary without what names the input or depends on the clock.
  const judged = (stdout: string) => {
    const { policy: _p, elapsedSeconds: _e, packetsPerSecond: _r, ...rest } = JSON.parse(stdout) as Record<string, unknown>;
    return rest;
  };

  it('a compiled table replays exactly as its policy, also as a --swap', () => {
    for (const policy of [files.awsPolicy, files.alibabaPolicy]) {
      const table = join(dir, 'table.sgft');
      const c = sgfw('compile', '--policy', policy, '--out', table, '--json');
      expect(c.status).toBe(0);
      const info = JSON.parse(c.stdout) as { interfaces: number; entries: number; rules: number; bytes: number };
      expect(info.bytes).toBe(readFileSync(table).length);
      expect(info.entries).toBeGreaterThan(info.interfaces);
      const fromJson = sgfw('replay', '--policy', policy, files.trace, '--json', '--verdicts', join(dir, 'vj.jsonl'));
      const fromTable = sgfw('replay', '--policy', table, files.trace, '--json', '--verdicts', join(dir, 'vt.jsonl'));
      expect(fromTable.status).toBe(0);
      expect(JSON.parse(fromTable.stdout)).toMatchObject({ policy: table });
      expect(judged(fromTable.stdout)).toEqual(judged(fromJson.stdout));
      expect(readFileSync(join(dir, 'vt.jsonl'), 'utf8')).toBe(readFileSync(join(dir, 'vj.jsonl'), 'utf8'));
      // Swapping to the same policy mid-trace, once as JSON and once as a table: the same counts.
      const swapJson = sgfw('replay', '--policy', policy, '--swap', `40:${policy}`, files.trace, '--json');
      const swapTable = sgfw('replay', '--policy', table, '--swap', `40:${table}`, files.trace, '--json');
      expect(swapTable.status).toBe(0);
      expect(judged(swapTable.stdout)).toEqual(judged(swapJson.stdout));
      expect(judged(swapTable.stdout)).toMatchObject({ exceptions: expect.objectContaining({ tableSwaps: 1 }) });
    }
  });

  it('a damaged table, a bad policy, or a table where JSON is needed: exit 2 naming the file, nothing written', () => {
    const table = join(dir, 'good.sgft');
    expect(sgfw('compile', '--policy', files.awsPolicy, '--out', table).status).toBe(0);
    const bytes = readFileSync(table);
    const damaged = join(dir, 'damaged.sgft');
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 3]! ^= 0x40;
    writeFileSync(damaged, flipped);
    const d = sgfw('replay', '--policy', damaged, files.trace, '--verdicts', join(dir, 'partial3.jsonl'));
    expect(d.status).toBe(2);
    expect(d.stderr).toContain(`${damaged}: table rejected: crc32`);
    const swapped = sgfw('replay', '--policy', table, '--swap', `10:${damaged}`, files.trace);
    expect(swapped.status).toBe(2);
    expect(swapped.stderr).toContain(`${damaged}: table rejected`);
    const cut = join(dir, 'cut.sgft');
    writeFileSync(cut, bytes.subarray(0, 200));
    expect(sgfw('replay', '--policy', cut, files.trace).stderr).toContain(`${cut}: table rejected: blob length 200`);
    expect(existsSync(join(dir, 'partial3.jsonl'))).toBe(false);

    const badPolicy = join(dir, 'bad-compile.json');
    writeFileSync(badPolicy, '{"cloud": "gcp"}');
    const b = sgfw('compile', '--policy', badPolicy, '--out', table);
    expect(b.status).toBe(2);
    expect(b.stderr).toContain(`${badPolicy}: cloud: "gcp"`);
    expect(readFileSync(table).equals(bytes)).toBe(true); // the old table stays whole
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);

    const check = sgfw('check', '--policy', table);
    expect(check.status).toBe(2);
    expect(check.stderr).toContain(`${table}: this is a compiled table (sgfw compile)`);
    const diff = sgfw('replay', '--policy', table, '--diff', files.awsPolicy, files.trace);
    expect(diff.status).toBe(2);
    expect(diff.stderr).toContain('--diff compares two policy JSON files');
    expect(sgfw('compile', '--policy', table, '--out', join(dir, 'again.sgft')).stderr).toContain('is already a compiled table');
  });
});

describe('sgfw run options', () => {
  it('--spin-us: an integer in 0..100000, for --inline only; exit 2 naming the option and the value', () => {
    for (const bad of ['-1', '100001', '5ms']) {
      const r = sgfw('run', '--policy', files.awsPolicy, '--inline', 'nosuch0:nosuch1', `--spin-us=${bad}`);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`--spin-us "${bad}" is not an integer in 0..100000`);
    }
    const h = sgfw('run', '--policy', files.awsPolicy, '--host', '--spin-us', '100');
    expect(h.status).toBe(2);
    expect(h.stderr).toContain('--spin-us applies to --inline only');
  });
});

describe('sgfw demo', () => {
  it('writes the embedded demo, which replays as the no-argument run does', () => {
    const out = join(dir, 'written-demo');
    expect(sgfw('demo', out).status).toBe(0);
    const a = JSON.parse(sgfw('replay', '--policy', join(out, 'demo-policy-aws.json'), join(out, 'demo.pcap'), '--json').stdout) as { reasons: unknown; packets: number };
    const b = JSON.parse(sgfw('replay', '--json').stdout) as { reasons: unknown; packets: number };
    expect(a.packets).toBe(b.packets);
    expect(a.reasons).toEqual(b.reasons);
    expect(sgfw('demo').status).toBe(2);
  });
});

describe('the bin', () => {
  it('is the one-file CommonJS build, and answers as the ES modules it is built from', () => {
    expect(BIN).toBe('dist/cli/sgfw.cjs');
    // Strict, as the ES modules are: a 'use strict' directive counts only as the first statement.
    expect(readFileSync(CLI, 'utf8').replace(/^#!.*\n/, '')).toMatch(/^(['"])use strict\1;/);
    const esm = (...args: string[]) => spawnSync(process.execPath, [ESM, ...args], { encoding: 'utf8' });
    const norm = (out: string) => {
      const j = JSON.parse(out) as Record<string, unknown>;
      delete j.elapsedSeconds;
      delete j.packetsPerSecond;
      return j;
    };
    // The version comes from package.json, found from the file's own location.
    expect(sgfw('--version').stdout).toBe(esm('--version').stdout);
    expect(sgfw('--version').stdout).toMatch(/^sgfw \d+\.\d+\.\d+/);
    const replay = ['replay', '--policy', files.awsPolicy, files.trace, '--json'];
    const a = sgfw(...replay);
    expect(a.status).toBe(0);
    expect(norm(a.stdout)).toEqual(norm(esm(...replay).stdout));
    // Lazily loaded command modules and the addon (found from the bundle's location) both work.
    const check = sgfw('check', '--policy', files.alibabaPolicy, '--json');
    expect(check.stdout).toBe(esm('check', '--policy', files.alibabaPolicy, '--json').stdout);
    const bad = sgfw('replay', '--policy', files.awsPolicy, join(dir, 'missing.pcap'));
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe(esm('replay', '--policy', files.awsPolicy, join(dir, 'missing.pcap')).stderr);
  });
});

describe('output', () => {
  // The commands write with write(2) on descriptors 1 and 2 (src/cli/output.ts). Runs one with
  // its stdout closed: the child needs tens of milliseconds to start, so it is closed before
  // the first write.
  const runClosed = (args: string[], env: NodeJS.ProcessEnv = process.env) =>
    new Promise<{ code: number | null; stderr: string }>((done) => {
      const p = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
      let stderr = '';
      p.stdout.destroy();
      p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      p.on('close', (code) => done({ code, stderr }));
    });

  it('a reader that closes the pipe early (`| head`) is no failure: exit 0, nothing on stderr', async () => {
    for (const args of [['--help'], ['check', '--policy', files.alibabaPolicy], ['replay', '--policy', files.awsPolicy, files.trace, '--json']]) {
      const r = await runClosed(args);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: '' });
    }
  });

  it('after the reader is gone the command still runs to its end: its exit status, its clean-up', async () => {
    const bad = join(dir, 'bad-epipe.json');
    writeFileSync(bad, JSON.stringify({ cloud: 'alibaba', interfaces: [], securityGroups: [{ SecurityGroupId: 'sg-1', Permissions: { Permission: [
      { Direction: 'ingress', Policy: 'Accept', Priority: '101', IpProtocol: 'TCP', PortRange: '22/22', SourceCidrIp: '198.19.0.0/16' },
    ] } }] }));
    const r = await runClosed(['check', '--json', '--policy', bad]);
    expect(r.code).toBe(2);
    // The embedded demo writes its trace to a temporary directory and removes it at the end.
    const tmp = mkdtempSync(join(dir, 'tmp-'));
    const demo = await runClosed(['replay', '--json'], { ...process.env, TMPDIR: tmp });
    expect(demo.code).toBe(0);
    expect(readdirSync(tmp)).toEqual([]);
  });
});
