// Exhaustion and floods (issue 6 item 3), offline: crafted traces replayed through the whole
// engine (parse -> conntrack -> classify) with small tables, so the bounds are reached fast.
// - SYN flood of distinct sources against a full conntrack table: established, replied flows
//   are never evicted (their packets pass during and after the flood), the table never holds
//   more than conntrack.maxFlows, evictions hit only unreplied flows, refusals are counted.
// - Fragments: later fragments whose first fragment never came are dropped as `fragment` and
//   counted; first fragments whose rest never comes are kept at most conntrack.maxFragments
//   (oldest evicted, counted) and expire after the fragment timeout (counted).
// - UDP flood of new flows with maxFlows small: old replied flows keep working.
// Each test prints its figures (packets, entries, evicted, full, elapsed) for the notes.
import { describe, expect, it } from 'vitest';
import { fragmentIpv4, TCP_ACK, TCP_PSH, TCP_SYN, tcpPacket, udpPacket } from '../../src/packet/build.js';
import { at, replayPackets, type Pkt, type Verdict } from '../dataplane/replay-harness.js';

const S = '198.18.1.10'; // the protected interface
const MAX_FLOWS = 1000;

/** k-th address of a /16 block given as its first two octets ("198.19"). */
const addr = (block: string, k: number) => `${block}.${(k >> 8) & 0xff}.${k & 0xff}`;
/** Established clients live in 198.18.64.0/18, flood sources in 198.19.0.0/16. */
const established = (k: number) => addr('198.18', 64 * 256 + k);
const flooder = (k: number) => addr('198.19', k);

function awsTcp80(maxFlows: number) {
  return {
    cloud: 'aws',
    interfaces: [{ id: 'eni-1', addresses: [S], securityGroups: ['sg-web'] }],
    securityGroups: [{
      GroupId: 'sg-web',
      // Not 0.0.0.0/0: the flows are tracked (an untracked flow would need no entry at all).
      IpPermissions: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '198.18.0.0/15' }] }],
      IpPermissionsEgress: [],
    }],
    conntrack: { maxFlows },
  };
}

interface Conn {
  client: string;
  port: number;
  cseq: number;
  sseq: number;
}

const seg = (t: number, src: string, dst: string, sport: number, dport: number, flags: number, seq: number, ack: number, data = 0): Pkt =>
  at(t, tcpPacket({ src, dst, srcPort: sport, dstPort: dport, flags, seq, ack, payload: new Uint8Array(data) }));

/** Three-way handshake of conn at time t (three packets). */
function handshake(c: Conn, t: number): Pkt[] {
  const out = [
    seg(t, c.client, S, c.port, 80, TCP_SYN, c.cseq, 0),
    seg(t + 0.0001, S, c.client, 80, c.port, TCP_SYN | TCP_ACK, c.sseq, c.cseq + 1),
    seg(t + 0.0002, c.client, S, c.port, 80, TCP_ACK, c.cseq + 1, c.sseq + 1),
  ];
  c.cseq += 1;
  c.sseq += 1;
  return out;
}

/** One request and its answer on an established conn (two packets). */
function exchange(c: Conn, t: number): Pkt[] {
  const out = [
    seg(t, c.client, S, c.port, 80, TCP_PSH | TCP_ACK, c.cseq, c.sseq, 20),
    seg(t + 0.0001, S, c.client, 80, c.port, TCP_PSH | TCP_ACK, c.sseq, c.cseq + 20, 100),
  ];
  c.cseq += 20;
  c.sseq += 100;
  return out;
}

function report(name: string, r: ReturnType<typeof replayPackets>['outcome']['summary']): void {
  const ct = r.conntrack;
  const fr = r.fragments;
  console.log(
    `[exhaustion] ${name}: packets ${r.packets}, accepted ${r.accepted}, dropped ${r.dropped}, ` +
      `conntrack entries ${ct.entries}/${ct.max}, created ${ct.created}, evicted ${ct.evicted}, full ${ct.full}, expired ${ct.expired}; ` +
      `fragments entries ${fr.entries}, inserted ${fr.inserted}, evicted ${fr.evicted}, expired ${fr.expired}, hits ${fr.hits}, misses ${fr.misses}; ` +
      `reasons ${JSON.stringify(r.reasons)}; elapsed ${(r.elapsedSeconds * 1000).toFixed(1)} ms (${r.packetsPerSecond} pkt/s)`,
  );
}

const brief = (v: Verdict) => `${v.verdict}:${v.reason}`;

/** Conservation of the flow table: what was created and not reclaimed is still there. */
function expectConserved(ct: { entries: number; created: number; expired: number; evicted: number; removed?: number }): void {
  expect(ct.created - ct.expired - ct.evicted - (ct.removed ?? 0)).toBe(ct.entries);
}

