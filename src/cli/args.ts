// Command-line parsing on node:util parseArgs, with messages that name the flag and value.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './exit.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
}

export function parse(command: string, argv: string[], options: Options, maxPositionals: number): Parsed {
  let parsed: Parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true }) as Parsed;
  } catch (e) {
    throw new UsageError(`sgfw ${command}: ${(e as Error).message.replace(/^TypeError \[\w+\]: /, '')}`);
  }
  if (parsed.positionals.length > maxPositionals) {
    throw new UsageError(
      `sgfw ${command}: unexpected argument ${JSON.stringify(parsed.positionals[maxPositionals])}`,
    );
  }
  return parsed;
}

export function str(p: Parsed, name: string): string | undefined {
  const v = p.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function strs(p: Parsed, name: string): string[] {
  const v = p.values[name];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return typeof v === 'string' ? [v] : [];
}

export function flag(p: Parsed, name: string): boolean {
  return p.values[name] === true;
}

export function required(command: string, p: Parsed, name: string): string {
  const v = str(p, name);
  if (v === undefined || v === '') throw new UsageError(`sgfw ${command}: --${name} is required`);
  return v;
}

/** An integer flag within [min, max]; undefined when absent. */
export function int(command: string, p: Parsed, name: string, min: number, max: number): number | undefined {
  const v = str(p, name);
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new UsageError(`sgfw ${command}: --${name} ${JSON.stringify(v)} is not an integer in ${min}..${max}`);
  }
  return Number(v);
}
