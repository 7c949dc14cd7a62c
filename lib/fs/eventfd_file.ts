// Models: the file side of fs/eventfd.c: eventfd2(), read/write of the 8-byte counter through
// user buffers, poll, and the lookups drivers use on a descriptor: eventfd_fget() and
// eventfd_ctx_fdget().
// Deviations: a blocking read of a zero counter (or a write that would overflow) cannot sleep in
// the single-threaded model: it returns -EAGAIN like a non-blocking one.

import { EBADF, EFAULT, EFD_CLOEXEC, EFD_NONBLOCK, EFD_SEMAPHORE, EINVAL, O_RDWR } from '../../uapi/index.js';
import { EventFdCtx } from '../eventfd.js';
import { copyFromUser, copyToUser } from '../mm/index.js';
import { FMODE_READ, FMODE_WRITE, File, type FileOperations } from './file.js';
import type { Task } from './task.js';

const EFD_FLAGS_SET = EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE;

const ctxOf = (file: File): EventFdCtx => file.privateData as EventFdCtx;
const scratch = new Uint8Array(8);
const scratchView = new DataView(scratch.buffer);

export const eventfdFops: FileOperations = {
  name: 'eventfd',
  read(file, task, ubuf, count) {
    if (count < 8) return -EINVAL;
    const v = ctxOf(file).read();
    if (typeof v === 'number') return v;
    // The counter is consumed before the copy, as in eventfd_read(): a fault loses it.
    scratchView.setBigUint64(0, v, true);
    return copyToUser(task.mm, ubuf, scratch, 8) === 0 ? 8 : -EFAULT;
  },
  write(file, task, ubuf, count) {
    if (count < 8) return -EINVAL;
    if (copyFromUser(task.mm, scratch, ubuf, 8) !== 0) return -EFAULT;
    const r = ctxOf(file).write(scratchView.getBigUint64(0, true));
    return r < 0 ? r : 8;
  },
  poll(file) {
    return ctxOf(file).poll();
  },
  release(file) {
    ctxOf(file).close();
  },
};

/** eventfd2(initval, flags): a new descriptor, or -errno. */
export function eventfd2(task: Task, initval: number, flags: number): number {
  if (flags & ~EFD_FLAGS_SET) return -EINVAL;
  if (!Number.isInteger(initval) || initval < 0 || initval > 0xffff_ffff) return -EINVAL;
  const ctx = new EventFdCtx(BigInt(initval), (flags & EFD_SEMAPHORE) !== 0, (flags & EFD_NONBLOCK) !== 0);
  const file = new File(eventfdFops, O_RDWR | (flags & EFD_NONBLOCK), FMODE_READ | FMODE_WRITE, ctx);
  const fd = task.files.install(file, (flags & EFD_CLOEXEC) !== 0);
  if (fd < 0) file.put();
  return fd;
}

/** eventfd_fget(): the eventfd file behind `fd` with a reference taken, -EBADF or -EINVAL. */
export function eventfdFget(task: Task, fd: number): File | number {
  const file = task.files.lookup(fd);
  if (!file) return -EBADF;
  if (file.fops !== eventfdFops) return -EINVAL;
  return file.get();
}

/** eventfd_ctx_fdget(): the counter behind `fd`, -EBADF or -EINVAL. */
export function eventfdCtxFdget(task: Task, fd: number): EventFdCtx | number {
  const file = task.files.lookup(fd);
  if (!file) return -EBADF;
  if (file.fops !== eventfdFops) return -EINVAL;
  return ctxOf(file);
}
