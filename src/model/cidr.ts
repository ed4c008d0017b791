// IPv4/IPv6 addresses and CIDR blocks: parse, canonicalise, test containment.
// Addresses are held as bigint (IPv4 in 32 bits, IPv6 in 128) so matching is plain arithmetic.
// Dotted quads and plain hex IPv6 ("2001:db8::1") are read here; the rarer IPv6 forms (embedded
// IPv4, zone ids) go to ipaddr.js, loaded on first need: every CLI start-up reads addresses, and
// loading ipaddr.js (a CommonJS module) costs more than reading a thousand of them.
import { createRequire } from 'node:module';
import type * as IpaddrNs from 'ipaddr.js';

type Ipaddr = typeof IpaddrNs;
let ipaddrModule: Ipaddr | undefined;
function ipaddr(): Ipaddr {
  ipaddrModule ??= createRequire(import.meta.url)('ipaddr.js') as Ipaddr;
  return ipaddrModule;
}

export type Family = 4 | 6;

export interface Cidr {
  family: Family;
  /** Network address with host bits cleared. */
  addr: bigint;
  prefix: number;
  /** Canonical text: "10.0.0.0/8", "2001:db8::/32". */
  text: string;
}

export interface Address {
  family: Family;
  addr: bigint;
  /** Canonical text ("2001:db8::10"). */
  text: string;
}

export function familyBits(f: Family): number {
  return f === 4 ? 32 : 128;
}

/** The four 32-bit words of an IPv6 address, most significant first: four bigint steps, not sixteen. */
export function addrWords6(addr: bigint): number[] {
  const w: number[] = [];
  for (let i = 0; i < 4; i++) w.push(Number((addr >> BigInt(96 - 32 * i)) & 0xffffffffn));
  return w;
}

/** Address to 16 bytes in network order (IPv4 in bytes 0..3), as the table blob holds it. */
export function addrToBytes16(family: Family, addr: bigint): Uint8Array {
  const out = new Uint8Array(16);
  const view = new DataView(out.buffer);
  if (family === 4) view.setUint32(0, Number(addr & 0xffffffffn));
  else addrWords6(addr).forEach((v, i) => view.setUint32(4 * i, v));
  return out;
}

/** The eight 16-bit groups of an IPv6 address. */
function groups6(addr: bigint): number[] {
  const g: number[] = [];
  for (const v of addrWords6(addr)) g.push(v >>> 16, v & 0xffff);
  return g;
}

/** An IPv6 address from its eight groups: four bigint words, not one operation per group. */
function bigint6(g: readonly number[]): bigint {
  let v = 0n;
  for (let i = 0; i < 8; i += 2) v = (v << 32n) | BigInt(((g[i]! << 16) | g[i + 1]!) >>> 0);
  return v;
}

/**
 * RFC 5952 text of an IPv6 address given as eight groups, as ipaddr.js writes it: lowercase
 * hex without leading zeros, the longest run of two or more zero groups (the leftmost of
 * equal runs) as "::".
 */
