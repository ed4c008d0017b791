// Benchmark trace generator: a deterministic pcap of N packets (default 1,000,000) over tens
// of thousands of interleaved flows seen at 8 server ENIs (src/demo/bench-topology.ts).
//
//   npx vite-node bench/gen-trace.ts -- --packets 1000000 --out bench/trace-1m.pcap --seed 1
//
// Flow mix (per started flow): ~62 % inbound TCP to the servers' services (handshake, 1-6
// request/response exchanges, FIN close; some RST or idle), ~8 % inbound SYN-only probes to
// random ports (1-3 SYNs), ~10 % outbound TCP, ~16 % UDP request/response (DNS, NTP, SIP;
// syslog one-way), ~4 % ICMP echo. ~20 % of flows are IPv6. Payloads are small, so most
// packets are 54-200 bytes. Flows start as a Poisson process and their packets interleave in
// time order through a heap; the run stops at exactly N packets (flows in flight are cut).
// The same --seed gives the same bytes. Memory stays flat: records stream to the file.
import {
  ethernet, icmpEcho, icmpv6Echo, ipv4, ipv6, tcp, tcpMssOption, udp,
  IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, macBytes,
  type TcpOptions,
} from '../src/packet/build.js';
import { PcapWriter, type PcapRecord } from '../src/packet/pcap-write.js';
import { Rng } from '../src/packet/rng.js';
import {
  BENCH_INBOUND_SERVICES, BENCH_INTERFACES, BENCH_OUTBOUND_SERVICES, BENCH_ROUTER_MAC,
  benchClientV4, benchClientV6, benchServerBytes,
} from '../src/demo/bench-topology.js';
import { intArg, invokedAsScript, parseArgs } from '../src/demo/bench-cli.js';

export interface TraceOptions {
  packets: number;
  seed: number;
  /** Simulated packets per second (sets the flow arrival rate). Default 100000. */
  pps?: number;
  /** Share of IPv6 flows. Default 0.2. */
  v6Share?: number;
}

export interface TraceStats {
  packets: number;
  bytes: number;
  flows: number;
  v6Packets: number;
  tcpPackets: number;
  udpPackets: number;
  icmpPackets: number;
  maxConcurrentFlows: number;
  durationSeconds: number;
}

/** 2024-01-01T00:00:00Z in ns. */
export const TRACE_START_NS = 1_704_067_200_000_000_000n;

const US = 1000;
const MS = 1_000_000;

type Side = 'client' | 'server';

/** One packet a flow wants to send: its delay after the flow's previous packet. */
interface Emit {
  delayNs: number;
  data: Uint8Array;
}

interface Endpoint {
  addr: Uint8Array;
  port: number;
}

/** Common per-flow context. */
class FlowCtx {
  readonly rng: Rng;
  readonly v6: boolean;
  readonly local: Side;
  readonly client: Endpoint;
  readonly server: Endpoint;
  readonly ifaceMac: Uint8Array;
  readonly rtt: number;
  readonly remoteTtl: number;
  private ipId: Record<Side, number>;
  prev: Side;

  constructor(rng: Rng, v6: boolean, local: Side, client: Endpoint, server: Endpoint, ifaceMac: Uint8Array) {
    this.rng = rng;
    this.v6 = v6;
    this.local = local;
    this.client = client;
    this.server = server;
    this.ifaceMac = ifaceMac;
    this.rtt = rng.weighted([[0.3, 20], [2, 20], [15, 30], [40, 20], [120, 10]] as const) * MS * (0.7 + 0.6 * rng.float());
    this.remoteTtl = rng.int(40, 60);
    this.ipId = { client: rng.u32() & 0xffff, server: rng.u32() & 0xffff };
    this.prev = local === 'client' ? 'server' : 'client';
  }

