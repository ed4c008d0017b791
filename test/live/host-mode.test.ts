// `sgfw run --host` protecting the server namespace it runs in (issue 7): real clients in a
// client namespace; allowed and denied traffic both ways, replies of allowed flows, the
// server's own outbound connections under egress rules, reload semantics, metrics, and no
// rule of sgfw left behind after exit.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canUseNamespaces, CLIENT_V4, CLIENT_V6, hostTopology, SERVER_V4, SERVER_V6, type Spawned, type Topology } from './netns.js';
import { CLI, lineEchoServer, persistentClient, scrape, startSgfw, tempDir, writeJson } from './live-helpers.js';

const avail = await canUseNamespaces();
if (!avail.ok) console.warn(`test/live/host-mode.test.ts: skipped: ${avail.reason}`);

const HTTP = 8080;
const ECHO_DENIED = 9001;
const UDP_OK = 9000;
const LINES = 9100;
const OUT_OK = 7000;
const OUT_DENIED = 7001;
const METRICS = 9475;

type Perm = Record<string, unknown>;
const v4 = (cidr: string) => ({ IpRanges: [{ CidrIp: cidr }] });
const v6 = (cidr: string) => ({ Ipv6Ranges: [{ CidrIpv6: cidr }] });
const both = { ...v4('198.18.0.0/24'), ...v6('2001:db8::/64') };

function awsPolicy(ingress: Perm[]): unknown {
  return {
    cloud: 'aws',
    interfaces: [{ id: 'eni-srv', addresses: [SERVER_V4, SERVER_V6], securityGroups: ['sg-srv'] }],
    securityGroups: [{
      GroupId: 'sg-srv',
      IpPermissions: ingress,
      IpPermissionsEgress: [{ IpProtocol: 'tcp', FromPort: OUT_OK, ToPort: OUT_OK, ...v4(`${CLIENT_V4}/32`) }],
    }],
  };
}

const BASE_INGRESS: Perm[] = [
  { IpProtocol: 'tcp', FromPort: HTTP, ToPort: HTTP, ...both },
  { IpProtocol: 'tcp', FromPort: LINES, ToPort: LINES, ...both },
  { IpProtocol: 'udp', FromPort: UDP_OK, ToPort: UDP_OK, ...v4(`${CLIENT_V4}/32`) },
  { IpProtocol: 'icmp', FromPort: 8, ToPort: -1, ...v4('198.18.0.0/24') },
  { IpProtocol: 'icmpv6', FromPort: 128, ToPort: -1, ...v6('2001:db8::/64') },
];

