// The control path in process (tinybench): what a start-up or reload costs from the policy file
// to a loaded native table, for Alibaba policies of 10, 100 and 1,000 rules (bench/gen-policy.ts),
// and what one classification costs through N-API (why the lookup figures are measured natively).
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Bench } from 'tinybench';
import { needBuilt, OUT, ROOT } from '../build.js';
import { must, sig, si, table, shellLine } from '../util.js';

const SIZES = [10, 100, 1000];

export function policyFile(n) {
  return join(OUT, `policy-alibaba-${n}-s1.json`);
}

export async function ensurePolicies(sizes = SIZES) {
  const commands = [];
  for (const n of sizes) {
    const f = policyFile(n);
    const argv = ['npx', 'vite-node', 'bench/gen-policy.ts', '--', '--cloud', 'alibaba', '--rules', String(n), '--out', f, '--seed', '1'];
    commands.push(shellLine(argv.map((a) => a.replace(`${ROOT}/`, ''))));
    if (!(existsSync(f) && statSync(f).size > 0)) await must(argv, { cwd: ROOT, timeoutMs: 120_000 });
  }
  return commands;
}

const lat = (t) => t.result?.latency ?? {};
const fmtMs = (l) => `${sig(l.p50)} (${sig(l.min)}–${sig(l.max)})`;

export async function control({ quick }) {
  await needBuilt();
  const commands = await ensurePolicies();
  const { loadPolicyTable } = await import(pathToFileURL(join(ROOT, 'dist', 'dataplane', 'policy-table.js')).href);
  const { loadNative } = await import(pathToFileURL(join(ROOT, 'dist', 'native', 'binding.js')).href);
  const native = loadNative();
  const time = quick ? 200 : 600;
  const rows = [];
  const goals = [];
  let napi;
  for (const n of SIZES) {
    const file = policyFile(n);
    const loaded = loadPolicyTable(file);
    const bench = new Bench({ time, iterations: 5, warmup: true });
    bench.add('compile', () => loadPolicyTable(file));
    // Each table built is freed at once, as a reload frees the table it replaces (Live.loadTable):
    // left to the garbage collector, tens of thousands of them pile up (V8 sees only their small
    // wrappers) and the loads of the next size ran 1.7x slower on the fresh memory they then take.
    bench.add('native load (auto)', () => new native.Table(loaded.blob, 'auto').close());
    bench.add('native load (linear)', () => new native.Table(loaded.blob, 'linear').close());
    if (n === 1000) {
      const t = new native.Table(loaded.blob, 'auto');
      const src = new Uint8Array(16);
      const dst = new Uint8Array(16);
      dst.set([198, 18, 0, 10]);
      let i = 0;
      const next = () => {
        i = (i * 1103515245 + 12345) >>> 0;
        src[0] = 198;
        src[1] = 18 + (i & 1);
        src[2] = (i >>> 8) & 255;
        src[3] = (i >>> 16) & 255;
        return i;
      };
      bench.add('N-API firstMatch (tree)', () => t.firstMatch(0, 0, 4, 6, src, dst, 40000, next() & 1 ? 443 : 8080, 0, 0));
      bench.add('N-API firstMatchLinear', () => t.firstMatchLinear(0, 0, 4, 6, src, dst, 40000, next() & 1 ? 443 : 8080, 0, 0));
    }
    await bench.run();
    const by = Object.fromEntries(bench.tasks.map((t) => [t.name, lat(t)]));
    const entries = new native.Table(loaded.blob, 'auto').info();
    rows.push([String(n), String(entries.entries), String(loaded.blob.length), fmtMs(by.compile), fmtMs(by['native load (auto)']),
      fmtMs(by['native load (linear)']), `${sig(by['native load (auto)'].p50 / by['native load (linear)'].p50)}x`,
      `${sig((by.compile.p50 ?? NaN) + (by['native load (auto)'].p50 ?? NaN))}`]);
    if (n === 1000) {
      const total = by.compile.p50 + by['native load (auto)'].p50;
      goals.push(['reload of a 1,000-rule policy file (compile + native build) < 5 ms', `${sig(total)} ms`, `${sig(total / 5)}x`,
        total < 5 ? 'met' : '**missed**']);
      napi = { tree: by['N-API firstMatch (tree)'], linear: by['N-API firstMatchLinear'] };
    }
  }
  const md = [
    'In process, tinybench (latency p50 with min–max over its samples, ms). "compile" is the controller\'s',
    'whole control path in TypeScript (read, parse, validate, compile, encode the blob: `loadPolicyTable`);',
    '"native load" is `new Table(blob)` through N-API (validate, CRC, build the classifiers) and its `close()`, as a',
    'reload builds one table and frees the one it replaces; the baseline',
    'is the same load with the linear classifier only. Policies: `bench/gen-policy.ts` Alibaba, 8 interfaces,',
    'every interface in every group, so each interface has rules x families entries; interfaces with the same',
    'groups store them once in the blob (native/table/format.h), so "entries stored" are one interface\'s.',
    '',
    table(['rules', 'entries stored', 'blob bytes', 'compile ms', 'native load ms (auto)', 'native load ms (linear, baseline)', 'auto/linear',
      'compile + load ms'], rows),
    '',
    napi
      ? `One classification through N-API at 1,000 rules: ${sig(napi.tree.p50 * 1e6)} ns (tree), ${sig(napi.linear.p50 * 1e6)} ns (linear);` +
        ` ${si(1e3 / napi.tree.p50)} calls/s: the call overhead hides the classifier, hence the native figures above.`
      : '',
    '',
    table(['goal (issue 5)', 'measured (median)', 'ratio to goal', ''], goals),
  ].join('\n');
  return {
    md,
    commands: [...commands, 'tinybench in bench/lib/sections/control.js over dist/dataplane/policy-table.js and dist/native/binding.js'],
    data: { rows, napi },
    goals,
  };
}
