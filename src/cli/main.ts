// sgfw command line: dispatch to one command module per subcommand. bin.ts runs it as the
// process; tests and other embedders call main() (no side effects on import).
import { readFileSync } from 'node:fs';
import { PolicyError } from '../validate/diagnostics.js';
import { EXIT_BAD_INPUT, EXIT_FAILURE, UsageError } from './exit.js';
import { writeOut, writeErr } from './output.js';

const USAGE = `sgfw: cloud security groups (AWS EC2, Alibaba ECS) enforced on any Linux host

usage:
  sgfw check   --policy P [--json]
  sgfw explain --policy P --interface ID --direction ingress|egress --protocol PROTO
               --src A --dst B [--src-port N] [--dst-port N] [--icmp-type T] [--icmp-code C] [--json]
  sgfw compile --policy P --out TABLE [--json]   (P validated and compiled once; TABLE serves
               as --policy for replay, which then skips the JSON)
  sgfw replay  [--policy P TRACE] [--verdicts F.jsonl] [--swap N:P2]... [--write-accepted F.pcap]
               [--write-dropped F.pcap] [--flow-log F] [--json] [--diff NEW.json]
               (no policy and trace: the embedded demo)
  sgfw monitor --policy P --interface IFACE [--bpf FILTER] [--metrics HOST:PORT] [--watch]
  sgfw run     --policy P --inline OUTSIDE:INSIDE [--workers N] [--spin-us N] [--audit] [--on-error open|closed]
               [--on-conntrack-full drop|bypass] [--metrics HOST:PORT] [--watch] [--status-file F]
  sgfw run     --policy P --host [--workers N] [--queue FIRST] [--audit] [--on-error open|closed] ...
  sgfw status  --status-file F
  sgfw demo    DIR   (writes the embedded demo's policies and trace)
  sgfw cleanup (removes netfilter rules a crashed "sgfw run --host" left behind)

Exit status: 0 ok, 2 bad input (usage, policy, trace), 1 internal failure.
See README.md for the policy format and every option.`;

type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  check: async () => (await import('./check.js')).runCheck,
  compile: async () => (await import('./compile.js')).runCompile,
  explain: async () => (await import('./explain.js')).runExplain,
  replay: async () => (await import('./replay.js')).runReplayCommand,
  monitor: async () => (await import('./live.js')).runMonitor,
  run: async () => (await import('./live.js')).runRun,
  status: async () => (await import('./live.js')).runStatus,
  cleanup: async () => (await import('./host.js')).runCleanup,
  demo: async () => (await import('./demo.js')).runDemo,
};

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    writeOut(`${USAGE}\n`);
    return name === undefined ? EXIT_BAD_INPUT : 0;
  }
  if (name === '--version' || name === 'version') {
    writeOut(`sgfw ${version()}\n`);
    return 0;
  }
  const load = COMMANDS[name];
  if (!load) {
    writeErr(`sgfw: unknown command ${JSON.stringify(name)}\n\n${USAGE}\n`);
    return EXIT_BAD_INPUT;
  }
  try {
    return await (await load())(rest);
  } catch (e) {
    if (e instanceof UsageError || e instanceof PolicyError) {
      writeErr(`${e.message}\n`);
      return EXIT_BAD_INPUT;
    }
    const err = e as Error & { code?: string };
    if (typeof err.code === 'string' && err.code.startsWith('ERR_INPUT')) {
      writeErr(`${err.message}\n`);
      return EXIT_BAD_INPUT;
    }
    writeErr(`sgfw ${name}: internal error: ${err.stack ?? String(e)}\n`);
    return EXIT_FAILURE;
  }
}
