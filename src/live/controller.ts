// The long-running side of the live modes (monitor, run --inline, run --host): load the
// policy, start the workers, reload on SIGHUP or file change without losing a packet or the
// running table, serve metrics, print a status line on SIGUSR1, stop cleanly on SIGINT/SIGTERM.
import { randomInt } from 'node:crypto';
import { watch, writeFileSync, type FSWatcher } from 'node:fs';
import type { Server } from 'node:http';
import { loadPolicyTable, type LoadedPolicy } from '../dataplane/policy-table.js';
import { loadNative, type NativeLive, type NativeLiveCounters, type NativeLiveOptions } from '../native/binding.js';
import { PolicyError } from '../validate/diagnostics.js';
import { Metrics, parseListen } from './metrics.js';

export interface LiveRunOptions {
  title: string;
  policyFile: string;
  native: NativeLiveOptions;
  portNames: string[];
  watch: boolean;
  metrics?: string;
  statusFile?: string;
  /** Run once the workers run with the first table (host mode installs its netfilter rules). */
  onStarted?: (policy: LoadedPolicy) => void;
  /** Run after each successful reload, with the new policy. */
  onReload?: (policy: LoadedPolicy) => void;
  /** Run before the workers stop (host mode removes its netfilter rules first, so that no
   *  packet waits on a queue nobody reads). */
  onStop?: () => void;
  log?: (line: string) => void;
}

export function statusLine(title: string, c: NativeLiveCounters, upSeconds: number): string {
  const drops = Object.entries(c.reasons)
    .filter(([r, n]) => n > 0 && !['rule', 'established', 'related', 'infrastructure', 'platform'].includes(r))
    .map(([r, n]) => `${r} ${n}`);
  const ringDrops = c.ports.reduce((n, p) => n + p.kernelDrops, 0);
  const txErrors = c.ports.reduce((n, p) => n + p.txErrors, 0);
  return `${title} gen ${c.generation}: ${c.packets} packets, ${c.accepted} accepted, ${c.dropped} dropped` +
    (drops.length ? ` (${drops.join(', ')})` : '') +
    `, flows ${c.conntrack.entries}/${c.conntrack.max}, capture drops ${ringDrops}, tx errors ${txErrors}` +
    (c.exceptions.auditWouldDrop ? `, audit would drop ${c.exceptions.auditWouldDrop}` : '') +
    `, up ${Math.round(upSeconds)} s`;
}

export class LiveController {
  private live!: NativeLive;
  private current!: LoadedPolicy;
  readonly reloads = { ok: 0, failed: 0 };
  private readonly started = Date.now();
  private watcher?: FSWatcher;
  private server?: Server;
  private timers: NodeJS.Timeout[] = [];
  private stopping = false;
  private readonly log: (line: string) => void;
  private done!: (code: number) => void;

  constructor(private readonly opts: LiveRunOptions) {
    this.log = opts.log ?? ((l) => process.stderr.write(`${l}\n`));
  }

