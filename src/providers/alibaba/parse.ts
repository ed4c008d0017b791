// Alibaba Cloud ECS security groups -> neutral rules. One Rule per Permission.
// Empty strings mean absent (the real API prints every key). Peer precedence (AuthorizeSecurityGroup):
// a CIDR over a group; a prefix list only when neither is given. PortRangeListId only when
// PortRange is absent. 5-tuple rules: the "other side" CIDR of the direction is the local address.
import type { Cidr } from '../../model/cidr.js';
import type { Action, GroupType, PortRange, Rule, SecurityGroup } from '../../model/policy.js';
import {
  PROTO_GRE, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP, type Protocol, protocolName,
} from '../../model/protocol.js';
import type { Direction } from '../../model/reason.js';
import { at, atKey } from '../../policy/json-path.js';
import { CODES } from '../../validate/codes.js';
import { show, typeName } from '../../validate/collector.js';
import { isObj, own, type Obj, type Reader } from '../../validate/reader.js';
import { readCidr, readPortRange, splitPortRange } from '../common.js';
import type { PrefixList, Provider, ProviderContext } from '../types.js';

const PROTOCOLS: Record<string, Protocol> = {
  tcp: PROTO_TCP,
  udp: PROTO_UDP,
  icmp: PROTO_ICMP,
  icmpv6: PROTO_ICMPV6,
  gre: PROTO_GRE,
  all: 'any',
};

/** A string field where "" and null mean absent. Priority may also be a JSON integer. */
function field(r: Reader, o: Obj, path: string, key: string): string | number | undefined {
  const v = own(o, key);
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'string') return v.trim() === '' ? undefined : v;
  if (key === 'Priority' && typeof v === 'number') return v;
  r.error(CODES.type, at(path, key), `${show(v)} is ${typeName(v)}, expected a string`);
  return undefined;
}

/** True when the key holds something other than absent/null/"" (even a value of the wrong type). */
function given(o: Obj, key: string): boolean {
  const v = own(o, key);
  return v !== undefined && v !== null && !(typeof v === 'string' && v.trim() === '');
}

function str(r: Reader, o: Obj, path: string, key: string): string | undefined {
  const v = field(r, o, path, key);
  return typeof v === 'string' ? v.trim() : undefined;
}

// The readers below take the object's path and the field's key, and build the field's path
// only for a message (atKey).

// The values oneOf accepts, made once: an array literal at the call would be one more
// allocation per field of every rule.
const DIRECTIONS = ['ingress', 'egress'] as const;
const ACTIONS = ['accept', 'drop'] as const;
const NIC_TYPES = ['internet', 'intranet'] as const;
const GROUP_TYPES = ['normal', 'enterprise'] as const;

function oneOf<T extends string>(r: Reader, v: string, path: string, key: string, allowed: readonly T[]): T | undefined {
  const t = v.toLowerCase() as T;
  if (allowed.includes(t)) return t;
  r.error(CODES.value, at(path, key), `${show(v)} is not ${allowed.map((a) => JSON.stringify(a)).join(' or ')}`);
  return undefined;
}

export function readAlibabaProtocol(r: Reader, v: string, path: string, key?: string): Protocol | undefined {
  const t = v.toLowerCase();
  if (Object.hasOwn(PROTOCOLS, t)) return PROTOCOLS[t];
  if (/^\d{1,3}$/.test(t) && Number(t) <= 255) return Number(t);
  r.error(CODES.protocol, atKey(path, key), `${show(v)} is not TCP, UDP, ICMP, ICMPv6, GRE, ALL or a protocol number 0..255`);
  return undefined;
}

function readPriority(r: Reader, v: string | number | undefined, path: string): number | undefined {
  if (v === undefined) return 1;
  const n = typeof v === 'number' ? v : /^\s*\d{1,9}\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 100) {
    r.error(CODES.priority, at(path, 'Priority'), `${show(v)} is not in 1..100`);
    return undefined;
  }
  return n;
}

interface Sides {
  v4: string;
  v6: string;
  group: string;
  list: string;
}
const SOURCE: Sides = { v4: 'SourceCidrIp', v6: 'Ipv6SourceCidrIp', group: 'SourceGroupId', list: 'SourcePrefixListId' };
const DEST: Sides = { v4: 'DestCidrIp', v6: 'Ipv6DestCidrIp', group: 'DestGroupId', list: 'DestPrefixListId' };

/** The protocol as messages name it ("TCP"): built only for a message, not for every rule. */
function upperName(protocol: Protocol): string {
  return protocolName(protocol).toUpperCase();
}

