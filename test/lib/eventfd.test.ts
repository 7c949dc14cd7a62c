// eventfd counter semantics, checked on the model and, through the same interface, on a real
// eventfd from the native addon.

import { describe, expect, it } from 'vitest';
import { type EventFd, EventFdCtx, ULLONG_MAX } from '../../lib/eventfd.js';
import { HostEventFd } from '../../lib/host/index.js';
import { EAGAIN, EINVAL, POLLERR, POLLIN, POLLOUT } from '../../uapi/index.js';

const impls: [string, (init?: bigint, semaphore?: boolean) => EventFd][] = [
  ['model', (init = 0n, semaphore = false) => new EventFdCtx(init, semaphore)],
  ['real (native)', (init = 0n, semaphore = false) => HostEventFd.create(Number(init), { semaphore })],
];

for (const [name, make] of impls) {
  describe(`eventfd counter rules: ${name}`, () => {
    it('write adds, read returns and zeroes, a zero counter reads EAGAIN', () => {
      const e = make();
      expect(e.read()).toBe(-EAGAIN);
      expect(e.write(2n)).toBe(0);
      expect(e.write(40n)).toBe(0);
      expect(e.read()).toBe(42n);
      expect(e.read()).toBe(-EAGAIN);
      e.close();
    });

    it('writing 2^64-1 is EINVAL; passing 2^64-2 is EAGAIN', () => {
      const e = make();
      expect(e.write(ULLONG_MAX)).toBe(-EINVAL);
      expect(e.write(ULLONG_MAX - 1n)).toBe(0);
      expect(e.write(1n)).toBe(-EAGAIN);
      expect(e.read()).toBe(ULLONG_MAX - 1n);
      e.close();
    });

    it('the initial value counts, and semaphore mode hands out 1 at a time', () => {
      const e = make(3n, true);
      expect([e.read(), e.read(), e.read(), e.read()]).toEqual([1n, 1n, 1n, -EAGAIN]);
      e.close();
    });
  });
}

describe('eventfd model: wake-ups and poll', () => {
  it('every successful write wakes the waiters with POLLIN, synchronously', () => {
    const e = new EventFdCtx();
    const seen: number[] = [];
    const remove = e.addWaiter((ev) => seen.push(ev));
    e.write(1n);
    e.write(1n);
    expect(seen).toEqual([POLLIN, POLLIN]);
    e.write(ULLONG_MAX);
    expect(seen.length).toBe(2);
    remove();
    e.write(1n);
    expect(seen.length).toBe(2);
  });

  it('a write of 0 still wakes the waiters (eventfd_write wakes on success, whatever the value)', () => {
    const e = new EventFdCtx();
    const seen: number[] = [];
    e.addWaiter((ev) => seen.push(ev));
    expect(e.write(0n)).toBe(0);
    expect(seen).toEqual([POLLIN]);
    expect(e.count).toBe(0n);
  });

  it('poll() reports POLLIN when non-zero, POLLOUT while a write can fit, POLLERR at 2^64-1', () => {
    const e = new EventFdCtx();
    expect(e.poll()).toBe(POLLOUT);
    e.write(5n);
    expect(e.poll()).toBe(POLLIN | POLLOUT);
    e.signal(ULLONG_MAX);
    expect(e.count).toBe(ULLONG_MAX);
    expect(e.poll()).toBe(POLLIN | POLLERR);
  });

  it('signal() from the kernel side adds 1 and saturates instead of failing', () => {
    const e = new EventFdCtx(ULLONG_MAX - 1n);
    e.signal();
    e.signal();
    expect(e.count).toBe(ULLONG_MAX);
  });
});
