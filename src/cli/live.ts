// sgfw monitor, sgfw run (--inline | --host) and sgfw status: the live modes' command lines.
import { readFileSync } from 'node:fs';
import { flag, int, parse, required, str, type Options, type Parsed } from './args.js';
import { UsageError } from './exit.js';
import { LiveController, type LiveRunOptions } from '../live/controller.js';
import { inlinePreflight } from '../live/preflight.js';
import type { NativeLiveOptions } from '../native/binding.js';
import { writeOut, writeErr } from './output.js';

const COMMON: Options = {
  policy: { type: 'string' },
  metrics: { type: 'string' },
  watch: { type: 'boolean' },
  'status-file': { type: 'string' },
  duration: { type: 'string' },
  'on-conntrack-full': { type: 'string' },
  'flow-log': { type: 'string' },
  'account-id': { type: 'string' },
};

function choice<T extends string>(cmd: string, p: Parsed, name: string, allowed: readonly T[], dflt: T): T {
  const v = str(p, name);
  if (v === undefined) return dflt;
  if (!(allowed as readonly string[]).includes(v)) {
    throw new UsageError(`sgfw ${cmd}: --${name} ${JSON.stringify(v)} is not one of ${allowed.join(', ')}`);
  }
  return v as T;
}

export interface LiveHooks {
  onStarted?: LiveRunOptions['onStarted'];
  onReload?: LiveRunOptions['onReload'];
  onStop?: LiveRunOptions['onStop'];
}

async function runController(cmd: string, p: Parsed, title: string, native: NativeLiveOptions, portNames: string[], hooks: LiveHooks = {}): Promise<number> {
  const c = new LiveController({
    title,
    policyFile: required(cmd, p, 'policy'),
    native: { ...native, flowLog: str(p, 'flow-log'), accountId: str(p, 'account-id') },
    portNames,
    watch: flag(p, 'watch'),
    metrics: str(p, 'metrics'),
    statusFile: str(p, 'status-file'),
    // Complete when it returns (output.ts): bin.ts exits right after stop(), and a queued
    // stream write would be lost. EPIPE on stderr is ignored, never a crash of the data plane.
    log: (l) => writeErr(`${l}\n`),
    ...hooks,
  });
  const duration = int(cmd, p, 'duration', 1, 31_536_000);
  const exit = c.run();
  if (duration !== undefined) setTimeout(() => c.stop(0), duration * 1000).unref();
  return exit;
}

export async function runMonitor(argv: string[]): Promise<number> {
  const p = parse('monitor', argv, {
    ...COMMON, interface: { type: 'string' }, bpf: { type: 'string' }, verdicts: { type: 'string' }, 'write-dropped': { type: 'string' },
  }, 0);
  const iface = required('monitor', p, 'interface');
  const native: NativeLiveOptions = {
    mode: 'monitor',
    interface: iface,
    bpf: str(p, 'bpf'),
    verdicts: str(p, 'verdicts'),
    writeDropped: str(p, 'write-dropped'),
    workers: 1,
    onConntrackFull: choice('monitor', p, 'on-conntrack-full', ['drop', 'bypass'] as const, 'drop'),
  };
  return runController('monitor', p, `sgfw monitor ${iface}`, native, [iface]);
}

export async function runRun(argv: string[]): Promise<number> {
  const p = parse('run', argv, {
    ...COMMON,
    inline: { type: 'string' },
    host: { type: 'boolean' },
    workers: { type: 'string' },
    audit: { type: 'boolean' },
    'on-error': { type: 'string' },
    'no-vnet-hdr': { type: 'boolean' },
    'spin-us': { type: 'string' },
    force: { type: 'boolean' },
    queue: { type: 'string' },
  }, 0);
  const onError = choice('run', p, 'on-error', ['open', 'closed'] as const, 'closed');
  const onConntrackFull = choice('run', p, 'on-conntrack-full', ['drop', 'bypass'] as const, 'drop');
  const workers = int('run', p, 'workers', 1, 64) ?? 1;
  const inlineSpec = str(p, 'inline');
  if ((inlineSpec === undefined) === !flag(p, 'host')) throw new UsageError('sgfw run: give exactly one of --inline OUTSIDE:INSIDE and --host');
  if (inlineSpec !== undefined) {
    const m = /^([^:]+):([^:]+)$/.exec(inlineSpec);
    if (!m) throw new UsageError(`sgfw run: --inline ${JSON.stringify(inlineSpec)} is not OUTSIDE:INSIDE`);
    const [outside, inside] = [m[1]!, m[2]!];
    const vnetHdr = !flag(p, 'no-vnet-hdr');
    const spinUs = int('run', p, 'spin-us', 0, 100_000);
    const findings = inlinePreflight(outside, inside, vnetHdr);
    for (const f of findings) writeErr(`sgfw run: ${f.level === 'refuse' ? 'REFUSED' : 'warning'}: ${f.message}\n  fix: ${f.fix}\n`);
    if (findings.some((f) => f.level === 'refuse') && !flag(p, 'force')) {
      throw new UsageError('sgfw run: refusing to start (see above; --force overrides)');
    }
    const native: NativeLiveOptions = {
      mode: 'inline', outside, inside, workers, audit: flag(p, 'audit'), onError, onConntrackFull, vnetHdr, spinUs,
      fanoutGroup: workers > 1 ? (process.pid & 0x7ffe) + 2 : 0,
    };
    return runController('run', p, `sgfw run --inline ${outside}:${inside}`, native, [outside, inside]);
  }
  if (str(p, 'spin-us') !== undefined) throw new UsageError('sgfw run: --spin-us applies to --inline only (NFQUEUE has no ring to poll)');
  const queue = int('run', p, 'queue', 0, 65535 - workers) ?? 700;
  const { hostMode } = await import('./host.js');
  const h = hostMode({ workers, onError, queue });
  const native: NativeLiveOptions = { mode: 'host', queue, workers, audit: flag(p, 'audit'), onError, onConntrackFull };
  return runController('run', p, 'sgfw run --host', native, h.portNames, h.hooks);
}

export async function runStatus(argv: string[]): Promise<number> {
  const p = parse('status', argv, { 'status-file': { type: 'string' } }, 0);
  const file = required('status', p, 'status-file');
  try {
    writeOut(readFileSync(file, 'utf8'));
    return 0;
  } catch (e) {
    throw new UsageError(`sgfw status: ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)} (is sgfw running with --status-file ${file}?)`);
  }
}

export type RunController = typeof runController;
