// Small helpers of the benchmark harness: bounded commands, statistics, number formatting.
import { spawn } from 'node:child_process';

/**
 * Runs argv (no shell), bounded by timeoutMs (the whole process group is killed after it);
 * never throws for a non-zero exit. Resolves { code, signal, stdout, stderr, ms, timedOut }.
 */
export function run(argv, { timeoutMs = 60_000, input, cwd, env } = {}) {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], detached: true, cwd, env });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid, 'SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: 127, signal: null, stdout, stderr: stderr + String(e), ms: 0, timedOut });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Number(process.hrtime.bigint() - t0) / 1e6, timedOut });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}

/** Like run() but throws with the command's output unless it exits 0. */
export async function must(argv, opts = {}) {
  const r = await run(argv, opts);
  if (r.code !== 0) {
    const why = r.timedOut ? 'timed out' : r.signal ? `killed by ${r.signal}` : `exit ${r.code}`;
    throw new Error(`\`${argv.join(' ')}\` ${why}: ${(r.stderr || r.stdout).trim().slice(0, 800)}`);
  }
  return r;
}

export function killGroup(pid, signal) {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* gone */
    }
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls pred every intervalMs until true; throws naming `what` after timeoutMs. */
export async function waitFor(pred, timeoutMs, what, intervalMs = 50) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    let ok = false;
    try {
      ok = await pred();
    } catch {
      ok = false;
    }
    if (ok) return;
    if (Date.now() >= end) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}

// ---------------------------------------------------------------------------------------------
// Statistics

export function median(xs) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** { median, min, max, n } of the finite values. */
export function summary(xs) {
  const v = xs.filter((x) => Number.isFinite(x));
  return { median: median(v), min: v.length ? Math.min(...v) : NaN, max: v.length ? Math.max(...v) : NaN, n: v.length };
}

/** A number with SI suffix, 3 significant digits: 1.23 M, 456 k, 7.89. */
export function si(x, unit = '') {
  if (!Number.isFinite(x)) return 'n/a';
  const a = Math.abs(x);
  const [d, s] = a >= 1e9 ? [1e9, ' G'] : a >= 1e6 ? [1e6, ' M'] : a >= 1e3 ? [1e3, ' k'] : [1, unit ? ' ' : ''];
  return `${sig(x / d)}${s}${unit}`;
}

/** 3 significant digits, no exponent. */
export function sig(x, digits = 3) {
  if (!Number.isFinite(x)) return 'n/a';
  if (x === 0) return '0';
  const p = Math.max(0, digits - 1 - Math.floor(Math.log10(Math.abs(x))));
  return x.toFixed(Math.min(p, 6));
}

/** "median (min-max)" with a formatter. */
export function mmm(s, f = si) {
  if (!s || !Number.isFinite(s.median)) return 'n/a';
  return s.n > 1 ? `${f(s.median)} (${f(s.min)}–${f(s.max)})` : f(s.median);
}

/** A ratio "0.83x", or n/a. */
export function ratio(a, b) {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return 'n/a';
  return `${sig(a / b)}x`;
}

/** Markdown table from a header row and rows. */
export function table(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** One-line shell rendering of argv, for the "commands" lists. */
export function shellLine(argv) {
  return argv.map((a) => (/^[A-Za-z0-9_./:=,@%+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
