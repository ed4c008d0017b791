// Policy loading: JSON text -> validated neutral Policy (src/model/policy.ts), or every problem
// found, each with its JSON path and offending value. The clouds' group shapes are read by the
// providers (src/providers/*); this file reads sgfw's own top-level shape, resolves members,
// prefix lists and port lists, and runs the cross-checks and quotas.
import { readFileSync } from 'node:fs';
import { type Address, type Cidr, cidrContainsAddr, type Family, hostCidr, parseAddress, parseCidr } from '../model/cidr.js';
import {
  type Cloud, CLOUDS, type ConntrackConfig, type GroupType, type Interface, type PlatformConfig, type Policy,
  type PortRange, type Quotas, type SecurityGroup,
} from '../model/policy.js';
import { groupIdKey, providerFor } from '../providers/index.js';
import { readCidr, readPortRange } from '../providers/common.js';
import type { GroupInfo, PortList, PrefixList, ProviderContext } from '../providers/types.js';
import { MAGIC_TEXT } from '../table/format.js';
import { CODES } from '../validate/codes.js';
import { Diagnostics, show } from '../validate/collector.js';
import { type Diagnostic, PolicyError } from '../validate/diagnostics.js';
import { checkQuotas } from '../validate/quotas.js';
import { isObj, own, type Obj, Reader } from '../validate/reader.js';
import {
  defaultConntrack, defaultPlatform, defaultQuotas, MAX_MAX_FLOWS, MAX_MAX_FRAGMENTS, maxQuotas,
  TIMEOUT_NAMES, timeoutRange,
} from './defaults.js';
import { at } from './json-path.js';
import { scanJson } from './json-text.js';

export const TOP_LEVEL_KEYS = [
  'cloud', 'interfaces', 'securityGroups', 'groupMembers', 'prefixLists', 'portLists',
  'conntrack', 'platform', 'quotas',
] as const;

export interface ParseResult {
  /** Undefined when any diagnostic is an error. */
  policy?: Policy;
  /** Errors first (in the order found), then warnings. */
  diagnostics: Diagnostic[];
}

/** Read, parse and validate a policy file; throws PolicyError carrying every diagnostic. */
export function loadPolicy(file: string): Policy {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new PolicyError(file, [
      { severity: 'error', code: 'ERR_READ', path: '', message: `cannot read the policy: ${err.code ?? err.message}` },
    ]);
  }
  const { policy, diagnostics } = parsePolicyText(text, file);
  if (!policy) throw new PolicyError(file, diagnostics);
  return policy;
}

/** Parse JSON text (syntax errors carry line and column; duplicate keys are errors), then validate. */
export function parsePolicyText(text: string, file = '<inline>'): ParseResult {
  if (text.startsWith(MAGIC_TEXT)) {
    // A table from `sgfw compile` (its magic): only replay takes one; the rest need the JSON.
    const message = 'this is a compiled table (sgfw compile), not a policy: give the policy JSON it was compiled from';
    return { diagnostics: [{ severity: 'error', code: CODES.json, path: '', message }] };
  }
  const scan = scanJson(text);
  if (scan.error) {
    const { line, column, message } = scan.error;
    return {
      diagnostics: [{ severity: 'error', code: CODES.json, path: '', message: `line ${line}, column ${column}: ${message}` }],
    };
  }
  const dups: Diagnostic[] = scan.duplicates.slice(0, 100).map((d) => ({
    severity: 'error',
    code: CODES.duplicateKey,
    path: at(d.path, d.key),
    message: `key ${JSON.stringify(d.key)} appears more than once in this object (JSON would keep only the last)`,
  }));
  const result = parsePolicy(scan.value, file);
  if (dups.length === 0) return result;
  return { diagnostics: [...dups, ...result.diagnostics] };
}

/** Validate a parsed JSON value. Never throws; `policy` is undefined when there are errors. */
export function parsePolicy(json: unknown, file = '<inline>'): ParseResult {
  const diag = new Diagnostics();
  let policy: Policy | undefined;
  try {
    policy = build(json, file, new Reader(diag));
  } catch (e) {
    // Hostile input (e.g. nesting beyond the stack) must still come back as a diagnostic.
    diag.error('ERR_INTERNAL', '', `the policy could not be read: ${(e as Error).message}`);
  }
  const diagnostics = diag.finish();
  return diag.hasErrors || !policy ? { diagnostics } : { policy, diagnostics };
}

