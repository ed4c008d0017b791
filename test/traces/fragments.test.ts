// Real fragmented traces (spec 5): a first fragment is judged with its ports, later fragments
// take its verdict, a later fragment whose first was not seen is dropped as `fragment`, and a
// first fragment too short for the transport header is `malformed` (RFC 1858).
import { describe, expect, it } from 'vitest';
import { expectVerdicts, noTraces, nonZero, replay, rulePackets } from './trace-harness.js';

const skip = noTraces();

describe.skipIf(skip)('sv-ipv4frags-icmp.pcap: AWS, fragmented echo request', () => {
  it('the later fragment takes the first fragment\'s rule verdict; the reply is established', () => {
    // eni-pinged = 2.1.1.1: ingress icmp type 8 (any code) from 2.1.1.0/24; no egress rule.
    const P = 'eni-pinged';
    const run = replay('sv-ipv4frags-icmp.pcap', 'aws-ping-frag.json');
    expectVerdicts(run, [
      [0, 'accept', 'rule', P, 'ingress', 'sg-ping:ingress:0', 'first fragment (MF, offset 0) holds the echo request header: type 8 from 2.1.1.2'],
      [1, 'accept', 'rule', P, 'ingress', 'sg-ping:ingress:0', 'later fragment (offset 976, no ICMP header): the first fragment\'s verdict'],
      [2, 'accept', 'established', P, 'egress', null, 'echo reply id 5058 answers the tracked echo (no egress rule)'],
    ]);
    expect(run.summary.fragments.inserted).toBe(1);
    expect(run.summary.fragments.hits).toBe(1);
  });
});

describe.skipIf(skip)('sv-rawip-frag-tcp-syn.pcap: Alibaba, raw IPv4, tiny first fragment', () => {
  it('drops the 8-byte first fragment and the offset-8 TCP fragment as malformed, the last as fragment', () => {
    // eni-b = 2.2.2.2: Accept tcp 8080 from 1.1.1.1/32, which the SYN would match whole.
    const run = replay('sv-rawip-frag-tcp-syn.pcap', 'alibaba-rawip-frag.json');
    expectVerdicts(run, [
      [0, 'drop', 'malformed', null, null, null, 'first fragment carries 8 bytes of TCP (ports, seq; no flags): tiny fragment, RFC 1858'],
      [1, 'drop', 'malformed', null, null, null, 'TCP fragment at offset 8 bytes would overwrite the flags: RFC 1858 section 3.2'],
      [2, 'drop', 'fragment', 'eni-b', 'ingress', null, 'offset 16, last fragment: same'],
    ]);
    expect(nonZero(run.summary.malformed)).toEqual({ 'tiny-fragment': 2 });
    expect(rulePackets(run, 'sgr-b-8080')).toBe(0);
  });
});

describe.skipIf(skip)('sv-vlan-ipv6-frag-tcp.pcap: AWS, 802.1Q + IPv6 Fragment headers, ::1 -> ::1', () => {
  // eni-lo = ::1: the packet leaves and enters the same interface, so it passes eni-lo's egress
  // and then its ingress (spec 5); the verdict reports the ingress judgement.
  const L = 'eni-lo';
  it('accepted: first fragment by the ingress rule, later fragments by its verdict', () => {
    const run = replay('sv-vlan-ipv6-frag-tcp.pcap', 'aws-loopback6.json');
    expectVerdicts(run, [
      [0, 'accept', 'rule', L, 'ingress', 'sg-lo:ingress:0', 'first fragment 12345 -> 8080 ACK (VLAN 6 skipped): egress rule, then ingress tcp 8080 from ::1'],
      [1, 'accept', 'rule', L, 'ingress', 'sg-lo:ingress:0', 'fragment at 440: the first fragment\'s verdict'],
      [2, 'accept', 'rule', L, 'ingress', 'sg-lo:ingress:0', 'fragment at 880 (last): the first fragment\'s verdict'],
    ]);
    expect(rulePackets(run, 'sg-lo:egress:0')).toBe(1);
  });

  it('dropped: later fragments share the first fragment\'s drop (reason and rule)', () => {
    const run = replay('sv-vlan-ipv6-frag-tcp.pcap', 'aws-loopback6-closed.json');
    expectVerdicts(run, [
      [0, 'drop', 'default', L, 'ingress', 'default:ingress:drop', 'egress allows it, ingress allows only port 80'],
      [1, 'drop', 'default', L, 'ingress', 'default:ingress:drop', 'later fragment: the first fragment\'s drop'],
      [2, 'drop', 'default', L, 'ingress', 'default:ingress:drop', 'last fragment: the first fragment\'s drop'],
    ]);
  });
});

describe.skipIf(skip)('zeek-ipv6-fragmented-dns.pcap: AWS DNS client, IPv6 fragments', () => {
  it('orphan later fragment dropped; the fragmented answer of a tracked query passes whole', () => {
    // eni-resolver6 = 2001:470:1f11:81f:d138:5f55:6d4:1fe2: egress udp 53 to 2607:f740:b::/48.
    const R = 'eni-resolver6';
    const run = replay('zeek-ipv6-fragmented-dns.pcap', 'aws-dns6-client.json');
    expectVerdicts(run, [
      [0, 'accept', 'rule', R, 'egress', 'sg-r6:egress:0', 'TXT query from port 51850: egress rule (tracked)'],
      [1, 'accept', 'established', R, 'ingress', null, 'unfragmented answer'],
      [2, 'accept', 'rule', R, 'egress', 'sg-r6:egress:0', 'query from port 51851: a new flow'],
      [3, 'drop', 'fragment', R, 'ingress', null, 'fragment id 1 at offset 2896: its first fragment is not in the trace'],
      [4, 'accept', 'established', R, 'egress', null, 'retransmitted query 51851: same flow'],
      [5, 'accept', 'established', R, 'ingress', null, 'first fragment of id 2 holds UDP 53 -> 51851: reply of the tracked query'],
      [6, 'accept', 'established', R, 'ingress', null, 'fragment at 1432: the first fragment\'s verdict'],
      [7, 'accept', 'established', R, 'ingress', null, 'fragment at 2864 (last): the first fragment\'s verdict'],
    ]);
    expect(run.summary.conntrack.created).toBe(2);
  });
});
