// The verdict vocabulary of spec section 6. Same names, same order as native/core/reason.h
// (test/table-format.test.ts checks that the two agree).

export type Verdict = 'accept' | 'drop';
export type Direction = 'ingress' | 'egress';
export const DIRECTIONS: readonly Direction[] = ['ingress', 'egress'];

export const REASONS = [
  'rule',
  'default',
  'established',
  'related',
  'platform',
  'infrastructure',
  'no-interface',
  'malformed',
  'invalid',
  'fragment',
  'conntrack-full',
] as const;
export type Reason = (typeof REASONS)[number];

export const MALFORMED_SUBS = [
  'none', 'link', 'ipv4-header', 'ipv4-length', 'ipv6-header', 'ipv6-ext-chain',
  'tcp', 'udp', 'icmp', 'tiny-fragment', 'fragment',
] as const;
export const INVALID_SUBS = ['none', 'tcp-flags', 'tcp-state'] as const;
