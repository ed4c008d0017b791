// Linear first-match over a CompiledTable: the scalar reference the native classifier is
// tested against. It follows the entry contract of native/table/format.h word for word.
import { cidrContainsAddr } from '../model/cidr.js';
import type { PacketTuple } from '../model/policy.js';
import { PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP } from '../model/protocol.js';
import type { Direction, Verdict } from '../model/reason.js';
import type { CompiledEntry, CompiledRule, CompiledTable, EntryReason } from '../compile/table.js';
import { entriesOf } from '../compile/table.js';

export interface TableMatch {
  verdict: Verdict;
  reason: EntryReason;
  /** Reported rule id. */
  rule: string;
  /** Index into table.rules. */
  ruleIndex: number;
  /** Position of the matching entry in the interface/direction run. */
  position: number;
  entry: CompiledEntry;
  /** Accepted flows only: false when the entry marks this protocol untracked (AWS). */
  tracked?: boolean;
}

/**
 * True when the entry matches the tuple (format.h entry contract). Absent ports and ICMP
 * fields of the tuple read as 0.
 */
export function entryMatches(e: CompiledEntry, t: PacketTuple): boolean {
  if (e.family !== 0 && e.family !== t.family) return false;
  if (e.protocol !== 'any' && e.protocol !== t.protocol) return false;
  if (e.src && !cidrContainsAddr(e.src, t.family, t.src)) return false;
  if (e.dst && !cidrContainsAddr(e.dst, t.family, t.dst)) return false;
  if (e.protocol === PROTO_TCP || e.protocol === PROTO_UDP) {
    const sp = t.srcPort ?? 0;
    const dp = t.dstPort ?? 0;
    if (sp < e.srcPorts.from || sp > e.srcPorts.to) return false;
    if (dp < e.dstPorts.from || dp > e.dstPorts.to) return false;
  }
  const icmp = (e.protocol === PROTO_ICMP && e.family === 4) || (e.protocol === PROTO_ICMPV6 && e.family === 6);
  if (icmp) {
    if (e.icmp.type !== 'any' && e.icmp.type !== (t.icmpType ?? 0)) return false;
    if (e.icmp.code !== 'any' && e.icmp.code !== (t.icmpCode ?? 0)) return false;
  }
  return true;
}

/** Whether an accepted packet of this entry starts a tracked flow. */
export function entryTracks(table: CompiledTable, e: CompiledEntry, t: PacketTuple): boolean {
  if (table.cloud === 'alibaba') return true;
  if (t.protocol === PROTO_TCP && e.untrackedTcp) return false;
  if (t.protocol === PROTO_UDP && e.untrackedUdp) return false;
  return true;
}

/**
 * The first entry of interface `ifaceIndex`, direction `dir`, that matches the tuple, or
 * undefined when none does (compile() always ends a run with a catch-all, so only a
 * hand-made table can give undefined). Throws on an interface index out of range.
 */
export function referenceMatch(
  table: CompiledTable,
  ifaceIndex: number,
  dir: Direction,
  t: PacketTuple,
): TableMatch | undefined {
  const iface = table.interfaces[ifaceIndex];
  if (!iface) throw new RangeError(`no interface at index ${ifaceIndex}`);
  const run = entriesOf(iface, dir);
  for (let i = 0; i < run.length; i++) {
    const e = run[i]!;
    if (!entryMatches(e, t)) continue;
    const rule: CompiledRule | undefined = table.rules[e.rule];
    if (!rule) throw new RangeError(`entry ${i} names rule ${e.rule}, beyond the rules table`);
    const m: TableMatch = {
      verdict: e.action,
      reason: e.reason,
      rule: rule.id,
      ruleIndex: e.rule,
      position: i,
      entry: e,
    };
    if (e.action === 'accept') m.tracked = entryTracks(table, e, t);
    return m;
  }
  return undefined;
}
