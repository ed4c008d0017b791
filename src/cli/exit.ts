// Exit statuses and the error type the commands throw for bad input.

export const EXIT_OK = 0;
/** An internal failure: a bug, or the machine refused something we needed. */
export const EXIT_FAILURE = 1;
/** Bad input: usage, policy, trace. Nothing was produced. */
export const EXIT_BAD_INPUT = 2;

/** Bad input the user can fix; main prints the message and exits 2. */
export class UsageError extends Error {
  readonly code = 'ERR_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
