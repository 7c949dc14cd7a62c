// Running code inside a named network namespace (/run/netns/NAME, as `ip netns` makes them):
// setns() on the calling thread, then back. Sockets and taps opened inside stay in it.

import { existsSync } from 'node:fs';
import { EPERM, strerror } from '../../uapi/index.js';
import { HostError, check } from './host_error.js';
import { native } from './native.js';

export const NETNS_RUN_DIR = '/run/netns';

export function netnsPath(name: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name === '.' || name === '..') {
    throw new HostError('netns', 22, `network namespace name '${name}' is not valid`);
  }
  return `${NETNS_RUN_DIR}/${name}`;
}

export function netnsExists(name: string): boolean {
  return existsSync(netnsPath(name));
}

/** Runs `fn` with the thread in network namespace `name`; always switches back. */
export function withNetns<T>(name: string, fn: () => T): T {
  const n = native();
  const path = netnsPath(name);
  if (!existsSync(path)) throw new HostError('setns', 2, `network namespace ${name} does not exist (${path})`);
  const flags = n.O_RDONLY | n.O_CLOEXEC;
  const home = check('open /proc/thread-self/ns/net', n.open('/proc/thread-self/ns/net', flags));
  try {
    const target = check(`open ${path}`, n.open(path, flags));
    try {
      const r = n.setns(target, n.CLONE_NEWNET);
      if (r < 0) throw new HostError(`setns ${name}`, r, `cannot enter network namespace ${name}: ${strerror(-r)}${r === -EPERM ? ' (needs root or CAP_SYS_ADMIN)' : ''}`);
    } finally {
      n.close(target);
    }
    try {
      return fn();
    } finally {
      const r = n.setns(home, n.CLONE_NEWNET);
      // Staying in the wrong namespace would silently misplace every later socket.
      if (r < 0) throw new HostError('setns back', r, 'cannot return to the original network namespace');
    }
  } finally {
    n.close(home);
  }
}
