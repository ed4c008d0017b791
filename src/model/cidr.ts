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

/** Address to 16 bytes in network order (IPv4 in bytes 0..3), as the table blob holds it. */
export function addrToBytes16(family: Family, addr: bigint): Uint8Array {
  const out = new Uint8Array(16);
  if (family === 4) {
    const v = Number(addr & 0xffffffffn);
    out[0] = v >>> 24;
    out[1] = (v >>> 16) & 255;
    out[2] = (v >>> 8) & 255;
    out[3] = v & 255;
    return out;
  }
  // Four 32-bit words: four bigint operations instead of sixteen per byte.
  for (let w = 0; w < 4; w++) {
    const v = Number((addr >> BigInt(96 - 32 * w)) & 0xffffffffn);
    out[4 * w] = v >>> 24;
    out[4 * w + 1] = (v >>> 16) & 255;
    out[4 * w + 2] = (v >>> 8) & 255;
    out[4 * w + 3] = v & 255;
  }
  return out;
}

/** The eight 16-bit groups of an IPv6 address. */
function groups6(addr: bigint): number[] {
  const g: number[] = [];
  for (let i = 0; i < 4; i++) {
    const v = Number((addr >> BigInt(96 - 32 * i)) & 0xffffffffn);
    g.push(v >>> 16, v & 0xffff);
  }
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

export function formatAddr(family: Family, addr: bigint): string {
  if (family === 4) {
    const v = Number(addr & 0xffffffffn);
    return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
  }
  return format6(addr);
}

// A dotted quad without leading zeros, each part at most 255: exactly what ipaddr.js's
// IPv4.isValidFourPartDecimal accepts.
const V4 = /^(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})$/;

function parse4(text: string): number | undefined {
  const m = V4.exec(text);
  if (!m) return undefined;
  const a = Number(m[1]);
  const b = Number(m[2]);
  const c = Number(m[3]);
  const d = Number(m[4]);
  if (a > 255 || b > 255 || c > 255 || d > 255) return undefined;
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
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
