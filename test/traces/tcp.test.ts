// Real TCP traces replayed packet by packet: AWS tracked and untracked flows, rule changes
// (swaps), Alibaba priorities, the TCP-25 platform restriction, SYN then RST between two
// protected interfaces, out-of-window data. Every expectation is derived from the spec
// (../shared/spec/security-groups.md sections 2-6), never copied from sgfw's output.
import { describe, expect, it } from 'vitest';
import { expectVerdicts, noTraces, nonZero, replay, rulePackets, type Row } from './trace-harness.js';

const skip = noTraces();

describe.skipIf(skip)('sv-tcp-session-equivalence.pcap: AWS tracked flow, no egress rules', () => {
  // 192.0.2.10:43210 -> 198.51.100.5:12345; eni-srv is the server. Ingress allows tcp 12345 from
  // 192.0.2.0/24 (not 0.0.0.0/0, so tracked); egress has no rule at all: every server packet
  // passes only because the flow is tracked.
  const S = 'eni-srv';
  const rows: Row[] = [
    [0, 'accept', 'rule', S, 'ingress', 'sg-srv:ingress:0', 'SYN from 192.0.2.10 matches tcp 12345 from 192.0.2.0/24: new tracked flow'],
    [1, 'accept', 'established', S, 'egress', null, 'SYN/ACK: reply of the tracked flow, although egress has no rule'],
    [2, 'accept', 'established', S, 'ingress', null, 'ACK completing the handshake'],
    [3, 'accept', 'established', S, 'ingress', null, '16 bytes client data'],
    [4, 'accept', 'established', S, 'egress', null, 'server ACK'],
    [5, 'accept', 'established', S, 'egress', null, '16 bytes server data'],
    [6, 'accept', 'established', S, 'ingress', null, 'client ACK'],
    [7, 'accept', 'established', S, 'ingress', null, 'client FIN'],
    [8, 'accept', 'established', S, 'egress', null, 'server FIN/ACK'],
    [9, 'accept', 'established', S, 'ingress', null, 'last ACK (flow in TIME_WAIT, still known)'],
  ];

  it('accepts all 10 packets: 1 by the rule, 9 as established', () => {
    const run = replay('sv-tcp-session-equivalence.pcap', 'aws-session-tracked.json');
    expectVerdicts(run, rows);
    expect(run.summary.conntrack.created).toBe(1);
    expect(rulePackets(run, 'sg-srv:ingress:0')).toBe(1);
    expect(rulePackets(run, 'default:egress:drop')).toBe(0);
    // Per interface and direction: 6 client packets in, 4 server packets out, nothing dropped.
    const c = run.summary.interfaces.find((x) => x.interface === S);
    expect(c?.ingress.accepted.packets).toBe(6);
    expect(c?.egress.accepted.packets).toBe(4);
    expect((c?.ingress.dropped.packets ?? 0) + (c?.egress.dropped.packets ?? 0)).toBe(0);
  });

  it('swap before packet 5 removes the tcp 12345 rule: the tracked flow survives (AWS)', () => {
    // Spec 2: tracked flows are not interrupted by removing rules; they run until they time out.
    const run = replay('sv-tcp-session-equivalence.pcap', 'aws-session-tracked.json', [
      { before: 5, policy: 'aws-session-tracked-removed.json' },
    ]);
    expectVerdicts(run, rows);
    expect(run.summary.exceptions.tableSwaps).toBe(1);
    expect(run.summary.exceptions.ruleChangeCuts).toBe(0);
  });

  it('the same removal before the SYN drops the whole connection (the removal is real)', () => {
    const run = replay('sv-tcp-session-equivalence.pcap', 'aws-session-tracked-removed.json');
    expectVerdicts(run, [
      [0, 'drop', 'default', S, 'ingress', 'default:ingress:drop', 'SYN: no rule allows tcp 12345 any more'],
      [1, 'drop', 'default', S, 'egress', 'default:egress:drop', 'SYN/ACK of an unknown connection: judged by the egress rules (spec 4 pickup decision), none'],
      [2, 'drop', 'default', S, 'ingress', 'default:ingress:drop', 'ACK: mid-stream pickup meets the ingress rules, no match'],
      [3, 'drop', 'default', S, 'ingress', 'default:ingress:drop', 'data: same'],
      [4, 'drop', 'default', S, 'egress', 'default:egress:drop', 'server ACK, no flow: egress has no rule'],
      [5, 'drop', 'default', S, 'egress', 'default:egress:drop', 'server data'],
      [6, 'drop', 'default', S, 'ingress', 'default:ingress:drop', 'client ACK'],
      [7, 'drop', 'default', S, 'ingress', 'default:ingress:drop', 'client FIN of an unknown connection: the ingress rules, no match'],
      [8, 'drop', 'default', S, 'egress', 'default:egress:drop', 'server FIN/ACK of an unknown connection: the egress rules, none'],
      [9, 'drop', 'default', S, 'ingress', 'default:ingress:drop', 'last ACK: pickup, no rule'],
    ]);
    expect(nonZero(run.summary.invalid)).toEqual({}); // valid flag combinations are never `invalid` without a flow
    expect(run.summary.conntrack.created).toBe(0);
  });
});

