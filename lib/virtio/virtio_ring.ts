// Models: drivers/virtio/virtio_ring.c, the split ring (the driver side a guest runs): the free
// list, virtqueue_add (direct and indirect), kick_prepare with NO_NOTIFY / avail_event,
// get_buf with used_event, enable/disable callbacks, detach_unused_buf, and BAD_RING, which
// breaks the queue.
// Deviations: guest memory is one byte array at a base GPA; indirect tables come from a fixed
// per-head area the caller provides instead of kmalloc. Little-endian (VERSION_1) only.

import {
  EINVAL,
  EIO,
  ENOSPC,
  VRING_AVAIL_F_NO_INTERRUPT,
  VRING_DESC_F_INDIRECT,
  VRING_DESC_F_NEXT,
  VRING_DESC_F_WRITE,
  VRING_USED_F_NO_NOTIFY,
  vring_need_event,
} from '../../uapi/index.js';

/** One scatter-gather element: a guest-physical buffer. */
export interface Sg {
  addr: number;
  len: number;
}

export interface VirtqueueOptions {
  /** Guest memory and the GPA of its first byte. */
  mem: Uint8Array;
  memBase?: number;
  num: number;
  /** GPAs of the three parts. */
  desc: number;
  avail: number;
  used: number;
  /** VIRTIO_RING_F_EVENT_IDX negotiated. */
  eventIdx?: boolean;
  /** VIRTIO_RING_F_INDIRECT_DESC negotiated: a table of `entries` descriptors per head at `base`. */
  indirect?: { base: number; entries: number };
  /** Called when add() runs out of room with buffers out (the kernel kicks then). */
  notify?: () => void;
}

export class VirtqueueSplit<T> {
  readonly num: number;
  numFree: number;
  /** Why the queue broke (BAD_RING), if it did. */
  broken: string | undefined;
  /** Length the device reported for the buffer get_buf() returned last. */
  lastLen = 0;

  private readonly mem: Uint8Array;
  private readonly v: DataView;
  private readonly base: number;
  private readonly descOff: number;
  private readonly availOff: number;
  private readonly usedOff: number;
  private readonly eventIdx: boolean;
  private readonly indirect: { base: number; entries: number } | undefined;
  private readonly notify: (() => void) | undefined;
  private freeHead = 0;
  private availIdxShadow = 0;
  private availFlagsShadow = 0;
  private lastUsedIdx = 0;
  private numAdded = 0;
  /** desc_extra: next and flags as the driver wrote them (the ring may be tampered with). */
  private readonly extraNext: Uint16Array;
  private readonly extraFlags: Uint16Array;
  private readonly data: (T | undefined)[];
  /** Whether a head's chain went through its indirect table. */
  private readonly viaIndirect: Uint8Array;

  constructor(o: VirtqueueOptions) {
    if (!o.num || o.num > 32768 || (o.num & (o.num - 1)) !== 0) throw new RangeError(`virtqueue: size ${o.num} is not a power of two <= 32768`);
    this.num = o.num;
    this.numFree = o.num;
    this.mem = o.mem;
    this.v = new DataView(o.mem.buffer, o.mem.byteOffset, o.mem.byteLength);
    this.base = o.memBase ?? 0;
    this.descOff = o.desc - this.base;
    this.availOff = o.avail - this.base;
    this.usedOff = o.used - this.base;
    this.eventIdx = o.eventIdx ?? false;
    this.indirect = o.indirect;
    this.notify = o.notify;
    this.extraNext = new Uint16Array(o.num);
    this.extraFlags = new Uint16Array(o.num);
    this.data = new Array<T | undefined>(o.num);
    this.viaIndirect = new Uint8Array(o.num);
    for (let i = 0; i < o.num - 1; i++) this.extraNext[i] = i + 1;
    // The device reads these; start from a clean ring.
    this.mem.fill(0, this.descOff, this.descOff + 16 * o.num);
    this.mem.fill(0, this.availOff, this.availOff + 6 + 2 * o.num);
    this.mem.fill(0, this.usedOff, this.usedOff + 6 + 8 * o.num);
  }