  /** Capture-point delay before a packet from `from`, following a packet from `prev`. */
  delay(from: Side, think = 0): number {
    const local = from === this.local;
    let d: number;
    if (local) d = this.prev === from ? 15 * US : (50 + this.rng.int(0, 400)) * US;
    else d = this.prev === from ? 10 * US : this.rtt;
    this.prev = from;
    return d + think;
  }

  /** A whole frame from `from` carrying a transport payload of `proto`. */
  frame(from: Side, proto: number, l4: Uint8Array): Uint8Array {
    const src = from === 'client' ? this.client.addr : this.server.addr;
    const dst = from === 'client' ? this.server.addr : this.client.addr;
    const ttl = from === this.local ? 64 : this.remoteTtl;
    const id = this.ipId[from];
    this.ipId[from] = (id + 1) & 0xffff;
    const ip = this.v6
      ? ipv6({ src, dst, nextHeader: proto, payload: l4, hopLimit: ttl })
      : ipv4({ src, dst, protocol: proto, payload: l4, ttl, id, df: proto === IPPROTO_TCP });
    const out = from === this.local;
    return ethernet(ip, { src: out ? this.ifaceMac : ROUTER_MAC, dst: out ? ROUTER_MAC : this.ifaceMac });
  }

  l4Addrs(from: Side): { src: Uint8Array; dst: Uint8Array; srcPort: number; dstPort: number } {
    const a = from === 'client' ? this.client : this.server;
    const b = from === 'client' ? this.server : this.client;
    return { src: a.addr, dst: b.addr, srcPort: a.port, dstPort: b.port };
  }
}

const ROUTER_MAC = macBytes(BENCH_ROUTER_MAC);
const IFACE_MACS = BENCH_INTERFACES.map((i) => macBytes(i.mac));
const SERVERS = BENCH_INTERFACES.map((_, k) => benchServerBytes(k));

/** A pool of random bytes that payloads are sliced from (payload content does not matter). */
class PayloadPool {
  private readonly pool: Uint8Array;
  constructor(rng: Rng) {
    this.pool = rng.bytes(1 << 16);
  }
  take(rng: Rng, n: number): Uint8Array {
    const off = rng.int(0, this.pool.length - n);
    return this.pool.subarray(off, off + n);
  }
}

function smallPayload(rng: Rng, lo: number, hi: number): number {
  return rng.int(lo, hi);
}

