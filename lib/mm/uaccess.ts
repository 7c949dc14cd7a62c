// Models: copy_from_user / copy_to_user / get_user / put_user (arch/x86/include/asm/uaccess.h)
// against a model address space. Copies go VMA by VMA and stop at the first fault, returning
// the number of bytes NOT copied, as the kernel's do.

import { EFAULT } from '../../uapi/index.js';
import type { AddressSpace } from './address_space.js';
import { TASK_SIZE, newSpan } from './page.js';

const span = newSpan();

/** Copies `len` bytes from user address `uaddr` into `dst`; returns the bytes not copied. */
export function copyFromUser(mm: AddressSpace, dst: Uint8Array, uaddr: number, len = dst.length): number {
  let done = 0;
  while (done < len) {
    if (!mm.span(uaddr + done, len - done, false, span)) break;
    dst.set(span.buf.subarray(span.off, span.off + span.len), done);
    done += span.len;
  }
  return len - done;
}

/** Copies `len` bytes of `src` to user address `uaddr`; returns the bytes not copied. */
export function copyToUser(mm: AddressSpace, uaddr: number, src: Uint8Array, len = src.length): number {
  let done = 0;
  while (done < len) {
    if (!mm.span(uaddr + done, len - done, true, span)) break;
    span.buf.set(src.subarray(done, done + span.len), span.off);
    done += span.len;
  }
  return len - done;
}

const scratch = new Uint8Array(8);
const scratchView = new DataView(scratch.buffer);

/** get_user of a little-endian u8/u16/u32 (number) or u64 (bigint); undefined on a fault. */
export function getUser(mm: AddressSpace, uaddr: number, size: 1 | 2 | 4): number | undefined;
export function getUser(mm: AddressSpace, uaddr: number, size: 8): bigint | undefined;
export function getUser(mm: AddressSpace, uaddr: number, size: 1 | 2 | 4 | 8): number | bigint | undefined {
  if (copyFromUser(mm, scratch, uaddr, size) !== 0) return undefined;
  switch (size) {
    case 1:
      return scratch[0];
    case 2:
      return scratchView.getUint16(0, true);
    case 4:
      return scratchView.getUint32(0, true);
    case 8:
      return scratchView.getBigUint64(0, true);
  }
}

/** put_user of a little-endian value: 0 or -EFAULT (nothing is written on a fault). */
export function putUser(mm: AddressSpace, uaddr: number, size: 1 | 2 | 4 | 8, value: number | bigint): number {
  switch (size) {
    case 1:
      scratch[0] = Number(value);
      break;
    case 2:
      scratchView.setUint16(0, Number(value), true);
      break;
    case 4:
      scratchView.setUint32(0, Number(value) >>> 0, true);
      break;
    case 8:
      scratchView.setBigUint64(0, BigInt.asUintN(64, BigInt(value)), true);
      break;
  }
  // Probe first so a fault in the middle leaves memory untouched, as put_user does.
  for (let off = 0; off < size; ) {
    if (!mm.span(uaddr + off, size - off, true, span)) return -EFAULT;
    off += span.len;
  }
  return copyToUser(mm, uaddr, scratch, size) === 0 ? 0 : -EFAULT;
}

/** A zero-copy view of user memory when the range lies in one VMA; undefined otherwise. */
export function userView(mm: AddressSpace, uaddr: number, len: number, write: boolean): Uint8Array | undefined {
  if (!mm.span(uaddr, len, write, span) || span.len < len) return undefined;
  return span.buf.subarray(span.off, span.off + len);
}

/**
 * A raw syscall argument as a user pointer: its address, or -1 when it lies outside the user
 * address space (access_ok() fails, so every copy through it faults).
 */
export function userPtr(arg: bigint): number {
  return arg >= 0n && arg < BigInt(TASK_SIZE) ? Number(arg) : -1;
}
