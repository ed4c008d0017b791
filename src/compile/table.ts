// The compiled table in memory: per interface and direction, one ordered list of entries
// with first-match semantics. src/table/encode.ts turns it into the binary blob of
// native/table/format.h; src/table/reference-match.ts runs it as a linear scan.
import type { Address, Cidr } from '../model/cidr.js';
import type { Action, Cloud, ConntrackConfig, IcmpMatch, PortRange } from '../model/policy.js';
import type { Protocol } from '../model/protocol.js';
import type { Direction } from '../model/reason.js';

/** Reasons an entry can give: custom rule, hidden default, platform traffic. */
export type EntryReason = 'rule' | 'default' | 'platform';

export interface CompiledRule {
  /** The id reported in verdicts and counters ("sg-web:ingress:0", "default:ingress:drop"). */
  id: string;
  reason: EntryReason;
  action: Action;
}

export interface CompiledEntry {
  /** Index into CompiledTable.rules. */
  rule: number;
  action: Action;
  reason: EntryReason;
  /** 0 = both families (only with src and dst null). */
  family: 0 | 4 | 6;
  protocol: Protocol;
  /** null = any address. */
  src: Cidr | null;
  dst: Cidr | null;
  /** Applied only when protocol is TCP or UDP. */
  srcPorts: PortRange;
  dstPorts: PortRange;
  /** Applied only when protocol is the ICMP of the entry's family. */
  icmp: IcmpMatch;
  /** AWS: flows of this protocol admitted by this entry are untracked. */
  untrackedTcp: boolean;
  untrackedUdp: boolean;
  /** Alibaba priority, 0 elsewhere. */
  priority: number;
}

export interface CompiledInterface {
  id: string;
  nicType?: 'internet' | 'intranet';
  addresses: Address[];
  /** In match order: the first entry that matches decides. */
  ingress: CompiledEntry[];
  egress: CompiledEntry[];
}

export interface CompiledTable {
  cloud: Cloud;
  interfaces: CompiledInterface[];
  rules: CompiledRule[];
  conntrack: ConntrackConfig;
}

export function entriesOf(iface: CompiledInterface, dir: Direction): CompiledEntry[] {
  return dir === 'ingress' ? iface.ingress : iface.egress;
}