function* tcpFlow(c: FlowCtx, pool: PayloadPool, synOnly: boolean): Generator<Emit> {
  const rng = c.rng;
  const seq: Record<Side, number> = { client: rng.u32(), server: rng.u32() };
  const mss = c.v6 ? 1440 : 1460;
  const seg = (from: Side, flags: number, payload?: Uint8Array, options?: Uint8Array): Uint8Array => {
    const other: Side = from === 'client' ? 'server' : 'client';
    const a = from === 'client' ? c.client : c.server;
    const b = from === 'client' ? c.server : c.client;
    const o: TcpOptions = { src: a.addr, dst: b.addr, srcPort: a.port, dstPort: b.port, seq: seq[from], ack: flags & TCP_ACK ? seq[other] : 0, flags, window: 64240 };
    if (payload) o.payload = payload;
    if (options) o.options = options;
    const s = tcp(o);
    seq[from] = (seq[from] + (payload?.length ?? 0) + (flags & (TCP_SYN | TCP_FIN) ? 1 : 0)) >>> 0;
    return c.frame(from, IPPROTO_TCP, s);
  };
  if (synOnly) {
    const tries = rng.int(1, 3);
    let wait = 1000 * MS;
    for (let i = 0; i < tries; i++) {
      yield { delayNs: i === 0 ? 0 : wait, data: seg('client', TCP_SYN, undefined, tcpMssOption(mss)) };
      seq.client = (seq.client - 1) >>> 0;
      if (i > 0) wait *= 2;
    }
    return;
  }
  c.prev = c.local === 'client' ? 'server' : 'client';
  yield { delayNs: 0, data: seg('client', TCP_SYN, undefined, tcpMssOption(mss)) };
  c.prev = 'client';
  yield { delayNs: c.delay('server'), data: seg('server', TCP_SYN | TCP_ACK, undefined, tcpMssOption(mss)) };
  yield { delayNs: c.delay('client'), data: seg('client', TCP_ACK) };
  const exchanges = rng.weighted([[1, 40], [2, 25], [3, 15], [4, 10], [6, 10]] as const);
  for (let x = 0; x < exchanges; x++) {
    const think = x === 0 ? 0 : rng.exp(3 * MS);
    yield { delayNs: c.delay('client', think), data: seg('client', TCP_PSH | TCP_ACK, pool.take(rng, smallPayload(rng, 20, 140))) };
    const big = rng.chance(0.12);
    const respLen = big ? rng.int(400, mss) : smallPayload(rng, 10, 146);
    yield { delayNs: c.delay('server'), data: seg('server', TCP_PSH | TCP_ACK, pool.take(rng, respLen)) };
    yield { delayNs: c.delay('client'), data: seg('client', TCP_ACK) };
  }
  const end = rng.weighted([['fin-client', 55], ['fin-server', 30], ['rst', 10], ['idle', 5]] as const);
  if (end === 'idle') return;
  if (end === 'rst') {
    const from: Side = rng.chance(0.5) ? 'client' : 'server';
    yield { delayNs: c.delay(from), data: seg(from, TCP_RST | TCP_ACK) };
    return;
  }
  const first: Side = end === 'fin-client' ? 'client' : 'server';
  const second: Side = first === 'client' ? 'server' : 'client';
  yield { delayNs: c.delay(first), data: seg(first, TCP_FIN | TCP_ACK) };
  yield { delayNs: c.delay(second), data: seg(second, TCP_FIN | TCP_ACK) };
  yield { delayNs: c.delay(first), data: seg(first, TCP_ACK) };
}

function* udpFlow(c: FlowCtx, pool: PayloadPool, oneWay: boolean): Generator<Emit> {
  const rng = c.rng;
  const dgram = (from: Side, n: number): Uint8Array =>
    c.frame(from, IPPROTO_UDP, udp({ ...c.l4Addrs(from), payload: pool.take(rng, n) }));
  const exchanges = oneWay ? rng.int(1, 5) : rng.weighted([[1, 70], [2, 20], [3, 10]] as const);
  c.prev = c.local === 'client' ? 'server' : 'client';
  for (let x = 0; x < exchanges; x++) {
    const think = x === 0 ? 0 : rng.exp(20 * MS);
    yield { delayNs: x === 0 ? 0 : c.delay('client', think), data: dgram('client', rng.int(28, 110)) };
    c.prev = 'client';
    if (!oneWay) yield { delayNs: c.delay('server'), data: dgram('server', rng.int(40, 150)) };
  }
}

function* icmpFlow(c: FlowCtx, pool: PayloadPool): Generator<Emit> {
  const rng = c.rng;
  const id = rng.u32() & 0xffff;
  const count = rng.int(1, 4);
  const payload = pool.take(rng, 56);
  const proto = c.v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
  const msg = (from: Side, seq: number): Uint8Array => {
    const reply = from === 'server';
    const { src, dst } = c.l4Addrs(from);
    const l4 = c.v6 ? icmpv6Echo({ src, dst, id, seq, payload, reply }) : icmpEcho({ id, seq, payload, reply });
    return c.frame(from, proto, l4);
  };
  for (let s = 1; s <= count; s++) {
    c.prev = 'server';
    yield { delayNs: s === 1 ? 0 : rng.int(200, 1000) * MS, data: msg('client', s) };
    c.prev = 'client';
    yield { delayNs: c.delay('server'), data: msg('server', s) };
  }
}

type FlowKind = 'tcp-in' | 'syn-probe' | 'tcp-out' | 'udp-in' | 'udp-out' | 'icmp-in' | 'icmp-out';

