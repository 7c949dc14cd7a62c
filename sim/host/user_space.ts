// The UserSpace of a process on the simulated host: ioctl arguments and write buffers go
// through a scratch area in the process's own memory, so the kernel side reads and writes
// them with copy_from_user/copy_to_user exactly as it would a real program's.

import { MAP_ANONYMOUS, MAP_HUGETLB, MAP_POPULATE, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE } from '../../uapi/index.js';
import { userView } from '../../lib/mm/index.js';
import type { MemoryOptions, UserEventFd, UserFile, UserMemory, UserSpace } from '../../lib/vhost_vdpa/index.js';
import type { Host } from './host.js';
import type { Process } from './process.js';

export class ModelUserSpace implements UserSpace {
  readonly description: string;
  private scratchAddr = 0;
  private scratchLen = 0;

  constructor(
    readonly host: Host,
    readonly proc: Process,
  ) {
    this.description = `model ${host.profile.name}`;
  }

  /** A private scratch mapping of at least `len` bytes. */
  private scratch(len: number): number {
    if (len > this.scratchLen) {
      if (this.scratchLen) this.proc.munmap(this.scratchAddr, this.scratchLen);
      const size = Math.max(16384, Math.ceil(len / 4096) * 4096);
      const addr = this.proc.mmap(0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
      if (addr < 0) throw new Error(`model user space: scratch mmap failed (${addr})`);
      this.scratchAddr = addr;
      this.scratchLen = size;
    }
    return this.scratchAddr;
  }

  private file(fd: number): UserFile {
    const proc = this.proc;
    return {
      fd,
      ioctl: (request, arg) => {
        if (!(arg instanceof Uint8Array)) return proc.ioctl(fd, request, arg ?? 0);
        const at = this.scratch(arg.length);
        proc.poke(at, arg);
        const r = proc.ioctl(fd, request, at);
        arg.set(proc.peek(at, arg.length));
        return r;
      },
      write: (bytes) => {
        const at = this.scratch(bytes.length);
        proc.poke(at, bytes);
        return proc.write(fd, at, bytes.length);
      },
      read: (len) => {
        const at = this.scratch(len);
        const r = proc.read(fd, at, len);
        return r < 0 ? r : proc.peek(at, r);
      },
      close: () => proc.close(fd),
    };
  }

  open(path: string, flags = 2): UserFile | number {
    const fd = this.proc.open(path, flags);
    return fd < 0 ? fd : this.file(fd);
  }

  mmap(length: number, opts: MemoryOptions = {}): UserMemory | number {
    const flags =
      MAP_ANONYMOUS | (opts.shared ? MAP_SHARED : MAP_PRIVATE) | (opts.huge ? MAP_HUGETLB : 0) | (opts.populate ? MAP_POPULATE : 0);
    const addr = this.proc.mmap(0, length, PROT_READ | PROT_WRITE, flags);
    if (addr < 0) return addr;
    const bytes = userView(this.proc.mm, addr, length, true);
    if (!bytes) throw new Error('model user space: a fresh mapping has no view');
    return { addr, bytes, length };
  }

  munmap(mem: UserMemory): number {
    return this.proc.munmap(mem.addr, mem.length);
  }

  eventfd(initval = 0, flags = 0): UserEventFd | number {
    const fd = this.proc.eventfd(initval, flags);
    if (fd < 0) return fd;
    const file = this.file(fd);
    return {
      fd,
      read: () => {
        const r = file.read(8);
        return typeof r === 'number' ? r : new DataView(r.buffer, r.byteOffset).getBigUint64(0, true);
      },
      write: (value) => {
        const b = new Uint8Array(8);
        new DataView(b.buffer).setBigUint64(0, value, true);
        return file.write(b);
      },
      close: () => file.close(),
    };
  }

  async settle(): Promise<void> {
    await this.host.settle();
  }

  exit(): void {
    this.proc.exit();
  }
}
