// Connection tracking through the whole engine (parse -> conntrack -> classify), one test per
// transition that matters (issue 3): handshake and FIN close, RST close, per-cloud timeouts,
// UDP stream, RELATED with matching and non-matching quotes, untracked cut on reload, the
// Alibaba Drop-on-reload cut, a full table, invalid flags, fragments, ICMP echo.
import { describe, expect, it } from 'vitest';
import {
  arpFrame, echoPacket, fragmentIpv4, icmpErrorPacket, icmpv6NeighborSolicitation, ipPacket,
  TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, tcpPacket, udpPacket,
} from '../../src/packet/build.js';
import { at, brief, replayPackets, type Pkt } from './replay-harness.js';

const S = '198.18.1.10'; // the protected interface
const C = '198.19.7.7'; // a client
const C2 = '198.19.8.8';
const R = '198.18.0.2'; // a resolver
const ROUTER = '198.19.99.1';

type Perm = Record<string, unknown>;
const tcpIn = (port: number, cidr: string): Perm => ({ IpProtocol: 'tcp', FromPort: port, ToPort: port, IpRanges: [{ CidrIp: cidr }] });
const udpOut = (port: number, cidr: string): Perm => ({ IpProtocol: 'udp', FromPort: port, ToPort: port, IpRanges: [{ CidrIp: cidr }] });
const allOut: Perm = { IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] };

function aws(ingress: Perm[], egress: Perm[], extra: Record<string, unknown> = {}) {
  return {
    cloud: 'aws',
    interfaces: [{ id: 'eni-1', addresses: [S, '2001:db8:1::10'], securityGroups: ['sg-a'] }],
    securityGroups: [{ GroupId: 'sg-a', IpPermissions: ingress, IpPermissionsEgress: egress }],
    ...extra,
  };
}

function alibaba(perms: Perm[]) {
  return {
    cloud: 'alibaba',
    interfaces: [{ id: 'eni-1', addresses: [S], securityGroups: ['sg-b'] }],
    securityGroups: [{ SecurityGroupId: 'sg-b', Permissions: { Permission: perms } }],
  };
}

let seq = 1000;
const tcpSeg = (t: number, src: string, dst: string, sport: number, dport: number, flags: number, data = 0): Pkt =>
  at(t, tcpPacket({ src, dst, srcPort: sport, dstPort: dport, flags, seq: seq++, ack: 1, payload: new Uint8Array(data) }));
const udpDgram = (t: number, src: string, dst: string, sport: number, dport: number, size = 20): Pkt =>
  at(t, udpPacket({ src, dst, srcPort: sport, dstPort: dport, payload: new Uint8Array(size) }));

