// Small reads shared by the providers: CIDRs with the host-bits warning, "a/b" port ranges.
import { type Cidr, type Family, parseCidr } from '../model/cidr.js';
import type { PortRange } from '../model/policy.js';
import { atKey } from '../policy/json-path.js';
import { CODES } from '../validate/codes.js';
import { show } from '../validate/collector.js';
import type { Reader } from '../validate/reader.js';

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
  const parsed = parseCidr(text.trim(), opts.allowBare ?? false);
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
