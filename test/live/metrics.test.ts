// Metrics (src/live/metrics.ts) over a stand-in counter source: each scrape adds what grew since
// the last one, per series, without a network or a data plane.
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/live/metrics.js';
import type { NativeLiveCounters } from '../../src/native/binding.js';
import { parseMetrics } from './live-helpers.js';

function counters(over: Partial<NativeLiveCounters> = {}): NativeLiveCounters {
  return {
    generation: 1, packets: 0, bytes: 0, accepted: 0, dropped: 0, reasons: {}, malformed: {}, invalid: {},
    exceptions: { conntrackBypass: 0, ruleChangeCuts: 0, flowsFlushed: 0, tableSwaps: 0, unjudged: 0, auditWouldDrop: 0 },
    conntrack: { entries: 0, max: 1000, created: 0, expired: 0, evicted: 0, full: 0 },
    ports: [{ received: 0, kernelDrops: 0, forwarded: 0, txErrors: 0, dropped: 0 }],
    busyPolls: 0, busyPollHits: 0, rules: [], interfaces: [],
    ...over,
  };
}

async function values(m: Metrics): Promise<Map<string, number>> {
  m.refresh();
  return parseMetrics(await m.registry.metrics());
}

describe('metrics', () => {
  it('exports the inline busy polls and their hits as counters that follow the data plane', async () => {
    let now = counters();
    const m = new Metrics({ counters: () => now, portNames: ['outside'], reloads: { ok: 0, failed: 0 } });
    let v = await values(m);
    expect(v.get('sgfw_busy_polls_total')).toBe(0);
    expect(v.get('sgfw_busy_poll_hits_total')).toBe(0);
    now = counters({ busyPolls: 120, busyPollHits: 97, accepted: 5 });
    v = await values(m);
    expect(v.get('sgfw_busy_polls_total')).toBe(120);
    expect(v.get('sgfw_busy_poll_hits_total')).toBe(97);
    expect(v.get('sgfw_packets_total{verdict="accept"}')).toBe(5);
    now = counters({ busyPolls: 150, busyPollHits: 101, accepted: 5 });
    v = await values(m);
    expect(v.get('sgfw_busy_polls_total')).toBe(150);
    expect(v.get('sgfw_busy_poll_hits_total')).toBe(101);
  });
});
