// The embedded demo policies, in exactly the JSON shapes of spec section 1: what
// `sgfw replay` judges when run with no arguments (with the demo trace of ./trace.ts).
//
// The host: one web server ENI, eni-web-1, with 198.18.1.10 and 2001:db8:1::10 (test
// ranges only). Its neighbours: router 198.18.1.1 / 2001:db8:1::1, VPC resolver 198.18.0.2,
// database subnet 198.18.2.0/28, office prefix 198.19.200.0/24.
//
// DEMO_POLICY_AWS: a hardened web server. Ingress HTTP/HTTPS from anywhere (v4 and v6), ping
// from anywhere, SSH only from the office prefix list. Egress only what the server needs
// (HTTPS, DNS to the resolver, Postgres to the sg-db members, ping). Because no egress rule
// allows all TCP ports to 0.0.0.0/0, the inbound web flows are *tracked*: their replies pass
// as `established`, and an ICMP frag-needed quoting them passes as `related` (spec 2).
//
// DEMO_POLICY_ALIBABA: the same server under Alibaba semantics, written like the output of
// DescribeSecurityGroupAttribute (every key present, unused ones ""), for `--diff` against the
// AWS policy or for replay alone. Differences that the demo trace shows:
// - a priority-1 Drop for the blocklist 198.18.66.0/24 (a ping from there: accept -> drop);
// - an Accept for TCP 8080 (a scan SYN to 8080: drop -> accept);
// - an explicit Drop for SSH from anywhere, after the office Accept (reason `rule`, not `default`);
// - egress is open by the basic group's hidden default, but outbound TCP 25 is blocked by the
//   platform before any rule or default is consulted (reason `platform`).

/** The one interface of the demo host. */
export const DEMO_INTERFACE_ID = 'eni-web-1';
export const DEMO_SERVER_V4 = '198.18.1.10';
export const DEMO_SERVER_V6 = '2001:db8:1::10';
export const DEMO_OFFICE_CIDR = '198.19.200.0/24';
export const DEMO_BLOCKLIST_CIDR = '198.18.66.0/24';
export const DEMO_RESOLVER = '198.18.0.2';
export const DEMO_DB_MEMBERS = '198.18.2.0/28';

const officePrefixList = {
  PrefixListId: 'pl-office',
  PrefixListName: 'office',
  AddressFamily: 'IPv4',
  MaxEntries: 5,
  Entries: [{ Cidr: DEMO_OFFICE_CIDR, Description: 'head office' }],
};

/**
 * AWS (EC2-VPC). Rule ids follow spec 1.2's default form `<GroupId>:<direction>:<index>`,
 * index = position in IpPermissions / IpPermissionsEgress:
 *   sg-web:ingress:0  tcp 80 from 0.0.0.0/0 and ::/0
 *   sg-web:ingress:1  tcp 443 from 0.0.0.0/0 and ::/0
 *   sg-web:ingress:2  icmp echo request (8, any code) from 0.0.0.0/0
 *   sg-web:ingress:3  icmpv6 echo request (128, any code) from ::/0
 *   sg-web:egress:0   tcp 443 to 0.0.0.0/0 and ::/0
 *   sg-web:egress:1   udp 53 to 198.18.0.2/32
 *   sg-web:egress:2   tcp 5432 to members of sg-db (198.18.2.0/28 via groupMembers)
 *   sg-web:egress:3   icmp echo request to 0.0.0.0/0
 *   sg-admin:ingress:0 tcp 22 from prefix list pl-office (198.19.200.0/24)
 *   sg-admin:egress:0  udp 123 to 198.18.0.123/32 (NTP)
 * sg-db is not attached to this host; it only names the database members.
 */
