// Native micro-benchmarks: classification (classify-bench) and conntrack (flow-bench).
import { join } from 'node:path';
import { buildNative, needBuilt, OUT, ROOT } from '../build.js';
import { ensurePolicies, policyFile } from './control.js';
import { must, summary, mmm, si, sig, ratio, table } from '../util.js';

const GOALS = {
  classify1000: 20e6,
  classify10000: 10e6,
  speedup10000: 20,
  build1000Ms: 5,
  ctHit1M: 20e6,
  bytesPerFlow: 128,
};

function parseLines(stdout) {
  return stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
}

const flowsText = (n) => (n >= 1e6 ? `${n / 1e6}M` : `${n / 1e3}K`);
const pairRatios = (a, b) => a.map((x, i) => x / b[i]);
const ms = (x) => sig(x);
const yes = (ok) => (ok ? 'met' : '**missed**');

export async function classify({ runs, quick }) {
  const bin = await buildNative('classify-bench');
  const sizes = quick ? '10,100,1000' : '10,100,1000,10000';
  const seconds = quick ? '0.05' : '0.15';
  const profiles = ['acl', 'fw', 'rulegen'];
  const commands = [bin.command];
  const results = [];
  for (const p of profiles) {
    const argv = [bin.path, '--profile', p, '--sizes', sizes, '--runs', String(runs), '--seconds', seconds];
    commands.push(`bench/out/bin/classify-bench --profile ${p} --sizes ${sizes} --runs ${runs} --seconds ${seconds}`);
    const r = await must(argv, { cwd: ROOT, timeoutMs: 300_000 });
    results.push(...parseLines(r.stdout));
  }
  // sgfw's own workload: the 1,000-rule Alibaba policy of the control and replay sections, as the
  // controller compiles it (8 interfaces; the first one's ingress run), headers from its entries.
  await needBuilt();
  commands.push(...(await ensurePolicies([1000])));
  const policy = policyFile(1000);
  const blob = join(OUT, 'policy-alibaba-1000-s1.blob');
  const rel = (f) => f.replace(`${ROOT}/`, '');
  await must([process.execPath, 'test/fuzz/make-blob.mjs', policy, blob], { cwd: ROOT, timeoutMs: 60_000 });
  commands.push(`node test/fuzz/make-blob.mjs ${rel(policy)} ${rel(blob)}`);
  const sgArgv = [bin.path, '--blob', blob, '--runs', String(runs), '--seconds', seconds];
  commands.push(`bench/out/bin/classify-bench --blob ${rel(blob)} --runs ${runs} --seconds ${seconds}`);
  results.push(...parseLines((await must(sgArgv, { cwd: ROOT, timeoutMs: 300_000 })).stdout));
  const rows = results.map((x) => {
    const ch = summary(x.chosen);
    const li = summary(x.linear);
    const rt = summary(pairRatios(x.chosen, x.linear));
    const ld = summary(x.loadMs);
    const ll = summary(x.linearLoadMs);
    const sw = summary(x.swapUs);
    return [
      x.profile, String(x.rules), mmm(ch), mmm(li), mmm(rt, (v) => `${sig(v)}x`), mmm(ld, ms), mmm(ll, ms), mmm(sw, ms),
      `${sig(x.classifierKiB)}`, `${x.treeDepth}/${x.maxLeaf}`, `${Math.round(x.matchedShare * 100)} %`,
    ];
  });
  const at = (p, n) => results.find((x) => x.profile === p && x.rules === n);
  const goals = [];
  for (const p of profiles) {
    const k = at(p, 1000);
    if (k) {
      const m = summary(k.chosen).median;
      goals.push([`${p}: 1,000 rules ≥ 20 M lookups/s`, si(m), ratio(m, GOALS.classify1000), yes(m >= GOALS.classify1000)]);
      const b = summary(k.loadMs).median;
      goals.push([`${p}: build + swap of 1,000 rules < 5 ms`, `${sig(b + summary(k.swapUs).median / 1000)} ms`,
        ratio(b, GOALS.build1000Ms), yes(b < GOALS.build1000Ms)]);
    }
    const t = at(p, 10000);
    if (t) {
      const m = summary(t.chosen).median;
      const s = summary(pairRatios(t.chosen, t.linear)).median;
      goals.push([`${p}: 10,000 rules ≥ 10 M lookups/s`, si(m), ratio(m, GOALS.classify10000), yes(m >= GOALS.classify10000)]);
      goals.push([`${p}: 10,000 rules ≥ 20x linear`, `${sig(s)}x`, ratio(s, GOALS.speedup10000), yes(s >= GOALS.speedup10000)]);
    }
  }
  const md = [
    'Lookups/s on one core (thread CPU time), ingress run of one interface, 16,384 headers in a ring;',
    '"chosen" is the loader\'s Auto choice (tree from the loader\'s threshold on, linear below), the',
    'baseline is the linear first-match scan over the same loaded table, measured interleaved in the',
    'same process; the ratio is per run (chosen/linear). Build = `load_table` (validate, CRC, build),',
    'wall time; swap = publish to the workers\' `TableSlot` and one pickup. Profiles: `acl`, `fw`',
    '(ClassBench-style, `bench/native/classbench.h`), `rulegen` (the tests\' generator,',
    '`test/native/classifier_rulegen.h`), and `sg`: sgfw\'s own, the 1,000-rule Alibaba policy the',
    'control and replay sections use (`bench/gen-policy.ts`) as the controller compiles it (8 interfaces',
    'sharing their runs; "rules" counts its reported rules, the run holds fewer entries), with',
    '70 % of the headers inside the run\'s entries; no goal of its own, it is the classifier on the',
    'policies sgfw runs, and its build is the whole 8-interface table\'s. Depth/leaf: tree depth and largest leaf.',
    '',
    table(['profile', 'rules', 'chosen lookups/s', 'linear lookups/s (baseline)', 'chosen/linear', 'build ms', 'linear build ms', 'swap µs',
      'KiB', 'depth/leaf', 'hit a rule'], rows),
    '',
    table(['goal (issue 5)', 'measured (median)', 'ratio to goal', ''], goals),
  ].join('\n');
  return { md, commands, data: results, goals };
}

