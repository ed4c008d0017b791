// The embedded demo trace: a few hundred packets seen on the demo web server's ENI
// (see ./policy.ts), deterministic, with the verdict each packet must get under the spec's
// semantics for both demo policies. `sgfw replay` with no arguments judges this trace
// under DEMO_POLICY_AWS; the expectation lists let a test assert the engine packet by packet.
//
// Scenes (times from 2024-01-01T00:00:00Z; "AWS / Alibaba" verdicts):
//  0.0  ARP who-has/is-at between router and server         infrastructure / same
//  0.5  IPv6 neighbour solicitation + advertisement         infrastructure / same
//  1.0  DNS A query to the VPC resolver, reply              rule sg-web:egress:1 then established
//                                                           / default (basic egress) then established
//  1.2  Postgres session to 198.18.2.5 (sg-db member)       rule sg-web:egress:2 then established
//                                                           / default then established
//  2.0  two HTTP sessions, interleaved, FIN close           rule sg-web:ingress:0 then established
//                                                           / rule r-web-http then established
//  3.0  ping in x3                                          rule sg-web:ingress:2, replies established
//                                                           / rule r-web-icmp, replies established
//  3.5  HTTPS session                                       rule sg-web:ingress:1 / rule r-web-https
//  5.0  HTTP session whose 1500-byte reply meets a 1400 MTU: the router's ICMP frag-needed quotes
//       the tracked flow                                    related / related (conntrack is
//       consulted before rules; the Alibaba platform would allow it anyway)
//  6.0  IPv6 HTTPS session                                  rule sg-web:ingress:1 / r-web-https6
//  7.0  IPv6 HTTPS session with an ICMPv6 packet-too-big    related / related
//  8.0  SSH from the office prefix list, 802.1Q VLAN 42     rule sg-admin:ingress:0 / r-admin-ssh-office
//  9.0  SSH SYN x3 from elsewhere                           drop default / drop rule r-admin-ssh-deny
//  9.5  telnet SYN x2                                       drop default / drop default
// 11.0  DNS A + AAAA for the update server                  as at 1.0
// 11.5  outbound HTTPS to the update server                 rule sg-web:egress:0 / default
// 13.0  ping out x3                                         rule sg-web:egress:3 / default
// 14.0  IPv6 ping in x2                                     rule sg-web:ingress:3 / r-web-icmp6
// 15.0  outbound SMTP SYN x2                                drop default / drop platform (tcp 25)
// 17.0  port scan: SYNs to 30 ports                         drop default; Alibaba: 22 -> drop rule
//                                                           r-admin-ssh-deny, 8080 -> ACCEPT rule r-web-alt
// 18.0  ping from the blocklist 198.18.66.6 + its reply      rule sg-web:ingress:2, established
//                                                           / DROP rule r-web-blocklist, reply
//                                                           accept default (no flow; egress open)
// 19.0  truncated frame (half an IPv4 header)               malformed / malformed
// 19.5  TCP SYN between two other hosts                     no-interface / no-interface
// 19.6  IPv6 UDP between two other hosts                    no-interface / no-interface
// 20.0  six HTTP keep-alive sessions, interleaved           as at 2.0
// No flow outlives a timeout: the trace spans about 30 s.
import type { Direction, Reason, Verdict } from '../model/reason.js';
import {
  arpFrame, echoPacket, ipBytes, ethernet, icmpErrorPacket, icmpv6ErrorPacket, icmpv6NeighborAdvertisement,
  icmpv6NeighborSolicitation, ipPacket, ipv6MulticastMac, solicitedNodeAddress, udpPacket,
  ICMP_DEST_UNREACH, ICMP_UNREACH_FRAG_NEEDED, ICMPV6_PACKET_TOO_BIG, IPPROTO_ICMPV6, type EthernetOptions,
} from '../packet/build.js';
import { TcpFlow, type Side } from '../packet/flow.js';
import { LINKTYPE_ETHERNET, writePcap, type PcapRecord } from '../packet/pcap-write.js';
import {
  DEMO_INTERFACE_ID, DEMO_RESOLVER, DEMO_SERVER_V4, DEMO_SERVER_V6,
} from './policy.js';

