// `sgfw run --inline outside:inside` between a client and a server namespace (issue 4), and
// `sgfw monitor` beside it: allowed connections work end to end, denied ones fail, replies
// of allowed flows pass, a large transfer needs full-size (offloaded) frames, reloads keep
// an AWS tracked connection and an added Alibaba Drop rule cuts one.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canUseNamespaces, CLIENT_V4, inlineTopology, SERVER_V4, SERVER_V6, type Spawned, type Topology } from './netns.js';
import { lineEchoServer, persistentClient, scrape, startSgfw, tempDir, writeJson } from './live-helpers.js';

const avail = await canUseNamespaces();
if (!avail.ok) console.warn(`test/live/inline-mode.test.ts: skipped: ${avail.reason}`);

const HTTP = 8080;
const DENIED = 9001;
const UDP_OK = 9000;
const LINES = 9100;
const METRICS = 9476;
const MON_METRICS = 9477;

type Perm = Record<string, unknown>;
const both = { IpRanges: [{ CidrIp: '198.18.0.0/24' }], Ipv6Ranges: [{ CidrIpv6: '2001:db8::/64' }] };
const tcp = (port: number): Perm => ({ IpProtocol: 'tcp', FromPort: port, ToPort: port, ...both });

function aws(ports: number[]): unknown {
  return {
    cloud: 'aws',
    interfaces: [{ id: 'eni-srv', addresses: [SERVER_V4, SERVER_V6], securityGroups: ['sg-srv'] }],
    securityGroups: [{
      GroupId: 'sg-srv',
      IpPermissions: [
        ...ports.map(tcp),
        { IpProtocol: 'udp', FromPort: UDP_OK, ToPort: UDP_OK, IpRanges: [{ CidrIp: `${CLIENT_V4}/32` }] },
        { IpProtocol: 'icmp', FromPort: -1, ToPort: -1, IpRanges: [{ CidrIp: '198.18.0.0/24' }] },
        { IpProtocol: 'icmpv6', FromPort: -1, ToPort: -1, Ipv6Ranges: [{ CidrIpv6: '2001:db8::/64' }] },
      ],
      IpPermissionsEgress: [],
    }],
  };
}

function alibaba(extra: Perm[]): unknown {
  const accept = (port: number, prio: string): Perm => ({
    Direction: 'ingress', Policy: 'Accept', Priority: prio, IpProtocol: 'TCP', PortRange: `${port}/${port}`, SourceCidrIp: '198.18.0.0/24',
  });
  return {
    cloud: 'alibaba',
    interfaces: [{ id: 'eni-srv', addresses: [SERVER_V4], securityGroups: ['sg-srv'] }],
    securityGroups: [{ SecurityGroupId: 'sg-srv', Permissions: { Permission: [accept(HTTP, '10'), accept(LINES, '10'), ...extra] } }],
  };
}

