// Models: the live-migration register block of QEMU's reverted `vdpa=on` virtio-pci function
// (seeds/000: virtio_pci_lm_read/virtio_pci_lm_write, lm_enable/lm_disable, the dirty marking of
// virtio_net_receive_rcu, virtio_queue_{get,set}_vring_states), as data in
// uapi/proposed/virtio_pci_lm.ts. Both register layouts the seed states are selectable: `code`
// (what its C does, the default) and `doc` (its documentation table). Every quirk of the seed's
// C is kept: LOGGING_CTRL stores the low byte of any value, then an unknown value breaks the
// device ("Unsupport LM_LOGGING_CTRL value"); an unknown offset reads 0 and a write to one
// breaks the device ("Unsupport addr"); the ring-state index is (addr - 0x20) / multiplier with
// the inclusive `addr <= 0x20 + multiplier * 1024` check, so any access inside a word (or with
// page-per-vq, the whole array) aliases a queue; enable computes end - base unsigned, refuses only
// size 0 ("Invalid lm size.", logging left on with no bitmap), and a range that does not map
// whole breaks the device ("Cannot map bitmap") leaving any earlier bitmap in place; the
// registers survive device reset (the patch adds no reset handler).
// Dirty marking, selectable:
//   `seed`: exactly virtio_net_receive_rcu's, for the RX path only, once per RX element: chunk =
//     elem->in_addr[i] / VHOST_LOG_CHUNK (256 KiB), bitmap byte chunk / 8, bit chunk % 8. Its
//     defects are reproduced: (1) one bit per 256 KiB where a vhost log consumer reads one bit
//     per 4 KiB page; (2) `i` counts the elements of a merged packet, so element i > 0 indexes
//     its own in_addr[] out of range: QEMU's VirtQueueElement lays out in_addr[in_num], then
//     (RX has no out part) in_sg[in_num] = {iov_base, iov_len}: in_addr[in_num + 2j] is a host
//     pointer (QEMU would assert in address_space_read_cached: traced, not written),
//     in_addr[in_num + 2j + 1] an iov_len (marks a chunk near 0), beyond that heap (traced);
//     (3) no check that a bitmap is mapped (QEMU dereferences NULL: traced, not written), nor
//     that the byte lies inside it (QEMU asserts: traced, not written).
//   `complete`: every write the device makes through its DMA view (RX buffer bytes, used-ring
//     elements and index, avail_event or used flags, control-queue acks; not the bitmap itself),
//     in the vhost log layout: one bit per 4 KiB page (VHOST_LOG_PAGE), page p in byte p / 8,
//     bit p % 8.
// Both index the bitmap by device (DMA) address, i.e. IOVA: the device sees nothing else. With
// IOVA = GPA (no vIOMMU, or a VMM mapping guest RAM 1:1 as sim/vmm's listener does) these are
// guest-physical pages, the vhost log's unit.
// Deviations: the bitmap is translated through the function's IOMMU at every access (QEMU caches
// the mapping at enable, which with a vIOMMU translates per access too); enable checks that every
// byte of [base, end) translates writable to memory (QEMU checks RAM contiguity, and skips the
// check entirely behind a vIOMMU). Accesses QEMU would crash on are trace events.

import { type IotlbXlate, VHOST_MAP_WO } from '../../lib/iotlb/index.js';
import { newSpan } from '../../lib/mm/index.js';
import { tracepoint } from '../../lib/trace.js';
import type { DmaView } from '../../drivers/pci/pci_function.js';
import {
  LM_DISABLE,
  LM_ENABLE,
  LM_LAYOUTS,
  LM_PACKED_STATE,
  LM_REGION_SIZE,
  type LmLayoutName,
  type LmRegisterLayout,
  VIRTIO_QUEUE_MAX,
  lmEncodeSplitState,
} from '../../uapi/proposed/index.js';
import type { MmioRegion } from './bar.js';