// ---------------------------------------------------------------------------------------------

function readCloud(top: Obj, r: Reader): Cloud | undefined {
  const v = own(top, 'cloud');
  if (v === undefined) {
    r.missing('cloud', '"aws", "aws-classic" or "alibaba"');
    return undefined;
  }
  if (typeof v === 'string' && (CLOUDS as readonly string[]).includes(v)) return v as Cloud;
  r.error(CODES.cloud, 'cloud', `${show(v)} is not "aws", "aws-classic" or "alibaba"`);
  return undefined;
}

/** An optional top-level array; undefined (no error) when absent. */
function optionalArray(top: Obj, key: string, r: Reader): unknown[] | undefined {
  const v = own(top, key);
  return v === undefined ? undefined : r.array(v, key);
}

function readPrefixLists(top: Obj, r: Reader): Map<string, PrefixList> {
  const out = new Map<string, PrefixList>();
  const arr = optionalArray(top, 'prefixLists', r) ?? [];
  arr.forEach((raw, i) => {
    const path = at('prefixLists', i);
    const o = r.object(raw, path);
    if (!o) return;
    const idV = own(o, 'PrefixListId');
    if (idV === undefined) return r.missing(at(path, 'PrefixListId'));
    const id = r.string(idV, at(path, 'PrefixListId'));
    if (id === undefined) return;
    const cidrs: Cidr[] = [];
    let family: Family | undefined;
    const afV = own(o, 'AddressFamily');
    if (afV !== undefined && afV !== '') {
      const af = r.string(afV, at(path, 'AddressFamily'));
      if (af !== undefined) {
        if (/^ipv4$/i.test(af)) family = 4;
        else if (/^ipv6$/i.test(af)) family = 6;
        else r.error(CODES.value, at(path, 'AddressFamily'), `${show(af)} is not "IPv4" or "IPv6"`);
      }
    }
    const entriesV = own(o, 'Entries');
    const entries = entriesV === undefined ? [] : (r.array(entriesV, at(path, 'Entries')) ?? []);
    entries.forEach((e, j) => {
      const ep = at(at(path, 'Entries'), j);
      const eo = r.object(e, ep);
      if (!eo) return;
      const cv = own(eo, 'Cidr');
      if (cv === undefined) return r.missing(at(ep, 'Cidr'));
      const c = readCidr(r, cv, ep, {}, 'Cidr');
      if (!c) return;
      if (family !== undefined && c.family !== family) {
        return r.error(CODES.family, at(ep, 'Cidr'), `${show(cv)} is IPv${c.family} but the list holds IPv${family} (a prefix list has one address family)`);
      }
      family = c.family;
      cidrs.push(c);
    });
    let maxEntries = Math.max(1, entries.length);
    const meV = own(o, 'MaxEntries');
    if (meV !== undefined) {
      const me = r.int(meV, at(path, 'MaxEntries'), 1, 1000);
      if (me !== undefined) {
        if (me < entries.length) r.error(CODES.value, at(path, 'MaxEntries'), `${me} is less than the ${entries.length} entries of the list`);
        maxEntries = me;
      }
    }
    if (out.has(id)) return r.error(CODES.duplicateId, at(path, 'PrefixListId'), `${show(id)} is also the id of ${out.get(id)!.path}`);
    const pl: PrefixList = { id, cidrs, maxEntries, path };
    if (family !== undefined) pl.family = family;
    out.set(id, pl);
  });
  return out;
}

