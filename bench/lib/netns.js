// Network namespaces for the live benchmarks (same rules as test/live/netns.ts, in plain JS so
// that `node bench/run.js` needs no TypeScript loader):
// - every namespace is created here, named `sgfwb-<pid>-<id>-<host>`; veths are created inside
//   them, never in the host's namespace;
// - addresses only from 198.18.0.0/15 and 2001:db8::/32: anything else is refused;
// - every command is bounded in time;
// - destroy() kills every process inside the namespaces and deletes them; it also runs on
//   process exit and on SIGINT/SIGTERM/SIGHUP (trap-style); namespaces of dead runs (same
//   prefix, pid gone) are swept before the first topology.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { killGroup, must, run, waitFor } from './util.js';

export const NS_PREFIX = `sgfwb-${process.pid}-`;

/** true for an address (with or without /len) in 198.18.0.0/15 or 2001:db8::/32. */
export function isBenchAddress(cidr) {
  const a = cidr.split('/')[0];
  if (/^198\.(18|19)\.\d{1,3}\.\d{1,3}$/.test(a)) return a.split('.').every((x) => Number(x) <= 255);
  return /^2001:0?db8:/i.test(a);
}

const live = new Set();
let handlers = false;
let swept = false;

function installHandlers() {
  if (handlers) return;
  handlers = true;
  process.on('exit', () => {
    for (const t of live) t.destroySync();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    const h = () => {
      for (const t of live) t.destroySync();
      process.removeListener(sig, h);
      process.kill(process.pid, sig);
    };
    process.on(sig, h);
  }
}

async function nsPids(ns) {
  const r = await run(['ip', 'netns', 'pids', ns], { timeoutMs: 5000 });
  return r.stdout.split(/\s+/).filter(Boolean).map(Number).filter((p) => Number.isInteger(p) && p > 1 && p !== process.pid);
}

/** Deletes namespaces sgfwb-<pid>-* whose pid is gone (left by a killed run). */
export async function sweepStale() {
  const r = await run(['ip', 'netns', 'list'], { timeoutMs: 5000 });
  for (const line of r.stdout.split('\n')) {
    const name = line.split(' ')[0];
    const m = /^sgfwb-(\d+)-/.exec(name ?? '');
    if (!m || existsSync(`/proc/${m[1]}`)) continue;
    for (const p of await nsPids(name)) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await run(['ip', 'netns', 'del', name], { timeoutMs: 5000 });
  }
}

/** Whether namespaces can be used here: { ok, reason }. */
export async function namespacesAvailable() {
  if (process.platform !== 'linux') return { ok: false, reason: 'not Linux' };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'not root' };
  const probe = `${NS_PREFIX}probe`;
  const add = await run(['ip', 'netns', 'add', probe], { timeoutMs: 5000 });
  if (add.code !== 0) return { ok: false, reason: `ip netns add fails: ${add.stderr.trim()}` };
  await run(['ip', 'netns', 'del', probe], { timeoutMs: 5000 });
  return { ok: true, reason: '' };
}

let counter = 0;

export class Topology {
  /**
   * spec: { name, hosts: [names], links: [{ a: { host, dev, addrs? }, b: { host, dev, addrs? } }] }
   * Creates namespaces (lo up, DAD and RA off, forwarding off) and veth pairs, all links up.
   */
  static async create(spec) {
    for (const l of spec.links) {
      for (const end of [l.a, l.b]) {
        for (const c of end.addrs ?? []) if (!isBenchAddress(c)) throw new Error(`${c} is outside 198.18.0.0/15 and 2001:db8::/32`);
      }
    }
    installHandlers();
    if (!swept) {
      swept = true;
      await sweepStale();
    }
    const t = new Topology(spec, `${(Date.now() % 1296).toString(36)}${counter++}`);
    live.add(t);
    try {
      await t.build();
    } catch (e) {
      await t.destroy();
      throw e;
    }
    return t;
  }

  constructor(spec, id) {
    this.spec = spec;
    this.nsOf = new Map(spec.hosts.map((h) => [h, `${NS_PREFIX}${id}-${h}`]));
    this.children = new Set();
    this.destroyed = false;
  }

  ns(host) {
    const n = this.nsOf.get(host);
    if (!n) throw new Error(`topology ${this.spec.name}: no host ${host}`);
    return n;
  }

  async build() {
    for (const ns of this.nsOf.values()) {
      await must(['ip', 'netns', 'add', ns]);
      await must(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0',
        'net.ipv6.conf.default.accept_ra=0', 'net.ipv6.conf.default.router_solicitations=0', 'net.ipv4.ip_forward=0',
        'net.ipv6.conf.all.forwarding=0']);
      await must(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    }
    for (const { a, b } of this.spec.links) {
      await must(['ip', '-n', this.ns(a.host), 'link', 'add', 'name', a.dev, 'type', 'veth', 'peer', 'name', b.dev, 'netns', this.ns(b.host)]);
      for (const end of [a, b]) {
        for (const c of end.addrs ?? []) {
          await must(['ip', '-n', this.ns(end.host), 'addr', 'add', c, 'dev', end.dev, ...(c.includes(':') ? ['nodad'] : [])]);
        }
        await must(['ip', '-n', this.ns(end.host), 'link', 'set', 'dev', end.dev, 'up']);
      }
    }
    for (const { a, b } of this.spec.links) {
      for (const end of [a, b]) {
        await waitFor(async () => (await this.exec(end.host, ['ip', 'link', 'show', 'dev', end.dev])).stdout.includes('LOWER_UP'), 5000,
          `${end.host}/${end.dev} up`);
      }
    }
  }

