// src/host/netfilter.ts against the real kernel, inside a client and a server namespace joined
// by a veth pair (198.18.20.1/.2, 2001:db8:20::1/::2). The server namespace is "the host": its
// rules are installed there with no sgfw reader bound, so --queue-bypass (fail-open) must let
// traffic through and fail-closed must hold it. Needs root (skipped with a warning otherwise).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  NetfilterError,
  cleanup,
  detectQueueSupport,
  findLeftovers,
  installRules,
  removeRules,
} from '../../src/host/netfilter.js';

const PREFIX = `sgfw-t${process.pid}-host`;
const CLI = `${PREFIX}-c`;
const SRV = `${PREFIX}-s`;
const SRV4 = '198.18.20.2';
const CLI4 = '198.18.20.1';
const SRV6 = '2001:db8:20::2';
const CLI6 = '2001:db8:20::1';

function sh(cmd: string, args: string[]): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 15_000 });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}
const inNs = (ns: string, ...args: string[]) => sh('ip', ['netns', 'exec', ns, ...args]);

function canUseNetns(): string | null {
  if (process.getuid?.() !== 0) return 'not root';
  if (!sh('ip', ['-V']).ok) return 'iproute2 missing';
  if (!sh('ping', ['-V']).ok) return 'ping missing (apt-get install iputils-ping)';
  return null;
}
const skipWhy = canUseNetns();
if (skipWhy) console.warn(`test/host/netfilter-netns: skipped: ${skipWhy} (needs root, iproute2, iptables, ping)`);

/** Namespaces of this suite left by dead test processes. */
function removeStale(): void {
  const dir = '/var/run/netns';
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    const m = /^sgfw-t(\d+)-host-[cs]$/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (!alive) sh('ip', ['netns', 'del', name]);
  }
}

