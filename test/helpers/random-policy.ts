// Random policies (both clouds, IPv4 + IPv6, groups, group refs, 5-tuple rules, ICMP) and
// random packet tuples biased towards the boundaries of the policy's rules, for property
// tests: compiled table == reference evaluator.
import fc from 'fast-check';
import { familyBits, formatAddr, type Cidr, type Family } from '../../src/model/cidr.js';
import type { Cloud, PacketTuple, Policy, Rule } from '../../src/model/policy.js';
import type { Direction } from '../../src/model/reason.js';
import { ingress, egress, policy, type RuleDraft, type RuleOpts, type PeerSpec } from './policy-builder.js';

const V4_BASE = 0x0a000000n; // 10.0.0.0
const V6_BASE = 0x20010db8n << 96n; // 2001:db8::

/** Small address pools so that rules, members and packets collide often. */
const v4Addr = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 15 }).map((k) => formatAddr(4, V4_BASE + BigInt(k))) },
  { weight: 1, arbitrary: fc.constantFrom('100.64.0.1', '100.100.100.200', '192.0.2.1') },
);
const v6Addr = fc.integer({ min: 0, max: 15 }).map((k) => formatAddr(6, V6_BASE + BigInt(k)));

const v4Cidr = fc.oneof(
  { weight: 5, arbitrary: fc.tuple(v4Addr, fc.constantFrom(28, 29, 30, 31, 32, 32)).map(([a, p]) => `${a}/${p}`) },
  { weight: 2, arbitrary: fc.constant('0.0.0.0/0') },
  { weight: 1, arbitrary: fc.constantFrom('10.0.0.0/8', '100.64.0.0/10') },
);
const v6Cidr = fc.oneof(
  { weight: 5, arbitrary: fc.tuple(v6Addr, fc.constantFrom(124, 126, 127, 128)).map(([a, p]) => `${a}/${p}`) },
  { weight: 2, arbitrary: fc.constant('::/0') },
  { weight: 1, arbitrary: fc.constant('2001:db8::/32') },
);
const anyCidr = fc.oneof({ weight: 2, arbitrary: v4Cidr }, { weight: 1, arbitrary: v6Cidr });

export const BOUNDARY_PORTS = [0, 1, 21, 22, 23, 25, 79, 80, 81, 443, 1023, 1024, 65534, 65535];
const port = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...BOUNDARY_PORTS) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 65535 }) });
const portRange = fc.tuple(port, port).map(([a, b]) => (a <= b ? `${a}-${b}` : `${b}-${a}`));
const icmpField = (vals: number[]) => fc.oneof(fc.constant('any' as const), fc.constantFrom(...vals));

const protocol = fc.constantFrom<string | number>('tcp', 'tcp', 'udp', 'udp', 'icmp', 'icmpv6', 'any', 'any', 47);

interface GroupShape {
  id: string;
  type: 'normal' | 'enterprise';
  inner: 'accept' | 'drop';
  rules: RuleDraft[];
}

function ruleDraft(cloud: Cloud, groupIds: string[]): fc.Arbitrary<RuleDraft> {
  const alibaba = cloud === 'alibaba';
  const peer: fc.Arbitrary<PeerSpec> = fc.oneof(
    { weight: 5, arbitrary: fc.array(anyCidr, { minLength: 1, maxLength: 3 }) },
    { weight: 2, arbitrary: fc.constantFrom(...groupIds, 'sg-nobody').map((g) => ({ group: g })) },
  );
  return fc
    .record({
      dir: fc.constantFrom<Direction>('ingress', 'egress'),
      action: alibaba ? fc.constantFrom<'accept' | 'drop'>('accept', 'accept', 'drop') : fc.constant<'accept'>('accept'),
      proto: protocol,
      peer,
      ports: fc.option(fc.array(portRange, { minLength: 1, maxLength: 2 }), { nil: undefined }),
      allPorts: fc.boolean(),
      srcPorts: alibaba ? fc.option(portRange, { nil: undefined, freq: 3 }) : fc.constant(undefined),
      locals: alibaba ? fc.option(fc.array(anyCidr, { minLength: 1, maxLength: 2 }), { nil: undefined, freq: 3 }) : fc.constant(undefined),
      icmp: fc.option(fc.tuple(icmpField([0, 2, 3, 8, 11, 128]), icmpField([0, 1, 4])), { nil: undefined }),
      priority: fc.integer({ min: 1, max: 4 }),
      nicType: alibaba ? fc.option(fc.constantFrom<'internet' | 'intranet'>('internet', 'intranet'), { nil: undefined, freq: 4 }) : fc.constant(undefined),
    })
    .map((r) => {
      const opts: RuleOpts = { priority: r.priority };
      if (r.proto === 'tcp' || r.proto === 'udp') opts.ports = r.allPorts ? '0-65535' : r.ports;
      if (r.proto === 'tcp' || r.proto === 'udp') if (opts.ports === undefined) delete opts.ports;
      if (r.srcPorts !== undefined) opts.srcPorts = r.srcPorts;
      if (r.locals !== undefined) opts.locals = r.locals;
      if ((r.proto === 'icmp' || r.proto === 'icmpv6') && r.icmp) opts.icmp = r.icmp;
      if (r.nicType !== undefined) opts.nicType = r.nicType;
      return (r.dir === 'ingress' ? ingress : egress)(r.action, r.proto, r.peer, opts);
    });
}

