// Seeded random policies for the differential test, in the clouds' own JSON shapes, with
// addresses only from 198.18.0.0/15 and 2001:db8::/32 (plus 0.0.0.0/0 and ::/0), and only what
// nftables can express next to them: TCP, UDP, ICMP, ICMPv6 and "all" rules.

import { prng } from '../helpers/random-policy.js';

const V4 = ['0.0.0.0/0', '198.18.0.0/15', '198.19.0.0/16', '198.19.0.0/17', '198.19.128.0/17', '198.19.7.0/24', '198.19.66.0/24',
  '198.19.200.0/25', '198.18.2.0/24', '198.19.9.9/32', '198.19.100.0/22'];
const V6 = ['::/0', '2001:db8::/32', '2001:db8:2::/48', '2001:db8:3::/48', '2001:db8:2:7::/64', '2001:db8:2::9/128'];
const PORTS = [[80, 80], [443, 443], [22, 22], [1, 1024], [1024, 65535], [8000, 8100], [53, 53], [5000, 5100], [1, 65535], [25, 25]] as const;

type Perm = Record<string, unknown>;

export function randomAlibaba(seed: number, server: { v4: string; v6: string }): unknown {
  const rnd = prng(seed);
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const groups: { id: string; perms: Perm[] }[] = [{ id: 'sg-r0', perms: [] }, { id: 'sg-r1', perms: [] }];
  for (let k = 0; k < 22; k++) {
    const v6 = rnd() < 0.3;
    const dir = rnd() < 0.65 ? 'ingress' : 'egress';
    const proto = pick(['TCP', 'TCP', 'TCP', 'UDP', 'UDP', v6 ? 'ICMPv6' : 'ICMP', 'ALL']);
    const ports = proto === 'TCP' || proto === 'UDP' ? pick(PORTS) : undefined;
    const peer = v6 ? pick(V6) : pick(V4);
    const p: Perm = {
      Direction: dir,
      Policy: rnd() < 0.35 ? 'Drop' : 'Accept',
      Priority: String(1 + Math.floor(rnd() * 5)),
      IpProtocol: proto,
      PortRange: ports ? `${ports[0]}/${ports[1]}` : '-1/-1',
    };
    const key = dir === 'ingress' ? (v6 ? 'Ipv6SourceCidrIp' : 'SourceCidrIp') : v6 ? 'Ipv6DestCidrIp' : 'DestCidrIp';
    p[key] = peer;
    if (ports && dir === 'ingress' && rnd() < 0.15) p.SourcePortRange = '1024/65535';
    pick(groups).perms.push(p);
  }
  return {
    cloud: 'alibaba',
    interfaces: [{ id: 'eni-rand', addresses: [server.v4, server.v6], securityGroups: groups.map((g) => g.id) }],
    securityGroups: groups.map((g) => ({ SecurityGroupId: g.id, Permissions: { Permission: g.perms } })),
  };
}

export function randomAws(seed: number, server: { v4: string; v6: string }): unknown {
  const rnd = prng(seed);
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const perm = (): Perm => {
    const proto = pick(['tcp', 'tcp', 'tcp', 'udp', 'udp', 'icmp', 'icmpv6', '-1']);
    const v4 = proto === 'icmpv6' ? [] : proto === 'icmp' || rnd() < 0.8 ? [pick(V4.filter((c) => c !== '0.0.0.0/0' || rnd() < 0.3))] : [];
    const v6 = proto === 'icmp' ? [] : v4.length === 0 || rnd() < 0.3 ? [pick(V6.filter((c) => c !== '::/0' || rnd() < 0.3))] : [];
    const p: Perm = { IpProtocol: proto, IpRanges: v4.map((c) => ({ CidrIp: c })), Ipv6Ranges: v6.map((c) => ({ CidrIpv6: c })) };
    if (proto === 'tcp' || proto === 'udp') {
      const [a, b] = pick(PORTS);
      p.FromPort = a;
      p.ToPort = b;
    } else if (proto === 'icmp') {
      const [a, b] = pick([[-1, -1], [8, -1], [3, 4], [0, -1], [11, 0], [13, -1]] as const);
      p.FromPort = a;
      p.ToPort = b;
    } else if (proto === 'icmpv6') {
      const [a, b] = pick([[-1, -1], [128, -1], [1, 4], [2, 0]] as const);
      p.FromPort = a;
      p.ToPort = b;
    }
    return p;
  };
  const n = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  return {
    cloud: 'aws',
    interfaces: [{ id: 'eni-rand', addresses: [server.v4, server.v6], securityGroups: ['sg-r0', 'sg-r1'] }],
    securityGroups: ['sg-r0', 'sg-r1'].map((id) => ({
      GroupId: id,
      IpPermissions: Array.from({ length: n(3, 7) }, perm),
      IpPermissionsEgress: Array.from({ length: n(1, 4) }, perm),
    })),
  };
}