  private writeDesc(tableOff: number, i: number, addr: number, len: number, flags: number, next: number): void {
    const at = tableOff + 16 * i;
    const v = this.v;
    v.setUint32(at, addr >>> 0, true);
    v.setUint32(at + 4, Math.floor(addr / 4294967296), true);
    v.setUint32(at + 8, len >>> 0, true);
    v.setUint16(at + 12, flags, true);
    v.setUint16(at + 14, next, true);
  }

  /**
   * virtqueue_add_sgs(): `sgs` holds `outCount` device-readable buffers then the device-writable
   * ones. 0, -ENOSPC when the ring is full, -EIO when broken, -EINVAL for an empty list.
   */
  addSgs(sgs: readonly Sg[], outCount: number, data: T): number {
    if (this.broken) return -EIO;
    const total = sgs.length;
    if (total === 0) return -EINVAL;
    const useIndirect = this.indirect !== undefined && total > 1 && this.numFree > 0 && total <= this.indirect.entries;
    const descsUsed = useIndirect ? 1 : total;
    if (this.numFree < descsUsed) {
      if (outCount > 0) this.notify?.();
      return -ENOSPC;
    }
    const head = this.freeHead;
    if (useIndirect) {
      const ind = this.indirect as { base: number; entries: number };
      const tableGpa = ind.base + head * ind.entries * 16;
      const tableOff = tableGpa - this.base;
      for (let k = 0; k < total; k++) {
        const sg = sgs[k] as Sg;
        const flags = (k < total - 1 ? VRING_DESC_F_NEXT : 0) | (k >= outCount ? VRING_DESC_F_WRITE : 0);
        this.writeDesc(tableOff, k, sg.addr, sg.len, flags, k + 1);
      }
      this.writeDesc(this.descOff, head, tableGpa, total * 16, VRING_DESC_F_INDIRECT, this.extraNext[head] as number);
      this.extraFlags[head] = VRING_DESC_F_INDIRECT;
      this.freeHead = this.extraNext[head] as number;
      this.viaIndirect[head] = 1;
    } else {
      let i = head;
      for (let k = 0; k < total; k++) {
        const sg = sgs[k] as Sg;
        const flags = (k < total - 1 ? VRING_DESC_F_NEXT : 0) | (k >= outCount ? VRING_DESC_F_WRITE : 0);
        this.writeDesc(this.descOff, i, sg.addr, sg.len, flags, this.extraNext[i] as number);
        this.extraFlags[i] = flags;
        i = this.extraNext[i] as number;
      }
      this.freeHead = i;
      this.viaIndirect[head] = 0;
    }
    this.numFree -= descsUsed;
    this.data[head] = data;
    this.publish(head);
    return 0;
  }

  /** virtqueue_add_outbuf() of one buffer, without building an sg array. */
  addOutbuf(addr: number, len: number, data: T): number {
    return this.addOne(addr, len, 0, data);
  }

  /** virtqueue_add_inbuf() of one buffer. */
  addInbuf(addr: number, len: number, data: T): number {
    return this.addOne(addr, len, VRING_DESC_F_WRITE, data);
  }

  private addOne(addr: number, len: number, flags: number, data: T): number {
    if (this.broken) return -EIO;
    if (this.numFree < 1) {
      if (!(flags & VRING_DESC_F_WRITE)) this.notify?.();
      return -ENOSPC;
    }
    const head = this.freeHead;
    this.writeDesc(this.descOff, head, addr, len, flags, this.extraNext[head] as number);
    this.extraFlags[head] = flags;
    this.freeHead = this.extraNext[head] as number;
    this.viaIndirect[head] = 0;
    this.numFree--;
    this.data[head] = data;
    this.publish(head);
    return 0;
  }

  private publish(head: number): void {
    const slot = this.availIdxShadow & (this.num - 1);
    this.v.setUint16(this.availOff + 4 + 2 * slot, head, true);
    this.availIdxShadow = (this.availIdxShadow + 1) & 0xffff;
    this.v.setUint16(this.availOff + 2, this.availIdxShadow, true);
    this.numAdded++;
    // Keep the event-idx window meaningful: kick after 0xffff additions at most.
    if (this.numAdded === 0xffff && this.kickPrepare()) this.notify?.();
  }

