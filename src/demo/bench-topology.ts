// The synthetic network that the benchmark generators share (bench/gen-trace.ts writes
// packets for it, bench/gen-policy.ts writes rules for it), so the generated policy's
// interfaces are the generated trace's servers and its CIDRs overlap the trace's clients.
// Only test addresses: servers in 198.18.0.0/24 and 2001:db8::/64, clients in the rest of
// 198.18.0.0/15 and in 2001:db8:1000::/36.
import type { Rng } from '../packet/rng.js';

export interface BenchInterface {
  id: string;
  v4: string;
  v6: string;
  mac: string;
}

export const BENCH_INTERFACE_COUNT = 8;

/** Eight server ENIs, each with one IPv4 and one IPv6 address. */
export const BENCH_INTERFACES: readonly BenchInterface[] = Array.from({ length: BENCH_INTERFACE_COUNT }, (_, k) => ({
  id: `eni-bench-${k}`,
  v4: `198.18.0.${10 + k}`,
  v6: `2001:db8::${(0x10 + k).toString(16)}`,
  mac: `02:00:00:00:00:${(0x10 + k).toString(16).padStart(2, '0')}`,
}));

export const BENCH_ROUTER_MAC = '02:00:00:00:00:01';

/** Services the servers offer (inbound) with their share of inbound flows. */
export const BENCH_INBOUND_SERVICES: readonly (readonly [{ proto: 'tcp' | 'udp'; port: number }, number])[] = [
  [{ proto: 'tcp', port: 443 }, 40],
  [{ proto: 'tcp', port: 80 }, 25],
  [{ proto: 'tcp', port: 8080 }, 5],
  [{ proto: 'tcp', port: 22 }, 3],
  [{ proto: 'tcp', port: 3306 }, 3],
  [{ proto: 'tcp', port: 5432 }, 3],
  [{ proto: 'udp', port: 53 }, 12],
  [{ proto: 'udp', port: 123 }, 4],
  [{ proto: 'udp', port: 5060 }, 2],
  [{ proto: 'udp', port: 514 }, 3],
];

/** Services the servers use (outbound). */
export const BENCH_OUTBOUND_SERVICES: readonly (readonly [{ proto: 'tcp' | 'udp'; port: number }, number])[] = [
  [{ proto: 'tcp', port: 443 }, 50],
  [{ proto: 'tcp', port: 5432 }, 15],
  [{ proto: 'tcp', port: 6379 }, 10],
  [{ proto: 'udp', port: 53 }, 20],
  [{ proto: 'udp', port: 123 }, 5],
];

/** Well-known ports the policy generator draws exact-port rules from (services plus noise). */
export const BENCH_WELL_KNOWN_PORTS: readonly number[] = [
  20, 21, 22, 23, 25, 53, 67, 69, 80, 110, 123, 135, 137, 139, 143, 161, 389, 443, 445, 465, 514, 587,
  636, 993, 995, 1433, 1521, 2049, 3306, 3389, 5060, 5432, 5900, 6379, 8000, 8080, 8443, 9000, 9200, 11211, 27017,
];

/** A client IPv4 address: anywhere in 198.18.0.0/15 outside the servers' 198.18.0.0/24. */
export function benchClientV4(rng: Rng): Uint8Array {
  // Skewed towards a few "busy" /16 halves and /24s so short prefixes and hot spots both exist.
  const hi = rng.chance(0.5) ? 18 : 19;
  const third = hi === 18 ? rng.int(1, 255) : rng.chance(0.3) ? rng.int(0, 15) : rng.int(0, 255);
  return Uint8Array.of(198, hi, third, rng.int(1, 254));
}

/** A client IPv6 address in 2001:db8:1000::/36. */
export function benchClientV6(rng: Rng): Uint8Array {
  const b = rng.bytes(16);
  b[0] = 0x20; b[1] = 0x01; b[2] = 0x0d; b[3] = 0xb8;
  b[4] = 0x10 | (b[4]! & 0x0f);
  // Clients cluster in a few /48s and /64s, as real traffic does.
  b[5] = b[5]! & 0x0f;
  b[6] = 0; b[7] = b[7]! & 0x07;
  return b;
}

function bytesV4(text: string): Uint8Array {
  return Uint8Array.from(text.split('.').map(Number));
}

/** The server addresses as bytes, by interface index. */
export function benchServerBytes(k: number): { v4: Uint8Array; v6: Uint8Array } {
  const i = BENCH_INTERFACES[k];
  if (!i) throw new Error(`no bench interface ${k}`);
  const v6 = new Uint8Array(16);
  v6.set([0x20, 0x01, 0x0d, 0xb8]);
  v6[15] = 0x10 + k;
  return { v4: bytesV4(i.v4), v6 };
}
