// Models: mm/memfd.c memfd_create() and ftruncate() of the shmem (or hugetlbfs) file it returns.
// Deviations: a file's size can be set while it is not mapped (the kernel also lets a mapped
// file grow); sealing is not modelled (MFD_ALLOW_SEALING is accepted and ignored).

import { EBUSY, EINVAL, MFD_ALLOW_SEALING, MFD_CLOEXEC, MFD_HUGETLB, O_RDWR } from '../../uapi/index.js';
import { MemFile, type PhysMem } from '../mm/index.js';
import { FMODE_READ, FMODE_WRITE, File, type FileOperations } from './file.js';
import type { Task } from './task.js';

/** The open file's state: the memfd behind it can be replaced while unmapped (ftruncate). */
export interface MemfdState {
  file: MemFile;
  readonly name: string;
  readonly huge: boolean;
  readonly phys: PhysMem;
}

export const memfdFops: FileOperations = {
  name: 'memfd',
  release(file) {
    (file.privateData as MemfdState).file.close();
  },
};

/** memfd_create(name, flags): a descriptor, or -errno. */
export function memfdCreate(task: Task, phys: PhysMem, name: string, flags: number): number {
  if (flags & ~(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB)) return -EINVAL;
  // NAME_MAX minus the "memfd:" prefix.
  if (name.length > 249) return -EINVAL;
  const huge = (flags & MFD_HUGETLB) !== 0;
  const state: MemfdState = { file: MemFile.create(phys, name, 0, { huge }), name, huge, phys };
  const file = new File(memfdFops, O_RDWR, FMODE_READ | FMODE_WRITE, state);
  const fd = task.files.install(file, (flags & MFD_CLOEXEC) !== 0);
  if (fd < 0) file.put();
  return fd;
}

/** ftruncate() of a memfd: 0 or -errno (-EBUSY once it is mapped, see the header). */
export function memfdTruncate(file: File, length: number): number {
  if (file.fops !== memfdFops) return -EINVAL;
  if (!Number.isInteger(length) || length < 0) return -EINVAL;
  const state = file.privateData as MemfdState;
  if (state.file.obj.refs > 1) return -EBUSY;
  const next = MemFile.create(state.phys, state.name, length, { huge: state.huge });
  next.obj.bytes.set(state.file.obj.bytes.subarray(0, Math.min(length, state.file.size)));
  state.file.close();
  state.file = next;
  return 0;
}

