// Lint through the loader: the IpProtocol spelling is kept, so "6" next to "tcp" (AWS) and
// "6" next to "TCP" (Alibaba) is reported as the same protocol written twice.
import { describe, expect, it } from 'vitest';
import { lint } from '../../src/lint/lint.js';
import { parsePolicy } from '../../src/policy/load.js';

function warnings(json: unknown): string[] {
  const r = parsePolicy(json, 'p.json');
  expect(r.policy, JSON.stringify(r.diagnostics)).toBeDefined();
  return lint(r.policy!).map((d) => `${d.code} ${d.message}`);
}

describe('"6" vs "tcp" duplicates', () => {
  it('AWS', () => {
    const w = warnings({
      cloud: 'aws',
      interfaces: [{ id: 'eni-1', addresses: ['198.18.1.10'], securityGroups: ['sg-a'] }],
      securityGroups: [{
        GroupId: 'sg-a',
        IpPermissions: [
          { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '198.19.0.0/24' }] },
          { IpProtocol: '6', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '198.19.0.0/24' }] },
        ],
        IpPermissionsEgress: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
      }],
    });
    expect(w.some((x) => x.startsWith('WARN_RULE_DUPLICATE_PROTOCOL_ALIAS') && x.includes('"6" and "tcp"'))).toBe(true);
  });

  it('Alibaba', () => {
    const perm = (proto: string) => ({
      Direction: 'ingress', Policy: 'Accept', Priority: '1', IpProtocol: proto, PortRange: '22/22', SourceCidrIp: '198.19.0.0/24',
    });
    const w = warnings({
      cloud: 'alibaba',
      interfaces: [{ id: 'eni-1', addresses: ['198.18.1.10'], securityGroups: ['sg-b'] }],
      securityGroups: [{ SecurityGroupId: 'sg-b', Permissions: { Permission: [perm('TCP'), perm('6')] } }],
    });
    expect(w.some((x) => x.startsWith('WARN_RULE_DUPLICATE_PROTOCOL_ALIAS'))).toBe(true);
  });
});
