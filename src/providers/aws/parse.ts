// AWS (EC2-VPC and EC2-Classic) security groups -> neutral rules.
// One Rule per (IpPermission, peer kind/reference): the IpRanges and Ipv6Ranges of a permission
// form one 'cidr' rule, each prefix list and each group pair its own rule, so lint and explain
// can name the peer. All rules of one permission share the id `<GroupId>:<direction>:<index>`.
import type { Cidr } from '../../model/cidr.js';
import type { IcmpMatch, PortRange, Rule, SecurityGroup } from '../../model/policy.js';
import { PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP, type Protocol } from '../../model/protocol.js';
import { DIRECTIONS, type Direction } from '../../model/reason.js';
import { at } from '../../policy/json-path.js';
import { CODES } from '../../validate/codes.js';
import { show } from '../../validate/collector.js';
import { isObj, own, type Reader } from '../../validate/reader.js';
import { readCidr } from '../common.js';
import type { Provider, ProviderContext } from '../types.js';

const V4_ONLY = { family: 4 } as const;
const V6_ONLY = { family: 6 } as const;

const PROTOCOL_NAMES: Record<string, number> = {
  tcp: PROTO_TCP,
  udp: PROTO_UDP,
  icmp: PROTO_ICMP,
  icmpv6: PROTO_ICMPV6,
};

/** IpProtocol: a name, "-1" (all), or a decimal number; 6/17/1/58 are the names' numbers. */
export function readAwsProtocol(r: Reader, v: unknown, path: string): Protocol | undefined {
  if (typeof v !== 'string') {
    r.error(CODES.type, path, `${show(v)} is not a string (write "tcp", "udp", "icmp", "icmpv6", "-1" or a number as a string)`);
    return undefined;
  }
  const t = v.trim().toLowerCase();
  if (t === '-1') return 'any';
  const named = Object.hasOwn(PROTOCOL_NAMES, t) ? PROTOCOL_NAMES[t] : undefined;
  if (named !== undefined) return named;
  if (/^\d{1,3}$/.test(t) && Number(t) <= 255) return Number(t);
  r.error(CODES.protocol, path, `${show(v)} is not tcp, udp, icmp, icmpv6, -1 or a protocol number 0..255`);
  return undefined;
}

interface PortMatch {
  dstPorts: PortRange[] | 'any';
  icmp: IcmpMatch | 'any';
}

function readAwsPorts(r: Reader, o: Record<string, unknown>, path: string, protocol: Protocol): PortMatch | undefined {
  const fv = own(o, 'FromPort');
  const tv = own(o, 'ToPort');
  const fp = at(path, 'FromPort');
  const tp = at(path, 'ToPort');
  if (protocol === PROTO_TCP || protocol === PROTO_UDP) {
    if (fv === undefined) r.missing(fp, 'TCP and UDP rules need FromPort and ToPort');
    if (tv === undefined) r.missing(tp, 'TCP and UDP rules need FromPort and ToPort');
    const f = fv === undefined ? undefined : r.int(fv, fp, 0, 65535, CODES.ports);
    const t = tv === undefined ? undefined : r.int(tv, tp, 0, 65535, CODES.ports);
    if (f === undefined || t === undefined) return undefined;
    if (f > t) {
      r.error(CODES.ports, tp, `${t} is less than FromPort ${f}`);
      return undefined;
    }
    return { dstPorts: [{ from: f, to: t }], icmp: 'any' };
  }
  if (protocol === PROTO_ICMP || protocol === PROTO_ICMPV6) {
    if (fv === undefined && tv === undefined) return { dstPorts: 'any', icmp: 'any' };
    if (fv === undefined) r.missing(fp, 'ICMP type, -1 for any');
    if (tv === undefined) r.missing(tp, 'ICMP code, -1 for any');
    const type = fv === undefined ? undefined : r.int(fv, fp, -1, 255, CODES.icmp);
    const code = tv === undefined ? undefined : r.int(tv, tp, -1, 255, CODES.icmp);
    if (type === undefined || code === undefined) return undefined;
    if (type === -1 && code !== -1) {
      r.error(CODES.icmp, tp, `${code} names an ICMP code, but FromPort (type) -1 means any type and needs ToPort -1`);
      return undefined;
    }
    if (type === -1) return { dstPorts: 'any', icmp: 'any' };
    return { dstPorts: 'any', icmp: { type, code: code === -1 ? 'any' : code } };
  }
  // "-1" and other protocols match all ports; AWS prints no ports for them.
  for (const [v, p] of [[fv, fp], [tv, tp]] as const) {
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      r.error(CODES.type, p, `${show(v)} is not an integer`);
      return undefined;
    }
    if (v !== -1) r.warn(CODES.ignored, p, `${v} is ignored: this protocol matches all ports`);
  }
  return { dstPorts: 'any', icmp: 'any' };
}