  /** Every (host, dev) of the topology. */
  devices() {
    return this.spec.links.flatMap(({ a, b }) => [a, b]);
  }

  exec(host, argv, opts = {}) {
    if (this.destroyed) throw new Error(`topology ${this.spec.name} destroyed`);
    return run(['ip', 'netns', 'exec', this.ns(host), ...argv], { timeoutMs: 10_000, ...opts });
  }

  mustExec(host, argv, opts = {}) {
    return must(['ip', 'netns', 'exec', this.ns(host), ...argv], { timeoutMs: 10_000, ...opts });
  }

  /** A long-running process in the host's namespace: { pid, out(), running(), exited, kill(sig, graceMs) }. */
  spawn(host, argv, { env } = {}) {
    const child = spawn('ip', ['netns', 'exec', this.ns(host), ...argv], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: env ?? process.env });
    this.children.add(child);
    let out = '';
    let done = false;
    child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (out += d));
    const exited = new Promise((resolve) => {
      child.on('error', (e) => {
        done = true;
        out += String(e);
        this.children.delete(child);
        resolve({ code: 127, signal: null });
      });
      child.on('close', (code, signal) => {
        done = true;
        this.children.delete(child);
        resolve({ code, signal });
      });
    });
    return {
      pid: child.pid,
      out: () => out,
      running: () => !done,
      exited,
      kill: async (signal = 'SIGTERM', graceMs = 3000) => {
        if (done) return exited;
        killGroup(child.pid, signal);
        const timer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), graceMs);
        const r = await exited;
        clearTimeout(timer);
        return r;
      },
    };
  }

  /** ethtool -K on every veth of the topology: checksum, SG, TSO, GSO, GRO on or off. */
  async setOffloads(on) {
    const v = on ? 'on' : 'off';
    for (const end of this.devices()) {
      await this.mustExec(end.host, ['ethtool', '-K', end.dev, 'rx', v, 'tx', v, 'sg', v, 'tso', v, 'gso', v, 'gro', v]);
    }
  }

  async destroy() {
    if (this.destroyed) return;
    this.destroyed = true;
    live.delete(this);
    for (const c of this.children) killGroup(c.pid, 'SIGKILL');
    for (const ns of this.nsOf.values()) {
      for (const p of await nsPids(ns)) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      await run(['ip', 'netns', 'del', ns], { timeoutMs: 5000 });
    }
  }

  destroySync() {
    if (this.destroyed) return;
    this.destroyed = true;
    live.delete(this);
    for (const c of this.children) killGroup(c.pid, 'SIGKILL');
    for (const ns of this.nsOf.values()) {
      try {
        const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] });
        for (const p of pids.split(/\s+/).filter(Boolean)) {
          const pid = Number(p);
          if (pid > 1 && pid !== process.pid) {
            try {
              process.kill(pid, 'SIGKILL');
            } catch {
              /* gone */
            }
          }
        }
      } catch {
        /* gone */
      }
      try {
        execFileSync('ip', ['netns', 'del', ns], { timeout: 5000, stdio: 'ignore' });
      } catch {
        /* gone */
      }
    }
  }
}

export const CLIENT_V4 = '198.18.0.1';
export const SERVER_V4 = '198.18.0.2';
export const CLIENT_V6 = '2001:db8::1';
export const SERVER_V6 = '2001:db8::2';

/** client(eth0) -- (outside)fw(inside) -- (eth0)server, one subnet; fw without addresses. */
export function inlineTopology(name) {
  return Topology.create({
    name,
    hosts: ['client', 'fw', 'server'],
    links: [
      { a: { host: 'client', dev: 'eth0', addrs: [`${CLIENT_V4}/24`, `${CLIENT_V6}/64`] }, b: { host: 'fw', dev: 'outside' } },
      { a: { host: 'fw', dev: 'inside' }, b: { host: 'server', dev: 'eth0', addrs: [`${SERVER_V4}/24`, `${SERVER_V6}/64`] } },
    ],
  });
}

/** client(eth0) -- (eth0)server: for a firewall on the server itself. */
export function hostTopology(name) {
  return Topology.create({
    name,
    hosts: ['client', 'server'],
    links: [{ a: { host: 'client', dev: 'eth0', addrs: [`${CLIENT_V4}/24`, `${CLIENT_V6}/64`] }, b: { host: 'server', dev: 'eth0', addrs: [`${SERVER_V4}/24`, `${SERVER_V6}/64`] } }],
  });
}

/**
 * Linux forwarding in the fw namespace of an inline topology, with the client and server
 * unchanged (one subnet): fw gets a /32 per side, host routes to each peer through its side,
 * proxy ARP (no delay) so each side reaches the other through fw, and IPv4 forwarding on.
 * IPv4 only: the benchmarks' traffic is IPv4.
 */
export async function enableRouting(t) {
  await t.mustExec('fw', ['ip', 'addr', 'add', '198.18.0.253/32', 'dev', 'outside']);
  await t.mustExec('fw', ['ip', 'addr', 'add', '198.18.0.254/32', 'dev', 'inside']);
  await t.mustExec('fw', ['ip', 'route', 'add', `${CLIENT_V4}/32`, 'dev', 'outside']);
  await t.mustExec('fw', ['ip', 'route', 'add', `${SERVER_V4}/32`, 'dev', 'inside']);
  await t.mustExec('fw', ['sysctl', '-qw', 'net.ipv4.conf.outside.proxy_arp=1', 'net.ipv4.conf.inside.proxy_arp=1',
    'net.ipv4.neigh.outside.proxy_delay=0', 'net.ipv4.neigh.inside.proxy_delay=0', 'net.ipv4.ip_forward=1']);
}