describe('SYN flood against a full conntrack table', () => {
  it('established replied flows are never evicted; unreplied SYN flows are; the table stays within maxFlows', () => {
    const E = 700; // replied flows: the rest of the table (300) is left to the flood
    const FLOOD = 20_000;
    const conns: Conn[] = Array.from({ length: E }, (_, k) => ({ client: established(k), port: 10_000 + k, cseq: 1000 * k, sseq: 7_000_000 + k }));
    const pkts: Pkt[] = [];
    const estIdx: number[] = []; // indexes of every packet of an established conn after its handshake
    const synIdx: number[] = [];
    conns.forEach((c, k) => pkts.push(...handshake(c, k * 0.001)));
    let t = 1;
    let round = 0;
    for (let k = 0; k < FLOOD; k++) {
      synIdx.push(pkts.length);
      pkts.push(seg(t, flooder(k), S, 1024 + (k % 50_000), 80, TCP_SYN, k * 7919, 0));
      t += 0.0001; // 10 kpps
      // Every 40 SYNs, one established conn talks: it must pass in the thick of the flood.
      if (k % 40 === 39) {
        const c = conns[round++ % E]!;
        for (const p of exchange(c, t)) {
          estIdx.push(pkts.length);
          pkts.push(p);
        }
      }
    }
    const floodEnd = pkts.length;
    t += 1;
    // After the flood every established conn talks again.
    for (const c of conns) {
      for (const p of exchange(c, t)) {
        estIdx.push(pkts.length);
        pkts.push(p);
      }
      t += 0.0001;
    }

    const { verdicts, outcome } = replayPackets(awsTcp80(MAX_FLOWS), pkts);
    const r = outcome.summary;
    report('SYN flood, 700 established + 20000 SYNs, maxFlows 1000', r);

    // Every handshake completed and every later packet of an established conn passed.
    for (let i = 0; i < E * 3; i++) expect(verdicts[i]!.verdict, `handshake packet ${i}`).toBe('accept');
    const estBad = estIdx.filter((i) => brief(verdicts[i]!) !== 'accept:established');
    expect(estBad.map((i) => ({ i, ...verdicts[i] }))).toEqual([]);
    expect(estIdx.length).toBe(2 * (FLOOD / 40) + 2 * E);

    // Flood SYNs: accepted by the rule (making room by evicting an older unreplied SYN) or
    // refused as conntrack-full when no unreplied flow was near; nothing else.
    const synVerdicts = synIdx.map((i) => brief(verdicts[i]!));
    const accepted = synVerdicts.filter((v) => v === 'accept:rule').length;
    const refused = synVerdicts.filter((v) => v === 'drop:conntrack-full').length;
    expect(accepted + refused).toBe(FLOOD);
    expect(refused).toBe(r.conntrack.full);
    expect(r.reasons['conntrack-full'] ?? 0).toBe(refused);

    // The bound: never more than maxFlows; all established conns still there.
    expect(r.conntrack.max).toBe(MAX_FLOWS);
    expect(r.conntrack.entries).toBeLessThanOrEqual(MAX_FLOWS);
    expect(r.conntrack.entries).toBeGreaterThanOrEqual(E);
    expect(r.conntrack.created).toBe(E + accepted);
    // The table filled at SYN number (MAX - E); every SYN accepted after that evicted one.
    expect(r.conntrack.evicted).toBe(accepted - (MAX_FLOWS - E));
    expect(r.conntrack.evicted).toBeGreaterThan(FLOOD / 2);
    expect(r.conntrack.expired).toBe(0);
    expectConserved(r.conntrack);

    // The bound holds in the thick of the flood too: replay prefixes of the trace.
    for (const cut of [E * 3 + 500, Math.floor(floodEnd / 2), floodEnd]) {
      const part = replayPackets(awsTcp80(MAX_FLOWS), pkts.slice(0, cut)).outcome.summary;
      expect(part.conntrack.entries, `after ${cut} packets`).toBeLessThanOrEqual(MAX_FLOWS);
      expectConserved(part.conntrack);
    }
  });

  it('a table full of replied flows refuses every new SYN (conntrack-full) and evicts nothing', () => {
    const FLOOD = 10_000;
    const conns: Conn[] = Array.from({ length: MAX_FLOWS }, (_, k) => ({ client: established(k), port: 20_000 + k, cseq: 3000 * k, sseq: 9_000_000 + k }));
    const pkts: Pkt[] = [];
    conns.forEach((c, k) => pkts.push(...handshake(c, k * 0.001)));
    const synStart = pkts.length;
    let t = 2;
    for (let k = 0; k < FLOOD; k++, t += 0.0001) pkts.push(seg(t, flooder(k), S, 2048 + k, 80, TCP_SYN, k, 0));
    const after = pkts.length;
    for (const c of conns) pkts.push(...exchange(c, (t += 0.0001)));

    const { verdicts, outcome } = replayPackets(awsTcp80(MAX_FLOWS), pkts);
    const r = outcome.summary;
    report('SYN flood, table full of 1000 replied flows + 10000 SYNs', r);

    expect(verdicts.slice(0, synStart).every((v) => v.verdict === 'accept')).toBe(true);
    expect(verdicts.slice(synStart, after).every((v) => brief(v) === 'drop:conntrack-full')).toBe(true);
    // The refused SYN still names the rule that would have admitted it.
    expect(verdicts[synStart]!.rule).toBe('sg-web:ingress:0');
    expect(verdicts.slice(after).every((v) => brief(v) === 'accept:established')).toBe(true);
    expect(r.conntrack).toMatchObject({ entries: MAX_FLOWS, max: MAX_FLOWS, created: MAX_FLOWS, evicted: 0, full: FLOOD, expired: 0 });
  });
});

