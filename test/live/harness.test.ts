// The namespace harness itself (test/live/netns.ts): topologies come up, real clients reach
// real servers through a kernel-router baseline and not without it, and nothing is left behind,
// neither by destroy() nor by a process that exits or is killed with a topology still up.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  CLIENT_V4,
  CLIENT_V6,
  FW_ROUTER_ADDRS,
  NS_PREFIX,
  SERVER_V4,
  SERVER_V6,
  Topology,
  canUseNamespaces,
  hostTopology,
  inlineTopology,
  isTestAddress,
  listNamespaces,
  run,
  sweepStale,
  waitFor,
} from './netns.js';

const avail = await canUseNamespaces();
if (!avail.ok) console.warn(`test/live/harness.test.ts: skipped: network namespaces unavailable: ${avail.reason}`);

const HTTP_PORT = 8080;
const ECHO_PORT = 9000;

describe('harness safety checks (no namespaces needed)', () => {
  it('accepts only 198.18.0.0/15 and 2001:db8::/32', () => {
    expect(isTestAddress('198.18.0.1')).toBe(true);
    expect(isTestAddress('198.19.255.254/24')).toBe(true);
    expect(isTestAddress('2001:db8:ffff::1/64')).toBe(true);
    expect(isTestAddress('198.20.0.1')).toBe(false);
    expect(isTestAddress('10.0.0.1/8')).toBe(false);
    expect(isTestAddress('2001:db9::1')).toBe(false);
    expect(isTestAddress('::ffff:198.18.0.1')).toBe(false);
    expect(isTestAddress('not-an-address')).toBe(false);
  });

  it('refuses a topology with an address outside the test ranges before creating anything', async () => {
    const before = await listNamespaces().catch((): string[] => []);
    await expect(
      Topology.create({
        name: 'bad',
        hosts: ['a', 'b'],
        links: [{ a: { host: 'a', dev: 'eth0', addrs: ['10.1.2.3/24'] }, b: { host: 'b', dev: 'eth0' } }],
      }),
    ).rejects.toThrow(/outside 198\.18\.0\.0\/15/);
    await expect(
      Topology.create({ name: 'bad', hosts: ['a'], links: [{ a: { host: 'a', dev: 'x' }, b: { host: 'zz', dev: 'y' } }] }),
    ).rejects.toThrow(/unknown host "zz"/);
    const after = await listNamespaces().catch((): string[] => []);
    expect(after.filter((n) => n.startsWith(NS_PREFIX) && !before.includes(n))).toEqual([]);
  });

  it('waitFor resolves on a true predicate and throws naming what it waited for', async () => {
    let n = 0;
    await waitFor(() => ++n >= 3, 1000, 'three polls', 1);
    expect(n).toBe(3);
    await expect(waitFor(() => false, 50, 'never')).rejects.toThrow(/never not reached within 50 ms/);
  });
});

