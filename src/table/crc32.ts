// CRC-32 (IEEE 802.3, as zlib): the checksum of the table blob (native/table/format.h).
import { createRequire } from 'node:module';
import { loadNative, type NativeBinding } from '../native/binding.js';

let TABLE: Uint32Array | undefined;

function table(): Uint32Array {
  if (TABLE) return TABLE;
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  TABLE = t;
  return t;
}

/** Portable CRC-32 over bytes (the last resort below; also the tests' reference). */
export function crc32Portable(data: Uint8Array): number {
  const t = table();
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

type Crc = (d: Uint8Array) => number;
let fast: Crc | null | undefined;

// The addon's (the loader's own code), else zlib's (Node 20.15+), loaded on first use: importing
// node:zlib loads node's stream modules too, about 5 ms of a fresh process here, which the
// addon spares the control path (the JS loop takes ~7 ms cold over a 600 KB blob). An addon
// that is not built, or does not load (built for another node), leaves the checksum to zlib:
// the command that needs the addon reports that itself.
function fastCrc(): Crc | null {
  if (fast !== undefined) return fast;
  let native: NativeBinding | undefined;
  try {
    native = loadNative();
  } catch {
    native = undefined;
  }
  if (typeof native?.crc32 === 'function') return (fast = native.crc32); // not in an addon built before it
  const zlib = createRequire(import.meta.url)('node:zlib') as { crc32?: Crc };
  return (fast = zlib.crc32 ?? null);
}

/** CRC-32 of data as an unsigned 32-bit number. */
export function crc32(data: Uint8Array): number {
  const f = fastCrc();
  return f ? f(data) >>> 0 : crc32Portable(data);
}