describe('TCP', () => {
  it('handshake, data and FIN close pass as established; after TIME_WAIT the rules judge again', () => {
    const p = aws([tcpIn(80, '198.19.0.0/16')], []);
    const { verdicts, outcome } = replayPackets(p, [
      tcpSeg(0, C, S, 40000, 80, TCP_SYN), //               0 new, ingress rule
      tcpSeg(0.01, S, C, 80, 40000, TCP_SYN | TCP_ACK), // 1 reply
      tcpSeg(0.02, C, S, 40000, 80, TCP_ACK), //           2
      tcpSeg(0.03, C, S, 40000, 80, TCP_PSH | TCP_ACK, 100),
      tcpSeg(0.04, S, C, 80, 40000, TCP_PSH | TCP_ACK, 900),
      tcpSeg(0.05, S, C, 80, 40000, TCP_FIN | TCP_ACK), // 5 server closes
      tcpSeg(0.06, C, S, 40000, 80, TCP_ACK),
      tcpSeg(0.07, C, S, 40000, 80, TCP_FIN | TCP_ACK),
      tcpSeg(0.08, S, C, 80, 40000, TCP_ACK), //           8 -> TIME_WAIT (120 s)
      tcpSeg(200, S, C, 80, 40000, TCP_ACK), //            9 flow gone: egress has no rule
    ]);
    expect(brief(verdicts)).toEqual([
      'accept:rule', ...Array(8).fill('accept:established'), 'drop:default',
    ]);
    expect(verdicts[0]).toMatchObject({ interface: 'eni-1', direction: 'ingress', rule: 'sg-a:ingress:0' });
    expect(verdicts[9]).toMatchObject({ direction: 'egress', rule: 'default:egress:drop' });
    expect(outcome.summary.conntrack.created).toBe(1);
    expect(outcome.summary.conntrack.expired).toBeGreaterThanOrEqual(1);
  });

  it('RST closes: the CLOSE state lasts 10 s, then the rules judge again', () => {
    const p = aws([tcpIn(80, '198.19.0.0/16')], []);
    const { verdicts } = replayPackets(p, [
      tcpSeg(0, C, S, 40001, 80, TCP_SYN),
      tcpSeg(0.01, S, C, 80, 40001, TCP_SYN | TCP_ACK),
      tcpSeg(0.02, C, S, 40001, 80, TCP_ACK),
      tcpSeg(0.03, C, S, 40001, 80, TCP_RST),
      tcpSeg(11.5, S, C, 80, 40001, TCP_PSH | TCP_ACK, 10),
    ]);
    expect(brief(verdicts)).toEqual([
      'accept:rule', 'accept:established', 'accept:established', 'accept:established', 'drop:default',
    ]);
  });

  it('impossible flag combinations are invalid before any rule', () => {
    const p = aws([tcpIn(80, '0.0.0.0/0')], []);
    const { verdicts, outcome } = replayPackets(p, [
      tcpSeg(0, C, S, 40002, 80, TCP_SYN | TCP_FIN),
      tcpSeg(0.1, C, S, 40003, 80, 0),
    ]);
    expect(brief(verdicts)).toEqual(['drop:invalid', 'drop:invalid']);
    expect(outcome.summary.invalid['tcp-flags']).toBe(2);
  });

  it('mid-stream pickup: an allowed ACK of an unknown connection opens an established flow', () => {
    const p = aws([tcpIn(80, '198.19.0.0/16')], []);
    const { verdicts } = replayPackets(p, [
      tcpSeg(0, C, S, 40004, 80, TCP_PSH | TCP_ACK, 50),
      tcpSeg(0.1, S, C, 80, 40004, TCP_ACK),
      tcpSeg(0.2, S, C, 80, 40099, TCP_ACK), // no flow, egress has no rule
    ]);
    expect(brief(verdicts)).toEqual(['accept:rule', 'accept:established', 'drop:default']);
  });
});