/** VHOST_LOG_PAGE: the unit of the vhost dirty log. */
export const VHOST_LOG_PAGE = 0x1000;
/** VHOST_LOG_CHUNK: what the seed divides by (the span of one 64-bit log word). */
export const VHOST_LOG_CHUNK = VHOST_LOG_PAGE * 64;

export type LmDirtyMode = 'seed' | 'complete';

export interface LmOptions {
  /** Register layout (default `code`). */
  layout?: LmLayoutName;
  /** Dirty marking (default `seed`). */
  dirty?: LmDirtyMode;
}

/** What the LM block needs from the device it belongs to. */
export interface LmDevice {
  readonly name: string;
  /** The function's DMA view, once plugged. */
  readonly dma: DmaView | undefined;
  /** VIRTIO_F_RING_PACKED negotiated. */
  packed(): boolean;
  /** Split-ring state of vq `qid` (< VIRTIO_QUEUE_MAX): last_avail_idx and used_idx (the object may be reused). */
  vringState(qid: number): { lastAvail: number; usedIdx: number };
  /** virtio_queue_split_set_vring_states(). */
  setVringState(qid: number, lastAvail: number, usedIdx: number): void;
  /** virtio_error(): the device is broken until reset. */
  error(msg: string): void;
}

/** Counters of what the marking did (tests and the migration figures read them). */
export interface LmStats {
  /** Bitmap bytes written (read-modify-write of one byte). */
  marks: number;
  /** Marks the seed would have made where QEMU crashes or writes heap, dropped. */
  seedUndefined: number;
  /** Marks dropped because no bitmap was mapped (the seed dereferences NULL). */
  noBitmap: number;
  /** Marks whose byte lies beyond the mapped bitmap, or no longer translates. */
  outOfRange: number;
}

interface LmBadAccess {
  dev: string;
  offset: number;
  size: number;
  write: boolean;
  value: number;
  reason: string;
}

const traceBadAccess = tracepoint<LmBadAccess>('vdpa:pci:lm_bad_access');
const traceEnable = tracepoint<{ dev: string; base: bigint; end: bigint; ok: boolean }>('vdpa:pci:lm_enable');
const traceDisable = tracepoint<{ dev: string }>('vdpa:pci:lm_disable');
const traceDirtyDropped = tracepoint<{ dev: string; reason: string; addr: number }>('vdpa:pci:lm_dirty_dropped');

const TWO32 = 4294967296;

/** The LM registers and the dirty bitmap they describe. */
export class VirtioPciLm {
  readonly layout: LmRegisterLayout;
  /** vdev->lm_logging_ctrl: the low byte of the last value written. */
  loggingCtrl = LM_DISABLE;
  baseLow = 0;
  baseHigh = 0;
  endLow = 0;
  endHigh = 0;
  readonly stats: LmStats = { marks: 0, seedUndefined: 0, noBitmap: 0, outOfRange: 0 };
  /** vdev->caches: the mapped bitmap, [base, base + size) of device addresses. */
  private bitmap: { base: bigint; size: bigint; baseHi: number; baseLo: number; sizeNum: number } | undefined;
  private readonly xlate: IotlbXlate = { addr: 0, len: 0 };
  private readonly span = newSpan();
  /** offset_end of the seed: the inclusive end of the ring-state range. */
  private readonly offsetEnd: number;

  constructor(
    private readonly dev: LmDevice,
    /** virtio_pci_queue_mem_mult(): 4, or 0x1000 with page-per-vq. */
    readonly multiplier: number,
    readonly dirty: LmDirtyMode,
    layout: LmLayoutName = 'code',
  ) {
    this.layout = LM_LAYOUTS[layout];
    this.offsetEnd = this.layout.LM_VRING_STATE_OFFSET + multiplier * VIRTIO_QUEUE_MAX;
  }

  /** The seed's gate for marking: lm_logging_ctrl == LM_ENABLE (whatever the bitmap). */
  get logging(): boolean {
    return this.loggingCtrl === LM_ENABLE;
  }