/** What the engine must report for one packet. Fields left undefined are not asserted. */
export interface ExpectedVerdict {
  verdict: Verdict;
  reason: Reason;
  interface?: string | null;
  direction?: Direction | null;
  rule?: string | null;
}

export interface DemoPacket extends PcapRecord {
  tsNs: bigint;
  /** Human description ("http 198.18.100.11:50001 SYN"). */
  what: string;
  aws: ExpectedVerdict;
  alibaba: ExpectedVerdict;
}

export type DemoCloud = 'aws' | 'alibaba';

/** 2024-01-01T00:00:00Z in ns. */
export const DEMO_START_NS = 1_704_067_200_000_000_000n;

const SERVER_MAC = '02:00:00:01:00:10';
const ROUTER_MAC = '02:00:00:01:00:01';
const ROUTER_V4 = '198.18.1.1';
const ROUTER_V6 = '2001:db8:1::1';
const DB_HOST = '198.18.2.5';
const UPDATE_V4 = '198.18.5.5';
const UPDATE_V6 = '2001:db8:5::5';
const enc = new TextEncoder();

// --- expectation shorthands -------------------------------------------------------------------
const eni = DEMO_INTERFACE_ID;
const byRule = (direction: Direction, rule: string, verdict: Verdict = 'accept'): ExpectedVerdict =>
  ({ verdict, reason: 'rule', interface: eni, direction, rule });
const established = (direction: Direction): ExpectedVerdict =>
  ({ verdict: 'accept', reason: 'established', interface: eni, direction });
const related: ExpectedVerdict = { verdict: 'accept', reason: 'related', interface: eni, direction: 'ingress' };
const byDefault = (direction: Direction, verdict: Verdict): ExpectedVerdict =>
  ({ verdict, reason: 'default', interface: eni, direction });
const platformDrop = (direction: Direction): ExpectedVerdict =>
  ({ verdict: 'drop', reason: 'platform', interface: eni, direction });
const infrastructure: ExpectedVerdict = { verdict: 'accept', reason: 'infrastructure' };
const malformed: ExpectedVerdict = { verdict: 'drop', reason: 'malformed' };
const noInterface: ExpectedVerdict = { verdict: 'drop', reason: 'no-interface', interface: null };

/** Expectation for both clouds at once. */
type Both = { aws: ExpectedVerdict; alibaba: ExpectedVerdict };
const same = (e: ExpectedVerdict): Both => ({ aws: e, alibaba: e });

// --- scene building ---------------------------------------------------------------------------
interface Step extends Both {
  ms: number;
  data: Uint8Array;
  what: string;
  order: number;
}

class Scenes {
  readonly steps: Step[] = [];

  add(ms: number, data: Uint8Array, what: string, exp: Both): void {
    this.steps.push({ ms, data, what, ...exp, order: this.steps.length });
  }

  /** An IP packet to the server (from the router, or tagged on a VLAN). */
  inbound(ms: number, ip: Uint8Array, what: string, exp: Both, vlans?: number[]): void {
    const o: EthernetOptions = { src: ROUTER_MAC, dst: SERVER_MAC };
    if (vlans) o.vlans = vlans;
    this.add(ms, ethernet(ip, o), what, exp);
  }

  outbound(ms: number, ip: Uint8Array, what: string, exp: Both, vlans?: number[]): void {
    const o: EthernetOptions = { src: SERVER_MAC, dst: ROUTER_MAC };
    if (vlans) o.vlans = vlans;
    this.add(ms, ethernet(ip, o), what, exp);
  }
}

/**
 * Runs a TCP conversation: `script` after the handshake, then a FIN close by the client.
 * The server side is the demo ENI when `local` is 'server' (inbound session), else the client is.
 * The first SYN gets `first`; everything after it is `established` in its own direction.
 */
