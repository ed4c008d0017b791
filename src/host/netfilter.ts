// Host mode's netfilter plumbing: find out how this kernel can queue packets to userspace,
// install the rules that send the host's own traffic to sgfw's NFQUEUE workers, and take them
// away again (on exit, or after a crash with cleanup()).
//
// Where the rules go, and why:
// - nftables `queue` statement (kernel nft_queue) when it works: a table of our own,
//   `table inet sgfw`, with base chains on the input and output hooks.
// - else the iptables NFQUEUE target (xt_NFQUEUE; with iptables-nft through nft compat): chains
//   of our own, SGFW-IN and SGFW-OUT, in the `mangle` table, entered from INPUT and OUTPUT by a
//   jump at the head tagged with the comment "sgfw". Nothing else is added or changed.
// Both sit at priority -150 (mangle), before the `filter` table at 0: a queue verdict of
// ACCEPT ends the traversal of the chain that queued the packet, so queueing from `filter`
// would skip the host's own filter rules after ours; from mangle they still apply.
// - Ingress = packets TO the host's addresses (input hook, `-d`); egress = packets FROM them
//   (output hook, `-s`). Only unicast to/from the listed addresses is queued.
// - Loopback (`lo`) is never queued: it is the host talking to itself, which no cloud security
//   group sees, and sgfw's own local control traffic must not wait for sgfw.
// - IPv6 neighbour discovery (ICMPv6 133..137) is not queued either: the spec passes it
//   untouched, and holding it would stall IPv6 while sgfw is busy or gone.
// - Several workers: `--queue-balance first:last` (nft `queue num first-last`). The kernel
//   picks the queue from a hash of source XOR destination address, the same value for both
//   directions of a flow, so each flow stays with one worker and its conntrack shard.
// - Fail-open: `--queue-bypass` (nft `bypass`): with no program bound to a queue, the packet
//   is accepted. Fail-closed: without it, the packet is dropped.
//
// Every command runs through child_process without a shell; a failure throws NetfilterError
// naming the command, its exit status and stderr. All functions are synchronous so that they
// can run from signal and exit handlers.
import { spawnSync } from 'node:child_process';
import { isIP } from 'node:net';

export type QueueMechanism = 'nft' | 'iptables';

/** Chains and table that belong to sgfw; cleanup() removes anything by these names. */
export const SGFW_CHAIN_PREFIX = 'SGFW';
export const SGFW_CHAIN_IN = 'SGFW-IN';
export const SGFW_CHAIN_OUT = 'SGFW-OUT';
export const SGFW_COMMENT = 'sgfw';
export const SGFW_NFT_TABLE = 'sgfw';
/** The iptables table our chains live in. */
export const SGFW_IPT_TABLE = 'mangle';

/** ICMPv6 neighbour discovery: router/neighbour solicitation and advertisement, redirect. */
const ND_TYPES = [133, 134, 135, 136, 137] as const;

export interface CommandResult {
  status: number | null;
  stdout: string;
  stderr: string;
  /** Set when the command could not be started at all (ENOENT: not installed). */
  error?: NodeJS.ErrnoException | undefined;
}

/** Runs one command (no shell), optionally feeding `input` on stdin. */
export type CommandRunner = (cmd: string, args: readonly string[], input?: string) => CommandResult;

export const defaultRunner: CommandRunner = (cmd, args, input) => {
  const r = spawnSync(cmd, args, { input: input ?? '', encoding: 'utf8', timeout: 15_000 });
  return {
    status: r.status,
    stdout: r.stdout ?? '',
    stderr: r.stderr ?? '',
    error: r.error as NodeJS.ErrnoException | undefined,
  };
};

/** A netfilter command failed; `command` is the full command line, `stderr` what it said. */
export class NetfilterError extends Error {
  readonly code = 'ERR_NETFILTER';
  constructor(
    message: string,
    readonly command: string,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'NetfilterError';
  }
}

const INSTALL_HINT: Record<string, string> = {
  iptables: 'apt-get install iptables',
  'iptables-restore': 'apt-get install iptables',
  ip6tables: 'apt-get install iptables',
  'ip6tables-restore': 'apt-get install iptables',
  nft: 'apt-get install nftables',
  ip: 'apt-get install iproute2',
  unshare: 'apt-get install util-linux',
};