describe.skipIf(skip)('sv-tcp-oow-ipv4.pcap: AWS tracked client, out-of-window data', () => {
  it('accepts the out-of-window segment as established (no sequence check by default)', () => {
    // eni-cli is the client 192.0.2.10; egress allows tcp 80 to 198.51.100.0/24 only: tracked.
    const C = 'eni-cli';
    const run = replay('sv-tcp-oow-ipv4.pcap', 'aws-oow-client-tracked.json');
    expectVerdicts(run, [
      [0, 'accept', 'rule', C, 'egress', 'sg-cli:egress:0', 'SYN to 198.51.100.5:80 matches the egress rule: tracked flow'],
      [1, 'accept', 'established', C, 'ingress', null, 'SYN/ACK reply passes with no ingress rule'],
      [2, 'accept', 'established', C, 'egress', null, 'data at seq 100001, far out of window: spec 4 has no window check by default (Suricata drops it)'],
    ]);
    expect(run.summary.conntrack.created).toBe(1);
  });
});

describe.skipIf(skip)('sv-tcp-oow-ipv6.pcap: AWS untracked server', () => {
  // eni-srv6 is 2001:db8:1::5; tcp 80 from ::/0 and egress -1 to ::/0: untracked (spec 2).
  const S = 'eni-srv6';
  it('judges every packet by the rules of its own direction, creating no flow', () => {
    const run = replay('sv-tcp-oow-ipv6.pcap', 'aws-oow6-untracked.json');
    expectVerdicts(run, [
      [0, 'accept', 'rule', S, 'ingress', 'sg-srv6:ingress:0', 'SYN: tcp 80 from ::/0, untracked'],
      [1, 'accept', 'rule', S, 'egress', 'sg-srv6:egress:0', 'SYN/ACK of an untracked flow: the egress rule -1 ::/0 judges it'],
      [2, 'accept', 'rule', S, 'ingress', 'sg-srv6:ingress:0', 'out-of-window data: untracked, the ingress rule again'],
    ]);
    expect(run.summary.conntrack.created).toBe(0);
  });

  it('swap before packet 2 replaces port 80 by 443: the untracked flow is cut at once', () => {
    const run = replay('sv-tcp-oow-ipv6.pcap', 'aws-oow6-untracked.json', [
      { before: 2, policy: 'aws-oow6-untracked-closed.json' },
    ]);
    expectVerdicts(run, [
      [0, 'accept', 'rule', S, 'ingress', 'sg-srv6:ingress:0', 'SYN under the old table'],
      [1, 'accept', 'rule', S, 'egress', 'sg-srv6:egress:0', 'SYN/ACK under the old table'],
      [2, 'drop', 'default', S, 'ingress', 'default:ingress:drop', 'untracked: each packet meets the new rules, no rule for 80 any more'],
    ]);
  });
});