function format6Groups(g: readonly number[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  let text = '';
  for (let i = 0; i < 8; i++) {
    if (i === best) {
      text += '::';
      i += bestLen - 1;
      continue;
    }
    if (text !== '' && !text.endsWith(':')) text += ':';
    text += g[i]!.toString(16);
  }
  return text;
}

function format6(addr: bigint): string {
  return format6Groups(groups6(addr));
}

function text4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

export function formatAddr(family: Family, addr: bigint): string {
  return family === 4 ? text4(Number(addr & 0xffffffffn)) : format6(addr);
}

const NOT_V4 = -1; // not a dotted quad with an optional "/prefix"
const V4_RANGE = -2; // of that form, but an octet above 255

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * Reads what /^(0|[1-9][0-9]{0,2})(\.(0|[1-9][0-9]{0,2})){3}(\/[0-9]{1,3})?$/ matches, in one pass
 * over the character codes (a regex match and its capture strings cost more than the rest of a
 * rule's CIDR): address * 1024 + prefix + 1 (prefix -1 when absent), NOT_V4 or V4_RANGE. The
 * quad is exactly what ipaddr.js's IPv4.isValidFourPartDecimal accepts (no leading zeros).
 */
function scanV4(t: string): number {
  const n = t.length;
  let i = 0;
  let num = 0;
  let inRange = true;
  for (let part = 0; part < 4; part++) {
    if (part > 0 && t.charCodeAt(i++) !== 46) return NOT_V4;
    const c0 = t.charCodeAt(i++);
    if (!isDigit(c0)) return NOT_V4;
    let v = c0 - 48;
    if (v !== 0) {
      for (let d = 1; d < 3 && isDigit(t.charCodeAt(i)); d++) v = v * 10 + t.charCodeAt(i++) - 48;
    }
    if (v > 255) inRange = false;
    num = num * 256 + (v & 255);
  }
  let prefix = -1;
  if (i < n) {
    if (t.charCodeAt(i++) !== 47) return NOT_V4;
    const from = i;
    prefix = 0;
    while (i < n && i - from < 3 && isDigit(t.charCodeAt(i))) prefix = prefix * 10 + t.charCodeAt(i++) - 48;
    if (i === from || i < n) return NOT_V4;
  }
  return inRange ? num * 1024 + prefix + 1 : V4_RANGE;
}

/** A dotted quad (no prefix) as a number; undefined when not one. */
function parse4(text: string): number | undefined {
  const r = scanV4(text);
  return r >= 0 && r % 1024 === 0 ? Math.floor(r / 1024) : undefined;
}

/** The value of hex digit c (a char code), or -1. */
function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20; // ASCII lower case
  return l >= 97 && l <= 102 ? l - 87 : -1;
}

/**
 * Plain hex IPv6 ("2001:DB8::1": groups of 1..4 hex digits, at most one "::", eight groups
 * without it, at most seven with it) to its eight groups; undefined when not of that form
 * (the rarer forms may still be valid: parseAddressIpaddr). One pass over the characters,
 * no regex, split or bigint: a policy's IPv6 CIDRs cost microseconds each the other way.
 */
function parse6Groups(text: string): number[] | undefined {
  const n = text.length;
  if (n === 0) return undefined;
  const head: number[] = [];
  let tail: number[] | undefined; // the groups after "::"
  let i = 0;
  if (text.charCodeAt(0) === 58) {
    if (text.charCodeAt(1) !== 58) return undefined;
    tail = [];
    i = 2;
  }
  while (i < n) {
    let v = 0;
    let digits = 0;
    for (; i < n && digits <= 4; digits++, i++) {
      const h = hexValue(text.charCodeAt(i));
      if (h < 0) break;
      v = (v << 4) | h;
    }
    if (digits === 0 || digits > 4) return undefined;
    (tail ?? head).push(v);
    if (i === n) break;
    if (text.charCodeAt(i) !== 58) return undefined;
    i++;
    if (text.charCodeAt(i) === 58) {
      if (tail) return undefined; // a second "::"
      tail = [];
      i++;
    } else if (i === n) {
      return undefined; // a trailing single ":"
    }
  }
  if (!tail) return head.length === 8 ? head : undefined;
  const zeros = 8 - head.length - tail.length;
  if (zeros < 1) return undefined;
  for (let z = 0; z < zeros; z++) head.push(0);
  for (const t of tail) head.push(t);
  return head;
}

/** Parse a plain address ("10.0.0.1", "2001:DB8::1"); undefined when not an address. */
export function parseAddress(text: string): Address | undefined {
  if (typeof text !== 'string' || text.includes('/')) return undefined;
  if (!text.includes(':')) {
    // Not IPv6 (ipaddr.js wants a colon there): a dotted quad or nothing.
    const v4 = parse4(text);
    if (v4 === undefined) return undefined;
    const addr = BigInt(v4);
    return { family: 4, addr, text: formatAddr(4, addr) };
  }
  const g = parse6Groups(text);
  if (g) return { family: 6, addr: bigint6(g), text: format6Groups(g) };
  return parseAddressIpaddr(text);
}

/** parseAddress through ipaddr.js alone: the reference for the fast paths above (tests) and the reader of rare forms. */
export function parseAddressIpaddr(text: string): Address | undefined {
  if (typeof text !== 'string' || text.includes('/')) return undefined;
  const ip = ipaddr();
  let a: IpaddrNs.IPv4 | IpaddrNs.IPv6;
  try {
    if (ip.IPv4.isValidFourPartDecimal(text)) a = ip.IPv4.parse(text);
    else if (ip.IPv6.isValid(text) && !text.includes('%')) a = ip.IPv6.parse(text);
    else return undefined;
  } catch {
    return undefined;
  }
  const family: Family = a.kind() === 'ipv4' ? 4 : 6;
  let addr = 0n;
  for (const b of a.toByteArray()) addr = (addr << 8n) | BigInt(b);
  return { family, addr, text: ip.fromByteArray(addrToBytes(family, addr)).toString() };
}

function addrToBytes(family: Family, addr: bigint): number[] {
  return Array.from(addrToBytes16(family, addr).subarray(0, family === 4 ? 4 : 16));
}

export interface ParsedCidr {
  cidr: Cidr;
  /** True when the input had bits set beyond the prefix (AWS canonicalises them away). */
  hostBitsSet: boolean;
}

/**
 * Parse "a.b.c.d/n" or "x::/n". A bare address is accepted as a host route (/32, /128)
 * only when allowBare is set (member lists allow it; cloud CIDR fields do not).
 */
export function parseCidr(text: string, allowBare = false): ParsedCidr | undefined {
  if (typeof text !== 'string') return undefined;
  // A dotted quad, the bulk of real policies (huge inputs must be checked in well under a
  // second), is read in one pass; IPv6 below as groups; other forms through parseAddress.
  const r4 = scanV4(text);
  if (r4 !== NOT_V4) return r4 === V4_RANGE ? undefined : cidr4(text, r4, allowBare);
  const slash = text.indexOf('/');
  let addrText = text;
  let prefix: number | undefined;
  if (slash >= 0) {
    addrText = text.slice(0, slash);
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return undefined;
    prefix = Number(p);
  } else if (!allowBare) {
    return undefined;
  }
  if (addrText.includes(':')) {
    const g = parse6Groups(addrText);
    if (g) return cidr6(g, prefix ?? 128);
  }
  const a = parseAddress(addrText);
  if (!a) return undefined;
  const bits = familyBits(a.family);
  const len = prefix ?? bits;
  if (len > bits) return undefined;
  const mask = len === 0 ? 0n : ((1n << BigInt(len)) - 1n) << BigInt(bits - len);
  const net = a.addr & mask;
  return {
    cidr: { family: a.family, addr: net, prefix: len, text: `${net === a.addr ? a.text : formatAddr(a.family, net)}/${len}` },
    hostBitsSet: net !== a.addr,
  };
}

/** parseCidr's IPv4 result from scanV4's reading of t. */
function cidr4(t: string, r: number, allowBare: boolean): ParsedCidr | undefined {
  const num = Math.floor(r / 1024);
  const given = (r % 1024) - 1;
  if (given < 0 && !allowBare) return undefined;
  const prefix = given < 0 ? 32 : given;
  if (prefix > 32) return undefined;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const net = (num & mask) >>> 0;
  // A policy's CIDRs are nearly all written canonically: then t is the text, and building it
  // again (nine string concatenations) was a third of the allocation of reading a CIDR.
  const text = net === num && given >= 0 && canonicalPrefix(t, given) ? t : `${text4(net)}/${prefix}`;
  return { cidr: { family: 4, addr: BigInt(net), prefix, text }, hostBitsSet: net !== num };
}

/**
 * True when the "/prefix" that ends t (a dotted quad as scanV4 reads it, which has no leading
 * zeros) is written without leading zeros: "/8", not "/08".
 */
function canonicalPrefix(t: string, prefix: number): boolean {
  const digits = prefix < 10 ? 1 : prefix < 100 ? 2 : 3;
  return t.charCodeAt(t.length - digits - 1) === 47;
}

/** parseCidr's IPv6 result from the address's groups: masked group by group, one bigint. */
function cidr6(g: number[], len: number): ParsedCidr | undefined {
  if (len > 128) return undefined;
  let hostBitsSet = false;
  for (let i = 0; i < 8; i++) {
    const keep = Math.min(Math.max(len - 16 * i, 0), 16);
    const net = keep === 0 ? 0 : g[i]! & (0xffff << (16 - keep)) & 0xffff;
    if (net !== g[i]) {
      hostBitsSet = true;
      g[i] = net;
    }
  }
  return { cidr: { family: 6, addr: bigint6(g), prefix: len, text: `${format6Groups(g)}/${len}` }, hostBitsSet };
}

/** The /32 or /128 that holds exactly this address. */
export function hostCidr(a: Address): Cidr {
  const prefix = familyBits(a.family);
  return { family: a.family, addr: a.addr, prefix, text: `${a.text}/${prefix}` };
}

export function cidrContainsAddr(c: Cidr, family: Family, addr: bigint): boolean {
  if (c.family !== family) return false;
  if (c.prefix === 0) return true;
  const shift = BigInt(familyBits(family) - c.prefix);
  return addr >> shift === c.addr >> shift;
}

/** True when every address of inner lies in outer. */
export function cidrContainsCidr(outer: Cidr, inner: Cidr): boolean {
  return outer.family === inner.family && outer.prefix <= inner.prefix &&
    cidrContainsAddr(outer, inner.family, inner.addr);
}

export function isAllAddresses(c: Cidr): boolean {
  return c.prefix === 0;
}
