// The embedded demo: policies, trace and expected verdicts (see ./policy.ts and ./trace.ts).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { demoPolicyJson } from './policy.js';
import { demoTrace } from './trace.js';

export * from './policy.js';
export * from './trace.js';

export const DEMO_FILES = {
  awsPolicy: 'demo-policy-aws.json',
  alibabaPolicy: 'demo-policy-alibaba.json',
  trace: 'demo.pcap',
} as const;

/** Write the demo policies and trace into dir (created if needed); returns their paths. */
export function writeDemoFiles(dir: string): { awsPolicy: string; alibabaPolicy: string; trace: string } {
  mkdirSync(dir, { recursive: true });
  const out = {
    awsPolicy: join(dir, DEMO_FILES.awsPolicy),
    alibabaPolicy: join(dir, DEMO_FILES.alibabaPolicy),
    trace: join(dir, DEMO_FILES.trace),
  };
  writeFileSync(out.awsPolicy, demoPolicyJson('aws'));
  writeFileSync(out.alibabaPolicy, demoPolicyJson('alibaba'));
  writeFileSync(out.trace, demoTrace());
  return out;
}