  /** The mapped bitmap, if any. */
  get bitmapRange(): { base: bigint; size: bigint } | undefined {
    return this.bitmap ? { base: this.bitmap.base, size: this.bitmap.size } : undefined;
  }

  private bad(offset: number, size: number, write: boolean, value: number, reason: string): void {
    if (traceBadAccess.active) traceBadAccess.publish({ dev: this.dev.name, offset, size, write, value, reason });
  }

  /** The ring-state word's queue, or -1 when `addr` is not in the seed's (inclusive) range. */
  private ringStateQid(addr: number): number {
    const first = this.layout.LM_VRING_STATE_OFFSET;
    if (addr < first || addr > this.offsetEnd) return -1;
    return Math.floor((addr - first) / this.multiplier);
  }

  /** A width or alignment the seed's registers were not written for: traced, then done as it does. */
  private checkWidth(addr: number, size: number, write: boolean, value: number, qid: number): void {
    if (addr === this.layout.LM_LOGGING_CTRL) return;
    if (size !== 4) this.bad(addr, size, write, value, `${size}-byte access to a 32-bit register`);
    else if (qid >= 0 && (addr - this.layout.LM_VRING_STATE_OFFSET) % 4 !== 0) this.bad(addr, size, write, value, `inside a ring-state word: aliases vq ${qid}`);
  }

  /**
   * The seed's `addr <= offset_end` lets vq VIRTIO_QUEUE_MAX through, and QEMU would index one
   * past vdev->vq[]. The region is 0x1020 bytes, so the bus never gets there; a direct access
   * does nothing (reads 0) and is traced.
   */
  private pastLastQueue(addr: number, size: number, write: boolean, value: number): number {
    this.bad(addr, size, write, value, `vq ${VIRTIO_QUEUE_MAX} passes the inclusive range check (QEMU indexes past vdev->vq[])`);
    return 0;
  }

  /** virtio_queue_get_vring_states(). */
  private readState(qid: number): number {
    if (this.dev.packed()) return LM_PACKED_STATE;
    const s = this.dev.vringState(qid);
    return lmEncodeSplitState(s.lastAvail, s.usedIdx);
  }

  /** virtio_pci_lm_read(). */
  read(addr: number, size: number): number {
    const L = this.layout;
    if (addr === L.LM_LOGGING_CTRL) return this.loggingCtrl;
    const qidIfState = this.ringStateQid(addr);
    this.checkWidth(addr, size, false, 0, qidIfState);
    if (addr === L.LM_BASE_ADDR_LOW) return this.baseLow;
    if (addr === L.LM_BASE_ADDR_HIGH) return this.baseHigh;
    if (addr === L.LM_END_ADDR_LOW) return this.endLow;
    if (addr === L.LM_END_ADDR_HIGH) return this.endHigh;
    if (qidIfState >= 0) return qidIfState < VIRTIO_QUEUE_MAX ? this.readState(qidIfState) : this.pastLastQueue(addr, size, false, 0);
    this.bad(addr, size, false, 0, 'unknown offset: reads 0');
    return 0;
  }

