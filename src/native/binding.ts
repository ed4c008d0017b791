// Loads the compiled addon. This is the only untyped seam between TypeScript and C++:
// everything the addon exports is described by NativeBinding and used through it.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface FieldDesc {
  off: number;
  len: number;
}

export interface NativeFormat {
  magic: number;
  versionMajor: number;
  header: Record<string, FieldDesc | number>;
  iface: Record<string, FieldDesc | number>;
  address: Record<string, FieldDesc | number>;
  entry: Record<string, FieldDesc | number>;
  rule: Record<string, FieldDesc | number>;
  conntrack: Record<string, FieldDesc | number>;
  flags: Record<string, number>;
  timeoutSlots: string[];
  reasons: string[];
  malformedSubs: string[];
  invalidSubs: string[];
}

export interface PacketCounts {
  packets: number;
  bytes: number;
}

export interface NativeFlowSummary {
  iface: number;
  family: 4 | 6;
  protocol: number;
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
  verdict: 'accept' | 'drop';
  reason: string;
  rule: string | null;
  accepted: number;
  dropped: number;
}

export interface NativeReplayOptions {
  trace: string;
  tables: { before: number; blob: Uint8Array }[];
  verdicts?: string;
  writeAccepted?: string;
  writeDropped?: string;
  flowLog?: string;
  accountId?: string;
  flowSummary?: boolean;
  progress?: boolean;
  onConntrackFull?: 'drop' | 'bypass';
  classifier?: 'auto' | 'linear' | 'tree';
}

export interface NativeReplayResult {
  packets: number;
  bytes: number;
  accepted: number;
  dropped: number;
  elapsedNs: number;
  linkTypes: string;
  reasons: Record<string, number>;
  malformed: Record<string, number>;
  invalid: Record<string, number>;
  exceptions: { conntrackBypass: number; ruleChangeCuts: number; flowsFlushed: number; tableSwaps: number };
  conntrack: { entries: number; max: number; created: number; expired: number; evicted: number; full: number; removed: number };
  fragments: { entries: number; inserted: number; expired: number; evicted: number; hits: number; misses: number };
  rules: { rule: string; packets: number; bytes: number }[];
  interfaces: { interface: string; ingress: { accepted: PacketCounts; dropped: PacketCounts }; egress: { accepted: PacketCounts; dropped: PacketCounts } }[];
  flows: NativeFlowSummary[];
}

/** A loaded table (tests, explain): the native classifier over one blob. */
export interface NativeTable {
  info(): { interfaces: number; rules: number; entries: number; classifiers: string[] };
  /** Global entry index of the first match, or -1. dir: 0 ingress, 1 egress. */
  firstMatch(iface: number, dir: 0 | 1, family: number, proto: number, src: Uint8Array, dst: Uint8Array,
    sport: number, dport: number, icmpType: number, icmpCode: number): number;
  firstMatchLinear(iface: number, dir: 0 | 1, family: number, proto: number, src: Uint8Array, dst: Uint8Array,
    sport: number, dport: number, icmpType: number, icmpCode: number): number;
  findInterface(family: number, addr: Uint8Array): number;
  /** Free the native table now rather than at garbage collection; every method then returns undefined. */
  close(): void;
}

export interface NativeLiveOptions {
  mode: 'monitor' | 'inline' | 'host';
  interface?: string;
  outside?: string;
  inside?: string;
  queue?: number;
  fanoutGroup?: number;
  vnetHdr?: boolean;
  /** inline: busy-poll the rings this long after a batch while traffic is dense; 0: never. */
  spinUs?: number;
  bpf?: string;
  workers?: number;
  audit?: boolean;
  onError?: 'open' | 'closed';
  onConntrackFull?: 'drop' | 'bypass';
  hashSeed?: number;
  /** Append finished flows to this file as AWS VPC Flow Logs v2 records. */
  flowLog?: string;
  accountId?: string;
  /** One worker only: every verdict as a JSON line (spec 6), and the dropped frames as a pcap. */
  verdicts?: string;
  writeDropped?: string;
  batch?: number;
  timeoutMs?: number;
}

export interface NativePortCounters {
  received: number;
  kernelDrops: number;
  forwarded: number;
  txErrors: number;
  dropped: number;
}

export interface NativeLiveCounters {
  generation: number;
  packets: number;
  bytes: number;
  accepted: number;
  dropped: number;
  reasons: Record<string, number>;
  malformed: Record<string, number>;
  invalid: Record<string, number>;
  exceptions: {
    conntrackBypass: number; ruleChangeCuts: number; flowsFlushed: number; tableSwaps: number;
    unjudged: number; auditWouldDrop: number;
  };
  conntrack: { entries: number; max: number; created: number; expired: number; evicted: number; full: number };
  ports: NativePortCounters[];
  /** Inline: ring polls after a batch while traffic was dense (busy polling), and those that found frames. */
  busyPolls: number;
  busyPollHits: number;
  rules: { rule: string; packets: number; bytes: number }[];
  interfaces: NativeReplayResult['interfaces'];
}

/** The live data plane: workers with their packet sources, fed tables by the controller. */
export interface NativeLive {
  /** Validate and publish a table; returns its generation. Throws ERR_TABLE_* on a bad blob. */
  loadTable(blob: Uint8Array): number;
  start(): void;
  stop(): void;
  /** Summed over workers; waits up to waitMs (default 200) for fresh counters. */
  counters(waitMs?: number): NativeLiveCounters;
  /** The first failed worker's error, or null. */
  failure(): string | null;
}

export interface NativeBinding {
  /** CRC-32 as zlib computes it (the table blob's checksum, native/core/crc32.h). */
  crc32(bytes: Uint8Array): number;
  describeFormat(): NativeFormat;
  /** Judge a trace; throws an Error with code ERR_INPUT_TRACE, ERR_TABLE_* or ERR_INTERNAL. */
  replay(opts: NativeReplayOptions): NativeReplayResult;
  Table: new (blob: Uint8Array, classifier?: 'auto' | 'linear' | 'tree') => NativeTable;
  /** Opens every worker's packet source; throws ERR_INPUT_SOURCE naming what failed. */
  Live: new (opts: NativeLiveOptions) => NativeLive;
}

let cached: NativeBinding | undefined;

/** The project root: two levels above this file, in src/ (vitest) or dist/ (built). */
function projectRoot(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..');
}

export function loadNative(): NativeBinding {
  if (cached) return cached;
  const root = projectRoot();
  const candidates = [
    join(root, 'build', 'Release', 'sgfw_native.node'),
    join(root, 'build', 'Debug', 'sgfw_native.node'),
  ];
  const path = candidates.find((p) => existsSync(p));
  if (!path) {
    throw new Error(
      `sgfw native addon not built (looked for ${candidates.join(', ')}): run "npm run build"`,
    );
  }
  const require = createRequire(import.meta.url);
  cached = require(path) as NativeBinding;
  return cached;
}
