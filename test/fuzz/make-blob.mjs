// Turns a policy into a table blob file for native/build/sgfw-replay-asan, with the BUILT
// controller (dist/: run `npm run build` first), so the sanitizer replay reads exactly what
// the controller hands the data plane.
//
//   node test/fuzz/make-blob.mjs [--max-flows N] POLICY.json OUT.blob
//   node test/fuzz/make-blob.mjs [--max-flows N] --permissive aws|alibaba OUT.blob ADDRESS...
//
// --max-flows sets conntrack.maxFlows (and maxFragments to a quarter of it) when the policy sets
// neither: the default million-flow table costs ~0.5 s to allocate under ASan per replay, and
// small tables reach the full-table paths.
//
// --permissive builds a policy with one interface per ADDRESS (the hosts of the traces, from
// `sgfw-replay-asan --list-addresses`), so every packet meets an interface, conntrack and the
// rules: AWS alternates an all-open group (untracked flows) with a tracked web/DNS/ICMP group;
// Alibaba mixes Accept and Drop rules by priority.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const distModule = path.join(repoRoot, 'dist', 'dataplane', 'policy-table.js');

function usage(msg) {
  if (msg) console.error(`make-blob: ${msg}`);
  console.error('usage: node test/fuzz/make-blob.mjs [--max-flows N] POLICY.json OUT.blob\n' +
    '       node test/fuzz/make-blob.mjs [--max-flows N] --permissive aws|alibaba OUT.blob ADDRESS...');
  process.exit(2);
}

function awsPolicy(addresses) {
  const all = () => [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }], Ipv6Ranges: [{ CidrIpv6: '::/0' }] }];
  const anywhere = { IpRanges: [{ CidrIp: '0.0.0.0/0' }], Ipv6Ranges: [{ CidrIpv6: '::/0' }] };
  return {
    cloud: 'aws',
    interfaces: addresses.map((a, i) => ({
      id: `eni-${i}`,
      addresses: [a],
      securityGroups: [i % 2 === 0 ? 'sg-web' : 'sg-open'],
    })),
    securityGroups: [
      {
        GroupId: 'sg-open',
        GroupName: 'open',
        Description: 'everything both ways: untracked TCP/UDP',
        IpPermissions: all(),
        IpPermissionsEgress: all(),
      },
      {
        GroupId: 'sg-web',
        GroupName: 'web',
        Description: 'web, mail, dns, icmp in (tracked); all out',
        IpPermissions: [
          { IpProtocol: 'tcp', FromPort: 20, ToPort: 445, ...anywhere },
          { IpProtocol: 'tcp', FromPort: 1024, ToPort: 65535, IpRanges: [{ CidrIp: '10.0.0.0/8' }] },
          { IpProtocol: 'udp', FromPort: 53, ToPort: 53, ...anywhere },
          { IpProtocol: 'icmp', FromPort: -1, ToPort: -1, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
          { IpProtocol: '58', FromPort: -1, ToPort: -1, Ipv6Ranges: [{ CidrIpv6: '::/0' }] },
          { IpProtocol: '47', ...anywhere },
        ],
        IpPermissionsEgress: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
      },
    ],
  };
}

function alibabaPolicy(addresses) {
  const perm = (id, dir, policy, prio, proto, ports, fam) => {
    const p = { SecurityGroupRuleId: id, Direction: dir, Policy: policy, Priority: String(prio),
      IpProtocol: proto, PortRange: ports };
    const any = fam === 4 ? '0.0.0.0/0' : '::/0';
    if (dir === 'ingress') p[fam === 4 ? 'SourceCidrIp' : 'Ipv6SourceCidrIp'] = any;
    else p[fam === 4 ? 'DestCidrIp' : 'Ipv6DestCidrIp'] = any;
    return p;
  };
  const both = (id, dir, policy, prio, proto, ports) =>
    [perm(`${id}-4`, dir, policy, prio, proto, ports, 4), perm(`${id}-6`, dir, policy, prio, proto, ports, 6)];
  return {
    cloud: 'alibaba',
    interfaces: addresses.map((a, i) => ({
      id: `eni-${i}`,
      addresses: [a],
      securityGroups: [i % 2 === 0 ? 'sg-mixed' : 'sg-open'],
    })),
    securityGroups: [
      {
        SecurityGroupId: 'sg-open',
        InnerAccessPolicy: 'Accept',
        Permissions: { Permission: [...both('sgr-open-in', 'ingress', 'Accept', 100, 'ALL', '-1/-1'),
          ...both('sgr-open-out', 'egress', 'Accept', 100, 'ALL', '-1/-1')] },
      },
      {
        SecurityGroupId: 'sg-mixed',
        InnerAccessPolicy: 'Drop',
        Permissions: { Permission: [
          ...both('sgr-telnet', 'ingress', 'Drop', 1, 'TCP', '23/23'),
          ...both('sgr-low', 'ingress', 'Accept', 5, 'TCP', '1/1023'),
          ...both('sgr-high', 'ingress', 'Drop', 10, 'TCP', '1024/65535'),
          ...both('sgr-udp', 'ingress', 'Accept', 5, 'UDP', '1/65535'),
          perm('sgr-icmp', 'ingress', 'Accept', 20, 'ICMP', '-1/-1', 4),
          perm('sgr-icmp6', 'ingress', 'Accept', 20, 'ICMPv6', '-1/-1', 6),
          ...both('sgr-gre', 'ingress', 'Accept', 30, 'GRE', '-1/-1'),
          ...both('sgr-out-smtp', 'egress', 'Drop', 1, 'TCP', '25/25'),
          ...both('sgr-out', 'egress', 'Accept', 50, 'ALL', '-1/-1'),
        ] },
      },
    ],
  };
}

const args = process.argv.slice(2);
let maxFlows;
if (args[0] === '--max-flows') {
  maxFlows = Number(args[1]);
  if (!Number.isInteger(maxFlows) || maxFlows < 1) usage('--max-flows needs a positive integer');
  args.splice(0, 2);
}
let policy;
let name;
let out;
if (args[0] === '--permissive') {
  const [, cloud, file, ...addresses] = args;
  if (!file || addresses.length === 0) usage('--permissive needs a cloud, an output file and addresses');
  const seen = [...new Set(addresses)];
  if (cloud === 'aws') policy = awsPolicy(seen);
  else if (cloud === 'alibaba') policy = alibabaPolicy(seen);
  else usage(`unknown cloud "${cloud}"`);
  name = `permissive-${cloud}.json`;
  out = file;
} else {
  if (args.length !== 2) usage();
  name = args[0];
  policy = JSON.parse(readFileSync(name, 'utf8'));
  out = args[1];
}

if (maxFlows !== undefined) {
  const ct = policy.conntrack ?? {};
  if (ct.maxFlows === undefined && ct.maxFragments === undefined) {
    policy.conntrack = { ...ct, maxFlows, maxFragments: Math.max(1, Math.floor(maxFlows / 4)) };
  }
}

let mod;
try {
  mod = await import(pathToFileURL(distModule).href);
} catch (e) {
  usage(`cannot import ${distModule} (run \`npm run build\` first): ${e.message}`);
}
let loaded;
try {
  loaded = mod.policyTableFromJson(policy, name);
} catch (e) {
  const diags = e.diagnostics ? '\n' + e.diagnostics.map((d) => `  ${d.path ?? ''} ${d.message}`).join('\n') : '';
  console.error(`make-blob: ${name}: ${e.message}${diags}`);
  process.exit(2);
}
writeFileSync(out, loaded.blob);
console.log(`make-blob: ${name} -> ${out} (${loaded.blob.length} bytes)`);