class Conversation {
  t: number;
  constructor(
    readonly sc: Scenes,
    readonly flow: TcpFlow,
    readonly local: Side,
    readonly label: string,
    start: number,
    readonly rtt: number,
    readonly vlans?: number[],
  ) {
    this.t = start;
  }

  private dir(from: Side): Direction {
    return from === this.local ? 'egress' : 'ingress';
  }

  emit(from: Side, ip: Uint8Array, what: string, exp?: Both, gap = this.rtt / 2): void {
    const e = exp ?? same(established(this.dir(from)));
    const text = `${this.label} ${what}`;
    if (from === this.local) this.sc.outbound(this.t, ip, text, e, this.vlans);
    else this.sc.inbound(this.t, ip, text, e, this.vlans);
    this.t += gap;
  }

  open(first: Both): this {
    this.emit('client', this.flow.syn(), 'SYN', first);
    this.emit('server', this.flow.synAck(), 'SYN/ACK');
    this.emit('client', this.flow.ack('client'), 'ACK', undefined, 1);
    return this;
  }

  /** One request/response exchange; the response is split into segments of at most mss bytes. */
  exchange(request: Uint8Array, response: Uint8Array, mss = 1460): this {
    this.emit('client', this.flow.data('client', request), `request ${request.length} B`);
    for (let off = 0; off < response.length; off += mss) {
      const seg = response.subarray(off, Math.min(off + mss, response.length));
      this.emit('server', this.flow.data('server', seg), `response ${seg.length} B`, undefined, 0.2);
    }
    this.t += this.rtt / 2;
    this.emit('client', this.flow.ack('client'), 'ACK', undefined, 5);
    return this;
  }

  close(): this {
    this.emit('client', this.flow.fin('client'), 'FIN');
    this.emit('server', this.flow.fin('server'), 'FIN');
    this.emit('client', this.flow.ack('client'), 'last ACK');
    return this;
  }
}

