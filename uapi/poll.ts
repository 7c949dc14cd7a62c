// Models: include/uapi/asm-generic/poll.h (the event bits poll/epoll report).
// Deviations: only the bits the model's files report.

import { consts, defineHeader } from './header_spec.js';

export const POLLIN = 0x0001;
export const POLLPRI = 0x0002;
export const POLLOUT = 0x0004;
export const POLLERR = 0x0008;
export const POLLHUP = 0x0010;
export const POLLNVAL = 0x0020;

export const pollHeader = defineHeader('asm-generic/poll.h', [
  consts({ POLLIN, POLLPRI, POLLOUT, POLLERR, POLLHUP, POLLNVAL }, { hex: true }),
]);
