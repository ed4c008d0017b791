// Output files of `sgfw replay` over real traces (spec 6, issue 3): --write-accepted and
// --write-dropped hold exactly the judged packets as captured, --flow-log writes VPC Flow Logs
// version 2 lines, and bad input (missing, truncated, unknown link type) throws
// ERR_INPUT_TRACE leaving no output file behind.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runReplay } from '../../src/dataplane/replay.js';
import { noTraces, policy, readPcap, tracePath, type VerdictLine } from './trace-harness.js';

const skip = noTraces();

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sgfw-trace-out-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function readVerdicts(file: string): VerdictLine[] {
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as VerdictLine);
}

function hasTcpdump(): boolean {
  try {
    execFileSync('tcpdump', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const tcpdump = hasTcpdump();
if (!tcpdump) console.warn('skipping the tcpdump read-back test: tcpdump is not installed');

describe.skipIf(skip)('--write-accepted / --write-dropped', () => {
  it('GRE trace with a Drop swap: 20 accepted and 20 dropped records, byte for byte as captured', () => {
    const acc = path.join(dir, 'acc.pcap');
    const drp = path.join(dir, 'drp.pcap');
    const v = path.join(dir, 'v.jsonl');
    const r = runReplay({
      trace: tracePath('zeek-gre-sample.pcap'),
      policy: policy('alibaba-gre.json'),
      swaps: [{ before: 20, policy: policy('alibaba-gre-blocked.json') }],
      verdicts: v,
      writeAccepted: acc,
      writeDropped: drp,
    });
    const verdicts = readVerdicts(v);
    const src = readPcap(tracePath('zeek-gre-sample.pcap'));
    const a = readPcap(acc);
    const d = readPcap(drp);
    // Hand count: packets 0..19 pass, the swap before 20 cuts the tunnel (see headers-tunnels).
    expect(r.summary.accepted).toBe(20);
    expect(r.summary.dropped).toBe(20);
    expect(a.records.length).toBe(verdicts.filter((x) => x.verdict === 'accept').length);
    expect(d.records.length).toBe(verdicts.filter((x) => x.verdict === 'drop').length);
    expect(a.linkType).toBe(src.linkType);
    expect(d.linkType).toBe(src.linkType);
    const same = (x: (typeof src.records)[number], y: (typeof src.records)[number]) =>
      Buffer.compare(Buffer.from(x.data), Buffer.from(y.data)) === 0 && x.origLen === y.origLen;
    src.records.slice(0, 20).forEach((rec, k) => expect(same(a.records[k]!, rec), `accepted record ${k}`).toBe(true));
    src.records.slice(20).forEach((rec, k) => expect(same(d.records[k]!, rec), `dropped record ${k}`).toBe(true));
  });

  it.skipIf(!tcpdump)('raw-IPv4 trace: tcpdump reads the dropped file back, 3 packets, none accepted', () => {
    const acc = path.join(dir, 'acc.pcap');
    const drp = path.join(dir, 'drp.pcap');
    const r = runReplay({
      trace: tracePath('sv-rawip-frag-tcp-syn.pcap'),
      policy: policy('alibaba-rawip-frag.json'),
      writeAccepted: acc,
      writeDropped: drp,
    });
    expect(r.summary.dropped).toBe(3);
    const lines = execFileSync('tcpdump', ['-nn', '-r', drp], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n')
      .filter(Boolean);
    expect(lines.length).toBe(3);
    expect(lines[0]).toContain('1.1.1.1.12345 > 2.2.2.2.8080');
    expect(readPcap(acc).records.length).toBe(0);
  });
});

describe.skipIf(skip)('--flow-log', () => {
  it('one tracked TCP flow: header line, then one v2 line per direction with packets and IP bytes', () => {
    const fl = path.join(dir, 'flows.log');
    runReplay({ trace: tracePath('sv-tcp-session-equivalence.pcap'), policy: policy('aws-session-tracked.json'), flowLog: fl });
    const lines = readFileSync(fl, 'utf8').split('\n').filter(Boolean);
    expect(lines[0]).toBe(
      'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status',
    );
    const src = readPcap(tracePath('sv-tcp-session-equivalence.pcap'));
    const start = src.records[0]!.tsSec;
    const end = src.records[src.records.length - 1]!.tsSec;
    // Client -> server: packets 0 2 3 6 7 9 (IP lengths 40 40 56 40 40 40 = 256 bytes);
    // server -> client: 1 4 5 8 (40 40 56 40 = 176 bytes). All ten share one timestamp.
    expect(lines.slice(1).sort()).toEqual(
      [
        `2 - eni-srv 192.0.2.10 198.51.100.5 43210 12345 6 6 256 ${start} ${end} ACCEPT OK`,
        `2 - eni-srv 198.51.100.5 192.0.2.10 12345 43210 6 4 176 ${start} ${end} ACCEPT OK`,
      ].sort(),
    );
  });

  it('the account id fills the second field; flows of two interfaces name their interface', () => {
    const fl = path.join(dir, 'flows.log');
    runReplay({
      trace: tracePath('sv-smtp-icmp-fragneeded.pcap'),
      policy: policy('aws-smtp-client.json'),
      flowLog: fl,
      accountId: '123456789012',
    });
    const lines = readFileSync(fl, 'utf8').split('\n').filter(Boolean).slice(1);
    for (const l of lines) {
      expect(l).toMatch(/^2 123456789012 eni-(mail-client|dns) \S+ \S+ \d+ \d+ \d+ \d+ \d+ \d+ \d+ (ACCEPT|REJECT) OK$/);
    }
    const smtpOut = lines.find((l) => l.includes(' 10.10.1.4 74.53.140.153 1470 25 6 '));
    const dnsIn = lines.find((l) => l.startsWith('2 123456789012 eni-dns 10.10.1.4 10.10.1.1 56166 53 17 1 '));
    expect(smtpOut, lines.join('\n')).toMatch(/ ACCEPT OK$/);
    expect(dnsIn, lines.join('\n')).toMatch(/ ACCEPT OK$/);
    // SMTP client -> server: 28 packets (see icmp-udp.test.ts); the 4 ICMP errors are not part of it.
    expect(smtpOut!.split(' ')[8]).toBe('28');
  });
});

describe.skipIf(skip)('bad trace input: ERR_INPUT_TRACE and no output files', () => {
  const outputs = () => ({
    verdicts: path.join(dir, 'out', 'v.jsonl'),
    writeAccepted: path.join(dir, 'out', 'acc.pcap'),
    writeDropped: path.join(dir, 'out', 'drp.pcap'),
    flowLog: path.join(dir, 'out', 'flows.log'),
  });
  const expectInputError = (trace: string, mentions: string[]) => {
    mkdirSync(path.join(dir, 'out'));
    let err: (Error & { code?: string }) | undefined;
    try {
      runReplay({ trace, policy: policy('aws-smtp-client.json'), ...outputs() });
    } catch (e) {
      err = e as Error & { code?: string };
    }
    expect(err, 'runReplay must throw').toBeDefined();
    expect(err!.code).toBe('ERR_INPUT_TRACE');
    for (const m of mentions) expect(err!.message).toContain(m);
    expect(readdirSync(path.join(dir, 'out'))).toEqual([]);
  };

  it('a trace path that does not exist', () => {
    const missing = path.join(dir, 'no-such-trace.pcap');
    expectInputError(missing, [missing]);
  });

  it('a copy of a shared trace truncated in the middle of a record', () => {
    const t = path.join(dir, 'smtp-truncated.pcap');
    copyFileSync(tracePath('sv-smtp-icmp-fragneeded.pcap'), t);
    truncateSync(t, statSync(t).size - 700); // the last record takes 259 bytes: this cuts into the one before
    expectInputError(t, [t]);
  });

  it('a copy truncated inside the file header', () => {
    const t = path.join(dir, 'header-truncated.pcap');
    copyFileSync(tracePath('sv-smtp-icmp-fragneeded.pcap'), t);
    truncateSync(t, 10);
    expectInputError(t, [t]);
  });

  it('an unknown link type is an error that names it', () => {
    const t = path.join(dir, 'user0.pcap');
    const b = readFileSync(tracePath('zeek-tcp-syn-then-rst.pcap'));
    b.writeUInt32LE(147, 20); // LINKTYPE_USER0; the file is little-endian (d4 c3 b2 a1)
    writeFileSync(t, b);
    expectInputError(t, [t, '147']);
  });
});