describe('UDP and per-cloud timeouts', () => {
  const q = (t: number) => udpDgram(t, S, R, 5353, 53);
  const a = (t: number) => udpDgram(t, R, S, 53, 5353);

  it('AWS: a UDP flow idles out after 30 s', () => {
    const { verdicts } = replayPackets(aws([], [udpOut(53, '198.18.0.0/24')]), [q(0), a(1), a(32)]);
    expect(brief(verdicts)).toEqual(['accept:rule', 'accept:established', 'drop:default']);
  });

  it('AWS: a UDP stream (reply, then the original direction again) lasts 180 s', () => {
    const { verdicts } = replayPackets(aws([], [udpOut(53, '198.18.0.0/24')]), [q(0), a(1), q(2), a(100), a(281)]);
    expect(brief(verdicts)).toEqual([
      'accept:rule', 'accept:established', 'accept:established', 'accept:established', 'drop:default',
    ]);
  });

  it('AWS: conntrack.timeouts overrides the defaults', () => {
    const p = aws([], [udpOut(53, '198.18.0.0/24')], { conntrack: { timeouts: { udp: 60 } } });
    const { verdicts } = replayPackets(p, [q(0), a(1), a(50), a(111)]);
    expect(brief(verdicts)).toEqual(['accept:rule', 'accept:established', 'accept:established', 'drop:default']);
  });

  it('Alibaba: every session idles out after 910 s', () => {
    const p = alibaba([
      { Direction: 'egress', Policy: 'Accept', Priority: '1', IpProtocol: 'UDP', PortRange: '53/53', DestCidrIp: '198.18.0.0/24' },
    ]);
    const { verdicts } = replayPackets(p, [q(0), a(1), a(32), a(900), a(1811)]);
    expect(brief(verdicts)).toEqual([
      'accept:rule', 'accept:established', 'accept:established', 'accept:established', 'drop:default',
    ]);
  });

  it('at the end of a trace, flows idle past their timeout count as expired, not as entries', () => {
    // Two flows that never meet again, and a third packet 60 s later: far fewer packets than the
    // sweep's period, so only the end-of-trace expiry can reclaim the first two.
    const p = aws([], [udpOut(53, '198.18.0.0/24')]);
    const { verdicts, outcome } = replayPackets(p, [
      q(0), udpDgram(0.5, S, R, 5354, 53), udpDgram(60, S, R, 5355, 53), udpDgram(61, S, R, 5355, 53),
    ]);
    expect(brief(verdicts)).toEqual(['accept:rule', 'accept:rule', 'accept:rule', 'accept:established']);
    expect(outcome.summary.conntrack).toMatchObject({ created: 3, expired: 2, entries: 1 });
  });

  it("the trace's end is its latest timestamp, wherever that falls in the trace", () => {
    // Time goes back at the last record (traces merged from several captures do that): the end
    // is still t = 60 s, by which the flows of t = 0 and t = 10 (UDP without a reply: 30 s) have
    // expired, whichever record a batch of the reader happens to end on (it was the last
    // record's time: nothing had expired).
    const p = aws([], [udpOut(53, '198.18.0.0/24')]);
    const { verdicts, outcome } = replayPackets(p, [
      udpDgram(0, S, R, 5354, 53), udpDgram(60, S, R, 5355, 53), udpDgram(10, S, R, 5356, 53),
    ]);
    expect(brief(verdicts)).toEqual(['accept:rule', 'accept:rule', 'accept:rule']);
    expect(outcome.summary.conntrack).toMatchObject({ created: 3, expired: 2, entries: 1 });
  });
});

describe('ICMP', () => {
  it('echo request opens a flow, its reply passes; an unsolicited reply meets the rules', () => {
    const p = aws([], [{ IpProtocol: 'icmp', FromPort: -1, ToPort: -1, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }]);
    const { verdicts } = replayPackets(p, [
      at(0, echoPacket({ src: S, dst: C, id: 7, seq: 1 })),
      at(0.01, echoPacket({ src: C, dst: S, id: 7, seq: 1, reply: true })),
      at(0.02, echoPacket({ src: C2, dst: S, id: 9, seq: 1, reply: true })),
    ]);
    expect(brief(verdicts)).toEqual(['accept:rule', 'accept:established', 'drop:default']);
  });

  it('errors quoting a tracked flow pass as related; other quotes meet the rules', () => {
    const p = aws([tcpIn(80, '198.19.0.0/16')], []);
    const synAck = tcpPacket({ src: S, dst: C, srcPort: 80, dstPort: 40010, flags: TCP_SYN | TCP_ACK, df: true });
    const toOther = tcpPacket({ src: S, dst: '198.19.50.50', srcPort: 80, dstPort: 40011, flags: TCP_ACK, df: true });
    const fromClient = tcpPacket({ src: C, dst: S, srcPort: 40010, dstPort: 80, flags: TCP_ACK, df: true });
    const { verdicts } = replayPackets(p, [
      tcpSeg(0, C, S, 40010, 80, TCP_SYN),
      at(0.01, synAck),
      // frag-needed from a router on the path back to the server, quoting its SYN/ACK
      at(0.02, icmpErrorPacket({ src: ROUTER, dst: S, type: 3, code: 4, mtu: 1400, quoted: synAck })),
      // quoting a packet of no flow
      at(0.03, icmpErrorPacket({ src: ROUTER, dst: S, type: 3, code: 4, mtu: 1400, quoted: toOther })),
      // quoting the flow, but the error goes to the server about a packet the server did not send
      at(0.04, icmpErrorPacket({ src: ROUTER, dst: S, type: 3, code: 1, quoted: fromClient })),
    ]);
    expect(brief(verdicts)).toEqual([
      'accept:rule', 'accept:established', 'accept:related', 'drop:default', 'drop:default',
    ]);
  });
});

