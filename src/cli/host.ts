// sgfw run --host: protect this host's own traffic through NFQUEUE.
import { UsageError } from './exit.js';
import type { Parsed } from './args.js';
import type { RunController } from './live.js';

export interface HostOptions {
  workers: number;
  onError: 'open' | 'closed';
  onConntrackFull: 'drop' | 'bypass';
  audit: boolean;
}

export async function startHostMode(p: Parsed, o: HostOptions, run: RunController): Promise<number> {
  void p;
  void o;
  void run;
  throw new UsageError('sgfw run --host: not available yet (issue 7)');
}
