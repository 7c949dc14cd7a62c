// The UserSpace of this Node process on the machine's real kernel, through the native addon:
// /dev/vhost-vdpa-N opened for real, ioctl arguments passed as buffers, memory from mmap(2) at
// its real address, real eventfds. Used to run the contract suite against Linux.

import type { MemoryOptions, UserEventFd, UserFile, UserMemory, UserSpace } from '../vhost_vdpa/index.js';
import { native } from './native.js';

export class KernelUserSpace implements UserSpace {
  readonly description: string;
  private readonly open_ = new Set<number>();
  private readonly maps = new Set<ArrayBuffer>();

  constructor(description = 'kernel') {
    this.description = description;
  }

  private file(fd: number): UserFile {
    const n = native();
    return {
      fd,
      ioctl: (request, arg) => n.ioctl(fd, request, arg ?? 0),
      write: (bytes) => n.write(fd, bytes),
      read: (len) => {
        const buf = new Uint8Array(len);
        const r = n.read(fd, buf);
        return r < 0 ? r : buf.subarray(0, r);
      },
      close: () => {
        this.open_.delete(fd);
        return n.close(fd);
      },
    };
  }

  open(path: string, flags = 2): UserFile | number {
    const n = native();
    const fd = n.open(path, flags | n.O_CLOEXEC);
    if (fd < 0) return fd;
    this.open_.add(fd);
    return this.file(fd);
  }

  mmap(length: number, opts: MemoryOptions = {}): UserMemory | number {
    const n = native();
    const flags =
      n.MAP_ANONYMOUS | (opts.shared ? n.MAP_SHARED : n.MAP_PRIVATE) | (opts.huge ? n.MAP_HUGETLB : 0) | (opts.populate ? n.MAP_POPULATE : 0);
    const m = n.mmap(length, n.PROT_READ | n.PROT_WRITE, flags, -1, 0);
    if (typeof m === 'number') return m;
    this.maps.add(m.buffer);
    return { addr: Number(m.addr), bytes: new Uint8Array(m.buffer), length };
  }

  munmap(mem: UserMemory): number {
    const buf = mem.bytes.buffer as ArrayBuffer;
    this.maps.delete(buf);
    return native().munmap(buf);
  }

  eventfd(initval = 0, flags = 0): UserEventFd | number {
    const n = native();
    const fd = n.eventfd(initval, flags | n.EFD_CLOEXEC);
    if (fd < 0) return fd;
    this.open_.add(fd);
    return {
      fd,
      read: () => n.eventfdRead(fd),
      write: (value) => n.eventfdWrite(fd, value),
      close: () => {
        this.open_.delete(fd);
        return n.close(fd);
      },
    };
  }

  /** The real device runs on its own; give its work item time to run. */
  async settle(): Promise<void> {
    await new Promise((r) => setTimeout(r, 50));
  }

  exit(): void {
    for (const fd of this.open_) native().close(fd);
    this.open_.clear();
    for (const b of this.maps) native().munmap(b);
    this.maps.clear();
  }
}
