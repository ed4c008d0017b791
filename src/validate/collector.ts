// Collects every diagnostic of one policy (errors and warnings), with a cap so that a huge
// broken input cannot flood memory or the terminal.
import { CODES } from './codes.js';
import { type Diagnostic, showValue } from './diagnostics.js';

/** Errors kept before the collector stops recording (one more entry says how many were cut). */
export const MAX_ERRORS = 1000;

export class Diagnostics {
  readonly items: Diagnostic[] = [];
  errorCount = 0;
  private cut = 0;

  error(code: string, path: string, message: string): void {
    this.errorCount++;
    if (this.errorCount > MAX_ERRORS) {
      this.cut++;
      return;
    }
    this.items.push({ severity: 'error', code, path, message });
  }

  warn(code: string, path: string, message: string): void {
    if (this.items.length > 4 * MAX_ERRORS) return;
    this.items.push({ severity: 'warning', code, path, message });
  }

  get hasErrors(): boolean {
    return this.errorCount > 0;
  }

  /** The diagnostics, errors first in the order found, then warnings. */
  finish(): Diagnostic[] {
    const errors = this.items.filter((d) => d.severity === 'error');
    const warnings = this.items.filter((d) => d.severity !== 'error');
    if (this.cut > 0) {
      errors.push({
        severity: 'error',
        code: CODES.tooMany,
        path: '',
        message: `${this.cut} more errors not shown (first ${MAX_ERRORS} listed)`,
      });
    }
    return [...errors, ...warnings];
  }
}

/** showValue that survives values too deep for JSON.stringify (hostile input). */
export function show(v: unknown): string {
  try {
    return showValue(v);
  } catch {
    return Array.isArray(v) ? `an array of ${v.length}` : 'an object';
  }
}

export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}
