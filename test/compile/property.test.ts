// Property: for random policies of both clouds and random tuples aimed at rule edges,
// referenceMatch(compile(policy)) decides exactly as the reference evaluator.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/compile/compile.js';
import { evaluate } from '../../src/eval/evaluate.js';
import { referenceMatch } from '../../src/table/reference-match.js';
import { decodeTable } from '../../src/table/decode.js';
import { encodeTable } from '../../src/table/encode.js';
import type { Policy } from '../../src/model/policy.js';
import { arbPolicy, randomProbes } from '../helpers/random-policy.js';

const RUNS = 300;
const PROBES = 60;

function agree(p: Policy, seed: number, table = compile(p)): void {
  for (const probe of randomProbes(p, seed, PROBES)) {
    const want = evaluate(p, probe.ifaceId, probe.dir, probe.tuple);
    const got = referenceMatch(table, probe.ifaceIndex, probe.dir, probe.tuple);
    expect(got, JSON.stringify(probe, (_, v) => (typeof v === 'bigint' ? v.toString(16) : v))).toBeDefined();
    expect({ verdict: got!.verdict, reason: got!.reason, rule: got!.rule, tracked: got!.tracked }).toEqual({
      verdict: want.verdict,
      reason: want.reason,
      rule: want.rule,
      tracked: want.tracked,
    });
  }
}

describe('compile == evaluate (random policies, tuples at rule edges)', () => {
  it('AWS and aws-classic', () => {
    fc.assert(fc.property(arbPolicy(['aws', 'aws-classic']), fc.integer(), (p, seed) => agree(p, seed)), { numRuns: RUNS });
  });
  it('Alibaba', () => {
    fc.assert(fc.property(arbPolicy(['alibaba']), fc.integer(), (p, seed) => agree(p, seed)), { numRuns: RUNS });
  });
  it('the decoded blob decides the same as the table it came from', () => {
    fc.assert(
      fc.property(arbPolicy(), fc.integer(), (p, seed) => agree(p, seed, decodeTable(encodeTable(compile(p))))),
      { numRuns: 100 },
    );
  });
});

describe('compile is deterministic', () => {
  it('same policy, same table and same bytes; Map insertion order does not matter', () => {
    fc.assert(
      fc.property(arbPolicy(), (p) => {
        const a = encodeTable(compile(p));
        const reversed: Policy = {
          ...p,
          groups: new Map([...p.groups].reverse()),
          members: new Map([...p.members].reverse()),
        };
        expect(encodeTable(compile(p))).toEqual(a);
        expect(encodeTable(compile(reversed))).toEqual(a);
      }),
      { numRuns: 150 },
    );
  });
});
