// The embedded default of `sgfw replay` with no arguments: the demo AWS policy and the demo
// trace, both generated in code (src/demo), the trace written to a temporary file for the
// native reader, which maps files.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { policyTableFromJson, type LoadedPolicy } from '../dataplane/policy-table.js';
import { DEMO_POLICY_AWS } from '../demo/policy.js';
import { demoTrace } from '../demo/trace.js';

export interface DemoInput {
  policy: LoadedPolicy;
  trace: string;
  cleanup: () => void;
}

export function demoInput(): DemoInput {
  const policy = policyTableFromJson(DEMO_POLICY_AWS, 'demo-policy (embedded, aws)');
  const dir = mkdtempSync(join(tmpdir(), 'sgfw-demo-'));
  const trace = join(dir, 'demo.pcap');
  writeFileSync(trace, demoTrace());
  return { policy, trace, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
