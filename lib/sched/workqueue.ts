// Models: deferred work as vdpa_sim uses it: struct kthread_work queued on a kthread_worker
// (kernel/kthread.c; 6.1's vdpa_sim used schedule_work, the same contract): queueing work that
// is already pending does nothing; a work item runs once per queueing, in FIFO order.
// Deviations: there are no threads. Queued work runs when the owner of the Scheduler drains it
// (the simulated host's settle()), or, in live mode, on the next turn of the Node event loop.
// Time never passes inside a work item.

export type WorkFn = () => void;

export class Work {
  pending = false;
  constructor(
    readonly fn: WorkFn,
    readonly name: string,
  ) {}
}

export interface SchedulerOptions {
  /** Drain queued work on the Node event loop (setImmediate) instead of only in drain(). */
  live?: boolean;
}

/** The run queue every worker of one simulated host shares. */
export class Scheduler {
  private readonly runq: Work[] = [];
  private head = 0;
  private armed = false;
  /** Work items run so far. */
  ran = 0;
  live: boolean;

  constructor(opts: SchedulerOptions = {}) {
    this.live = opts.live ?? false;
  }

  /** Adds `work` unless it is pending; true if it was added (queue_work's return value). */
  queue(work: Work): boolean {
    if (work.pending) return false;
    work.pending = true;
    this.runq.push(work);
    if (this.live && !this.armed) {
      this.armed = true;
      setImmediate(() => {
        this.armed = false;
        this.drain();
      });
    }
    return true;
  }

  /** Removes `work` if pending (kthread_cancel_work_sync); true if it was pending. */
  cancel(work: Work): boolean {
    if (!work.pending) return false;
    work.pending = false;
    const i = this.runq.indexOf(work, this.head);
    if (i >= 0) this.runq.splice(i, 1);
    return true;
  }

  get idle(): boolean {
    return this.head === this.runq.length;
  }

  /**
   * Runs queued work, including work queued meanwhile, until none is left or `limit` items ran.
   * Returns the number run; the queue is not empty afterwards only if the limit was hit.
   */
  drain(limit = 1_000_000): number {
    let n = 0;
    while (this.head < this.runq.length && n < limit) {
      const work = this.runq[this.head++] as Work;
      work.pending = false;
      n++;
      this.ran++;
      work.fn();
    }
    if (this.head === this.runq.length) {
      this.runq.length = 0;
      this.head = 0;
    }
    return n;
  }
}

/** A kthread_worker: a named queue feeding the host scheduler. */
export class KthreadWorker {
  constructor(
    readonly scheduler: Scheduler,
    readonly name: string,
  ) {}

  /** kthread_queue_work(). */
  queueWork(work: Work): boolean {
    return this.scheduler.queue(work);
  }

  /** kthread_cancel_work_sync(). */
  cancelWorkSync(work: Work): boolean {
    return this.scheduler.cancel(work);
  }
}
