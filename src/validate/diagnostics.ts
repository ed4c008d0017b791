// Diagnostics: every problem found in a policy, with the file, the JSON path and the value.

export type Severity = 'error' | 'warning';

export interface Diagnostic {
  severity: Severity;
  /** Stable machine-readable code, e.g. 'ERR_PRIORITY_RANGE', 'WARN_HOST_BITS'. */
  code: string;
  /** JSON path inside the file: `securityGroups[2].Permissions.Permission[5].Priority`. */
  path: string;
  /** Human message that names the offending value: `"101" is not in 1..100`. */
  message: string;
}

/** `file: path: message`, the one-line form printed by the CLI. */
export function formatDiagnostic(file: string, d: Diagnostic): string {
  const where = d.path ? `${file}: ${d.path}` : file;
  return `${where}: ${d.message}`;
}

/** Render a JSON value for a message: strings quoted, the rest as JSON, long values cut. */
export function showValue(v: unknown): string {
  let s: string;
  try {
    s = v === undefined ? 'undefined' : JSON.stringify(v);
  } catch {
    s = String(v);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** Thrown by loadPolicy when a policy has errors; carries every diagnostic. */
export class PolicyError extends Error {
  readonly code = 'ERR_POLICY';
  constructor(
    readonly file: string,
    readonly diagnostics: Diagnostic[],
  ) {
    const errors = diagnostics.filter((d) => d.severity === 'error');
    super(errors.map((d) => formatDiagnostic(file, d)).join('\n'));
    this.name = 'PolicyError';
  }
}