function readPortLists(top: Obj, cloud: Cloud, r: Reader): Map<string, PortList> {
  const out = new Map<string, PortList>();
  if (own(top, 'portLists') !== undefined && cloud !== 'alibaba') {
    r.error(CODES.notForCloud, 'portLists', `port lists are an Alibaba feature; cloud is ${JSON.stringify(cloud)}`);
    return out;
  }
  const arr = optionalArray(top, 'portLists', r) ?? [];
  arr.forEach((raw, i) => {
    const path = at('portLists', i);
    const o = r.object(raw, path);
    if (!o) return;
    const idV = own(o, 'PortRangeListId');
    if (idV === undefined) return r.missing(at(path, 'PortRangeListId'));
    const id = r.string(idV, at(path, 'PortRangeListId'));
    if (id === undefined) return;
    const ranges: PortRange[] = [];
    const entriesV = own(o, 'Entries');
    const entries = entriesV === undefined ? [] : (r.array(entriesV, at(path, 'Entries')) ?? []);
    entries.forEach((e, j) => {
      const ep = at(at(path, 'Entries'), j);
      const eo = r.object(e, ep);
      if (!eo) return;
      const pv = own(eo, 'PortRange');
      if (pv === undefined) return r.missing(at(ep, 'PortRange'));
      const pr = readPortRange(r, pv, ep, 'PortRange');
      if (pr) ranges.push(pr);
    });
    let maxEntries = Math.max(1, entries.length);
    const meV = own(o, 'MaxEntries');
    if (meV !== undefined) {
      const me = r.int(meV, at(path, 'MaxEntries'), 1, 2000);
      if (me !== undefined) {
        if (me < entries.length) r.error(CODES.value, at(path, 'MaxEntries'), `${me} is less than the ${entries.length} entries of the list`);
        maxEntries = me;
      }
    }
    if (out.has(id)) return r.error(CODES.duplicateId, at(path, 'PortRangeListId'), `${show(id)} is also the id of ${out.get(id)!.path}`);
    out.set(id, { id, ranges, maxEntries, path });
  });
  return out;
}

/** The raw groups and the path prefix of each (array form or the AWS CLI wrapper). */
function rawGroups(top: Obj, r: Reader): { raw: unknown; path: string }[] {
  const v = own(top, 'securityGroups');
  if (v === undefined) {
    r.missing('securityGroups', 'an array of groups, or the AWS CLI {"SecurityGroups": [...]} object');
    return [];
  }
  let arr: unknown[] | undefined;
  let base = 'securityGroups';
  if (Array.isArray(v)) arr = v;
  else if (isObj(v) && Object.hasOwn(v, 'SecurityGroups')) {
    base = at(base, 'SecurityGroups');
    arr = r.array(v.SecurityGroups, base);
  } else {
    r.error(CODES.type, 'securityGroups', `${show(v)} is neither an array of groups nor an object {"SecurityGroups": [...]}`);
  }
  return (arr ?? []).map((raw, i) => ({ raw, path: at(base, i) }));
}

