// Prometheus metrics for the live modes (prom-client), refreshed from one counter snapshot per
// scrape. Counters only ever grow: each scrape adds what changed since the last one.
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import type { NativeLiveCounters } from '../native/binding.js';

export interface MetricsSource {
  counters(): NativeLiveCounters;
  /** Names of the source ports (interfaces or queues), by index. */
  portNames: string[];
  reloads: { ok: number; failed: number };
}

export class Metrics {
  readonly registry = new Registry();
  private last = new Map<string, number>();
  private readonly packets = this.counter('sgfw_packets_total', 'Packets judged, by verdict', ['verdict']);
  private readonly reasons = this.counter('sgfw_verdicts_total', 'Packets by verdict reason', ['reason']);
  private readonly ruleHits = this.counter('sgfw_rule_hits_total', 'Packets decided by each rule', ['rule']);
  private readonly ruleBytes = this.counter('sgfw_rule_bytes_total', 'Bytes decided by each rule', ['rule']);
  private readonly portReceived = this.counter('sgfw_port_received_total', 'Frames received per port', ['port']);
  private readonly portRingDrops = this.counter('sgfw_port_ring_drops_total', 'Frames the kernel dropped before sgfw saw them (capture loss)', ['port']);
  private readonly portForwarded = this.counter('sgfw_port_forwarded_total', 'Frames passed on per port', ['port']);
  private readonly portTxErrors = this.counter('sgfw_port_tx_errors_total', 'Transmit errors per port', ['port']);
  private readonly busyPolls = this.counter('sgfw_busy_polls_total', 'Inline: ring polls after a batch while traffic was dense (--spin-us)', []);
  private readonly busyPollHits = this.counter('sgfw_busy_poll_hits_total', 'Inline: busy polls that found frames', []);
  private readonly ifacePackets = this.counter('sgfw_interface_packets_total', 'Packets per protected interface, direction and verdict', ['interface', 'direction', 'verdict']);
  private readonly ifaceBytes = this.counter('sgfw_interface_bytes_total', 'Bytes per protected interface, direction and verdict', ['interface', 'direction', 'verdict']);
  private readonly exceptions = this.counter('sgfw_exceptions_total', 'Packets handled by an exception policy', ['kind']);
  private readonly ctCreated = this.counter('sgfw_conntrack_created_total', 'Flows created', []);
  private readonly ctExpired = this.counter('sgfw_conntrack_expired_total', 'Flows expired', []);
  private readonly ctEvicted = this.counter('sgfw_conntrack_evicted_total', 'Unreplied flows evicted to make room', []);
  private readonly ctFull = this.counter('sgfw_conntrack_insert_failures_total', 'New flows refused: table full', []);
  private readonly reloadsMetric = this.counter('sgfw_reloads_total', 'Policy reloads', ['result']);
  private readonly ctEntries = new Gauge({ name: 'sgfw_conntrack_entries', help: 'Flows in the tables', registers: [this.registry] });
  private readonly ctMax = new Gauge({ name: 'sgfw_conntrack_max', help: 'Flow table capacity', registers: [this.registry] });
  private readonly generation = new Gauge({ name: 'sgfw_table_generation', help: 'Generation of the table in force', registers: [this.registry] });

  constructor(private readonly src: MetricsSource) {}

  private counter(name: string, help: string, labelNames: string[]): Counter {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  /** Add the growth of a cumulative value since the previous scrape. */
  private grow(c: Counter, key: string, value: number, labels: Record<string, string> = {}): void {
    const id = `${key}|${JSON.stringify(labels)}`;
    const before = this.last.get(id) ?? 0;
    if (value > before) c.inc(labels, value - before);
    else if (value === 0 && before === 0) c.inc(labels, 0); // make the series visible
    this.last.set(id, Math.max(value, before));
  }

  refresh(): void {
    const s = this.src.counters();
    this.grow(this.packets, 'p', s.accepted, { verdict: 'accept' });
    this.grow(this.packets, 'p', s.dropped, { verdict: 'drop' });
    for (const [reason, n] of Object.entries(s.reasons)) this.grow(this.reasons, 'r', n, { reason });
    for (const r of s.rules) {
      this.grow(this.ruleHits, 'h', r.packets, { rule: r.rule });
      this.grow(this.ruleBytes, 'b', r.bytes, { rule: r.rule });
    }
    s.ports.forEach((p, i) => {
      const port = this.src.portNames[i] ?? String(i);
      this.grow(this.portReceived, 'pr', p.received, { port });
      this.grow(this.portRingDrops, 'pd', p.kernelDrops, { port });
      this.grow(this.portForwarded, 'pf', p.forwarded, { port });
      this.grow(this.portTxErrors, 'pt', p.txErrors, { port });
    });
    this.grow(this.busyPolls, 'bp', s.busyPolls);
    this.grow(this.busyPollHits, 'bh', s.busyPollHits);
    for (const i of s.interfaces) {
      for (const direction of ['ingress', 'egress'] as const) {
        for (const verdict of ['accepted', 'dropped'] as const) {
          const labels = { interface: i.interface, direction, verdict: verdict === 'accepted' ? 'accept' : 'drop' };
          this.grow(this.ifacePackets, 'ip', i[direction][verdict].packets, labels);
          this.grow(this.ifaceBytes, 'ib', i[direction][verdict].bytes, labels);
        }
      }
    }
    const ex = s.exceptions;
    this.grow(this.exceptions, 'x', ex.conntrackBypass, { kind: 'conntrack-full-bypass' });
    this.grow(this.exceptions, 'x', ex.unjudged, { kind: 'no-table' });
    this.grow(this.exceptions, 'x', ex.auditWouldDrop, { kind: 'audit-would-drop' });
    this.grow(this.exceptions, 'x', ex.ruleChangeCuts, { kind: 'rule-change-cut' });
    this.grow(this.ctCreated, 'cc', s.conntrack.created);
    this.grow(this.ctExpired, 'ce', s.conntrack.expired);
    this.grow(this.ctEvicted, 'cv', s.conntrack.evicted);
    this.grow(this.ctFull, 'cf', s.conntrack.full);
    this.grow(this.reloadsMetric, 'rl', this.src.reloads.ok, { result: 'ok' });
    this.grow(this.reloadsMetric, 'rl', this.src.reloads.failed, { result: 'failed' });
    this.ctEntries.set(s.conntrack.entries);
    this.ctMax.set(s.conntrack.max);
    this.generation.set(s.generation);
  }

  /** Serve GET /metrics on host:port; resolves once listening. */
  async listen(host: string, port: number): Promise<Server> {
    const server = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end('not found: try /metrics\n');
        return;
      }
      try {
        this.refresh();
        this.registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
          (e: unknown) => res.writeHead(500).end(String(e)),
        );
      } catch (e) {
        res.writeHead(500).end(String(e));
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return server;
  }
}

/** "127.0.0.1:9475", "[::1]:9475" or ":9475" (loopback) -> host and port. */
export function parseListen(text: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  const host = m[1] ?? (m[2] || '127.0.0.1');
  return { host, port };
}
