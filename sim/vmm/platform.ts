// What the VMM needs from the machine it runs on, beyond system calls: KVM's eventfd bridges
// (a guest notify signals a kick eventfd in the kernel; a call eventfd injects a guest
// interrupt), a main loop that runs fd handlers (QEMU's aio_set_fd_handler), and a way to wait
// for a device in a busy loop. Not a QEMU file: QEMU gets these from KVM and glib.
// The model platform runs the main loop on the simulated host's scheduler, so handlers run
// between device work items, deterministically.

import { POLLIN } from '../../uapi/index.js';
import { eventfdCtxFdget } from '../../lib/fs/index.js';
import { Work } from '../../lib/sched/index.js';
import type { UserSpace } from '../../lib/vhost_vdpa/index.js';
import { type Host, Kvm, ModelUserSpace, type Process } from '../host/index.js';

export interface VmmPlatform {
  readonly us: UserSpace;
  /** KVM_IOEVENTFD: the doorbell that signals eventfd `fd` from the guest side, or -errno. */
  ioeventfd(fd: number): (() => void) | number;
  /** KVM_IRQFD: `inject` runs on every signal of eventfd `fd`; returns the deassign, or -errno. */
  irqfd(fd: number, inject: () => void): (() => void) | number;
  /** aio_set_fd_handler(): `handler` runs on the main loop whenever `fd` turns readable. */
  setFdHandler(fd: number, handler: () => void): (() => void) | number;
  /** One step of a busy wait: lets the machine run; false when nothing can run. */
  relax(): boolean;
}

/** The platform of a VMM process on the simulated host. */
export function modelPlatform(host: Host, proc: Process): VmmPlatform {
  const kvm = new Kvm(proc);
  return {
    us: new ModelUserSpace(host, proc),
    ioeventfd: (fd) => kvm.ioeventfd(fd),
    irqfd: (fd, inject) => kvm.irqfd(fd, inject),
    setFdHandler(fd, handler) {
      const ctx = eventfdCtxFdget(proc, fd);
      if (typeof ctx === 'number') return ctx;
      const work = new Work(handler, `${proc.comm}: fd ${fd} handler`);
      // A handler installed on an fd that is already readable runs once at the next loop turn.
      if (ctx.count > 0n) host.scheduler.queue(work);
      return ctx.addWaiter((events) => {
        if (events & POLLIN) host.scheduler.queue(work);
      });
    },
    relax: () => host.scheduler.drain(1) > 0,
  };
}
