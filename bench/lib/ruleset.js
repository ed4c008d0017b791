// The live benchmarks' policy and its nftables equivalent.
//
// One Alibaba interface (the server, 198.18.0.2 and 2001:db8::2) in 10 basic groups of 100
// rules: 1,000 rules, the Alibaba per-interface maximum. Filler rules (TCP/UDP port ranges,
// ICMP, some IPv6, ~20 % Drop, priorities 1-99) have peers in 198.19.0.0/16 and
// 2001:db8:ff00::/40, so none matches the benchmark's client (198.18.0.1); the rules that let
// the benchmark through (TCP and UDP 5201, ICMP, from 198.18.0.0/24) come last, at priority
// 100. Every new flow is therefore judged against the whole set, in sgfw as in nftables.
//
// The nftables ruleset is what a careful admin writes for the same policy: conntrack first
// (`ct state established,related accept`), then the interface's own outbound traffic (Alibaba's
// basic-group default: outbound allowed), then the 1,000 rules in Alibaba's evaluation order
// (priority, Drop before Accept at equal priority, then group and rule order), then drop.

const GROUPS = 10;
const PER_GROUP = 100;
export const IPERF_PORT = 5201;
export const SERVER_V4 = '198.18.0.2';
export const SERVER_V6 = '2001:db8::2';

/** A small deterministic PRNG (mulberry32). */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Neutral rules: { group, index, priority, accept, v6, proto: 'tcp'|'udp'|'icmp', ports?: [lo,hi], peer }. */
export function benchRules(total = GROUPS * PER_GROUP, seed = 7) {
  const r = rng(seed);
  const int = (lo, hi) => lo + Math.floor(r() * (hi - lo + 1));
  const rules = [];
  const finals = [
    { proto: 'tcp', ports: [IPERF_PORT, IPERF_PORT] },
    { proto: 'udp', ports: [IPERF_PORT, IPERF_PORT] },
    { proto: 'icmp' },
  ];
  const fillers = total - finals.length;
  for (let i = 0; i < fillers; i++) {
    const v6 = r() < 0.15;
    const proto = r() < 0.55 ? 'tcp' : r() < 0.85 ? 'udp' : 'icmp';
    let ports;
    if (proto !== 'icmp') {
      const lo = r() < 0.6 ? int(1, 10000) : int(10000, 65000);
      ports = r() < 0.6 ? [lo, lo] : [lo, Math.min(65535, lo + int(1, 2000))];
    }
    let peer;
    if (v6) {
      const len = [40, 48, 56, 64, 128][int(0, 4)];
      const words = ['2001', 'db8', `ff${int(0, 255).toString(16).padStart(2, '0')}`, int(0, 0xffff).toString(16), int(0, 0xffff).toString(16)];
      peer = len === 128 ? `${words.join(':')}::${int(1, 0xffff).toString(16)}/128` : `${words.slice(0, Math.ceil(len / 16)).join(':')}::/${len}`;
      // Canonical network: mask the last partial word.
      peer = canon6(peer);
    } else {
      const len = [16, 20, 24, 24, 28, 32, 32][int(0, 6)];
      const ip = (198 << 24 | 19 << 16 | int(0, 255) << 8 | int(0, 255)) >>> 0;
      const mask = len === 0 ? 0 : (~0 << (32 - len)) >>> 0;
      peer = `${v4text((ip & mask) >>> 0)}/${len}`;
    }
    rules.push({ priority: int(1, 99), accept: r() >= 0.2, v6, proto, ports, peer });
  }
  for (const f of finals) rules.push({ priority: 100, accept: true, v6: false, ...f, peer: '198.18.0.0/24' });
  return rules.map((x, i) => ({ ...x, group: i % GROUPS, index: Math.floor(i / GROUPS), id: `sgr-live-${String(i).padStart(4, '0')}` }));
}

