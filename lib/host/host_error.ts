// A failed host (real kernel) operation, with a stable errno name a program can act on.
// Not a kernel file.

import { errnoName, strerror } from '../../uapi/index.js';

export class HostError extends Error {
  override readonly name = 'HostError';
  /** errno name, e.g. `EPERM`. */
  readonly errno: string;
  /** errno number (positive). */
  readonly code: number;
  /** The operation that failed, e.g. `TUNSETIFF`. */
  readonly op: string;

  constructor(op: string, err: number, message?: string) {
    const n = Math.abs(err);
    super(message ?? `${op}: ${strerror(n)} (${errnoName(n)})`);
    this.op = op;
    this.code = n;
    this.errno = errnoName(n);
  }
}

/** Throws HostError for a negative syscall result; returns non-negative results. */
export function check(op: string, r: number): number {
  if (r < 0) throw new HostError(op, r);
  return r;
}