  /** virtqueue_kick_prepare(): whether the device wants a notification now. */
  kickPrepare(): boolean {
    const newIdx = this.availIdxShadow;
    const old = (newIdx - this.numAdded) & 0xffff;
    this.numAdded = 0;
    if (this.eventIdx) {
      const availEvent = this.v.getUint16(this.usedOff + 4 + 8 * this.num, true);
      return vring_need_event(availEvent, newIdx, old);
    }
    return !(this.v.getUint16(this.usedOff, true) & VRING_USED_F_NO_NOTIFY);
  }

  /** Used entries not yet collected. */
  moreUsed(): boolean {
    return this.lastUsedIdx !== this.v.getUint16(this.usedOff + 2, true);
  }

  private badRing(why: string): undefined {
    this.broken = why;
    return undefined;
  }

  /**
   * virtqueue_get_buf(): the token of the next used buffer (length in lastLen), or undefined.
   * A used id out of range or not a head breaks the queue, as BAD_RING does.
   */
  getBuf(): T | undefined {
    if (this.broken || !this.moreUsed()) return undefined;
    const slot = this.lastUsedIdx & (this.num - 1);
    const id = this.v.getUint32(this.usedOff + 4 + 8 * slot, true);
    this.lastLen = this.v.getUint32(this.usedOff + 8 + 8 * slot, true);
    if (id >= this.num) return this.badRing(`id ${id} out of range`);
    const data = this.data[id];
    if (data === undefined) return this.badRing(`id ${id} is not a head!`);
    this.detach(id);
    this.lastUsedIdx = (this.lastUsedIdx + 1) & 0xffff;
    // The kernel stores used_event whenever callbacks are on, event idx or not.
    if (!(this.availFlagsShadow & VRING_AVAIL_F_NO_INTERRUPT)) {
      this.v.setUint16(this.availOff + 4 + 2 * this.num, this.lastUsedIdx, true);
    }
    return data;
  }

  /** detach_buf_split(): returns a chain's descriptors to the free list. */
  private detach(head: number): void {
    this.data[head] = undefined;
    let i = head;
    let n = 1;
    if (!this.viaIndirect[head]) {
      while ((this.extraFlags[i] as number) & VRING_DESC_F_NEXT) {
        i = this.extraNext[i] as number;
        n++;
      }
    }
    this.extraNext[i] = this.freeHead;
    this.freeHead = head;
    this.numFree += n;
  }

  /** virtqueue_disable_cb(). */
  disableCb(): void {
    if (this.availFlagsShadow & VRING_AVAIL_F_NO_INTERRUPT) return;
    this.availFlagsShadow |= VRING_AVAIL_F_NO_INTERRUPT;
    if (this.eventIdx) this.v.setUint16(this.availOff + 4 + 2 * this.num, 0, true);
    else this.v.setUint16(this.availOff, this.availFlagsShadow, true);
  }

  /** virtqueue_enable_cb(): false if used buffers are already pending (poll before sleeping). */
  enableCb(): boolean {
    if (this.availFlagsShadow & VRING_AVAIL_F_NO_INTERRUPT) {
      this.availFlagsShadow &= ~VRING_AVAIL_F_NO_INTERRUPT;
      if (!this.eventIdx) this.v.setUint16(this.availOff, this.availFlagsShadow, true);
    }
    this.v.setUint16(this.availOff + 4 + 2 * this.num, this.lastUsedIdx, true);
    return !this.moreUsed();
  }

  /** virtqueue_detach_unused_buf(): takes back a buffer the device never used (after reset). */
  detachUnusedBuf(): T | undefined {
    for (let i = 0; i < this.num; i++) {
      const data = this.data[i];
      if (data === undefined) continue;
      this.detach(i);
      this.availIdxShadow = (this.availIdxShadow - 1) & 0xffff;
      this.v.setUint16(this.availOff + 2, this.availIdxShadow, true);
      return data;
    }
    return undefined;
  }

  /** In-flight buffers (added, not yet collected). */
  get inFlight(): number {
    let n = 0;
    for (const d of this.data) if (d !== undefined) n++;
    return n;
  }
}
