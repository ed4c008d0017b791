// The rule generator, the leftover parser and the error paths of src/host/netfilter.ts, with
// fake command runners: no root, no kernel.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  type CommandRunner,
  type CommandResult,
  NetfilterError,
  cleanup,
  detectQueueSupport,
  generateIptablesRemoval,
  generateIptablesRules,
  generateNftRuleset,
  installRules,
  iptablesCleanupScript,
  parseIptablesLeftovers,
  parseNftBaseState,
  splitAddresses,
} from '../../src/host/netfilter.js';

const ok = (stdout = ''): CommandResult => ({ status: 0, stdout, stderr: '' });
const failed = (stderr: string, status = 1): CommandResult => ({ status, stdout: '', stderr });

/** A runner that answers from a function and records every call. */
function fakeRunner(answer: (cmd: string, args: readonly string[], input?: string) => CommandResult) {
  const calls: { cmd: string; args: readonly string[]; input?: string | undefined }[] = [];
  const runner: CommandRunner = (cmd, args, input) => {
    calls.push({ cmd, args, input });
    return answer(cmd, args, input);
  };
  return { runner, calls };
}

describe('generateIptablesRules', () => {
  it('writes chains of its own in mangle, entered from INPUT/OUTPUT, one queue rule per address and direction', () => {
    const r = generateIptablesRules({ addresses: ['198.18.20.2', '2001:db8:20::2'], queues: { first: 0, last: 1 }, failOpen: true });
    expect(r.ipv4).toBe(
      [
        '*mangle',
        ':SGFW-IN - [0:0]',
        ':SGFW-OUT - [0:0]',
        '-I INPUT 1 ! -i lo -m comment --comment sgfw -j SGFW-IN',
        '-I OUTPUT 1 ! -o lo -m comment --comment sgfw -j SGFW-OUT',
        '-A SGFW-IN -d 198.18.20.2/32 -j NFQUEUE --queue-balance 0:1 --queue-bypass',
        '-A SGFW-OUT -s 198.18.20.2/32 -j NFQUEUE --queue-balance 0:1 --queue-bypass',
        'COMMIT',
        '',
      ].join('\n'),
    );
    const v6 = r.ipv6!.split('\n');
    expect(v6).toContain('-A SGFW-IN -d 2001:db8:20::2/128 -j NFQUEUE --queue-balance 0:1 --queue-bypass');
    expect(v6).toContain('-A SGFW-OUT -s 2001:db8:20::2/128 -j NFQUEUE --queue-balance 0:1 --queue-bypass');
    // Neighbour discovery returns before any queue rule, in both directions.
    for (const chain of ['SGFW-IN', 'SGFW-OUT']) {
      for (const t of [133, 134, 135, 136, 137]) {
        const i = v6.indexOf(`-A ${chain} -p ipv6-icmp -m icmp6 --icmpv6-type ${t} -j RETURN`);
        expect(i).toBeGreaterThan(0);
        expect(i).toBeLessThan(v6.findIndex((l) => l.includes('NFQUEUE')));
      }
    }
  });

  it('uses --queue-num for one queue and no bypass when fail-closed; no IPv6 script without IPv6 addresses', () => {
    const r = generateIptablesRules({ addresses: ['198.18.20.2'], queues: { first: 4, last: 4 }, failOpen: false });
    expect(r.ipv6).toBeNull();
    expect(r.ipv4).toContain('-A SGFW-IN -d 198.18.20.2/32 -j NFQUEUE --queue-num 4\n');
    expect(r.ipv4).not.toContain('bypass');
  });

  it('every address gets exactly one ingress (-d) and one egress (-s) rule in its family; nothing outside our chains but the two jumps', () => {
    const v4 = fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 254 })).map(
      ([a, b, c]) => `198.${18 + a}.${b}.${c}`,
    );
    const v6 = fc.integer({ min: 1, max: 0xffff }).map((n) => `2001:db8:20::${n.toString(16)}`);
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.oneof(v4, v6), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 0, max: 65000 }),
        fc.integer({ min: 0, max: 7 }),
        fc.boolean(),
        (addrs, first, span, failOpen) => {
          const r = generateIptablesRules({ addresses: addrs, queues: { first, last: first + span }, failOpen });
          for (const fam of ['ipv4', 'ipv6'] as const) {
            const mine = addrs.filter((a) => a.includes(':') === (fam === 'ipv6'));
            const script = r[fam];
            if (!mine.length) {
              expect(script).toBeNull();
              continue;
            }
            const lines = script!.split('\n').filter((l) => l.startsWith('-'));
            const outside = lines.filter((l) => !/^-A SGFW-(IN|OUT) /.test(l));
            expect(outside).toEqual([
              '-I INPUT 1 ! -i lo -m comment --comment sgfw -j SGFW-IN',
              '-I OUTPUT 1 ! -o lo -m comment --comment sgfw -j SGFW-OUT',
            ]);
            const queued = lines.filter((l) => l.includes('-j NFQUEUE'));
            expect(queued.length).toBe(2 * mine.length);
            for (const a of mine) {
              const cidr = `${a}/${fam === 'ipv4' ? 32 : 128}`;
              expect(queued.filter((l) => l.startsWith(`-A SGFW-IN -d ${cidr} `)).length).toBe(1);
              expect(queued.filter((l) => l.startsWith(`-A SGFW-OUT -s ${cidr} `)).length).toBe(1);
            }
            for (const l of queued) {
              expect(l.endsWith(' --queue-bypass')).toBe(failOpen);
              expect(l).toContain(span === 0 ? `--queue-num ${first}` : `--queue-balance ${first}:${first + span}`);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('rejects bad addresses and queue ranges', () => {
    const q = { first: 0, last: 0 };
    expect(() => generateIptablesRules({ addresses: [], queues: q, failOpen: true })).toThrow(/no host addresses/);
    expect(() => generateIptablesRules({ addresses: ['198.18.0.256'], queues: q, failOpen: true })).toThrow(/not an IP address/);
    expect(() => generateIptablesRules({ addresses: ['198.18.0.1/33'], queues: q, failOpen: true })).toThrow(/prefix/);
    expect(() => generateIptablesRules({ addresses: ['198.18.0.1'], queues: { first: 3, last: 2 }, failOpen: true })).toThrow(/queue range/);
    expect(() => generateIptablesRules({ addresses: ['198.18.0.1'], queues: { first: 0, last: 65536 }, failOpen: true })).toThrow(/queue range/);
    expect(splitAddresses(['198.18.0.0/24', '2001:DB8::1', '198.18.0.0/24'])).toEqual({ v4: ['198.18.0.0/24'], v6: ['2001:db8::1/128'] });
  });

  it('the removal script deletes the two jumps and our two chains, nothing else', () => {
    expect(generateIptablesRemoval()).toBe(
      [
        '*mangle',
        '-D INPUT ! -i lo -m comment --comment sgfw -j SGFW-IN',
        '-D OUTPUT ! -o lo -m comment --comment sgfw -j SGFW-OUT',
        '-F SGFW-IN',
        '-F SGFW-OUT',
        '-X SGFW-IN',
        '-X SGFW-OUT',
        'COMMIT',
        '',
      ].join('\n'),
    );
  });
});

describe('generateNftRuleset', () => {
  it('writes one table of its own with input/output chains at mangle priority', () => {
    expect(generateNftRuleset({ addresses: ['198.18.20.2', '198.18.20.3', '2001:db8:20::2'], queues: { first: 2, last: 3 }, failOpen: false })).toBe(
      [
        'table inet sgfw {',
        '  chain input {',
        '    type filter hook input priority -150; policy accept;',
        '    iifname "lo" return',
        '    icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, nd-redirect } return',
        '    ip daddr { 198.18.20.2/32, 198.18.20.3/32 } queue num 2-3',
        '    ip6 daddr 2001:db8:20::2/128 queue num 2-3',
        '  }',
        '  chain output {',
        '    type filter hook output priority -150; policy accept;',
        '    oifname "lo" return',
        '    icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, nd-redirect } return',
        '    ip saddr { 198.18.20.2/32, 198.18.20.3/32 } queue num 2-3',
        '    ip6 saddr 2001:db8:20::2/128 queue num 2-3',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
    expect(generateNftRuleset({ addresses: ['198.18.20.2'], queues: { first: 0, last: 0 }, failOpen: true })).toContain(
      'ip daddr 198.18.20.2/32 queue num 0 bypass',
    );
  });
});

describe('leftovers', () => {
  const listing = [
    '-P PREROUTING ACCEPT',
    '-P INPUT ACCEPT',
    '-P OUTPUT ACCEPT',
    '-N SGFW-IN',
    '-N SGFW-OUT',
    '-N SGFWX',
    '-N OTHER',
    '-A INPUT -j OTHER',
    '-A INPUT ! -i lo -m comment --comment sgfw -j SGFW-IN',
    '-A INPUT -m comment --comment "sgfw old layout" -j MARK --set-xmark 0x1/0xffffffff',
    '-A INPUT -m comment --comment sgfwnot -j ACCEPT',
    '-A OUTPUT -j SGFWX',
    '-A OUTPUT -j OTHERSGFW',
    '-A SGFW-IN -d 198.18.20.2/32 -j NFQUEUE --queue-num 0',
    '-A OTHER -j ACCEPT',
    '',
  ].join('\n');

  it('finds our chains and the rules that point at them or carry the comment, and keeps the rest', () => {
    const l = parseIptablesLeftovers('ipv4', listing);
    expect(l.chains).toEqual(['SGFW-IN', 'SGFW-OUT', 'SGFWX']);
    expect(l.rules).toEqual([
      '-A INPUT ! -i lo -m comment --comment sgfw -j SGFW-IN',
      '-A INPUT -m comment --comment "sgfw old layout" -j MARK --set-xmark 0x1/0xffffffff',
      '-A OUTPUT -j SGFWX',
    ]);
    expect(iptablesCleanupScript(l)).toBe(
      [
        '*mangle',
        '-D INPUT ! -i lo -m comment --comment sgfw -j SGFW-IN',
        '-D INPUT -m comment --comment "sgfw old layout" -j MARK --set-xmark 0x1/0xffffffff',
        '-D OUTPUT -j SGFWX',
        '-F SGFW-IN',
        '-F SGFW-OUT',
        '-F SGFWX',
        '-X SGFW-IN',
        '-X SGFW-OUT',
        '-X SGFWX',
        'COMMIT',
        '',
      ].join('\n'),
    );
    expect(iptablesCleanupScript(parseIptablesLeftovers('ipv4', '-P INPUT ACCEPT\n-A INPUT -j OTHER\n'))).toBeNull();
  });

  it('cleanup() feeds that script to iptables-restore and reports what it removed', () => {
    const { runner, calls } = fakeRunner((cmd, args) => {
      if (cmd === 'nft') return ok('table ip filter\ntable inet sgfw\n');
      if (cmd === 'iptables' && args.includes('-S')) return ok(listing);
      if (cmd === 'ip6tables') return failed('ip6tables: IPv6 is not supported');
      return ok();
    });
    const removed = cleanup({ runner });
    expect(removed).toEqual([
      'nft table inet sgfw',
      'iptables -t mangle chain SGFW-IN',
      'iptables -t mangle chain SGFW-OUT',
      'iptables -t mangle chain SGFWX',
      'iptables -t mangle -A INPUT ! -i lo -m comment --comment sgfw -j SGFW-IN',
      'iptables -t mangle -A INPUT -m comment --comment "sgfw old layout" -j MARK --set-xmark 0x1/0xffffffff',
      'iptables -t mangle -A OUTPUT -j SGFWX',
    ]);
    expect(calls.some((c) => c.cmd === 'nft' && c.args.join(' ') === 'delete table inet sgfw')).toBe(true);
    const restore = calls.find((c) => c.cmd === 'iptables-restore');
    expect(restore?.args).toEqual(['--noflush']);
    expect(restore?.input).toContain('-D OUTPUT -j SGFWX\n');
    expect(calls.some((c) => c.cmd === 'ip6tables-restore')).toBe(false);
  });
});

describe('parseNftBaseState', () => {
  it('finds the chains of an iptables-nft table and which base chains are empty with policy accept', () => {
    const json = JSON.stringify({
      nftables: [
        { metainfo: { version: '1.0.6' } },
        { table: { family: 'ip', name: 'mangle', handle: 1 } },
        { chain: { family: 'ip', table: 'mangle', name: 'INPUT', hook: 'input', prio: -150, policy: 'accept' } },
        { chain: { family: 'ip', table: 'mangle', name: 'OUTPUT', hook: 'output', prio: -150, policy: 'accept' } },
        { chain: { family: 'ip', table: 'mangle', name: 'PREROUTING', hook: 'prerouting', prio: -150, policy: 'drop' } },
        { chain: { family: 'ip', table: 'mangle', name: 'USER' } },
        { rule: { family: 'ip', table: 'mangle', chain: 'INPUT', handle: 2, expr: [{ accept: null }] } },
      ],
    });
    const st = parseNftBaseState(json);
    expect([...st.chains].sort()).toEqual(['INPUT', 'OUTPUT', 'PREROUTING', 'USER']);
    expect([...st.emptyAccept]).toEqual(['OUTPUT']); // INPUT has a rule, PREROUTING drops, USER is no base chain
  });
});

describe('errors and detection (fake runner)', () => {
  const opts = { addresses: ['198.18.20.2'], queues: { first: 0, last: 0 }, failOpen: true };

  it('a missing tool names the command and how to install it', () => {
    const { runner } = fakeRunner((cmd) => {
      if (cmd === 'iptables-restore') {
        const error = Object.assign(new Error('spawnSync iptables-restore ENOENT'), { code: 'ENOENT' });
        return { status: null, stdout: '', stderr: '', error };
      }
      return ok('');
    });
    expect(() => installRules({ ...opts, mechanism: 'iptables', runner })).toThrow(
      'iptables-restore --noflush: iptables-restore is not installed (apt-get install iptables)',
    );
  });

  it('a failing command is reported with its command line, exit status and stderr; the other family is taken back', () => {
    const { runner, calls } = fakeRunner((cmd, args, input) => {
      if (cmd === 'ip' && args.includes('ip6tables-restore') && input?.includes('NFQUEUE')) {
        return failed("ip6tables-restore v1.8.9 (nf_tables): Couldn't load target `NFQUEUE'\nError occurred at line: 14", 2);
      }
      return ok('');
    });
    let err: unknown;
    try {
      installRules({ ...opts, addresses: ['198.18.20.2', '2001:db8:20::2'], mechanism: 'iptables', netns: 'ns1', runner });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NetfilterError);
    const ne = err as NetfilterError;
    expect(ne.command).toBe('ip netns exec ns1 ip6tables-restore --noflush');
    expect(ne.message).toBe(
      "ip netns exec ns1 ip6tables-restore --noflush failed (exit 2): ip6tables-restore v1.8.9 (nf_tables): Couldn't load target `NFQUEUE' | Error occurred at line: 14",
    );
    // The IPv4 rules that went in are removed again.
    const v4 = calls.filter((c) => c.args.includes('iptables-restore'));
    expect(v4.length).toBe(2);
    expect(v4[1]!.input).toBe(generateIptablesRemoval());
  });

  it('refuses to install over leftovers of another run', () => {
    const { runner } = fakeRunner((cmd, args) =>
      cmd === 'iptables' && args.includes('-S') ? ok('-N SGFW-IN\n-A INPUT -m comment --comment sgfw -j SGFW-IN\n') : ok(''),
    );
    expect(() => installRules({ ...opts, mechanism: 'iptables', runner })).toThrow(/already installed .*sgfw cleanup.*chain SGFW-IN/);
  });

  it('detection prefers nft, falls back to iptables, and gives the fix when neither works', () => {
    const nftMissing = 'Error: Could not process rule: No such file or directory\nmeta l4proto udp queue num 0-1 bypass';
    const both = fakeRunner((cmd, args) => (args[1] === 'nft' ? failed(nftMissing) : cmd === 'iptables' ? ok('iptables v1.8.9 (nf_tables)\n') : ok()));
    const s = detectQueueSupport(both.runner);
    expect(s.mechanism).toBe('iptables');
    expect(s.line).toBe(
      'netfilter: using the iptables NFQUEUE target (iptables v1.8.9 (nf_tables); chains SGFW-IN/SGFW-OUT in table mangle); nftables queue unavailable: the kernel has no nft_queue (CONFIG_NFT_QUEUE)',
    );
    expect(both.calls.every((c) => c.cmd !== 'unshare' || c.args[0] === '-n')).toBe(true);

    const nftOk = fakeRunner(() => ok());
    expect(detectQueueSupport(nftOk.runner).mechanism).toBe('nft');

    const none = fakeRunner((_cmd, args) =>
      args[1] === 'nft' ? failed(nftMissing) : failed("iptables-restore v1.8.9 (nf_tables): Couldn't load target `NFQUEUE':No such file or directory"),
    );
    const n = detectQueueSupport(none.runner);
    expect(n.mechanism).toBeNull();
    expect(n.fix).toBe('modprobe nfnetlink_queue xt_NFQUEUE (or nft_queue)');
    expect(n.line).toMatch(/^netfilter: cannot queue packets to userspace: .* Fix: modprobe nfnetlink_queue/);
    expect(() => installRules({ ...opts, runner: none.runner })).toThrow(/cannot queue packets to userspace/);
  });
});
