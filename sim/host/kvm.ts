// Models: virt/kvm/eventfd.c, the two eventfd bridges a VMM hands the kernel so that neither a
// guest notification nor a device interrupt passes through the VMM process: ioeventfd (a guest
// write to a queue's notify address signals an eventfd inside the kernel) and irqfd (a signal on
// an eventfd injects a guest interrupt, consuming the counter as irqfd_wakeup() does).
// Deviations: there is no /dev/kvm and no VM file descriptor; a VMM process asks its host for
// the bridges directly. Guest addresses are not decoded: the VMM gets a doorbell function per
// queue, which is what its emulated notify register calls.

import { POLLIN } from '../../uapi/index.js';
import { eventfdCtxFdget } from '../../lib/fs/index.js';
import type { Process } from './process.js';

export class Kvm {
  constructor(readonly proc: Process) {}

  /** KVM_IOEVENTFD: the doorbell that signals eventfd `fd`, or -EBADF/-EINVAL. */
  ioeventfd(fd: number): (() => void) | number {
    const ctx = eventfdCtxFdget(this.proc, fd);
    if (typeof ctx === 'number') return ctx;
    return () => ctx.signal();
  }

  /** KVM_IRQFD: every signal on eventfd `fd` runs `inject`; returns the deassign, or -errno. */
  irqfd(fd: number, inject: () => void): (() => void) | number {
    const ctx = eventfdCtxFdget(this.proc, fd);
    if (typeof ctx === 'number') return ctx;
    return ctx.addWaiter((events) => {
      if (!(events & POLLIN) || ctx.count === 0n) return;
      // irqfd_wakeup(): eventfd_ctx_do_read() then schedule the injection.
      ctx.count = 0n;
      inject();
    });
  }
}
