// Decide a packet two ways (reference evaluator, and linear first match over the compiled
// table) and insist that they agree; tests then assert the expected decision once.
import { expect } from 'vitest';
import { compile } from '../../src/compile/compile.js';
import { evaluate, type Decision } from '../../src/eval/evaluate.js';
import type { PacketTuple, Policy } from '../../src/model/policy.js';
import type { Direction } from '../../src/model/reason.js';
import { referenceMatch } from '../../src/table/reference-match.js';

export function decide(p: Policy, ifaceId: string, dir: Direction, t: PacketTuple): Decision {
  const want = evaluate(p, ifaceId, dir, t);
  const index = p.interfaces.findIndex((i) => i.id === ifaceId);
  const got = referenceMatch(compile(p), index, dir, t);
  expect(got).toBeDefined();
  const table: Decision = { verdict: got!.verdict, reason: got!.reason, rule: got!.rule };
  if (got!.tracked !== undefined) table.tracked = got!.tracked;
  expect(table, 'compiled table and reference evaluator disagree').toEqual(want);
  return want;
}
