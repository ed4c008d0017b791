// Builds the native benchmark programs into bench/out/bin with the shipped addon's flags
// (binding.gyp: -std=c++20 -O2 -fno-exceptions), rebuilding only when a source is newer.
import { mkdirSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { must, shellLine } from './util.js';

export const ROOT = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
export const OUT = join(ROOT, 'bench', 'out');
export const BIN = join(OUT, 'bin');

const FLAGS = ['-std=c++20', '-O2', '-fno-exceptions', '-DNDEBUG', '-Wall', '-Wextra'];

function ccIn(dir) {
  return readdirSync(join(ROOT, dir)).filter((f) => f.endsWith('.cc')).sort().map((f) => join(dir, f));
}

const TARGETS = {
  'classify-bench': () => ({
    srcs: [...ccIn('native/table'), 'native/core/crc32.cc', 'bench/native/classify_bench.cc'],
    deps: ['bench/native/classbench.h', 'test/native/classifier_rulegen.h', 'test/native/table_blob_builder.h'],
    inc: ['-Inative', '-Itest/native'],
  }),
  'flow-bench': () => ({
    srcs: [...ccIn('native/conntrack'), 'bench/native/flow_bench.cc'],
    deps: [],
    inc: ['-Inative'],
  }),
  'udp-blast': () => ({
    srcs: ['bench/native/udp_blast.cc'],
    deps: [],
    inc: [],
  }),
  'rusage-run': () => ({
    srcs: ['bench/native/rusage_run.cc'],
    deps: [],
    inc: [],
  }),
  'page-touch': () => ({
    srcs: ['bench/native/page_touch.cc'],
    deps: [],
    inc: [],
  }),
  'bare-forwarder': () => ({
    srcs: ['native/capture/afpacket_source.cc', 'bench/native/bare_forwarder.cc'],
    deps: ['native/capture/afpacket_source.h', 'native/capture/afpacket_frame.h'],
    inc: ['-Inative'],
  }),
};

function newest(files) {
  let t = 0;
  for (const f of files) t = Math.max(t, statSync(join(ROOT, f)).mtimeMs);
  return t;
}

/** Builds `name` if needed; returns { path, command } (command: the g++ line, from the repo root). */
export async function buildNative(name) {
  const spec = TARGETS[name]();
  mkdirSync(BIN, { recursive: true });
  const out = join(BIN, name);
  const argv = ['g++', ...FLAGS, ...spec.inc, ...spec.srcs, '-o', `bench/out/bin/${name}`];
  const headers = [...spec.deps];
  const dirs = new Set(spec.srcs.map((s) => s.slice(0, s.lastIndexOf('/'))));
  for (const d of dirs) for (const f of readdirSync(join(ROOT, d))) if (f.endsWith('.h')) headers.push(join(d, f));
  for (const f of readdirSync(join(ROOT, 'native/core'))) if (f.endsWith('.h')) headers.push(join('native/core', f));
  if (!existsSync(out) || statSync(out).mtimeMs < newest([...spec.srcs, ...headers])) {
    await must(argv, { cwd: ROOT, timeoutMs: 300_000 });
  }
  return { path: out, command: shellLine(argv) };
}

/**
 * Waits (at most 3 minutes) for the CLI (dist/cli/sgfw.cjs, the bin) and the addon: a concurrent
 * `npm run build` removes build/ while it compiles. Throws with the fix when they do not appear.
 */
export async function needBuilt() {
  const files = [join(ROOT, 'dist', 'cli', 'sgfw.cjs'), join(ROOT, 'build', 'Release', 'sgfw_native.node')];
  const end = Date.now() + 180_000;
  while (!files.every((f) => existsSync(f))) {
    if (Date.now() > end) throw new Error(`${files.filter((f) => !existsSync(f)).join(', ')} missing: run "npm run build" first`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}
