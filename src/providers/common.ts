// Small reads shared by the providers: CIDRs with the host-bits warning, "a/b" port ranges.
import { type Address, type Cidr, type Family, parseAddress, parseCidr, type ParsedCidr } from '../model/cidr.js';
import type { PortRange } from '../model/policy.js';
import { atKey } from '../policy/json-path.js';
import { CODES } from '../validate/codes.js';
import { show } from '../validate/collector.js';
import type { Reader } from '../validate/reader.js';

function v4Text(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

const NOT_V4 = -1; // not a dotted quad with an optional "/prefix"
const V4_RANGE = -2; // of that form, but an octet above 255

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * Reads what /^(0|[1-9][0-9]{0,2})(\.(0|[1-9][0-9]{0,2})){3}(\/[0-9]{1,3})?$/ matches, in one pass
 * over the character codes (a regex match and its capture strings cost more than the rest
 * of a rule's CIDR): address * 1024 + prefix + 1 (prefix -1 when absent), NOT_V4 or V4_RANGE.
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

/**
 * parseCidr of src/model/cidr.ts with a fast path for dotted-quad IPv4 (the bulk of real
 * policies): huge inputs must be checked in well under a second. Same results (tested).
 */
export function parseCidrFast(text: string, allowBare = false): ParsedCidr | undefined {
  const r = scanV4(text);
  if (r === NOT_V4) return parseCidr(text, allowBare);
  if (r === V4_RANGE) return undefined;
  const num = Math.floor(r / 1024);
  const given = (r % 1024) - 1;
  if (given < 0 && !allowBare) return undefined;
  const prefix = given < 0 ? 32 : given;
  if (prefix > 32) return undefined;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const net = (num & mask) >>> 0;
  return {
    cidr: { family: 4, addr: BigInt(net), prefix, text: `${v4Text(net)}/${prefix}` },
    hostBitsSet: net !== num,
  };
}

/** parseAddress with the same IPv4 fast path. */
export function parseAddressFast(text: string): Address | undefined {
  const r = scanV4(text);
  if (r === V4_RANGE) return undefined;
  if (r === NOT_V4 || r % 1024 !== 0) return parseAddress(text); // not a quad, or with a prefix
  const num = Math.floor(r / 1024);
  return { family: 4, addr: BigInt(num), text: v4Text(num) };
}

/**
 * A CIDR (or, with allowBare, a plain address as /32 or /128). Host bits are cleared with a
 * WARN_HOST_BITS warning, as AWS does. `family` makes the other family an error. Messages
 * name `path`, extended by `key` when given (atKey).
 */
export function readCidr(
  r: Reader,
  v: unknown,
  path: string,
  opts: { allowBare?: boolean; family?: Family } = {},
  key?: string | number,
): Cidr | undefined {
  // r.string only for what it reports (a non-string, an empty string): it takes the field's path.
  const text = typeof v === 'string' && v !== '' ? v : r.string(v, atKey(path, key));
  if (text === undefined) return undefined;
  const parsed = parseCidrFast(text.trim(), opts.allowBare ?? false);
  if (!parsed) {
    const what = opts.allowBare ? 'address or CIDR' : 'CIDR (address/prefix)';
    const article = opts.family ? `an IPv${opts.family}` : opts.allowBare ? 'an' : 'a';
    r.error(CODES.cidr, atKey(path, key), `${show(v)} is not ${article} ${what}`);
    return undefined;
  }
  if (opts.family && parsed.cidr.family !== opts.family) {
    r.error(CODES.family, atKey(path, key), `${show(v)} is IPv${parsed.cidr.family}, expected an IPv${opts.family} CIDR`);
    return undefined;
  }
  if (parsed.hostBitsSet) {
    r.warn(CODES.hostBits, atKey(path, key), `${show(v)} has host bits set; it means ${parsed.cidr.text}`);
  }
  return parsed.cidr;
}

const RANGE = /^\s*(-?\d{1,6})\s*\/\s*(-?\d{1,6})\s*$/;

/** The value of text[from, to) when it is 1..6 ASCII digits, else -1. */
function digits6(text: string, from: number, to: number): number {
  if (to <= from || to - from > 6) return -1;
  let v = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    v = v * 10 + c - 48;
  }
  return v;
}

/** Parse "a/b" into two integers (no range check); undefined when malformed. */
export function splitPortRange(text: string): [number, number] | undefined {
  // Plain digits on both sides (nearly every rule): read here; signs and spaces go to RANGE.
  const slash = text.indexOf('/');
  if (slash > 0) {
    const a = digits6(text, 0, slash);
    const b = a < 0 ? -1 : digits6(text, slash + 1, text.length);
    if (b >= 0) return [a, b];
  }
  const m = RANGE.exec(text);
  if (!m) return undefined;
  return [Number(m[1]), Number(m[2])];
}

/** "a/b" with 1 <= a <= b <= 65535 (Alibaba TCP/UDP and port-list entries); messages name atKey(path, key). */
export function readPortRange(r: Reader, v: unknown, path: string, key?: string): PortRange | undefined {
  const text = typeof v === 'string' && v !== '' ? v : r.string(v, atKey(path, key));
  if (text === undefined) return undefined;
  const ab = splitPortRange(text);
  if (!ab) {
    r.error(CODES.ports, atKey(path, key), `${show(v)} is not a port range "from/to"`);
    return undefined;
  }
  const [a, b] = ab;
  if (a === -1 && b === -1) {
    r.error(CODES.ports, atKey(path, key), `${show(v)} means all ports, which TCP and UDP rules must write as "1/65535"`);
    return undefined;
  }
  if (a < 1 || a > 65535 || b < 1 || b > 65535) {
    r.error(CODES.ports, atKey(path, key), `${show(v)} is not in 1..65535`);
    return undefined;
  }
  if (a > b) {
    r.error(CODES.ports, atKey(path, key), `${show(v)} starts after it ends`);
    return undefined;
  }
  return { from: a, to: b };
}