describe.skipIf(skip)('sv-tcp-ipv6-useless-fraghdr.pcap: Alibaba priorities, atomic fragment', () => {
  it('accepts the session; the atomic-fragment data segment is established', () => {
    // eni-web6 = 2001:db8:1::5. Accept tcp 80 from 2001:db8::/48 (priority 1) comes before
    // Drop all tcp from ::/0 (priority 2).
    const S = 'eni-web6';
    const run = replay('sv-tcp-ipv6-useless-fraghdr.pcap', 'alibaba-web6.json');
    expectVerdicts(run, [
      [0, 'accept', 'rule', S, 'ingress', 'sgr-web6-http', 'SYN: priority 1 Accept wins over the priority 2 Drop'],
      [1, 'accept', 'established', S, 'egress', null, 'SYN/ACK reply'],
      [2, 'accept', 'established', S, 'ingress', null, 'ACK'],
      [3, 'accept', 'established', S, 'ingress', null, 'data behind an atomic Fragment header (offset 0, M=0): the chain walk reaches TCP, same flow'],
      [4, 'accept', 'established', S, 'egress', null, 'server ACK'],
      [5, 'accept', 'established', S, 'ingress', null, 'client FIN'],
      [6, 'accept', 'established', S, 'egress', null, 'server FIN'],
      [7, 'accept', 'established', S, 'ingress', null, 'last ACK'],
    ]);
    expect(rulePackets(run, 'sgr-web6-deny-tcp')).toBe(0);
  });
});

describe.skipIf(skip)('zeek-communityid-tcp.pcap: AWS untracked HTTP server', () => {
  it('judges all 12 packets by the rules of their direction (out-of-order timestamps included)', () => {
    // eni-www = 66.35.250.204: tcp 80 from 0.0.0.0/0 plus egress -1 0.0.0.0/0 -> untracked.
    const W = 'eni-www';
    const IN = 'sg-www:ingress:0';
    const OUT = 'sg-www:egress:0';
    const run = replay('zeek-communityid-tcp.pcap', 'aws-http-untracked.json');
    expectVerdicts(run, [
      [0, 'accept', 'rule', W, 'ingress', IN, 'SYN from 128.232.110.120: tcp 80 from 0.0.0.0/0'],
      [1, 'accept', 'rule', W, 'egress', OUT, 'SYN/ACK: untracked, egress rule'],
      [2, 'accept', 'rule', W, 'ingress', IN, 'ACK'],
      [3, 'accept', 'rule', W, 'ingress', IN, 'HTTP request'],
      [4, 'accept', 'rule', W, 'egress', OUT, 'server ACK'],
      [5, 'accept', 'rule', W, 'egress', OUT, 'response data'],
      [6, 'accept', 'rule', W, 'ingress', IN, 'client ACK'],
      [7, 'accept', 'rule', W, 'egress', OUT, 'response data (timestamp earlier than packet 6)'],
      [8, 'accept', 'rule', W, 'ingress', IN, 'client ACK'],
      [9, 'accept', 'rule', W, 'egress', OUT, 'server FIN'],
      [10, 'accept', 'rule', W, 'ingress', IN, 'client FIN'],
      [11, 'accept', 'rule', W, 'egress', OUT, 'last ACK'],
    ]);
    expect(run.summary.conntrack.created).toBe(0);
    expect(rulePackets(run, IN)).toBe(6);
    expect(rulePackets(run, OUT)).toBe(6);
  });
});

