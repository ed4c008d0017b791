// Benchmark policy generator: N rules (default 1000), ClassBench-style, in the clouds' own JSON
// shapes (spec section 1), for the 8 server ENIs of src/demo/bench-topology.ts.
//
//   npx vite-node bench/gen-policy.ts -- --cloud alibaba --rules 1000 --out bench/policy-1k.json --seed 1
//
// Rules mix prefix lengths (host routes, /24s, /16s, a few /0), exact ports, ranges and any
// port, several protocols, and (Alibaba) priorities with Accept and Drop. Peers are drawn from
// the benchmark trace's client space, so the trace's packets meet rules at every depth of the
// table rather than falling through to the default.
//
// Quotas (spec sections 2 and 3) are respected, so `sgfw check` accepts the output:
// - alibaba: every interface joins all groups; at most 10 groups and 1000 rules per interface,
//   so --rules is at most 1000. No prefix or port lists (they would count at MaxEntries).
// - aws: 60 rules per group per direction per family; the rules are spread over G groups with
//   G <= 16 ("quotas": {"groupsPerInterface": 16} when G > 5) and, counted conservatively,
//   (rules in the largest group, all directions and families) x G <= 1000. That caps AWS at
//   1000 rules; one CIDR per permission, so permissions and rules are the same count.
//   Use alibaba for the large-table benchmarks: its first-match order is also the harder case.
import { writeFileSync, renameSync } from 'node:fs';
import { ipText } from '../src/packet/build.js';
import { Rng } from '../src/packet/rng.js';
import { BENCH_INTERFACES, BENCH_WELL_KNOWN_PORTS, benchClientV4, benchClientV6 } from '../src/demo/bench-topology.js';
import { intArg, invokedAsScript, parseArgs } from '../src/demo/bench-cli.js';

export type BenchCloud = 'aws' | 'alibaba';

export interface PolicyOptions {
  cloud: BenchCloud;
  rules: number;
  seed: number;
}

export const ALIBABA_MAX_GROUPS = 10;
export const ALIBABA_MAX_RULES = 1000;
export const AWS_RULES_PER_GROUP_BUCKET = 60;
export const AWS_MAX_GROUPS = 16;
export const AWS_DEFAULT_GROUPS = 5;
export const AWS_RULES_TIMES_GROUPS = 1000;

type Dir = 'ingress' | 'egress';
type Fam = 4 | 6;

/** A neutral generated rule, rendered per cloud. */
interface GenRule {
  dir: Dir;
  fam: Fam;
  /** 'tcp' | 'udp' | 'icmp' (icmpv6 for v6) | 'all' | a protocol number. */
  proto: 'tcp' | 'udp' | 'icmp' | 'all' | number;
  /** TCP/UDP destination ports. */
  ports?: [number, number];
  /** ICMP type/code (-1 = any). */
  icmp?: [number, number];
  peer: string;
  accept: boolean;
  priority: number;
  /** Alibaba 5-tuple extras. */
  srcPorts?: [number, number];
  local?: string;
}


function maskBytes(b: Uint8Array, len: number): Uint8Array {
  const out = b.slice();
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, len - 8 * i));
    out[i] = out[i]! & ((0xff00 >> keep) & 0xff);
  }
  return out;
}

/** A peer CIDR, ClassBench-like prefix-length mix, inside the trace's client space. */
function peerCidr(rng: Rng, fam: Fam): string {
  if (fam === 4) {
    const len = rng.weighted([[0, 2], [8, 2], [15, 4], [16, 8], [rng.int(17, 23), 22], [24, 25], [rng.int(25, 31), 12], [32, 25]] as const);
    return `${ipText(maskBytes(benchClientV4(rng), len))}/${len}`;
  }
  const len = rng.weighted([[0, 2], [32, 3], [36, 5], [rng.int(37, 47), 10], [48, 15], [rng.int(49, 63), 15], [64, 25], [rng.int(65, 127), 5], [128, 20]] as const);
  return `${ipText(maskBytes(benchClientV6(rng), len))}/${len}`;
}

function portRange(rng: Rng): [number, number] {
  const kind = rng.weighted([['exact', 50], ['range', 25], ['any', 25]] as const);
  if (kind === 'exact') {
    const p = rng.chance(0.8) ? rng.pick(BENCH_WELL_KNOWN_PORTS) : rng.int(1, 65535);
    return [p, p];
  }
  if (kind === 'any') return [1, 65535];
  const shape = rng.weighted([['ephemeral', 30], ['block', 40], ['random', 30]] as const);
  if (shape === 'ephemeral') return [rng.pick([1024, 32768, 49152]), 65535];
  if (shape === 'block') {
    const base = rng.pick([1000, 3000, 5000, 6000, 8000, 9000, 10000, 20000, 30000]);
    return [base, base + rng.pick([9, 99, 999])];
  }
  const a = rng.int(1, 65535);
  const b = rng.int(1, 65535);
  return a <= b ? [a, b] : [b, a];
}

