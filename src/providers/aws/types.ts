// The AWS shapes sgfw reads, as `aws ec2 describe-security-groups` prints them (SecurityGroups[]).
// Only the keys below mean anything; other keys (Tags, OwnerId, ...) are ignored.

export interface AwsIpRange {
  CidrIp: string;
  Description?: string;
}

export interface AwsIpv6Range {
  CidrIpv6: string;
  Description?: string;
}

export interface AwsPrefixListId {
  PrefixListId: string;
  Description?: string;
}

export interface AwsUserIdGroupPair {
  /** "sg-..."; aws-classic also "<account>/sg-...". */
  GroupId: string;
  UserId?: string;
  GroupName?: string;
  VpcId?: string;
}

export interface AwsIpPermission {
  /** "tcp" | "udp" | "icmp" | "icmpv6" | "-1" | "0".."255". */
  IpProtocol: string;
  /** TCP/UDP: first port. ICMP: type, -1 any. Absent for "-1" and other protocols. */
  FromPort?: number;
  /** TCP/UDP: last port. ICMP: code, -1 any. */
  ToPort?: number;
  IpRanges?: AwsIpRange[];
  Ipv6Ranges?: AwsIpv6Range[];
  PrefixListIds?: AwsPrefixListId[];
  UserIdGroupPairs?: AwsUserIdGroupPair[];
}

export interface AwsSecurityGroup {
  GroupId: string;
  GroupName?: string;
  VpcId?: string;
  Description?: string;
  IpPermissions?: AwsIpPermission[];
  IpPermissionsEgress?: AwsIpPermission[];
}

/** The whole CLI output, accepted as the value of `securityGroups`. */
export interface AwsDescribeSecurityGroups {
  SecurityGroups: AwsSecurityGroup[];
}