function setup(): void {
  removeStale();
  const cmds: string[][] = [
    ['netns', 'add', CLI],
    ['netns', 'add', SRV],
    ['-n', CLI, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1', 'netns', SRV],
    ['-n', CLI, 'link', 'set', 'lo', 'up'],
    ['-n', SRV, 'link', 'set', 'lo', 'up'],
    ['-n', CLI, 'addr', 'add', `${CLI4}/24`, 'dev', 'v0'],
    ['-n', SRV, 'addr', 'add', `${SRV4}/24`, 'dev', 'v1'],
    ['-n', CLI, 'addr', 'add', `${CLI6}/64`, 'dev', 'v0', 'nodad'],
    ['-n', SRV, 'addr', 'add', `${SRV6}/64`, 'dev', 'v1', 'nodad'],
    ['-n', CLI, 'link', 'set', 'v0', 'up'],
    ['-n', SRV, 'link', 'set', 'v1', 'up'],
  ];
  for (const c of cmds) execFileSync('ip', c, { stdio: 'pipe' });
  // Rules of someone else that must survive us untouched.
  execFileSync('ip', ['netns', 'exec', SRV, 'iptables', '-t', 'mangle', '-A', 'INPUT', '-p', 'tcp', '--dport', '9', '-j', 'ACCEPT']);
  execFileSync('ip', ['netns', 'exec', SRV, 'iptables', '-A', 'INPUT', '-p', 'udp', '--dport', '9', '-j', 'ACCEPT']);
  execFileSync('ip', ['netns', 'exec', SRV, 'ip6tables', '-t', 'mangle', '-A', 'OUTPUT', '-p', 'udp', '--dport', '9', '-j', 'ACCEPT']);
}

function teardown(): void {
  sh('ip', ['netns', 'del', CLI]);
  sh('ip', ['netns', 'del', SRV]);
}

/** Everything netfilter holds in the server namespace, for before/after comparison. */
function snapshot(): string {
  const parts = [
    inNs(SRV, 'iptables', '-t', 'mangle', '-S').out,
    inNs(SRV, 'iptables', '-S').out,
    inNs(SRV, 'ip6tables', '-t', 'mangle', '-S').out,
    inNs(SRV, 'ip6tables', '-S').out,
    inNs(SRV, 'nft', 'list', 'ruleset').out.replace(/counter packets \d+ bytes \d+/g, 'counter'),
  ];
  return parts.join('\n----\n');
}

/** True when every echo of a short ping is answered. */
const ping = (from: string, to: string) => inNs(from, 'ping', '-n', '-q', '-c', '2', '-i', '0.2', '-W', '1', to).ok;

const opts = (failOpen: boolean) => ({
  addresses: [SRV4, SRV6],
  queues: { first: 3, last: 4 },
  failOpen,
  netns: SRV,
});

describe.skipIf(skipWhy !== null)('netfilter rules in a namespace', () => {
  beforeAll(setup);
  afterAll(teardown);

  it('detection matches the kernel configuration and leaves nothing behind', () => {
    const hostBefore = [sh('nft', ['list', 'ruleset']).out, sh('iptables', ['-t', 'mangle', '-S']).out].join('\n');
    const s = detectQueueSupport();
    let config = '';
    try {
      config = gunzipSync(readFileSync('/proc/config.gz')).toString('utf8');
    } catch {
      // no kernel config: check consistency only
    }
    if (config) {
      const has = (k: string) => new RegExp(`^${k}=[ym]$`, 'm').test(config);
      expect(s.nft.ok).toBe(has('CONFIG_NFT_QUEUE'));
      expect(s.iptables.ok).toBe(has('CONFIG_NETFILTER_XT_TARGET_NFQUEUE'));
    }
    expect(s.mechanism).toBe(s.nft.ok ? 'nft' : s.iptables.ok ? 'iptables' : null);
    expect(s.line.split('\n').length).toBe(1);
    if (s.mechanism === 'iptables') expect(s.line).toMatch(/^netfilter: using the iptables NFQUEUE target \(iptables v[\d.]+/);
    if (s.mechanism === 'nft') expect(s.line).toMatch(/^netfilter: using the nftables queue statement/);
    console.log(s.line);
    const hostAfter = [sh('nft', ['list', 'ruleset']).out, sh('iptables', ['-t', 'mangle', '-S']).out].join('\n');
    expect(hostAfter).toBe(hostBefore);
  });

  it('fail-closed: the host’s ingress and egress are held with no reader, loopback is not; removal restores everything', () => {
    expect(ping(CLI, SRV4)).toBe(true);
    const before = snapshot();
    const h = installRules(opts(false));
    try {
      expect(snapshot()).not.toBe(before);
      expect(findLeftovers({ netns: SRV }).length).toBeGreaterThan(0);
      expect(ping(CLI, SRV4)).toBe(false); // ingress
      expect(ping(CLI, SRV6)).toBe(false);
      expect(ping(SRV, CLI4)).toBe(false); // egress
      expect(ping(SRV, SRV4)).toBe(true); // the host to itself goes over lo
    } finally {
      removeRules(h);
    }
    expect(snapshot()).toBe(before);
    expect(findLeftovers({ netns: SRV })).toEqual([]);
    expect(ping(CLI, SRV4)).toBe(true);
  });

  it('fail-open: --queue-bypass lets traffic through the queue rules with no reader', () => {
    const before = snapshot();
    const h = installRules(opts(true));
    try {
      expect(ping(CLI, SRV4)).toBe(true);
      expect(ping(CLI, SRV6)).toBe(true);
      expect(ping(SRV, CLI4)).toBe(true);
      if (h.mechanism === 'iptables') {
        // The packets did go through our queue rules (and were bypassed).
        const v = inNs(SRV, 'iptables', '-t', 'mangle', '-L', 'SGFW-IN', '-n', '-v', '-x').out;
        const row = v.split('\n').find((l) => l.includes('NFQUEUE') && l.includes(SRV4));
        expect(row).toBeDefined();
        expect(Number(row!.trim().split(/\s+/)[0])).toBeGreaterThanOrEqual(4);
        expect(row).toContain('balance 3:4 bypass');
      }
    } finally {
      removeRules(h);
    }
    expect(snapshot()).toBe(before);
  });

  it('cleanup() removes what a crashed run left, and installRules() refuses until then', () => {
    const before = snapshot();
    installRules(opts(false)); // the handle is lost: a crash
    expect(() => installRules(opts(false))).toThrow(/already installed/);
    const removed = cleanup({ netns: SRV });
    expect(removed.length).toBeGreaterThan(0);
    expect(removed.some((r) => r.includes('SGFW-IN'))).toBe(true);
    expect(snapshot()).toBe(before);
    expect(cleanup({ netns: SRV })).toEqual([]);
    expect(ping(CLI, SRV4)).toBe(true);
  });

  it('the nft mechanism: installs and removes its own table when the kernel has nft_queue, else fails naming the command', () => {
    const before = snapshot();
    const s = detectQueueSupport();
    if (s.nft.ok) {
      const h = installRules({ ...opts(true), mechanism: 'nft' });
      expect(inNs(SRV, 'nft', 'list', 'table', 'inet', 'sgfw').ok).toBe(true);
      expect(ping(CLI, SRV4)).toBe(true);
      removeRules(h);
    } else {
      let err: unknown;
      try {
        installRules({ ...opts(true), mechanism: 'nft' });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(NetfilterError);
      expect((err as NetfilterError).command).toBe(`ip netns exec ${SRV} nft -f -`);
      expect((err as NetfilterError).message).toMatch(/nft -f - failed \(exit 1\): .*No such file or directory/);
    }
    expect(snapshot()).toBe(before);
  });
});
