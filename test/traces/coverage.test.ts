// Every trace of ../shared/traces must be replayed by one of the trace tests, and every trace
// policy fixture must be used, so that a new trace or a stray policy cannot go unnoticed.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { noTraces, policiesDir, repoRoot, tracesDir } from './trace-harness.js';

const skip = noTraces();
const testDir = path.join(repoRoot, 'test', 'traces');
const testText = readdirSync(testDir)
  .filter((f) => f.endsWith('.test.ts') && f !== 'coverage.test.ts')
  .map((f) => readFileSync(path.join(testDir, f), 'utf8'))
  .join('\n');

describe.skipIf(skip)('trace coverage', () => {
  it('every shared trace is replayed by a test', () => {
    const traces = readdirSync(tracesDir).filter((f) => /\.(pcap|pcapng)$/.test(f));
    expect(traces.length).toBeGreaterThanOrEqual(20);
    const missing = traces.filter((t) => !testText.includes(`'${t}'`));
    expect(missing).toEqual([]);
  });

  it('every trace policy is used by a test', () => {
    const policies = readdirSync(policiesDir).filter((f) => f.endsWith('.json'));
    const unused = policies.filter((p) => !testText.includes(`'${p}'`));
    expect(unused).toEqual([]);
  });
});