function icmpFamilyFix(protocol: Protocol, family: 4 | 6): string | undefined {
  if (protocol === PROTO_ICMP && family === 6) return 'is IPv6 but IpProtocol ICMP matches only IPv4: use ICMPv6';
  if (protocol === PROTO_ICMPV6 && family === 4) return 'is IPv4 but IpProtocol ICMPv6 matches only IPv6: use ICMP';
  return undefined;
}

const BARE_V4 = { allowBare: true, family: 4 } as const;
const BARE_V6 = { allowBare: true, family: 6 } as const;

/** The v4 or v6 CIDR of one side (never both); undefined when neither or on error. */
function sideCidr(r: Reader, o: Obj, path: string, side: Sides): { cidr?: Cidr; given: boolean; key?: string } {
  const v4 = str(r, o, path, side.v4);
  const v6 = str(r, o, path, side.v6);
  if (v4 !== undefined && v6 !== undefined) {
    r.error(CODES.peerConflict, at(path, side.v6), `${show(v6)}: give ${side.v4} or ${side.v6}, not both (${side.v4} is ${show(v4)})`);
    return { given: true };
  }
  if (v4 !== undefined) return { cidr: readCidr(r, v4, path, BARE_V4, side.v4), given: true, key: side.v4 };
  if (v6 !== undefined) return { cidr: readCidr(r, v6, path, BARE_V6, side.v6), given: true, key: side.v6 };
  return { given: given(o, side.v4) || given(o, side.v6) };
}

/** A group or prefix list given on the local side of a rule, which Alibaba ignores. */
function warnLocalRef(r: Reader, o: Obj, path: string, key: string, direction: Direction): void {
  const v = str(r, o, path, key);
  if (v !== undefined) r.warn(CODES.ignored, at(path, key), `${show(v)} is ignored on an ${direction} rule`);
}

