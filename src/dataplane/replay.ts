// `sgfw replay` as a library call: hand the tables (compiled policies or table files) to the
// native engine, and shape its counters into the summary of spec section 6.
import type { TableBlob } from '../table/table-file.js';
import { loadNative, type NativeFlowSummary, type NativeReplayOptions, type NativeReplayResult } from '../native/binding.js';
import { protocolName } from '../model/protocol.js';

export interface ReplaySwap {
  /** Load this policy before packet N (0-based). */
  before: number;
  policy: TableBlob;
}

export interface ReplayRequest {
  trace: string;
  /** How the summary names the trace (default: its path). */
  traceLabel?: string;
  policy: TableBlob;
  swaps?: ReplaySwap[];
  verdicts?: string;
  writeAccepted?: string;
  writeDropped?: string;
  flowLog?: string;
  accountId?: string;
  progress?: boolean;
  flowSummary?: boolean;
  onConntrackFull?: 'drop' | 'bypass';
  classifier?: 'auto' | 'linear' | 'tree';
}

/** The summary of spec section 6 (`--json`), plus sub-reasons and per-interface counts. */
export interface ReplaySummary {
  trace: string;
  policy: string;
  linkTypes: string;
  packets: number;
  accepted: number;
  dropped: number;
  reasons: Record<string, number>;
  malformed: Record<string, number>;
  invalid: Record<string, number>;
  rules: { rule: string; packets: number; bytes: number }[];
  interfaces: NativeReplayResult['interfaces'];
  conntrack: NativeReplayResult['conntrack'];
  fragments: NativeReplayResult['fragments'];
  exceptions: NativeReplayResult['exceptions'];
  elapsedSeconds: number;
  packetsPerSecond: number;
}

export interface ReplayOutcome {
  summary: ReplaySummary;
  flows: NativeFlowSummary[];
}

/** The native replay; a table file the data plane refuses is bad input that names its file. */
function nativeReplay(sources: TableBlob[], opts: NativeReplayOptions): NativeReplayResult {
  try {
    return loadNative().replay(opts);
  } catch (e) {
    const err = e as Error & { code?: string; tableIndex?: number };
    const source = err.tableIndex === undefined ? undefined : sources[err.tableIndex];
    if (source?.fromTableFile) {
      // ERR_INPUT_*: main reports it as bad input (exit 2); the loader's own code stays beside it.
      throw Object.assign(new Error(`${source.file}: ${err.message} (compile the policy again with sgfw compile)`), {
        code: 'ERR_INPUT_TABLE',
        tableCode: err.code,
      });
    }
    throw e;
  }
}

export function runReplay(req: ReplayRequest): ReplayOutcome {
  const swaps = [...(req.swaps ?? [])].sort((a, b) => a.before - b.before);
  const sources = [req.policy, ...swaps.map((s) => s.policy)];
  const r = nativeReplay(sources, {
    trace: req.trace,
    tables: [{ before: 0, blob: req.policy.blob }, ...swaps.map((s) => ({ before: s.before, blob: s.policy.blob }))],
    verdicts: req.verdicts,
    writeAccepted: req.writeAccepted,
    writeDropped: req.writeDropped,
    flowLog: req.flowLog,
    accountId: req.accountId,
    progress: req.progress ?? false,
    flowSummary: req.flowSummary ?? false,
    onConntrackFull: req.onConntrackFull ?? 'drop',
    classifier: req.classifier ?? 'auto',
  });
  const elapsedSeconds = r.elapsedNs / 1e9;
  const summary: ReplaySummary = {
    trace: req.traceLabel ?? req.trace,
    policy: req.policy.file,
    linkTypes: r.linkTypes,
    packets: r.packets,
    accepted: r.accepted,
    dropped: r.dropped,
    reasons: r.reasons,
    malformed: r.malformed,
    invalid: r.invalid,
    rules: r.rules,
    interfaces: r.interfaces,
    conntrack: r.conntrack,
    fragments: r.fragments,
    exceptions: r.exceptions,
    elapsedSeconds,
    packetsPerSecond: elapsedSeconds > 0 ? Math.round(r.packets / elapsedSeconds) : 0,
  };
  return { summary, flows: r.flows };
}

export interface FlowChange {
  flow: { interface: string; protocol: string; src: string; srcPort: number; dst: string; dstPort: number };
  old: { verdict: string; rule: string | null; reason: string; accepted: number; dropped: number };
  new: { verdict: string; rule: string | null; reason: string; accepted: number; dropped: number };
}

/**
 * Flows whose verdict changes between two runs over the same trace: a different verdict or
 * rule for the flow's first packet, or a different count of accepted packets (a flow cut
 * part-way). Flows are matched by the first packet's tuple.
 */
export function diffFlows(
  oldFlows: NativeFlowSummary[],
  newFlows: NativeFlowSummary[],
  oldIfaces: string[],
  newIfaces: string[],
): { changed: FlowChange[]; flows: number } {
  const key = (f: NativeFlowSummary) => `${f.protocol}|${f.src}|${f.srcPort}|${f.dst}|${f.dstPort}`;
  const byKey = new Map(newFlows.map((f) => [key(f), f]));
  const changed: FlowChange[] = [];
  const side = (f: NativeFlowSummary) => ({
    verdict: f.verdict, rule: f.rule, reason: f.reason, accepted: f.accepted, dropped: f.dropped,
  });
  for (const o of oldFlows) {
    const n = byKey.get(key(o));
    if (!n) continue;
    if (o.verdict === n.verdict && o.rule === n.rule && o.accepted === n.accepted) continue;
    changed.push({
      flow: {
        interface: newIfaces[n.iface] ?? oldIfaces[o.iface] ?? '?',
        protocol: protocolName(o.protocol),
        src: o.src, srcPort: o.srcPort, dst: o.dst, dstPort: o.dstPort,
      },
      old: side(o),
      new: side(n),
    });
  }
  return { changed, flows: oldFlows.length };
}
