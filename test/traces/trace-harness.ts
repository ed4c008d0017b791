// Shared harness for the real-trace tests: locate ../shared/traces (absent in a user's clone,
// then the tests skip with a printed reason), replay a trace under a policy of
// test/fixtures/trace-policies, read the verdicts file back, and compare it packet by packet
// with a hand-written expectation table.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { loadPolicyTable, type LoadedPolicy } from '../../src/dataplane/policy-table.js';
import { runReplay, type ReplayOutcome } from '../../src/dataplane/replay.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const tracesDir = path.resolve(repoRoot, '..', 'shared', 'traces');
export const haveTraces = existsSync(tracesDir);
export const policiesDir = path.join(repoRoot, 'test', 'fixtures', 'trace-policies');

let warned = false;
/** True when the trace tests must skip; prints why once per file. */
export function noTraces(): boolean {
  if (!haveTraces && !warned) {
    warned = true;
    console.warn(`skipping real-trace tests: ${tracesDir} is absent (it lives next to the checkout, not in it)`);
  }
  return !haveTraces;
}

export function tracePath(name: string): string {
  return path.join(tracesDir, name);
}

export function policy(name: string): LoadedPolicy {
  return loadPolicyTable(path.join(policiesDir, name));
}

/** One line of the verdicts file (spec 6). */
export interface VerdictLine {
  i: number;
  verdict: 'accept' | 'drop';
  reason: string;
  interface: string | null;
  direction: 'ingress' | 'egress' | null;
  rule: string | null;
}

export interface TraceRun extends ReplayOutcome {
  verdicts: VerdictLine[];
}

/** Replay `trace` under `policyFile` (and swaps), returning the summary and parsed verdicts. */
export function replay(trace: string, policyFile: string, swaps: { before: number; policy: string }[] = []): TraceRun {
  return replayFile(tracePath(trace), policyFile, swaps);
}

/** The same for a trace file anywhere (traces derived from the shared ones in a temp dir). */
export function replayFile(file: string, policyFile: string, swaps: { before: number; policy: string }[] = []): TraceRun {
  const dir = mkdtempSync(path.join(tmpdir(), 'sgfw-trace-'));
  try {
    const verdictsFile = path.join(dir, 'v.jsonl');
    const out = runReplay({
      trace: file,
      policy: policy(policyFile),
      swaps: swaps.map((s) => ({ before: s.before, policy: policy(s.policy) })),
      verdicts: verdictsFile,
    });
    const text = readFileSync(verdictsFile, 'utf8');
    const verdicts = text
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as VerdictLine);
    return { ...out, verdicts };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * One expected packet: [index, verdict, reason, interface, direction, rule, why].
 * The index is written out so that a table that skips or repeats a row fails loudly.
 */
export type Row = [
  number,
  'accept' | 'drop',
  string,
  string | null,
  'ingress' | 'egress' | null,
  string | null,
  string,
];

/** Assert every packet of the run against the table (soft, so that all mismatches show). */
export function expectVerdicts(run: TraceRun, rows: Row[]): void {
  rows.forEach((r, k) => expect(r[0], `expectation table row ${k} is numbered ${r[0]}`).toBe(k));
  expect(run.verdicts.length, 'one verdict line per packet').toBe(rows.length);
  expect(run.summary.packets).toBe(rows.length);
  for (const [i, verdict, reason, iface, direction, rule, why] of rows) {
    const got = run.verdicts[i];
    expect.soft(got, `packet ${i}: ${why}`).toEqual({ i, verdict, reason, interface: iface, direction, rule });
  }
  // The summary counts the same packets the verdicts file lists.
  const accepted = rows.filter((r) => r[1] === 'accept').length;
  expect.soft(run.summary.accepted, 'summary.accepted').toBe(accepted);
  expect.soft(run.summary.dropped, 'summary.dropped').toBe(rows.length - accepted);
  const reasons: Record<string, number> = {};
  for (const r of rows) reasons[r[2]] = (reasons[r[2]] ?? 0) + 1;
  expect.soft(nonZero(run.summary.reasons), 'summary.reasons').toEqual(reasons);
}

/** A counter object without its zero entries (the native side may list every name). */
export function nonZero(o: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== 0));
}

/** Packets counted for one rule id in the summary (0 when absent). */
export function rulePackets(run: ReplayOutcome, id: string): number {
  return run.summary.rules.find((r) => r.rule === id)?.packets ?? 0;
}

/** One record of a classic pcap file, as read by readPcap. */
export interface PcapRecordRead {
  tsSec: number;
  tsFrac: number;
  origLen: number;
  data: Uint8Array;
}

/**
 * Minimal classic-pcap reader (either byte order, us or ns magic), independent of sgfw's own
 * reader so that output files are checked by a second implementation.
 */
export function readPcap(file: string): { linkType: number; nanos: boolean; records: PcapRecordRead[] } {
  const b = readFileSync(file);
  if (b.length < 24) throw new Error(`${file}: shorter than a pcap header`);
  const magicLe = b.readUInt32LE(0);
  const le = magicLe === 0xa1b2c3d4 || magicLe === 0xa1b23c4d;
  const magic = le ? magicLe : b.readUInt32BE(0);
  if (magic !== 0xa1b2c3d4 && magic !== 0xa1b23c4d) throw new Error(`${file}: not a classic pcap file`);
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const records: PcapRecordRead[] = [];
  let o = 24;
  while (o < b.length) {
    if (o + 16 > b.length) throw new Error(`${file}: truncated record header at ${o}`);
    const incl = u32(o + 8);
    if (o + 16 + incl > b.length) throw new Error(`${file}: truncated record at ${o}`);
    records.push({ tsSec: u32(o), tsFrac: u32(o + 4), origLen: u32(o + 12), data: b.subarray(o + 16, o + 16 + incl) });
    o += 16 + incl;
  }
  return { linkType: u32(20), nanos: magic === 0xa1b23c4d, records };
}