function parsePermission(
  raw: unknown,
  path: string,
  group: { id: string; type: GroupType },
  index: number,
  ctx: ProviderContext,
  out: Rule[],
): void {
  const r = ctx.reader;
  const o = r.object(raw, path);
  if (!o) return;
  const errorsBefore = r.diag.errorCount;

  const dirText = str(r, o, path, 'Direction');
  let direction: Direction | undefined;
  if (dirText === undefined) r.missing(at(path, 'Direction'), '"ingress" or "egress"');
  else direction = oneOf(r, dirText, path, 'Direction', DIRECTIONS);

  const policyText = str(r, o, path, 'Policy');
  const action: Action | undefined =
    policyText === undefined ? 'accept' : oneOf(r, policyText, path, 'Policy', ACTIONS);
  const priority = readPriority(r, field(r, o, path, 'Priority'), path);

  const protoText = str(r, o, path, 'IpProtocol');
  let protocol: Protocol | undefined;
  if (protoText === undefined) r.missing(at(path, 'IpProtocol'));
  else protocol = readAlibabaProtocol(r, protoText, path, 'IpProtocol');

  const nicText = str(r, o, path, 'NicType');
  const nicType = nicText === undefined ? undefined : oneOf(r, nicText, path, 'NicType', NIC_TYPES);

  // Ports.
  let dstPorts: PortRange[] | 'any' = 'any';
  let srcPorts: PortRange | 'any' = 'any';
  let portWeight = 1;
  const prText = str(r, o, path, 'PortRange');
  const plId = str(r, o, path, 'PortRangeListId');
  const withPorts = protocol === PROTO_TCP || protocol === PROTO_UDP;
  if (protocol !== undefined && withPorts) {
    if (prText !== undefined) {
      const pr = readPortRange(r, prText, path, 'PortRange');
      if (pr) dstPorts = [pr];
      if (plId !== undefined) r.warn(CODES.ignored, at(path, 'PortRangeListId'), `${show(plId)} is ignored because PortRange is given`);
    } else if (plId !== undefined) {
      const pl = ctx.portLists.get(plId);
      if (!pl) r.error(CODES.unknownPortList, at(path, 'PortRangeListId'), `${show(plId)} is not a port list of this file (portLists)`);
      else {
        dstPorts = pl.ranges;
        portWeight = pl.maxEntries;
      }
    } else if (!given(o, 'PortRange') && !given(o, 'PortRangeListId')) {
      r.missing(at(path, 'PortRange'), `${upperName(protocol)} rules need PortRange or PortRangeListId`);
    }
  } else if (protocol !== undefined) {
    if (prText !== undefined) {
      const ab = splitPortRange(prText);
      if (!ab) r.error(CODES.ports, at(path, 'PortRange'), `${show(prText)} is not a port range "from/to"`);
      else if (ab[0] !== -1 || ab[1] !== -1) {
        r.error(CODES.ports, at(path, 'PortRange'), `${show(prText)}: ${upperName(protocol)} rules have no ports, write "-1/-1"`);
      }
    } else if (plId !== undefined) {
      r.error(CODES.ports, at(path, 'PortRangeListId'), `${show(plId)}: port lists apply to TCP and UDP rules only, not ${upperName(protocol)}`);
    }
  }
  const sprText = str(r, o, path, 'SourcePortRange');
  if (sprText !== undefined && protocol !== undefined) {
    const ab = splitPortRange(sprText);
    if (ab && ab[0] === -1 && ab[1] === -1) {
      // "-1/-1": any source port.
    } else if (!withPorts) {
      r.error(CODES.ports, at(path, 'SourcePortRange'), `${show(sprText)}: ${upperName(protocol)} rules have no ports, write "-1/-1" or leave it empty`);
    } else {
      const pr = readPortRange(r, sprText, path, 'SourcePortRange');
      if (pr) srcPorts = pr;
    }
  }

  // Peer and local address.
  let peers: Cidr[] | undefined;
  let peerKind: Rule['peerKind'] = 'cidr';
  let peerRef: string | undefined;
  let locals: Cidr[] | 'any' = 'any';
  let listWeight = 1;
  if (direction !== undefined) {
    const peerSide = direction === 'ingress' ? SOURCE : DEST;
    const localSide = direction === 'ingress' ? DEST : SOURCE;
    warnLocalRef(r, o, path, localSide.group, direction);
    warnLocalRef(r, o, path, localSide.list, direction);
    const peer = sideCidr(r, o, path, peerSide);
    const groupRef = str(r, o, path, peerSide.group);
    const listRef = str(r, o, path, peerSide.list);
    if (peer.given) {
      if (peer.cidr) {
        const fix = protocol === undefined ? undefined : icmpFamilyFix(protocol, peer.cidr.family);
        if (fix) r.error(CODES.icmpFamily, at(path, peer.key!), `${show(own(o, peer.key!))} ${fix}`);
        else peers = [peer.cidr];
      }
      if (groupRef !== undefined) r.warn(CODES.ignored, at(path, peerSide.group), `${show(groupRef)} is ignored: a CIDR takes precedence over a group`);
      if (listRef !== undefined) r.warn(CODES.ignored, at(path, peerSide.list), `${show(listRef)} is ignored: a CIDR takes precedence over a prefix list`);
    } else if (groupRef !== undefined) {
      peerKind = 'group';
      peerRef = groupRef;
      if (listRef !== undefined) r.warn(CODES.ignored, at(path, peerSide.list), `${show(listRef)} is ignored: a group takes precedence over a prefix list`);
      if (group.type === 'enterprise') {
        r.error(CODES.enterpriseGroupRef, at(path, peerSide.group), `${show(groupRef)}: enterprise security groups cannot reference groups (${group.id} is enterprise)`);
      } else {
        const m = ctx.members(groupRef);
        if (!m) r.error(CODES.unknownGroup, at(path, peerSide.group), `${show(groupRef)} is not a group of this file (securityGroups) nor listed in groupMembers`);
        else peers = m;
      }
    } else if (listRef !== undefined) {
      peerKind = 'prefix-list';
      peerRef = listRef;
      const pl: PrefixList | undefined = ctx.prefixLists.get(listRef);
      if (!pl) r.error(CODES.unknownPrefixList, at(path, peerSide.list), `${show(listRef)} is not a prefix list of this file (prefixLists)`);
      else {
        const fix = protocol === undefined || pl.family === undefined ? undefined : icmpFamilyFix(protocol, pl.family);
        if (fix) r.error(CODES.icmpFamily, at(path, peerSide.list), `${show(listRef)} ${fix.replace(/^is/, 'holds only')}`);
        else {
          peers = pl.cidrs;
          listWeight = pl.maxEntries;
        }
      }
    } else if (!given(o, peerSide.group) && !given(o, peerSide.list)) {
      r.error(CODES.noPeer, path, `names no peer: give ${peerSide.v4}, ${peerSide.v6}, ${peerSide.group} or ${peerSide.list}`);
    }
    const local = sideCidr(r, o, path, localSide);
    if (local.cidr) {
      const fix = protocol === undefined ? undefined : icmpFamilyFix(protocol, local.cidr.family);
      if (fix) r.error(CODES.icmpFamily, at(path, local.key!), `${show(own(o, local.key!))} ${fix}`);
      else if (peerKind === 'cidr' && peers?.[0] && peers[0].family !== local.cidr.family) {
        r.error(CODES.family, at(path, local.key!), `${show(own(o, local.key!))} is IPv${local.cidr.family} but the peer ${peers[0].text} is IPv${peers[0].family}: the rule could never match`);
      } else locals = [local.cidr];
    }
  }

  const explicitId = str(r, o, path, 'SecurityGroupRuleId');
  const id = explicitId ?? `${group.id}:${direction ?? '?'}:${index}`;
  const taken = ctx.ruleIds.get(id);
  if (taken !== undefined) {
    r.error(CODES.duplicateId, explicitId !== undefined ? at(path, 'SecurityGroupRuleId') : path, `rule id ${show(id)} is also the id of ${taken}`);
  } else {
    ctx.ruleIds.set(id, path);
  }

  if (r.diag.errorCount !== errorsBefore) return;
  if (direction === undefined || action === undefined || priority === undefined || protocol === undefined || !peers) return;
  const rule: Rule = {
    id,
    groupId: group.id,
    direction,
    action,
    priority,
    protocol,
    peers,
    peerKind,
    locals,
    dstPorts,
    srcPorts,
    icmp: 'any',
    index,
    path,
    quotaWeight: listWeight * portWeight,
  };
  if (peerRef !== undefined) rule.peerRef = peerRef;
  if (nicType !== undefined) rule.nicType = nicType;
  // As written, so lint can tell "6" and "TCP" apart.
  if (protoText !== undefined) rule.protocolText = protoText;
  out.push(rule);
}

