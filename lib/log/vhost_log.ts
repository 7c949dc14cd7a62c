// Models: the vhost dirty log (drivers/vhost/vhost.c log_write(), include/uapi/linux/vhost.h
// VHOST_PAGE_SIZE) and QEMU's harvest of it (hw/virtio/vhost.c vhost_sync_dirty_bitmap /
// vhost_dev_sync_region): one bit per 4 KiB guest page, bit p in byte p / 8; the log is read in
// 64-bit words, each covering VHOST_LOG_CHUNK (256 KiB), and each word is exchanged to zero.
// Deviations: the log is a byte array the caller provides (a view of the VMM's log memory).

import { EFAULT, VHOST_PAGE_SIZE } from '../../uapi/index.js';
import { Bitmap } from '../bitmap.js';

export const VHOST_LOG_PAGE = VHOST_PAGE_SIZE;
export const VHOST_LOG_BITS = 64;
/** Bytes of guest memory one 64-bit log word covers. */
export const VHOST_LOG_CHUNK = VHOST_LOG_PAGE * VHOST_LOG_BITS;

export class VhostLog {
  readonly bitmap: Bitmap;

  constructor(readonly log: Uint8Array) {
    this.bitmap = new Bitmap(log);
  }

  /** Bytes of log QEMU allocates for guest memory ending at `memEnd`: one word per chunk, plus one. */
  static sizeFor(memEnd: number): number {
    return (Math.floor(memEnd / VHOST_LOG_CHUNK) + 1) * 8;
  }

  /**
   * log_write(): marks every page that [addr, addr + len) touches. 0, or -EFAULT when a page's
   * bit lies beyond the log (the kernel's set_bit_to_user faulting). Bits before the fault stay set.
   */
  logWrite(addr: number, len: number): number {
    if (len === 0) return 0;
    const first = Math.floor(addr / VHOST_LOG_PAGE);
    const last = Math.floor((addr + len - 1) / VHOST_LOG_PAGE);
    for (let page = first; page <= last; page++) {
      if (page >= this.bitmap.nbits) return -EFAULT;
      this.bitmap.set(page);
    }
    return 0;
  }

  /** Whether guest page `page` is marked. */
  isDirty(page: number): boolean {
    return page < this.bitmap.nbits && this.bitmap.test(page);
  }

  /**
   * The VMM's sync: harvests the log a 64-bit word at a time (exchange to zero), reporting each
   * dirty page to `onPage`. Returns the number of dirty pages.
   */
  sync(onPage: (page: number) => void = () => {}): number {
    const v = new DataView(this.log.buffer, this.log.byteOffset, this.log.byteLength);
    let count = 0;
    for (let w = 0; w + 8 <= this.log.length; w += 8) {
      const lo = v.getUint32(w, true);
      const hi = v.getUint32(w + 4, true);
      if (lo === 0 && hi === 0) continue;
      v.setUint32(w, 0, true);
      v.setUint32(w + 4, 0, true);
      for (let b = 0; b < 64; b++) {
        if ((b < 32 ? lo >>> b : hi >>> (b - 32)) & 1) {
          onPage(w * 8 + b);
          count++;
        }
      }
    }
    return count;
  }

  clear(): void {
    this.log.fill(0);
  }
}
