// Differential test: the native classifier (decision tree and linear scan over the loaded
// blob) against the reference evaluator of the policy engine, on random policies of both
// clouds and random tuples aimed at rule edges. Many thousands of cases.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/compile/compile.js';
import { evaluate } from '../../src/eval/evaluate.js';
import { addrToBytes16 } from '../../src/model/cidr.js';
import type { Policy } from '../../src/model/policy.js';
import { loadNative } from '../../src/native/binding.js';
import { encodeTable } from '../../src/table/encode.js';
import * as F from '../../src/table/format.js';
import { arbPolicy, randomProbes } from '../helpers/random-policy.js';

const native = loadNative();
let cases = 0;

function agree(p: Policy, seed: number, classifier: 'tree' | 'linear' | 'auto'): void {
  const table = compile(p);
  const blob = encodeTable(table);
  const nt = new native.Table(blob, classifier);
  for (const probe of randomProbes(p, seed, 80)) {
    const t = probe.tuple;
    const want = evaluate(p, probe.ifaceId, probe.dir, t);
    const src = addrToBytes16(t.family, t.src);
    const dst = addrToBytes16(t.family, t.dst);
    const e = nt.firstMatch(
      probe.ifaceIndex, probe.dir === 'ingress' ? 0 : 1, t.family, t.protocol, src, dst,
      t.srcPort ?? 0, t.dstPort ?? 0, t.icmpType ?? 0, t.icmpCode ?? 0,
    );
    const linear = nt.firstMatchLinear(
      probe.ifaceIndex, probe.dir === 'ingress' ? 0 : 1, t.family, t.protocol, src, dst,
      t.srcPort ?? 0, t.dstPort ?? 0, t.icmpType ?? 0, t.icmpCode ?? 0,
    );
    expect(e, 'tree and linear scan pick the same entry').toBe(linear);
    expect(e).toBeGreaterThanOrEqual(0);
    // Global entry index -> the entry of the interface/direction run that decoded it. The run
    // starts where the blob's interface record says (a run shared with an earlier interface of
    // the same groups starts where that one's does).
    const iface = table.interfaces[probe.ifaceIndex]!;
    const view = new DataView(blob.buffer, blob.byteOffset);
    const rec = view.getUint32(F.HEADER.interfacesOff.off, true) + probe.ifaceIndex * F.IFACE.size;
    const first = view.getUint32(rec + (probe.dir === 'ingress' ? F.IFACE.ingressFirst : F.IFACE.egressFirst).off, true);
    const run = probe.dir === 'ingress' ? iface.ingress : iface.egress;
    const entry = run[e - first]!;
    expect(entry, `entry ${e} lies in the run`).toBeDefined();
    const rule = table.rules[entry.rule]!;
    expect({ verdict: entry.action, reason: entry.reason, rule: rule.id }).toEqual({
      verdict: want.verdict,
      reason: want.reason,
      rule: want.rule,
    });
    cases++;
  }
}

describe('native first-match == reference evaluator', () => {
  it('decision trees on every run (AWS, aws-classic, Alibaba)', () => {
    fc.assert(fc.property(arbPolicy(), fc.integer(), (p, seed) => agree(p, seed, 'tree')), { numRuns: 150 });
  });
  it('the classifier sgfw picks by itself', () => {
    fc.assert(fc.property(arbPolicy(), fc.integer(), (p, seed) => agree(p, seed, 'auto')), { numRuns: 100 });
    expect(cases).toBeGreaterThan(10_000);
  });
});

describe('native lookups refuse tuples the classifiers cannot read', () => {
  it('a family other than 4 or 6, or an IPv4 address with a non-zero tail, is an error naming it', () => {
    const [p] = fc.sample(arbPolicy(), { seed: 1, numRuns: 1 });
    const nt = new native.Table(encodeTable(compile(p!)), 'tree');
    const v4 = new Uint8Array([198, 18, 0, 1]);
    const tail = new Uint8Array(16);
    tail.set(v4);
    tail[15] = 1;
    expect(() => nt.firstMatch(0, 0, 5, 6, v4, v4, 1, 2, 0, 0)).toThrow(/family must be 4 or 6 \(family 5\)/);
    expect(() => nt.firstMatch(0, 0, 4, 6, tail, v4, 1, 2, 0, 0)).toThrow(/bytes 4\.\.15 zero/);
    expect(() => nt.findInterface(7, v4)).toThrow(/family must be 4 or 6 \(family 7\)/);
    expect(() => nt.findInterface(4, tail)).toThrow(/bytes 4\.\.15 zero/);
    // The same address without the tail is read as usual.
    expect(nt.firstMatch(0, 0, 4, 6, v4, v4, 1, 2, 0, 0)).toBe(nt.firstMatchLinear(0, 0, 4, 6, v4, v4, 1, 2, 0, 0));
    expect(() => nt.findInterface(4, v4)).not.toThrow();
  });
});

describe('Table.close', () => {
  it('frees the native table at once: a closed table answers undefined, a second close is harmless', () => {
    const [p] = fc.sample(arbPolicy(), { seed: 2, numRuns: 1 });
    const nt = new native.Table(encodeTable(compile(p!)), 'auto');
    const v4 = new Uint8Array([198, 18, 0, 1]);
    expect(nt.info()?.interfaces).toBeGreaterThan(0);
    expect(typeof nt.firstMatch(0, 0, 4, 6, v4, v4, 1, 2, 0, 0)).toBe('number');
    nt.close();
    expect(nt.info()).toBeUndefined();
    expect(nt.firstMatch(0, 0, 4, 6, v4, v4, 1, 2, 0, 0)).toBeUndefined();
    expect(nt.findInterface(4, v4)).toBeUndefined();
    nt.close();
  });
});
