// CompiledTable -> the version 1 binary blob of native/table/format.h (layout documented
// there; offsets mirrored in ./format.ts).
import { addrToBytes16, addrWords6, type Cidr } from '../model/cidr.js';
import { REASONS } from '../model/reason.js';
import type { CompiledEntry, CompiledTable, EntryReason } from '../compile/table.js';
import { crc32 } from './crc32.js';
import * as F from './format.js';

/** Reason code of an entry or rule: the index in the shared REASONS list (reason.h). */
export function reasonCode(r: EntryReason): number {
  return REASONS.indexOf(r);
}

function align(n: number): number {
  return Math.ceil(n / F.SECTION_ALIGN) * F.SECTION_ALIGN;
}

class Writer {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  constructor(len: number) {
    this.bytes = new Uint8Array(len);
    this.view = new DataView(this.bytes.buffer);
  }
  put(base: number, f: F.Field, v: number): void {
    const at = base + f.off;
    if (!Number.isInteger(v) || v < 0 || v >= (f.len === 1 ? 0x100 : f.len === 2 ? 0x10000 : 0x100000000)) {
      throw new RangeError(`table field at ${at} (${f.len} bytes) cannot hold ${v}`);
    }
    if (f.len === 1) this.view.setUint8(at, v);
    else if (f.len === 2) this.view.setUint16(at, v, true);
    else this.view.setUint32(at, v, true);
  }
  putBytes(base: number, f: F.Field, b: Uint8Array): void {
    this.bytes.set(b.subarray(0, f.len), base + f.off);
  }
}

const UTF8 = new TextEncoder();
const ASCII = /^[\x00-\x7f]*$/;

/** Interned UTF-8 strings (ids, interface names), each stored once, in first-add order. */
class Strings {
  private readonly list: string[] = [];
  private ascii = true;
  private readonly seen = new Map<string, { off: number; len: number }>();
  length = 0;
  add(s: string): { off: number; len: number } {
    const known = this.seen.get(s);
    if (known) return known;
    // ASCII (ids nearly always are): a byte per character, no encoding per string.
    const isAscii = ASCII.test(s);
    if (!isAscii) this.ascii = false;
    const len = isAscii ? s.length : UTF8.encode(s).length;
    if (len > 0xffff) throw new RangeError(`string too long for the table (${len} bytes)`);
    const ref = { off: this.length, len };
    this.list.push(s);
    this.length += len;
    this.seen.set(s, ref);
    return ref;
  }
  concat(): Uint8Array {
    // All ASCII: one encoding of the concatenation. Otherwise string by string (a lone
    // surrogate at the end of one string must not pair with the start of the next).
    if (this.ascii) return UTF8.encode(this.list.join(''));
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const s of this.list) {
      const b = UTF8.encode(s);
      out.set(b, at);
      at += b.length;
    }
    return out;
  }
}

function entryFlags(e: CompiledEntry): number {
  let f = 0;
  if (e.protocol === 'any') f |= F.FLAG_PROTO_ANY;
  if (e.icmp.type === 'any') f |= F.FLAG_ICMP_TYPE_ANY;
  if (e.icmp.code === 'any') f |= F.FLAG_ICMP_CODE_ANY;
  if (e.untrackedTcp) f |= F.FLAG_UNTRACKED_TCP;
  if (e.untrackedUdp) f |= F.FLAG_UNTRACKED_UDP;
  return f;
}

/** The four 32-bit words of each IPv6 CIDR object's address, computed once per object (entries share CIDRs). */
type CidrWords = Map<Cidr, number[]>;


// Entry record offsets as plain constants: the entry loops run cold at every CLI start-up,
// where each property load of F.ENTRY.x.off is a generic lookup.
const ENTRY_SIZE = F.ENTRY.size;
const E_RULE = F.ENTRY.rule.off;
const E_IFACE = F.ENTRY.iface.off;
const E_DIRECTION = F.ENTRY.direction.off;
const E_ACTION = F.ENTRY.action.off;
const E_REASON = F.ENTRY.reason.off;
const E_FAMILY = F.ENTRY.family.off;
const E_PROTO = F.ENTRY.proto.off;
const E_FLAGS = F.ENTRY.flags.off;
const E_SPORT_LO = F.ENTRY.sportLo.off;
const E_SPORT_HI = F.ENTRY.sportHi.off;
const E_DPORT_LO = F.ENTRY.dportLo.off;
const E_DPORT_HI = F.ENTRY.dportHi.off;
const E_ICMP_TYPE = F.ENTRY.icmpType.off;
const E_ICMP_CODE = F.ENTRY.icmpCode.off;
const E_SRC_LEN = F.ENTRY.srcLen.off;
const E_DST_LEN = F.ENTRY.dstLen.off;
const E_SRC = F.ENTRY.src.off;
const E_DST = F.ENTRY.dst.off;
const E_PRIORITY = F.ENTRY.priority.off;
const E_ORDER = F.ENTRY.order.off;