function groupType(r: Reader, g: Obj, path: string): GroupType | undefined {
  const t = str(r, g, path, 'SecurityGroupType');
  if (t === undefined) return 'normal';
  return oneOf(r, t, path, 'SecurityGroupType', GROUP_TYPES);
}

function parseGroup(raw: unknown, path: string, ctx: ProviderContext): SecurityGroup | undefined {
  const r = ctx.reader;
  const g = r.object(raw, path);
  if (!g) return undefined;
  const id = str(r, g, path, 'SecurityGroupId');
  if (id === undefined) {
    if (own(g, 'SecurityGroupId') === undefined || own(g, 'SecurityGroupId') === '') r.missing(at(path, 'SecurityGroupId'));
    return undefined;
  }
  const type = groupType(r, g, path) ?? 'normal';
  const iapText = str(r, g, path, 'InnerAccessPolicy');
  let inner: Action = 'accept';
  if (iapText !== undefined) inner = oneOf(r, iapText, path, 'InnerAccessPolicy', ACTIONS) ?? 'accept';
  if (type === 'enterprise') {
    // Enterprise groups have no member-to-member default: report it as 'drop'.
    if (iapText !== undefined && inner === 'accept') {
      r.warn(CODES.ignored, at(path, 'InnerAccessPolicy'), `${show(iapText)} is ignored: enterprise groups never allow traffic between members by default`);
    }
    inner = 'drop';
  }
  const rules: Rule[] = [];
  const permsV = own(g, 'Permissions');
  if (permsV !== undefined && permsV !== null && permsV !== '') {
    const pp = at(path, 'Permissions');
    const perms = r.object(permsV, pp);
    const listV = perms ? own(perms, 'Permission') : undefined;
    if (perms && listV !== undefined && listV !== null) {
      const list = r.array(listV, at(pp, 'Permission'));
      if (list) {
        // Every permission counts at least one rule: a longer list cannot fit the quota.
        const limit = ctx.quotas.rulesPerGroup;
        if (list.length > limit) {
          r.error(CODES.quota, at(pp, 'Permission'), `${list.length} rules exceed the quota of ${limit} rules per group (quotas.rulesPerGroup); only the first ${limit} were checked`);
        }
        const n = Math.min(list.length, limit);
        const lp = at(pp, 'Permission');
        const info = { id, type };
        for (let i = 0; i < n; i++) parsePermission(list[i], at(lp, i), info, i, ctx, rules);
      }
    }
  }
  const group: SecurityGroup = { id, type, innerAccessPolicy: inner, rules, path };
  const name = str(r, g, path, 'SecurityGroupName');
  if (name !== undefined) group.name = name;
  return group;
}

export const alibabaProvider: Provider = {
  peek(raw) {
    if (!isObj(raw)) return undefined;
    const id = own(raw, 'SecurityGroupId');
    if (typeof id !== 'string' || id.trim() === '') return undefined;
    const t = own(raw, 'SecurityGroupType');
    return { id: id.trim(), type: typeof t === 'string' && t.trim().toLowerCase() === 'enterprise' ? 'enterprise' : 'normal' };
  },
  parseGroup,
};
