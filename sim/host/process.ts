// A process on the simulated host: its address space, file table and credentials, and the
// system calls the vDPA stack is driven through, with C's conventions: user addresses and
// integers in, a result or -errno out; nothing here throws for bad input. The VFS checks that
// precede a driver are kept (EBADF, FMODE checks, access_ok -> EFAULT, the generic FIO*
// ioctls, ENOIOCTLCMD -> ENOTTY, mmap's file checks).
// Not a kernel file (fs/read_write.c, fs/ioctl.c, mm/mmap.c's file half, fs/open.c, in short).
// Deviations: no blocking: a read that would sleep returns -EAGAIN. Loads and stores of the
// process itself (peek/poke) are not syscalls: a fault there throws SegfaultError, the model's
// SIGSEGV.

import {
  EACCES,
  EBADF,
  EFAULT,
  EINVAL,
  ENODEV,
  ENOIOCTLCMD,
  ENOTTY,
  FIOASYNC,
  FIOCLEX,
  FIONBIO,
  FIONCLEX,
  MAP_ANONYMOUS,
  MAP_SHARED,
  MAP_SHARED_VALIDATE,
  MAP_TYPE,
  O_CLOEXEC,
  O_NONBLOCK,
  O_RDONLY,
  O_WRONLY,
  PROT_WRITE,
} from '../../uapi/index.js';
import {
  type Cred,
  FMODE_READ,
  FMODE_WRITE,
  FdTable,
  type Task,
  type VmAreaRequest,
  eventfd2,
  memfdCreate,
  memfdFops,
  memfdTruncate,
  type MemfdState,
} from '../../lib/fs/index.js';
import { AddressSpace, PAGE_SIZE, TASK_SIZE, copyFromUser, copyToUser, getUser, pageUp } from '../../lib/mm/index.js';
import type { Host } from './host.js';

/** MAX_RW_COUNT: a read or write moves at most this much at once. */
const MAX_RW_COUNT = 0x7ffff000;

export interface ProcessOptions {
  comm?: string;
  uid?: number;
  /** Defaults to true for uid 0. */
  capNetAdmin?: boolean;
  /** RLIMIT_MEMLOCK in bytes (default 8 MiB). */
  rlimitMemlock?: number;
  /** Open descriptors 0, 1 and 2 on /dev/null, as a process started by a shell has (default true). */
  stdio?: boolean;
}

/** A load or store of the process's own that hit no mapping (SIGSEGV). */
export class SegfaultError extends Error {
  override readonly name = 'SegfaultError';
  constructor(readonly addr: number) {
    super(`segmentation fault at 0x${addr.toString(16)}`);
  }
}

export class Process implements Task {
  readonly mm: AddressSpace;
  readonly files = new FdTable();
  readonly cred: Cred;
  readonly comm: string;
  private exited = false;

  constructor(
    readonly host: Host,
    readonly pid: number,
    opts: ProcessOptions,
  ) {
    this.mm = new AddressSpace(host.phys);
    if (opts.rlimitMemlock !== undefined) this.mm.rlimitMemlock = opts.rlimitMemlock;
    const uid = opts.uid ?? 0;
    this.cred = { uid, capNetAdmin: opts.capNetAdmin ?? uid === 0 };
    this.comm = opts.comm ?? `proc${pid}`;
    if (opts.stdio ?? true) for (let i = 0; i < 3; i++) this.open('/dev/null', i === 0 ? O_RDONLY : O_WRONLY);
  }

  // ---- files ---------------------------------------------------------------------------------

  /** open(2) of a /dev node. */
  open(path: string, flags: number): number {
    const file = this.host.chrdev.open(path, flags & ~O_CLOEXEC, this);
    if (typeof file === 'number') return file;
    const fd = this.files.install(file, (flags & O_CLOEXEC) !== 0);
    if (fd < 0) file.put();
    return fd;
  }

  close(fd: number): number {
    return this.files.close(fd);
  }

  eventfd(initval: number, flags: number): number {
    return eventfd2(this, initval, flags);
  }

  memfdCreate(name: string, flags: number): number {
    return memfdCreate(this, this.host.phys, name, flags);
  }

  ftruncate(fd: number, length: number): number {
    const file = this.files.lookup(fd);
    if (!file) return -EBADF;
    return memfdTruncate(file, length);
  }

