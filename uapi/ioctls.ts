// Models: include/uapi/asm-generic/ioctls.h, the requests the VFS answers itself (fs/ioctl.c
// do_vfs_ioctl) before a driver sees them, plus TCGETS (a terminal request a tty-less file
// refuses with ENOTTY).
// Deviations: only these names.

import { consts, defineHeader } from './header_spec.js';

export const TCGETS = 0x5401;
export const FIONBIO = 0x5421;
export const FIONCLEX = 0x5450;
export const FIOCLEX = 0x5451;
export const FIOASYNC = 0x5452;

export const ioctlsHeader = defineHeader('asm-generic/ioctls.h', [
  consts({ TCGETS, FIONBIO, FIONCLEX, FIOCLEX, FIOASYNC }, { hex: true }),
]);
