#!/usr/bin/env node
// The sgfw process: runs the command line (main.ts) and exits with its status.
import { EXIT_FAILURE } from './exit.js';
import { main } from './main.js';
import { writeErr } from './output.js';

// Exit as soon as the command is done: all its output is written by then (output.ts writes
// synchronously; native outputs are committed before their calls return, and run/monitor
// return only after their clean-up). A natural exit first waits for V8's background work
// (compile jobs, a scheduled collection) and tears the heap down: ~15 ms of a `sgfw replay
// --policy P.json` process on the bench machine, ~3 ms of one from a compiled table
// (41 interleaved pairs each).
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    writeErr(`sgfw: ${String(e)}\n`);
    process.exit(EXIT_FAILURE);
  },
);
