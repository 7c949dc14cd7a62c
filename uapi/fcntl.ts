// Models: include/uapi/asm-generic/fcntl.h (open flags), asm-generic/resource.h
// (RLIMIT_MEMLOCK), and the eventfd flags of
// include/linux/eventfd.h (not a uAPI header in 6.1; glibc's <sys/eventfd.h> has the same values).
// Deviations: only the names the model uses.

import { consts, defineHeader } from './header_spec.js';

export const O_ACCMODE = 0o3;
export const O_RDONLY = 0o0;
export const O_WRONLY = 0o1;
export const O_RDWR = 0o2;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;

export const EFD_SEMAPHORE = 1 << 0;
export const EFD_CLOEXEC = O_CLOEXEC;
export const EFD_NONBLOCK = O_NONBLOCK;

export const RLIMIT_MEMLOCK = 8;

export const fcntlHeader = defineHeader('asm-generic/fcntl.h', [
  consts({ O_ACCMODE, O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_NONBLOCK, O_CLOEXEC }, {
    expr: {
      O_ACCMODE: '00000003',
      O_RDONLY: '00000000',
      O_WRONLY: '00000001',
      O_RDWR: '00000002',
      O_CREAT: '00000100',
      O_EXCL: '00000200',
      O_TRUNC: '00001000',
      O_APPEND: '00002000',
      O_NONBLOCK: '00004000',
      O_CLOEXEC: '02000000',
    },
  }),
  consts({ EFD_SEMAPHORE, EFD_CLOEXEC, EFD_NONBLOCK }, {
    comment: 'eventfd flags (include/linux/eventfd.h, glibc <sys/eventfd.h>).',
    expr: { EFD_SEMAPHORE: '(1 << 0)', EFD_CLOEXEC: 'O_CLOEXEC', EFD_NONBLOCK: 'O_NONBLOCK' },
  }),
  consts({ RLIMIT_MEMLOCK }),
]);