describe('fragments whose first fragment never comes, and first fragments whose rest never comes', () => {
  const C = '198.19.200.1';
  const udpIn = (maxFragments: number) => ({
    cloud: 'aws',
    interfaces: [{ id: 'eni-1', addresses: [S], securityGroups: ['sg-u'] }],
    securityGroups: [{
      GroupId: 'sg-u',
      IpPermissions: [{ IpProtocol: 'udp', FromPort: 5000, ToPort: 5000, IpRanges: [{ CidrIp: '198.19.0.0/16' }] }],
      IpPermissionsEgress: [],
    }],
    conntrack: { maxFragments },
  });
  /** The fragments (3) of one 1500-byte UDP datagram with IP id `id`. */
  const frags = (id: number) =>
    fragmentIpv4(udpPacket({ src: C, dst: S, srcPort: 7000, dstPort: 5000, payload: new Uint8Array(1500), ipId: id }), 600);

  it('orphan later fragments are dropped as fragment, counted, and occupy nothing', () => {
    const N = 8000;
    const pkts: Pkt[] = [];
    for (let k = 0; k < N; k++) pkts.push(at(k * 0.0001, frags(k)[1 + (k % 2)]!));
    const { verdicts, outcome } = replayPackets(udpIn(256), pkts);
    const r = outcome.summary;
    report(`${N} orphan later fragments`, r);
    expect(verdicts.every((v) => brief(v) === 'drop:fragment')).toBe(true);
    expect(r.reasons.fragment).toBe(N);
    expect(r.fragments.misses).toBe(N);
    expect(r.fragments.entries).toBe(0);
    expect(r.fragments.inserted).toBe(0);
    expect(r.conntrack.entries).toBe(0);
  });

  it('first fragments whose rest never comes: at most maxFragments kept, oldest evicted, all expire', () => {
    const MAX_FRAGS = 256;
    const N = 6000;
    const pkts: Pkt[] = [];
    const all = Array.from({ length: N }, (_, k) => frags(k));
    for (let k = 0; k < N; k++) pkts.push(at(k * 0.0001, all[k]![0]!)); // first fragments only
    // The rest of the oldest datagram (its first fragment evicted long ago) and of the newest.
    const lateOld = pkts.length;
    pkts.push(at(1, all[0]![1]!), at(1, all[0]![2]!));
    const lateNew = pkts.length;
    pkts.push(at(1, all[N - 1]![1]!), at(1, all[N - 1]![2]!));
    // 40 s later (fragment timeout 30 s) the newest one's rest is gone too.
    const expiredAt = pkts.length;
    pkts.push(at(41, all[N - 2]![1]!));
    // Other traffic goes on (denied datagrams); replay sweeps timed-out entries every 256 packets.
    const filler = pkts.length;
    for (let k = 0; k < 300; k++) pkts.push(at(41 + k * 0.001, udpPacket({ src: C, dst: S, srcPort: 7001, dstPort: 6000 })));

    const { verdicts, outcome } = replayPackets(udpIn(MAX_FRAGS), pkts);
    const r = outcome.summary;
    report(`${N} first fragments without their rest, maxFragments ${MAX_FRAGS}`, r);

    // One UDP flow: its first datagram by the rule, the others as established.
    expect(brief(verdicts[0]!)).toBe('accept:rule');
    expect(verdicts.slice(1, N).every((v) => brief(v) === 'accept:established')).toBe(true);
    expect(brief(verdicts[lateOld]!)).toBe('drop:fragment');
    expect(brief(verdicts[lateOld + 1]!)).toBe('drop:fragment');
    expect(verdicts.slice(lateNew, lateNew + 2).map(brief)).toEqual(['accept:established', 'accept:established']);
    expect(brief(verdicts[expiredAt]!)).toBe('drop:fragment');
    expect(verdicts.slice(filler).every((v) => brief(v) === 'drop:default')).toBe(true);
    expect(r.fragments.inserted).toBe(N);
    // Full from the MAX_FRAGS-th on: every later first fragment pushed the oldest out.
    expect(r.fragments.evicted).toBe(N - MAX_FRAGS);
    // The survivors all timed out by t = 41 s (one lazily, the rest by the sweep): counted,
    // none left behind.
    expect(r.fragments.expired).toBe(MAX_FRAGS);
    expect(r.fragments.entries).toBe(0);
    expect(r.fragments.hits).toBe(2);
    expect(r.fragments.misses).toBe(3);
    // And the bound held at its fullest: right after the last first fragment.
    const mid = replayPackets(udpIn(MAX_FRAGS), pkts.slice(0, N)).outcome.summary;
    expect(mid.fragments).toMatchObject({ entries: MAX_FRAGS, inserted: N, evicted: N - MAX_FRAGS, expired: 0 });
  });
});

