// Models: fs/eventfd.c: a 64-bit counter; write adds, read returns and zeroes it (semaphore
// mode: returns 1 and decrements), every change wakes the poll wait queue.
// Deviations: the model never blocks. Where a blocking eventfd would sleep, read()/write()
// return -EAGAIN and the syscall layer decides how to wait (waiters tell it when to retry).

import { EAGAIN, EINVAL, POLLERR, POLLIN, POLLOUT } from '../uapi/index.js';

export const ULLONG_MAX = 0xffff_ffff_ffff_ffffn;

/** Called on every wake-up with the poll events it signals (POLLIN after a write, POLLOUT after a read). */
export type EventFdWaiter = (events: number) => void;

/** What the kernel side and the syscall face need from an eventfd, model or real. */
export interface EventFd {
  /** eventfd_write(): 0, -EINVAL for 2^64-1, -EAGAIN if the counter would pass 2^64-2. */
  write(value: bigint): number;
  /** eventfd_read(): the counter (or 1 in semaphore mode), -EAGAIN when it is zero. */
  read(): bigint | number;
  /** Adds a wait-queue entry; returns its removal. */
  addWaiter(waiter: EventFdWaiter): () => void;
  close(): void;
}

export class EventFdCtx implements EventFd {
  count: bigint;
  private waiters = new Set<EventFdWaiter>();

  constructor(
    initval = 0n,
    readonly semaphore = false,
    readonly nonblock = true,
  ) {
    this.count = initval;
  }

  write(value: bigint): number {
    if (value === ULLONG_MAX) return -EINVAL;
    if (ULLONG_MAX - this.count <= value) return -EAGAIN;
    this.count += value;
    // eventfd_write() wakes the wait queue on every successful write, even of 0.
    this.wake(POLLIN);
    return 0;
  }

  read(): bigint | number {
    if (this.count === 0n) return -EAGAIN;
    const v = this.semaphore ? 1n : this.count;
    this.count -= v;
    this.wake(POLLOUT);
    return v;
  }

  /** eventfd_signal(): what the kernel does on a device notification; saturates at 2^64-1. */
  signal(n = 1n): void {
    const room = ULLONG_MAX - this.count;
    this.count += n < room ? n : room;
    this.wake(POLLIN);
  }

  /** eventfd_poll(). */
  poll(): number {
    let events = 0;
    if (this.count > 0n) events |= POLLIN;
    if (this.count === ULLONG_MAX) events |= POLLERR;
    if (ULLONG_MAX - 1n > this.count) events |= POLLOUT;
    return events;
  }

  addWaiter(waiter: EventFdWaiter): () => void {
    this.waiters.add(waiter);
    return () => this.waiters.delete(waiter);
  }

  private wake(events: number): void {
    for (const w of [...this.waiters]) w(events);
  }

  close(): void {
    this.waiters.clear();
  }
}
