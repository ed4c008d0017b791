#!/usr/bin/env node
// `npm run bench`: sgfw's benchmark suite (issue 5 item 1, issue 7 item 6). Writes bench/RESULTS.md.
//
//   node bench/run.js [--only classify,conntrack,control,replay,inline,host] [--runs N] [--live-runs N] [--quick]
//
// Sections (each measures sgfw against a baseline in the same run, and reports ratios):
//   classify   native: lookups/s at 10..10,000 rules (ClassBench-style), chosen vs linear; build/swap
//   conntrack  native: inserts/s, lookups/s, bytes/flow at 10K..1M flows vs std::unordered_map
//   control    in process (tinybench): policy file -> blob -> native table, 10..1,000 rules; N-API call cost
//   replay     whole process: sgfw replay (1M packets, 1,000 rules) vs tcpdump -nr with BPF filters
//   inline     namespaces: sgfw run --inline vs kernel forwarding + nftables vs a bare AF_PACKET forwarder
//   host       namespaces: sgfw run --host (NFQUEUE) vs kernel + nftables
// --only runs some sections; RESULTS.md keeps the other sections from its previous run (each
// section carries its own date and machine load). Needs `npm run build` (dist/, the addon) for
// replay/inline/host, g++, tcpdump, iperf3, nft, ethtool; live sections need root (else skipped).
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { OUT, ROOT } from './lib/build.js';
import { classify, conntrack } from './lib/sections/native.js';
import { replay } from './lib/sections/replay.js';
import { control } from './lib/sections/control.js';
import { host, inline } from './lib/sections/live.js';
import { run } from './lib/util.js';

const SECTIONS = {
  classify: { title: 'Classification (native, one core)', fn: classify, runs: 5 },
  conntrack: { title: 'Conntrack (native, one core)', fn: conntrack, runs: 5 },
  control: { title: 'Control path in process: policy file to loaded table (tinybench)', fn: control, runs: 1 },
  replay: { title: '`sgfw replay` whole process vs `tcpdump -nr`', fn: replay, runs: 5 },
  inline: { title: '`sgfw run --inline` in namespaces vs Linux forwarding + nftables vs a bare AF_PACKET forwarder', fn: inline, runs: 3, live: true },
  host: { title: '`sgfw run --host` (NFQUEUE) in namespaces vs the kernel + nftables', fn: host, runs: 3, live: true },
};
const RESULTS = join(ROOT, 'bench', 'RESULTS.md');

