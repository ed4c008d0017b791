// The version 1 blob of native/table/format.h -> a CompiledTable view, validated field by
// field. Used by tests (round trips) and by `sgfw` to describe a blob.
import { familyBits, formatAddr, type Address, type Cidr, type Family } from '../model/cidr.js';
import type { Action, Cloud, ConntrackConfig, IcmpMatch, Timeouts } from '../model/policy.js';
import { REASONS } from '../model/reason.js';
import type { CompiledEntry, CompiledInterface, CompiledRule, CompiledTable, EntryReason } from '../compile/table.js';
import { crc32 } from './crc32.js';
import * as F from './format.js';

export type TableErrorCode = 'ERR_TABLE_FORMAT' | 'ERR_TABLE_VERSION' | 'ERR_TABLE_CRC';

/** A blob that is not a valid v1 table; `code` says which kind of problem. */
export class TableFormatError extends Error {
  constructor(
    readonly code: TableErrorCode,
    message: string,
  ) {
    super(`invalid table: ${message}`);
    this.name = 'TableFormatError';
  }
}

/** What the header says, beside the table itself. */
export interface DecodedTable extends CompiledTable {
  version: number;
  headerLen: number;
  entryRecordSize: number;
  totalLen: number;
  crc32: number;
}

const fail = (msg: string, code: TableErrorCode = 'ERR_TABLE_FORMAT'): never => {
  throw new TableFormatError(code, msg);
};

class Reader {
  readonly view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  get(base: number, f: F.Field): number {
    if (f.len === 1) return this.view.getUint8(base + f.off);
    if (f.len === 2) return this.view.getUint16(base + f.off, true);
    return this.view.getUint32(base + f.off, true);
  }
  addr(base: number, f: F.Field): Uint8Array {
    return this.bytes.subarray(base + f.off, base + f.off + f.len);
  }
}

const CLOUD_BY_CODE = new Map<number, Cloud>(
  Object.entries(F.CLOUD_CODES).map(([k, v]) => [v, k as Cloud]),
);
const ENTRY_REASONS: EntryReason[] = ['rule', 'default', 'platform'];

function reasonOf(code: number, where: string): EntryReason {
  const r = REASONS[code];
  if (r === undefined || !(ENTRY_REASONS as string[]).includes(r)) fail(`${where}: reason code ${code} is not rule, default or platform`);
  return r as EntryReason;
}

function actionOf(code: number, where: string): Action {
  if (code > 1) fail(`${where}: action ${code} is not 0 (drop) or 1 (accept)`);
  return code === 1 ? 'accept' : 'drop';
}

function bytesToBig(b: Uint8Array, n: number): bigint {
  let v = 0n;
  for (let i = 0; i < n; i++) v = (v << 8n) | BigInt(b[i]!);
  return v;
}

/** Read an address of the family; bytes beyond the family (IPv4: 4..15) must be zero. */
function readAddr(b: Uint8Array, family: Family, where: string): bigint {
  const n = family === 4 ? 4 : 16;
  for (let i = n; i < 16; i++) if (b[i] !== 0) fail(`${where}: IPv4 address with non-zero bytes beyond 4`);
  return bytesToBig(b, n);
}

function readCidr(b: Uint8Array, len: number, family: number, where: string): Cidr | null {
  if (len === 0) {
    if (b.some((x) => x !== 0)) fail(`${where}: prefix length 0 with non-zero address bytes`);
    return null;
  }
  if (family !== 4 && family !== 6) fail(`${where}: a prefix needs family 4 or 6, not ${family}`);
  const fam = family as Family;
  const bits = familyBits(fam);
  if (len > bits) fail(`${where}: prefix length ${len} beyond ${bits}`);
  const addr = readAddr(b, fam, where);
  const host = (1n << BigInt(bits - len)) - 1n;
  if ((addr & host) !== 0n) fail(`${where}: address has bits set beyond /${len}`);
  return { family: fam, addr, prefix: len, text: `${formatAddr(fam, addr)}/${len}` };
}

/**
 * Decode and validate a v1 table blob. Throws TableFormatError on: a wrong magic, an unknown
 * major version (ERR_TABLE_VERSION), a length or crc32 mismatch (ERR_TABLE_CRC), records
 * smaller than v1's, misaligned or out-of-bounds sections, index fields out of range,
 * runs that do not tile the entries section, unknown codes, and malformed prefixes.
 * Record sizes and header_len larger than v1's are honoured (later versions append fields).
 */
