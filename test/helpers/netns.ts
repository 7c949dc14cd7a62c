// Network namespaces for tests that need CAP_NET_ADMIN: each test makes its own, uses only
// addresses inside it, and deletes it. Without root such tests skip with a printed reason.

import { execFileSync } from 'node:child_process';

export function rootSkipReason(): string | undefined {
  if (process.platform !== 'linux') return `needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'needs root (CAP_NET_ADMIN) to create network namespaces and taps';
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    return "needs iproute2's `ip` command";
  }
  return undefined;
}

/** Prints why a suite skips, so a skipped run says so. */
export function announceSkip(suite: string, reason: string | undefined): boolean {
  if (reason) console.warn(`skipping ${suite}: ${reason}`);
  return reason !== undefined;
}

export function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export interface TestNetns {
  name: string;
  /** Runs `ip -n NAME ...`. */
  ip(...args: string[]): string;
  remove(): void;
}

export function createNetns(prefix: string): TestNetns {
  const name = `${prefix}-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  ip('netns', 'add', name);
  return {
    name,
    ip: (...args) => ip('-n', name, ...args),
    remove: () => {
      try {
        ip('netns', 'del', name);
      } catch {
        // Already gone.
      }
    },
  };
}
