// sgfw explain: the stateless decision for one packet and the rule that made it — the
// question users ask most ("which rule dropped this, and why").
import { parse, flag, int, required, str } from './args.js';
import { UsageError } from './exit.js';
import { loadPolicyTable } from '../dataplane/policy-table.js';
import { explain } from '../explain/explain.js';
import { parseAddress } from '../model/cidr.js';
import type { PacketTuple } from '../model/policy.js';
import { hasPorts, isIcmpOf, parseProtocolName, protocolName } from '../model/protocol.js';
import type { Direction } from '../model/reason.js';
import { writeOut } from './output.js';

const OPTIONS = {
  policy: { type: 'string' },
  interface: { type: 'string' },
  direction: { type: 'string' },
  protocol: { type: 'string' },
  src: { type: 'string' },
  dst: { type: 'string' },
  'src-port': { type: 'string' },
  'dst-port': { type: 'string' },
  'icmp-type': { type: 'string' },
  'icmp-code': { type: 'string' },
  json: { type: 'boolean' },
} as const;

const TIE_TEXT: Record<string, string> = {
  priority: 'it has a lower priority number than the next matching rule',
  'drop-first': 'Drop comes before Accept at equal priority',
  'group-order': 'its group comes earlier in attach order',
  'rule-index': 'it comes earlier in the same group',
  'only-match': 'no other rule matches',
  union: 'other rules allow it too (AWS: the union of all rules); the first in attach order is reported',
  'untracked-first': 'an untracked rule allows it (reported before tracked ones)',
  platform: 'platform traffic is decided before custom rules',
  default: 'no custom rule matched: the hidden default decides',
};

export async function runExplain(argv: string[]): Promise<number> {
  const p = parse('explain', argv, OPTIONS, 0);
  const file = required('explain', p, 'policy');
  const ifaceId = required('explain', p, 'interface');
  const dirText = required('explain', p, 'direction');
  if (dirText !== 'ingress' && dirText !== 'egress') {
    throw new UsageError(`sgfw explain: --direction ${JSON.stringify(dirText)} is not ingress or egress`);
  }
  const dir: Direction = dirText;
  const protoText = required('explain', p, 'protocol');
  const proto = parseProtocolName(protoText);
  if (proto === undefined || proto === 'any') {
    throw new UsageError(`sgfw explain: --protocol ${JSON.stringify(protoText)} is not a protocol name or number 0..255`);
  }
  const addr = (name: 'src' | 'dst') => {
    const text = required('explain', p, name);
    const a = parseAddress(text);
    if (!a) throw new UsageError(`sgfw explain: --${name} ${JSON.stringify(text)} is not an IPv4 or IPv6 address`);
    return a;
  };
  const src = addr('src');
  const dst = addr('dst');
  if (src.family !== dst.family) throw new UsageError('sgfw explain: --src and --dst are of different families');
  const tuple: PacketTuple = { family: src.family, protocol: proto, src: src.addr, dst: dst.addr };
  if (hasPorts(proto)) {
    tuple.srcPort = int('explain', p, 'src-port', 0, 65535) ?? 0;
    tuple.dstPort = int('explain', p, 'dst-port', 0, 65535);
    if (tuple.dstPort === undefined) throw new UsageError(`sgfw explain: --dst-port is required for ${protocolName(proto)}`);
  } else if (isIcmpOf(proto, src.family)) {
    tuple.icmpType = int('explain', p, 'icmp-type', 0, 255) ?? (src.family === 4 ? 8 : 128);
    tuple.icmpCode = int('explain', p, 'icmp-code', 0, 255) ?? 0;
  } else if (str(p, 'dst-port') !== undefined || str(p, 'src-port') !== undefined) {
    throw new UsageError(`sgfw explain: ${protocolName(proto)} has no ports`);
  }

  const loaded = loadPolicyTable(file);
  if (!loaded.policy.interfaces.some((i) => i.id === ifaceId)) {
    throw new UsageError(
      `sgfw explain: --interface ${JSON.stringify(ifaceId)} is not in ${file} (interfaces: ${loaded.policy.interfaces.map((i) => i.id).join(', ')})`,
    );
  }
  const x = explain(loaded.policy, loaded.table, ifaceId, dir, tuple);
  if (flag(p, 'json')) {
    writeOut(`${JSON.stringify(x)}\n`);
    return 0;
  }
  const out: string[] = [`${x.verdict} (${x.reason}): ${x.rule}`];
  const o = x.order;
  out.push(
    `  why first: ${TIE_TEXT[o.tieBreak] ?? o.tieBreak}` +
      (o.over ? ` (over ${o.over})` : '') +
      (o.priority !== undefined ? `; priority ${o.priority}` : '') +
      `; entry ${o.entry} of the ${ifaceId} ${dir} table`,
  );
  if (x.verdict === 'accept') {
    out.push(`  flow: ${x.tracked ? 'tracked (replies pass as established)' : 'untracked (every packet meets the rules, replies included)'}`);
  }
  if (x.nearMisses.length) {
    out.push('  nearest rules that missed:');
    for (const m of x.nearMisses) out.push(`    ${m.rule} (${m.path}): ${m.failed}: ${m.detail}`);
  }
  writeOut(`${out.join('\n')}\n`);
  return 0;
}
