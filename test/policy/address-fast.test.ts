// src/model/cidr.ts reads dotted quads and plain hex IPv6 itself and writes RFC 5952 text
// itself; ipaddr.js (parseAddressIpaddr) is the reference it must agree with on every input.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addrToBytes16, formatAddr, type ParsedCidr, parseAddress, parseAddressIpaddr, parseCidr } from '../../src/model/cidr.js';

const hexDigit = fc.constantFrom(...'0123456789abcdefABCDEF'.split(''));
// Groups biased to zero (runs to compress), sometimes with leading zeros, 5 digits or empty.
const group = fc.oneof(
  { weight: 4, arbitrary: fc.constant('0') },
  { weight: 1, arbitrary: fc.constant('0000') },
  { weight: 4, arbitrary: fc.array(hexDigit, { minLength: 1, maxLength: 4 }).map((a) => a.join('')) },
  { weight: 1, arbitrary: fc.constantFrom('', '00000', '12345', 'g', ' 1', '1.2.3.4', '%eth0') },
);
// Colon-separated text: 1..9 groups, some separators doubled (zero, one or several "::").
const v6ish = fc
  .tuple(fc.array(group, { minLength: 1, maxLength: 9 }), fc.array(fc.constantFrom(':', ':', ':', ':', '::', ':::'), { minLength: 9, maxLength: 9 }))
  .map(([gs, seps]) => gs.map((g, i) => (i === 0 ? g : `${seps[i]}${g}`)).join(''));
const edge = fc.constantFrom(
  '::', '::1', '1::', '::0', '0::0', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7::', '::2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8::',
  '::1:2:3:4:5:6:7:8', '1::2::3', ':1:2:3:4:5:6:7', '1:2:3:4:5:6:7:', '::ffff:1.2.3.4', '::1.2.3.4', '1::%eth0',
  'fe80::1%eth0', '2001:DB8::1', '2001:0db8:0000:0000:0000:0000:0000:0001', '0:0:1:0:0:0:1:0', '1:0:0:1:0:0:0:1',
  '0:0:0:0:0:0:0:0', '1:0:0:0:0:0:0:0', '0:0:0:0:0:0:0:1', '1.2.3.4', '01.2.3.4', '256.1.1.1', '1.2.3', '', ' ',
  '10.0.0.1/8', '::/0',
);
const word = fc.integer({ min: 0, max: 0xffffffff }).map(BigInt);
const zeroy = fc.oneof(word, fc.constant(0n), fc.constant(0n), fc.integer({ min: 0, max: 0xffff }).map(BigInt));
const addr6 = fc.tuple(zeroy, zeroy, zeroy, zeroy).map(([a, b, c, d]) => (a << 96n) | (b << 64n) | (c << 32n) | d);

// parseCidr as plain bigint arithmetic over the ipaddr.js reader: the reference for its
// group-by-group IPv6 path.
function referenceCidr(text: string, allowBare: boolean): ParsedCidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0 && !allowBare) return undefined;
  const p = slash < 0 ? undefined : text.slice(slash + 1);
  if (p !== undefined && !/^\d{1,3}$/.test(p)) return undefined;
  const a = parseAddressIpaddr(slash < 0 ? text : text.slice(0, slash));
  if (!a) return undefined;
  const bits = a.family === 4 ? 32 : 128;
  const len = p === undefined ? bits : Number(p);
  if (len > bits) return undefined;
  const mask = len === 0 ? 0n : ((1n << BigInt(len)) - 1n) << BigInt(bits - len);
  const net = a.addr & mask;
  return { cidr: { family: a.family, addr: net, prefix: len, text: `${formatAddr(a.family, net)}/${len}` }, hostBitsSet: net !== a.addr };
}

