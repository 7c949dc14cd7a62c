// Models: the parts of struct task_struct a syscall reaches through `current`: the mm, the
// file table and the credentials (include/linux/sched.h, include/linux/cred.h).
// Deviations: capabilities are reduced to the ones the modelled code checks.

import type { AddressSpace } from '../mm/index.js';
import type { FdTable } from './fdtable.js';

export interface Cred {
  uid: number;
  /** CAP_NET_ADMIN (netlink_capable / GENL_ADMIN_PERM). */
  capNetAdmin: boolean;
}

export interface Task {
  readonly pid: number;
  readonly comm: string;
  readonly mm: AddressSpace;
  readonly files: FdTable;
  readonly cred: Cred;
}