export function decodeTable(buf: Uint8Array): DecodedTable {
  const r = new Reader(buf);
  const H = F.HEADER;
  if (buf.length < H.size) fail(`${buf.length} bytes is shorter than the ${H.size}-byte header`);
  const magic = r.get(0, H.magic);
  if (magic !== F.MAGIC) fail(`magic 0x${magic.toString(16)} is not 0x${F.MAGIC.toString(16)} ("SGFT")`);
  const version = r.get(0, H.version);
  if (version !== F.VERSION_MAJOR) fail(`version ${version} is not supported (this reader knows ${F.VERSION_MAJOR})`, 'ERR_TABLE_VERSION');
  const headerLen = r.get(0, H.headerLen);
  if (headerLen < H.size) fail(`header_len ${headerLen} is below ${H.size}`);
  const totalLen = r.get(0, H.totalLen);
  if (totalLen !== buf.length) fail(`total_len ${totalLen} but the blob has ${buf.length} bytes`, 'ERR_TABLE_CRC');
  const stored = r.get(0, H.crc32);
  const zeroed = buf.slice();
  zeroed.fill(0, H.crc32.off, H.crc32.off + H.crc32.len);
  const actual = crc32(zeroed);
  if (stored !== actual) fail(`crc32 0x${stored.toString(16)} does not match the contents (0x${actual.toString(16)})`, 'ERR_TABLE_CRC');
  const cloud = CLOUD_BY_CODE.get(r.get(0, H.cloud)) ?? fail(`cloud code ${r.get(0, H.cloud)} is unknown`);
  const entrySize = r.get(0, H.entryRecordSize);
  if (entrySize < F.ENTRY.size) fail(`entry_record_size ${entrySize} is below ${F.ENTRY.size}`);

  const nIf = r.get(0, H.interfaceCount);
  const nAddr = r.get(0, H.addressCount);
  const nEntry = r.get(0, H.entryCount);
  const nRule = r.get(0, H.ruleCount);
  const stringsLen = r.get(0, H.stringsLen);
  const section = (name: string, offF: F.Field, count: number, size: number): number => {
    const off = r.get(0, offF);
    if (off % F.SECTION_ALIGN !== 0) fail(`${name} section at ${off} is not ${F.SECTION_ALIGN}-aligned`);
    if (off < headerLen) fail(`${name} section at ${off} overlaps the header`);
    if (off + count * size > totalLen) fail(`${name} section (${count} x ${size} bytes at ${off}) runs past the end`);
    return off;
  };
  const ifOff = section('interfaces', H.interfacesOff, nIf, F.IFACE.size);
  const addrOff = section('addresses', H.addressesOff, nAddr, F.ADDRESS.size);
  const entOff = section('entries', H.entriesOff, nEntry, entrySize);
  const ruleOff = section('rules', H.rulesOff, nRule, F.RULE.size);
  const ctOff = section('conntrack', H.conntrackOff, 1, F.CONNTRACK.size);
  const strOff = section('strings', H.stringsOff, stringsLen, 1);

  const decoder = new TextDecoder('utf-8', { fatal: true });
  const str = (off: number, len: number, where: string): string => {
    if (off + len > stringsLen) fail(`${where}: string ${off}+${len} beyond the strings section`);
    try {
      return decoder.decode(buf.subarray(strOff + off, strOff + off + len));
    } catch {
      return fail(`${where}: string is not valid UTF-8`);
    }
  };

  const rules: CompiledRule[] = [];
  for (let i = 0; i < nRule; i++) {
    const b = ruleOff + i * F.RULE.size;
    const where = `rule ${i}`;
    rules.push({
      id: str(r.get(b, F.RULE.idOff), r.get(b, F.RULE.idLen), where),
      reason: reasonOf(r.get(b, F.RULE.reason), where),
      action: actionOf(r.get(b, F.RULE.action), where),
    });
  }

  const readEntry = (i: number, ifIndex: number, dirCode: number, pos: number): CompiledEntry => {
    const b = entOff + i * entrySize;
    const E = F.ENTRY;
    const where = `entry ${i}`;
    const rule = r.get(b, E.rule);
    if (rule >= nRule) fail(`${where}: rule ${rule} beyond ${nRule} rules`);
    if (r.get(b, E.iface) !== ifIndex) fail(`${where}: interface ${r.get(b, E.iface)} but it lies in the run of ${ifIndex}`);
    if (r.get(b, E.direction) !== dirCode) fail(`${where}: direction ${r.get(b, E.direction)} but it lies in a ${dirCode === 0 ? 'ingress' : 'egress'} run`);
    if (r.get(b, E.order) !== pos) fail(`${where}: order ${r.get(b, E.order)} but it is at position ${pos} of its run`);
    const family = r.get(b, E.family);
    if (family !== 0 && family !== 4 && family !== 6) fail(`${where}: family ${family} is not 0, 4 or 6`);
    const flags = r.get(b, E.flags);
    if (flags & ~0x1f) fail(`${where}: unknown flags 0x${flags.toString(16)}`);
    const srcLen = r.get(b, E.srcLen);
    const dstLen = r.get(b, E.dstLen);
    if (family === 0 && (srcLen !== 0 || dstLen !== 0)) fail(`${where}: family 0 (both) with an address prefix`);
    const src = readCidr(r.addr(b, E.src), srcLen, family, `${where} src`);
    const dst = readCidr(r.addr(b, E.dst), dstLen, family, `${where} dst`);
    const icmp: IcmpMatch = {
      type: flags & F.FLAG_ICMP_TYPE_ANY ? 'any' : r.get(b, E.icmpType),
      code: flags & F.FLAG_ICMP_CODE_ANY ? 'any' : r.get(b, E.icmpCode),
    };
    const srcPorts = { from: r.get(b, E.sportLo), to: r.get(b, E.sportHi) };
    const dstPorts = { from: r.get(b, E.dportLo), to: r.get(b, E.dportHi) };
    if (srcPorts.from > srcPorts.to || dstPorts.from > dstPorts.to) fail(`${where}: a port range with lo > hi`);
    const action = actionOf(r.get(b, E.action), where);
    const reason = reasonOf(r.get(b, E.reason), where);
    if (rules[rule]!.action !== action || rules[rule]!.reason !== reason) {
      fail(`${where}: action/reason differ from those of its rule ${rules[rule]!.id}`);
    }
    return {
      rule,
      action,
      reason,
      family: family as 0 | Family,
      protocol: flags & F.FLAG_PROTO_ANY ? 'any' : r.get(b, E.proto),
      src,
      dst,
      srcPorts,
      dstPorts,
      icmp,
      untrackedTcp: (flags & F.FLAG_UNTRACKED_TCP) !== 0,
      untrackedUdp: (flags & F.FLAG_UNTRACKED_UDP) !== 0,
      priority: r.get(b, E.priority),
    };
  };

  const nicByCode = new Map<number, 'internet' | 'intranet' | undefined>([[0, undefined], [1, 'internet'], [2, 'intranet']]);
  const interfaces: CompiledInterface[] = [];
  let nextAddr = 0;
  let nextEntry = 0;
  // Runs stored once and named again by a later interface (format.h): "dir/first/count" -> entries.
  const storedRuns = new Map<string, CompiledEntry[]>();
  for (let i = 0; i < nIf; i++) {
    const b = ifOff + i * F.IFACE.size;
    const I = F.IFACE;
    const where = `interface ${i}`;
    const id = str(r.get(b, I.nameOff), r.get(b, I.nameLen), where);
    const nicCode = r.get(b, I.nicType);
    if (!nicByCode.has(nicCode)) fail(`${where}: nic type ${nicCode} is unknown`);
    const addrFirst = r.get(b, I.addrFirst);
    const addrCount = r.get(b, I.addrCount);
    if (addrFirst !== nextAddr || addrFirst + addrCount > nAddr) fail(`${where}: addresses ${addrFirst}+${addrCount} do not follow the previous interface's`);
    nextAddr += addrCount;
    const addresses: Address[] = [];
    for (let a = addrFirst; a < addrFirst + addrCount; a++) {
      const ab = addrOff + a * F.ADDRESS.size;
      const aw = `address ${a}`;
      if (r.get(ab, F.ADDRESS.iface) !== i) fail(`${aw}: interface ${r.get(ab, F.ADDRESS.iface)} but listed under ${i}`);
      const fam = r.get(ab, F.ADDRESS.family);
      if (fam !== 4 && fam !== 6) fail(`${aw}: family ${fam} is not 4 or 6`);
      const addr = readAddr(r.addr(ab, F.ADDRESS.addr), fam as Family, aw);
      addresses.push({ family: fam as Family, addr, text: formatAddr(fam as Family, addr) });
    }
    const run = (firstF: F.Field, countF: F.Field, dirCode: number): CompiledEntry[] => {
      const first = r.get(b, firstF);
      const count = r.get(b, countF);
      const key = `${dirCode}/${first}/${count}`;
      const earlier = count > 0 ? storedRuns.get(key) : undefined;
      if (earlier) return earlier.slice();
      if (first !== nextEntry || first + count > nEntry) fail(`${where}: entry run ${first}+${count} does not follow the previous run`);
      nextEntry += count;
      const out: CompiledEntry[] = [];
      for (let k = 0; k < count; k++) out.push(readEntry(first + k, i, dirCode, k));
      storedRuns.set(key, out);
      return out;
    };
    const ingress = run(I.ingressFirst, I.ingressCount, 0);
    const egress = run(I.egressFirst, I.egressCount, 1);
    const iface: CompiledInterface = { id, addresses, ingress, egress };
    const nic = nicByCode.get(nicCode);
    if (nic !== undefined) iface.nicType = nic;
    interfaces.push(iface);
  }
  if (nextAddr !== nAddr) fail(`${nAddr - nextAddr} addresses belong to no interface`);
  if (nextEntry !== nEntry) fail(`${nEntry - nextEntry} entries belong to no interface run`);

  const timeouts = {} as Timeouts;
  F.TIMEOUT_SLOTS.forEach((slot, i) => {
    timeouts[slot] = r.get(ctOff, { off: F.CONNTRACK.timeouts.off + 4 * i, len: 4 });
  });
  const conntrack: ConntrackConfig = {
    maxFlows: r.get(ctOff, F.CONNTRACK.maxFlows),
    maxFragments: r.get(ctOff, F.CONNTRACK.maxFragments),
    timeouts,
  };

  return {
    cloud,
    interfaces,
    rules,
    conntrack,
    version,
    headerLen,
    entryRecordSize: entrySize,
    totalLen,
    crc32: stored,
  };
}