const FLOW_MIX: readonly (readonly [FlowKind, number])[] = [
  ['tcp-in', 62], ['syn-probe', 8], ['tcp-out', 10], ['udp-in', 10], ['udp-out', 6], ['icmp-in', 2], ['icmp-out', 2],
];

function startFlow(rng: Rng, pool: PayloadPool, v6Share: number): { gen: Generator<Emit>; proto: number; v6: boolean } {
  const kind = rng.weighted(FLOW_MIX);
  const v6 = rng.chance(v6Share);
  const k = rng.int(0, SERVERS.length - 1);
  const server = SERVERS[k]!;
  const localAddr = v6 ? server.v6 : server.v4;
  const remoteAddr = v6 ? benchClientV6(rng) : benchClientV4(rng);
  const ephemeral = rng.int(32768, 60999);
  const mac = IFACE_MACS[k]!;
  const inbound = kind.endsWith('-in') || kind === 'syn-probe';
  let servicePort = 0;
  let proto = IPPROTO_TCP;
  if (kind === 'tcp-in' || kind === 'udp-in') {
    let svc = rng.weighted(BENCH_INBOUND_SERVICES);
    while ((svc.proto === 'tcp') !== (kind === 'tcp-in')) svc = rng.weighted(BENCH_INBOUND_SERVICES);
    servicePort = svc.port;
  } else if (kind === 'tcp-out' || kind === 'udp-out') {
    let svc = rng.weighted(BENCH_OUTBOUND_SERVICES);
    while ((svc.proto === 'tcp') !== (kind === 'tcp-out')) svc = rng.weighted(BENCH_OUTBOUND_SERVICES);
    servicePort = svc.port;
  } else if (kind === 'syn-probe') {
    servicePort = rng.int(1, 65535);
  }
  if (kind.startsWith('udp')) proto = IPPROTO_UDP;
  if (kind.startsWith('icmp')) proto = v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
  const local: Side = inbound ? 'server' : 'client';
  const client: Endpoint = inbound ? { addr: remoteAddr, port: ephemeral } : { addr: localAddr, port: ephemeral };
  const srv: Endpoint = inbound ? { addr: localAddr, port: servicePort } : { addr: remoteAddr, port: servicePort };
  const c = new FlowCtx(rng, v6, local, client, srv, mac);
  let gen: Generator<Emit>;
  if (proto === IPPROTO_TCP) gen = tcpFlow(c, pool, kind === 'syn-probe');
  else if (proto === IPPROTO_UDP) gen = udpFlow(c, pool, kind === 'udp-in' && servicePort === 514);
  else gen = icmpFlow(c, pool);
  return { gen, proto, v6 };
}

/** Min-heap of pending packets by (time, insertion order), so ties break deterministically. */
class Heap {
  private t: number[] = [];
  private o: number[] = [];
  private v: { gen: Generator<Emit>; data: Uint8Array; proto: number; v6: boolean }[] = [];
  private order = 0;

  get size(): number {
    return this.t.length;
  }

  topTime(): number {
    return this.t[0] ?? Infinity;
  }

