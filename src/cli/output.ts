// What the commands print, written with write(2) on descriptors 1 and 2.
//
// Why not process.stdout/stderr: the first touch of either builds a stream object, and on a
// pipe (how scripts and the bench run sgfw) or a terminal that loads node's net, stream and tty
// modules: about 9 ms of a one-shot command's start-up on the bench machine (`node -e` writing
// one byte through process.stdout or fs.writeSync, into `| cat`, 21 interleaved pairs: 104 vs
// 95 ms). Every write is complete when the call returns, so bin.ts can exit right after the
// command (node's own stream would queue a write once a pipe is full, and an exit drops the
// queue).
import { writeSync } from 'node:fs';

const STDOUT = 1;
const STDERR = 2;

// A descriptor the parent left non-blocking answers EAGAIN when its pipe is full: wait a
// millisecond and try again, as a blocking write would have waited.
const pause = new Int32Array(new SharedArrayBuffer(4));

/** Where output goes instead of descriptors 1 and 2 (a test driver running many commands in one process). */
export type OutputSink = (stream: 'stdout' | 'stderr', text: string) => void;
let sink: OutputSink | undefined;

/** Sends the commands' output to `s` (undefined: back to descriptors 1 and 2). */
export function setOutputSink(s: OutputSink | undefined): void {
  sink = s;
}

let stdoutClosed = false;

function writeAll(fd: number, text: string): void {
  if (fd === STDOUT && stdoutClosed) return;
  const bytes = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < bytes.length) {
    try {
      off += writeSync(fd, bytes, off, bytes.length - off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        Atomics.wait(pause, 0, 0, 1);
        continue;
      }
      // `sgfw check ... | head` closes the pipe early: that is the reader's choice, not a
      // failure. The rest of the output is dropped; the command runs on (its clean-up, its
      // exit status).
      if (code === 'EPIPE') {
        if (fd === STDOUT) stdoutClosed = true;
        return;
      }
      throw e;
    }
  }
}

/** Prints to standard output. */
export function writeOut(text: string): void {
  if (sink) sink('stdout', text);
  else writeAll(STDOUT, text);
}

/** Prints to standard error (diagnostics, warnings, logs). */
export function writeErr(text: string): void {
  if (sink) sink('stderr', text);
  else writeAll(STDERR, text);
}