function readInterfaces(
  top: Obj,
  cloud: Cloud,
  groups: Map<string, GroupInfo>,
  r: Reader,
): Interface[] {
  const out: Interface[] = [];
  const v = own(top, 'interfaces');
  if (v === undefined) {
    r.missing('interfaces');
    return out;
  }
  const arr = r.array(v, 'interfaces') ?? [];
  const ids = new Map<string, string>();
  const addrs = new Map<string, string>();
  arr.forEach((raw, i) => {
    const path = at('interfaces', i);
    const o = r.object(raw, path);
    if (!o) return;
    r.knownKeys(o, path, ['id', 'addresses', 'securityGroups', 'nicType']);
    const idV = own(o, 'id');
    let id: string | undefined;
    if (idV === undefined) r.missing(at(path, 'id'));
    else id = r.string(idV, at(path, 'id'));
    if (id !== undefined) {
      const prev = ids.get(id);
      if (prev !== undefined) r.error(CODES.duplicateId, at(path, 'id'), `${show(id)} is also the id of ${prev}`);
      else ids.set(id, path);
    }
    const addresses: Address[] = [];
    const addrsV = own(o, 'addresses');
    if (addrsV === undefined) r.missing(at(path, 'addresses'));
    else {
      const list = r.array(addrsV, at(path, 'addresses'));
      if (list && list.length === 0) r.error(CODES.value, at(path, 'addresses'), `[] lists no address (an interface needs at least one)`);
      list?.forEach((av, j) => {
        const ap = at(at(path, 'addresses'), j);
        const text = r.string(av, ap);
        if (text === undefined) return;
        const a = parseAddress(text.trim());
        if (!a) {
          const why = parseCidr(text.trim()) ? ' (a CIDR; list the interface\'s own addresses)' : '';
          return r.error(CODES.address, ap, `${show(av)} is not an IP address${why}`);
        }
        if (cloud === 'aws-classic' && a.family === 6) return r.error(CODES.classic, ap, `${show(av)}: EC2-Classic has no IPv6`);
        const prev = addrs.get(a.text);
        if (prev !== undefined) return r.error(CODES.duplicateAddress, ap, `${show(av)} is also an address of ${prev}`);
        addrs.set(a.text, id !== undefined ? `interface ${JSON.stringify(id)} (${ap})` : ap);
        addresses.push(a);
      });
    }
    const groupIds: string[] = [];
    const gV = own(o, 'securityGroups');
    if (gV === undefined) r.missing(at(path, 'securityGroups'));
    else {
      const list = r.array(gV, at(path, 'securityGroups'));
      if (list && list.length === 0) r.error(CODES.value, at(path, 'securityGroups'), `[] lists no security group (an interface has at least one)`);
      const types = new Map<GroupType, string[]>();
      list?.forEach((gv, j) => {
        const gp = at(at(path, 'securityGroups'), j);
        const gid = r.string(gv, gp);
        if (gid === undefined) return;
        const info = groups.get(gid);
        if (!info) return r.error(CODES.unknownGroup, gp, `${show(gid)} is not a group of this file (securityGroups)`);
        if (groupIds.includes(gid)) return r.error(CODES.duplicateId, gp, `${show(gid)} is listed twice`);
        groupIds.push(gid);
        types.set(info.type, [...(types.get(info.type) ?? []), gid]);
      });
      const basic = types.get('normal');
      const ent = types.get('enterprise');
      if (basic && ent) {
        r.error(
          CODES.mixedGroupTypes,
          at(path, 'securityGroups'),
          `${show(groupIds)} mixes basic groups (${basic.join(', ')}) and enterprise groups (${ent.join(', ')}); an interface joins one kind only`,
        );
      }
    }
    const iface: Interface = { id: id ?? '', addresses, groupIds, path };
    const nV = own(o, 'nicType');
    if (nV !== undefined) {
      if (cloud !== 'alibaba') r.error(CODES.notForCloud, at(path, 'nicType'), `${show(nV)}: nicType is for Alibaba classic network only`);
      else if (nV === 'internet' || nV === 'intranet') iface.nicType = nV;
      else r.error(CODES.value, at(path, 'nicType'), `${show(nV)} is not "internet" or "intranet"`);
    }
    out.push(iface);
  });
  return out;
}

/** Members per group id: the file's interfaces that list the group, plus groupMembers. */
function resolveMembers(
  top: Obj,
  interfaces: Interface[],
  groups: Map<string, GroupInfo>,
  r: Reader,
): Map<string, Cidr[]> {
  const members = new Map<string, Cidr[]>();
  const seen = new Map<string, Set<string>>();
  const add = (gid: string, c: Cidr): void => {
    let s = seen.get(gid);
    if (!s) {
      s = new Set();
      seen.set(gid, s);
      members.set(gid, []);
    }
    if (s.has(c.text)) return;
    s.add(c.text);
    members.get(gid)!.push(c);
  };
  for (const gid of groups.keys()) {
    seen.set(gid, new Set());
    members.set(gid, []);
  }
  for (const iface of interfaces) {
    for (const gid of iface.groupIds) for (const a of iface.addresses) add(gid, hostCidr(a));
  }
  const gmV = own(top, 'groupMembers');
  if (gmV === undefined) return members;
  const gm = r.object(gmV, 'groupMembers');
  if (!gm) return members;
  for (const gid of Object.keys(gm)) {
    const p = at('groupMembers', gid);
    if (gid.trim() === '') {
      r.error(CODES.value, p, `"" is not a group id`);
      continue;
    }
    const list = r.array(gm[gid], p);
    if (!seen.has(gid)) {
      seen.set(gid, new Set());
      members.set(gid, []);
    }
    list?.forEach((v, j) => {
      const c = readCidr(r, v, p, { allowBare: true }, j);
      if (c) add(gid, c);
    });
  }
  return members;
}

