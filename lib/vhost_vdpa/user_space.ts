// What a user process can do that a vhost-vdpa client needs: open the device node, issue ioctls
// and writes on it, own memory the kernel can see at known addresses, and use eventfds. Two
// implementations: a process of the simulated host (sim/host) and this machine's real kernel
// through the native addon (lib/host). Not a kernel file.
// Every call returns the syscall's result or -errno; none throws for a failed syscall.

/** Memory of the process: `addr` is its user address, `bytes` a live view of it. */
export interface UserMemory {
  readonly addr: number;
  readonly bytes: Uint8Array;
  readonly length: number;
}

export interface UserEventFd {
  readonly fd: number;
  /** The counter (cleared), or -EAGAIN when zero. */
  read(): bigint | number;
  write(value: bigint): number;
  close(): number;
}

/** An open file, as its descriptor is used. */
export interface UserFile {
  readonly fd: number;
  /** ioctl(2) with `arg` copied into user memory (and back out), an integer, or NULL. */
  ioctl(request: number, arg: Uint8Array | number | bigint | null): number;
  /** write(2) of these bytes. */
  write(bytes: Uint8Array): number;
  /** read(2) of up to `len` bytes: the bytes, or -errno. */
  read(len: number): Uint8Array | number;
  close(): number;
}

export interface MemoryOptions {
  /** MAP_SHARED (shmem: mapped by vhost-vdpa in VA mode) rather than MAP_PRIVATE. */
  shared?: boolean;
  /** MAP_HUGETLB (2 MiB pages, physically contiguous). */
  huge?: boolean;
  /** MAP_POPULATE. */
  populate?: boolean;
}

export interface UserSpace {
  /** A name for reports: "model linux-6.1", "kernel 6.1.0-56-amd64". */
  readonly description: string;
  open(path: string, flags?: number): UserFile | number;
  mmap(length: number, opts?: MemoryOptions): UserMemory | number;
  munmap(mem: UserMemory): number;
  eventfd(initval?: number, flags?: number): UserEventFd | number;
  /** Lets the device run: until idle on the model, a short wait on a real kernel. */
  settle(): Promise<void>;
  /** Closes everything the process still holds. */
  exit(): void;
}