function genRule(rng: Rng, cloud: BenchCloud): GenRule {
  const dir: Dir = rng.chance(0.7) ? 'ingress' : 'egress';
  const fam: Fam = rng.chance(0.8) ? 4 : 6;
  const proto = rng.weighted<GenRule['proto']>([['tcp', 55], ['udp', 25], ['icmp', 8], ['all', 5], [47, 3], [50, 2], [132, 2]]);
  const r: GenRule = {
    dir, fam, proto,
    peer: peerCidr(rng, fam),
    accept: cloud === 'aws' || rng.chance(0.8),
    priority: cloud === 'aws' ? 0 : rng.weighted([[1, 20], [rng.int(2, 99), 70], [100, 10]] as const),
  };
  if (proto === 'tcp' || proto === 'udp') {
    r.ports = portRange(rng);
    if (cloud === 'alibaba' && rng.chance(0.03)) r.srcPorts = rng.chance(0.5) ? [1024, 65535] : [r.ports[0], r.ports[0]];
  } else if (proto === 'icmp' && cloud === 'aws') {
    r.icmp = rng.weighted([[[-1, -1], 50], [[fam === 4 ? 8 : 128, -1], 30], [[fam === 4 ? 3 : 1, -1], 10], [[fam === 4 ? 3 : 2, fam === 4 ? 4 : 0], 10]] as const).slice() as [number, number];
  }
  if (cloud === 'alibaba' && rng.chance(0.03)) {
    const i = rng.pick(BENCH_INTERFACES);
    r.local = fam === 4 ? `${i.v4}/32` : `${i.v6}/128`;
  }
  return r;
}

// --- Alibaba ----------------------------------------------------------------------------------

function alibabaPermission(r: GenRule, id: string): Record<string, string> {
  const p: Record<string, string> = {
    SecurityGroupRuleId: id,
    Direction: r.dir,
    Policy: r.accept ? 'Accept' : 'Drop',
    Priority: String(r.priority),
  };
  if (r.proto === 'tcp' || r.proto === 'udp') {
    p.IpProtocol = r.proto.toUpperCase();
    p.PortRange = `${r.ports![0]}/${r.ports![1]}`;
  } else {
    p.IpProtocol = r.proto === 'icmp' ? (r.fam === 4 ? 'ICMP' : 'ICMPv6') : r.proto === 'all' ? 'ALL' : r.proto === 47 ? 'GRE' : String(r.proto);
    p.PortRange = '-1/-1';
  }
  if (r.srcPorts) p.SourcePortRange = `${r.srcPorts[0]}/${r.srcPorts[1]}`;
  const peerKey = r.dir === 'ingress' ? (r.fam === 4 ? 'SourceCidrIp' : 'Ipv6SourceCidrIp') : (r.fam === 4 ? 'DestCidrIp' : 'Ipv6DestCidrIp');
  p[peerKey] = r.peer;
  if (r.local) {
    const localKey = r.dir === 'ingress' ? (r.fam === 4 ? 'DestCidrIp' : 'Ipv6DestCidrIp') : (r.fam === 4 ? 'SourceCidrIp' : 'Ipv6SourceCidrIp');
    p[localKey] = r.local;
  }
  return p;
}

function alibabaPolicy(o: PolicyOptions, rng: Rng): Record<string, unknown> {
  if (o.rules > ALIBABA_MAX_RULES) {
    throw new Error(`--rules ${o.rules}: Alibaba allows at most ${ALIBABA_MAX_RULES} rules per interface (spec section 3)`);
  }
  const groupCount = Math.max(1, Math.min(ALIBABA_MAX_GROUPS, Math.ceil(o.rules / 100)));
  const groups = Array.from({ length: groupCount }, (_, g) => ({
    SecurityGroupId: `sg-bench-${String(g).padStart(2, '0')}`,
    SecurityGroupName: `bench-${g}`,
    SecurityGroupType: 'normal',
    InnerAccessPolicy: 'Accept',
    Description: 'generated by bench/gen-policy.ts',
    Permissions: { Permission: [] as Record<string, string>[] },
  }));
  for (let i = 0; i < o.rules; i++) {
    const r = genRule(rng, 'alibaba');
    groups[i % groupCount]!.Permissions.Permission.push(alibabaPermission(r, `sgr-bench-${String(i).padStart(5, '0')}`));
  }
  return {
    cloud: 'alibaba',
    interfaces: BENCH_INTERFACES.map((i) => ({ id: i.id, addresses: [i.v4, i.v6], securityGroups: groups.map((g) => g.SecurityGroupId) })),
    securityGroups: groups,
  };
}

// --- AWS --------------------------------------------------------------------------------------

interface AwsPermission {
  IpProtocol: string;
  FromPort?: number;
  ToPort?: number;
  IpRanges: { CidrIp: string }[];
  Ipv6Ranges: { CidrIpv6: string }[];
  PrefixListIds: never[];
  UserIdGroupPairs: never[];
}

