// Classic pcap writer (the libpcap file format, little-endian, version 2.4).
// Two forms: writePcap() builds a small file in memory; PcapWriter streams records to disk
// through a fixed buffer, so a 1M-packet trace never sits in memory whole. The file is written
// under a temporary name and renamed on close(), so a failed run leaves no partial trace.
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LINUX_SLL = 113;

export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
export const PCAP_FILE_HEADER_LEN = 24;
export const PCAP_RECORD_HEADER_LEN = 16;

export interface PcapRecord {
  /** Capture time in nanoseconds since the Unix epoch (a number loses precision past 2^53 ns). */
  tsNs: bigint | number;
  /** The captured bytes (truncated to snaplen when longer). */
  data: Uint8Array;
  /** Length on the wire, when the capture holds less (default: data.length). */
  origLen?: number;
}

export interface PcapWriteOptions {
  /** LINKTYPE_ETHERNET (default) or LINKTYPE_RAW, or any other link type number. */
  linkType?: number;
  /** Timestamp resolution: 'us' (classic, default) or 'ns'. */
  resolution?: 'us' | 'ns';
  /** Default 262144, as tcpdump writes. */
  snaplen?: number;
}

const NS_PER_S = 1_000_000_000n;

/** The 24-byte global header. */
export function pcapFileHeader(o: PcapWriteOptions = {}): Uint8Array {
  const b = new Uint8Array(PCAP_FILE_HEADER_LEN);
  const v = new DataView(b.buffer);
  v.setUint32(0, o.resolution === 'ns' ? PCAP_MAGIC_NS : PCAP_MAGIC_US, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setInt32(8, 0, true); // thiszone: timestamps are UTC
  v.setUint32(12, 0, true); // sigfigs
  v.setUint32(16, o.snaplen ?? 262144, true);
  v.setUint32(20, o.linkType ?? LINKTYPE_ETHERNET, true);
  return b;
}

function toNs(ts: bigint | number): bigint {
  if (typeof ts === 'bigint') return ts;
  if (!Number.isFinite(ts) || ts < 0) throw new Error(`pcap: bad timestamp ${ts}`);
  return BigInt(Math.round(ts));
}

/** Bytes one record takes in the file. */
export function pcapRecordSize(rec: PcapRecord, o: PcapWriteOptions = {}): number {
  return PCAP_RECORD_HEADER_LEN + Math.min(rec.data.length, o.snaplen ?? 262144);
}

/** Encode one record (header + data) into target at offset; returns the bytes written. */
export function encodePcapRecord(rec: PcapRecord, o: PcapWriteOptions, target: Uint8Array, offset: number): number {
  const ns = toNs(rec.tsNs);
  if (ns < 0n) throw new Error(`pcap: negative timestamp ${ns}`);
  const sec = ns / NS_PER_S;
  if (sec > 0xffffffffn) throw new Error(`pcap: timestamp ${ns} past 2106`);
  const frac = o.resolution === 'ns' ? ns % NS_PER_S : (ns % NS_PER_S) / 1000n;
  const incl = Math.min(rec.data.length, o.snaplen ?? 262144);
  const orig = Math.max(rec.origLen ?? rec.data.length, incl);
  const v = new DataView(target.buffer, target.byteOffset + offset, PCAP_RECORD_HEADER_LEN);
  v.setUint32(0, Number(sec), true);
  v.setUint32(4, Number(frac), true);
  v.setUint32(8, incl, true);
  v.setUint32(12, orig, true);
  target.set(incl === rec.data.length ? rec.data : rec.data.subarray(0, incl), offset + PCAP_RECORD_HEADER_LEN);
  return PCAP_RECORD_HEADER_LEN + incl;
}

/** A whole pcap file in memory (for small traces and tests). */
export function writePcap(records: Iterable<PcapRecord>, o: PcapWriteOptions = {}): Uint8Array {
  const list = Array.from(records);
  let size = PCAP_FILE_HEADER_LEN;
  for (const r of list) size += pcapRecordSize(r, o);
  const out = new Uint8Array(size);
  out.set(pcapFileHeader(o), 0);
  let off = PCAP_FILE_HEADER_LEN;
  for (const r of list) off += encodePcapRecord(r, o, out, off);
  return out;
}

/**
 * Streams records to a pcap file through a fixed buffer (default 4 MiB). Synchronous writes:
 * the generators are CPU-bound, and sync I/O keeps memory flat without back-pressure logic.
 */
export class PcapWriter {
  readonly path: string;
  private readonly tmp: string;
  private readonly opts: PcapWriteOptions;
  private fd: number | undefined;
  private buf: Uint8Array;
  private used = 0;
  private packetCount = 0;
  private byteCount = 0;

  constructor(path: string, o: PcapWriteOptions = {}, bufferBytes = 4 << 20) {
    this.path = path;
    this.tmp = `${path}.tmp-${process.pid}`;
    this.opts = { ...o };
    this.buf = new Uint8Array(Math.max(bufferBytes, 1 << 16));
    this.fd = openSync(this.tmp, 'w');
    this.append(pcapFileHeader(this.opts));
  }

  /** Packets written so far. */
  get packets(): number {
    return this.packetCount;
  }

  /** File size so far, in bytes. */
  get bytes(): number {
    return this.byteCount;
  }

  write(rec: PcapRecord): void {
    if (this.fd === undefined) throw new Error('PcapWriter: already closed');
    const size = pcapRecordSize(rec, this.opts);
    if (size > this.buf.length - this.used) this.flush();
    if (size > this.buf.length) this.buf = new Uint8Array(size);
    this.used += encodePcapRecord(rec, this.opts, this.buf, this.used);
    this.byteCount += size;
    this.packetCount++;
  }

  /** Flush, close and move the file into place. */
  close(): void {
    if (this.fd === undefined) return;
    this.flush();
    closeSync(this.fd);
    this.fd = undefined;
    renameSync(this.tmp, this.path);
  }

  /** Close and delete the partial file. */
  abort(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    rmSync(this.tmp, { force: true });
  }

  private append(b: Uint8Array): void {
    this.buf.set(b, this.used);
    this.used += b.length;
    this.byteCount += b.length;
  }

  private flush(): void {
    let off = 0;
    while (off < this.used) off += writeSync(this.fd!, this.buf, off, this.used - off);
    this.used = 0;
  }
}

/** Write all records to path (streaming); returns packets and bytes written. */
export function writePcapFile(
  path: string,
  records: Iterable<PcapRecord>,
  o: PcapWriteOptions = {},
): { packets: number; bytes: number } {
  const w = new PcapWriter(path, o);
  try {
    for (const r of records) w.write(r);
    w.close();
  } catch (e) {
    w.abort();
    throw e;
  }
  return { packets: w.packets, bytes: w.bytes };
}