/** Random policies of every cloud. */
export function arbPolicy(clouds: Cloud[] = ['aws', 'aws-classic', 'alibaba']): fc.Arbitrary<Policy> {
  return fc.constantFrom(...clouds).chain((cloud) => {
    const groupIds = ['sg-0', 'sg-1', 'sg-2', 'sg-3'];
    const group = (id: string): fc.Arbitrary<GroupShape> =>
      fc.record({
        id: fc.constant(id),
        type: cloud === 'alibaba' ? fc.constantFrom<'normal' | 'enterprise'>('normal', 'normal', 'enterprise') : fc.constant<'normal'>('normal'),
        inner: fc.constantFrom<'accept' | 'drop'>('accept', 'drop'),
        rules: fc.array(ruleDraft(cloud, groupIds), { maxLength: 7 }),
      });
    const iface = fc.record({
      v4: fc.array(v4Addr, { minLength: 1, maxLength: 2 }),
      v6: fc.array(v6Addr, { maxLength: 1 }),
      groups: fc.shuffledSubarray(groupIds, { minLength: 1, maxLength: 3 }),
      nicType: cloud === 'alibaba' ? fc.option(fc.constantFrom<'internet' | 'intranet'>('internet', 'intranet'), { nil: undefined }) : fc.constant(undefined),
    });
    return fc
      .record({
        groups: fc.tuple(...groupIds.map(group)),
        ifaces: fc.array(iface, { minLength: 1, maxLength: 3 }),
        members: fc.array(fc.tuple(fc.constantFrom(...groupIds), fc.array(anyCidr, { maxLength: 2 })), { maxLength: 3 }),
        restrictTcp25: fc.boolean(),
        probes: fc.array(anyCidr, { maxLength: 2 }),
      })
      .map((s) => {
        const b = policy(cloud).platform({ restrictTcp25: s.restrictTcp25, probeSources: s.probes });
        for (const g of s.groups) b.group(g.id, g.rules, { type: g.type, inner: g.inner });
        // An address belongs to one interface (the loader and the native table reject
        // duplicates): later interfaces lose addresses already taken, and are left out
        // when none remain.
        const taken = new Set<string>();
        let k = 0;
        for (const i of s.ifaces) {
          const own = [...new Set([...i.v4, ...i.v6])].filter((a) => !taken.has(a));
          if (own.length === 0) continue;
          own.forEach((a) => taken.add(a));
          b.iface(`eni-${k++}`, own, i.groups, i.nicType);
        }
        for (const [g, cs] of s.members) b.members(g, cs);
        return b.build();
      });
  });
}

// ---- tuples ----------------------------------------------------------------------------

/** mulberry32: a tiny seeded PRNG so one fast-check integer drives many tuples. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(rnd: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)]!;
}

/** An address in or just outside the CIDR: first, last, one before, one after, or inside. */
function nearCidr(rnd: () => number, c: Cidr): bigint {
  const bits = familyBits(c.family);
  const size = 1n << BigInt(bits - c.prefix);
  const max = (1n << BigInt(bits)) - 1n;
  const first = c.addr;
  const last = c.addr + size - 1n;
  const choice = pick(rnd, ['first', 'last', 'before', 'after', 'mid', 'first', 'last']);
  let v = choice === 'first' ? first : choice === 'last' ? last : choice === 'before' ? first - 1n : choice === 'after' ? last + 1n : first + size / 2n;
  if (c.prefix === 0) v = c.family === 4 ? V4_BASE + BigInt(Math.floor(rnd() * 16)) : V6_BASE + BigInt(Math.floor(rnd() * 16));
  if (v < 0n) v = 0n;
  if (v > max) v = max;
  return v;
}

