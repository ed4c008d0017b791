// Builds neutral-model Policy objects directly (no loader), for compile/eval/lint/explain tests.
//   const p = policy('alibaba')
//     .group('sg-a', [ingress('accept', 'tcp', '10.0.0.0/8', { ports: '22', priority: 5 })])
//     .iface('eni-1', ['10.0.1.10'], ['sg-a'])
//     .build();
import { hostCidr, parseAddress, parseCidr, type Address, type Cidr, type Family } from '../../src/model/cidr.js';
import type {
  Action,
  Cloud,
  GroupType,
  IcmpMatch,
  Interface,
  PacketTuple,
  Policy,
  PortRange,
  Rule,
  SecurityGroup,
} from '../../src/model/policy.js';
import { parseProtocolName, type Protocol } from '../../src/model/protocol.js';
import type { Direction } from '../../src/model/reason.js';

export function cidr(text: string): Cidr {
  const p = parseCidr(text, true);
  if (!p) throw new Error(`bad cidr ${text}`);
  return p.cidr;
}

export function addr(text: string): Address {
  const a = parseAddress(text);
  if (!a) throw new Error(`bad address ${text}`);
  return a;
}

/** "80", "80-90", "80/90" -> range. */
export function ports(text: string | number): PortRange {
  if (typeof text === 'number') return { from: text, to: text };
  const m = /^(\d+)(?:[-/](\d+))?$/.exec(text);
  if (!m) throw new Error(`bad ports ${text}`);
  return { from: Number(m[1]), to: Number(m[2] ?? m[1]) };
}

export type PeerSpec = string | string[] | { group: string } | { prefixList: string; cidrs: string[] };

export interface RuleOpts {
  id?: string;
  ports?: string | number | (string | number)[];
  srcPorts?: string | number;
  locals?: string | string[];
  icmp?: [number | 'any', number | 'any'];
  priority?: number;
  nicType?: 'internet' | 'intranet';
  protocolText?: string;
}

/** A rule before its group assigns groupId/index and group peers are resolved. */
export interface RuleDraft {
  direction: Direction;
  action: Action;
  protocol: Protocol;
  peer: PeerSpec;
  opts: RuleOpts;
}

function proto(p: string | number): Protocol {
  if (typeof p === 'number') return p;
  const v = parseProtocolName(p);
  if (v === undefined) throw new Error(`bad protocol ${p}`);
  return v;
}

export function ingress(action: Action, protocol: string | number, peer: PeerSpec, opts: RuleOpts = {}): RuleDraft {
  return { direction: 'ingress', action, protocol: proto(protocol), peer, opts };
}
export function egress(action: Action, protocol: string | number, peer: PeerSpec, opts: RuleOpts = {}): RuleDraft {
  return { direction: 'egress', action, protocol: proto(protocol), peer, opts };
}
/** AWS style: allow rules only. */
export const allowIn = (p: string | number, peer: PeerSpec, o: RuleOpts = {}) => ingress('accept', p, peer, o);
export const allowOut = (p: string | number, peer: PeerSpec, o: RuleOpts = {}) => egress('accept', p, peer, o);

export interface GroupOpts {
  type?: GroupType;
  inner?: Action;
}

interface GroupDraft {
  id: string;
  opts: GroupOpts;
  rules: RuleDraft[];
}

export class PolicyBuilder {
  private readonly groupDrafts: GroupDraft[] = [];
  private readonly ifaces: Interface[] = [];
  private readonly extraMembers = new Map<string, Cidr[]>();
  private restrictTcp25: boolean;
  private probeSources: Cidr[] = [];

  constructor(readonly cloud: Cloud) {
    this.restrictTcp25 = cloud === 'alibaba';
  }

  group(id: string, rules: RuleDraft[], opts: GroupOpts = {}): this {
    this.groupDrafts.push({ id, opts, rules });
    return this;
  }

  iface(id: string, addresses: string[], groupIds: string[], nicType?: 'internet' | 'intranet'): this {
    const i: Interface = { id, addresses: addresses.map(addr), groupIds, path: `interfaces[${this.ifaces.length}]` };
    if (nicType) i.nicType = nicType;
    this.ifaces.push(i);
    return this;
  }

  /** groupMembers: members living on other hosts. */
  members(groupId: string, cidrs: string[]): this {
    this.extraMembers.set(groupId, [...(this.extraMembers.get(groupId) ?? []), ...cidrs.map(cidr)]);
    return this;
  }

  platform(p: { restrictTcp25?: boolean; probeSources?: string[] }): this {
    if (p.restrictTcp25 !== undefined) this.restrictTcp25 = p.restrictTcp25;
    if (p.probeSources) this.probeSources = p.probeSources.map(cidr);
    return this;
  }

