// Models: the /dev/null device of drivers/char/mem.c: reads return end of file, writes succeed
// and vanish, and it has no ioctl (ENOTTY) and no mmap (ENODEV). A process's standard streams
// are opened on it.
// Deviations: only /dev/null of the memory devices; its major/minor are the kernel's (1, 3).

import type { CharDevices, FileOperations } from '../../lib/fs/index.js';

export const nullFops: FileOperations = {
  name: 'null',
  read: () => 0,
  write: (_file, _task, _ubuf, count) => count,
};

/** Registers /dev/null (char major 1, minor 3). */
export function registerMemDevices(chrdev: CharDevices): void {
  chrdev.registerRegion(1, 'mem');
  chrdev.add({ name: 'null', major: 1, minor: 3, fops: nullFops, owner: undefined });
}
