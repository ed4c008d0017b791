// Typed reads from untrusted JSON values: each read either returns the value or records an
// error that names the path and the offending value, so callers keep going and collect all.
import { at } from '../policy/json-path.js';
import { CODES } from './codes.js';
import { Diagnostics, show, typeName } from './collector.js';

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Own property only: `constructor`, `__proto__` and friends never come from the prototype. */
export function own(o: Obj, key: string): unknown {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

export class Reader {
  constructor(readonly diag: Diagnostics) {}

  error(code: string, path: string, message: string): void {
    this.diag.error(code, path, message);
  }

  warn(code: string, path: string, message: string): void {
    this.diag.warn(code, path, message);
  }

  /** Record that a required key is absent. */
  missing(path: string, what = ''): void {
    this.error(CODES.required, path, `is required${what ? ` (${what})` : ''}`);
  }

  object(v: unknown, path: string): Obj | undefined {
    if (isObj(v)) return v;
    this.error(CODES.type, path, `${show(v)} is ${typeName(v)}, expected an object`);
    return undefined;
  }

  array(v: unknown, path: string): unknown[] | undefined {
    if (Array.isArray(v)) return v;
    this.error(CODES.type, path, `${show(v)} is ${typeName(v)}, expected an array`);
    return undefined;
  }

  string(v: unknown, path: string, nonEmpty = true): string | undefined {
    if (typeof v !== 'string') {
      this.error(CODES.type, path, `${show(v)} is ${typeName(v)}, expected a string`);
      return undefined;
    }
    if (nonEmpty && v.length === 0) {
      this.error(CODES.value, path, `"" is empty, expected a non-empty string`);
      return undefined;
    }
    return v;
  }

  /** An integer in min..max (JSON number). */
  int(v: unknown, path: string, min: number, max: number, code: string = CODES.value): number | undefined {
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      this.error(CODES.type, path, `${show(v)} is ${typeName(v)}${typeof v === 'number' ? ' (not an integer)' : ''}, expected an integer`);
      return undefined;
    }
    if (v < min || v > max) {
      this.error(code, path, `${show(v)} is not in ${min}..${max}`);
      return undefined;
    }
    return v;
  }

  bool(v: unknown, path: string): boolean | undefined {
    if (typeof v === 'boolean') return v;
    this.error(CODES.type, path, `${show(v)} is ${typeName(v)}, expected true or false`);
    return undefined;
  }

  /** Unknown keys of an object of sgfw's own shape are errors (a typo must not weaken policy). */
  knownKeys(o: Obj, path: string, allowed: readonly string[]): void {
    for (const k of Object.keys(o)) {
      if (!allowed.includes(k)) {
        this.error(CODES.unknownKey, at(path, k), `unknown key ${JSON.stringify(k)} (expected one of: ${allowed.join(', ')})`);
      }
    }
  }
}