/** v when it fits an unsigned field of len bytes at `at`; the RangeError of Writer.put otherwise. */
function fit(at: number, len: 1 | 2 | 4, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v >= (len === 1 ? 0x100 : len === 2 ? 0x10000 : 0x100000000)) {
    throw new RangeError(`table field at ${at} (${len} bytes) cannot hold ${v}`);
  }
  return v;
}

function entryCidr(view: DataView, eb: number, addrOff: number, lenOff: number, c: Cidr | null, memo: CidrWords): void {
  if (!c) return; // length 0 and zero bytes: any address
  if (c.family === 4) {
    // Number of a bigint below 2^32: no allocation, unlike the 16-byte array of addrToBytes16.
    view.setUint32(eb + addrOff, Number(c.addr) >>> 0);
  } else {
    let words = memo.get(c);
    if (!words) {
      words = addrWords6(c.addr);
      memo.set(c, words);
    }
    for (let i = 0; i < 4; i++) view.setUint32(eb + addrOff + 4 * i, words[i]!);
  }
  view.setUint8(eb + lenOff, fit(eb + lenOff, 1, c.prefix));
}

/** One entry record at `eb` (format.h Entry), every field range-checked as Writer.put does. */
function writeEntry(w: Writer, eb: number, e: CompiledEntry, ii: number, dirCode: number, pos: number, nRule: number, memo: CidrWords): void {
  if (e.rule >= nRule) throw new RangeError(`entry names rule ${e.rule}, beyond ${nRule} rules`);
  const v = w.view;
  v.setUint32(eb + E_RULE, fit(eb + E_RULE, 4, e.rule), true);
  v.setUint16(eb + E_IFACE, fit(eb + E_IFACE, 2, ii), true);
  v.setUint8(eb + E_DIRECTION, dirCode);
  v.setUint8(eb + E_ACTION, e.action === 'accept' ? 1 : 0);
  v.setUint8(eb + E_REASON, fit(eb + E_REASON, 1, reasonCode(e.reason)));
  v.setUint8(eb + E_FAMILY, fit(eb + E_FAMILY, 1, e.family));
  v.setUint8(eb + E_PROTO, fit(eb + E_PROTO, 1, e.protocol === 'any' ? 0 : e.protocol));
  v.setUint8(eb + E_FLAGS, entryFlags(e));
  v.setUint16(eb + E_SPORT_LO, fit(eb + E_SPORT_LO, 2, e.srcPorts.from), true);
  v.setUint16(eb + E_SPORT_HI, fit(eb + E_SPORT_HI, 2, e.srcPorts.to), true);
  v.setUint16(eb + E_DPORT_LO, fit(eb + E_DPORT_LO, 2, e.dstPorts.from), true);
  v.setUint16(eb + E_DPORT_HI, fit(eb + E_DPORT_HI, 2, e.dstPorts.to), true);
  v.setUint8(eb + E_ICMP_TYPE, fit(eb + E_ICMP_TYPE, 1, e.icmp.type === 'any' ? 0 : e.icmp.type));
  v.setUint8(eb + E_ICMP_CODE, fit(eb + E_ICMP_CODE, 1, e.icmp.code === 'any' ? 0 : e.icmp.code));
  entryCidr(v, eb, E_SRC, E_SRC_LEN, e.src, memo);
  entryCidr(v, eb, E_DST, E_DST_LEN, e.dst, memo);
  v.setUint16(eb + E_PRIORITY, fit(eb + E_PRIORITY, 2, e.priority), true);
  v.setUint32(eb + E_ORDER, fit(eb + E_ORDER, 4, pos), true);
}

interface WrittenRun {
  run: CompiledEntry[];
  /** Record index of its first entry. */
  first: number;
  dirCode: number;
}

function sameCidr(a: Cidr | null, b: Cidr | null): boolean {
  return a === b || (a !== null && b !== null && a.family === b.family && a.addr === b.addr && a.prefix === b.prefix);
}