describe.skipIf(!avail.ok)('sgfw run --host (NFQUEUE) in a server namespace', () => {
  let t: Topology;
  let dir: string;
  let sgfw: Spawned;
  const servers: Spawned[] = [];
  let policyFile: string;

  beforeAll(async () => {
    t = await hostTopology('hostmode');
    dir = tempDir();
    servers.push(await t.httpServer('server', HTTP), await t.echoServer('server', ECHO_DENIED), await t.echoServer('server', UDP_OK));
    servers.push(await lineEchoServer(t, 'server', LINES));
    servers.push(await t.echoServer('client', OUT_OK), await t.echoServer('client', OUT_DENIED));
    policyFile = writeJson(dir, 'policy.json', awsPolicy(BASE_INGRESS));
    sgfw = await startSgfw(t, 'server', ['run', '--host', '--policy', policyFile, '--metrics', `127.0.0.1:${METRICS}`,
      '--status-file', join(dir, 'status'), '--workers', '2', '--flow-log', join(dir, 'flows.log')], /queueing traffic/);
  }, 60_000);

  afterAll(async () => {
    await sgfw?.kill('SIGTERM', 5000);
    for (const s of servers) await s.kill('SIGKILL');
    await t?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('allowed inbound TCP works end to end, IPv4 and IPv6 (replies pass as established)', async () => {
    const a = await t.curl('client', t.url(SERVER_V4, HTTP));
    expect(a.stdout).toContain('sgfw-ok');
    const b = await t.curl('client', t.url(SERVER_V6, HTTP));
    expect(b.stdout).toContain('sgfw-ok');
  });

  it('denied inbound TCP fails; UDP request/response and ping are allowed', async () => {
    const denied = await t.ncTcp('client', SERVER_V4, ECHO_DENIED, 'x', { timeoutS: 2 });
    expect(denied.stdout).not.toContain('echo:');
    const udp = await t.ncUdp('client', SERVER_V4, UDP_OK, 'ping');
    expect(udp.stdout).toContain('echo:ping');
    expect((await t.ping('client', SERVER_V4, { count: 2 })).code).toBe(0);
    expect((await t.ping('client', SERVER_V6, { count: 2 })).code).toBe(0);
  });

  it("the server's own outbound connections obey egress rules", async () => {
    const ok = await t.ncTcp('server', CLIENT_V4, OUT_OK, 'out');
    expect(ok.stdout).toContain('echo:out');
    const denied = await t.ncTcp('server', CLIENT_V4, OUT_DENIED, 'out', { timeoutS: 2 });
    expect(denied.stdout).not.toContain('echo:');
    const v6denied = await t.ncTcp('server', CLIENT_V6, OUT_OK, 'out', { timeoutS: 2 });
    expect(v6denied.stdout).not.toContain('echo:'); // the egress rule is IPv4 only
  });

  it('counts what it did in Prometheus metrics', async () => {
    const m = await scrape(t, 'server', METRICS);
    expect(m.get('sgfw_rule_hits_total{rule="sg-srv:ingress:0"}') ?? 0).toBeGreaterThanOrEqual(2);
    expect(m.get('sgfw_verdicts_total{reason="default"}') ?? 0).toBeGreaterThanOrEqual(1);
    expect(m.get('sgfw_verdicts_total{reason="established"}') ?? 0).toBeGreaterThan(0);
    expect(m.get('sgfw_table_generation')).toBe(1);
  });

  it('a bad policy at reload is refused and the running table stays', async () => {
    writeFileSync(policyFile, '{"cloud": "aws", "interfaces": [');
    process.kill(sgfw.pid, 'SIGHUP');
    await new Promise((r) => setTimeout(r, 500));
    expect(sgfw.stderr()).toMatch(/REFUSED/);
    const a = await t.curl('client', t.url(SERVER_V4, HTTP));
    expect(a.stdout).toContain('sgfw-ok');
    const m = await scrape(t, 'server', METRICS);
    expect(m.get('sgfw_reloads_total{result="failed"}')).toBe(1);
  });

  it('AWS: removing a rule keeps the established (tracked) connection; new ones fail', async () => {
    const go = join(dir, 'go-aws');
    const c = await persistentClient(t, 'client', SERVER_V4, LINES, go);
    writeJson(dir, 'policy.json', awsPolicy(BASE_INGRESS.filter((p) => p.FromPort !== LINES)));
    process.kill(sgfw.pid, 'SIGHUP');
    await new Promise((r) => setTimeout(r, 500));
    expect(sgfw.stderr()).toMatch(/generation 2 in force/);
    writeFileSync(go, '');
    await c.exited;
    expect(c.stdout()).toContain('got:echo:two');
    const fresh = await t.ncTcp('client', SERVER_V4, LINES, 'x', { timeoutS: 2 });
    expect(fresh.stdout).not.toContain('echo:');
  });

  it('on SIGTERM it stops with final counters and leaves no rule behind', async () => {
    await sgfw.kill('SIGTERM', 5000);
    expect(sgfw.stderr()).toMatch(/\(final\)/);
    for (const cmd of [['iptables-save'], ['ip6tables-save'], ['nft', 'list', 'ruleset']]) {
      const r = await t.exec('server', cmd);
      expect(r.stdout, cmd.join(' ')).not.toMatch(/sgfw|SGFW/);
    }
    expect(existsSync(join(dir, 'status'))).toBe(true);
  });

  it('a --metrics port already taken: it stops again at once, exit 1, no rule left behind', async () => {
    const taker = await t.httpServer('server', METRICS);
    try {
      const r = await t.exec('server', [process.execPath, CLI, 'run', '--host', '--policy', policyFile, '--metrics', `127.0.0.1:${METRICS}`],
        { timeoutMs: 20_000 });
      expect(r.timedOut).toBe(false);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/EADDRINUSE/);
      for (const cmd of [['iptables-save'], ['ip6tables-save'], ['nft', 'list', 'ruleset']]) {
        const l = await t.exec('server', cmd);
        expect(l.stdout, cmd.join(' ')).not.toMatch(/sgfw|SGFW/);
      }
    } finally {
      await taker.kill('SIGKILL');
    }
  });

  it('wrote finished flows as AWS VPC flow log records', () => {
    const lines = readFileSync(join(dir, 'flows.log'), 'utf8').trim().split('\n');
    expect(lines[0]).toBe('version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status');
    // the client's HTTP request (original direction) and the server's answer (reply direction)
    expect(lines.some((l) => new RegExp(`^2 - eni-srv ${CLIENT_V4} ${SERVER_V4} \\d+ ${HTTP} 6 \\d+ \\d+ \\d+ \\d+ ACCEPT OK$`).test(l))).toBe(true);
    expect(lines.some((l) => new RegExp(`^2 - eni-srv ${SERVER_V4} ${CLIENT_V4} ${HTTP} \\d+ 6 `).test(l))).toBe(true);
  });
});