function readConntrack(top: Obj, cloud: Cloud, r: Reader): ConntrackConfig {
  const ct = defaultConntrack(cloud);
  const v = own(top, 'conntrack');
  if (v === undefined) return ct;
  const o = r.object(v, 'conntrack');
  if (!o) return ct;
  r.knownKeys(o, 'conntrack', ['maxFlows', 'maxFragments', 'timeouts']);
  const mf = own(o, 'maxFlows');
  if (mf !== undefined) ct.maxFlows = r.int(mf, 'conntrack.maxFlows', 1, MAX_MAX_FLOWS, CODES.conntrack) ?? ct.maxFlows;
  const mfr = own(o, 'maxFragments');
  if (mfr !== undefined) ct.maxFragments = r.int(mfr, 'conntrack.maxFragments', 1, MAX_MAX_FRAGMENTS, CODES.conntrack) ?? ct.maxFragments;
  const tv = own(o, 'timeouts');
  if (tv !== undefined) {
    const t = r.object(tv, 'conntrack.timeouts');
    if (t) {
      r.knownKeys(t, 'conntrack.timeouts', TIMEOUT_NAMES);
      for (const name of TIMEOUT_NAMES) {
        const x = own(t, name);
        if (x === undefined) continue;
        const [lo, hi] = timeoutRange(cloud, name);
        ct.timeouts[name] = r.int(x, at('conntrack.timeouts', name), lo, hi, CODES.conntrack) ?? ct.timeouts[name];
      }
    }
  }
  return ct;
}

function readPlatform(top: Obj, cloud: Cloud, r: Reader): PlatformConfig {
  const pf = defaultPlatform(cloud);
  const v = own(top, 'platform');
  if (v === undefined) return pf;
  const o = r.object(v, 'platform');
  if (!o) return pf;
  r.knownKeys(o, 'platform', ['restrictTcp25', 'probeSources']);
  const rt = own(o, 'restrictTcp25');
  if (rt !== undefined) pf.restrictTcp25 = r.bool(rt, 'platform.restrictTcp25') ?? pf.restrictTcp25;
  const ps = own(o, 'probeSources');
  if (ps !== undefined) {
    const list = r.array(ps, 'platform.probeSources');
    list?.forEach((s, i) => {
      const c = readCidr(r, s, at('platform.probeSources', i), { allowBare: true });
      if (c) pf.probeSources.push(c);
    });
    if (cloud !== 'alibaba' && pf.probeSources.length > 0) {
      r.warn(CODES.ignored, 'platform.probeSources', `is ignored: probe sources are an Alibaba platform rule (cloud is ${JSON.stringify(cloud)})`);
    }
  }
  return pf;
}

function readQuotas(top: Obj, cloud: Cloud, r: Reader): Quotas {
  const q = defaultQuotas(cloud);
  const max = maxQuotas(cloud);
  const v = own(top, 'quotas');
  if (v === undefined) return q;
  const o = r.object(v, 'quotas');
  if (!o) return q;
  const names = ['groupsPerInterface', 'rulesPerGroup', 'rulesPerInterface'] as const;
  r.knownKeys(o, 'quotas', names);
  for (const name of names) {
    const x = own(o, name);
    if (x !== undefined) q[name] = r.int(x, at('quotas', name), 1, max[name], CODES.quota) ?? q[name];
  }
  if (cloud === 'aws' && q.groupsPerInterface * q.rulesPerGroup > q.rulesPerInterface) {
    r.error(
      CODES.quota,
      'quotas',
      `groupsPerInterface ${q.groupsPerInterface} x rulesPerGroup ${q.rulesPerGroup} = ${q.groupsPerInterface * q.rulesPerGroup} exceeds ${q.rulesPerInterface} rules per interface`,
    );
  }
  return q;
}

