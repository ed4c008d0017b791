// The README's main job: `sgfw replay` on the embedded demo. Every packet of the demo trace
// is judged as src/demo/trace.ts documents it, under both demo policies.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { policyTableFromJson } from '../../src/dataplane/policy-table.js';
import { runReplay } from '../../src/dataplane/replay.js';
import { DEMO_POLICY_ALIBABA, DEMO_POLICY_AWS } from '../../src/demo/policy.js';
import { demoExpectations, demoTrace, type DemoCloud } from '../../src/demo/trace.js';

function judge(cloud: DemoCloud) {
  const dir = mkdtempSync(join(tmpdir(), 'sgfw-demo-test-'));
  try {
    const trace = join(dir, 'demo.pcap');
    writeFileSync(trace, demoTrace());
    const verdicts = join(dir, 'v.jsonl');
    const policy = policyTableFromJson(cloud === 'aws' ? DEMO_POLICY_AWS : DEMO_POLICY_ALIBABA, cloud);
    const { summary } = runReplay({ trace, policy, verdicts });
    const lines = readFileSync(verdicts, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    return { summary, lines };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the embedded demo, packet by packet', () => {
  for (const cloud of ['aws', 'alibaba'] as const) {
    it(`${cloud}: every packet as documented`, () => {
      const { summary, lines } = judge(cloud);
      const want = demoExpectations(cloud);
      expect(lines.length).toBe(want.length);
      expect(summary.packets).toBe(want.length);
      for (const w of want) {
        const got = lines[w.i]!;
        const expected: Record<string, unknown> = { i: w.i, verdict: w.verdict, reason: w.reason };
        for (const k of ['interface', 'direction', 'rule'] as const) if (w[k] !== undefined) expected[k] = w[k];
        expect(got, `packet ${w.i}: ${w.what}`).toMatchObject(expected);
      }
    });
  }

  it('`sgfw replay` with no arguments runs the demo (built CLI)', () => {
    const out = execFileSync(process.execPath, ['dist/cli/sgfw.cjs', 'replay', '--json'], { encoding: 'utf8' });
    const s = JSON.parse(out) as { packets: number; accepted: number; dropped: number; reasons: Record<string, number> };
    const want = demoExpectations('aws');
    expect(s.packets).toBe(want.length);
    expect(s.dropped).toBe(want.filter((w) => w.verdict === 'drop').length);
    expect(s.reasons.malformed).toBe(want.filter((w) => w.reason === 'malformed').length);
  });
});
