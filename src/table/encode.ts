// CompiledTable -> the version 1 binary blob of native/table/format.h (layout documented
// there; offsets mirrored in ./format.ts).
import { addrToBytes16, type Cidr } from '../model/cidr.js';
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
    if (!Number.isInteger(v) || v < 0 || v >= 2 ** (8 * f.len)) {
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

/** Interned UTF-8 strings (ids, interface names), each stored once. */
class Strings {
  private readonly parts: Uint8Array[] = [];
  private readonly seen = new Map<string, { off: number; len: number }>();
  length = 0;
  add(s: string): { off: number; len: number } {
    const known = this.seen.get(s);
    if (known) return known;
    const b = new TextEncoder().encode(s);
    if (b.length > 0xffff) throw new RangeError(`string too long for the table (${b.length} bytes)`);
    const ref = { off: this.length, len: b.length };
    this.parts.push(b);
    this.length += b.length;
    this.seen.set(s, ref);
    return ref;
  }
  concat(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
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

function putCidr(w: Writer, base: number, addrF: F.Field, lenF: F.Field, c: Cidr | null): void {
  if (!c) return; // length 0 and zero bytes: any address
  w.putBytes(base, addrF, addrToBytes16(c.family, c.addr));
  w.put(base, lenF, c.prefix);
}

/**
 * Encode a table as one little-endian blob, format v1. Sections in the order of format.h,
 * each 8-aligned; entries grouped by interface, ingress run then egress run, each in match
 * order with `order` = position in its run; crc32 over the blob with its own field zeroed.
 * Guarantees: deterministic (same table, same bytes); decodeTable(encodeTable(t)) gives t
 * back, with a /0 CIDR read as null (both mean "any address"). Throws RangeError when a
 * value does not fit its field (more than 65535 interfaces, a port above 65535, ...).
 */
export function encodeTable(t: CompiledTable): Uint8Array {
  const nIf = t.interfaces.length;
  const nAddr = t.interfaces.reduce((n, i) => n + i.addresses.length, 0);
  const nEntry = t.interfaces.reduce((n, i) => n + i.ingress.length + i.egress.length, 0);
  const nRule = t.rules.length;
  if (nIf > 0xffff) throw new RangeError(`${nIf} interfaces: the table holds at most 65535`);

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
  let entryAt = 0;
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
      w.put(base, firstF, entryAt);
      w.put(base, countF, run.length);
      run.forEach((e, pos) => {
        const eb = entriesOff + entryAt * F.ENTRY.size;
        const E = F.ENTRY;
        if (e.rule >= nRule) throw new RangeError(`entry names rule ${e.rule}, beyond ${nRule} rules`);
        w.put(eb, E.rule, e.rule);
        w.put(eb, E.iface, ii);
        w.put(eb, E.direction, dirCode);
        w.put(eb, E.action, e.action === 'accept' ? 1 : 0);
        w.put(eb, E.reason, reasonCode(e.reason));
        w.put(eb, E.family, e.family);
        w.put(eb, E.proto, e.protocol === 'any' ? 0 : e.protocol);
        w.put(eb, E.flags, entryFlags(e));
        w.put(eb, E.sportLo, e.srcPorts.from);
        w.put(eb, E.sportHi, e.srcPorts.to);
        w.put(eb, E.dportLo, e.dstPorts.from);
        w.put(eb, E.dportHi, e.dstPorts.to);
        w.put(eb, E.icmpType, e.icmp.type === 'any' ? 0 : e.icmp.type);
        w.put(eb, E.icmpCode, e.icmp.code === 'any' ? 0 : e.icmp.code);
        putCidr(w, eb, E.src, E.srcLen, e.src);
        putCidr(w, eb, E.dst, E.dstLen, e.dst);
        w.put(eb, E.priority, e.priority);
        w.put(eb, E.order, pos);
        entryAt++;
      });
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