describe.skipIf(!avail.ok)('inline topology: client -- fw -- server', () => {
  let topo: Topology;

  beforeAll(async () => {
    topo = await inlineTopology();
    await topo.httpServer('server', HTTP_PORT);
    await topo.echoServer('server', ECHO_PORT);
  });
  afterAll(async () => {
    await topo?.destroy();
  });

  it('has the fixed addresses and fw has none', async () => {
    expect(topo.addr('client', 4)).toBe(CLIENT_V4);
    expect(topo.addr('server', 6)).toBe(SERVER_V6);
    const fw = await topo.mustExec('fw', ['ip', '-o', 'addr', 'show', 'scope', 'global']);
    expect(fw.stdout.trim()).toBe('');
    const fwd = await topo.mustExec('fw', ['sysctl', '-n', 'net.ipv4.ip_forward', 'net.ipv6.conf.all.forwarding']);
    expect(fwd.stdout.split('\n').filter(Boolean)).toEqual(['0', '0']);
    const links = await topo.mustExec('fw', ['ip', '-o', 'link', 'show', 'type', 'veth']);
    expect(links.stdout).toMatch(/ outside@/);
    expect(links.stdout).toMatch(/ inside@/);
  });

  it('the server answers on its own namespace (servers really run there)', async () => {
    const r = await topo.curl('server', topo.url(SERVER_V4, HTTP_PORT));
    expect(r.stdout).toBe('sgfw-ok server\n');
  });

  it('without forwarding in fw, the client does not reach the server', async () => {
    // Each attempt must wait out its timeout: run them side by side.
    const [p4, p6, c, t, u] = await Promise.all([
      topo.ping('client', SERVER_V4, { count: 2 }),
      topo.ping('client', SERVER_V6, { count: 2 }),
      topo.curl('client', topo.url(SERVER_V4, HTTP_PORT), { timeoutS: 2 }),
      topo.ncTcp('client', SERVER_V6, ECHO_PORT, 'hello-tcp', { timeoutS: 2 }),
      topo.ncUdp('client', SERVER_V4, ECHO_PORT, 'hello-udp', { timeoutS: 1 }),
    ]);
    expect(p4.code).not.toBe(0);
    expect(p4.stdout).toMatch(/2 packets transmitted, 0 received/);
    expect(p6.code).not.toBe(0);
    expect(c.code).not.toBe(0);
    expect(c.stdout).toBe('');
    expect(t.stdout).not.toContain('echo:');
    expect(u.stdout).not.toContain('echo:');
  });

  it('with fw as a kernel router (addresses, proxy ARP/NDP, forwarding on), every client reaches the server', async () => {
    await topo.enableRouting('fw', FW_ROUTER_ADDRS);

    const p4 = await topo.ping('client', SERVER_V4, { count: 3 });
    expect(p4.code, p4.stdout + p4.stderr).toBe(0);
    expect(p4.stdout).toMatch(/3 packets transmitted, 3 received/);
    const p6 = await topo.ping('client', SERVER_V6, { count: 3 });
    expect(p6.code, p6.stdout + p6.stderr).toBe(0);

    for (const addr of [SERVER_V4, SERVER_V6]) {
      const c = await topo.curl('client', topo.url(addr, HTTP_PORT));
      expect(c.code, c.stderr).toBe(0);
      expect(c.stdout).toBe('sgfw-ok server\n');
      const t = await topo.ncTcp('client', addr, ECHO_PORT, `hello-tcp ${addr}`);
      expect(t.stdout).toBe(`echo:hello-tcp ${addr}`);
      const u = await topo.ncUdp('client', addr, ECHO_PORT, `hello-udp ${addr}`);
      expect(u.stdout).toBe(`echo:hello-udp ${addr}`);
    }

    // A large transfer: full-size frames across both veth pairs.
    const big = await topo.curl('client', topo.url(SERVER_V4, HTTP_PORT, '/bytes/8000000'), {
      timeoutS: 10,
      args: ['-o', '/dev/null', '-w', '%{size_download}'],
    });
    expect(big.code, big.stderr).toBe(0);
    expect(big.stdout).toBe('8000000');

    // The client really went through fw: the server saw the client's own address.
    const seen = await topo.mustExec('server', ['ip', 'neigh', 'show', 'dev', 'eth0']);
    expect(seen.stdout).toContain(CLIENT_V4);
  });

  it('with forwarding turned off again, the client no longer reaches the server', async () => {
    await topo.disableRouting('fw');
    const [p4, p6, c, u] = await Promise.all([
      topo.ping('client', SERVER_V4, { count: 2 }),
      topo.ping('client', SERVER_V6, { count: 2 }),
      topo.curl('client', topo.url(SERVER_V4, HTTP_PORT), { timeoutS: 2 }),
      topo.ncUdp('client', SERVER_V6, ECHO_PORT, 'late', { timeoutS: 1 }),
    ]);
    expect(p4.code).not.toBe(0);
    expect(p6.code).not.toBe(0);
    expect(c.code).not.toBe(0);
    expect(u.stdout).not.toContain('echo:');
  });

  it('setOffloads turns checksum, TSO, GSO and GRO offloads off and on', async () => {
    await topo.setOffloads('fw', 'outside', 'off');
    let o = await topo.offloads('fw', 'outside');
    for (const k of ['tx-checksumming', 'rx-checksumming', 'tcp-segmentation-offload', 'generic-segmentation-offload', 'generic-receive-offload']) {
      expect(o[k], k).toBe(false);
    }
    await topo.setOffloads('fw', 'outside', true);
    o = await topo.offloads('fw', 'outside');
    expect(o['generic-receive-offload']).toBe(true);
    expect(o['tcp-segmentation-offload']).toBe(true);
  });

  it('exec is bounded by its timeout and kills the command', async () => {
    const t0 = Date.now();
    const r = await topo.exec('client', 'sleep 20; echo late', { timeoutMs: 300 });
    expect(r.timedOut).toBe(true);
    expect(r.stdout).toBe('');
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});

describe.skipIf(!avail.ok)('host topology: client -- server', () => {
  let topo: Topology;
  beforeAll(async () => {
    topo = await hostTopology();
  });
  afterAll(async () => {
    await topo?.destroy();
  });

  it('client and server reach each other directly over IPv4 and IPv6', async () => {
    expect((await topo.ping('client', SERVER_V4, { count: 2 })).code).toBe(0);
    expect((await topo.ping('server', CLIENT_V6, { count: 2 })).code).toBe(0);
    await topo.echoServer('server', ECHO_PORT);
    const u = await topo.ncUdp('client', SERVER_V6, ECHO_PORT, 'u6');
    expect(u.stdout).toBe('echo:u6');
    const t = await topo.ncTcp('client', SERVER_V4, ECHO_PORT, 't4');
    expect(t.stdout).toBe('echo:t4');
  });
});

describe.skipIf(!avail.ok)('cleanup', () => {
  it('destroy() kills processes in the namespaces and removes every namespace and veth', async () => {
    const topo = await inlineTopology('cleanup');
    const names = topo.namespaces();
    expect(names).toHaveLength(3);
    for (const n of names) expect(n.startsWith(NS_PREFIX)).toBe(true);
    const sleeper = topo.spawn('fw', ['sleep', '60']);
    await waitFor(async () => (await run(['ip', 'netns', 'pids', topo.ns('fw')])).stdout.includes(String(sleeper.pid)), 3000, 'sleeper in fw');
    const vethIndexes = (await topo.mustExec('fw', ['ip', '-o', 'link', 'show', 'type', 'veth'])).stdout;
    expect(vethIndexes).toMatch(/outside@/);

    await topo.destroy();
    await topo.destroy(); // idempotent

    const left = await listNamespaces();
    for (const n of names) expect(left).not.toContain(n);
    const r = await sleeper.exited;
    expect(r.signal).toBe('SIGKILL');
    // The veths lived only in the deleted namespaces and none was ever in the host's.
    const host = await run(['ip', '-o', 'link', 'show', 'type', 'veth']);
    expect(host.stdout).not.toMatch(/: (outside|inside)@/);
    expect(() => topo.exec('client', 'true')).toThrow(/destroyed/);
  });

  it('sweepStale removes namespaces of dead runs and keeps those of live ones', async () => {
    // A pid that is surely dead: a process that has exited and been reaped.
    const dead = spawn('true');
    const deadPid = dead.pid!;
    await new Promise((r) => dead.on('close', r));
    const staleNs = `sgfw-${deadPid}-0-stale`;
    const liveNs = `${NS_PREFIX}keep`;
    expect((await run(['ip', 'netns', 'add', staleNs])).code).toBe(0);
    expect((await run(['ip', 'netns', 'add', liveNs])).code).toBe(0);
    try {
      const removed = await sweepStale();
      expect(removed).toContain(staleNs);
      expect(removed).not.toContain(liveNs);
      const left = await listNamespaces();
      expect(left).not.toContain(staleNs);
      expect(left).toContain(liveNs);
    } finally {
      await run(['ip', 'netns', 'del', liveNs]);
      await run(['ip', 'netns', 'del', staleNs]);
    }
  });

  // A separate process builds a topology and never calls destroy(): the exit and signal
  // handlers must remove it.
  const harness = resolve(import.meta.dirname, 'netns.ts');
  const viteNode = resolve(import.meta.dirname, '../../node_modules/.bin/vite-node');

  async function orphanRun(ending: 'exit' | 'SIGTERM' | 'SIGINT'): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'sgfw-harness-'));
    const script = join(dir, 'orphan.ts');
    writeFileSync(
      script,
      `import { hostTopology } from ${JSON.stringify(harness)};
       const t = await hostTopology('orphan');
       t.spawn('server', ['sleep', '60']);
       console.log('NS ' + t.namespaces().join(' '));
       ${ending === 'exit' ? 'process.exit(0);' : 'setInterval(() => {}, 1000);'}
      `,
    );
    try {
      const child = spawn(viteNode, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
      const closed = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await waitFor(() => /NS .+\n/.test(out) || child.exitCode !== null, 25_000, 'orphan topology up');
      const names = /NS (.+)\n/.exec(out)?.[1]?.split(' ') ?? [];
      expect(names, out).toHaveLength(2);
      if (ending !== 'exit') {
        expect(await listNamespaces()).toEqual(expect.arrayContaining(names));
        child.kill(ending);
      }
      await closed;
      clearTimeout(timer);
      const left = await listNamespaces();
      for (const n of names) expect(left, out).not.toContain(n);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('a process that exits with a topology up leaves nothing behind', async () => {
    await orphanRun('exit');
  });

  it('a process killed by SIGTERM with a topology up leaves nothing behind', async () => {
    await orphanRun('SIGTERM');
  });
});