describe('UDP flood of new flows with maxFlows small', () => {
  it('old replied flows keep working during and after the flood (Alibaba, every flow tracked)', () => {
    const OLD = 400;
    const FLOOD = 20_000;
    const max = 500;
    const policy = {
      cloud: 'alibaba',
      interfaces: [{ id: 'eni-1', addresses: [S], securityGroups: ['sg-dns'] }],
      securityGroups: [{
        SecurityGroupId: 'sg-dns',
        Permissions: { Permission: [
          { SecurityGroupRuleId: 'sgr-dns', Direction: 'ingress', Policy: 'Accept', Priority: '1', IpProtocol: 'UDP', PortRange: '53/53', SourceCidrIp: '198.18.0.0/15' },
        ] },
      }],
      conntrack: { maxFlows: max },
    };
    const q = (t: number, c: string, port: number) => at(t, udpPacket({ src: c, dst: S, srcPort: port, dstPort: 53, payload: new Uint8Array(30) }));
    const a = (t: number, c: string, port: number) => at(t, udpPacket({ src: S, dst: c, srcPort: 53, dstPort: port, payload: new Uint8Array(90) }));
    const pkts: Pkt[] = [];
    const oldIdx: number[] = [];
    const floodIdx: number[] = [];
    for (let k = 0; k < OLD; k++) pkts.push(q(k * 0.001, established(k), 30_000 + k), a(k * 0.001 + 0.0005, established(k), 30_000 + k));
    let t = 1;
    let round = 0;
    for (let k = 0; k < FLOOD; k++, t += 0.00005) {
      floodIdx.push(pkts.length);
      pkts.push(q(t, flooder(k), 1024 + (k % 60_000)));
      if (k % 50 === 49) {
        const j = round++ % OLD;
        oldIdx.push(pkts.length, pkts.length + 1);
        pkts.push(q(t, established(j), 30_000 + j), a(t, established(j), 30_000 + j));
      }
    }
    for (let j = 0; j < OLD; j++, t += 0.0001) {
      oldIdx.push(pkts.length, pkts.length + 1);
      pkts.push(q(t, established(j), 30_000 + j), a(t, established(j), 30_000 + j));
    }

    const { verdicts, outcome } = replayPackets(policy, pkts);
    const r = outcome.summary;
    report(`UDP flood, ${OLD} replied flows + ${FLOOD} new flows, maxFlows ${max}`, r);

    expect(verdicts.slice(0, 2 * OLD).map(brief).filter((v, i) => v !== (i % 2 ? 'accept:established' : 'accept:rule'))).toEqual([]);
    const oldBad = oldIdx.filter((i) => brief(verdicts[i]!) !== 'accept:established');
    expect(oldBad.map((i) => ({ i, ...verdicts[i] }))).toEqual([]);
    const fv = floodIdx.map((i) => brief(verdicts[i]!));
    const accepted = fv.filter((v) => v === 'accept:rule').length;
    expect(accepted + fv.filter((v) => v === 'drop:conntrack-full').length).toBe(FLOOD);
    expect(r.conntrack.full).toBe(FLOOD - accepted);
    expect(r.conntrack.entries).toBeLessThanOrEqual(max);
    expect(r.conntrack.entries).toBeGreaterThanOrEqual(OLD);
    expect(r.conntrack.created).toBe(OLD + accepted);
    expect(r.conntrack.evicted).toBe(accepted - (max - OLD));
    expectConserved(r.conntrack);
  });
});
