// Policy file -> validated Policy -> compiled table -> blob: the control path every mode runs
// at start-up and at each reload. Throws PolicyError (all diagnostics) on a bad policy, so a
// bad policy never reaches the data plane.
import { compile } from '../compile/compile.js';
import type { CompiledTable } from '../compile/table.js';
import type { Policy } from '../model/policy.js';
import { loadPolicy, parsePolicy } from '../policy/load.js';
import { encodeTable } from '../table/encode.js';
import { PolicyError } from '../validate/diagnostics.js';

export interface LoadedPolicy {
  file: string;
  policy: Policy;
  table: CompiledTable;
  blob: Uint8Array;
}

export function compilePolicy(policy: Policy, file: string): LoadedPolicy {
  const table = compile(policy);
  return { file, policy, table, blob: encodeTable(table) };
}

export function loadPolicyTable(file: string): LoadedPolicy {
  return compilePolicy(loadPolicy(file), file);
}

/** The same from a JSON value already in memory (the embedded demo). */
export function policyTableFromJson(json: unknown, name: string): LoadedPolicy {
  const r = parsePolicy(json, name);
  if (!r.policy) throw new PolicyError(name, r.diagnostics);
  return compilePolicy(r.policy, name);
}