interface Exec {
  runner: CommandRunner;
  netns?: string | undefined;
}

function commandLine(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

/** Runs cmd (inside `ip netns exec NS` when exec.netns is set); throws NetfilterError on failure. */
function run(exec: Exec, cmd: string, args: readonly string[], input?: string): string {
  const [c, a] = exec.netns ? ['ip', ['netns', 'exec', exec.netns, cmd, ...args]] : [cmd, args];
  const r = exec.runner(c, a, input);
  const line = commandLine(c, a);
  if (r.error) {
    if (r.error.code === 'ENOENT') {
      throw new NetfilterError(`${line}: ${c} is not installed (${INSTALL_HINT[c] ?? `install ${c}`})`, line, '');
    }
    throw new NetfilterError(`${line}: could not run: ${r.error.message}`, line, '');
  }
  if (r.status !== 0) {
    const err = r.stderr.trim();
    const missing = exec.netns && /exec of ".*" failed: No such file/.test(err);
    const hint = missing ? ` (${INSTALL_HINT[cmd] ?? `install ${cmd}`})` : '';
    throw new NetfilterError(
      `${line} failed (exit ${r.status ?? 'signal'})${err ? `: ${err.split('\n').slice(0, 4).join(' | ')}` : ''}${hint}`,
      line,
      r.stderr,
    );
  }
  return r.stdout;
}

function tryRun(exec: Exec, cmd: string, args: readonly string[], input?: string): { ok: true; out: string } | { ok: false; why: string } {
  try {
    return { ok: true, out: run(exec, cmd, args, input) };
  } catch (e) {
    return { ok: false, why: (e as Error).message };
  }
}

// ---------------------------------------------------------------------------------------------
// Detection

export interface ProbeResult {
  ok: boolean;
  /** Why not, or what was found (tool version). */
  detail: string;
}

export interface QueueSupport {
  /** What installRules() will use; null when neither works. */
  mechanism: QueueMechanism | null;
  nft: ProbeResult;
  iptables: ProbeResult;
  /** ip6tables NFQUEUE works too (only meaningful for the iptables mechanism). */
  ip6tables: ProbeResult;
  /** One line for the user: what is used and why, or what is missing and the fix. */
  line: string;
  /** The fix when mechanism is null. */
  fix?: string;
}

const NFT_PROBE = `table inet sgfw_probe {
  chain input {
    type filter hook input priority -150; policy accept;
    meta l4proto udp queue num 0-1 bypass
  }
}
`;

function iptablesProbe(): string {
  return `*${SGFW_IPT_TABLE}
:SGFW-PROBE - [0:0]
-A SGFW-PROBE -m comment --comment ${SGFW_COMMENT} -j NFQUEUE --queue-balance 0:1 --queue-bypass
COMMIT
`;
}

function nftReason(why: string): string {
  // A missing expression shows as ENOENT on the rule that uses it.
  if (/No such file or directory/.test(why) && /queue/.test(why)) {
    return 'the kernel has no nft_queue (CONFIG_NFT_QUEUE)';
  }
  return why;
}

/**
 * Probes, inside a throwaway network namespace (`unshare -n`, gone when the probe exits),
 * whether an nftables `queue` rule and an iptables NFQUEUE rule can be loaded. Prefers nft.
 */
export function detectQueueSupport(runner: CommandRunner = defaultRunner): QueueSupport {
  const exec: Exec = { runner };
  const nftr = tryRun(exec, 'unshare', ['-n', 'nft', '-f', '-'], NFT_PROBE);
  const nft: ProbeResult = nftr.ok ? { ok: true, detail: 'nft queue statement' } : { ok: false, detail: nftReason(nftr.why) };

  const ipr = tryRun(exec, 'unshare', ['-n', 'iptables-restore', '--noflush'], iptablesProbe());
  let version = '';
  if (ipr.ok) {
    const v = tryRun(exec, 'iptables', ['-V']);
    version = v.ok ? v.out.trim() : 'iptables';
  }
  const iptables: ProbeResult = ipr.ok ? { ok: true, detail: version } : { ok: false, detail: ipr.why };
  const ip6r = tryRun(exec, 'unshare', ['-n', 'ip6tables-restore', '--noflush'], iptablesProbe());
  const ip6tables: ProbeResult = ip6r.ok ? { ok: true, detail: 'ip6tables NFQUEUE' } : { ok: false, detail: ip6r.why };

  if (nft.ok) {
    return { mechanism: 'nft', nft, iptables, ip6tables, line: 'netfilter: using the nftables queue statement (table inet sgfw)' };
  }
  if (iptables.ok) {
    return {
      mechanism: 'iptables',
      nft,
      iptables,
      ip6tables,
      line:
        `netfilter: using the iptables NFQUEUE target (${version}; chains ${SGFW_CHAIN_IN}/${SGFW_CHAIN_OUT} in table ${SGFW_IPT_TABLE})` +
        `${ip6tables.ok ? '' : ', no IPv6'}; nftables queue unavailable: ${nft.detail}`,
    };
  }
  const fix = supportFix(nft.detail, iptables.detail);
  return {
    mechanism: null,
    nft,
    iptables,
    ip6tables,
    fix,
    line: `netfilter: cannot queue packets to userspace: nftables queue: ${nft.detail}; iptables NFQUEUE: ${iptables.detail}. Fix: ${fix}`,
  };
}

function supportFix(nftWhy: string, iptWhy: string): string {
  const both = `${nftWhy}\n${iptWhy}`;
  if (/unshare is not installed/.test(both)) return 'apt-get install util-linux';
  if (/Operation not permitted|Permission denied|must be root/i.test(both)) {
    return 'run as root (CAP_NET_ADMIN and CAP_SYS_ADMIN)';
  }
  const fixes: string[] = [];
  if (/iptables-restore: .*not installed|exec of .*iptables.* failed/.test(iptWhy)) fixes.push('apt-get install iptables');
  fixes.push('modprobe nfnetlink_queue xt_NFQUEUE (or nft_queue)');
  return fixes.join(', or ');
}

// ---------------------------------------------------------------------------------------------
// Rule generation (pure)

export interface QueueRange {
  first: number;
  last: number;
}

export interface HostRuleOptions {
  /** The host's addresses (the policy's interfaces), IPv4 or IPv6, optionally with /prefix. */
  addresses: readonly string[];
  /** The NFQUEUE numbers, one per worker. */
  queues: QueueRange;
  /** Bypass the queue (accept) when no sgfw worker is bound to it. */
  failOpen: boolean;
}

interface ParsedAddresses {
  v4: string[];
  v6: string[];
}

/** Validates and splits the addresses by family, as CIDRs (/32 or /128 when no prefix). */
export function splitAddresses(addresses: readonly string[]): ParsedAddresses {
  const out: ParsedAddresses = { v4: [], v6: [] };
  for (const raw of addresses) {
    const [addr = '', prefix, extra] = raw.trim().split('/');
    const fam = isIP(addr);
    if (fam === 0 || extra !== undefined) throw new NetfilterError(`not an IP address: "${raw}"`, '', '');
    const max = fam === 4 ? 32 : 128;
    const len = prefix === undefined ? max : /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
    if (!(len >= 0 && len <= max)) throw new NetfilterError(`bad prefix length in "${raw}"`, '', '');
    const cidr = `${addr.toLowerCase()}/${len}`;
    const list = fam === 4 ? out.v4 : out.v6;
    if (!list.includes(cidr)) list.push(cidr);
  }
  return out;
}

function checkOptions(opts: HostRuleOptions): ParsedAddresses {
  const { first, last } = opts.queues;
  if (!Number.isInteger(first) || !Number.isInteger(last) || first < 0 || last > 65535 || first > last) {
    throw new NetfilterError(`bad queue range ${first}:${last} (want 0 <= first <= last <= 65535)`, '', '');
  }
  const a = splitAddresses(opts.addresses);
  if (a.v4.length + a.v6.length === 0) throw new NetfilterError('no host addresses to protect', '', '');
  return a;
}

function iptQueueTarget(opts: HostRuleOptions): string {
  const { first, last } = opts.queues;
  const q = first === last ? `--queue-num ${first}` : `--queue-balance ${first}:${last}`;
  return `-j NFQUEUE ${q}${opts.failOpen ? ' --queue-bypass' : ''}`;
}

/** The jump rules that enter our chains (the only lines outside them), without -A/-I/-D. */
export function iptablesJumps(): { chain: 'INPUT' | 'OUTPUT'; spec: string }[] {
  return [
    { chain: 'INPUT', spec: `! -i lo -m comment --comment ${SGFW_COMMENT} -j ${SGFW_CHAIN_IN}` },
    { chain: 'OUTPUT', spec: `! -o lo -m comment --comment ${SGFW_COMMENT} -j ${SGFW_CHAIN_OUT}` },
  ];
}

function iptablesScript(family: 'ipv4' | 'ipv6', cidrs: readonly string[], opts: HostRuleOptions): string {
  const target = iptQueueTarget(opts);
  const lines = [`*${SGFW_IPT_TABLE}`, `:${SGFW_CHAIN_IN} - [0:0]`, `:${SGFW_CHAIN_OUT} - [0:0]`];
  for (const j of iptablesJumps()) lines.push(`-I ${j.chain} 1 ${j.spec}`);
  if (family === 'ipv6') {
    for (const chain of [SGFW_CHAIN_IN, SGFW_CHAIN_OUT]) {
      for (const t of ND_TYPES) lines.push(`-A ${chain} -p ipv6-icmp -m icmp6 --icmpv6-type ${t} -j RETURN`);
    }
  }
  for (const c of cidrs) lines.push(`-A ${SGFW_CHAIN_IN} -d ${c} ${target}`);
  for (const c of cidrs) lines.push(`-A ${SGFW_CHAIN_OUT} -s ${c} ${target}`);
  lines.push('COMMIT', '');
  return lines.join('\n');
}

/** iptables-restore --noflush scripts, one per family that has addresses (null otherwise). */
export function generateIptablesRules(opts: HostRuleOptions): { ipv4: string | null; ipv6: string | null } {
  const a = checkOptions(opts);
  return {
    ipv4: a.v4.length ? iptablesScript('ipv4', a.v4, opts) : null,
    ipv6: a.v6.length ? iptablesScript('ipv6', a.v6, opts) : null,
  };
}

/** The iptables-restore --noflush script that removes exactly what generateIptablesRules added. */
export function generateIptablesRemoval(): string {
  const lines = [`*${SGFW_IPT_TABLE}`];
  for (const j of iptablesJumps()) lines.push(`-D ${j.chain} ${j.spec}`);
  for (const c of [SGFW_CHAIN_IN, SGFW_CHAIN_OUT]) lines.push(`-F ${c}`);
  for (const c of [SGFW_CHAIN_IN, SGFW_CHAIN_OUT]) lines.push(`-X ${c}`);
  lines.push('COMMIT', '');
  return lines.join('\n');
}

/** The `nft -f` script of the nftables mechanism: one table of our own. */
export function generateNftRuleset(opts: HostRuleOptions): string {
  const a = checkOptions(opts);
  const { first, last } = opts.queues;
  const q = `queue num ${first === last ? first : `${first}-${last}`}${opts.failOpen ? ' bypass' : ''}`;
  const set = (l: readonly string[]) => (l.length === 1 ? l[0] : `{ ${l.join(', ')} }`);
  const nd = `icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, nd-redirect } return`;
  const chain = (name: string, hook: string, lo: string, dir: 'daddr' | 'saddr') => {
    const body = [`type filter hook ${hook} priority -150; policy accept;`, `${lo} "lo" return`];
    if (a.v6.length) body.push(nd);
    if (a.v4.length) body.push(`ip ${dir} ${set(a.v4)} ${q}`);
    if (a.v6.length) body.push(`ip6 ${dir} ${set(a.v6)} ${q}`);
    return `  chain ${name} {\n${body.map((b) => `    ${b}\n`).join('')}  }\n`;
  };
  return (
    `table inet ${SGFW_NFT_TABLE} {\n` +
    chain('input', 'input', 'iifname', 'daddr') +
    chain('output', 'output', 'oifname', 'saddr') +
    '}\n'
  );
}

// ---------------------------------------------------------------------------------------------
// Install / remove

export interface InstallOptions extends HostRuleOptions {
  /** Default: what detectQueueSupport() finds. */
  mechanism?: QueueMechanism;
  /** Run every command inside `ip netns exec NAME` (tests, sidecar setups). */
  netns?: string;
  runner?: CommandRunner;
}

/** What installRules() did, for removeRules(). */
export interface RuleHandle {
  mechanism: QueueMechanism;
  netns?: string | undefined;
  /** iptables: the families whose rules were installed. */
  families: ('ipv4' | 'ipv6')[];
  /** Human-readable: what was installed (the scripts). */
  installed: string[];
  removed: boolean;
  /**
   * iptables-nft creates the nft table and base chains an iptables command names, and leaves
   * them (empty) when the rules go: these are the ones that did not exist before us, which
   * removeRules() deletes again once empty.
   */
  created: { family: 'ipv4' | 'ipv6'; table: boolean; chains: string[] }[];
  /** The runner installRules() used; removeRules() uses it too. */
  runner?: CommandRunner | undefined;
}

const RESTORE = { ipv4: 'iptables-restore', ipv6: 'ip6tables-restore' } as const;
const LIST = { ipv4: 'iptables', ipv6: 'ip6tables' } as const;

/**
 * Installs the queue rules (atomically per family: iptables-restore / nft -f). Refuses when
 * rules of sgfw are already present (another sgfw, or a crashed run: run cleanup()).
 */
export function installRules(opts: InstallOptions): RuleHandle {
  const exec: Exec = { runner: opts.runner ?? defaultRunner, netns: opts.netns };
  checkOptions(opts);
  let mechanism = opts.mechanism;
  if (!mechanism) {
    const s = detectQueueSupport(exec.runner);
    if (!s.mechanism) throw new NetfilterError(s.line, '', '');
    mechanism = s.mechanism;
  }
  const left = findLeftovers({ runner: exec.runner, netns: opts.netns });
  if (left.length) {
    throw new NetfilterError(
      `rules of sgfw are already installed (another sgfw is running, or a crashed run left them: run \`sgfw cleanup\`): ${left.join('; ')}`,
      '',
      '',
    );
  }
  const handle: RuleHandle = { mechanism, netns: opts.netns, families: [], installed: [], removed: false, created: [], runner: opts.runner };
  if (mechanism === 'nft') {
    const script = generateNftRuleset(opts);
    run(exec, 'nft', ['-f', '-'], script);
    handle.installed.push(script);
    return handle;
  }
  const scripts = generateIptablesRules(opts);
  for (const fam of ['ipv4', 'ipv6'] as const) {
    const script = scripts[fam];
    if (!script) continue;
    const state = nftBaseState(exec, fam);
    try {
      run(exec, RESTORE[fam], ['--noflush'], script);
    } catch (e) {
      removeRules(handle);  // no half-installed state: take back the other family
      throw e;
    }
    handle.families.push(fam);
    handle.installed.push(script);
    if (state) {
      handle.created.push({
        family: fam,
        table: !state.table,
        chains: ['INPUT', 'OUTPUT'].filter((c) => !state.chains.has(c)),
      });
    }
  }
  return handle;
}

/**
 * Removes what installRules() installed. If the exact removal fails (someone changed the
 * rules), falls back to cleanup(); throws if anything of sgfw is still there afterwards.
 */
export function removeRules(handle: RuleHandle, runner: CommandRunner = handle.runner ?? defaultRunner): void {
  if (handle.removed) return;
  const exec: Exec = { runner, netns: handle.netns };
  const failures: string[] = [];
  if (handle.mechanism === 'nft') {
    const r = tryRun(exec, 'nft', ['delete', 'table', 'inet', SGFW_NFT_TABLE]);
    if (!r.ok) failures.push(r.why);
  } else {
    for (const fam of handle.families) {
      const r = tryRun(exec, RESTORE[fam], ['--noflush'], generateIptablesRemoval());
      if (!r.ok) failures.push(r.why);
    }
  }
  if (!failures.length) {
    for (const c of handle.created) dropEmptyBase(exec, c.family, c.chains, c.table);
  }
  if (failures.length) {
    cleanup({ runner, netns: handle.netns });
    const left = findLeftovers({ runner, netns: handle.netns });
    if (left.length) {
      throw new NetfilterError(`could not remove the rules of sgfw: ${failures.join('; ')}; left: ${left.join('; ')}`, '', '');
    }
  }
  handle.removed = true;
}

export interface CleanupOptions {
  netns?: string | undefined;
  runner?: CommandRunner;
}

interface IptLeftovers {
  family: 'ipv4' | 'ipv6';
  /** `-A CHAIN ...` lines of other chains that belong to us (comment sgfw, or a jump to SGFW*). */
  rules: string[];
  /** Our chains (name starts with SGFW). */
  chains: string[];
}

/** Finds sgfw's rules and chains in `iptables -S` output (pure). */
export function parseIptablesLeftovers(family: 'ipv4' | 'ipv6', listing: string): IptLeftovers {
  const out: IptLeftovers = { family, rules: [], chains: [] };
  for (const line of listing.split('\n')) {
    const m = /^-N (\S+)/.exec(line);
    if (m?.[1]?.startsWith(SGFW_CHAIN_PREFIX)) out.chains.push(m[1]);
    const a = /^-A (\S+) /.exec(line);
    if (!a?.[1] || a[1].startsWith(SGFW_CHAIN_PREFIX)) continue;  // our chains go whole
    const ours =
      new RegExp(`--comment "?${SGFW_COMMENT}(?=[\\s"]|$)`).test(line) ||
      new RegExp(`-[jg] ${SGFW_CHAIN_PREFIX}\\S*(\\s|$)`).test(line);
    if (ours) out.rules.push(line);
  }
  return out;
}

/** The iptables-restore --noflush script that removes the leftovers (null: nothing to do). */
export function iptablesCleanupScript(l: IptLeftovers): string | null {
  if (!l.rules.length && !l.chains.length) return null;
  const lines = [`*${SGFW_IPT_TABLE}`];
  for (const r of l.rules) lines.push(r.replace(/^-A /, '-D '));
  for (const c of l.chains) lines.push(`-F ${c}`);
  for (const c of l.chains) lines.push(`-X ${c}`);
  lines.push('COMMIT', '');
  return lines.join('\n');
}

function listIptables(exec: Exec, fam: 'ipv4' | 'ipv6'): string | null {
  const r = tryRun(exec, LIST[fam], ['-t', SGFW_IPT_TABLE, '-S']);
  return r.ok ? r.out : null;  // tool missing or family unsupported: nothing of ours there
}

function nftHasTable(exec: Exec): boolean {
  const r = tryRun(exec, 'nft', ['list', 'tables']);
  return r.ok && r.out.split('\n').some((l) => l.trim() === `table inet ${SGFW_NFT_TABLE}`);
}

/** What of sgfw is installed, one description per item (empty: nothing). */
export function findLeftovers(opts: CleanupOptions = {}): string[] {
  const exec: Exec = { runner: opts.runner ?? defaultRunner, netns: opts.netns };
  const found: string[] = [];
  if (nftHasTable(exec)) found.push(`nft table inet ${SGFW_NFT_TABLE}`);
  for (const fam of ['ipv4', 'ipv6'] as const) {
    const listing = listIptables(exec, fam);
    if (listing === null) continue;
    const l = parseIptablesLeftovers(fam, listing);
    for (const c of l.chains) found.push(`${LIST[fam]} -t ${SGFW_IPT_TABLE} chain ${c}`);
    for (const r of l.rules) found.push(`${LIST[fam]} -t ${SGFW_IPT_TABLE} ${r}`);
  }
  return found;
}

/**
 * Removes every leftover of sgfw (a crashed run): the nft table `inet sgfw`, iptables and
 * ip6tables chains named SGFW* in the mangle table, and rules elsewhere in that table that
 * carry the comment "sgfw" or jump to such a chain. Returns what it removed.
 */
export function cleanup(opts: CleanupOptions = {}): string[] {
  const exec: Exec = { runner: opts.runner ?? defaultRunner, netns: opts.netns };
  const removed: string[] = [];
  if (nftHasTable(exec)) {
    run(exec, 'nft', ['delete', 'table', 'inet', SGFW_NFT_TABLE]);
    removed.push(`nft table inet ${SGFW_NFT_TABLE}`);
  }
  for (const fam of ['ipv4', 'ipv6'] as const) {
    const listing = listIptables(exec, fam);
    if (listing === null) continue;
    const l = parseIptablesLeftovers(fam, listing);
    const script = iptablesCleanupScript(l);
    if (!script) continue;
    run(exec, RESTORE[fam], ['--noflush'], script);
    for (const c of l.chains) removed.push(`${LIST[fam]} -t ${SGFW_IPT_TABLE} chain ${c}`);
    for (const r of l.rules) removed.push(`${LIST[fam]} -t ${SGFW_IPT_TABLE} ${r}`);
    // What existed before the crash is unknown: an empty INPUT/OUTPUT base chain with policy
    // accept does nothing, so it goes (and the table, once it holds no chain).
    dropEmptyBase(exec, fam, ['INPUT', 'OUTPUT'], true);
  }
  return removed;
}

// ---------------------------------------------------------------------------------------------
// iptables-nft base chains

interface NftBaseState {
  table: boolean;
  chains: Set<string>;
  /** Base chains with policy accept and no rule. */
  emptyAccept: Set<string>;
}

const NFT_FAMILY = { ipv4: 'ip', ipv6: 'ip6' } as const;

/**
 * The nft view of iptables' mangle table, or null when iptables is not iptables-nft (legacy
 * tables always have their built-in chains) or nft is not there to ask.
 */
function nftBaseState(exec: Exec, fam: 'ipv4' | 'ipv6'): NftBaseState | null {
  const v = tryRun(exec, LIST[fam], ['-V']);
  if (!v.ok || !v.out.includes('nf_tables')) return null;
  const r = tryRun(exec, 'nft', ['-j', 'list', 'table', NFT_FAMILY[fam], SGFW_IPT_TABLE]);
  if (!r.ok) {
    return /No such file or directory/.test(r.why) ? { table: false, chains: new Set(), emptyAccept: new Set() } : null;
  }
  return parseNftBaseState(r.out);
}

/** Parses `nft -j list table` output into chains and empty accept-policy chains (pure). */
export function parseNftBaseState(json: string): NftBaseState {
  const state: NftBaseState = { table: true, chains: new Set(), emptyAccept: new Set() };
  let items: Record<string, Record<string, unknown>>[] = [];
  try {
    items = (JSON.parse(json) as { nftables?: typeof items }).nftables ?? [];
  } catch {
    return state;
  }
  const withRules = new Set<string>();
  const accept = new Set<string>();
  for (const it of items) {
    const chain = it['chain'];
    if (chain && typeof chain['name'] === 'string') {
      state.chains.add(chain['name']);
      if (chain['hook'] !== undefined && chain['policy'] === 'accept') accept.add(chain['name']);
    }
    const rule = it['rule'];
    if (rule && typeof rule['chain'] === 'string') withRules.add(rule['chain']);
  }
  for (const c of accept) if (!withRules.has(c)) state.emptyAccept.add(c);
  return state;
}

/** Deletes those of `chains` that are empty accept-policy base chains, then the table if empty. */
function dropEmptyBase(exec: Exec, fam: 'ipv4' | 'ipv6', chains: readonly string[], table: boolean): void {
  const state = nftBaseState(exec, fam);
  if (!state || !state.table) return;
  const left = new Set(state.chains);
  for (const c of chains) {
    if (!state.emptyAccept.has(c)) continue;
    // nft refuses to delete a chain that has rules: a rule added meanwhile keeps it.
    if (tryRun(exec, 'nft', ['delete', 'chain', NFT_FAMILY[fam], SGFW_IPT_TABLE, c]).ok) left.delete(c);
  }
  if (table && left.size === 0) {
    const again = nftBaseState(exec, fam);
    if (again && again.table && again.chains.size === 0) tryRun(exec, 'nft', ['delete', 'table', NFT_FAMILY[fam], SGFW_IPT_TABLE]);
  }
}
