// Network-namespace test harness for the live tests (vitest): builds topologies of namespaces
// joined by veth pairs, runs real clients and servers inside them, and removes everything
// afterwards, also when a test fails or the process is interrupted.
//
// Safety (hard rules of the live tests):
// - every namespace is created here and named `sgfw-<pid>-<id>-<host>`; veths are created inside
//   them (`ip -n NS link add ... peer ... netns OTHER`), never in the host's namespace;
// - addresses only from 198.18.0.0/15 and 2001:db8::/32: anything else is refused;
// - every command has a timeout, every wait a deadline;
// - destroy() kills every process inside the namespaces and deletes them; it also runs on
//   process exit and on SIGINT/SIGTERM/SIGHUP; stale namespaces of dead runs (same prefix,
//   pid no longer alive) are swept before the first topology of a process.
//
//   const avail = await canUseNamespaces();
//   describe.skipIf(!avail.ok)('...', () => {
//     let topo: Topology;
//     beforeAll(async () => { topo = await inlineTopology(); });
//     afterAll(async () => { await topo?.destroy(); });
//     it('pings', async () => { expect((await topo.ping('client', topo.addr('server', 4))).code).toBe(0); });
//   });
import { execFileSync, spawn as spawnChild, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import ipaddr from 'ipaddr.js';

// ---------------------------------------------------------------------------------------------
// Types

/** One end of a link: a host (logical name), the device name inside its namespace, addresses. */
export interface LinkEnd {
  host: string;
  dev: string;
  /** CIDRs such as '198.18.0.1/24' or '2001:db8::1/64' (IPv6 added with `nodad`). */
  addrs?: string[];
  /** MTU of this end (default: the kernel's 1500). */
  mtu?: number;
}

export interface LinkSpec {
  a: LinkEnd;
  b: LinkEnd;
}

export interface TopologySpec {
  /** A short label for messages (namespace names use a counter, not this label). */
  name: string;
  /** Logical host names: one namespace each. Lower-case letters, digits and '-'. */
  hosts: string[];
  links: LinkSpec[];
}

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface ExecOptions {
  /** Kill the command (its whole process group) after this long. Default 10 s. */
  timeoutMs?: number;
  /** Written to the command's standard input, which is then closed. */
  input?: string | Buffer;
}

/** A long-running process inside a namespace. */
export interface Spawned {
  readonly pid: number;
  /** stdout and stderr so far, interleaved as they arrived. */
  output(): string;
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<ExecResult>;
  running(): boolean;
  /** Sends the signal (default SIGTERM) to the process group; SIGKILL after graceMs. */
  kill(signal?: NodeJS.Signals, graceMs?: number): Promise<ExecResult>;
}

export type Family = 4 | 6;

// ---------------------------------------------------------------------------------------------
// Constants and small helpers

export const NS_PREFIX = `sgfw-${process.pid}-`;
const ALLOWED = [ipaddr.parseCIDR('198.18.0.0/15'), ipaddr.parseCIDR('2001:db8::/32')] as const;
const DEFAULT_TIMEOUT_MS = 10_000;
const NAME_RE = /^[a-z0-9][a-z0-9-]{0,30}$/;
const DEV_RE = /^[A-Za-z0-9_.-]{1,15}$/;

/** true when the address (with or without /len) lies in 198.18.0.0/15 or 2001:db8::/32. */
export function isTestAddress(addr: string): boolean {
  const bare = addr.split('/')[0] ?? '';
  if (!ipaddr.isValid(bare)) return false;
  const a = ipaddr.parse(bare);
  return ALLOWED.some(([net, len]) => a.kind() === net.kind() && a.match(net, len));
}

function familyOf(addr: string): Family {
  return addr.includes(':') ? 6 : 4;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Polls `predicate` every `intervalMs` until it returns true; throws after `timeoutMs` with
 * `what` in the message. The predicate may be async; a throwing predicate counts as false.
 */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what = 'condition',
  intervalMs = 50,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    let ok = false;
    try {
      ok = await predicate();
    } catch {
      ok = false;
    }
    if (ok) return;
    if (Date.now() >= end) throw new Error(`waitFor: ${what} not reached within ${timeoutMs} ms`);
    await sleep(Math.min(intervalMs, Math.max(1, end - Date.now())));
  }
}

