// IPv4/IPv6 addresses and CIDR blocks: parse with ipaddr.js, canonicalise, test containment.
// Addresses are held as bigint (IPv4 in 32 bits, IPv6 in 128) so matching is plain arithmetic.
import ipaddr from 'ipaddr.js';

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

function bytesToBigint(bytes: number[]): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

/** Address to 16 bytes in network order (IPv4 in bytes 0..3), as the table blob holds it. */
export function addrToBytes16(family: Family, addr: bigint): Uint8Array {
  const out = new Uint8Array(16);
  const n = family === 4 ? 4 : 16;
  let v = addr;
  for (let i = n - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

export function formatAddr(family: Family, addr: bigint): string {
  const n = family === 4 ? 4 : 16;
  const bytes: number[] = [];
  let v = addr;
  for (let i = 0; i < n; i++) {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  }
  return ipaddr.fromByteArray(bytes).toString();
}

/** Parse a plain address ("10.0.0.1", "2001:DB8::1"); undefined when not an address. */
export function parseAddress(text: string): Address | undefined {
  if (typeof text !== 'string' || text.includes('/')) return undefined;
  let a: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    if (ipaddr.IPv4.isValidFourPartDecimal(text)) a = ipaddr.IPv4.parse(text);
    else if (ipaddr.IPv6.isValid(text) && !text.includes('%')) a = ipaddr.IPv6.parse(text);
    else return undefined;
  } catch {
    return undefined;
  }
  const family: Family = a.kind() === 'ipv4' ? 4 : 6;
  const addr = bytesToBigint(a.toByteArray());
  return { family, addr, text: formatAddr(family, addr) };
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
  const a = parseAddress(addrText);
  if (!a) return undefined;
  const bits = familyBits(a.family);
  const len = prefix ?? bits;
  if (len > bits) return undefined;
  const mask = len === 0 ? 0n : ((1n << BigInt(len)) - 1n) << BigInt(bits - len);
  const net = a.addr & mask;
  return {
    cidr: { family: a.family, addr: net, prefix: len, text: `${formatAddr(a.family, net)}/${len}` },
    hostBitsSet: net !== a.addr,
  };
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
