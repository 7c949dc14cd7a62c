import { describe, expect, it } from 'vitest';
import { EAGAIN, EINVAL, ENOTSUPP, EOPNOTSUPP, EWOULDBLOCK, errnoName, strerror } from '../../uapi/index.js';

describe('errno helpers', () => {
  it('errnoName() ignores the sign and resolves aliases to the canonical name', () => {
    expect(errnoName(-EINVAL)).toBe('EINVAL');
    expect(errnoName(EWOULDBLOCK)).toBe('EAGAIN');
    expect(EWOULDBLOCK).toBe(EAGAIN);
    expect(errnoName(-ENOTSUPP)).toBe('ENOTSUPP');
    expect(errnoName(999)).toBe('E999');
  });

  it('strerror() gives glibc text, including "Unknown error 524" for the kernel-internal ENOTSUPP', () => {
    expect(strerror(-EOPNOTSUPP)).toBe('Operation not supported');
    expect(strerror(ENOTSUPP)).toBe('Unknown error 524');
  });
});
