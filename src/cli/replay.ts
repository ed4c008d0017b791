// sgfw replay: judge a pcap/pcapng trace under a policy (spec section 6).
import { existsSync } from 'node:fs';
import { parse, flag, str, strs, required } from './args.js';
import { UsageError } from './exit.js';
import type { LoadedPolicy } from '../dataplane/policy-table.js';
import { diffFlows, runReplay, type ReplaySwap } from '../dataplane/replay.js';
import { isTableFile, readTableFile, type TableBlob } from '../table/table-file.js';
import { formatSummary } from './summary-text.js';
import { writeOut, writeErr } from './output.js';

const OPTIONS = {
  policy: { type: 'string' },
  verdicts: { type: 'string' },
  swap: { type: 'string', multiple: true },
  'write-accepted': { type: 'string' },
  'write-dropped': { type: 'string' },
  'flow-log': { type: 'string' },
  'account-id': { type: 'string' },
  json: { type: 'boolean' },
  diff: { type: 'string' },
  'on-conntrack-full': { type: 'string' },
  classifier: { type: 'string' },
} as const;

/** The policy JSON, loaded, validated and compiled. Imported here: a table file needs none of it. */
async function loadPolicy(file: string): Promise<LoadedPolicy> {
  return (await import('../dataplane/policy-table.js')).loadPolicyTable(file);
}

/** A table file from `sgfw compile` as it is, or else the policy JSON compiled. */
async function loadTable(file: string): Promise<TableBlob | LoadedPolicy> {
  return isTableFile(file) ? readTableFile(file) : loadPolicy(file);
}

function isPolicy(t: TableBlob | LoadedPolicy): t is LoadedPolicy {
  return 'table' in t;
}

async function parseSwap(text: string): Promise<ReplaySwap> {
  const m = /^(\d+):(.+)$/.exec(text);
  if (!m) throw new UsageError(`sgfw replay: --swap ${JSON.stringify(text)} is not N:POLICY (a policy JSON or a compiled table)`);
  return { before: Number(m[1]), policy: await loadTable(m[2]!) };
}

function enumFlag<T extends string>(value: string | undefined, name: string, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`sgfw replay: --${name} ${JSON.stringify(value)} is not one of ${allowed.join(', ')}`);
  }
  return value as T;
}

export async function runReplayCommand(argv: string[]): Promise<number> {
  const p = parse('replay', argv, OPTIONS, 1);
  const json = flag(p, 'json');
  let policy: TableBlob | LoadedPolicy;
  let trace: string;
  let traceLabel: string | undefined;
  let cleanup = () => {};
  if (str(p, 'policy') === undefined && p.positionals.length === 0) {
    // No policy and no trace: the embedded demo (README's first command).
    // Loaded only here: the demo's policy, trace builder and pcap writer are not start-up cost.
    const { demoInput } = await import('./demo-input.js');
    const demo = demoInput();
    policy = demo.policy;
    trace = demo.trace;
    traceLabel = 'demo trace (embedded)';
    cleanup = demo.cleanup;
    if (!json) writeErr(`sgfw replay: no --policy and TRACE given: judging the embedded demo trace\n`);
  } else {
    policy = await loadTable(required('replay', p, 'policy'));
    if (p.positionals.length !== 1) throw new UsageError('sgfw replay: give one TRACE (pcap or pcapng)');
    trace = p.positionals[0]!;
    if (!existsSync(trace)) throw new UsageError(`${trace}: no such file`);
  }
  try {
    const onConntrackFull = enumFlag(str(p, 'on-conntrack-full'), 'on-conntrack-full', ['drop', 'bypass'] as const);
    const classifier = enumFlag(str(p, 'classifier'), 'classifier', ['auto', 'linear', 'tree'] as const);
    const diffFile = str(p, 'diff');
    if (diffFile !== undefined) {
      // The diff names interfaces by id, which only the compiled policy carries.
      if (!isPolicy(policy) || isTableFile(diffFile)) {
        throw new UsageError('sgfw replay: --diff compares two policy JSON files, not compiled tables');
      }
      const next = await loadPolicy(diffFile);
      const a = runReplay({ trace, policy, flowSummary: true, onConntrackFull, classifier });
      const b = runReplay({ trace, policy: next, flowSummary: true, onConntrackFull, classifier });
      const d = diffFlows(a.flows, b.flows, policy.table.interfaces.map((i) => i.id), next.table.interfaces.map((i) => i.id));
      if (json) {
        writeOut(`${JSON.stringify({
          changed: d.changed.map((c) => ({ flow: c.flow, old: { verdict: c.old.verdict, rule: c.old.rule }, new: { verdict: c.new.verdict, rule: c.new.rule } })),
          flows: d.flows,
        })}\n`);
      } else {
        writeOut(`sgfw replay --diff: ${d.changed.length} of ${d.flows} flows change verdict (${policy.file} -> ${next.file})\n`);
        for (const c of d.changed) {
          const f = c.flow;
          writeOut(
            `  ${f.interface} ${f.protocol} ${f.src}:${f.srcPort} -> ${f.dst}:${f.dstPort}: ` +
              `${c.old.verdict} (${c.old.rule ?? c.old.reason}) -> ${c.new.verdict} (${c.new.rule ?? c.new.reason})` +
              (c.old.verdict === c.new.verdict ? `  [accepted packets ${c.old.accepted} -> ${c.new.accepted}]` : '') +
              '\n',
          );
        }
      }
      return 0;
    }
    const swaps: ReplaySwap[] = [];
    for (const text of strs(p, 'swap')) swaps.push(await parseSwap(text));
    const { summary } = runReplay({
      trace,
      traceLabel,
      policy,
      swaps,
      verdicts: str(p, 'verdicts'),
      writeAccepted: str(p, 'write-accepted'),
      writeDropped: str(p, 'write-dropped'),
      flowLog: str(p, 'flow-log'),
      accountId: str(p, 'account-id'),
      progress: !json, // shown only where stderr is a terminal (the native side asks isatty(2))
      onConntrackFull,
      classifier,
    });
    writeOut(json ? `${JSON.stringify(summary)}\n` : `${formatSummary(summary)}\n`);
    return 0;
  } finally {
    cleanup();
  }
}

