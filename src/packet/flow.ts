// A TCP conversation that keeps both sides' sequence numbers, so scripted sessions
// (handshake, data, FIN close) come out consistent, as a conntrack with window checks
// would want them. Returns whole IP packets; wrap them with ethernet() as needed.
import { type AddrInput, ipFamily, tcpMssOption, tcpPacket, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from './build.js';

export type Side = 'client' | 'server';

export interface TcpFlowOptions {
  client: AddrInput;
  server: AddrInput;
  clientPort: number;
  serverPort: number;
  clientIsn?: number;
  serverIsn?: number;
  /** TTL / hop limit of both sides' packets. */
  ttl?: number;
  window?: number;
  mss?: number;
  /** Set DF on IPv4 packets (Linux does, for path MTU discovery). Default true. */
  df?: boolean;
}

export class TcpFlow {
  readonly o: TcpFlowOptions;
  /** Next sequence number each side will send. */
  private next: Record<Side, number>;
  private ipId: Record<Side, number>;

  constructor(o: TcpFlowOptions) {
    if (ipFamily(o.client) !== ipFamily(o.server)) throw new Error('TcpFlow: mixed address families');
    this.o = o;
    this.next = { client: (o.clientIsn ?? 1000) >>> 0, server: (o.serverIsn ?? 5000) >>> 0 };
    this.ipId = { client: (o.clientIsn ?? 1) & 0xffff, server: (o.serverIsn ?? 2) & 0xffff };
  }

  /** Sequence number the side will send next. */
  seqOf(side: Side): number {
    return this.next[side];
  }

  private other(side: Side): Side {
    return side === 'client' ? 'server' : 'client';
  }

  private segment(from: Side, flags: number, payload?: Uint8Array, opts?: Uint8Array, advance = 0): Uint8Array {
    const c = from === 'client';
    const f: Parameters<typeof tcpPacket>[0] = {
      src: c ? this.o.client : this.o.server,
      dst: c ? this.o.server : this.o.client,
      srcPort: c ? this.o.clientPort : this.o.serverPort,
      dstPort: c ? this.o.serverPort : this.o.clientPort,
      seq: this.next[from],
      ack: flags & TCP_ACK ? this.next[this.other(from)] : 0,
      flags,
      window: this.o.window ?? 64240,
      ipId: this.ipId[from],
      df: this.o.df ?? true,
    };
    if (this.o.ttl !== undefined) f.ttl = this.o.ttl;
    if (payload) f.payload = payload;
    if (opts) f.options = opts;
    this.ipId[from] = (this.ipId[from] + 1) & 0xffff;
    this.next[from] = (this.next[from] + advance + (payload?.length ?? 0)) >>> 0;
    return tcpPacket(f);
  }

  /** Client SYN with an MSS option. */
  syn(): Uint8Array {
    return this.segment('client', TCP_SYN, undefined, tcpMssOption(this.o.mss ?? 1460), 1);
  }

  /** A retransmission of the client SYN (same sequence number). */
  synRetransmit(): Uint8Array {
    this.next.client = (this.next.client - 1) >>> 0;
    return this.syn();
  }

  synAck(): Uint8Array {
    return this.segment('server', TCP_SYN | TCP_ACK, undefined, tcpMssOption(this.o.mss ?? 1460), 1);
  }

  ack(from: Side): Uint8Array {
    return this.segment(from, TCP_ACK);
  }

  /** PSH|ACK with payload. */
  data(from: Side, payload: Uint8Array): Uint8Array {
    return this.segment(from, TCP_PSH | TCP_ACK, payload);
  }

  /** Resend bytes already sent (e.g. after an ICMP frag-needed): seq rewinds by `rewind` bytes. */
  retransmit(from: Side, payload: Uint8Array, rewind: number): Uint8Array {
    this.next[from] = (this.next[from] - rewind) >>> 0;
    return this.segment(from, TCP_PSH | TCP_ACK, payload);
  }

  fin(from: Side): Uint8Array {
    return this.segment(from, TCP_FIN | TCP_ACK, undefined, undefined, 1);
  }

  rst(from: Side): Uint8Array {
    return this.segment(from, TCP_RST | TCP_ACK);
  }

  /** SYN, SYN/ACK, ACK. */
  handshake(): Uint8Array[] {
    return [this.syn(), this.synAck(), this.ack('client')];
  }

  /** FIN/ACK from `from`, FIN/ACK back, final ACK. */
  close(from: Side = 'client'): Uint8Array[] {
    const other = this.other(from);
    return [this.fin(from), this.fin(other), this.ack(from)];
  }
}