/**
 * Alibaba 5-tuple rules: a local address (DestCidrIp on ingress, SourceCidrIp on egress) that
 * holds no address of any interface using the group can never match: warn (lint names it too).
 */
function warnUnreachableLocals(interfaces: Interface[], groups: Map<string, SecurityGroup>, r: Reader): void {
  const byGroup = new Map<string, Address[]>();
  for (const iface of interfaces) {
    for (const gid of iface.groupIds) {
      let list = byGroup.get(gid);
      if (!list) byGroup.set(gid, (list = []));
      for (const a of iface.addresses) list.push(a);
    }
  }
  let budget = 1_000_000; // address x rule checks; beyond it, stay quiet rather than slow
  for (const g of groups.values()) {
    const addrs = byGroup.get(g.id) ?? [];
    for (const rule of g.rules) {
      if (rule.locals === 'any') continue;
      budget -= addrs.length * rule.locals.length;
      if (budget < 0) return;
      if (addrs.length === 0) continue; // the group is on no interface of this host
      const hit = rule.locals.some((c) => addrs.some((a) => cidrContainsAddr(c, a.family, a.addr)));
      if (!hit) {
        const key = rule.direction === 'ingress' ? (rule.locals[0]!.family === 4 ? 'DestCidrIp' : 'Ipv6DestCidrIp') : rule.locals[0]!.family === 4 ? 'SourceCidrIp' : 'Ipv6SourceCidrIp';
        r.warn(CODES.unused, at(rule.path, key), `${rule.locals.map((c) => c.text).join(', ')} holds no address of the interfaces that use ${g.id}: rule ${rule.id} can never match`);
      }
    }
  }
}

function build(json: unknown, file: string, r: Reader): Policy | undefined {
  if (!isObj(json)) {
    r.error(CODES.type, '', `${show(json)} is not a JSON object (a policy is {"cloud": ..., "interfaces": [...], "securityGroups": [...]})`);
    return undefined;
  }
  const top = json;
  for (const k of Object.keys(top)) {
    if (!(TOP_LEVEL_KEYS as readonly string[]).includes(k)) {
      r.error(CODES.unknownKey, at('', k), `unknown top-level key ${JSON.stringify(k)} (expected one of: ${TOP_LEVEL_KEYS.join(', ')})`);
    }
  }
  const cloud = readCloud(top, r);
  // Without a cloud the groups cannot be read; still check what does not depend on it.
  const c: Cloud = cloud ?? 'aws';
  const provider = providerFor(c);
  const prefixLists = readPrefixLists(top, r);
  const portLists = readPortLists(top, c, r);

  const raws = cloud ? rawGroups(top, r) : [];
  const infos = new Map<string, GroupInfo>();
  const skip = new Set<number>();
  raws.forEach(({ raw, path }, i) => {
    const peek = provider.peek(raw);
    if (!peek) return;
    const prev = infos.get(peek.id);
    if (prev) {
      r.error(CODES.duplicateId, at(path, groupIdKey(c)), `${show(peek.id)} is also the id of ${prev.path}`);
      skip.add(i);
      return;
    }
    infos.set(peek.id, { id: peek.id, type: peek.type, path });
  });

  const interfaces = cloud ? readInterfaces(top, c, infos, r) : [];
  const members = resolveMembers(top, interfaces, infos, r);
  const conntrack = readConntrack(top, c, r);
  const platform = readPlatform(top, c, r);
  const quotas = readQuotas(top, c, r);
  const ctx: ProviderContext = {
    cloud: c,
    quotas,
    reader: r,
    groups: infos,
    members: (id) => members.get(id),
    prefixLists,
    portLists,
    ruleIds: new Map(),
  };
  const groups = new Map<string, SecurityGroup>();
  raws.forEach(({ raw, path }, i) => {
    if (skip.has(i)) return;
    const g = provider.parseGroup(raw, path, ctx);
    if (g) groups.set(g.id, g);
  });

  if (!cloud) return undefined;
  checkQuotas(c, interfaces, groups, quotas, r);
  warnUnreachableLocals(interfaces, groups, r);
  return { cloud, file, interfaces, groups, members, conntrack, platform, quotas };
}