describe('reloads', () => {
  it('AWS: an untracked flow is cut at once, a tracked one survives the rule removal', () => {
    const before = aws([tcpIn(22, '0.0.0.0/0'), tcpIn(2222, '198.19.0.0/16')], [allOut]);
    const after = aws([], [allOut]);
    const { verdicts } = replayPackets(before, [
      tcpSeg(0, C, S, 41000, 22, TCP_SYN), //              0 untracked: rule
      tcpSeg(0.01, S, C, 22, 41000, TCP_SYN | TCP_ACK), // 1 egress rule, no flow
      tcpSeg(0.02, C, S, 41000, 22, TCP_ACK), //           2 untracked: rule again
      tcpSeg(0.03, S, C, 22, 41000, TCP_PSH | TCP_ACK, 10), // 3 reply of an untracked flow: rule, no flow
      tcpSeg(0.04, C, S, 41001, 2222, TCP_SYN), //         4 tracked
      tcpSeg(0.05, S, C, 2222, 41001, TCP_SYN | TCP_ACK),
      tcpSeg(0.06, C, S, 41001, 2222, TCP_ACK),
      tcpSeg(1, C, S, 41000, 22, TCP_PSH | TCP_ACK, 10), //   7 after the reload: cut
      tcpSeg(1.01, C, S, 41001, 2222, TCP_PSH | TCP_ACK, 10), // 8 tracked: still passes
    ], [{ before: 7, policy: after }]);
    expect(brief(verdicts)).toEqual([
      'accept:rule', 'accept:rule', 'accept:rule', 'accept:rule',
      'accept:rule', 'accept:established', 'accept:established',
      'drop:default', 'accept:established',
    ]);
    expect(verdicts[0]!.rule).toBe('sg-a:ingress:0');
  });

  it('Alibaba: a new Drop rule cuts the flows it matches, in both directions; others keep passing', () => {
    const accept80 = { Direction: 'ingress', Policy: 'Accept', Priority: '10', IpProtocol: 'TCP', PortRange: '80/80', SourceCidrIp: '0.0.0.0/0' };
    const block = {
      SecurityGroupRuleId: 'sgr-block', Direction: 'ingress', Policy: 'Drop', Priority: '1', IpProtocol: 'TCP',
      PortRange: '80/80', SourceCidrIp: '198.19.7.0/24',
    };
    const { verdicts, outcome } = replayPackets(alibaba([accept80]), [
      tcpSeg(0, C, S, 42000, 80, TCP_SYN),
      tcpSeg(0.01, S, C, 80, 42000, TCP_SYN | TCP_ACK),
      tcpSeg(0.02, C, S, 42000, 80, TCP_ACK),
      tcpSeg(0.03, C2, S, 42001, 80, TCP_SYN),
      tcpSeg(0.04, S, C2, 80, 42001, TCP_SYN | TCP_ACK),
      tcpSeg(0.05, C2, S, 42001, 80, TCP_ACK),
      tcpSeg(1, S, C, 80, 42000, TCP_PSH | TCP_ACK, 10), //   6 reply direction, flow now blocked
      tcpSeg(1.01, C2, S, 42001, 80, TCP_PSH | TCP_ACK, 10), // 7 not matched by the Drop rule
      tcpSeg(1.02, C, S, 42000, 80, TCP_PSH | TCP_ACK, 10), //  8 flow gone, the Drop rule judges
    ], [{ before: 6, policy: alibaba([accept80, block]) }]);
    expect(brief(verdicts)).toEqual([
      'accept:rule', 'accept:established', 'accept:established',
      'accept:rule', 'accept:established', 'accept:established',
      'drop:rule', 'accept:established', 'drop:rule',
    ]);
    expect(verdicts[6]!.rule).toBe('sgr-block');
    expect(verdicts[8]!.rule).toBe('sgr-block');
    expect(outcome.summary.exceptions.ruleChangeCuts).toBe(1);
  });
});