describe.skipIf(!avail.ok)('sgfw run --inline (AF_PACKET) between client and server', () => {
  let t: Topology;
  let dir: string;
  let sgfw: Spawned | undefined;
  let monitor: Spawned | undefined;
  const servers: Spawned[] = [];
  let policy: string;

  async function start(policyValue: unknown, extra: string[] = []): Promise<void> {
    await sgfw?.kill('SIGTERM', 5000);
    writeJson(dir, 'policy.json', policyValue);
    sgfw = await startSgfw(t, 'fw', ['run', '--inline', 'outside:inside', '--policy', policy, '--metrics', `127.0.0.1:${METRICS}`, ...extra], /generation 1/);
  }

  /** Rewrite the policy and reload: by SIGHUP, or (signal false) by --watch seeing the file change. */
  async function reload(policyValue: unknown, gen: number, signal = true): Promise<void> {
    writeJson(dir, 'policy.json', policyValue);
    if (signal) process.kill(sgfw!.pid, 'SIGHUP');
    const until = Date.now() + 5000;
    while (!new RegExp(`generation ${gen} in force`).test(sgfw!.stderr()) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(sgfw!.stderr()).toMatch(new RegExp(`generation ${gen} in force`));
  }

  beforeAll(async () => {
    t = await inlineTopology('inline');
    dir = tempDir();
    policy = join(dir, 'policy.json');
    servers.push(await t.httpServer('server', HTTP), await t.echoServer('server', DENIED), await t.echoServer('server', UDP_OK));
    servers.push(await lineEchoServer(t, 'server', LINES));
    await start(aws([HTTP, LINES]));
  }, 60_000);

  afterAll(async () => {
    await sgfw?.kill('SIGTERM', 5000);
    await monitor?.kill('SIGTERM', 5000);
    for (const s of servers) await s.kill('SIGKILL');
    await t?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses to start when the kernel would route around it', async () => {
    await t.mustExec('fw', ['ip', 'addr', 'add', '198.18.0.250/32', 'dev', 'outside']);
    await t.mustExec('fw', ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    try {
      const r = await t.exec('fw', [process.execPath, join(import.meta.dirname, '..', '..', 'dist', 'cli', 'bin.js'), 'run', '--inline', 'outside:inside', '--policy', policy, '--duration', '1']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/REFUSED: IP forwarding is on/);
      expect(r.stderr).toMatch(/fix: sysctl -w net.ipv4.ip_forward=0/);
    } finally {
      await t.mustExec('fw', ['sysctl', '-qw', 'net.ipv4.ip_forward=0']);
      await t.mustExec('fw', ['ip', 'addr', 'flush', 'dev', 'outside']);
    }
  });

  it('allowed TCP (IPv4, IPv6), UDP and ping pass with their replies; denied TCP fails', async () => {
    expect((await t.curl('client', t.url(SERVER_V4, HTTP))).stdout).toContain('sgfw-ok');
    expect((await t.curl('client', t.url(SERVER_V6, HTTP))).stdout).toContain('sgfw-ok');
    expect((await t.ncUdp('client', SERVER_V4, UDP_OK, 'u')).stdout).toContain('echo:u');
    expect((await t.ping('client', SERVER_V4, { count: 2 })).code).toBe(0);
    expect((await t.ping('client', SERVER_V6, { count: 2 })).code).toBe(0);
    const denied = await t.ncTcp('client', SERVER_V4, DENIED, 'x', { timeoutS: 2 });
    expect(denied.stdout).not.toContain('echo:');
  });

  it('a large transfer crosses at full size (offloaded super-frames)', async () => {
    const n = 20_000_000;
    const r = await t.curl('client', t.url(SERVER_V4, HTTP, `/bytes/${n}`), { timeoutS: 20, args: ['-o', '/dev/null', '-w', '%{size_download}'] });
    expect(Number(r.stdout)).toBe(n);
  });

  it('counts per rule, per reason and per port in metrics', async () => {
    const m = await scrape(t, 'fw', METRICS);
    expect(m.get('sgfw_rule_hits_total{rule="sg-srv:ingress:0"}') ?? 0).toBeGreaterThanOrEqual(3);
    expect(m.get('sgfw_verdicts_total{reason="default"}') ?? 0).toBeGreaterThanOrEqual(1);
    expect(m.get('sgfw_port_received_total{port="outside"}') ?? 0).toBeGreaterThan(0);
    expect(m.get('sgfw_port_forwarded_total{port="inside"}') ?? 0).toBeGreaterThan(0);
    expect(m.has('sgfw_port_ring_drops_total{port="outside"}')).toBe(true);
    // Busy polling (the large transfer above may or may not have been dense enough to start it).
    const polls = m.get('sgfw_busy_polls_total');
    expect(polls).toBeGreaterThanOrEqual(0);
    expect(m.get('sgfw_busy_poll_hits_total')).toBeLessThanOrEqual(polls ?? -1);
  });

  it('AWS: a reload that removes the rule keeps the established connection', async () => {
    const go = join(dir, 'go-aws');
    const c = await persistentClient(t, 'client', SERVER_V4, LINES, go);
    await reload(aws([HTTP]), 2);
    writeFileSync(go, '');
    await c.exited;
    expect(c.stdout()).toContain('got:echo:two');
    expect((await t.ncTcp('client', SERVER_V4, LINES, 'x', { timeoutS: 2 })).stdout).not.toContain('echo:');
  });

  it('monitor counts what run would drop, without enforcing', async () => {
    // run enforces aws([HTTP]) since the previous test's reload; monitor reads the same file.
    // monitor watches the client's NIC: it sees every packet run judges on the way in.
    const verdicts = join(dir, 'monitor.jsonl');
    const dropped = join(dir, 'monitor-dropped.pcap');
    monitor = await startSgfw(t, 'client', ['monitor', '--interface', 'eth0', '--policy', policy, '--metrics', `127.0.0.1:${MON_METRICS}`,
      '--verdicts', verdicts, '--write-dropped', dropped], /generation 1/);
    // Inbound drops at the server's interface: the server's own packets of the connection the
    // previous test cut are dropped on their way out by run and never reach the client's NIC.
    const key = 'sgfw_interface_packets_total{interface="eni-srv",direction="ingress",verdict="drop"}';
    const drops = async () => [
      (await scrape(t, 'fw', METRICS)).get(key) ?? 0,
      (await scrape(t, 'client', MON_METRICS)).get(key) ?? 0,
    ];
    const [run0, mon0] = await drops();
    await t.ncTcp('client', SERVER_V4, LINES, 'x', { timeoutS: 2 }); // no longer allowed: SYNs dropped
    expect((await t.curl('client', t.url(SERVER_V4, HTTP))).stdout).toContain('sgfw-ok');
    await new Promise((r) => setTimeout(r, 300));
    const [run1, mon1] = await drops();
    expect(run1! - run0!).toBeGreaterThanOrEqual(1);
    expect(mon1! - mon0!).toBe(run1! - run0!);
    const mon = await scrape(t, 'client', MON_METRICS);
    expect(mon.get('sgfw_rule_hits_total{rule="sg-srv:ingress:0"}') ?? 0).toBeGreaterThanOrEqual(1);
    // --verdicts and --write-dropped, as in replay: one line per judged packet, the drops as a pcap.
    await monitor.kill('SIGTERM', 5000);
    const lines = readFileSync(verdicts, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { i: number; verdict: string; reason: string; rule: string | null });
    const defaultDrops = lines.filter((l) => l.verdict === 'drop' && l.reason === 'default');
    expect(defaultDrops.length).toBeGreaterThanOrEqual(mon1! - mon0!);
    expect(lines.some((l) => l.rule === 'sg-srv:ingress:0')).toBe(true);
    const pcap = readFileSync(dropped);
    let records = 0;
    for (let off = 24; off + 16 <= pcap.length; off += 16 + pcap.readUInt32LE(off + 8)) records++;
    expect(records).toBe(lines.filter((l) => l.verdict === 'drop').length);
  });
  it('Alibaba: a reload that adds a Drop rule cuts the established connection', async () => {
    await start(alibaba([]), ['--watch']);
    const go = join(dir, 'go-ali');
    const c = await persistentClient(t, 'client', SERVER_V4, LINES, go);
    const drop = {
      SecurityGroupRuleId: 'sgr-cut', Direction: 'ingress', Policy: 'Drop', Priority: '1', IpProtocol: 'TCP',
      PortRange: `${LINES}/${LINES}`, SourceCidrIp: `${CLIENT_V4}/32`,
    };
    await reload(alibaba([drop]), 2, false); // --watch picks the change up
    writeFileSync(go, '');
    await c.exited;
    expect(c.stdout()).not.toContain('got:echo:two');
    const m = await scrape(t, 'fw', METRICS);
    expect(m.get('sgfw_rule_hits_total{rule="sgr-cut"}') ?? 0).toBeGreaterThanOrEqual(1);
    expect(m.get('sgfw_exceptions_total{kind="rule-change-cut"}') ?? 0).toBe(1);
  });

});