  /** ioctl(2): `arg` is the raw third argument, a user address or an integer. */
  ioctl(fd: number, request: number, arg: number | bigint = 0): number {
    const file = this.files.lookup(fd);
    if (!file) return -EBADF;
    if (typeof arg === 'number' && !Number.isInteger(arg)) return -EINVAL;
    const cmd = Number(BigInt.asUintN(32, BigInt(Math.trunc(Number(request)))));
    const a = BigInt.asUintN(64, BigInt(arg));
    const argp = a < BigInt(TASK_SIZE) ? Number(a) : -1;
    switch (cmd) {
      case FIOCLEX:
        this.files.setCloexec(fd, true);
        return 0;
      case FIONCLEX:
        this.files.setCloexec(fd, false);
        return 0;
      case FIONBIO: {
        const on = getUser(this.mm, argp, 4);
        if (on === undefined) return -EFAULT;
        file.flags = on ? file.flags | O_NONBLOCK : file.flags & ~O_NONBLOCK;
        return 0;
      }
      case FIOASYNC: {
        const on = getUser(this.mm, argp, 4);
        if (on === undefined) return -EFAULT;
        // No file here implements fasync.
        return on ? -ENOTTY : 0;
      }
    }
    if (!file.fops.unlockedIoctl) return -ENOTTY;
    const r = file.fops.unlockedIoctl(file, this, cmd, a);
    return r === -ENOIOCTLCMD ? -ENOTTY : r;
  }

  /** read(2)/write(2): the descriptor, FMODE and access_ok() checks, then the file's operation. */
  private rw(fd: number, addr: number, len: number, write: boolean): number {
    const file = this.files.lookup(fd);
    if (!file) return -EBADF;
    if (!(file.fmode & (write ? FMODE_WRITE : FMODE_READ))) return -EBADF;
    const op = write ? file.fops.write : file.fops.read;
    if (!op) return -EINVAL;
    if (!Number.isInteger(len) || len < 0) return -EINVAL;
    if (!Number.isInteger(addr) || addr < 0 || addr + len > TASK_SIZE) return -EFAULT;
    return op(file, this, addr, Math.min(len, MAX_RW_COUNT));
  }

  write(fd: number, addr: number, len: number): number {
    return this.rw(fd, addr, len, true);
  }

  read(fd: number, addr: number, len: number): number {
    return this.rw(fd, addr, len, false);
  }

  // ---- memory --------------------------------------------------------------------------------

  /** mmap(2): the address, or -errno. `fd` is ignored for MAP_ANONYMOUS. */
  mmap(addr: number, len: number, prot: number, flags: number, fd = -1, offset = 0): number {
    if (flags & MAP_ANONYMOUS) return this.mm.mmap(addr, len, prot, flags);
    const file = this.files.lookup(fd);
    if (!file) return -EBADF;
    if (!Number.isInteger(offset) || offset < 0 || offset % PAGE_SIZE) return -EINVAL;
    if (!Number.isInteger(len) || len <= 0) return -EINVAL;
    const type = flags & MAP_TYPE;
    const shared = type === MAP_SHARED || type === MAP_SHARED_VALIDATE;
    if (!(file.fmode & FMODE_READ)) return -EACCES;
    if (shared && prot & PROT_WRITE && !(file.fmode & FMODE_WRITE)) return -EACCES;
    if (file.fops === memfdFops) {
      return this.mm.mmap(addr, len, prot, flags, (file.privateData as MemfdState).file, offset);
    }
    if (!file.fops.mmap) return -ENODEV;
    const vma: VmAreaRequest = { length: pageUp(len), prot, shared, pgoff: offset / PAGE_SIZE };
    const r = file.fops.mmap(file, this, vma);
    if (r) return r;
    if (vma.ioPhysAddr === undefined) return -ENODEV;
    return this.mm.mmapIo(addr, len, prot, flags, vma.ioPhysAddr);
  }

  munmap(addr: number, len: number): number {
    return this.mm.munmap(addr, len);
  }

  /** The process stores `bytes` at `addr` (to RAM or a mapped device register). */
  poke(addr: number, bytes: Uint8Array): void {
    const vma = this.mm.findVma(addr);
    if (vma?.ioPhys !== undefined) {
      if (!this.host.iomem.write(vma.ioPhys + (addr - vma.start), bytes)) throw new SegfaultError(addr);
      return;
    }
    const missed = copyToUser(this.mm, addr, bytes);
    if (missed) throw new SegfaultError(addr + bytes.length - missed);
  }

  /** The process loads `len` bytes at `addr`. */
  peek(addr: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    const vma = this.mm.findVma(addr);
    if (vma?.ioPhys !== undefined) {
      if (!this.host.iomem.read(vma.ioPhys + (addr - vma.start), out)) throw new SegfaultError(addr);
      return out;
    }
    const missed = copyFromUser(this.mm, out, addr, len);
    if (missed) throw new SegfaultError(addr + len - missed);
    return out;
  }

  /** exit(2): every file is closed and every mapping goes. */
  exit(): void {
    if (this.exited) return;
    this.exited = true;
    this.files.closeAll();
    for (const v of this.mm.mappings()) this.mm.munmap(v.start, v.end - v.start);
    this.host.reap(this);
  }
}