describe('address fast paths agree with ipaddr.js', () => {
  it('property: parseCidr equals bigint masking over the ipaddr.js reader, IPv4-like text, bare or not', () => {
    const octet = fc.oneof(fc.integer({ min: 0, max: 300 }).map(String), fc.constantFrom('00', '01', '010', '', 'x', '256'));
    const prefix = fc.oneof(fc.integer({ min: 0, max: 40 }).map(String), fc.constantFrom('08', '', '1000', 'a'));
    const v4ish = fc.tuple(octet, octet, octet, octet, fc.option(prefix, { nil: undefined }))
      .map(([a, b, c, d, p]) => `${a}.${b}.${c}.${d}${p === undefined ? '' : `/${p}`}`);
    fc.assert(fc.property(v4ish, fc.boolean(), (t, bare) => {
      expect(parseCidr(t, bare)).toEqual(referenceCidr(t, bare));
      expect(parseAddress(t)).toEqual(parseAddressIpaddr(t));
    }), { numRuns: 3000 });
    expect(parseCidr('100.68.0.18/18')).toEqual({ cidr: { family: 4, addr: 0x64440000n, prefix: 18, text: '100.68.0.0/18' }, hostBitsSet: true });
    expect(parseCidr('255.255.255.255/0')!.cidr.text).toBe('0.0.0.0/0');
    expect(parseCidr('10.0.0.1')).toBeUndefined();
    expect(parseCidr('10.0.0.1', true)!.cidr.text).toBe('10.0.0.1/32');
  });

  it('property: a canonical IPv4 CIDR keeps its own text (cidr4 reuses it), equal to the reference; other spellings do not', () => {
    // Networks with the host bits clear, as policies write them: the path that returns the
    // input as the text. Leading zeros in the prefix and host bits take the path that builds it.
    const net = fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }))
      .map(([a, p]) => [p === 0 ? 0 : (a & (0xffffffff << (32 - p))) >>> 0, p] as const);
    fc.assert(fc.property(net, fc.constantFrom('', '0', '00'), fc.boolean(), ([a, p], zeros, bare) => {
      const canonical = `${formatAddr(4, BigInt(a))}/${p}`;
      const t = `${formatAddr(4, BigInt(a))}/${`${zeros}${p}`.slice(-3)}`; // a prefix has at most 3 digits
      expect(parseCidr(t, bare)).toEqual(referenceCidr(t, bare));
      expect(parseCidr(t, bare)!.cidr.text).toBe(canonical);
      const host = `${formatAddr(4, BigInt((a | 1) >>> 0))}/${p}`;
      expect(parseCidr(host, bare)).toEqual(referenceCidr(host, bare));
    }), { numRuns: 3000 });
    expect(parseCidr('10.0.0.0/08')!.cidr.text).toBe('10.0.0.0/8');
    expect(parseCidr('0.0.0.0/00')!.cidr.text).toBe('0.0.0.0/0');
    expect(parseCidr('10.0.0.1/032')!.cidr.text).toBe('10.0.0.1/32');
  });

  it('property: parseCidr equals bigint masking over the ipaddr.js reader, IPv6-like text', () => {
    const prefix = fc.oneof(fc.integer({ min: 0, max: 130 }).map(String), fc.constantFrom('', '064', '1000', 'x', ' 1'));
    fc.assert(
      fc.property(fc.oneof(v6ish, edge), fc.option(prefix, { nil: undefined }), fc.boolean(), (t, p, bare) => {
        const text = p === undefined ? t : `${t}/${p}`;
        expect(parseCidr(text, bare)).toEqual(referenceCidr(text, bare));
      }),
      { numRuns: 6000 },
    );
    expect(parseCidr('2001:db8:1e09:6:b5ae:3e75:83a3:715c/60')).toEqual({
      cidr: { family: 6, addr: 0x20010db81e0900000000000000000000n, prefix: 60, text: '2001:db8:1e09::/60' },
      hostBitsSet: true,
    });
  });

  it('property: parseAddress equals the ipaddr.js reader on IPv6-like and edge text', () => {
    fc.assert(
      fc.property(fc.oneof(v6ish, edge), (t) => {
        expect(parseAddress(t)).toEqual(parseAddressIpaddr(t));
      }),
      { numRuns: 6000 },
    );
  });

  it('property: parseAddress equals the ipaddr.js reader on IPv4-like text', () => {
    const octet = fc.oneof(fc.integer({ min: 0, max: 300 }).map(String), fc.constantFrom('00', '01', '010', '', 'x', '0x1', '1e1'));
    fc.assert(
      fc.property(fc.array(octet, { minLength: 1, maxLength: 5 }), (os) => {
        const t = os.join('.');
        expect(parseAddress(t)).toEqual(parseAddressIpaddr(t));
      }),
      { numRuns: 3000 },
    );
  });

  it('property: formatAddr writes what ipaddr.js writes, and parses back', () => {
    fc.assert(
      fc.property(addr6, (a) => {
        const text = formatAddr(6, a);
        expect(parseAddressIpaddr(text)).toEqual({ family: 6, addr: a, text });
        expect(parseAddress(text)).toEqual({ family: 6, addr: a, text });
      }),
      { numRuns: 3000 },
    );
  });

  it('canonical texts and bytes', () => {
    expect(parseAddress('2001:DB8:0:0:1:0:0:1')!.text).toBe('2001:db8::1:0:0:1');
    expect(parseAddress('0:0:1:0:0:0:1:0')!.text).toBe('0:0:1::1:0');
    expect(parseAddress('1:0:2:3:4:5:6:7')!.text).toBe('1:0:2:3:4:5:6:7');
    expect(parseAddress('::ffff:1.2.3.4')).toEqual({ family: 6, addr: 0xffff01020304n, text: '::ffff:102:304' });
    expect(parseAddress('fe80::1%eth0')).toBeUndefined();
    expect(parseCidr('2001:db8::1/64')!.cidr.text).toBe('2001:db8::/64');
    expect(formatAddr(4, 0x0a000001n)).toBe('10.0.0.1');
    expect(Array.from(addrToBytes16(4, 0xc0a80102n))).toEqual([192, 168, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(addrToBytes16(6, 0x20010db8000000000000000000000001n))).toEqual(
      [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    );
  });
});