/** Entries that encode to the same record (but for its interface). */
function sameEntry(a: CompiledEntry, b: CompiledEntry): boolean {
  return a === b || (
    a.rule === b.rule && a.action === b.action && a.reason === b.reason && a.family === b.family &&
    a.protocol === b.protocol && sameCidr(a.src, b.src) && sameCidr(a.dst, b.dst) &&
    a.srcPorts.from === b.srcPorts.from && a.srcPorts.to === b.srcPorts.to &&
    a.dstPorts.from === b.dstPorts.from && a.dstPorts.to === b.dstPorts.to &&
    a.icmp.type === b.icmp.type && a.icmp.code === b.icmp.code &&
    a.untrackedTcp === b.untrackedTcp && a.untrackedUdp === b.untrackedUdp && a.priority === b.priority
  );
}

/**
 * The record index of a written run with the same entries, in order, and direction. By value,
 * so that the bytes depend on the table, not on which entry objects compile() shared (it
 * hands interfaces with the same groups the same objects: then the identity test decides).
 */
function sameRun(candidates: WrittenRun[], run: CompiledEntry[], dirCode: number): number | undefined {
  for (const c of candidates) {
    if (c.dirCode !== dirCode || c.run.length !== run.length) continue;
    let i = 0;
    while (i < run.length && sameEntry(c.run[i]!, run[i]!)) i++;
    if (i === run.length) return c.first;
  }
  return undefined;
}

/** Candidates for sameRun: runs of the same direction, length and first rule. */
function runKey(run: CompiledEntry[], dirCode: number): string {
  return `${dirCode}/${run.length}/${run[0]!.rule}`;
}

/** One run (an interface's ingress or egress entries, in match order) from record index `first`. */
function writeRun(w: Writer, entriesOff: number, first: number, run: CompiledEntry[], ii: number, dirCode: number, nRule: number, memo: CidrWords): void {
  let eb = entriesOff + first * ENTRY_SIZE;
  for (let pos = 0; pos < run.length; pos++, eb += ENTRY_SIZE) writeEntry(w, eb, run[pos]!, ii, dirCode, pos, nRule, memo);
}

/** Where each interface's ingress and egress run is stored: the record index of its first entry. */
interface RunPlan {
  /** [ingress, egress] first record index, per interface. */
  first: [number, number][];
  /** Whether the run is written here (false: it is an earlier interface's run, stored once). */
  written: [boolean, boolean][];
  entries: number;
}

/**
 * A run with the very same entries, in order, and direction as an earlier interface's (the
 * interfaces carry the same groups: compile() hands them the same entry objects) is stored
 * once, and both interfaces name it (format.h).
 */
function planRuns(t: CompiledTable): RunPlan {
  const plan: RunPlan = { first: [], written: [], entries: 0 };
  const stored = new Map<string, WrittenRun[]>(); // by runKey
  for (const iface of t.interfaces) {
    const first: [number, number] = [0, 0];
    const written: [boolean, boolean] = [true, true];
    [iface.ingress, iface.egress].forEach((run, dirCode) => {
      first[dirCode] = plan.entries;
      if (run.length > 0) {
        const key = runKey(run, dirCode);
        const list = stored.get(key) ?? [];
        const same = sameRun(list, run, dirCode);
        if (same !== undefined) {
          first[dirCode] = same;
          written[dirCode] = false;
          return;
        }
        list.push({ run, first: plan.entries, dirCode });
        stored.set(key, list);
      }
      plan.entries += run.length;
    });
    plan.first.push(first);
    plan.written.push(written);
  }
  return plan;
}

/**
 * Encode a table as one little-endian blob, format v1. Sections in the order of format.h,
 * each 8-aligned; entries grouped by interface, ingress run then egress run, each in match
 * order with `order` = position in its run, and a run an earlier interface has in the same
 * direction stored once; crc32 over the blob with its own field zeroed.
 * Guarantees: deterministic (same table, same bytes); decodeTable(encodeTable(t)) gives t
 * back, with a /0 CIDR read as null (both mean "any address"). Throws RangeError when a
 * value does not fit its field (more than 65535 interfaces, a port above 65535, ...).
 */
