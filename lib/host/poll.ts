// Readiness of a real fd on the Node event loop (libuv uv_poll_t inside the addon).

import { native, type PollHandle } from './native.js';

export interface FdWatch {
  /** Stops watching; safe to call twice. */
  stop(): void;
  /** Whether this watch keeps the process alive (default true). */
  ref(keep: boolean): void;
}

export type PollCallback = (status: number, events: { readable: boolean; writable: boolean }) => void;

/** Calls `cb` whenever `fd` becomes readable (and/or writable) until stop(). */
export function watchFd(fd: number, what: { readable?: boolean; writable?: boolean }, cb: PollCallback): FdWatch {
  const n = native();
  const mask = (what.readable ? n.POLL_READABLE : 0) | (what.writable ? n.POLL_WRITABLE : 0);
  const handle: PollHandle = n.pollStart(fd, mask, (status, ev) =>
    cb(status, { readable: (ev & n.POLL_READABLE) !== 0, writable: (ev & n.POLL_WRITABLE) !== 0 }),
  );
  return {
    stop: () => void n.pollStop(handle),
    ref: (keep) => void n.pollRef(handle, keep),
  };
}
