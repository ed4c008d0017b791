// sgfw run --host: protect this host's own traffic through NFQUEUE. The policy's interface
// addresses are the host's: traffic to them is ingress, from them egress. sgfw installs the
// rules that queue it (its own chains, nothing else touched) once its workers listen, and
// removes them on exit; `sgfw cleanup` removes what a crashed run left.
import { cleanup, detectQueueSupport, installRules, removeRules, type RuleHandle } from '../host/netfilter.js';
import type { LoadedPolicy } from '../dataplane/policy-table.js';
import { parse } from './args.js';
import type { LiveHooks } from './live.js';
import { writeOut, writeErr } from './output.js';

export interface HostModeOptions {
  workers: number;
  onError: 'open' | 'closed';
  queue: number;
}

function policyAddresses(p: LoadedPolicy): string[] {
  return p.policy.interfaces.flatMap((i) => i.addresses.map((a) => a.text));
}

export function hostMode(o: HostModeOptions, log = (l: string) => writeErr(`${l}\n`)): {
  portNames: string[];
  hooks: LiveHooks;
} {
  const support = detectQueueSupport();
  log(support.line);
  if (!support.mechanism) throw new Error(`sgfw run --host: no NFQUEUE support${support.fix ? `; fix: ${support.fix}` : ''}`);
  const queues = { first: o.queue, last: o.queue + o.workers - 1 };
  let handle: RuleHandle | undefined;
  let installedFor = '';
  const install = (p: LoadedPolicy) => {
    const addresses = policyAddresses(p);
    handle = installRules({ addresses, queues, failOpen: o.onError === 'open', mechanism: support.mechanism! });
    installedFor = addresses.join(',');
    log(`sgfw run --host: queueing traffic of ${addresses.join(', ')} to NFQUEUE ${queues.first}..${queues.last} (${o.onError === 'open' ? 'fail-open: traffic passes when sgfw is not there' : 'fail-closed: traffic is held when sgfw is not there'})`);
  };
  const remove = () => {
    if (handle && !handle.removed) removeRules(handle);
  };
  // Rules must go even when the process dies on an exception.
  process.once('exit', remove);
  return {
    portNames: Array.from({ length: o.workers }, (_, i) => `queue${o.queue + i}`),
    hooks: {
      onStarted: install,
      onReload: (p) => {
        if (policyAddresses(p).join(',') === installedFor) return;
        remove();
        install(p);
      },
      onStop: remove,
    },
  };
}

export async function runCleanup(argv: string[]): Promise<number> {
  parse('cleanup', argv, {}, 0);
  const removed = cleanup();
  writeOut(removed.length ? `sgfw cleanup: removed ${removed.join('; ')}\n` : 'sgfw cleanup: nothing of sgfw was installed\n');
  return 0;
}