function awsPermission(r: GenRule): AwsPermission {
  const p: AwsPermission = {
    IpProtocol: r.proto === 'all' ? '-1' : r.proto === 'icmp' ? (r.fam === 4 ? 'icmp' : 'icmpv6') : String(r.proto),
    IpRanges: r.fam === 4 ? [{ CidrIp: r.peer }] : [],
    Ipv6Ranges: r.fam === 6 ? [{ CidrIpv6: r.peer }] : [],
    PrefixListIds: [],
    UserIdGroupPairs: [],
  };
  if (r.ports) {
    // AWS writes "any port" as 0..65535.
    p.FromPort = r.ports[0] === 1 && r.ports[1] === 65535 ? 0 : r.ports[0];
    p.ToPort = r.ports[1];
  } else if (r.icmp) {
    p.FromPort = r.icmp[0];
    p.ToPort = r.icmp[1];
  }
  return p;
}

/**
 * The group count for n AWS rules: the smallest g <= 16 where the largest group (ceil(n/g)
 * rules, all directions and families) times g stays <= 1000, and the usual ingress-IPv4 share
 * (about 56 %) of a group still fits its 60-rule bucket. Undefined when no g works.
 */
export function awsGroupCount(n: number): number | undefined {
  if (n === 0) return 1;
  for (let g = 1; g <= AWS_MAX_GROUPS; g++) {
    const per = Math.ceil(n / g);
    if (per * g <= AWS_RULES_TIMES_GROUPS && per * 0.56 <= AWS_RULES_PER_GROUP_BUCKET - 3) return g;
  }
  return undefined;
}

function awsPolicy(o: PolicyOptions, rng: Rng): Record<string, unknown> {
  const g = awsGroupCount(o.rules);
  if (g === undefined) {
    throw new Error(`--rules ${o.rules}: more than AWS quotas allow (60 rules per group, direction and family; ` +
      `${AWS_MAX_GROUPS} groups; rules per group x groups <= ${AWS_RULES_TIMES_GROUPS}); use --cloud alibaba`);
  }
  const groups = Array.from({ length: g }, (_, k) => ({
    GroupId: `sg-bench-${String(k).padStart(2, '0')}`,
    GroupName: `bench-${k}`,
    VpcId: 'vpc-bench',
    Description: 'generated by bench/gen-policy.ts',
    IpPermissions: [] as AwsPermission[],
    IpPermissionsEgress: [] as AwsPermission[],
  }));
  // Group by group: sizes differ by at most one; a rule whose (direction, family) bucket is
  // already full in this group is drawn again.
  groups.forEach((grp, k) => {
    const size = Math.floor(o.rules / g) + (k < o.rules % g ? 1 : 0);
    const used = new Map<string, number>();
    for (let i = 0; i < size; i++) {
      let r = genRule(rng, 'aws');
      while ((used.get(`${r.dir}/${r.fam}`) ?? 0) >= AWS_RULES_PER_GROUP_BUCKET) r = genRule(rng, 'aws');
      used.set(`${r.dir}/${r.fam}`, (used.get(`${r.dir}/${r.fam}`) ?? 0) + 1);
      (r.dir === 'ingress' ? grp.IpPermissions : grp.IpPermissionsEgress).push(awsPermission(r));
    }
  });
  const policy: Record<string, unknown> = {
    cloud: 'aws',
    interfaces: BENCH_INTERFACES.map((i) => ({ id: i.id, addresses: [i.v4, i.v6], securityGroups: groups.map((x) => x.GroupId) })),
    securityGroups: groups,
  };
  if (g > AWS_DEFAULT_GROUPS) policy.quotas = { groupsPerInterface: AWS_MAX_GROUPS };
  return policy;
}

/** The generated policy object (same seed, same object). */
export function generatePolicy(o: PolicyOptions): Record<string, unknown> {
  if (o.cloud !== 'aws' && o.cloud !== 'alibaba') throw new Error(`--cloud must be aws or alibaba, got ${JSON.stringify(o.cloud)}`);
  if (!Number.isInteger(o.rules) || o.rules < 0) throw new Error(`--rules must be a non-negative integer, got ${o.rules}`);
  const rng = new Rng(o.seed);
  return o.cloud === 'aws' ? awsPolicy(o, rng) : alibabaPolicy(o, rng);
}

export function main(argv: string[]): number {
  try {
    const args = parseArgs(argv, ['cloud', 'rules', 'out', 'seed']);
    const cloud = (args.get('cloud') ?? 'alibaba') as BenchCloud;
    const policy = generatePolicy({ cloud, rules: intArg(args, 'rules', 1000), seed: intArg(args, 'seed', 1) });
    const text = `${JSON.stringify(policy, null, 1)}\n`;
    const out = args.get('out');
    if (out === undefined || out === '-') {
      process.stdout.write(text);
    } else {
      const tmp = `${out}.tmp-${process.pid}`;
      writeFileSync(tmp, text);
      renameSync(tmp, out);
    }
    return 0;
  } catch (e) {
    process.stderr.write(`gen-policy: ${(e as Error).message}\n`);
    return 2;
  }
}

if (invokedAsScript(import.meta.url)) process.exitCode = main(process.argv.slice(2));