  push(time: number, value: { gen: Generator<Emit>; data: Uint8Array; proto: number; v6: boolean }): void {
    this.t.push(time);
    this.o.push(this.order++);
    this.v.push(value);
    let i = this.t.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  pop(): { time: number; value: { gen: Generator<Emit>; data: Uint8Array; proto: number; v6: boolean } } {
    const time = this.t[0]!;
    const value = this.v[0]!;
    const last = this.t.length - 1;
    this.swap(0, last);
    this.t.pop();
    this.o.pop();
    this.v.pop();
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.t.length && this.less(l, m)) m = l;
      if (r < this.t.length && this.less(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
    return { time, value };
  }

  private less(a: number, b: number): boolean {
    return this.t[a]! < this.t[b]! || (this.t[a] === this.t[b] && this.o[a]! < this.o[b]!);
  }

  private swap(a: number, b: number): void {
    const t = this.t[a]!; this.t[a] = this.t[b]!; this.t[b] = t;
    const o = this.o[a]!; this.o[a] = this.o[b]!; this.o[b] = o;
    const v = this.v[a]!; this.v[a] = this.v[b]!; this.v[b] = v;
  }
}

/** The trace's records in time order; `stats` is filled in as records are produced. */
export function* generateTrace(o: TraceOptions, stats?: TraceStats): Generator<PcapRecord> {
  if (!Number.isInteger(o.packets) || o.packets < 0) throw new Error(`--packets must be a non-negative integer, got ${o.packets}`);
  const rng = new Rng(o.seed);
  const pool = new PayloadPool(rng);
  const pps = o.pps ?? 100_000;
  const v6Share = o.v6Share ?? 0.2;
  const meanGap = (12 / pps) * 1e9; // ~12 packets per flow
  const st: TraceStats = stats ?? {
    packets: 0, bytes: 0, flows: 0, v6Packets: 0, tcpPackets: 0, udpPackets: 0, icmpPackets: 0,
    maxConcurrentFlows: 0, durationSeconds: 0,
  };
  const heap = new Heap();
  // New flows stop a little before the end so most flows in the tail can finish.
  const stopArrivals = Math.floor(o.packets * 0.97);
  let nextArrival = 0;
  let now = 0;
  while (st.packets < o.packets) {
    const arrivalsOpen = st.packets < stopArrivals || heap.size === 0;
    if (arrivalsOpen && nextArrival <= heap.topTime()) {
      const f = startFlow(rng, pool, v6Share);
      st.flows++;
      const first = f.gen.next();
      if (!first.done) heap.push(nextArrival, { gen: f.gen, data: first.value.data, proto: f.proto, v6: f.v6 });
      if (heap.size > st.maxConcurrentFlows) st.maxConcurrentFlows = heap.size;
      nextArrival += Math.max(1, Math.round(rng.exp(meanGap)));
      continue;
    }
    const { time, value } = heap.pop();
    now = time;
    st.packets++;
    st.bytes += value.data.length;
    if (value.v6) st.v6Packets++;
    if (value.proto === IPPROTO_TCP) st.tcpPackets++;
    else if (value.proto === IPPROTO_UDP) st.udpPackets++;
    else st.icmpPackets++;
    yield { tsNs: TRACE_START_NS + BigInt(Math.round(now)), data: value.data };
    const next = value.gen.next();
    if (!next.done) heap.push(now + Math.max(1000, Math.round(next.value.delayNs)), { ...value, data: next.value.data });
  }
  st.durationSeconds = now / 1e9;
}

/** Generate and stream the trace to a pcap file. */
export function writeTrace(o: TraceOptions & { out: string }): TraceStats {
  const stats: TraceStats = {
    packets: 0, bytes: 0, flows: 0, v6Packets: 0, tcpPackets: 0, udpPackets: 0, icmpPackets: 0,
    maxConcurrentFlows: 0, durationSeconds: 0,
  };
  const w = new PcapWriter(o.out, { resolution: 'us' });
  try {
    for (const rec of generateTrace(o, stats)) w.write(rec);
    w.close();
  } catch (e) {
    w.abort();
    throw e;
  }
  return stats;
}

export function main(argv: string[]): number {
  try {
    const args = parseArgs(argv, ['packets', 'out', 'seed', 'pps']);
    const out = args.get('out');
    if (!out) throw new Error('--out FILE is required');
    const t0 = process.hrtime.bigint();
    const stats = writeTrace({
      packets: intArg(args, 'packets', 1_000_000),
      seed: intArg(args, 'seed', 1),
      pps: intArg(args, 'pps', 100_000),
      out,
    });
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    process.stdout.write(`${JSON.stringify({ out, ...stats, generatedInSeconds: Math.round(secs * 10) / 10 })}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`gen-trace: ${(e as Error).message}\n`);
    return 2;
  }
}

if (invokedAsScript(import.meta.url)) process.exitCode = main(process.argv.slice(2));