function httpRequest(path: string, host = 'www.example.test'): Uint8Array {
  return enc.encode(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: demo/1.0\r\nAccept: */*\r\n\r\n`);
}

function httpResponse(bodyBytes: number): Uint8Array {
  const head = `HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: ${bodyBytes}\r\n\r\n`;
  const body = '<p>sgfw demo</p>\n'.repeat(Math.ceil(bodyBytes / 17)).slice(0, bodyBytes);
  return enc.encode(head + body);
}

/** Opaque bytes for TLS/SSH records: deterministic, not compressible to nothing. */
function opaque(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed * 2654435761 >>> 0;
  for (let i = 0; i < n; i++) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    b[i] = x & 0xff;
  }
  return b;
}

function dnsName(name: string): number[] {
  const out: number[] = [];
  for (const label of name.split('.')) out.push(label.length, ...enc.encode(label));
  out.push(0);
  return out;
}

/** A DNS query (RD set) and its answer with one record. */
function dnsPair(id: number, name: string, qtype: 1 | 28, answer: Uint8Array): [Uint8Array, Uint8Array] {
  const q = [...dnsName(name), 0, qtype, 0, 1];
  const query = Uint8Array.from([id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, ...q]);
  const rr = [0xc0, 0x0c, 0, qtype, 0, 1, 0, 0, 0x0e, 0x10, 0, answer.length, ...answer];
  const reply = Uint8Array.from([id >> 8, id & 0xff, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, ...q, ...rr]);
  return [query, reply];
}

function dnsLookup(sc: Scenes, ms: number, srcPort: number, id: number, name: string, qtype: 1 | 28, answer: Uint8Array): void {
  const [query, reply] = dnsPair(id, name, qtype, answer);
  const what = `dns ${qtype === 1 ? 'A' : 'AAAA'} ${name}`;
  sc.outbound(ms, udpPacket({ src: DEMO_SERVER_V4, dst: DEMO_RESOLVER, srcPort, dstPort: 53, payload: query, ipId: id }),
    `${what} query`, { aws: byRule('egress', 'sg-web:egress:1'), alibaba: byDefault('egress', 'accept') });
  sc.inbound(ms + 0.8, udpPacket({ src: DEMO_RESOLVER, dst: DEMO_SERVER_V4, srcPort: 53, dstPort: srcPort, payload: reply, ipId: id + 1 }),
    `${what} reply`, same(established('ingress')));
}

function pings(sc: Scenes, ms: number, o: {
  local: 'src' | 'dst'; peer: string; id: number; count: number; label: string; first: Both; rtt: number;
}): void {
  const server = o.peer.includes(':') ? DEMO_SERVER_V6 : DEMO_SERVER_V4;
  const [src, dst] = o.local === 'src' ? [server, o.peer] : [o.peer, server];
  const payload = opaque(56, o.id);
  for (let seq = 1; seq <= o.count; seq++) {
    const t = ms + (seq - 1) * 1000;
    const req = echoPacket({ src, dst, id: o.id, seq, payload, ipId: o.id + seq });
    const rep = echoPacket({ src: dst, dst: src, id: o.id, seq, payload, reply: true, ipId: o.id + 100 + seq });
    const reqDir: Direction = o.local === 'src' ? 'egress' : 'ingress';
    const repDir: Direction = o.local === 'src' ? 'ingress' : 'egress';
    const add = (dir: Direction, at: number, p: Uint8Array, what: string, exp: Both): void => {
      if (dir === 'egress') sc.outbound(at, p, what, exp);
      else sc.inbound(at, p, what, exp);
    };
    add(reqDir, t, req, `${o.label} echo request ${seq}`, seq === 1 ? o.first : same(established(reqDir)));
    add(repDir, t + o.rtt, rep, `${o.label} echo reply ${seq}`, same(established(repDir)));
  }
}

function buildScenes(): Scenes {
  const sc = new Scenes();
  const client = (n: number): string => `198.18.100.${n}`;

  // 0.0 ARP: the router resolves the server. Non-IP: passes untouched.
  sc.add(0, arpFrame({ op: 'request', senderMac: ROUTER_MAC, senderIp: ROUTER_V4, targetIp: DEMO_SERVER_V4 }),
    'arp who-has 198.18.1.10', same(infrastructure));
  sc.add(0.2, arpFrame({ op: 'reply', senderMac: SERVER_MAC, senderIp: DEMO_SERVER_V4, targetMac: ROUTER_MAC, targetIp: ROUTER_V4 }),
    'arp 198.18.1.10 is-at', same(infrastructure));

  // 0.5 IPv6 neighbour discovery (ICMPv6 135/136): passes untouched, IPv6 breaks without it.
  const snm = solicitedNodeAddress(DEMO_SERVER_V6);
  sc.add(500, ethernet(ipPacket({ src: ROUTER_V6, dst: snm, ttl: 255, protocol: IPPROTO_ICMPV6,
    payload: icmpv6NeighborSolicitation({ src: ROUTER_V6, target: DEMO_SERVER_V6, sourceLinkAddr: ROUTER_MAC }) }),
  { src: ROUTER_MAC, dst: ipv6MulticastMac(snm) }), 'nd solicitation for 2001:db8:1::10', same(infrastructure));
  sc.outbound(500.3, ipPacket({ src: DEMO_SERVER_V6, dst: ROUTER_V6, ttl: 255, protocol: IPPROTO_ICMPV6,
    payload: icmpv6NeighborAdvertisement({ src: DEMO_SERVER_V6, dst: ROUTER_V6, target: DEMO_SERVER_V6, targetLinkAddr: SERVER_MAC, solicited: true }) }),
  'nd advertisement 2001:db8:1::10', same(infrastructure));

  // 1.0 DNS for the database host, then a Postgres session to it (sg-db member).
  dnsLookup(sc, 1000, 40001, 0x1001, 'db.internal.test', 1, ipBytes(DB_HOST));
  new Conversation(sc, new TcpFlow({ client: DEMO_SERVER_V4, server: DB_HOST, clientPort: 45000, serverPort: 5432, clientIsn: 0x10000000, serverIsn: 0x20000000 }),
    'client', 'postgres 198.18.1.10:45000', 1200, 1)
    .open({ aws: byRule('egress', 'sg-web:egress:2'), alibaba: byDefault('egress', 'accept') })
    .exchange(opaque(72, 1), opaque(24, 2))
    .exchange(enc.encode('Q\0\0\0\x1dSELECT * FROM pages LIMIT 1;\0'), opaque(180, 3))
    .close();

  // 2.0 two HTTP sessions, interleaved in time.
  const httpFirst: Both = { aws: byRule('ingress', 'sg-web:ingress:0'), alibaba: byRule('ingress', 'r-web-http') };
  new Conversation(sc, new TcpFlow({ client: client(11), server: DEMO_SERVER_V4, clientPort: 50001, serverPort: 80, clientIsn: 0x11110000, serverIsn: 0x51110000 }),
    'server', 'http 198.18.100.11:50001', 2000, 20)
    .open(httpFirst).exchange(httpRequest('/'), httpResponse(900)).close();
  new Conversation(sc, new TcpFlow({ client: client(12), server: DEMO_SERVER_V4, clientPort: 50002, serverPort: 80, clientIsn: 0x12120000, serverIsn: 0x52120000 }),
    'server', 'http 198.18.100.12:50002', 2015, 24)
    .open(httpFirst).exchange(httpRequest('/index.html'), httpResponse(2000)).close();

  // 3.0 ping in (ICMP is always tracked: replies are established).
  pings(sc, 3000, { local: 'dst', peer: client(11), id: 0x0301, count: 3, label: 'ping 198.18.100.11', rtt: 0.3,
    first: { aws: byRule('ingress', 'sg-web:ingress:2'), alibaba: byRule('ingress', 'r-web-icmp') } });

  // 3.5 HTTPS.
  const httpsFirst: Both = { aws: byRule('ingress', 'sg-web:ingress:1'), alibaba: byRule('ingress', 'r-web-https') };
  new Conversation(sc, new TcpFlow({ client: client(13), server: DEMO_SERVER_V4, clientPort: 50003, serverPort: 443, clientIsn: 0x13130000, serverIsn: 0x53130000 }),
    'server', 'https 198.18.100.13:50003', 3500, 30)
    .open(httpsFirst).exchange(opaque(517, 4), opaque(1600, 5)).exchange(opaque(120, 6), opaque(300, 7)).close();

  // 5.0 path MTU discovery: the server's full-size reply (1500 bytes, DF) meets a 1400-byte
  // link; the router's frag-needed quotes it and must pass as related (no rule allows it).
  {
    const flow = new TcpFlow({ client: '198.18.101.20', server: DEMO_SERVER_V4, clientPort: 50005, serverPort: 80, clientIsn: 0x15150000, serverIsn: 0x55150000 });
    const c = new Conversation(sc, flow, 'server', 'http 198.18.101.20:50005', 5000, 40).open(httpFirst);
    c.emit('client', flow.data('client', httpRequest('/large')), 'request');
    const body = httpResponse(1460 + 300);
    const big = flow.data('server', body.subarray(0, 1460));
    c.emit('server', big, 'response 1460 B (1500-byte packet, DF)', undefined, 0.4);
    c.emit('client', icmpErrorPacket({ src: ROUTER_V4, dst: DEMO_SERVER_V4, type: ICMP_DEST_UNREACH, code: ICMP_UNREACH_FRAG_NEEDED, mtu: 1400, quoted: big, ttl: 255 }),
      'icmp frag-needed mtu 1400 quoting the response', same(related), 0.2);
    c.emit('server', flow.retransmit('server', body.subarray(0, 1360), 1460), 'retransmit 1360 B', undefined, 0.1);
    c.emit('server', flow.data('server', body.subarray(1360, 1460)), 'retransmit 100 B', undefined, 0.1);
    c.emit('server', flow.data('server', body.subarray(1460)), 'response rest');
    c.emit('client', flow.ack('client'), 'ACK', undefined, 5);
    c.close();
  }

  // 6.0 IPv6 HTTPS.
  const https6First: Both = { aws: byRule('ingress', 'sg-web:ingress:1'), alibaba: byRule('ingress', 'r-web-https6') };
  new Conversation(sc, new TcpFlow({ client: '2001:db8:100::11', server: DEMO_SERVER_V6, clientPort: 50011, serverPort: 443, clientIsn: 0x61610000, serverIsn: 0x71610000 }),
    'server', 'https [2001:db8:100::11]:50011', 6000, 25)
    .open(https6First).exchange(opaque(517, 8), opaque(1200, 9)).close();

  // 7.0 IPv6 HTTPS whose 1500-byte reply meets a 1280 link: packet-too-big is related.
  {
    const flow = new TcpFlow({ client: '2001:db8:100::12', server: DEMO_SERVER_V6, clientPort: 50012, serverPort: 443, clientIsn: 0x62620000, serverIsn: 0x72620000 });
    const c = new Conversation(sc, flow, 'server', 'https [2001:db8:100::12]:50012', 7000, 35).open(https6First);
    c.emit('client', flow.data('client', opaque(517, 10)), 'client hello');
    const body = opaque(1440 + 200, 11);
    const big = flow.data('server', body.subarray(0, 1440));
    c.emit('server', big, 'response 1440 B (1500-byte packet)', undefined, 0.4);
    c.emit('client', icmpv6ErrorPacket({ src: ROUTER_V6, dst: DEMO_SERVER_V6, type: ICMPV6_PACKET_TOO_BIG, code: 0, rest: 1280, quoted: big, ttl: 64 }),
      'icmpv6 packet-too-big mtu 1280 quoting the response', same(related), 0.2);
    c.emit('server', flow.retransmit('server', body.subarray(0, 1220), 1440), 'retransmit 1220 B', undefined, 0.1);
    c.emit('server', flow.data('server', body.subarray(1220, 1440)), 'retransmit 220 B', undefined, 0.1);
    c.emit('server', flow.data('server', body.subarray(1440)), 'response rest');
    c.emit('client', flow.ack('client'), 'ACK', undefined, 5);
    c.close();
  }

  // 8.0 SSH from the office prefix list, seen on VLAN 42 (tags are skipped).
  new Conversation(sc, new TcpFlow({ client: '198.19.200.7', server: DEMO_SERVER_V4, clientPort: 51022, serverPort: 22, clientIsn: 0x22220000, serverIsn: 0x32220000 }),
    'server', 'ssh 198.19.200.7:51022', 8000, 12, [42])
    .open({ aws: byRule('ingress', 'sg-admin:ingress:0'), alibaba: byRule('ingress', 'r-admin-ssh-office') })
    .exchange(enc.encode('SSH-2.0-OpenSSH_9.6\r\n'), enc.encode('SSH-2.0-OpenSSH_9.2p1\r\n'))
    .exchange(opaque(1200, 12), opaque(1080, 13))
    .exchange(opaque(48, 14), opaque(564, 15))
    .exchange(opaque(36, 16), opaque(36, 17))
    .close();

  // 9.0 SSH from elsewhere: three SYNs (retransmissions), all dropped.
  {
    const flow = new TcpFlow({ client: '198.18.150.9', server: DEMO_SERVER_V4, clientPort: 52022, serverPort: 22, clientIsn: 0x23230000 });
    const exp: Both = { aws: byDefault('ingress', 'drop'), alibaba: byRule('ingress', 'r-admin-ssh-deny', 'drop') };
    sc.inbound(9000, flow.syn(), 'ssh 198.18.150.9:52022 SYN', exp);
    sc.inbound(10000, flow.synRetransmit(), 'ssh 198.18.150.9:52022 SYN again', exp);
    sc.inbound(12000, flow.synRetransmit(), 'ssh 198.18.150.9:52022 SYN again', exp);
  }

  // 9.5 telnet: no rule anywhere.
  {
    const flow = new TcpFlow({ client: '198.18.151.3', server: DEMO_SERVER_V4, clientPort: 53023, serverPort: 23, clientIsn: 0x24240000 });
    const exp: Both = { aws: byDefault('ingress', 'drop'), alibaba: byDefault('ingress', 'drop') };
    sc.inbound(9500, flow.syn(), 'telnet 198.18.151.3:53023 SYN', exp);
    sc.inbound(10500, flow.synRetransmit(), 'telnet 198.18.151.3:53023 SYN again', exp);
  }

  // 11.0 DNS for the update server, 11.5 outbound HTTPS to it.
  dnsLookup(sc, 11000, 40002, 0x1102, 'updates.example.test', 1, ipBytes(UPDATE_V4));
  dnsLookup(sc, 11001, 40003, 0x1103, 'updates.example.test', 28, ipBytes(UPDATE_V6));
  new Conversation(sc, new TcpFlow({ client: DEMO_SERVER_V4, server: UPDATE_V4, clientPort: 45443, serverPort: 443, clientIsn: 0x44430000, serverIsn: 0x54430000 }),
    'client', 'https-out 198.18.1.10:45443', 11500, 8)
    .open({ aws: byRule('egress', 'sg-web:egress:0'), alibaba: byDefault('egress', 'accept') })
    .exchange(opaque(517, 18), opaque(1460 * 2, 19)).close();

  // 13.0 ping out.
  pings(sc, 13000, { local: 'src', peer: '198.18.9.9', id: 0x0d01, count: 3, label: 'ping-out 198.18.9.9', rtt: 2,
    first: { aws: byRule('egress', 'sg-web:egress:3'), alibaba: byDefault('egress', 'accept') } });

  // 14.0 IPv6 ping in.
  pings(sc, 14000, { local: 'dst', peer: '2001:db8:100::11', id: 0x0e01, count: 2, label: 'ping6 2001:db8:100::11', rtt: 0.3,
    first: { aws: byRule('ingress', 'sg-web:ingress:3'), alibaba: byRule('ingress', 'r-web-icmp6') } });

  // 15.0 outbound SMTP: no AWS egress rule; Alibaba restricts TCP 25 at the platform level,
  // before its basic group's open egress default.
  {
    const flow = new TcpFlow({ client: DEMO_SERVER_V4, server: '198.18.77.25', clientPort: 46025, serverPort: 25, clientIsn: 0x25250000 });
    const exp: Both = { aws: byDefault('egress', 'drop'), alibaba: platformDrop('egress') };
    sc.outbound(15000, flow.syn(), 'smtp-out 198.18.77.25:25 SYN', exp);
    sc.outbound(16000, flow.synRetransmit(), 'smtp-out 198.18.77.25:25 SYN again', exp);
  }

  // 17.0 a port scan: SYNs only, no answers.
  {
    const ports = [21, 22, 23, 25, 53, 110, 111, 135, 139, 143, 445, 993, 995, 1433, 1521, 2049, 3306, 3389,
      5060, 5432, 5900, 6379, 8000, 8080, 8443, 8888, 9000, 9200, 11211, 27017];
    ports.forEach((port, k) => {
      const flow = new TcpFlow({ client: '198.18.250.250', server: DEMO_SERVER_V4, clientPort: 61000, serverPort: port, clientIsn: 0x5ca00000 + k });
      const alibaba = port === 22 ? byRule('ingress', 'r-admin-ssh-deny', 'drop')
        : port === 8080 ? byRule('ingress', 'r-web-alt') : byDefault('ingress', 'drop');
      sc.inbound(17000 + 2 * k, flow.syn(), `scan 198.18.250.250 -> ${port} SYN`, { aws: byDefault('ingress', 'drop'), alibaba });
    });
  }

  // 18.0 a ping from the Alibaba blocklist, and the server's reply.
  {
    const peer = '198.18.66.6'; // in DEMO_BLOCKLIST_CIDR
    const payload = opaque(56, 18);
    sc.inbound(18000, echoPacket({ src: peer, dst: DEMO_SERVER_V4, id: 0x1201, seq: 1, payload }), `ping ${peer} echo request`,
      { aws: byRule('ingress', 'sg-web:ingress:2'), alibaba: byRule('ingress', 'r-web-blocklist', 'drop') });
    // Alibaba: no flow was created, an echo reply creates none, and egress is open by default.
    sc.outbound(18000.3, echoPacket({ src: DEMO_SERVER_V4, dst: peer, id: 0x1201, seq: 1, payload, reply: true }), `ping ${peer} echo reply`,
      { aws: established('egress'), alibaba: byDefault('egress', 'accept') });
  }

  // 19.0 a truncated frame: Ethernet header and the first 10 bytes of an IPv4 header.
  {
    const full = ethernet(echoPacket({ src: client(11), dst: DEMO_SERVER_V4, id: 0x1301, seq: 1 }), { src: ROUTER_MAC, dst: SERVER_MAC });
    sc.add(19000, full.slice(0, 14 + 10), 'truncated IPv4 header', same(malformed));
  }

  // 19.5 traffic between two other hosts (a mirrored port, say): no configured interface.
  {
    const flow = new TcpFlow({ client: '198.18.3.5', server: '198.18.3.6', clientPort: 54000, serverPort: 80, clientIsn: 0x35350000 });
    sc.add(19500, ethernet(flow.syn(), { src: '02:00:00:03:00:05', dst: '02:00:00:03:00:06' }), 'other hosts 198.18.3.5 -> 198.18.3.6:80 SYN', same(noInterface));
    sc.add(19600, ethernet(udpPacket({ src: '2001:db8:3::5', dst: '2001:db8:3::6', srcPort: 514, dstPort: 514, payload: enc.encode('<13>demo: hello') }),
      { src: '02:00:00:03:00:05', dst: '02:00:00:03:00:06' }), 'other hosts [2001:db8:3::5] -> [2001:db8:3::6]:514 udp', same(noInterface));
  }

  // 20.0 six HTTP keep-alive sessions, interleaved.
  for (let k = 0; k < 6; k++) {
    const n = 21 + k;
    new Conversation(sc, new TcpFlow({ client: client(n), server: DEMO_SERVER_V4, clientPort: 50100 + k, serverPort: 80, clientIsn: 0x20000000 + k * 0x01010101, serverIsn: 0x60000000 + k * 0x01010101 }),
      'server', `http 198.18.100.${n}:${50100 + k}`, 20000 + 700 * k, 15 + 3 * k)
      .open(httpFirst)
      .exchange(httpRequest('/'), httpResponse(600 + 100 * k))
      .exchange(httpRequest('/style.css'), httpResponse(300))
      .exchange(httpRequest(`/img/${k}.png`), httpResponse(1800 + 50 * k))
      .close();
  }
  return sc;
}

let cached: DemoPacket[] | undefined;

/** The demo packets in trace order, each with its expected verdicts. Deterministic. */
export function demoPackets(): DemoPacket[] {
  if (!cached) {
    const steps = buildScenes().steps.slice().sort((a, b) => a.ms - b.ms || a.order - b.order);
    cached = steps.map((s) => ({
      tsNs: DEMO_START_NS + BigInt(Math.round(s.ms * 1000)) * 1000n,
      data: s.data,
      what: s.what,
      aws: s.aws,
      alibaba: s.alibaba,
    }));
  }
  return cached.map((p) => ({ ...p, data: p.data.slice() }));
}

/** The demo trace as a classic pcap file (Ethernet, microsecond timestamps). */
export function demoTrace(): Uint8Array {
  return writePcap(demoPackets(), { linkType: LINKTYPE_ETHERNET });
}

/** Expected verdict per packet index under the cloud's demo policy. */
export function demoExpectations(cloud: DemoCloud): Array<ExpectedVerdict & { i: number; what: string }> {
  return demoPackets().map((p, i) => ({ i, what: p.what, ...p[cloud] }));
}
