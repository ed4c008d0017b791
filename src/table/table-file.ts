// A compiled table on disk (`sgfw compile`): the very blob the controller hands the data plane,
// saved so that runs over many traces skip reading, validating and compiling the policy JSON
// (about 85 ms of a replay's start-up at 1,000 rules). The data plane's loader checks the
// whole blob (bounds, version, CRC) when it takes it; here only the magic tells the two apart.
import { closeSync, openSync, readFileSync, readSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { HEADER, MAGIC } from './format.js';

/** A table ready for the data plane, and the file it came from (the summary's label). */
export interface TableBlob {
  file: string;
  blob: Uint8Array;
  /** Read from a table file rather than compiled in this process: the loader's refusal is bad input. */
  fromTableFile?: boolean;
}

/** Whether these bytes start as a compiled table does ("SGFT"), not as a policy's JSON. */
export function isTableBlob(bytes: Uint8Array): boolean {
  return bytes.length >= HEADER.size && new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true) === MAGIC;
}

/** Whether FILE holds a compiled table; false when it cannot be read (the caller's reader says why). */
export function isTableFile(file: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return false;
  }
  try {
    const head = new Uint8Array(HEADER.size);
    return readSync(fd, head, 0, head.length, 0) === head.length && isTableBlob(head);
  } finally {
    closeSync(fd);
  }
}

export function readTableFile(file: string): TableBlob {
  return { file, blob: readFileSync(file), fromTableFile: true };
}

/** Writes the table whole or not at all: a reader never sees half a file. */
export function writeTableFile(file: string, blob: Uint8Array): void {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, blob);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
