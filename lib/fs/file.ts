// Models: struct file and struct file_operations (include/linux/fs.h), reduced to what the
// modelled drivers implement, with fget/fput reference counting (fs/file_table.c).
// Deviations: a syscall hands the calling task to every operation (the kernel's `current`);
// user buffers are addresses in that task's address space. No inode/dentry: a file knows its
// operations and private data only.

import type { DevNode } from './chrdev.js';
import type { Task } from './task.js';

/** What a driver's mmap sees of the mapping being created (struct vm_area_struct). */
export interface VmAreaRequest {
  /** Length in bytes (page multiple). */
  readonly length: number;
  /** PROT_* as requested. */
  readonly prot: number;
  /** True for MAP_SHARED. */
  readonly shared: boolean;
  /** Offset in pages (vm_pgoff). */
  readonly pgoff: number;
  /**
   * Set by the driver to make the mapping reach physical I/O memory at this address
   * (remap_pfn_range / vmf_insert_pfn of an MMIO page).
   */
  ioPhysAddr?: number;
}

export interface FileOperations {
  /** Human name for diagnostics, e.g. "vhost-vdpa". */
  readonly name: string;
  /** Character-device open (chrdev_open -> cdev fops->open): 0 or -errno; the file is not installed on error. */
  open?(file: File, task: Task, node: DevNode): number;
  read?(file: File, task: Task, ubuf: number, count: number): number;
  write?(file: File, task: Task, ubuf: number, count: number): number;
  /** arg is the raw third syscall argument (a user address or an integer). */
  unlockedIoctl?(file: File, task: Task, cmd: number, arg: bigint): number;
  mmap?(file: File, task: Task, vma: VmAreaRequest): number;
  /** Events ready now (vfs_poll); files without poll report DEFAULT_POLLMASK. */
  poll?(file: File): number;
  /** Called once, when the last reference goes. */
  release?(file: File): void;
}

/** FMODE_* bits (include/linux/fs.h). */
export const FMODE_READ = 0x1;
export const FMODE_WRITE = 0x2;

export class File {
  /** References: the fd table entries and kernel users (fget). */
  private count = 1;
  /** O_* flags the file was opened with (O_NONBLOCK may change with FIONBIO). */
  flags: number;
  readonly fmode: number;
  /** The driver's per-open state (file->private_data). */
  privateData: unknown;

  constructor(
    readonly fops: FileOperations,
    flags: number,
    fmode: number,
    privateData?: unknown,
  ) {
    this.flags = flags;
    this.fmode = fmode;
    this.privateData = privateData;
  }

  /** get_file(). */
  get(): this {
    this.count++;
    return this;
  }

  /** fput(): the last reference calls release. */
  put(): void {
    if (--this.count === 0) this.fops.release?.(this);
  }

  get refs(): number {
    return this.count;
  }
}