export const DEMO_POLICY_AWS = {
  cloud: 'aws',
  interfaces: [
    { id: DEMO_INTERFACE_ID, addresses: [DEMO_SERVER_V4, DEMO_SERVER_V6], securityGroups: ['sg-web', 'sg-admin'] },
  ],
  // The whole object that `aws ec2 describe-security-groups` prints.
  securityGroups: {
    SecurityGroups: [
      {
        GroupId: 'sg-web',
        GroupName: 'web',
        VpcId: 'vpc-0demo',
        OwnerId: '123456789012',
        Description: 'public web server',
        IpPermissions: [
          {
            IpProtocol: 'tcp', FromPort: 80, ToPort: 80,
            IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'HTTP' }],
            Ipv6Ranges: [{ CidrIpv6: '::/0', Description: 'HTTP' }],
            PrefixListIds: [], UserIdGroupPairs: [],
          },
          {
            IpProtocol: 'tcp', FromPort: 443, ToPort: 443,
            IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'HTTPS' }],
            Ipv6Ranges: [{ CidrIpv6: '::/0', Description: 'HTTPS' }],
            PrefixListIds: [], UserIdGroupPairs: [],
          },
          {
            IpProtocol: 'icmp', FromPort: 8, ToPort: -1,
            IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'ping' }],
            Ipv6Ranges: [], PrefixListIds: [], UserIdGroupPairs: [],
          },
          {
            IpProtocol: 'icmpv6', FromPort: 128, ToPort: -1,
            IpRanges: [], Ipv6Ranges: [{ CidrIpv6: '::/0', Description: 'ping6' }],
            PrefixListIds: [], UserIdGroupPairs: [],
          },
        ],
        IpPermissionsEgress: [
          {
            IpProtocol: 'tcp', FromPort: 443, ToPort: 443,
            IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'updates' }],
            Ipv6Ranges: [{ CidrIpv6: '::/0', Description: 'updates' }],
            PrefixListIds: [], UserIdGroupPairs: [],
          },
          {
            IpProtocol: 'udp', FromPort: 53, ToPort: 53,
            IpRanges: [{ CidrIp: `${DEMO_RESOLVER}/32`, Description: 'VPC resolver' }],
            Ipv6Ranges: [], PrefixListIds: [], UserIdGroupPairs: [],
          },
          {
            IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432,
            IpRanges: [], Ipv6Ranges: [], PrefixListIds: [],
            UserIdGroupPairs: [{ GroupId: 'sg-db', UserId: '123456789012', Description: 'database' }],
          },
          {
            IpProtocol: 'icmp', FromPort: 8, ToPort: -1,
            IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'ping out' }],
            Ipv6Ranges: [], PrefixListIds: [], UserIdGroupPairs: [],
          },
        ],
        Tags: [{ Key: 'Name', Value: 'web' }],
      },
      {
        GroupId: 'sg-admin',
        GroupName: 'admin',
        VpcId: 'vpc-0demo',
        OwnerId: '123456789012',
        Description: 'administration',
        IpPermissions: [
          {
            IpProtocol: 'tcp', FromPort: 22, ToPort: 22,
            IpRanges: [], Ipv6Ranges: [],
            PrefixListIds: [{ PrefixListId: 'pl-office', Description: 'SSH from the office' }],
            UserIdGroupPairs: [],
          },
        ],
        IpPermissionsEgress: [
          {
            IpProtocol: 'udp', FromPort: 123, ToPort: 123,
            IpRanges: [{ CidrIp: '198.18.0.123/32', Description: 'NTP' }],
            Ipv6Ranges: [], PrefixListIds: [], UserIdGroupPairs: [],
          },
        ],
      },
      {
        GroupId: 'sg-db',
        GroupName: 'db',
        VpcId: 'vpc-0demo',
        OwnerId: '123456789012',
        Description: 'database servers (other hosts)',
        IpPermissions: [
          {
            IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432,
            IpRanges: [], Ipv6Ranges: [], PrefixListIds: [],
            UserIdGroupPairs: [{ GroupId: 'sg-web', UserId: '123456789012' }],
          },
        ],
        IpPermissionsEgress: [
          {
            IpProtocol: '-1',
            IpRanges: [{ CidrIp: '0.0.0.0/0' }],
            Ipv6Ranges: [], PrefixListIds: [], UserIdGroupPairs: [],
          },
        ],
      },
    ],
  },
  groupMembers: { 'sg-db': [DEMO_DB_MEMBERS] },
  prefixLists: [officePrefixList],
};

/** One Alibaba permission with every key present, as DescribeSecurityGroupAttribute prints it. */
function aliRule(r: {
  id: string; direction: 'ingress' | 'egress'; policy: 'Accept' | 'Drop'; priority: number;
  protocol: string; ports: string; source?: string; source6?: string; sourcePrefixList?: string;
  description: string;
}): Record<string, string> {
  return {
    SecurityGroupRuleId: r.id,
    Direction: r.direction,
    Policy: r.policy,
    Priority: String(r.priority),
    IpProtocol: r.protocol,
    PortRange: r.ports,
    PortRangeListId: '',
    SourcePortRange: '',
    SourceCidrIp: r.source ?? '',
    Ipv6SourceCidrIp: r.source6 ?? '',
    SourceGroupId: '',
    SourceGroupName: '',
    SourceGroupOwnerAccount: '',
    SourcePrefixListId: r.sourcePrefixList ?? '',
    SourcePrefixListName: '',
    DestCidrIp: '',
    Ipv6DestCidrIp: '',
    DestGroupId: '',
    DestGroupName: '',
    DestGroupOwnerAccount: '',
    DestPrefixListId: '',
    DestPrefixListName: '',
    NicType: 'intranet',
    Description: r.description,
    CreateTime: '2024-01-01T00:00:00Z',
  };
}