/** An optional array of objects under `key`; calls fn for each valid element. */
function eachEntry(
  r: Reader,
  o: Record<string, unknown>,
  path: string,
  key: string,
  limit: number,
  fn: (e: Record<string, unknown>, p: string) => void,
): number {
  const v = own(o, key);
  if (v === undefined) return 0;
  const arr = r.array(v, at(path, key));
  if (!arr) return 1; // counted as a peer so a type error is not followed by "no peer"
  if (arr.length > limit) {
    r.error(CODES.quota, at(path, key), `${arr.length} entries exceed the quota of ${limit} rules per group (quotas.rulesPerGroup); only the first ${limit} were checked`);
  }
  const n = Math.min(arr.length, limit);
  for (let i = 0; i < n; i++) {
    const p = at(at(path, key), i);
    const obj = r.object(arr[i], p);
    if (obj) fn(obj, p);
  }
  return arr.length;
}

function familyFix(protocol: Protocol, family: 4 | 6): string | undefined {
  if (protocol === PROTO_ICMP && family === 6) return 'is IPv6 but IpProtocol "icmp" matches only IPv4: use "icmpv6"';
  if (protocol === PROTO_ICMPV6 && family === 4) return 'is IPv4 but IpProtocol "icmpv6" matches only IPv6: use "icmp"';
  return undefined;
}

function parsePermission(
  raw: unknown,
  path: string,
  groupId: string,
  direction: Direction,
  index: number,
  ctx: ProviderContext,
  out: Rule[],
): void {
  const r = ctx.reader;
  const o = r.object(raw, path);
  if (!o) return;
  const classic = ctx.cloud === 'aws-classic';
  const protoV = own(o, 'IpProtocol');
  let protocol: Protocol | undefined;
  if (protoV === undefined) r.missing(at(path, 'IpProtocol'));
  else protocol = readAwsProtocol(r, protoV, at(path, 'IpProtocol'));
  const ports = protocol === undefined ? undefined : readAwsPorts(r, o, path, protocol);
  const errorsBefore = r.diag.errorCount;

  const cidrs: Cidr[] = [];
  const lists: { id: string; peers: Cidr[]; weight: number }[] = [];
  const groups: { ref: string; peers: Cidr[] }[] = [];
  let written = 0;

  written += eachEntry(r, o, path, 'IpRanges', ctx.quotas.rulesPerGroup, (e, p) => {
    const v = own(e, 'CidrIp');
    if (v === undefined) return r.missing(at(p, 'CidrIp'));
    const c = readCidr(r, v, p, V4_ONLY, 'CidrIp');
    if (!c) return;
    const fix = protocol === undefined ? undefined : familyFix(protocol, 4);
    if (fix) return r.error(CODES.icmpFamily, at(p, 'CidrIp'), `${show(v)} ${fix}`);
    cidrs.push(c);
  });
  written += eachEntry(r, o, path, 'Ipv6Ranges', ctx.quotas.rulesPerGroup, (e, p) => {
    if (classic) return r.error(CODES.classic, p, `${show(e)}: EC2-Classic has no IPv6`);
    const v = own(e, 'CidrIpv6');
    if (v === undefined) return r.missing(at(p, 'CidrIpv6'));
    const c = readCidr(r, v, p, V6_ONLY, 'CidrIpv6');
    if (!c) return;
    const fix = protocol === undefined ? undefined : familyFix(protocol, 6);
    if (fix) return r.error(CODES.icmpFamily, at(p, 'CidrIpv6'), `${show(v)} ${fix}`);
    cidrs.push(c);
  });
  written += eachEntry(r, o, path, 'PrefixListIds', ctx.quotas.rulesPerGroup, (e, p) => {
    const v = own(e, 'PrefixListId');
    if (v === undefined) return r.missing(at(p, 'PrefixListId'));
    const id = r.string(v, at(p, 'PrefixListId'));
    if (id === undefined) return;
    if (classic) return r.error(CODES.classic, at(p, 'PrefixListId'), `${show(v)}: EC2-Classic rules cannot use prefix lists`);
    const pl = ctx.prefixLists.get(id);
    if (!pl) return r.error(CODES.unknownPrefixList, at(p, 'PrefixListId'), `${show(v)} is not a prefix list of this file (prefixLists)`);
    const fix = protocol === undefined || pl.family === undefined ? undefined : familyFix(protocol, pl.family);
    if (fix) return r.error(CODES.icmpFamily, at(p, 'PrefixListId'), `${show(v)} ${fix.replace(/^is/, 'holds only')}`);
    lists.push({ id, peers: pl.cidrs, weight: pl.maxEntries });
  });
  written += eachEntry(r, o, path, 'UserIdGroupPairs', ctx.quotas.rulesPerGroup, (e, p) => {
    const v = own(e, 'GroupId');
    if (v === undefined) return r.missing(at(p, 'GroupId'));
    const ref = r.string(v, at(p, 'GroupId'));
    if (ref === undefined) return;
    const slash = ref.indexOf('/');
    if (slash >= 0 && !classic) {
      return r.error(CODES.unknownGroup, at(p, 'GroupId'), `${show(v)}: the "account/sg-id" form is for aws-classic only; write the group id`);
    }
    // aws-classic "account/sg-id": the full form may be listed in groupMembers, else the id part.
    let peers = ctx.members(ref);
    if (!peers && slash >= 0) peers = ctx.members(ref.slice(slash + 1));
    if (!peers) {
      return r.error(CODES.unknownGroup, at(p, 'GroupId'), `${show(v)} is not a group of this file (securityGroups) nor listed in groupMembers`);
    }
    groups.push({ ref, peers });
  });
  if (written === 0) {
    r.error(CODES.noPeer, path, `names no peer: give IpRanges, Ipv6Ranges, PrefixListIds or UserIdGroupPairs`);
    return;
  }
  if (protocol === undefined || !ports || r.diag.errorCount !== errorsBefore) return;

  const base = {
    id: `${groupId}:${direction}:${index}`,
    groupId,
    direction,
    action: 'accept' as const,
    priority: 0,
    protocol,
    // As written, so lint can tell "6" and "tcp" apart.
    ...(typeof protoV === 'string' ? { protocolText: protoV } : {}),
    locals: 'any' as const,
    dstPorts: ports.dstPorts,
    srcPorts: 'any' as const,
    icmp: ports.icmp,
    index,
    path,
  };
  if (cidrs.length > 0) out.push({ ...base, peers: cidrs, peerKind: 'cidr', quotaWeight: cidrs.length });
  for (const l of lists) out.push({ ...base, peers: l.peers, peerKind: 'prefix-list', peerRef: l.id, quotaWeight: l.weight });
  for (const g of groups) out.push({ ...base, peers: g.peers, peerKind: 'group', peerRef: g.ref, quotaWeight: 1 });
}