describe('a full conntrack table', () => {
  const p = aws([], [udpOut(53, '198.18.0.0/16')], { conntrack: { maxFlows: 4 } });
  const resolver = (k: number) => `198.18.0.${10 + k}`;

  it('never evicts replied flows: the new flow is dropped as conntrack-full', () => {
    const pkts: Pkt[] = [];
    for (let k = 0; k < 4; k++) {
      pkts.push(udpDgram(k, S, resolver(k), 6000 + k, 53), udpDgram(k + 0.5, resolver(k), S, 53, 6000 + k));
    }
    pkts.push(udpDgram(5, S, resolver(9), 6009, 53));
    pkts.push(udpDgram(5.1, resolver(0), S, 53, 6000)); // an old replied flow still works
    const { verdicts, outcome } = replayPackets(p, pkts);
    expect(brief(verdicts).slice(8)).toEqual(['drop:conntrack-full', 'accept:established']);
    expect(outcome.summary.conntrack.full).toBe(1);
    expect(outcome.summary.conntrack.evicted).toBe(0);
  });

  it('evicts a flow that never saw a reply to make room', () => {
    const pkts: Pkt[] = [];
    for (let k = 0; k < 4; k++) pkts.push(udpDgram(k, S, resolver(k), 6100 + k, 53));
    pkts.push(udpDgram(5, S, resolver(9), 6109, 53));
    const { verdicts, outcome } = replayPackets(p, pkts);
    expect(brief(verdicts)).toEqual(Array(5).fill('accept:rule'));
    expect(outcome.summary.conntrack.evicted).toBe(1);
    expect(outcome.summary.conntrack.entries).toBe(4);
  });
});

describe('fragments, infrastructure, no interface', () => {
  it('later fragments take the first fragment verdict; orphans are dropped as fragment', () => {
    const p = aws([{ IpProtocol: 'udp', FromPort: 5000, ToPort: 5000, IpRanges: [{ CidrIp: '198.19.0.0/16' }] }], []);
    const allowed = fragmentIpv4(udpPacket({ src: C, dst: S, srcPort: 7000, dstPort: 5000, payload: new Uint8Array(1500), ipId: 11 }), 600);
    const denied = fragmentIpv4(udpPacket({ src: C, dst: S, srcPort: 7000, dstPort: 6000, payload: new Uint8Array(1500), ipId: 12 }), 600);
    const orphan = fragmentIpv4(udpPacket({ src: C, dst: S, srcPort: 7000, dstPort: 5000, payload: new Uint8Array(1500), ipId: 13 }), 600);
    expect(allowed.length).toBe(3);
    const { verdicts, outcome } = replayPackets(p, [
      ...allowed.map((f, k) => at(k * 0.001, f)),
      ...denied.map((f, k) => at(0.01 + k * 0.001, f)),
      at(0.02, orphan[1]!),
    ]);
    expect(brief(verdicts)).toEqual([
      'accept:rule', 'accept:rule', 'accept:rule', 'drop:default', 'drop:default', 'drop:default', 'drop:fragment',
    ]);
    expect(verdicts[1]!.rule).toBe('sg-a:ingress:0');
    expect(outcome.summary.fragments.misses).toBe(1);
  });

  it('ARP and IPv6 neighbour discovery pass as infrastructure; unknown hosts are no-interface', () => {
    const p = aws([], []);
    const ns = ipPacket({
      src: '2001:db8:1::20', dst: 'ff02::1:ff00:10', protocol: 58, ttl: 255,
      payload: icmpv6NeighborSolicitation({ src: '2001:db8:1::20', target: '2001:db8:1::10' }),
    });
    const { verdicts } = replayPackets(p, [
      at(0, arpFrame({ op: 'request', senderMac: '02:00:00:00:00:02', senderIp: C, targetIp: S }), true),
      at(0.1, ns),
      udpDgram(0.2, '198.19.1.1', '198.19.2.2', 1, 2),
    ]);
    expect(brief(verdicts)).toEqual(['accept:infrastructure', 'accept:infrastructure', 'drop:no-interface']);
    expect(verdicts[2]).toMatchObject({ interface: null, direction: null, rule: null });
  });
});