  build(): Policy {
    const members = new Map<string, Cidr[]>();
    for (const g of this.groupDrafts) {
      const m: Cidr[] = [];
      for (const i of this.ifaces) if (i.groupIds.includes(g.id)) m.push(...i.addresses.map(hostCidr));
      m.push(...(this.extraMembers.get(g.id) ?? []));
      members.set(g.id, m);
    }
    for (const [gid, cs] of this.extraMembers) if (!members.has(gid)) members.set(gid, cs);
    const groups = new Map<string, SecurityGroup>();
    this.groupDrafts.forEach((g, gi) => {
      const path = `securityGroups[${gi}]`;
      const rules = g.rules.map((d, index) => buildRule(this.cloud, g.id, d, index, `${path}.rules[${index}]`, members));
      groups.set(g.id, {
        id: g.id,
        type: g.opts.type ?? 'normal',
        innerAccessPolicy: g.opts.inner ?? 'accept',
        rules,
        path,
      });
    });
    return {
      cloud: this.cloud,
      file: '<test>',
      interfaces: this.ifaces,
      groups,
      members,
      conntrack: {
        maxFlows: 1000,
        maxFragments: 64,
        timeouts: {
          tcpSynSent: 120, tcpSynRecv: 60, tcpEstablished: 432000, tcpFinWait: 120, tcpCloseWait: 60,
          tcpLastAck: 30, tcpTimeWait: 120, tcpClose: 10, udp: 30, udpStream: 180, icmp: 30, other: 600,
          fragment: 30,
        },
      },
      platform: { restrictTcp25: this.restrictTcp25, probeSources: this.probeSources },
      quotas: { groupsPerInterface: 5, rulesPerGroup: 60, rulesPerInterface: 1000 },
    };
  }
}

function buildRule(
  cloud: Cloud,
  groupId: string,
  d: RuleDraft,
  index: number,
  path: string,
  members: Map<string, Cidr[]>,
): Rule {
  const o = d.opts;
  let peers: Cidr[];
  let peerKind: Rule['peerKind'] = 'cidr';
  let peerRef: string | undefined;
  if (typeof d.peer === 'string') peers = [cidr(d.peer)];
  else if (Array.isArray(d.peer)) peers = d.peer.map(cidr);
  else if ('group' in d.peer) {
    peerKind = 'group';
    peerRef = d.peer.group;
    peers = members.get(d.peer.group) ?? [];
  } else {
    peerKind = 'prefix-list';
    peerRef = d.peer.prefixList;
    peers = d.peer.cidrs.map(cidr);
  }
  const ported = d.protocol === 6 || d.protocol === 17;
  const dst = o.ports === undefined ? 'any' : (Array.isArray(o.ports) ? o.ports : [o.ports]).map(ports);
  const icmp: IcmpMatch | 'any' = o.icmp ? { type: o.icmp[0], code: o.icmp[1] } : 'any';
  const r: Rule = {
    id: o.id ?? `${groupId}:${d.direction}:${index}`,
    groupId,
    direction: d.direction,
    action: d.action,
    priority: cloud === 'alibaba' ? (o.priority ?? 1) : 0,
    protocol: d.protocol,
    peers,
    peerKind,
    locals: o.locals === undefined ? 'any' : (Array.isArray(o.locals) ? o.locals : [o.locals]).map(cidr),
    dstPorts: ported ? dst : 'any',
    srcPorts: ported && o.srcPorts !== undefined ? ports(o.srcPorts) : 'any',
    icmp,
    index,
    path,
    quotaWeight: 1,
  };
  if (peerRef !== undefined) r.peerRef = peerRef;
  if (o.nicType) r.nicType = o.nicType;
  if (o.protocolText !== undefined) r.protocolText = o.protocolText;
  return r;
}

export function policy(cloud: Cloud): PolicyBuilder {
  return new PolicyBuilder(cloud);
}

export interface TupleSpec {
  proto: string | number;
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  type?: number;
  code?: number;
}

/** A packet tuple from text addresses. */
export function tuple(s: TupleSpec): PacketTuple {
  const a = addr(s.src);
  const b = addr(s.dst);
  if (a.family !== b.family) throw new Error('mixed families');
  const p = proto(s.proto);
  if (p === 'any') throw new Error('a packet has a protocol');
  const t: PacketTuple = { family: a.family as Family, protocol: p, src: a.addr, dst: b.addr };
  if (s.sport !== undefined) t.srcPort = s.sport;
  if (s.dport !== undefined) t.dstPort = s.dport;
  if (s.type !== undefined) t.icmpType = s.type;
  if (s.code !== undefined) t.icmpCode = s.code;
  return t;
}

export const tcp = (src: string, dst: string, dport: number, sport = 40000) => tuple({ proto: 'tcp', src, dst, sport, dport });
export const udp = (src: string, dst: string, dport: number, sport = 40000) => tuple({ proto: 'udp', src, dst, sport, dport });
export const icmp = (src: string, dst: string, type: number, code = 0) =>
  tuple({ proto: addr(src).family === 4 ? 'icmp' : 'icmpv6', src, dst, type, code });