function parseGroup(raw: unknown, path: string, ctx: ProviderContext): SecurityGroup | undefined {
  const r = ctx.reader;
  const g = r.object(raw, path);
  if (!g) return undefined;
  const idV = own(g, 'GroupId');
  if (idV === undefined) {
    r.missing(at(path, 'GroupId'));
    return undefined;
  }
  const id = r.string(idV, at(path, 'GroupId'));
  if (id === undefined) return undefined;
  const nameV = own(g, 'GroupName');
  const name = nameV === undefined ? undefined : r.string(nameV, at(path, 'GroupName'), false);
  const rules: Rule[] = [];
  for (const direction of DIRECTIONS) {
    const key = direction === 'ingress' ? 'IpPermissions' : 'IpPermissionsEgress';
    const v = own(g, key);
    if (v === undefined) continue;
    const perms = r.array(v, at(path, key));
    if (!perms) continue;
    if (ctx.cloud === 'aws-classic' && direction === 'egress' && perms.length > 0) {
      r.error(CODES.classic, at(path, key), `has ${perms.length} rules, but EC2-Classic groups have no egress rules (egress is always allowed)`);
      continue;
    }
    // Every permission is at least one rule of one family: more than twice the quota cannot fit.
    const limit = 2 * ctx.quotas.rulesPerGroup;
    if (perms.length > limit) {
      r.error(CODES.quota, at(path, key), `${perms.length} permissions exceed the quota of ${ctx.quotas.rulesPerGroup} IPv4 and ${ctx.quotas.rulesPerGroup} IPv6 rules per group (quotas.rulesPerGroup); only the first ${limit} were checked`);
    }
    const n = Math.min(perms.length, limit);
    for (let i = 0; i < n; i++) parsePermission(perms[i], at(at(path, key), i), id, direction, i, ctx, rules);
  }
  const group: SecurityGroup = { id, type: 'normal', innerAccessPolicy: 'accept', rules, path };
  if (name !== undefined) group.name = name;
  return group;
}

export const awsProvider: Provider = {
  peek(raw) {
    if (!isObj(raw)) return undefined;
    const id = own(raw, 'GroupId');
    return typeof id === 'string' && id !== '' ? { id, type: 'normal' } : undefined;
  },
  parseGroup,
};
