// Models: the file descriptor table of fs/file.c: the lowest free descriptor is used, close
// drops the table's reference, close-on-exec is a per-descriptor flag.
// Deviations: no RLIMIT_NOFILE beyond a fixed maximum (1024, the usual soft limit).

import { EBADF, EMFILE } from '../../uapi/index.js';
import type { File } from './file.js';

export const NR_OPEN_DEFAULT = 1024;

export class FdTable {
  private readonly fds: (File | undefined)[] = [];
  private readonly cloexec = new Set<number>();

  /** fd_install() at the lowest free number; -EMFILE when full. Takes over the caller's reference. */
  install(file: File, cloexec = false): number {
    let fd = this.fds.findIndex((f) => f === undefined);
    if (fd < 0) fd = this.fds.length;
    if (fd >= NR_OPEN_DEFAULT) return -EMFILE;
    this.fds[fd] = file;
    if (cloexec) this.cloexec.add(fd);
    else this.cloexec.delete(fd);
    return fd;
  }

  /** fget() without taking a reference: the file behind `fd`, or undefined. */
  lookup(fd: number): File | undefined {
    if (!Number.isInteger(fd) || fd < 0) return undefined;
    return this.fds[fd];
  }

  /** close_fd(): 0 or -EBADF. */
  close(fd: number): number {
    const file = this.lookup(fd);
    if (!file) return -EBADF;
    this.fds[fd] = undefined;
    this.cloexec.delete(fd);
    file.put();
    return 0;
  }

  setCloexec(fd: number, on: boolean): void {
    if (on) this.cloexec.add(fd);
    else this.cloexec.delete(fd);
  }

  isCloexec(fd: number): boolean {
    return this.cloexec.has(fd);
  }

  /** Open descriptors, ascending. */
  open(): number[] {
    const out: number[] = [];
    this.fds.forEach((f, fd) => {
      if (f) out.push(fd);
    });
    return out;
  }

  /** Closes everything (exit_files). */
  closeAll(): void {
    for (const fd of this.open()) this.close(fd);
  }
}
