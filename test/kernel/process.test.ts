// The simulated process's system calls: the VFS checks in front of the drivers (EBADF, FMODE,
// access_ok, generic FIO* ioctls, ENOIOCTLCMD -> ENOTTY), eventfd and memfd files.

import { describe, expect, it } from 'vitest';
import { Host } from '../../sim/host/index.js';
import { SegfaultError } from '../../sim/host/process.js';
import { TASK_SIZE } from '../../lib/mm/index.js';
import {
  EFD_NONBLOCK,
  EFD_SEMAPHORE,
  FIOASYNC,
  FIOCLEX,
  FIONBIO,
  FIONCLEX,
  MAP_PRIVATE,
  MAP_SHARED,
  O_NONBLOCK,
  O_RDONLY,
  PROT_READ,
  PROT_WRITE,
} from '../../uapi/index.js';
import { labDevices } from '../helpers/vdpa_nl.js';

describe('system calls', () => {
  const host = Host.boot({ profile: 'linux-6.1' });
  const p = host.spawn();
  const buf = p.mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | 0x20);

  it('EBADF for a closed or never-open descriptor', () => {
    expect(p.ioctl(77, 0, 0)).toBe(-9);
    expect(p.write(77, buf, 8)).toBe(-9);
    expect(p.read(77, buf, 8)).toBe(-9);
    expect(p.close(77)).toBe(-9);
  });

  it('open of a missing node is ENOENT; descriptors are the lowest free numbers', () => {
    expect(p.open('/dev/nope', 2)).toBe(-2);
    const a = p.eventfd(0, 0);
    const b = p.eventfd(0, 0);
    p.close(a);
    expect(p.eventfd(0, 0)).toBe(a);
    p.close(a);
    p.close(b);
  });

  it('eventfd files: 8-byte reads and writes, EINVAL below 8, EAGAIN when empty, semaphore mode, ENOTTY for ioctls', () => {
    const fd = p.eventfd(2, EFD_NONBLOCK | EFD_SEMAPHORE);
    expect(p.read(fd, buf, 4)).toBe(-22);
    expect(p.read(fd, buf, 8)).toBe(8);
    expect(p.peek(buf, 8)).toEqual(Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0));
    expect(p.read(fd, buf, 8)).toBe(8);
    expect(p.read(fd, buf, 8)).toBe(-11);
    p.poke(buf, Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff));
    expect(p.write(fd, buf, 8)).toBe(-22);
    expect(p.write(fd, 0, 8)).toBe(-14);
    expect(p.ioctl(fd, 0x1234, 0)).toBe(-25);
    expect(p.eventfd(0, 0x40)).toBe(-22);
    p.close(fd);
  });

  it('access_ok: a buffer beyond the user address space is EFAULT before the driver sees it', () => {
    const fd = p.eventfd(0, 0);
    expect(p.write(fd, TASK_SIZE - 4, 8)).toBe(-14);
    expect(p.write(fd, buf, -1)).toBe(-22);
    p.close(fd);
  });

  it('FIOCLEX/FIONCLEX/FIONBIO are answered by the VFS; FIOASYNC without fasync is ENOTTY when enabling', () => {
    const fd = p.eventfd(0, 0);
    expect(p.ioctl(fd, FIOCLEX, 0)).toBe(0);
    expect(p.files.isCloexec(fd)).toBe(true);
    expect(p.ioctl(fd, FIONCLEX, 0)).toBe(0);
    expect(p.files.isCloexec(fd)).toBe(false);
    p.poke(buf, Uint8Array.of(1, 0, 0, 0));
    expect(p.ioctl(fd, FIONBIO, buf)).toBe(0);
    expect((p.files.lookup(fd)?.flags ?? 0) & O_NONBLOCK).toBe(O_NONBLOCK);
    expect(p.ioctl(fd, FIONBIO, 0)).toBe(-14);
    expect(p.ioctl(fd, FIOASYNC, buf)).toBe(-25);
    p.close(fd);
  });

  it('a descriptor opened read-only cannot be written (EBADF) and cannot map shared+writable (EACCES)', () => {
    labDevices(host);
    const fd = p.open('/dev/vhost-vdpa-0', O_RDONLY);
    expect(fd).toBeGreaterThanOrEqual(0);
    expect(p.write(fd, buf, 72)).toBe(-9);
    expect(p.mmap(0, 4096, PROT_WRITE, MAP_SHARED, fd, 0)).toBe(-13);
    p.close(fd);
  });

  it('memfd: ftruncate then MAP_SHARED mappings of one file share bytes; resizing a mapped file is EBUSY', () => {
    const fd = p.memfdCreate('guest-ram', 0);
    expect(p.ftruncate(fd, 8192)).toBe(0);
    const a = p.mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    const b = p.mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 4096);
    p.poke(a + 4096, Uint8Array.of(9, 8, 7));
    expect(p.peek(b, 3)).toEqual(Uint8Array.of(9, 8, 7));
    expect(p.ftruncate(fd, 16384)).toBe(-16);
    expect(p.memfdCreate('x', 0x100)).toBe(-22);
    p.close(fd);
    expect(p.peek(b, 3)).toEqual(Uint8Array.of(9, 8, 7));
  });

  it('a process starts with 0, 1 and 2 open on /dev/null: reads are EOF, writes vanish, no ioctl, no mmap', () => {
    const q = host.spawn();
    const b = q.mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | 0x20);
    expect(q.files.open()).toEqual([0, 1, 2]);
    expect(q.read(0, b, 16)).toBe(0);
    expect(q.write(1, b, 16)).toBe(16);
    expect(q.write(0, b, 16)).toBe(-9);
    expect(q.ioctl(0, 0x5401, b)).toBe(-25);
    expect(q.mmap(0, 4096, PROT_READ, MAP_SHARED, 0, 0)).toBe(-19);
    expect(q.eventfd(0, 0)).toBe(3);
    expect(host.spawn({ stdio: false }).files.open()).toEqual([]);
  });

  it('loads and stores of unmapped memory are the SIGSEGV of the process, not a syscall error', () => {
    expect(() => p.poke(0x1000, Uint8Array.of(1))).toThrow(SegfaultError);
    expect(() => p.peek(0x1000, 1)).toThrow(SegfaultError);
  });
});
