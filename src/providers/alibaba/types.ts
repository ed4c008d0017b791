// The Alibaba Cloud ECS shapes sgfw reads: DescribeSecurityGroupAttribute's response (one
// group), plus SecurityGroupType from DescribeSecurityGroups. Every value is a string; the
// real API prints every key and leaves unused ones as "" (an empty string means absent).

export interface AlibabaPermission {
  SecurityGroupRuleId?: string;
  /** "ingress" | "egress". */
  Direction: string;
  /** "Accept" | "Drop", case-insensitive; default Accept. */
  Policy?: string;
  /** "1".."100", 1 first; default "1". */
  Priority?: string;
  /** TCP, UDP, ICMP, ICMPv6, GRE, ALL or "0".."255", case-insensitive. */
  IpProtocol: string;
  /** "a/b": TCP/UDP 1..65535; "-1/-1" for the others. */
  PortRange?: string;
  /** Port list id; ignored when PortRange is given. */
  PortRangeListId?: string;
  /** 5-tuple rules: the source port range (TCP/UDP). */
  SourcePortRange?: string;
  SourceCidrIp?: string;
  Ipv6SourceCidrIp?: string;
  SourceGroupId?: string;
  SourcePrefixListId?: string;
  DestCidrIp?: string;
  Ipv6DestCidrIp?: string;
  DestGroupId?: string;
  DestPrefixListId?: string;
  /** Classic network: "internet" | "intranet". */
  NicType?: string;
  Description?: string;
}

export interface AlibabaSecurityGroup {
  SecurityGroupId: string;
  SecurityGroupName?: string;
  /** "normal" (basic, the default) | "enterprise". */
  SecurityGroupType?: string;
  /** "Accept" (default) | "Drop": traffic between members of a basic group. */
  InnerAccessPolicy?: string;
  Permissions?: { Permission: AlibabaPermission[] };
}