function v4text(n) {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function canon6(cidr) {
  const [addr, lenText] = cidr.split('/');
  const len = Number(lenText);
  const [head] = addr.split('::');
  const words = head.split(':').map((w) => parseInt(w, 16));
  while (words.length < 8) words.push(0);
  for (let i = 0; i < 8; i++) {
    const keep = Math.max(0, Math.min(16, len - 16 * i));
    words[i] = keep === 0 ? 0 : words[i] & ((0xffff << (16 - keep)) & 0xffff);
  }
  // Compress the trailing zero words.
  let last = 7;
  while (last >= 0 && words[last] === 0) last--;
  const text = words.slice(0, last + 1).map((w) => w.toString(16)).join(':');
  return `${text}${last < 7 ? '::' : ''}/${len}`;
}

/** Alibaba policy JSON (spec section 1.2) for the server interface. */
export function alibabaPolicy(rules) {
  const groups = Array.from({ length: GROUPS }, (_, g) => ({
    SecurityGroupId: `sg-live-${g}`,
    SecurityGroupType: 'normal',
    InnerAccessPolicy: 'Accept',
    Permissions: { Permission: [] },
  }));
  for (const x of rules) {
    const p = {
      SecurityGroupRuleId: x.id,
      Direction: 'ingress',
      Policy: x.accept ? 'Accept' : 'Drop',
      Priority: String(x.priority),
      IpProtocol: x.proto === 'icmp' ? (x.v6 ? 'ICMPv6' : 'ICMP') : x.proto.toUpperCase(),
      PortRange: x.ports ? `${x.ports[0]}/${x.ports[1]}` : '-1/-1',
    };
    if (x.v6) p.Ipv6SourceCidrIp = x.peer;
    else p.SourceCidrIp = x.peer;
    groups[x.group].Permissions.Permission.push(p);
  }
  return {
    cloud: 'alibaba',
    interfaces: [{ id: 'eni-server', addresses: [SERVER_V4, SERVER_V6], securityGroups: groups.map((g) => g.SecurityGroupId) }],
    securityGroups: groups,
  };
}

/** Alibaba evaluation order (spec section 3). */
export function alibabaOrder(rules) {
  return [...rules].sort((a, b) => a.priority - b.priority || Number(a.accept) - Number(b.accept) || a.group - b.group || a.index - b.index);
}

function nftRule(x) {
  const fam = x.v6 ? 'ip6' : 'ip';
  const dst = x.v6 ? SERVER_V6 : SERVER_V4;
  let l4;
  if (x.proto === 'icmp') l4 = `meta l4proto ${x.v6 ? 'ipv6-icmp' : 'icmp'}`;
  else l4 = `${x.proto} dport ${x.ports[0] === x.ports[1] ? x.ports[0] : `${x.ports[0]}-${x.ports[1]}`}`;
  return `${fam} saddr ${x.peer} ${fam} daddr ${dst} ${l4} ${x.accept ? 'accept' : 'drop'}`;
}

/**
 * nftables ruleset (nft -f input). mode 'forward': the fw namespace of the inline topology,
 * traffic to the server enters on OUTSIDE; the server's own outbound traffic enters on INSIDE.
 * mode 'input': the server namespace itself (host mode's kernel baseline).
 */
export function nftRuleset(rules, mode, { inside = 'inside' } = {}) {
  const body = alibabaOrder(rules).map((x) => `    ${nftRule(x)}`);
  if (mode === 'forward') {
    return [
      'table inet sgfwbench {',
      '  chain filter_forward {',
      '    type filter hook forward priority filter; policy drop;',
      '    ct state established,related accept',
      `    iifname "${inside}" accept`,
      ...body,
      '    drop',
      '  }',
      '}',
      '',
    ].join('\n');
  }
  return [
    'table inet sgfwbench {',
    '  chain filter_input {',
    '    type filter hook input priority filter; policy drop;',
    '    iifname "lo" accept',
    '    ct state established,related accept',
    ...body,
    '    drop',
    '  }',
    '  chain filter_output {',
    '    type filter hook output priority filter; policy accept;',
    '  }',
    '}',
    '',
  ].join('\n');
}