/** Runs a command on the host (not in a namespace), bounded; never throws for a non-zero exit. */
export function run(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve) => {
    const [cmd, ...args] = argv;
    if (!cmd) throw new Error('run: empty command');
    // detached: the command leads its own process group, so a timeout kills its children too.
    const child = spawnChild(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child, 'SIGKILL');
    }, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: 127, signal: null, stdout, stderr: stderr + String(e), timedOut });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
    child.stdin.on('error', () => {}); // a command that exits before reading its input
    child.stdin.end(opts.input ?? '');
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  }
}

function describe(argv: string[], r: ExecResult): string {
  const why = r.timedOut ? 'timed out' : r.signal ? `killed by ${r.signal}` : `exit ${r.code}`;
  return `\`${argv.join(' ')}\` ${why}: ${(r.stderr || r.stdout).trim().slice(0, 500)}`;
}

async function must(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const r = await run(argv, opts);
  if (r.code !== 0) throw new Error(describe(argv, r));
  return r;
}

function toArgv(cmd: string | string[]): string[] {
  return typeof cmd === 'string' ? ['sh', '-c', cmd] : cmd;
}

// ---------------------------------------------------------------------------------------------
// Availability, stale sweep, exit cleanup

export interface Availability {
  ok: boolean;
  reason: string;
}

let availability: Promise<Availability> | undefined;

/** Whether this process can create namespaces (root, `ip` present, `ip netns add` works). */
export function canUseNamespaces(): Promise<Availability> {
  availability ??= (async () => {
    if (process.platform !== 'linux') return { ok: false, reason: `not Linux (${process.platform})` };
    if (typeof process.getuid === 'function' && process.getuid() !== 0) return { ok: false, reason: 'not root' };
    const v = await run(['ip', '-V'], { timeoutMs: 5000 });
    if (v.code !== 0) return { ok: false, reason: 'the `ip` command (iproute2) is missing' };
    const probe = `${NS_PREFIX}probe`;
    const add = await run(['ip', 'netns', 'add', probe], { timeoutMs: 5000 });
    if (add.code !== 0) return { ok: false, reason: `\`ip netns add\` fails: ${add.stderr.trim()}` };
    await run(['ip', 'netns', 'del', probe], { timeoutMs: 5000 });
    await sweepStale();
    return { ok: true, reason: '' };
  })();
  return availability;
}

/** Names of the existing namespaces (`ip netns list`). */
export async function listNamespaces(): Promise<string[]> {
  const r = await run(['ip', 'netns', 'list'], { timeoutMs: 5000 });
  return r.stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.length > 0);
}

/**
 * Deletes namespaces named sgfw-<pid>-* whose pid is no longer alive (left by a run that was
 * killed before it could clean up). Never touches a namespace of a live process or any other name.
 * Returns the names removed.
 */
export async function sweepStale(): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await listNamespaces()) {
    const m = /^sgfw-(\d+)-/.exec(name);
    if (!m || existsSync(`/proc/${m[1]}`)) continue;
    await killNamespacePids(name);
    const r = await run(['ip', 'netns', 'del', name], { timeoutMs: 5000 });
    if (r.code === 0) removed.push(name);
  }
  return removed;
}

async function killNamespacePids(ns: string): Promise<void> {
  const r = await run(['ip', 'netns', 'pids', ns], { timeoutMs: 5000 });
  for (const p of r.stdout.split(/\s+/).filter(Boolean)) {
    const pid = Number(p);
    if (Number.isInteger(pid) && pid > 1 && pid !== process.pid) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
}

const live = new Set<Topology>();
let handlersInstalled = false;

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => {
    for (const t of live) t.destroySync();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const handler = (): void => {
      for (const t of live) t.destroySync();
      // Die of the same signal, as if we had not caught it.
      process.removeListener(sig, handler);
      process.kill(process.pid, sig);
    };
    process.on(sig, handler);
  }
}

// ---------------------------------------------------------------------------------------------
// Topology

let topologyCounter = 0;

interface HostState {
  ns: string;
  addrs: string[]; // CIDRs, in the order given
}

