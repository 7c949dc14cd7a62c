// Models: include/uapi/asm-generic/mman-common.h, asm-generic/mman.h and linux/mman.h (x86-64;
// identical in Linux 6.1 and upstream for the names modelled).
// Deviations: only the protection bits and mmap flags the model's address spaces implement.

import { consts, defineHeader } from './header_spec.js';

export const PROT_NONE = 0x0;
export const PROT_READ = 0x1;
export const PROT_WRITE = 0x2;
export const PROT_EXEC = 0x4;

export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_SHARED_VALIDATE = 0x03;
export const MAP_TYPE = 0x0f;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
export const MAP_LOCKED = 0x2000;
export const MAP_NORESERVE = 0x4000;
export const MAP_POPULATE = 0x008000;
export const MAP_HUGETLB = 0x040000;
export const MAP_FIXED_NOREPLACE = 0x100000;

export const MAP_HUGE_SHIFT = 26;
export const MAP_HUGE_2MB = 21 << MAP_HUGE_SHIFT;

export const mmanHeader = defineHeader('linux/mman.h', [
  consts({ PROT_NONE, PROT_READ, PROT_WRITE, PROT_EXEC }, { hex: true }),
  consts(
    {
      MAP_SHARED,
      MAP_PRIVATE,
      MAP_SHARED_VALIDATE,
      MAP_TYPE,
      MAP_FIXED,
      MAP_ANONYMOUS,
      MAP_LOCKED,
      MAP_NORESERVE,
      MAP_POPULATE,
      MAP_HUGETLB,
      MAP_FIXED_NOREPLACE,
    },
    { hex: true },
  ),
  consts({ MAP_HUGE_SHIFT }),
  consts({ MAP_HUGE_2MB }, { expr: { MAP_HUGE_2MB: '(21 << MAP_HUGE_SHIFT)' } }),
]);