  /** Start and run until a signal (or a worker failure); resolves with the exit status. */
  async run(): Promise<number> {
    this.current = loadPolicyTable(this.opts.policyFile); // a bad policy never starts
    // A bad --metrics address never starts either.
    const listen = this.opts.metrics === undefined ? undefined : parseListen(this.opts.metrics);
    if (this.opts.metrics !== undefined && !listen) throw new Error(`--metrics ${JSON.stringify(this.opts.metrics)} is not HOST:PORT`);
    // A per-process hash seed: remote senders cannot aim their flows at one hash chain.
    const hashSeed = this.opts.native.hashSeed ?? randomInt(2 ** 47);
    this.live = new (loadNative().Live)({ ...this.opts.native, hashSeed });
    const gen = this.live.loadTable(this.current.blob);
    this.live.start();
    try {
      this.opts.onStarted?.(this.current);
    } catch (e) {
      this.live.stop();
      throw e;
    }
    const n = this.opts.native;
    this.log(
      `${this.opts.title}: policy ${this.opts.policyFile} (${this.current.policy.cloud}, generation ${gen}); ` +
        `workers ${n.workers ?? 1}; on-error ${n.onError ?? 'closed'}; on-conntrack-full ${n.onConntrackFull ?? 'drop'}` +
        (n.audit ? '; AUDIT: nothing is dropped, would-be drops are counted' : ''),
    );
    if (listen) {
      const { host, port } = listen;
      const m = new Metrics({ counters: () => this.live.counters(), portNames: this.opts.portNames, reloads: this.reloads });
      try {
        this.server = await m.listen(host, port);
      } catch (e) {
        // The port is taken (or the address is not ours): undo the start, as stop() does,
        // so that no host-mode rule is left sending packets to a queue nobody reads.
        this.release();
        throw e;
      }
      this.log(`${this.opts.title}: metrics on http://${host.includes(':') ? `[${host}]` : host}:${port}/metrics`);
    }
    const exit = new Promise<number>((resolve) => (this.done = resolve));
    process.on('SIGHUP', this.onHup);
    process.on('SIGUSR1', this.onUsr1);
    process.on('SIGINT', this.onStop);
    process.on('SIGTERM', this.onStop);
    if (this.opts.watch) {
      let pending: NodeJS.Timeout | undefined;
      this.watcher = watch(this.opts.policyFile, () => {
        clearTimeout(pending);
        pending = setTimeout(() => this.reload('file changed'), 200);
      });
    }
    this.timers.push(setInterval(() => this.checkHealth(), 500));
    if (this.opts.statusFile) this.timers.push(setInterval(() => this.writeStatus(), 2000));
    return exit;
  }

  private readonly onHup = () => this.reload('SIGHUP');
  private readonly onUsr1 = () => this.log(this.status());
  private readonly onStop = () => this.stop(0);

  status(): string {
    return statusLine(this.opts.title, this.live.counters(), (Date.now() - this.started) / 1000);
  }

  private writeStatus(): void {
    try {
      writeFileSync(this.opts.statusFile!, `${this.status()}\n`);
    } catch {
      // The status file is a convenience; the data plane goes on without it.
    }
  }

  /** Re-read the policy; a bad one is reported and the running table stays. */
  reload(why: string): boolean {
    let next: LoadedPolicy;
    try {
      next = loadPolicyTable(this.opts.policyFile);
    } catch (e) {
      this.reloads.failed++;
      const msg = e instanceof PolicyError ? e.message : String(e);
      this.log(`${this.opts.title}: reload (${why}) REFUSED, the running table stays:\n${msg}`);
      return false;
    }
    const gen = this.live.loadTable(next.blob);
    this.current = next;
    this.reloads.ok++;
    try {
      this.opts.onReload?.(next);
    } catch (e) {
      this.log(`${this.opts.title}: after reload: ${String(e)}`);
    }
    this.log(`${this.opts.title}: reload (${why}): generation ${gen} in force`);
    return true;
  }

  private checkHealth(): void {
    const f = this.live.failure();
    if (f) {
      this.log(`${this.opts.title}: a worker failed: ${f}`);
      this.stop(1);
    }
  }

  /** The stop hook (host mode: its netfilter rules), then the data plane; false when the hook failed (logged). */
  private release(): boolean {
    let ok = true;
    try {
      this.opts.onStop?.();
    } catch (e) {
      this.log(`${this.opts.title}: clean-up failed: ${String(e)}`);
      ok = false;
    }
    this.live.stop();
    return ok;
  }

  stop(code: number): void {
    if (this.stopping) return;
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    this.watcher?.close();
    this.server?.close();
    process.off('SIGHUP', this.onHup);
    process.off('SIGUSR1', this.onUsr1);
    process.off('SIGINT', this.onStop);
    process.off('SIGTERM', this.onStop);
    if (!this.release()) code = code || 1;
    const final = this.live.counters(0);
    this.log(`${statusLine(this.opts.title, final, (Date.now() - this.started) / 1000)} (final)`);
    if (this.opts.statusFile) this.writeStatus();
    this.done(code);
  }
}
