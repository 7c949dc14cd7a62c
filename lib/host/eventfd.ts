// A real eventfd(2) through the addon, behind the same EventFd interface as the model's: the
// counter lives in the kernel, readiness comes from the event loop. Results follow the syscall
// convention (value or -errno).
// Difference from the model: waiters run when the fd is readable (level-triggered, on the event
// loop), not synchronously on each write.

import { POLLIN } from '../../uapi/index.js';
import type { EventFd, EventFdWaiter } from '../eventfd.js';
import { check } from './host_error.js';
import { native } from './native.js';
import { type FdWatch, watchFd } from './poll.js';

export class HostEventFd implements EventFd {
  private closed = false;

  private constructor(readonly fd: number) {}

  /** eventfd(initval, EFD_CLOEXEC | [EFD_NONBLOCK] | [EFD_SEMAPHORE]). */
  static create(initval = 0, opts: { nonblock?: boolean; semaphore?: boolean } = {}): HostEventFd {
    const n = native();
    const flags = n.EFD_CLOEXEC | (opts.nonblock === false ? 0 : n.EFD_NONBLOCK) | (opts.semaphore ? n.EFD_SEMAPHORE : 0);
    return new HostEventFd(check('eventfd', n.eventfd(initval, flags)));
  }

  /** Adds to the counter: 0, or -EAGAIN (would overflow) / -EINVAL (value 2^64-1). */
  write(value: bigint): number {
    return native().eventfdWrite(this.fd, value);
  }

  /** Returns and clears the counter (semaphore mode: 1), or -EAGAIN when it is zero. */
  read(): bigint | number {
    return native().eventfdRead(this.fd);
  }

  /** Calls `cb` while the counter is non-zero (level-triggered, as poll(2)). */
  onReadable(cb: () => void): FdWatch {
    return watchFd(this.fd, { readable: true }, () => cb());
  }

  addWaiter(waiter: EventFdWaiter): () => void {
    const w = this.onReadable(() => waiter(POLLIN));
    return () => w.stop();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    native().close(this.fd);
  }
}