export class Topology {
  readonly name: string;
  readonly spec: TopologySpec;
  private readonly hosts = new Map<string, HostState>();
  private readonly children = new Set<ChildProcess>();
  private destroyed = false;

  private constructor(spec: TopologySpec, id: string) {
    this.name = spec.name;
    this.spec = spec;
    for (const h of spec.hosts) this.hosts.set(h, { ns: `${NS_PREFIX}${id}-${h}`, addrs: [] });
  }

  /**
   * Creates the namespaces (loopback up, IPv6 DAD off so addresses are usable at once, no
   * forwarding), the veth pairs with their addresses, and brings every link up. On any failure
   * removes what it made and throws.
   */
  static async create(spec: TopologySpec): Promise<Topology> {
    validateSpec(spec);
    const avail = await canUseNamespaces();
    if (!avail.ok) throw new Error(`network namespaces unavailable: ${avail.reason}`);
    installExitHandlers();
    // Counter plus a time tag: unique even if this module is loaded twice in one process.
    const topo = new Topology(spec, `${(Date.now() % 46656).toString(36)}${topologyCounter++}`);
    live.add(topo);
    try {
      await topo.build();
    } catch (e) {
      await topo.destroy();
      throw e;
    }
    return topo;
  }

  private async build(): Promise<void> {
    for (const [, h] of this.hosts) {
      await must(['ip', 'netns', 'add', h.ns]);
      await this.sysctl(h.ns, {
        'net.ipv6.conf.all.accept_dad': '0',
        'net.ipv6.conf.default.accept_dad': '0',
        // No router solicitations or autoconfiguration chatter on the test links.
        'net.ipv6.conf.default.router_solicitations': '0',
        'net.ipv6.conf.default.accept_ra': '0',
        'net.ipv4.ip_forward': '0',
        'net.ipv6.conf.all.forwarding': '0',
      });
      await must(['ip', '-n', h.ns, 'link', 'set', 'lo', 'up']);
    }
    for (const l of this.spec.links) {
      const a = this.state(l.a.host);
      const b = this.state(l.b.host);
      await must(['ip', '-n', a.ns, 'link', 'add', 'name', l.a.dev, 'type', 'veth', 'peer', 'name', l.b.dev, 'netns', b.ns]);
      for (const [end, st] of [[l.a, a], [l.b, b]] as const) {
        if (end.mtu !== undefined) await must(['ip', '-n', st.ns, 'link', 'set', 'dev', end.dev, 'mtu', String(end.mtu)]);
        for (const cidr of end.addrs ?? []) {
          const extra = familyOf(cidr) === 6 ? ['nodad'] : [];
          await must(['ip', '-n', st.ns, 'addr', 'add', cidr, 'dev', end.dev, ...extra]);
          st.addrs.push(cidr);
        }
      }
      await must(['ip', '-n', a.ns, 'link', 'set', 'dev', l.a.dev, 'up']);
      await must(['ip', '-n', b.ns, 'link', 'set', 'dev', l.b.dev, 'up']);
    }
    // veth carrier comes up asynchronously: wait until every link reports LOWER_UP.
    for (const l of this.spec.links) {
      for (const end of [l.a, l.b]) {
        await waitFor(
          async () => (await this.exec(end.host, ['ip', 'link', 'show', 'dev', end.dev], { timeoutMs: 3000 })).stdout.includes('LOWER_UP'),
          5000,
          `${end.host}/${end.dev} up`,
        );
      }
    }
  }

  private state(host: string): HostState {
    const s = this.hosts.get(host) ?? [...this.hosts.values()].find((h) => h.ns === host);
    if (!s) throw new Error(`topology ${this.name}: no host ${host}`);
    return s;
  }

