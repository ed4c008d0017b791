// A compiled sgfw table (src/compile/table.ts) as an nftables ruleset for the forward hook of a
// router namespace: the Linux kernel as a second, independent stateful firewall.
//
// Layout (table inet <name>):
//   chain sgfw_fwd (hook forward, priority filter, policy drop):
//     counter "seen"                                 every packet that reached the hook
//     TCP flags no segment may carry -> drop         "invalid" (sgfw tcp_flags_valid, = Linux tcp_valid_flags)
//     ct state established -> accept                 "established"
//     ct state related -> accept                     "related"
//     ct state new + ct status confirmed -> accept   "unreplied": a further packet of a flow that
//                                                    saw no reply yet (sgfw: the flow exists, so
//                                                    `established`; the kernel calls it new)
//     ip/ip6 saddr <iface i> -> jump out_i           egress of the sender first (spec 5)
//     ip/ip6 daddr <iface i> -> jump in_i            then the receiver's ingress
//     drop                                           "no-interface"
//   chain in_i / out_i: one rule per compiled entry, in match order, with its counter;
//     accept in out_i goes on to the receiver's ingress when the destination is protected too;
//   chain sgfw_record (hook forward, priority 100): the IPv4 id / IPv6 flow label of every packet
//     that fwd accepted, in the sets passed4 / passed6 (per-packet outcomes).
//
// The entry contract followed is format.h's, as src/table/reference-match.ts implements it:
// family 0 = both, protocol 'any' = all, ports only for TCP/UDP entries, ICMP type/code only
// when the protocol is the ICMP of the entry's family.
import type { CompiledEntry, CompiledInterface, CompiledTable } from '../../src/compile/table.js';
import type { Direction } from '../../src/model/reason.js';

export interface NftEntryRef {
  /** The rule comment in the ruleset: "<chain>:<position>". */
  comment: string;
  iface: number;
  dir: Direction;
  position: number;
  /** The reported rule id (sgfw's `rule`), shared by the entries of one rule. */
  ruleId: string;
}

export interface NftTranslation {
  table: string;
  text: string;
  entries: NftEntryRef[];
}

/** Base-chain counters, by comment. */
export const BASE_COUNTERS = ['seen', 'invalid', 'established', 'related', 'unreplied', 'no-interface'] as const;

const PROTO_TCP = 6;
const PROTO_UDP = 17;
const PROTO_ICMP = 1;
const PROTO_ICMPV6 = 58;

// sgfw's (and Linux's) acceptable FIN/SYN/RST/ACK/URG combinations.
const VALID_TCP_FLAGS = '{ syn, syn|urg, syn|ack, rst, rst|ack, fin|ack, fin|ack|urg, ack, ack|urg }';

function range(r: { from: number; to: number }): string | undefined {
  if (r.from === 0 && r.to === 65535) return undefined;
  return r.from === r.to ? String(r.from) : `${r.from}-${r.to}`;
}

/** The match part of one entry. */
export function entryMatch(e: CompiledEntry): string {
  const m: string[] = [];
  if (e.family === 4) m.push('meta nfproto ipv4');
  if (e.family === 6) m.push('meta nfproto ipv6');
  if (e.protocol !== 'any') m.push(`meta l4proto ${e.protocol}`);
  const ipk = (fam: 4 | 6) => (fam === 4 ? 'ip' : 'ip6');
  if (e.src) m.push(`${ipk(e.src.family)} saddr ${e.src.text}`);
  if (e.dst) m.push(`${ipk(e.dst.family)} daddr ${e.dst.text}`);
  if (e.protocol === PROTO_TCP || e.protocol === PROTO_UDP) {
    const l4 = e.protocol === PROTO_TCP ? 'tcp' : 'udp';
    const sp = range(e.srcPorts);
    const dp = range(e.dstPorts);
    if (sp !== undefined) m.push(`${l4} sport ${sp}`);
    if (dp !== undefined) m.push(`${l4} dport ${dp}`);
  }
  const icmp = e.protocol === PROTO_ICMP && e.family === 4 ? 'icmp' : e.protocol === PROTO_ICMPV6 && e.family === 6 ? 'icmpv6' : undefined;
  if (icmp) {
    if (e.icmp.type !== 'any') m.push(`${icmp} type ${e.icmp.type}`);
    if (e.icmp.code !== 'any') m.push(`${icmp} code ${e.icmp.code}`);
  }
  return m.join(' ');
}