  /** virtio_pci_lm_write(). */
  write(addr: number, size: number, value: number): void {
    const L = this.layout;
    if (addr === L.LM_LOGGING_CTRL) {
      this.loggingCtrl = value & 0xff;
      if (value === LM_DISABLE) this.disable();
      else if (value === LM_ENABLE) this.enable();
      else {
        this.bad(addr, size, true, value, 'unsupported LM_LOGGING_CTRL value: stored, device broken');
        this.dev.error(`Unsupport LM_LOGGING_CTRL value: ${value.toString(16)}`);
      }
      return;
    }
    const qid = this.ringStateQid(addr);
    this.checkWidth(addr, size, true, value, qid);
    if (addr === L.LM_BASE_ADDR_LOW) this.baseLow = value;
    else if (addr === L.LM_BASE_ADDR_HIGH) this.baseHigh = value;
    else if (addr === L.LM_END_ADDR_LOW) this.endLow = value;
    else if (addr === L.LM_END_ADDR_HIGH) this.endHigh = value;
    else if (qid >= VIRTIO_QUEUE_MAX) this.pastLastQueue(addr, size, true, value);
    else if (qid >= 0) {
      // virtio_queue_set_vring_states(): packed rings ignore it.
      if (!this.dev.packed()) this.dev.setVringState(qid, value & 0xffff, (value >>> 16) & 0xffff);
    } else {
      this.bad(addr, size, true, value, 'unknown offset: device broken');
      this.dev.error(`Unsupport addr: ${addr.toString(16)}`);
    }
  }

  /** lm_disable(): the bitmap mapping is dropped; the registers keep their values. */
  private disable(): void {
    this.bitmap = undefined;
    if (traceDisable.active) traceDisable.publish({ dev: this.dev.name });
  }

  /** lm_enable(). */
  private enable(): void {
    const base = BigInt(this.baseLow) | (BigInt(this.baseHigh) << 32n);
    const end = BigInt(this.endLow) | (BigInt(this.endHigh) << 32n);
    const size = BigInt.asUintN(64, end - base);
    if (size === 0n) {
      // error_report() only: lm_logging_ctrl stays LM_ENABLE with whatever bitmap was there.
      this.bad(this.layout.LM_LOGGING_CTRL, 1, true, LM_ENABLE, 'Invalid lm size.');
      if (traceEnable.active) traceEnable.publish({ dev: this.dev.name, base, end, ok: false });
      return;
    }
    const ok = this.mapsWhole(base, size);
    if (traceEnable.active) traceEnable.publish({ dev: this.dev.name, base, end, ok });
    if (!ok) {
      this.bad(this.layout.LM_LOGGING_CTRL, 1, true, LM_ENABLE, 'Cannot map bitmap: device broken');
      this.dev.error('Cannot map bitmap');
      return;
    }
    this.bitmap = {
      base,
      size,
      baseHi: Number(base >> 32n),
      baseLo: Number(base & 0xffffffffn),
      sizeNum: Number(size),
    };
  }

  /** address_space_cache_init() >= size: every byte of [base, base + size) writable memory. */
  private mapsWhole(base: bigint, size: bigint): boolean {
    const dma = this.dev.dma;
    if (!dma) return false;
    let at = base;
    let left = size;
    while (left > 0n) {
      const step = left > 0xffffffffn ? 0xffffffff : Number(left);
      if (dma.iotlb.translate(Number(at >> 32n), Number(at & 0xffffffffn), step, VHOST_MAP_WO, this.xlate) < 0) return false;
      let addr = this.xlate.addr;
      let n = this.xlate.len;
      while (n > 0) {
        if (!dma.mem.span(addr, n, true, this.span) || this.span.len === 0) return false;
        addr += this.span.len;
        n -= this.span.len;
      }
      at = BigInt.asUintN(64, at + BigInt(this.xlate.len));
      left -= BigInt(this.xlate.len);
      // Wrapped past 2^64: the rest cannot map.
      if (at === 0n && left > 0n) return false;
    }
    return true;
  }

  private dropped(reason: string, addr: number): void {
    this.stats.outOfRange++;
    if (traceDirtyDropped.active) traceDirtyDropped.publish({ dev: this.dev.name, reason, addr });
  }

  /**
   * The seed's mark for one RX element (call only while `logging`): `addr` is the value of
   * elem->in_addr[i] (hi and lo words), a device address or, past in_num, an iov_len.
   */
  markSeed(hi: number, lo: number): void {
    if (!this.bitmap) {
      this.stats.noBitmap++;
      if (traceDirtyDropped.active) traceDirtyDropped.publish({ dev: this.dev.name, reason: 'no bitmap mapped (QEMU dereferences NULL)', addr: lo });
      return;
    }
    // chunk = addr / VHOST_LOG_CHUNK (2^18), exact for addresses below 2^64.
    const chunk = hi * 2 ** 14 + Math.floor(lo / VHOST_LOG_CHUNK);
    this.orMask(Math.floor(chunk / 8), 1 << (chunk % 8));
  }