function parseArgs(argv) {
  const o = { only: Object.keys(SECTIONS), runs: undefined, liveRuns: undefined, quick: false, out: RESULTS };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--only') o.only = val().split(',').map((s) => s.trim()).filter(Boolean);
    else if (a === '--runs') o.runs = Number(val());
    else if (a === '--live-runs') o.liveRuns = Number(val());
    else if (a === '--quick') o.quick = true;
    else if (a === '--out') o.out = val();
    else if (a === '--help' || a === '-h') {
      console.log(readFileSync(new URL(import.meta.url)).toString().split('\n').slice(1, 16).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  for (const s of o.only) if (!SECTIONS[s]) throw new Error(`unknown section ${s} (sections: ${Object.keys(SECTIONS).join(', ')})`);
  for (const n of [o.runs, o.liveRuns]) if (n !== undefined && !(Number.isInteger(n) && n >= 1 && n <= 20)) throw new Error('runs must be 1..20');
  return o;
}

async function firstLine(argv) {
  const r = await run(argv, { timeoutMs: 5000 });
  return (r.stdout || r.stderr).split('\n')[0].trim();
}

async function machine() {
  const cpu = cpus()[0]?.model ?? 'unknown';
  const osr = existsSync('/etc/os-release') ? /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] : undefined;
  const rev = (await run(['git', 'rev-parse', '--short', 'HEAD'], { timeoutMs: 5000, cwd: ROOT })).stdout.trim();
  const dirty = (await run(['git', 'status', '--porcelain', '--untracked-files=no'], { timeoutMs: 10_000, cwd: ROOT })).stdout.trim() ? ' (+ uncommitted changes)' : '';
  return {
    nproc: cpus().length,
    cpu,
    kernel: (await firstLine(['uname', '-r'])) || 'unknown',
    os: osr ?? 'unknown',
    memGiB: totalmem() / 2 ** 30,
    load: loadavg(),
    node: process.version,
    gxx: await firstLine(['g++', '--version']),
    tcpdump: await firstLine(['tcpdump', '--version']),
    iperf3: await firstLine(['iperf3', '--version']),
    nft: await firstLine(['nft', '--version']),
    commit: `${rev}${dirty}`,
  };
}

function machineMd(m, when) {
  return [
    `- date: ${when}; commit ${m.commit}`,
    `- nproc: ${m.nproc}; CPU: ${m.cpu}; memory: ${m.memGiB.toFixed(1)} GiB`,
    `- kernel: ${m.kernel}; OS: ${m.os}`,
    `- load average at start: ${m.load.map((x) => x.toFixed(2)).join(' ')}`,
    `- node ${m.node}; ${m.gxx}; ${m.tcpdump}; ${m.iperf3}; ${m.nft}`,
  ].join('\n');
}

/** Sections of the previous RESULTS.md, by name (kept when --only skips them). */
function previousSections(file) {
  const out = {};
  if (!existsSync(file)) return out;
  const text = readFileSync(file, 'utf8');
  const re = /<!-- section:(\w+) -->\n([\s\S]*?)<!-- \/section:\1 -->/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out[m[1]] = m[2];
  return out;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  mkdirSync(OUT, { recursive: true });
  const log = (s) => console.error(s);
  const prev = previousSections(o.out);
  const fresh = {};
  const t0 = Date.now();
  for (const name of Object.keys(SECTIONS)) {
    if (!o.only.includes(name)) continue;
    const s = SECTIONS[name];
    const runs = (s.live ? o.liveRuns : o.runs) ?? (o.quick ? Math.min(3, s.runs) : s.runs);
    const when = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const m = await machine();
    log(`== ${name} (${runs} runs; load ${m.load.map((x) => x.toFixed(2)).join(' ')})`);
    const ts = Date.now();
    let body;
    try {
      const r = await s.fn({ runs, quick: o.quick, log });
      body = [
        machineMd(m, when),
        `- runs: ${runs}${o.quick ? ' (--quick)' : ''}; section took ${((Date.now() - ts) / 1000).toFixed(0)} s`,
        '',
        r.md,
        '',
        'Commands (from the repository root):',
        '',
        ...r.commands.map((c) => `    ${c}`),
        '',
        `<!-- goals ${JSON.stringify(r.goals ?? [])} -->`,
        '',
      ].join('\n');
    } catch (e) {
      body = `${machineMd(m, when)}\n\n**Failed:** ${String(e?.stack ?? e).split('\n').slice(0, 6).join(' ')}\n`;
      log(`   ${name} failed: ${e?.message ?? e}`);
      process.exitCode = 1;
    }
    fresh[name] = `## ${s.title}\n\n${body}`;
    log(`   ${name} done in ${((Date.now() - ts) / 1000).toFixed(0)} s`);
    // Write after every section, so an interrupted run keeps what it measured.
    write(o.out, { ...prev, ...fresh }, o, fresh);
  }
  log(`bench: ${((Date.now() - t0) / 1000).toFixed(0)} s in all; wrote ${o.out}`);
}

function write(file, sections, o, fresh) {
  const order = Object.keys(SECTIONS).filter((n) => sections[n]);
  const goalRows = [];
  for (const n of order) {
    const m = /<!-- goals (.*) -->/.exec(sections[n]);
    for (const g of m ? JSON.parse(m[1]) : []) goalRows.push(`| ${n} | ${g.join(' | ')} |`);
  }
  const text = [
    '# sgfw benchmark results',
    '',
    'Written by `npm run bench` (`node bench/run.js`); do not edit by hand. Every figure is measured next',
    'to a baseline in the same run and given as a ratio to it; medians with min–max of N runs.',
    'Re-run one part with `npm run bench -- --only classify|conntrack|control|replay|inline|host` (several: comma',
    'separated); the other sections then stay as they were, each with its own date and machine load.',
    '',
    `Sections in this file from the latest invocation: ${Object.keys(fresh).join(', ') || 'none'}` +
      `${o.only.length < Object.keys(SECTIONS).length ? ` (--only ${o.only.join(',')})` : ''}.`,
    '',
    ...(goalRows.length
      ? ['## Goals of issue 5 at a glance (from the sections below)', '', '| section | goal | measured | ratio to goal | |', '|---|---|---|---|---|', ...goalRows, '']
      : []),
    ...order.map((n) => `<!-- section:${n} -->\n${sections[n]}<!-- /section:${n} -->\n`),
  ].join('\n');
  writeFileSync(file, text);
}

main().catch((e) => {
  const usage = /^(unknown|runs must|--\w[\w-]* needs)/.test(e?.message ?? '');
  console.error(`bench: ${usage ? e.message : e?.stack ?? e}`);
  process.exit(2);
});
