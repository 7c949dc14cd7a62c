// Models: QEMU hw/virtio/virtio.c, the guest-facing side of a virtio device: per queue the ring
// the guest programmed (size and GPAs, enable), the avail index QEMU tracks (last_avail_idx,
// used_idx), its host notifier (the ioeventfd the guest's notify signals) and guest notifier (the
// irqfd that interrupts the guest); and, for queues QEMU itself serves (a shadowed CVQ), popping
// and pushing elements in guest memory.
// Deviations: split rings only; element access goes through the same ring walker the kernel's
// vringh uses (identical split-ring rules), over an identity view of guest RAM; a malformed ring
// marks the queue broken, which is what virtio_error() does to the device.

import { VIRTIO_F_VERSION_1 } from '../../uapi/index.js';
import { VHOST_MAP_RW, VhostIotlb } from '../../lib/iotlb/index.js';
import type { MemorySpace, Span } from '../../lib/mm/index.js';
import type { UserEventFd } from '../../lib/vhost_vdpa/index.js';
import { type VringhHead, Vringh, VringhKiov } from '../../lib/virtio/index.js';
import type { GuestRam } from './memory.js';

/** Guest RAM as the VMM reads it: GPA -> its RAM bytes (QEMU's address_space_map of RAM). */
export class GuestRamSpace implements MemorySpace {
  readonly generation = 0;
  readonly iotlb = new VhostIotlb();

  constructor(private readonly ram: GuestRam) {
    for (const s of ram.sections) this.iotlb.addRange(BigInt(s.gpa), BigInt(s.gpa + s.size - 1), BigInt(s.gpa), VHOST_MAP_RW);
  }

  span(addr: number, len: number, _write: boolean, out: Span): boolean {
    for (const s of this.ram.sections) {
      if (addr < s.gpa || addr >= s.gpa + s.size) continue;
      out.buf = this.ram.bytes;
      out.off = addr;
      out.len = Math.min(len, s.gpa + s.size - addr);
      return true;
    }
    return false;
  }
}

/** One guest element: its head, readable segments (GPA, length) and writable segments. */
export interface VirtQueueElement {
  head: number;
  /** Readable segments as [gpa, len] pairs, in order. */
  out: number[];
  in: VringhKiov;
}

/** struct VirtQueue. */
export class VirtQueue {
  num = 0;
  desc = 0;
  avail = 0;
  used = 0;
  enabled = false;
  /** The guest's interrupt for this queue (its MSI-X vector handler). */
  vector: (() => void) | undefined;
  hostNotifier: UserEventFd | undefined;
  guestNotifier: UserEventFd | undefined;
  /** last_avail_idx as QEMU tracks it for vhost (the base handed to and read back from the device). */
  lastAvailIdx = 0;
  /** Device-side access, for queues QEMU serves itself. */
  private readonly vrh = new Vringh();
  private readonly outIov = new VringhKiov();
  private readonly elem: VirtQueueElement = { head: 0, out: [], in: new VringhKiov() };
  private space: GuestRamSpace | undefined;
  private readonly headOut: VringhHead = { head: 0 };
  broken: string | undefined;

  constructor(
    readonly index: number,
    readonly numMax: number,
  ) {}

  /** Whether the guest set this queue up (virtio_queue_get_desc_addr() != 0). */
  get ready(): boolean {
    return this.desc !== 0 && this.num !== 0;
  }

  /** Starts serving the guest ring from `lastAvailIdx` (virtio_queue_set_addr + vring_init). */
  attach(features: bigint, space: GuestRamSpace): void {
    this.vrh.init(features | (1n << BigInt(VIRTIO_F_VERSION_1)), this.num, BigInt(this.desc), BigInt(this.avail), BigInt(this.used), false);
    this.vrh.setIotlb(space.iotlb, space);
    this.space = space;
    this.vrh.lastAvailIdx = this.lastAvailIdx;
    this.vrh.lastUsedIdx = this.lastAvailIdx;
    this.broken = undefined;
  }

  /** virtqueue_pop(): the next guest element, or undefined (empty, or the ring is broken). */
  pop(): VirtQueueElement | undefined {
    if (this.broken) return undefined;
    const r = this.vrh.getdesc(this.outIov, this.elem.in, this.headOut);
    if (r < 0) this.broken = `virtqueue_pop: error ${r}`;
    if (r <= 0) return undefined;
    const e = this.elem;
    e.head = this.headOut.head;
    e.out.length = 0;
    for (let k = 0; k < this.outIov.used; k++) e.out.push((this.outIov.hi[k] as number) * 4294967296 + (this.outIov.lo[k] as number), this.outIov.len[k] as number);
    this.lastAvailIdx = this.vrh.lastAvailIdx;
    return this.elem;
  }

  /** iov_to_buf(out_sg, offset): copies readable bytes from `offset` into `dst`; the count copied. */
  readOut(e: VirtQueueElement, dst: Uint8Array, offset = 0): number {
    const space = this.space;
    if (!space) return 0;
    const span = { buf: dst, off: 0, len: 0 };
    let done = 0;
    let skip = offset;
    for (let k = 0; k < e.out.length && done < dst.length; k += 2) {
      let gpa = e.out[k] as number;
      let len = e.out[k + 1] as number;
      const s = Math.min(skip, len);
      gpa += s;
      len -= s;
      skip -= s;
      while (len > 0 && done < dst.length) {
        if (!space.span(gpa, Math.min(len, dst.length - done), false, span)) return done;
        dst.set(span.buf.subarray(span.off, span.off + span.len), done);
        done += span.len;
        gpa += span.len;
        len -= span.len;
      }
    }
    return done;
  }

  /** iov_size(out_sg). */
  outSize(e: VirtQueueElement): number {
    let n = 0;
    for (let k = 1; k < e.out.length; k += 2) n += e.out[k] as number;
    return n;
  }

  /** virtqueue_push(): writes `data` into the writable segments, publishes `len` = bytes written. */
  push(e: VirtQueueElement, data: Uint8Array): number {
    const w = this.vrh.push(e.in, data);
    const len = w < 0 ? 0 : w;
    if (this.vrh.complete(e.head, len) < 0) this.broken = 'virtqueue_push: used ring unwritable';
    return len;
  }

  /** virtio_queue_set_notification(vq, 0): the guest need not notify. */
  disableNotification(): void {
    this.vrh.notifyDisable();
  }

  /**
   * virtio_queue_set_notification(vq, 1) and the emptiness re-check that closes the race:
   * true when the guest published nothing new meanwhile.
   */
  enableNotification(): boolean {
    return this.vrh.notifyEnable();
  }

  /** virtio_notify(): interrupt the guest if it wants one. */
  notify(): void {
    if (this.vrh.needNotify() > 0) this.vector?.();
  }

  /** virtio_queue_update_used_idx(): the guest-visible used index. */
  usedIdx(space: GuestRamSpace): number {
    const out = { buf: new Uint8Array(0), off: 0, len: 0 };
    if (!space.span(this.used + 2, 2, false, out) || out.len < 2) return this.lastAvailIdx;
    return (out.buf[out.off] as number) | ((out.buf[out.off + 1] as number) << 8);
  }

  reset(): void {
    this.num = 0;
    this.desc = this.avail = this.used = 0;
    this.enabled = false;
    this.lastAvailIdx = 0;
    this.vector = undefined;
    this.broken = undefined;
  }
}
