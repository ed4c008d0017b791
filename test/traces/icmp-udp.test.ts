// Real traces with ICMP and UDP: RELATED errors (IPv4 fragmentation-needed quoting a tracked TCP
// flow, port-unreachable quoting a UDP reply, ICMPv6 packet-too-big), Alibaba platform traffic,
// ARP as infrastructure, 802.1Q and (derived) QinQ tags, a DNS exchange between two protected
// interfaces. Expectations are derived from the spec by hand.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writePcap } from '../../src/packet/pcap-write.js';
import {
  expectVerdicts,
  noTraces,
  readPcap,
  replay,
  replayFile,
  rulePackets,
  tracePath,
  type Row,
} from './trace-harness.js';

const skip = noTraces();
const scratch = mkdtempSync(path.join(tmpdir(), 'sgfw-trace-derived-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function tsNs(r: { tsSec: number; tsFrac: number }, nanos: boolean): bigint {
  return BigInt(r.tsSec) * 1_000_000_000n + BigInt(r.tsFrac) * (nanos ? 1n : 1000n);
}

describe.skipIf(skip)('sv-smtp-icmp-fragneeded.pcap: AWS, SMTP client + DNS server, frag-needed', () => {
  // eni-mail-client = 10.10.1.4: egress tcp 25 to 74.53.140.153/32 and udp 53 to 10.10.1.1/32,
  // no ingress rule. eni-dns = 10.10.1.1: ingress udp 53 from 10.10.1.0/24, no egress rule.
  const C = 'eni-mail-client';
  const out = (i: number, why: string): Row => [i, 'accept', 'established', C, 'egress', null, why];
  const inn = (i: number, why: string): Row => [i, 'accept', 'established', C, 'ingress', null, why];
  const rel = (i: number, why: string): Row => [i, 'accept', 'related', C, 'ingress', null, why];
  const rows: Row[] = [
    [0, 'accept', 'rule', 'eni-dns', 'ingress', 'sg-dns:ingress:0', 'DNS query between two protected interfaces: client egress rule 1, then dns ingress rule (reported)'],
    inn(1, 'DNS answer: eni-dns egress established, then client ingress established (reported)'),
    [2, 'accept', 'rule', C, 'egress', 'sg-client:egress:0', 'SYN to 74.53.140.153:25: egress rule to the /32 (tracked)'],
    inn(3, 'SYN/ACK'),
    out(4, 'ACK'),
    inn(5, '220 banner'),
    out(6, 'EHLO'),
    inn(7, 'ACK'),
    inn(8, '250 extensions'),
    out(9, 'AUTH LOGIN'),
    inn(10, '334'),
    out(11, 'user'),
    inn(12, '334'),
    out(13, 'password'),
    inn(14, '235'),
    out(15, 'MAIL FROM'),
    inn(16, '250'),
    out(17, 'RCPT TO'),
    inn(18, '250'),
    out(19, 'DATA'),
    inn(20, '354'),
    out(21, '1460 B DF segment'),
    out(22, '1460 B DF segment'),
    out(23, '1460 B DF segment'),
    out(24, '1460 B DF segment'),
    rel(25, 'ICMP need-to-frag from router 192.168.1.1 quoting segment 21 of the tracked flow: related (no ICMP rule exists)'),
    out(26, '1452 B resend after PMTU'),
    rel(27, 'need-to-frag quoting segment 22'),
    rel(28, 'need-to-frag quoting segment 23'),
    rel(29, 'need-to-frag quoting segment 24'),
    inn(30, 'ACK'),
    out(31, 'data'),
    out(32, 'data'),
    inn(33, 'ACK'),
    out(34, 'data'),
    out(35, 'data'),
    inn(36, 'ACK'),
    out(37, 'data'),
    out(38, 'data'),
    inn(39, 'ACK'),
    out(40, 'data'),
    out(41, 'data'),
    inn(42, 'ACK'),
    out(43, 'data'),
    out(44, 'end of message'),
    inn(45, 'ACK'),
    inn(46, 'ACK'),
    inn(47, 'ACK'),
    inn(48, 'ACK'),
    inn(49, 'ACK'),
    inn(50, 'ACK'),
    inn(51, '250 OK id'),
    out(52, 'ACK'),
    out(53, 'QUIT'),
    out(54, 'client FIN'),
    inn(55, '221 closing'),
    inn(56, 'server FIN'),
    out(57, 'ACK of server FIN'),
    inn(58, 'last ACK'),
    [59, 'drop', 'no-interface', null, null, null, 'NetBIOS 10.10.1.20 -> 10.10.1.255: neither address is a protected interface'],
  ];

  it('60 packets: 2 rules, 4 related, 53 established, 1 no-interface', () => {
    const run = replay('sv-smtp-icmp-fragneeded.pcap', 'aws-smtp-client.json');
    expectVerdicts(run, rows);
    expect(rulePackets(run, 'sg-client:egress:1')).toBe(1); // the DNS query met the client's egress too
    expect(rulePackets(run, 'default:ingress:drop')).toBe(0);
    expect(run.summary.conntrack.created).toBe(3); // dns on both interfaces, smtp
  });
});

describe.skipIf(skip)('sv-dns-udp-icmp-portunreach.pcap: Alibaba DNS server, port-unreachable', () => {
  it('accepts the queries by priority, the replies as established, the ICMP error as related', () => {
    // eni-dns-srv = 192.168.10.10. Ingress: Accept udp 53 from 192.168.10.31/32 (priority 1),
    // Drop udp 53 from 192.168.10.0/24 (priority 2), Drop ICMP from 192.168.10.0/24 (priority 1).
    const D = 'eni-dns-srv';
    const run = replay('sv-dns-udp-icmp-portunreach.pcap', 'alibaba-dns-server.json');
    expectVerdicts(run, [
      [0, 'accept', 'rule', D, 'ingress', 'sgr-dns-client', 'query from .31: priority 1 Accept comes before the priority 2 Drop of the /24'],
      [1, 'accept', 'established', D, 'ingress', null, 'retransmitted query, same tuple: the flow exists'],
      [2, 'accept', 'established', D, 'ingress', null, 'second retransmission'],
      [3, 'accept', 'established', D, 'egress', null, 'ServFail reply (egress)'],
      [4, 'accept', 'established', D, 'egress', null, 'ServFail reply'],
      [5, 'accept', 'established', D, 'egress', null, 'ServFail reply, 8 s later (within 910 s)'],
      [6, 'accept', 'related', D, 'ingress', null, 'port unreachable from .31 quoting the reply .10:53 -> .31:58186: related, the ICMP Drop rule is never met (spec 4)'],
    ]);
    expect(rulePackets(run, 'sgr-dns-lan-drop')).toBe(0);
    expect(rulePackets(run, 'sgr-icmp-lan-drop')).toBe(0);
  });

  it('reload removing the Accept exposes the priority 2 Drop: the flow is cut at the next packet', () => {
    // Spec 3: a flow is cut when its original-direction tuple now first-matches an explicit Drop.
    const D = 'eni-dns-srv';
    const run = replay('sv-dns-udp-icmp-portunreach.pcap', 'alibaba-dns-server.json', [
      { before: 3, policy: 'alibaba-dns-server-noaccept.json' },
    ]);
    expectVerdicts(run, [
      [0, 'accept', 'rule', D, 'ingress', 'sgr-dns-client', 'query: priority 1 Accept (old table)'],
      [1, 'accept', 'established', D, 'ingress', null, 'retransmission'],
      [2, 'accept', 'established', D, 'ingress', null, 'retransmission'],
      [3, 'drop', 'rule', D, 'egress', 'sgr-dns-lan-drop', 'first packet after the reload (a reply): original tuple .31:58186 -> .10:53 now first-matches Drop udp 53 from the /24: cut'],
      [4, 'accept', 'default', D, 'egress', 'default:egress:accept', 'flow gone: the reply meets the egress rules, the basic group\'s hidden outbound allow; new flow from .10:53'],
      [5, 'accept', 'established', D, 'egress', null, 'same tuple: the flow opened by packet 4'],
      [6, 'accept', 'related', D, 'ingress', null, 'port unreachable quoting .10:53 -> .31:58186: the flow of packet 4 is tracked, related'],
    ]);
    expect(run.summary.exceptions.ruleChangeCuts).toBe(1);
  });

  it('reload removing both udp rules: the hidden default drop does not cut the flow', () => {
    // Only an explicit Drop rule cuts (spec 3); the group's default ingress drop does not.
    const D = 'eni-dns-srv';
    const run = replay('sv-dns-udp-icmp-portunreach.pcap', 'alibaba-dns-server.json', [
      { before: 3, policy: 'alibaba-dns-server-empty.json' },
    ]);
    expectVerdicts(run, [
      [0, 'accept', 'rule', D, 'ingress', 'sgr-dns-client', 'query: priority 1 Accept (old table)'],
      [1, 'accept', 'established', D, 'ingress', null, 'retransmission'],
      [2, 'accept', 'established', D, 'ingress', null, 'retransmission'],
      [3, 'accept', 'established', D, 'egress', null, 'reply after the reload: no explicit Drop matches the original tuple, the flow stands'],
      [4, 'accept', 'established', D, 'egress', null, 'reply'],
      [5, 'accept', 'established', D, 'egress', null, 'reply'],
      [6, 'accept', 'related', D, 'ingress', null, 'port unreachable quoting the reply: related'],
    ]);
    expect(run.summary.exceptions.ruleChangeCuts).toBe(0);
  });
});

describe.skipIf(skip)('zeek-icmp6-toobig.pcap: ICMPv6 packet too big', () => {
  // fe80::dead -> fe80::beef, quoting UDP fe80::beef:30000 -> fe80::dead:13000. eni-ll = fe80::beef.
  it('Alibaba: platform traffic, decided before the custom Drop of all ICMPv6', () => {
    const run = replay('zeek-icmp6-toobig.pcap', 'alibaba-ptb.json');
    expectVerdicts(run, [
      [0, 'accept', 'platform', 'eni-ll', 'ingress', 'platform:icmpv6-packet-too-big', 'packet-too-big is always allowed on Alibaba (spec 3)'],
    ]);
    expect(rulePackets(run, 'sgr-ll-no-icmp6')).toBe(0);
  });

  it('AWS: no tracked flow is quoted, so the error meets the rules (no icmpv6 rule: dropped)', () => {
    const run = replay('zeek-icmp6-toobig.pcap', 'aws-ptb.json');
    expectVerdicts(run, [
      [0, 'drop', 'default', 'eni-ll', 'ingress', 'default:ingress:drop', 'quoted udp flow unknown: not related; ingress allows only udp 13000'],
    ]);
  });

  it('AWS: with the quoted UDP packet sent first (derived trace), the error is related', () => {
    // The quoted bytes are a whole IPv6 UDP packet (40 + 12 bytes): replay it as the packet
    // eni-ll sent, 1 ms before the original error.
    const src = readPcap(tracePath('zeek-icmp6-toobig.pcap'));
    const ptb = src.records[0]!;
    const quoted = ptb.data.subarray(14 + 40 + 8);
    expect(quoted.length).toBe(52);
    const udp = new Uint8Array(14 + quoted.length);
    udp.set([0x00, 0, 0, 0, 0, 0x01, 0x00, 0, 0, 0, 0, 0x02, 0x86, 0xdd]);
    udp.set(quoted, 14);
    const t = tsNs(ptb, src.nanos);
    const file = path.join(scratch, 'ptb-after-udp.pcap');
    writeFileSync(file, writePcap([{ tsNs: t - 1_000_000n, data: udp }, { tsNs: t, data: ptb.data }]));
    const run = replayFile(file, 'aws-ptb.json');
    expectVerdicts(run, [
      [0, 'accept', 'rule', 'eni-ll', 'egress', 'sg-ll:egress:0', 'udp fe80::beef:30000 -> fe80::dead:13000: egress rule to fe80::/64 (tracked)'],
      [1, 'accept', 'related', 'eni-ll', 'ingress', null, 'packet-too-big quoting that packet, sent back to its sender: related'],
    ]);
  });
});

describe.skipIf(skip)('zeek-icmp-dot1q.pcap: Alibaba, VLAN 123, ARP and ping', () => {
  // eni-gw = 192.168.123.1: Accept ICMP from 192.168.123.0/24 (priority 1), Drop all (priority 100).
  const G = 'eni-gw';
  const arp = (i: number, why: string): Row => [i, 'accept', 'infrastructure', null, null, null, why];
  const est = (i: number, dir: 'ingress' | 'egress', why: string): Row => [i, 'accept', 'established', G, dir, null, why];
  const rows: Row[] = [
    arp(0, 'ARP reply for .1 (802.1Q tag skipped): not IP, passes untouched'),
    arp(1, 'ARP reply for .2'),
    arp(2, 'ARP request who-has .1'),
    arp(3, 'ARP reply, PCP 7'),
    [4, 'accept', 'rule', G, 'ingress', 'sgr-gw-icmp-lan', 'echo request id 1 seq 0 from .2: priority 1 Accept before the priority 100 Drop'],
    arp(5, 'ARP request who-has .2'),
    arp(6, 'ARP reply'),
    est(7, 'ingress', 'echo request seq 1: same identifier, the flow of seq 0'),
    est(8, 'egress', 'echo reply seq 1'),
    est(9, 'ingress', 'echo request seq 2'),
    est(10, 'egress', 'echo reply seq 2'),
    est(11, 'ingress', 'echo request seq 3'),
    est(12, 'egress', 'echo reply seq 3'),
    est(13, 'ingress', 'echo request seq 4'),
    est(14, 'egress', 'echo reply seq 4'),
  ];

  it('ARP is infrastructure; the ping opens one ICMP flow by identifier', () => {
    const run = replay('zeek-icmp-dot1q.pcap', 'alibaba-icmp-vlan.json');
    expectVerdicts(run, rows);
    expect(run.summary.conntrack.created).toBe(1);
    expect(rulePackets(run, 'sgr-gw-deny-all')).toBe(0);
  });

  it('QinQ (derived: an outer 802.1ad tag pushed on every frame) gives the same verdicts', () => {
    const src = readPcap(tracePath('zeek-icmp-dot1q.pcap'));
    const recs = src.records.map((r) => {
      const d = new Uint8Array(r.data.length + 4);
      d.set(r.data.subarray(0, 12));
      d.set([0x88, 0xa8, 0x00, 0x64], 12); // S-tag, VLAN 100
      d.set(r.data.subarray(12), 16);
      return { tsNs: tsNs(r, src.nanos), data: d };
    });
    const file = path.join(scratch, 'icmp-qinq.pcap');
    writeFileSync(file, writePcap(recs));
    expectVerdicts(replayFile(file, 'alibaba-icmp-vlan.json'), rows);
  });
});
