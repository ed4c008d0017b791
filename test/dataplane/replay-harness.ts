// Test harness: craft packets, write them as a pcap, replay them under policies (with swaps)
// and read back one verdict per packet.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { policyTableFromJson, type LoadedPolicy } from '../../src/dataplane/policy-table.js';
import { runReplay, type ReplayOutcome } from '../../src/dataplane/replay.js';
import { ethernet } from '../../src/packet/build.js';
import { writePcap } from '../../src/packet/pcap-write.js';

export interface Verdict {
  i: number;
  verdict: 'accept' | 'drop';
  reason: string;
  interface: string | null;
  direction: 'ingress' | 'egress' | null;
  rule: string | null;
}

/** One packet at a time offset in seconds; IP packets are wrapped in Ethernet. */
export interface Pkt {
  t: number;
  frame: Uint8Array;
}

export const at = (t: number, ipOrFrame: Uint8Array, raw = false): Pkt => ({
  t,
  frame: raw ? ipOrFrame : ethernet(ipOrFrame),
});

const T0 = 1_750_000_000n * 1_000_000_000n;

export function replayPackets(
  policy: unknown,
  packets: Pkt[],
  swaps: { before: number; policy: unknown }[] = [],
): { verdicts: Verdict[]; outcome: ReplayOutcome } {
  const dir = mkdtempSync(join(tmpdir(), 'sgfw-test-'));
  try {
    const trace = join(dir, 'trace.pcap');
    writeFileSync(
      trace,
      writePcap(packets.map((p) => ({ tsNs: T0 + BigInt(Math.round(p.t * 1e6)) * 1000n, data: p.frame })), { resolution: 'ns' }),
    );
    const verdicts = join(dir, 'v.jsonl');
    const compiled: LoadedPolicy = policyTableFromJson(policy, 'policy');
    const outcome = runReplay({
      trace,
      policy: compiled,
      verdicts,
      swaps: swaps.map((s, k) => ({ before: s.before, policy: policyTableFromJson(s.policy, `swap${k}`) })),
    });
    const lines = readFileSync(verdicts, 'utf8').trim().split('\n').filter(Boolean);
    return { verdicts: lines.map((l) => JSON.parse(l) as Verdict), outcome };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** verdict/reason pairs, compact for assertions: "accept:rule". */
export const brief = (vs: Verdict[]) => vs.map((v) => `${v.verdict}:${v.reason}`);