export function encodeTable(t: CompiledTable): Uint8Array {
  const nIf = t.interfaces.length;
  const nAddr = t.interfaces.reduce((n, i) => n + i.addresses.length, 0);
  const nRule = t.rules.length;
  if (nIf > 0xffff) throw new RangeError(`${nIf} interfaces: the table holds at most 65535`);
  const plan = planRuns(t);
  const nEntry = plan.entries;

  const strings = new Strings();
  const ifaceNames = t.interfaces.map((i) => strings.add(i.id));
  const ruleIds = t.rules.map((r) => strings.add(r.id));

  const interfacesOff = align(F.HEADER.size);
  const addressesOff = align(interfacesOff + nIf * F.IFACE.size);
  const entriesOff = align(addressesOff + nAddr * F.ADDRESS.size);
  const rulesOff = align(entriesOff + nEntry * F.ENTRY.size);
  const conntrackOff = align(rulesOff + nRule * F.RULE.size);
  const stringsOff = align(conntrackOff + F.CONNTRACK.size);
  const totalLen = align(stringsOff + strings.length);

  const w = new Writer(totalLen);
  const H = F.HEADER;
  w.put(0, H.magic, F.MAGIC);
  w.put(0, H.version, F.VERSION_MAJOR);
  w.put(0, H.headerLen, H.size);
  w.put(0, H.cloud, F.CLOUD_CODES[t.cloud]);
  w.put(0, H.flags, 0);
  w.put(0, H.entryRecordSize, F.ENTRY.size);
  w.put(0, H.interfaceCount, nIf);
  w.put(0, H.addressCount, nAddr);
  w.put(0, H.entryCount, nEntry);
  w.put(0, H.ruleCount, nRule);
  w.put(0, H.stringsLen, strings.length);
  w.put(0, H.interfacesOff, interfacesOff);
  w.put(0, H.addressesOff, addressesOff);
  w.put(0, H.entriesOff, entriesOff);
  w.put(0, H.rulesOff, rulesOff);
  w.put(0, H.stringsOff, stringsOff);
  w.put(0, H.conntrackOff, conntrackOff);
  w.put(0, H.totalLen, totalLen);

  let addrAt = 0;
  const cidrWords: CidrWords = new Map();
  t.interfaces.forEach((iface, ii) => {
    const base = interfacesOff + ii * F.IFACE.size;
    const name = ifaceNames[ii]!;
    w.put(base, F.IFACE.nameOff, name.off);
    w.put(base, F.IFACE.nameLen, name.len);
    w.put(base, F.IFACE.nicType, F.NIC_TYPE_CODES[iface.nicType ?? 'none']);
    w.put(base, F.IFACE.addrFirst, addrAt);
    w.put(base, F.IFACE.addrCount, iface.addresses.length);
    for (const a of iface.addresses) {
      const ab = addressesOff + addrAt * F.ADDRESS.size;
      w.put(ab, F.ADDRESS.iface, ii);
      w.put(ab, F.ADDRESS.family, a.family);
      w.putBytes(ab, F.ADDRESS.addr, addrToBytes16(a.family, a.addr));
      addrAt++;
    }
    const runs = [
      [iface.ingress, 0, F.IFACE.ingressFirst, F.IFACE.ingressCount],
      [iface.egress, 1, F.IFACE.egressFirst, F.IFACE.egressCount],
    ] as const;
    for (const [run, dirCode, firstF, countF] of runs) {
      const first = plan.first[ii]![dirCode];
      w.put(base, firstF, first);
      w.put(base, countF, run.length);
      if (plan.written[ii]![dirCode]) writeRun(w, entriesOff, first, run, ii, dirCode, nRule, cidrWords);
    }
  });

  t.rules.forEach((r, ri) => {
    const rb = rulesOff + ri * F.RULE.size;
    w.put(rb, F.RULE.idOff, ruleIds[ri]!.off);
    w.put(rb, F.RULE.idLen, ruleIds[ri]!.len);
    w.put(rb, F.RULE.reason, reasonCode(r.reason));
    w.put(rb, F.RULE.action, r.action === 'accept' ? 1 : 0);
  });

  w.put(conntrackOff, F.CONNTRACK.maxFlows, t.conntrack.maxFlows);
  F.TIMEOUT_SLOTS.forEach((slot, i) => {
    w.put(conntrackOff, { off: F.CONNTRACK.timeouts.off + 4 * i, len: 4 }, t.conntrack.timeouts[slot]);
  });
  w.put(conntrackOff, F.CONNTRACK.maxFragments, t.conntrack.maxFragments);

  w.bytes.set(strings.concat(), stringsOff);
  w.put(0, H.crc32, crc32(w.bytes));
  return w.bytes;
}
