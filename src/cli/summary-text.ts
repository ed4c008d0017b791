// The human-readable replay summary (without --json): short, aligned, the questions first
// (how much was dropped, and why; which rules did the work).
import type { ReplaySummary } from '../dataplane/replay.js';

function n(x: number): string {
  return x.toLocaleString('en-US');
}

function bytes(x: number): string {
  if (x >= 1e9) return `${(x / 1e9).toFixed(1)} GB`;
  if (x >= 1e6) return `${(x / 1e6).toFixed(1)} MB`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)} kB`;
  return `${x} B`;
}

function subs(m: Record<string, number>): string {
  const parts = Object.entries(m)
    .filter(([, v]) => v > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${n(v)}`);
  return parts.length ? `  (${parts.join(', ')})` : '';
}

export function formatSummary(s: ReplaySummary, topRules = 10): string {
  const out: string[] = [];
  out.push(`sgfw replay: ${s.trace} [${s.linkTypes || 'no packets'}] under ${s.policy}`);
  out.push(`  packets ${n(s.packets)}   accepted ${n(s.accepted)}   dropped ${n(s.dropped)}`);
  const reasons = Object.entries(s.reasons).filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]);
  if (reasons.length) {
    out.push('  by reason:');
    const w = Math.max(...reasons.map(([k]) => k.length));
    for (const [k, v] of reasons) {
      const extra = k === 'malformed' ? subs(s.malformed) : k === 'invalid' ? subs(s.invalid) : '';
      out.push(`    ${k.padEnd(w)}  ${n(v).padStart(12)}${extra}`);
    }
  }
  const rules = s.rules.filter((r) => r.packets > 0).sort((a, b) => b.packets - a.packets).slice(0, topRules);
  if (rules.length) {
    out.push(`  top rules:`);
    const w = Math.max(...rules.map((r) => r.rule.length));
    for (const r of rules) out.push(`    ${r.rule.padEnd(w)}  ${n(r.packets).padStart(12)} packets  ${bytes(r.bytes).padStart(9)}`);
  }
  const c = s.conntrack;
  out.push(
    `  conntrack: ${n(c.created)} flows created, ${n(c.expired)} expired, ${n(c.evicted)} evicted, ` +
      `${n(c.full)} refused (full); ${n(c.entries)} of ${n(c.max)} in the table at the end`,
  );
  if (s.fragments.inserted || s.fragments.misses) {
    out.push(`  fragments: ${n(s.fragments.inserted)} first fragments, ${n(s.fragments.hits)} later ones matched, ${n(s.fragments.misses)} without a first`);
  }
  const ex = s.exceptions;
  if (ex.tableSwaps) out.push(`  reloads: ${n(ex.tableSwaps)}; flows cut by a new Drop rule: ${n(ex.ruleChangeCuts)}`);
  if (ex.conntrackBypass) out.push(`  conntrack full, bypassed: ${n(ex.conntrackBypass)}`);
  out.push(`  ${n(s.packets)} packets in ${s.elapsedSeconds.toFixed(3)} s: ${(s.packetsPerSecond / 1e6).toFixed(2)} M packets/s`);
  return out.join('\n');
}
