// Safety checks before `sgfw run --inline` starts: anything that would let traffic around the
// firewall, or break capture, is refused or warned about, with the command that fixes it.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';

export interface Finding {
  level: 'refuse' | 'warn';
  message: string;
  fix: string;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function addresses(dev: string): string[] {
  try {
    const out = execFileSync('ip', ['-j', 'addr', 'show', 'dev', dev], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const j = JSON.parse(out) as { addr_info?: { local: string; prefixlen: number; scope: string }[] }[];
    return (j[0]?.addr_info ?? []).filter((a) => a.scope !== 'link').map((a) => `${a.local}/${a.prefixlen}`);
  } catch {
    return [];
  }
}

function offloads(dev: string): Record<string, boolean> {
  try {
    const out = execFileSync('ethtool', ['-k', dev], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const r: Record<string, boolean> = {};
    for (const line of out.split('\n')) {
      const m = /^([a-z-]+): (on|off)/.exec(line.trim());
      if (m) r[m[1]!] = m[2] === 'on';
    }
    return r;
  } catch {
    return {};
  }
}

/** Checks for `run --inline OUTSIDE:INSIDE`. `vnetHdr`: offloaded frames are carried (PACKET_VNET_HDR). */
export function inlinePreflight(outside: string, inside: string, vnetHdr: boolean): Finding[] {
  const f: Finding[] = [];
  for (const dev of [outside, inside]) {
    if (!existsSync(`/sys/class/net/${dev}`)) {
      f.push({ level: 'refuse', message: `interface ${dev} does not exist`, fix: 'ip link show' });
    }
  }
  if (outside === inside) f.push({ level: 'refuse', message: 'OUTSIDE and INSIDE are the same interface', fix: 'name two NICs' });
  if (f.length) return f;

  for (const dev of [outside, inside]) {
    if (existsSync(`/sys/class/net/${dev}/master`)) {
      const master = readlinkSync(`/sys/class/net/${dev}/master`).split('/').pop();
      f.push({
        level: 'refuse',
        message: `${dev} is a port of ${master}: the kernel would switch traffic around sgfw`,
        fix: `ip link set dev ${dev} nomaster`,
      });
    }
  }
  const addrs = [outside, inside].map((d) => [d, addresses(d)] as const).filter(([, a]) => a.length > 0);
  const v4fwd = read('/proc/sys/net/ipv4/ip_forward') === '1';
  const v6fwd = read('/proc/sys/net/ipv6/conf/all/forwarding') === '1';
  if ((v4fwd || v6fwd) && addrs.length > 0) {
    f.push({
      level: 'refuse',
      message: `IP forwarding is on and ${addrs.map(([d, a]) => `${d} has ${a.join(', ')}`).join('; ')}: the kernel would route traffic around sgfw`,
      fix: `sysctl -w net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0   (or: ip addr flush dev ${addrs[0]![0]})`,
    });
  } else if (v4fwd || v6fwd) {
    f.push({
      level: 'warn',
      message: 'IP forwarding is on in this namespace (no address on the bridged NICs, so nothing is routed between them)',
      fix: 'sysctl -w net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0',
    });
  }
  for (const [d, a] of addrs) {
    if (!(v4fwd || v6fwd)) {
      f.push({ level: 'warn', message: `${d} has addresses (${a.join(', ')}): the host's own traffic on it is bridged and judged too`, fix: `ip addr flush dev ${d}` });
    }
  }
  const mtuO = read(`/sys/class/net/${outside}/mtu`);
  const mtuI = read(`/sys/class/net/${inside}/mtu`);
  if (mtuO !== mtuI) {
    f.push({
      level: 'warn',
      message: `MTUs differ (${outside} ${mtuO}, ${inside} ${mtuI}): full-size frames from the larger side cannot be sent on`,
      fix: `ip link set dev ${Number(mtuO) > Number(mtuI) ? outside : inside} mtu ${Math.min(Number(mtuO), Number(mtuI))}`,
    });
  }
  if (!vnetHdr) {
    for (const dev of [outside, inside]) {
      const o = offloads(dev);
      const on = ['generic-receive-offload', 'tcp-segmentation-offload', 'generic-segmentation-offload', 'tx-checksumming']
        .filter((k) => o[k]);
      if (on.length) {
        f.push({
          level: 'warn',
          message: `${dev} has ${on.join(', ')} on but --no-vnet-hdr was given: super-frames and partial checksums cannot be forwarded`,
          fix: `ethtool -K ${dev} gro off gso off tso off tx off`,
        });
      }
    }
  }
  return f;
}