  /** An in_addr[] read the seed makes of something that is no address (see the header). */
  markSeedUndefined(what: string): void {
    this.stats.seedUndefined++;
    if (traceDirtyDropped.active) traceDirtyDropped.publish({ dev: this.dev.name, reason: `seed reads ${what}`, addr: 0 });
  }

  /**
   * The complete mode's mark: every 4 KiB page of the device addresses [hi:lo, + len) (call only
   * while `logging`). One read-modify-write per bitmap byte touched.
   */
  markPages(hi: number, lo: number, len: number): void {
    if (len <= 0) return;
    if (!this.bitmap) {
      this.stats.noBitmap++;
      return;
    }
    const carry = Math.floor(lo / TWO32);
    const h = hi + carry;
    const l = lo - carry * TWO32;
    const first = h * 2 ** 20 + Math.floor(l / VHOST_LOG_PAGE);
    const last = h * 2 ** 20 + Math.floor((l + len - 1) / VHOST_LOG_PAGE);
    let p = first;
    while (p <= last) {
      const index = Math.floor(p / 8);
      const bitLast = Math.min(last, index * 8 + 7);
      // Bits p..bitLast of one byte.
      let mask = 0;
      for (let q = p; q <= bitLast; q++) mask |= 1 << (q % 8);
      this.orMask(index, mask);
      p = bitLast + 1;
    }
  }

  /** Sets the `mask` bits of bitmap byte `index`: a read-modify-write through the IOMMU. */
  private orMask(index: number, mask: number): void {
    const b = this.bitmap;
    const dma = this.dev.dma;
    if (!b || !dma || index >= b.sizeNum) {
      this.dropped('beyond the bitmap', index);
      return;
    }
    const lo = b.baseLo + index;
    const carry = Math.floor(lo / TWO32);
    if (dma.iotlb.translate((b.baseHi + carry) >>> 0, lo - carry * TWO32, 1, VHOST_MAP_WO, this.xlate) < 0 || !dma.mem.span(this.xlate.addr, 1, true, this.span)) {
      this.dropped('bitmap byte no longer translates', index);
      return;
    }
    const buf = this.span.buf;
    buf[this.span.off] = (buf[this.span.off] as number) | mask;
    this.stats.marks++;
  }

  /** A copy of the mapped bitmap, read through the IOMMU (for tests and tools). */
  readBitmap(): Uint8Array | undefined {
    const b = this.bitmap;
    const dma = this.dev.dma;
    if (!b || !dma) return undefined;
    const out = new Uint8Array(b.sizeNum);
    for (let i = 0; i < b.sizeNum; ) {
      const lo = b.baseLo + i;
      const carry = Math.floor(lo / TWO32);
      if (dma.iotlb.translate((b.baseHi + carry) >>> 0, lo - carry * TWO32, b.sizeNum - i, VHOST_MAP_WO, this.xlate) < 0) return undefined;
      if (!dma.mem.span(this.xlate.addr, this.xlate.len, false, this.span) || this.span.len === 0) return undefined;
      out.set(this.span.buf.subarray(this.span.off, this.span.off + this.span.len), i);
      i += this.span.len;
    }
    return out;
  }

  /** The region in the modern BAR at `offset` (accesses of 1 to 4 bytes, as lm_ops). */
  region(offset: number): MmioRegion {
    return {
      name: 'virtio-pci-lm',
      offset,
      size: LM_REGION_SIZE,
      read: (addr, size) => this.read(addr, size),
      write: (addr, size, value) => this.write(addr, size, value),
    };
  }
}
