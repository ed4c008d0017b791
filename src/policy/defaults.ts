// Per-cloud defaults and limits (spec sections 2 and 3): conntrack timeouts, platform
// behaviour and quotas. A policy's `conntrack`, `platform` and `quotas` objects override these
// within the ranges below.
import type { Cloud, ConntrackConfig, PlatformConfig, Quotas, Timeouts } from '../model/policy.js';

const MINS = 60;
const DAYS = 24 * 60 * MINS;

/** Linux nf_conntrack_proto_tcp defaults for the TCP states other than established. */
const LINUX_TCP_TRANSITIONAL = {
  tcpSynSent: 2 * MINS,
  tcpSynRecv: 60,
  tcpFinWait: 2 * MINS,
  tcpCloseWait: 60,
  tcpLastAck: 30,
  tcpTimeWait: 2 * MINS,
  tcpClose: 10,
} as const;

const AWS_TIMEOUTS: Timeouts = {
  ...LINUX_TCP_TRANSITIONAL,
  tcpEstablished: 5 * DAYS, // 432000
  udp: 30,
  udpStream: 3 * MINS,
  icmp: 30,
  other: 10 * MINS,
  fragment: 30,
};

/** Alibaba: one 910 s idle cap for every session (spec 3); the transitional states stay below it. */
const ALIBABA_TIMEOUTS: Timeouts = {
  ...LINUX_TCP_TRANSITIONAL,
  tcpEstablished: 910,
  udp: 910,
  udpStream: 910,
  icmp: 910,
  other: 910,
  fragment: 30,
};

/** Decision: one million flows by default; 16 Mi at most (the table is allocated up front). */
export const DEFAULT_MAX_FLOWS = 1_000_000;
export const MAX_MAX_FLOWS = 16 * 1024 * 1024;
/** Pending first-fragment verdicts kept (Linux ipfrag keeps a few MB; 64 Ki entries). */
export const DEFAULT_MAX_FRAGMENTS = 65_536;
export const MAX_MAX_FRAGMENTS = 1024 * 1024;

export const TIMEOUT_NAMES: readonly (keyof Timeouts)[] = [
  'tcpSynSent', 'tcpSynRecv', 'tcpEstablished', 'tcpFinWait', 'tcpCloseWait', 'tcpLastAck',
  'tcpTimeWait', 'tcpClose', 'udp', 'udpStream', 'icmp', 'other', 'fragment',
];

/** Allowed override range of each timeout, in seconds. */
export function timeoutRange(cloud: Cloud, name: keyof Timeouts): [number, number] {
  if (cloud !== 'alibaba') {
    // EC2 user guide, connection tracking: configurable idle timeouts.
    if (name === 'tcpEstablished') return [60, 432000];
    if (name === 'udp') return [30, 60];
    if (name === 'udpStream') return [60, 180];
  }
  return [1, 432000];
}

export function defaultConntrack(cloud: Cloud): ConntrackConfig {
  return {
    maxFlows: DEFAULT_MAX_FLOWS,
    maxFragments: DEFAULT_MAX_FRAGMENTS,
    timeouts: { ...(cloud === 'alibaba' ? ALIBABA_TIMEOUTS : AWS_TIMEOUTS) },
  };
}

export function defaultPlatform(cloud: Cloud): PlatformConfig {
  return { restrictTcp25: cloud === 'alibaba', probeSources: [] };
}

/**
 * Quota defaults and the largest value an override may set.
 * - aws: 5 groups per interface (16 on request), 60 rules per group per direction and
 *   family, rules per group x groups per interface <= 1000.
 * - aws-classic: 500 groups per instance, 100 rules per group.
 * - alibaba: 10 groups per interface, 1000 rules over all groups of an interface; no
 *   separate per-group limit (rulesPerGroup = rulesPerInterface).
 */
export function defaultQuotas(cloud: Cloud): Quotas {
  switch (cloud) {
    case 'aws':
      return { groupsPerInterface: 5, rulesPerGroup: 60, rulesPerInterface: 1000 };
    case 'aws-classic':
      return { groupsPerInterface: 500, rulesPerGroup: 100, rulesPerInterface: 500 * 100 };
    case 'alibaba':
      return { groupsPerInterface: 10, rulesPerGroup: 1000, rulesPerInterface: 1000 };
  }
}

export function maxQuotas(cloud: Cloud): Quotas {
  switch (cloud) {
    case 'aws':
      return { groupsPerInterface: 16, rulesPerGroup: 1000, rulesPerInterface: 1000 };
    case 'aws-classic':
      return { groupsPerInterface: 500, rulesPerGroup: 100, rulesPerInterface: 500 * 100 };
    case 'alibaba':
      return { groupsPerInterface: 10, rulesPerGroup: 1000, rulesPerInterface: 1000 };
  }
}