export async function conntrack({ runs, quick }) {
  const bin = await buildNative('flow-bench');
  const flows = quick ? '10000,100000' : '10000,100000,1000000';
  const argv = [bin.path, '--flows', flows, '--runs', String(runs)];
  const commands = [bin.command, `bench/out/bin/flow-bench --flows ${flows} --runs ${runs}`];
  const r = await must(argv, { cwd: ROOT, timeoutMs: 600_000 });
  const results = parseLines(r.stdout);
  const rows = results.map((x) => {
    const hitBest = x.batched.map((v, i) => Math.max(v, x.hit[i]));
    return [
      flowsText(x.flows), mmm(summary(x.insert)), mmm(summary(x.baseInsert)), mmm(summary(pairRatios(x.insert, x.baseInsert)), (v) => `${sig(v)}x`),
      mmm(summary(x.hit)), mmm(summary(x.batched)), mmm(summary(x.batchedUpdate)), mmm(summary(x.baseHit)),
      mmm(summary(pairRatios(hitBest, x.baseHit)), (v) => `${sig(v)}x`), mmm(summary(x.miss)),
      sig(x.bytesPerFlow), sig(x.baseBytesPerFlow), ratio(x.bytesPerFlow, x.baseBytesPerFlow),
    ];
  });
  const goals = [];
  const m = results.find((x) => x.flows === 1000000);
  if (m) {
    const hit = Math.max(summary(m.hit).median, summary(m.batched).median);
    goals.push(['≥ 20 M hit lookups/s at 1M flows (best of plain/batched)', si(hit), ratio(hit, GOALS.ctHit1M), yes(hit >= GOALS.ctHit1M)]);
  }
  for (const x of results) {
    goals.push([`< 128 bytes per flow at ${flowsText(x.flows)} flows`, sig(x.bytesPerFlow), ratio(x.bytesPerFlow, GOALS.bytesPerFlow), yes(x.bytesPerFlow < GOALS.bytesPerFlow)]);
  }
  const md = [
    'One core, thread CPU time. Keys: random IPv4 5-tuples over 4 interfaces; lookups: a 2M-entry',
    'stream of random live flows (4M lookups per figure); "batched" is `find_batch` over 64 hashed',
    'keys with prefetch, as the engine runs; "+update" also counts each packet on its flow; "miss"',
    'looks up keys never inserted. Baseline, same process and run: `std::unordered_map<FlowKey, Flow>`',
    'with the same hash, reserved up front; its bytes count nodes and buckets as the allocator was',
    'asked for them (malloc\'s own per-node overhead not included). Ratio column: sgfw / baseline',
    '(lookups: the better of plain and batched, per run). sgfw bytes = slots + flow pool / flows.',
    '',
    table(['flows', 'insert/s', 'baseline insert/s', 'ratio', 'hit/s', 'batched hit/s', 'batched+update/s', 'baseline hit/s',
      'ratio', 'miss/s', 'B/flow', 'baseline B/flow', 'ratio'], rows),
    '',
    table(['goal (issue 5)', 'measured (median)', 'ratio to goal', ''], goals),
  ].join('\n');
  return { md, commands, data: results, goals };
}
