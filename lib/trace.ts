// Trace events at the points where the kernel has tracepoints (or dev_dbg), published on
// node:diagnostics_channel as "vdpa:<subsystem>:<event>". Subscribers cost nothing when absent
// (callers check `active` before building an event). NODE_DEBUG=vdpa prints every event to stderr through
// util.debuglog. Not a kernel file (include/trace/events/ in spirit).

import { channel, type Channel } from 'node:diagnostics_channel';
import { debuglog } from 'node:util';

const all: Channel[] = [];
const debug = debuglog('vdpa');

const hexBigints = (_key: string, v: unknown): unknown => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v);

export interface Tracepoint<T extends object> {
  readonly name: string;
  /** Someone listens: build and publish the event only then (`if (tp.active) tp.publish(...)`). */
  readonly active: boolean;
  publish(event: T): void;
}

export function tracepoint<T extends object>(name: string): Tracepoint<T> {
  const ch = channel(name);
  all.push(ch);
  if (debug.enabled) ch.subscribe((msg) => debug('%s %s', name, JSON.stringify(msg, hexBigints)));
  return {
    name,
    get active() {
      return ch.hasSubscribers;
    },
    publish(event) {
      ch.publish(event);
    },
  };
}

/** Every tracepoint defined so far. */
export function tracepoints(): string[] {
  return all.map((c) => String(c.name));
}