/**
 * Alibaba (VPC). Evaluation order on eni-web-1 (priority, then Drop before Accept, then group
 * attach order and rule order):
 *   1 Drop   r-web-blocklist    ingress ALL from 198.18.66.0/24
 *   1 Accept r-admin-ssh-office ingress TCP 22 from pl-office
 *  10 Accept r-web-http(6), r-web-https(6)  ingress TCP 80 / 443 from 0.0.0.0/0 and ::/0
 *  20 Accept r-web-alt          ingress TCP 8080 from 0.0.0.0/0
 *  50 Accept r-web-icmp(6)      ingress ICMP / ICMPv6 from anywhere
 * 100 Drop   r-admin-ssh-deny   ingress TCP 22 from 0.0.0.0/0
 * then the basic groups' hidden defaults: other inbound dropped, outbound accepted.
 */
export const DEMO_POLICY_ALIBABA = {
  cloud: 'alibaba',
  interfaces: [
    { id: DEMO_INTERFACE_ID, addresses: [DEMO_SERVER_V4, DEMO_SERVER_V6], securityGroups: ['sg-bp-web', 'sg-bp-admin'] },
  ],
  securityGroups: [
    {
      SecurityGroupId: 'sg-bp-web',
      SecurityGroupName: 'web',
      SecurityGroupType: 'normal',
      VpcId: 'vpc-bp-demo',
      RegionId: 'cn-hangzhou',
      Description: 'public web server',
      InnerAccessPolicy: 'Accept',
      Permissions: {
        Permission: [
          aliRule({ id: 'r-web-blocklist', direction: 'ingress', policy: 'Drop', priority: 1, protocol: 'ALL', ports: '-1/-1', source: DEMO_BLOCKLIST_CIDR, description: 'blocklist' }),
          aliRule({ id: 'r-web-http', direction: 'ingress', policy: 'Accept', priority: 10, protocol: 'TCP', ports: '80/80', source: '0.0.0.0/0', description: 'HTTP' }),
          aliRule({ id: 'r-web-http6', direction: 'ingress', policy: 'Accept', priority: 10, protocol: 'TCP', ports: '80/80', source6: '::/0', description: 'HTTP v6' }),
          aliRule({ id: 'r-web-https', direction: 'ingress', policy: 'Accept', priority: 10, protocol: 'TCP', ports: '443/443', source: '0.0.0.0/0', description: 'HTTPS' }),
          aliRule({ id: 'r-web-https6', direction: 'ingress', policy: 'Accept', priority: 10, protocol: 'TCP', ports: '443/443', source6: '::/0', description: 'HTTPS v6' }),
          aliRule({ id: 'r-web-alt', direction: 'ingress', policy: 'Accept', priority: 20, protocol: 'TCP', ports: '8080/8080', source: '0.0.0.0/0', description: 'alternate HTTP' }),
          aliRule({ id: 'r-web-icmp', direction: 'ingress', policy: 'Accept', priority: 50, protocol: 'ICMP', ports: '-1/-1', source: '0.0.0.0/0', description: 'ping' }),
          aliRule({ id: 'r-web-icmp6', direction: 'ingress', policy: 'Accept', priority: 50, protocol: 'ICMPv6', ports: '-1/-1', source6: '::/0', description: 'ping6' }),
        ],
      },
    },
    {
      SecurityGroupId: 'sg-bp-admin',
      SecurityGroupName: 'admin',
      SecurityGroupType: 'normal',
      VpcId: 'vpc-bp-demo',
      RegionId: 'cn-hangzhou',
      Description: 'administration',
      InnerAccessPolicy: 'Accept',
      Permissions: {
        Permission: [
          aliRule({ id: 'r-admin-ssh-office', direction: 'ingress', policy: 'Accept', priority: 1, protocol: 'TCP', ports: '22/22', sourcePrefixList: 'pl-office', description: 'SSH from the office' }),
          aliRule({ id: 'r-admin-ssh-deny', direction: 'ingress', policy: 'Drop', priority: 100, protocol: 'TCP', ports: '22/22', source: '0.0.0.0/0', description: 'no SSH from elsewhere' }),
        ],
      },
    },
  ],
  prefixLists: [officePrefixList],
};

/** The demo policies as the JSON text a user would save (2-space indented). */
export function demoPolicyJson(cloud: 'aws' | 'alibaba'): string {
  return `${JSON.stringify(cloud === 'aws' ? DEMO_POLICY_AWS : DEMO_POLICY_ALIBABA, null, 2)}\n`;
}