  private async sysctl(ns: string, values: Record<string, string>): Promise<void> {
    const args = Object.entries(values).map(([k, v]) => `${k}=${v}`);
    await must(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', ...args]);
  }

  /** The namespace name of a host (accepts the namespace name itself too). */
  ns(host: string): string {
    return this.state(host).ns;
  }

  /** Every namespace of this topology. */
  namespaces(): string[] {
    return [...this.hosts.values()].map((h) => h.ns);
  }

  /** The host's first address of the family, without its prefix length. */
  addr(host: string, family: Family = 4): string {
    const cidr = this.state(host).addrs.find((c) => familyOf(c) === family);
    if (!cidr) throw new Error(`topology ${this.name}: ${host} has no IPv${family} address`);
    return cidr.split('/')[0]!;
  }

  /** Runs a command in the host's namespace, bounded by timeoutMs; never throws for exit codes. */
  exec(host: string, cmd: string | string[], opts: ExecOptions = {}): Promise<ExecResult> {
    this.assertAlive();
    return run(['ip', 'netns', 'exec', this.ns(host), ...toArgv(cmd)], opts);
  }

  /** Like exec but throws (with the command's output) unless it exits 0. */
  async mustExec(host: string, cmd: string | string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const argv = toArgv(cmd);
    const r = await this.exec(host, argv, opts);
    if (r.code !== 0) throw new Error(`${host}: ${describe(argv, r)}`);
    return r;
  }

  /** Starts a long-running command in the host's namespace; destroy() kills it if still running. */
  spawn(host: string, cmd: string | string[], opts: { env?: NodeJS.ProcessEnv } = {}): Spawned {
    this.assertAlive();
    const argv = ['ip', 'netns', 'exec', this.ns(host), ...toArgv(cmd)];
    const child = spawnChild(argv[0]!, argv.slice(1), {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: opts.env ?? process.env,
    });
    this.children.add(child);
    let out = '';
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      out += d;
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      out += d;
    });
    let done = false;
    const exited = new Promise<ExecResult>((resolve) => {
      child.on('error', (e) => {
        done = true;
        this.children.delete(child);
        resolve({ code: 127, signal: null, stdout, stderr: stderr + String(e), timedOut: false });
      });
      child.on('close', (code, signal) => {
        done = true;
        this.children.delete(child);
        resolve({ code, signal, stdout, stderr, timedOut: false });
      });
    });
    return {
      pid: child.pid ?? -1,
      output: () => out,
      stdout: () => stdout,
      stderr: () => stderr,
      exited,
      running: () => !done,
      kill: async (signal: NodeJS.Signals = 'SIGTERM', graceMs = 2000) => {
        if (!done) {
          killGroup(child, signal);
          const timer = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
          const r = await exited;
          clearTimeout(timer);
          return r;
        }
        return exited;
      },
    };
  }

  // -------------------------------------------------------------------------------------------
  // Interface settings

  /** Turns checksum, scatter-gather, TSO, GSO and GRO offloads on or off (ethtool -K). */
  async setOffloads(host: string, dev: string, on: boolean | 'on' | 'off'): Promise<void> {
    const v = on === true || on === 'on' ? 'on' : 'off';
    await this.mustExec(host, ['ethtool', '-K', dev, 'rx', v, 'tx', v, 'sg', v, 'tso', v, 'gso', v, 'gro', v]);
  }

  /** The device's offload settings as `ethtool -k` prints them, e.g. { 'generic-receive-offload': true }. */
  async offloads(host: string, dev: string): Promise<Record<string, boolean>> {
    const r = await this.mustExec(host, ['ethtool', '-k', dev]);
    const out: Record<string, boolean> = {};
    for (const line of r.stdout.split('\n')) {
      const m = /^\s*([a-z0-9-]+):\s+(on|off)/.exec(line);
      if (m) out[m[1]!] = m[2] === 'on';
    }
    return out;
  }

  /**
   * Router baseline: gives `host` the extra addresses (one per device, /32 or /128), host
   * routes to every other address of the topology through the device whose link leads to it,
   * proxy ARP / proxy NDP so the two sides (one subnet) reach each other through it, and turns
   * IPv4 and IPv6 forwarding on. For showing the harness works; the firewall tests keep the
   * fw namespace without addresses or forwarding.
   */
  async enableRouting(host: string, addrs: Record<string, string[]>): Promise<void> {
    const ns = this.ns(host);
    for (const [dev, list] of Object.entries(addrs)) {
      for (const cidr of list) {
        if (!isTestAddress(cidr)) throw new Error(`enableRouting: ${cidr} is outside 198.18.0.0/15 and 2001:db8::/32`);
        const extra = familyOf(cidr) === 6 ? ['nodad'] : [];
        await must(['ip', '-n', ns, 'addr', 'replace', cidr, 'dev', dev, ...extra]);
      }
      // proxy_delay 0: answer at once rather than after a random wait of up to 0.8 s.
      await this.sysctl(ns, {
        [`net.ipv4.conf.${dev}.proxy_arp`]: '1',
        [`net.ipv6.conf.${dev}.proxy_ndp`]: '1',
        [`net.ipv4.neigh.${dev}.proxy_delay`]: '0',
        [`net.ipv6.neigh.${dev}.proxy_delay`]: '0',
      });
    }
    // Each peer address is reached through the device of the link that leads to its host.
    for (const l of this.spec.links) {
      const [mine, other] = this.state(l.a.host).ns === ns ? [l.a, l.b] : this.state(l.b.host).ns === ns ? [l.b, l.a] : [null, null];
      if (!mine || !other) continue;
      for (const peerHost of this.hostsBehind(other.host, ns)) {
        for (const cidr of this.state(peerHost).addrs) {
          const a = cidr.split('/')[0]!;
          const fam = familyOf(a);
          await must(['ip', '-n', ns, `-${fam}`, 'route', 'replace', a, 'dev', mine.dev]);
          // Answer neighbour solicitations for this address on every other device.
          if (fam === 6) {
            for (const dev of Object.keys(addrs)) {
              if (dev !== mine.dev) await must(['ip', '-n', ns, '-6', 'neigh', 'replace', 'proxy', a, 'dev', dev]);
            }
          }
        }
      }
    }
    await this.sysctl(ns, { 'net.ipv4.ip_forward': '1', 'net.ipv6.conf.all.forwarding': '1' });
    // The other hosts forget what they failed to resolve before the router answered for it: a
    // neighbour entry left FAILED or still probing by earlier traffic fails the next packets at
    // once ("Destination Host Unreachable") instead of asking again.
    for (const h of this.spec.hosts) {
      if (this.ns(h) !== ns) await must(['ip', '-n', this.ns(h), 'neigh', 'flush', 'all']);
    }
  }

  /** Turns IPv4 and IPv6 forwarding off again in `host` (addresses and routes stay). */
  async disableRouting(host: string): Promise<void> {
    await this.sysctl(this.ns(host), { 'net.ipv4.ip_forward': '0', 'net.ipv6.conf.all.forwarding': '0' });
  }

  /** Hosts reachable from `start` without passing through namespace `via`. */
  private hostsBehind(start: string, via: string): string[] {
    const seen = new Set<string>([start]);
    const todo = [start];
    while (todo.length > 0) {
      const h = todo.pop()!;
      for (const l of this.spec.links) {
        for (const [x, y] of [[l.a.host, l.b.host], [l.b.host, l.a.host]] as const) {
          if (x === h && !seen.has(y) && this.state(y).ns !== via) {
            seen.add(y);
            todo.push(y);
          }
        }
      }
    }
    return [...seen];
  }

  // -------------------------------------------------------------------------------------------
  // Real clients and servers (all bounded)

  /** `ping -c count -W 1` from host to addr (IPv4 or IPv6 by the address), 0.2 s apart. */
  ping(host: string, addr: string, opts: { count?: number; timeoutMs?: number } = {}): Promise<ExecResult> {
    const count = opts.count ?? 3;
    const deadline = Math.ceil(count * 0.2 + 2);
    return this.exec(host, ['ping', `-${familyOf(addr)}`, '-n', '-c', String(count), '-i', '0.2', '-W', '1', '-w', String(deadline), addr], {
      timeoutMs: opts.timeoutMs ?? (deadline + 3) * 1000,
    });
  }

  /**
   * A tiny HTTP server (node) listening on port, IPv4 and IPv6. GET /bytes/N answers N bytes
   * (a large transfer); any other path answers `sgfw-ok <host>\n`. Resolves once it listens.
   */
  async httpServer(host: string, port: number): Promise<Spawned> {
    const script = `
      const http = require('http');
      const label = ${JSON.stringify(host)};
      const srv = http.createServer((req, res) => {
        const m = /^\\/bytes\\/(\\d+)$/.exec(req.url || '');
        if (m) {
          let left = Number(m[1]);
          res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(left) });
          const chunk = Buffer.alloc(65536, 0x78);
          const pump = () => {
            while (left > 0) {
              const n = Math.min(left, chunk.length);
              left -= n;
              if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return res.once('drain', pump);
            }
            res.end();
          };
          return pump();
        }
        res.end('sgfw-ok ' + label + '\\n');
      });
      srv.listen({ port: ${port}, host: '::', ipv6Only: false }, () => console.log('ready'));
    `;
    return this.startServer(host, [process.execPath, '-e', script], `http server on ${host}:${port}`);
  }

  /**
   * TCP and UDP request/response on one port (node), IPv4 and IPv6: a TCP connection gets
   * `echo:<what it sent>` once the client half-closes; a UDP datagram gets `echo:<datagram>`.
   */
  async echoServer(host: string, port: number): Promise<Spawned> {
    const script = `
      const net = require('net'), dgram = require('dgram');
      let up = 0; const ready = () => { if (++up === 2) console.log('ready'); };
      net.createServer((s) => {
        const parts = [];
        s.on('data', (d) => parts.push(d));
        s.on('end', () => s.end('echo:' + Buffer.concat(parts).toString()));
        s.on('error', () => {});
      }).listen({ port: ${port}, host: '::', ipv6Only: false }, ready);
      const u = dgram.createSocket({ type: 'udp6', ipv6Only: false });
      u.on('message', (m, r) => u.send('echo:' + m.toString(), r.port, r.address));
      u.bind(${port}, '::', ready);
    `;
    return this.startServer(host, [process.execPath, '-e', script], `echo server on ${host}:${port}`);
  }

  private async startServer(host: string, argv: string[], what: string): Promise<Spawned> {
    const s = this.spawn(host, argv);
    try {
      await waitFor(() => s.stdout().includes('ready') || !s.running(), 10_000, what);
    } catch (e) {
      await s.kill('SIGKILL');
      throw e;
    }
    if (!s.running()) throw new Error(`${what} exited: ${s.output().trim()}`);
    return s;
  }

  /** curl from host, bounded by timeoutS (connect and total); stdout is the body. */
  curl(host: string, url: string, opts: { timeoutS?: number; args?: string[] } = {}): Promise<ExecResult> {
    const t = opts.timeoutS ?? 3;
    return this.exec(host, ['curl', '-sS', '--noproxy', '*', '--connect-timeout', String(t), '--max-time', String(t), ...(opts.args ?? []), url], {
      timeoutMs: (t + 3) * 1000,
    });
  }

  /** http://addr:port/path with IPv6 addresses bracketed. */
  url(addr: string, port: number, path = '/'): string {
    return `http://${familyOf(addr) === 6 ? `[${addr}]` : addr}:${port}${path}`;
  }

  /** nc TCP client: sends `data`, half-closes, prints the reply (bounded by timeoutS). */
  ncTcp(host: string, addr: string, port: number, data: string, opts: { timeoutS?: number } = {}): Promise<ExecResult> {
    const t = opts.timeoutS ?? 3;
    return this.exec(host, ['nc', '-n', '-N', '-w', String(t), addr, String(port)], { input: data, timeoutMs: (t + 3) * 1000 });
  }

  /** nc UDP client: sends one datagram, prints what comes back within timeoutS of idle time. */
  ncUdp(host: string, addr: string, port: number, data: string, opts: { timeoutS?: number } = {}): Promise<ExecResult> {
    const t = opts.timeoutS ?? 1;
    return this.exec(host, ['nc', '-n', '-u', '-w', String(t), addr, String(port)], { input: data, timeoutMs: (t + 4) * 1000 });
  }

  // -------------------------------------------------------------------------------------------
  // Teardown

  private assertAlive(): void {
    if (this.destroyed) throw new Error(`topology ${this.name} has been destroyed`);
  }

  /** Kills every process inside the namespaces (spawned here or not) and deletes them. Idempotent. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    live.delete(this);
    for (const c of this.children) killGroup(c, 'SIGKILL');
    for (const ns of this.namespaces()) await killNamespacePids(ns);
    const existing = new Set(await listNamespaces());
    const failures: string[] = [];
    for (const ns of this.namespaces()) {
      if (!existing.has(ns)) continue;
      const r = await run(['ip', 'netns', 'del', ns], { timeoutMs: 5000 });
      if (r.code !== 0) failures.push(`${ns}: ${r.stderr.trim()}`);
    }
    if (failures.length > 0) throw new Error(`topology ${this.name}: cannot delete ${failures.join('; ')}`);
  }

  /** destroy() for process exit and signal handlers, where nothing asynchronous runs. */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    live.delete(this);
    for (const c of this.children) killGroup(c, 'SIGKILL');
    for (const ns of this.namespaces()) {
      try {
        const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] });
        for (const p of pids.split(/\s+/).filter(Boolean)) {
          const pid = Number(p);
          if (Number.isInteger(pid) && pid > 1 && pid !== process.pid) {
            try {
              process.kill(pid, 'SIGKILL');
            } catch {
              /* gone */
            }
          }
        }
      } catch {
        /* namespace already gone */
      }
      try {
        execFileSync('ip', ['netns', 'del', ns], { timeout: 5000, stdio: 'ignore' });
      } catch {
        /* already gone */
      }
    }
  }
}

