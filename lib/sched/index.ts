// Deferred work on a host-owned scheduler (kthread workers, workqueues).
export * from './workqueue.js';