function poolAddr(rnd: () => number, f: Family): bigint {
  const k = BigInt(Math.floor(rnd() * 16));
  if (f === 6) return V6_BASE + k;
  const r = rnd();
  if (r < 0.08) return 0x64400001n; // 100.64.0.1: load balancer
  if (r < 0.14) return 0x646464c8n; // 100.100.100.200: metadata
  return V4_BASE + k;
}

function allRules(p: Policy): Rule[] {
  const out: Rule[] = [];
  for (const i of p.interfaces) for (const g of i.groupIds) out.push(...(p.groups.get(g)?.rules ?? []));
  return out;
}

export interface Probe {
  ifaceIndex: number;
  ifaceId: string;
  dir: Direction;
  tuple: PacketTuple;
}

/** n random probes for the policy, most of them aimed at the edges of one of its rules. */
export function randomProbes(p: Policy, seed: number, n: number): Probe[] {
  const rnd = prng(seed);
  const rules = allRules(p);
  const out: Probe[] = [];
  for (let k = 0; k < n; k++) {
    const ifaceIndex = Math.floor(rnd() * p.interfaces.length);
    const iface = p.interfaces[ifaceIndex]!;
    const aimed = rules.length > 0 && rnd() < 0.8 ? pick(rnd, rules) : undefined;
    const dir: Direction = aimed && rnd() < 0.85 ? aimed.direction : pick(rnd, ['ingress', 'egress'] as const);
    const peerCidr = aimed && aimed.peers.length > 0 ? pick(rnd, aimed.peers) : undefined;
    const family: Family = peerCidr ? peerCidr.family : rnd() < 0.7 ? 4 : 6;
    const peer = peerCidr && rnd() < 0.9 ? nearCidr(rnd, peerCidr) : poolAddr(rnd, family);
    let local: bigint;
    const locals = aimed && aimed.locals !== 'any' ? aimed.locals.filter((c) => c.family === family) : [];
    const own = iface.addresses.filter((a) => a.family === family);
    if (locals.length > 0 && rnd() < 0.7) local = nearCidr(rnd, pick(rnd, locals));
    else if (own.length > 0 && rnd() < 0.8) local = pick(rnd, own).addr;
    else local = poolAddr(rnd, family);
    let proto: number;
    if (aimed && aimed.protocol !== 'any' && rnd() < 0.85) proto = aimed.protocol;
    else proto = pick(rnd, [6, 17, 6, 17, family === 4 ? 1 : 58, 47, family === 4 ? 58 : 1]);
    const t: PacketTuple = {
      family,
      protocol: proto,
      src: dir === 'ingress' ? peer : local,
      dst: dir === 'ingress' ? local : peer,
    };
    if (proto === 6 || proto === 17) {
      const edges = (r: { from: number; to: number }) => [r.from - 1, r.from, r.to, r.to + 1].filter((x) => x >= 0 && x <= 65535);
      const dRanges = aimed && aimed.dstPorts !== 'any' ? aimed.dstPorts : [];
      const dCands = dRanges.flatMap(edges);
      t.dstPort = dCands.length > 0 && rnd() < 0.85 ? pick(rnd, dCands) : pick(rnd, BOUNDARY_PORTS);
      const sCands = aimed && aimed.srcPorts !== 'any' ? edges(aimed.srcPorts) : [];
      t.srcPort = sCands.length > 0 && rnd() < 0.85 ? pick(rnd, sCands) : pick(rnd, [40000, 1024, 0, 65535, 22]);
    } else if (proto === 1 || proto === 58) {
      const ic = aimed && aimed.icmp !== 'any' ? aimed.icmp : undefined;
      const types = family === 4 ? [0, 3, 8, 11] : [1, 2, 128, 129];
      t.icmpType = ic && ic.type !== 'any' && rnd() < 0.7 ? ic.type + pick(rnd, [0, 0, 0, 1]) : pick(rnd, types);
      t.icmpCode = ic && ic.code !== 'any' && rnd() < 0.7 ? ic.code + pick(rnd, [0, 0, 0, 1]) : pick(rnd, [0, 1, 4]);
    }
    out.push({ ifaceIndex, ifaceId: iface.id, dir, tuple: t });
  }
  return out;
}