function validateSpec(spec: TopologySpec): void {
  const hosts = new Set(spec.hosts);
  if (hosts.size !== spec.hosts.length) throw new Error(`topology ${spec.name}: duplicate host names`);
  for (const h of spec.hosts) if (!NAME_RE.test(h)) throw new Error(`topology ${spec.name}: bad host name "${h}"`);
  const devs = new Set<string>();
  for (const l of spec.links) {
    for (const end of [l.a, l.b]) {
      if (!hosts.has(end.host)) throw new Error(`topology ${spec.name}: link to unknown host "${end.host}"`);
      if (!DEV_RE.test(end.dev)) throw new Error(`topology ${spec.name}: bad device name "${end.dev}"`);
      const key = `${end.host}/${end.dev}`;
      if (devs.has(key)) throw new Error(`topology ${spec.name}: device ${key} used twice`);
      devs.add(key);
      for (const cidr of end.addrs ?? []) {
        if (!ipaddr.isValidCIDR(cidr)) throw new Error(`topology ${spec.name}: bad address "${cidr}"`);
        if (!isTestAddress(cidr)) throw new Error(`topology ${spec.name}: ${cidr} is outside 198.18.0.0/15 and 2001:db8::/32`);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Fixed topologies

/** Addresses of the fixed topologies: client and server share one subnet per family. */
export const CLIENT_V4 = '198.18.0.1';
export const SERVER_V4 = '198.18.0.2';
export const CLIENT_V6 = '2001:db8::1';
export const SERVER_V6 = '2001:db8::2';

/**
 * client(eth0) -- (outside)fw(inside) -- (eth0)server: two veth pairs, the fw namespace
 * without addresses or forwarding (sgfw bridges outside<->inside). Client and server sit in
 * 198.18.0.0/24 and 2001:db8::/64, so frames cross fw unchanged.
 */
export function inlineTopology(name = 'inline'): Promise<Topology> {
  return Topology.create({
    name,
    hosts: ['client', 'fw', 'server'],
    links: [
      { a: { host: 'client', dev: 'eth0', addrs: [`${CLIENT_V4}/24`, `${CLIENT_V6}/64`] }, b: { host: 'fw', dev: 'outside' } },
      { a: { host: 'fw', dev: 'inside' }, b: { host: 'server', dev: 'eth0', addrs: [`${SERVER_V4}/24`, `${SERVER_V6}/64`] } },
    ],
  });
}

/** client(eth0) -- (eth0)server: one veth pair, for a firewall on the server itself (NFQUEUE). */
export function hostTopology(name = 'host'): Promise<Topology> {
  return Topology.create({
    name,
    hosts: ['client', 'server'],
    links: [
      {
        a: { host: 'client', dev: 'eth0', addrs: [`${CLIENT_V4}/24`, `${CLIENT_V6}/64`] },
        b: { host: 'server', dev: 'eth0', addrs: [`${SERVER_V4}/24`, `${SERVER_V6}/64`] },
      },
    ],
  });
}

/** Router-baseline addresses of fw in the inline topology (see Topology.enableRouting). */
export const FW_ROUTER_ADDRS: Record<string, string[]> = {
  outside: ['198.18.0.253/32', '2001:db8::fd/128'],
  inside: ['198.18.0.254/32', '2001:db8::fe/128'],
};
