// compile() shares the entries of interfaces with the same groups, and encodeTable stores a run
// an earlier interface has in the same direction once (format.h): the bytes must be those of
// the same table without shared objects, the copies must add no entry, and each interface must
// get the entries it would get alone.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/compile/compile.js';
import type { CompiledTable } from '../../src/compile/table.js';
import type { Interface, Policy } from '../../src/model/policy.js';
import { decodeTable } from '../../src/table/decode.js';
import { encodeTable } from '../../src/table/encode.js';
import * as F from '../../src/table/format.js';
import { arbPolicy } from '../helpers/random-policy.js';

/** The policy with a copy of every interface appended (same groups and nicType, other addresses). */
function withCopies(p: Policy): Policy {
  const copies: Interface[] = p.interfaces.map((iface, k) => ({
    ...iface,
    id: `${iface.id}-copy`,
    addresses: [{ family: 4, addr: 0xc6336400n + BigInt(k), text: `198.51.100.${k}` }],
    groupIds: [...iface.groupIds],
  }));
  return { ...p, interfaces: [...p.interfaces, ...copies] };
}

/** The same table with no entry object shared (structuredClone would keep the sharing). */
function unshared(t: CompiledTable): CompiledTable {
  const copy = (e: CompiledTable['interfaces'][number]['ingress'][number]) => ({ ...e, src: e.src && { ...e.src }, dst: e.dst && { ...e.dst } });
  return { ...t, interfaces: t.interfaces.map((i) => ({ ...i, ingress: i.ingress.map(copy), egress: i.egress.map(copy) })) };
}

describe('shared entries and runs', () => {
  it('property: encoding a table with shared entries gives the bytes of the same table unshared', () => {
    fc.assert(
      fc.property(arbPolicy(), (p0) => {
        const p = withCopies(p0);
        const t = compile(p);
        const n = p0.interfaces.length;
        // Each copy has the runs of its original, and the original's runs are what compiling it gives.
        for (let i = 0; i < n; i++) {
          expect(t.interfaces[n + i]!.ingress).toEqual(t.interfaces[i]!.ingress);
          expect(t.interfaces[n + i]!.egress).toEqual(t.interfaces[i]!.egress);
        }
        expect(t.interfaces.slice(0, n)).toEqual(compile(p0).interfaces);
        const blob = encodeTable(t);
        const plain = unshared(t);
        expect(plain.interfaces[n]?.ingress[0]).not.toBe(plain.interfaces[0]?.ingress[0]);
        expect(Buffer.from(blob).equals(Buffer.from(encodeTable(plain)))).toBe(true);
        const back = decodeTable(blob).interfaces;
        expect(back.map((i) => [i.ingress.length, i.egress.length])).toEqual(t.interfaces.map((i) => [i.ingress.length, i.egress.length]));
        for (let i = 0; i < n; i++) {
          expect(back[n + i]!.ingress).toEqual(back[i]!.ingress);
          expect(back[n + i]!.egress).toEqual(back[i]!.egress);
        }
        // The copies name their originals' runs: not one entry record more.
        const entryCount = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset).getUint32(F.HEADER.entryCount.off, true);
        expect(entryCount(blob)).toBe(entryCount(encodeTable(compile(p0))));
      }),
      { numRuns: 200 },
    );
  });

  it('interfaces with the same groups share entry objects, never arrays', () => {
    const p = withCopies({ ...fc.sample(arbPolicy(['alibaba']), { seed: 3, numRuns: 1 })[0]! });
    const t = compile(p);
    const n = p.interfaces.length / 2;
    expect(t.interfaces[n]!.ingress).not.toBe(t.interfaces[0]!.ingress);
    expect(t.interfaces[n]!.ingress.every((e, k) => e === t.interfaces[0]!.ingress[k])).toBe(true);
  });
});
