// What a cloud provider module gets from the loader and gives back. Providers are the only
// code that knows the clouds' JSON shapes; they return the neutral SecurityGroup and Rule of
// src/model/policy.ts.
import type { Cidr, Family } from '../model/cidr.js';
import type { Cloud, GroupType, PortRange, Quotas, SecurityGroup } from '../model/policy.js';
import type { Reader } from '../validate/reader.js';

/** A prefix list of the file's `prefixLists`, resolved. */
export interface PrefixList {
  id: string;
  cidrs: Cidr[];
  /** Counts against quotas (spec: a reference counts as MaxEntries). */
  maxEntries: number;
  /** The family of its entries (AWS lists are single-family); undefined when empty. */
  family?: Family;
  path: string;
}

/** A port list of the file's `portLists` (Alibaba), resolved. */
export interface PortList {
  id: string;
  ranges: PortRange[];
  maxEntries: number;
  path: string;
}

export interface GroupInfo {
  id: string;
  type: GroupType;
  path: string;
}

export interface ProviderContext {
  cloud: Cloud;
  reader: Reader;
  /** Groups defined in the file's `securityGroups`, by id. */
  groups: Map<string, GroupInfo>;
  /**
   * Members of a referenced group (interfaces of the file plus groupMembers); undefined when
   * the id is neither defined in the file nor listed in groupMembers. The array is shared
   * between every rule that names the group: do not mutate it.
   */
  members(groupId: string): Cidr[] | undefined;
  prefixLists: Map<string, PrefixList>;
  portLists: Map<string, PortList>;
  /**
   * The file's quotas. Providers check only the first rulesPerGroup entries of an array that is
   * longer than any group may hold, and report the quota: huge inputs stay fast.
   */
  quotas: Quotas;
  /** Rule ids already taken (Alibaba SecurityGroupRuleId must be unique in a file). */
  ruleIds: Map<string, string>;
}

export interface Provider {
  /** Id and type of a raw group for the loader's first pass; undefined when it has none. */
  peek(raw: unknown): { id: string; type: GroupType } | undefined;
  /** Parse one group; errors go to ctx.reader. Undefined when it is too broken to use. */
  parseGroup(raw: unknown, path: string, ctx: ProviderContext): SecurityGroup | undefined;
}
