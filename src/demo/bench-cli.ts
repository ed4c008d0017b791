// Command-line helpers shared by bench/gen-trace.ts and bench/gen-policy.ts (kept out of
// those files so that neither imports the other: each runs its main() when it is the entry).
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Parse `--name value` pairs; unknown flags are errors. */
export function parseArgs(argv: string[], known: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') continue;
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m || !known.includes(m[1]!)) throw new Error(`unknown argument ${JSON.stringify(a)} (expected ${known.map((k) => `--${k}`).join(', ')})`);
    const v = m[2] ?? argv[++i];
    if (v === undefined) throw new Error(`--${m[1]} needs a value`);
    out.set(m[1]!, v);
  }
  return out;
}

export function intArg(args: Map<string, string>, name: string, dflt: number): number {
  const v = args.get(name);
  if (v === undefined) return dflt;
  const n = Number(v.replace(/_/g, ''));
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name}: ${JSON.stringify(v)} is not a non-negative integer`);
  return n;
}

/** True when this file is the program being run (node on the compiled file, or vite-node/tsx). */
export function invokedAsScript(metaUrl: string): boolean {
  if (process.env.VITEST) return false;
  const entry = process.argv[1] ?? '';
  if (/(^|[\\/])(vite-node|tsx)(\.[cm]?js)?$/.test(entry)) return true;
  try {
    return resolve(entry) === fileURLToPath(metaUrl);
  } catch {
    return false;
  }
}

