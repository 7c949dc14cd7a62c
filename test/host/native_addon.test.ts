// The native addon: loading (and a clear failure when it cannot), fds, ioctl with buffer and
// integer arguments, eventfd counter semantics, real user memory from mmap, fd polling.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HostEventFd, NativeUnavailableError, loadNativeFrom, native, nativeStatus } from '../../lib/host/index.js';
import {
  EAGAIN,
  EBADF,
  EBADFD,
  EINVAL,
  ENOENT,
  ENOMEM,
  IFF_NO_PI,
  IFF_TAP,
  IFF_VNET_HDR,
  TUNGETFEATURES,
  TUNSETOFFLOAD,
} from '../../uapi/index.js';

const n = native();
const tmp = mkdtempSync(join(tmpdir(), 'vdpa-model-native-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function waitFor<T>(what: string, start: (done: (v: T) => void) => void, ms = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    start((v) => {
      clearTimeout(t);
      resolve(v);
    });
  });
}

describe('loading', () => {
  it('is available after npm install', () => {
    expect(nativeStatus()).toEqual({ available: true });
  });

  it('a missing build names the file and how to build it', () => {
    expect(() => loadNativeFrom('/nonexistent/vdpa_host.node')).toThrow(NativeUnavailableError);
    expect(() => loadNativeFrom('/nonexistent/vdpa_host.node')).toThrow(/\/nonexistent\/vdpa_host\.node is missing \(run `npm install`/);
  });

  it('a file that is not an addon says it failed to load', () => {
    expect(() => loadNativeFrom('/etc/hostname')).toThrow(/failed to load from \/etc\/hostname/);
  });
});

describe('fds', () => {
  it('open/read/write/pread/pwrite/close follow the syscall convention', () => {
    const path = join(tmp, 'f');
    const fd = n.open(path, n.O_RDWR | n.O_CLOEXEC | 0o100 /* O_CREAT */, 0o600);
    expect(fd).toBeGreaterThanOrEqual(0);
    expect(n.write(fd, Buffer.from('hello world'))).toBe(11);
    expect(n.pwrite(fd, Buffer.from('W'), 6)).toBe(1);
    const buf = Buffer.alloc(16);
    expect(n.pread(fd, buf, 0n)).toBe(11);
    expect(buf.subarray(0, 11).toString()).toBe('hello World');
    expect(n.read(fd, buf)).toBe(0);
    expect(n.close(fd)).toBe(0);
    expect(n.close(fd)).toBe(-EBADF);
    expect(n.open(join(tmp, 'missing'), n.O_RDONLY)).toBe(-ENOENT);
  });

  it('read/write honour offset and length, and refuse a window outside the buffer', () => {
    const fd = n.open(join(tmp, 'w'), n.O_RDWR | 0o100, 0o600);
    expect(n.write(fd, Buffer.from('abcdef'), 2, 3)).toBe(3);
    const out = Buffer.alloc(8, 0x2e);
    expect(n.pread(fd, out.subarray(4), 0)).toBe(3);
    expect(out.toString()).toBe('....cde.');
    expect(() => n.write(fd, Buffer.alloc(4), 2, 3)).toThrow(/outside the buffer/);
    n.close(fd);
  });

  it('bad argument types throw TypeError instead of reaching the kernel', () => {
    expect(() => n.close('3' as unknown as number)).toThrow(TypeError);
    expect(() => n.ioctl(0, -1)).toThrow(/request must be an unsigned 32-bit integer/);
    expect(() => n.read(0, 'x' as unknown as Uint8Array)).toThrow(/buffer must be a Buffer/);
  });

  it('ioctl fills a buffer argument (TUNGETFEATURES) and passes an integer one (TUNSETOFFLOAD)', () => {
    const fd = n.open('/dev/net/tun', n.O_RDWR | n.O_CLOEXEC);
    expect(fd).toBeGreaterThanOrEqual(0);
    const feat = new Uint32Array(1);
    expect(n.ioctl(fd, TUNGETFEATURES, feat)).toBe(0);
    const want = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    expect((feat[0] ?? 0) & want).toBe(want);
    // No interface attached yet: the kernel answers EBADFD.
    expect(n.ioctl(fd, TUNSETOFFLOAD, 0)).toBe(-EBADFD);
    n.close(fd);
  });
});

describe('eventfd', () => {
  it('write adds, read returns and zeroes the counter, then EAGAIN', () => {
    const e = HostEventFd.create(0);
    expect(e.read()).toBe(-EAGAIN);
    expect(e.write(3n)).toBe(0);
    expect(e.write(4n)).toBe(0);
    expect(e.read()).toBe(7n);
    expect(e.read()).toBe(-EAGAIN);
    e.close();
  });

  it('refuses 2^64-1 (EINVAL) and an overflowing add (EAGAIN, non-blocking)', () => {
    const e = HostEventFd.create(0);
    expect(e.write(0xffff_ffff_ffff_ffffn)).toBe(-EINVAL);
    expect(e.write(0xffff_ffff_ffff_fffen)).toBe(0);
    expect(e.write(1n)).toBe(-EAGAIN);
    expect(e.read()).toBe(0xffff_ffff_ffff_fffen);
    e.close();
  });

  it('semaphore mode reads 1 at a time', () => {
    const e = HostEventFd.create(2, { semaphore: true });
    expect([e.read(), e.read(), e.read()]).toEqual([1n, 1n, -EAGAIN]);
    e.close();
  });

  it('a write wakes a poll callback on the event loop', async () => {
    const e = HostEventFd.create(0);
    let watch: { stop(): void } | undefined;
    const seen = await waitFor<bigint | number>('eventfd readiness', (done) => {
      watch = e.onReadable(() => done(e.read()));
      setImmediate(() => e.write(42n));
    });
    watch?.stop();
    watch?.stop();
    expect(seen).toBe(42n);
    e.close();
  });
});

describe('memory', () => {
  it('an anonymous shared mapping is visible to JS at a real user address', () => {
    const m = n.mmap(8192, n.PROT_READ | n.PROT_WRITE, n.MAP_SHARED | n.MAP_ANONYMOUS, -1, 0);
    if (typeof m === 'number') throw new Error(`mmap failed: ${m}`);
    expect(m.buffer.byteLength).toBe(8192);
    expect(m.addr % 4096n).toBe(0n);
    new Uint8Array(m.buffer).set([0xde, 0xad, 0xbe, 0xef], 100);
    // Read the same bytes through the kernel at that address.
    const mem = n.open('/proc/self/mem', n.O_RDONLY | n.O_CLOEXEC);
    const back = new Uint8Array(4);
    expect(n.pread(mem, back, m.addr + 100n)).toBe(4);
    n.close(mem);
    expect([...back]).toEqual([0xde, 0xad, 0xbe, 0xef]);
    expect(n.munmap(m.buffer)).toBe(0);
    // Detached: JS can no longer reach the unmapped pages, and a second munmap is refused.
    expect(m.buffer.byteLength).toBe(0);
    expect(n.munmap(m.buffer)).toBe(-EINVAL);
  });

  it('a shared file mapping shows writes made through the fd', () => {
    const fd = n.open(join(tmp, 'shm'), n.O_RDWR | 0o100, 0o600);
    n.pwrite(fd, Buffer.alloc(4096), 0);
    const m = n.mmap(4096, n.PROT_READ | n.PROT_WRITE, n.MAP_SHARED, fd, 0);
    if (typeof m === 'number') throw new Error(`mmap failed: ${m}`);
    n.pwrite(fd, Buffer.from('vdpa'), 10);
    expect(Buffer.from(m.buffer, 10, 4).toString()).toBe('vdpa');
    n.munmap(m.buffer);
    n.close(fd);
  });

  it('hugetlb: a 2 MiB page when the pool has one, else the kernel\'s ENOMEM', async () => {
    const { readFileSync } = await import('node:fs');
    const free = Number(/HugePages_Free:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0);
    const m = n.mmap(2 << 20, n.PROT_READ | n.PROT_WRITE, n.MAP_SHARED | n.MAP_ANONYMOUS | n.MAP_HUGETLB, -1, 0);
    if (free === 0) {
      expect(m).toBe(-ENOMEM);
    } else {
      if (typeof m === 'number') throw new Error(`hugetlb mmap failed: ${m}`);
      expect(m.addr % BigInt(2 << 20)).toBe(0n);
      n.munmap(m.buffer);
    }
  });

  it('mmap of length 0 or a bad fd gives -errno, not an exception', () => {
    expect(n.mmap(0, n.PROT_READ, n.MAP_SHARED, -1, 0)).toBe(-EINVAL);
    expect(n.mmap(4096, n.PROT_READ, n.MAP_SHARED, 999, 0)).toBe(-EBADF);
  });
});

describe('fd polling', () => {
  it('refuses an fd libuv cannot poll with an error naming the fd', () => {
    expect(() => n.pollStart(987, n.POLL_READABLE, () => {})).toThrow(/cannot poll fd 987/);
  });
});
