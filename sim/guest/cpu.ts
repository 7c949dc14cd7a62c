// A guest vCPU as guest code needs it: somewhere to run deferred work (NAPI polls, workqueue
// items) and a cpu_relax() for the busy-waits a guest kernel does (virtnet_send_command spins
// until the device answers). Not a kernel file.
// Deviation: the vCPU shares the host's deterministic scheduler; relaxing runs one queued item of
// the whole machine (a device worker, the VMM's event loop), which is what another CPU would do
// meanwhile.

import type { Scheduler, Work } from '../../lib/sched/index.js';

export class GuestCpu {
  constructor(
    private readonly scheduler: Scheduler,
    readonly name = 'vcpu0',
  ) {}

  /** Queues deferred work on this vCPU; queueing pending work does nothing. */
  queueWork(work: Work): void {
    this.scheduler.queue(work);
  }

  /** cpu_relax(): lets the machine make progress; false when nothing anywhere is runnable. */
  relax(): boolean {
    return this.scheduler.drain(1) > 0;
  }

  /** Busy-waits until `done()` or until the machine is idle with `done()` still false; done()'s value. */
  spin(done: () => boolean): boolean {
    while (!done()) if (!this.relax()) return done();
    return true;
  }
}