function addrSets(i: CompiledInterface): { v4: string[]; v6: string[] } {
  return {
    v4: i.addresses.filter((a) => a.family === 4).map((a) => a.text),
    v6: i.addresses.filter((a) => a.family === 6).map((a) => a.text),
  };
}

export function translateTable(t: CompiledTable, name = 'sgfwdiff'): NftTranslation {
  const lines: string[] = [];
  const entries: NftEntryRef[] = [];
  const L = (s: string) => lines.push(s);
  const dispatch = (kind: 'saddr' | 'daddr', verb: 'jump' | 'goto', prefix: 'in' | 'out') => {
    t.interfaces.forEach((i, k) => {
      const a = addrSets(i);
      if (a.v4.length) L(`    ip ${kind} { ${a.v4.join(', ')} } ${verb} ${prefix}_${k}`);
      if (a.v6.length) L(`    ip6 ${kind} { ${a.v6.join(', ')} } ${verb} ${prefix}_${k}`);
    });
  };

  L(`table inet ${name} {`);
  L('  set passed4 { typeof ip id; flags dynamic; size 65536; }');
  L('  set passed6 { typeof ip6 flowlabel; flags dynamic; size 1048576; }');
  L('  chain sgfw_fwd {');
  L('    type filter hook forward priority filter; policy drop;');
  L('    counter comment "seen"');
  L(`    meta l4proto tcp tcp flags & (fin|syn|rst|ack|urg) != ${VALID_TCP_FLAGS} counter drop comment "invalid"`);
  L('    ct state established counter accept comment "established"');
  L('    ct state related counter accept comment "related"');
  L('    ct state new ct status confirmed counter accept comment "unreplied"');
  dispatch('saddr', 'jump', 'out');
  dispatch('daddr', 'jump', 'in');
  L('    counter drop comment "no-interface"');
  L('  }');
  // After an egress accept: the receiver's ingress when it is protected too, else accept.
  L('  chain egress_ok {');
  dispatch('daddr', 'goto', 'in');
  L('    accept');
  L('  }');
  t.interfaces.forEach((i, k) => {
    for (const dir of ['ingress', 'egress'] as const) {
      const chain = `${dir === 'ingress' ? 'in' : 'out'}_${k}`;
      L(`  chain ${chain} {`);
      (dir === 'ingress' ? i.ingress : i.egress).forEach((e, pos) => {
        const comment = `${chain}:${pos}`;
        const verdict = e.action === 'drop' ? 'drop' : dir === 'egress' ? 'goto egress_ok' : 'accept';
        const match = entryMatch(e);
        L(`    ${match ? `${match} ` : ''}counter ${verdict} comment "${comment}"`);
        entries.push({ comment, iface: k, dir, position: pos, ruleId: t.rules[e.rule]!.id });
      });
      // compile() ends every run with a catch-all; a hand-made table might not.
      L('    drop');
      L('  }');
    }
  });
  L('  chain sgfw_record {');
  L('    type filter hook forward priority 100; policy accept;');
  L('    meta nfproto ipv4 add @passed4 { ip id }');
  L('    meta nfproto ipv6 add @passed6 { ip6 flowlabel }');
  L('  }');
  L('}');
  return { table: name, text: `${lines.join('\n')}\n`, entries };
}

interface NftJsonRule {
  rule?: { chain: string; comment?: string; expr: Array<Record<string, unknown>> };
  set?: { name: string; elem?: unknown[] };
}

/** Counters by rule comment, from `nft -j list table inet NAME`. */
export function nftCounters(json: string): Map<string, { packets: number; bytes: number }> {
  const out = new Map<string, { packets: number; bytes: number }>();
  const doc = JSON.parse(json) as { nftables: NftJsonRule[] };
  for (const item of doc.nftables) {
    const r = item.rule;
    if (!r?.comment) continue;
    for (const x of r.expr) {
      const c = x.counter as { packets: number; bytes: number } | undefined;
      if (c) out.set(r.comment, { packets: c.packets, bytes: c.bytes });
    }
  }
  return out;
}

/** Elements of a set, from `nft -j list set inet NAME SET` (plain integers). */
export function nftSetElements(json: string, set: string): Set<number> {
  const doc = JSON.parse(json) as { nftables: NftJsonRule[] };
  const out = new Set<number>();
  for (const item of doc.nftables) {
    if (item.set?.name !== set) continue;
    for (const e of item.set.elem ?? []) {
      if (typeof e === 'number') out.add(e);
      else throw new Error(`unexpected element in set ${set}: ${JSON.stringify(e)}`);
    }
  }
  return out;
}
