// Models: include/uapi/linux/memfd.h (the flags of memfd_create).
// Deviations: only the flags the model implements (no sealing, no hugetlb size selectors).

import { consts, defineHeader } from './header_spec.js';

export const MFD_CLOEXEC = 0x0001;
export const MFD_ALLOW_SEALING = 0x0002;
export const MFD_HUGETLB = 0x0004;

export const memfdHeader = defineHeader('linux/memfd.h', [consts({ MFD_CLOEXEC, MFD_ALLOW_SEALING, MFD_HUGETLB }, { hex: true })]);