describe.skipIf(skip)('zeek-communityid-ipv6.pcap: Alibaba client, outbound TCP 25', () => {
  // eni-mua6 = 2001:470:e5bf:dead:4957:2174:e82c:4887, egress Accept tcp 25 to 2607:f8b0::/32.
  const M = 'eni-mua6';
  const T25 = 'platform:egress:tcp25-drop';
  const DEF = 'default:ingress:drop';
  // Client -> server packets (egress): 0 2 4 5 7 9 11 13 16; server -> client (ingress): the rest.

  it('restrictTcp25 (default true): outbound port 25 is dropped by the platform despite the rule', () => {
    const run = replay('zeek-communityid-ipv6.pcap', 'alibaba-smtp6.json');
    expectVerdicts(run, [
      [0, 'drop', 'platform', M, 'egress', T25, 'SYN to port 25: platform restriction decided before custom rules'],
      [1, 'drop', 'default', M, 'ingress', DEF, 'SYN/ACK with no flow (the SYN was dropped): judged by the ingress rules, none'],
      [2, 'drop', 'platform', M, 'egress', T25, 'ACK to port 25, no flow: rules again, platform drop'],
      [3, 'drop', 'default', M, 'ingress', DEF, 'server banner, no flow: mid-stream pickup meets ingress, no rule'],
      [4, 'drop', 'platform', M, 'egress', T25, 'client ACK'],
      [5, 'drop', 'platform', M, 'egress', T25, 'client data'],
      [6, 'drop', 'default', M, 'ingress', DEF, 'server ACK'],
      [7, 'drop', 'platform', M, 'egress', T25, 'client data'],
      [8, 'drop', 'default', M, 'ingress', DEF, 'server ACK'],
      [9, 'drop', 'platform', M, 'egress', T25, 'client data'],
      [10, 'drop', 'default', M, 'ingress', DEF, 'server ACK'],
      [11, 'drop', 'platform', M, 'egress', T25, 'client data'],
      [12, 'drop', 'default', M, 'ingress', DEF, 'server ACK'],
      [13, 'drop', 'platform', M, 'egress', T25, 'client data'],
      [14, 'drop', 'default', M, 'ingress', DEF, 'server ACK'],
      [15, 'drop', 'default', M, 'ingress', DEF, 'server EHLO reply'],
      [16, 'drop', 'platform', M, 'egress', T25, 'client ACK'],
    ]);
    expect(nonZero(run.summary.invalid)).toEqual({});
    expect(rulePackets(run, 'sgr-mua6-smtp')).toBe(0);
    expect(run.summary.conntrack.created).toBe(0);
  });

  it('restrictTcp25 false: the egress rule opens the flow, the rest is established', () => {
    const run = replay('zeek-communityid-ipv6.pcap', 'alibaba-smtp6-open.json');
    const E = (i: number, dir: 'ingress' | 'egress', why: string): Row => [i, 'accept', 'established', M, dir, null, why];
    expectVerdicts(run, [
      [0, 'accept', 'rule', M, 'egress', 'sgr-mua6-smtp', 'SYN to 2607:f8b0:400c:c03::1a:25 matches the egress rule'],
      E(1, 'ingress', 'SYN/ACK reply'),
      E(2, 'egress', 'ACK'),
      E(3, 'ingress', 'banner'),
      E(4, 'egress', 'client ACK'),
      E(5, 'egress', 'client data'),
      E(6, 'ingress', 'server ACK'),
      E(7, 'egress', 'client data'),
      E(8, 'ingress', 'server ACK'),
      E(9, 'egress', 'client data'),
      E(10, 'ingress', 'server ACK'),
      E(11, 'egress', 'client data'),
      E(12, 'ingress', 'server ACK'),
      E(13, 'egress', 'client data'),
      E(14, 'ingress', 'server ACK'),
      E(15, 'ingress', 'server EHLO reply'),
      E(16, 'egress', 'client ACK (no FIN: the flow stays open)'),
    ]);
    expect(run.summary.conntrack.created).toBe(1);
  });
});

describe.skipIf(skip)('zeek-tcp-syn-then-rst.pcap: Alibaba, both ends protected', () => {
  it('SYN passes a egress then b ingress (group reference); the RST is established', () => {
    // eni-a = 1.1.1.1 (egress Accept tcp 31313 to 1.1.1.2, Drop all at priority 100),
    // eni-b = 1.1.1.2 (ingress Accept tcp 31313 from group sg-a). A packet between two
    // protected interfaces passes the sender's egress and the receiver's ingress (spec 5):
    // the verdict reports the last judgement, b's ingress.
    const run = replay('zeek-tcp-syn-then-rst.pcap', 'alibaba-syn-rst.json');
    expectVerdicts(run, [
      [0, 'accept', 'rule', 'eni-b', 'ingress', 'sgr-b-from-a', 'SYN: a egress sgr-a-out, then b ingress from member 1.1.1.1 of sg-a'],
      [1, 'accept', 'established', 'eni-b', 'ingress', null, 'RST from the originator in SYN_SENT: closes the tracked flow, accepted'],
    ]);
    expect(rulePackets(run, 'sgr-a-out')).toBe(1);
    expect(rulePackets(run, 'sgr-a-out-deny')).toBe(0);
    expect(rulePackets(run, 'sgr-b-from-a')).toBe(1);
  });
});
