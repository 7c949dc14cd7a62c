// Models: QEMU hw/virtio/vhost-shadow-virtqueue.c, the shadow virtqueue: a split ring QEMU owns
// and offers to the device (driver area read-only, device area read-write, mapped at IOVAs from
// the shared IOVA tree), its own kick/call eventfds towards the device, the guest kick handler
// that hands guest elements to an avail handler (the CVQ's), the used-buffer flush that signals
// the guest unconditionally, and vhost_svq_poll's bounded busy wait.
// Deviations: only elements without a guest owner are forwarded (what the CVQ does: the avail
// handler copies the command and answers the guest itself); relaying guest data buffers comes with
// data-queue shadowing. The 10 s busy-wait cap is a cap on machine steps.

import {
  EINVAL,
  ENOSPC,
  VIRTIO_F_ACCESS_PLATFORM,
  VIRTIO_F_VERSION_1,
  VIRTIO_RING_F_EVENT_IDX,
  VIRTIO_RING_F_INDIRECT_DESC,
} from '../../uapi/index.js';
import type { VhostIovaTree } from '../../lib/iova/index.js';
import type { UserEventFd, UserMemory, UserSpace } from '../../lib/vhost_vdpa/index.js';
import { type Sg, VirtqueueSplit } from '../../lib/virtio/index.js';
import type { VirtQueue, VirtQueueElement } from './virtio.js';

const PAGE = 4096;
const pageUp = (n: number): number => Math.ceil(n / PAGE) * PAGE;
/** Machine steps vhost_svq_poll waits for one completion (QEMU: 10 s of busy waiting). */
export const SVQ_POLL_STEPS = 1_000_000;

/** The transport feature range (VIRTIO_TRANSPORT_F_START..END). */
export const VIRTIO_TRANSPORT_F_START = 28;
export const VIRTIO_TRANSPORT_F_END = 42;
const bit = (n: number): bigint => 1n << BigInt(n);
/** Transport bits SVQ can shadow. */
const SVQ_TRANSPORT_OK = bit(VIRTIO_RING_F_INDIRECT_DESC) | bit(VIRTIO_RING_F_EVENT_IDX) | bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_ACCESS_PLATFORM);

/**
 * vhost_svq_valid_features(): transport bits must be ones SVQ handles, VERSION_1 and
 * ACCESS_PLATFORM must be there. undefined when valid, else QEMU's error text.
 */
export function svqTransportError(features: bigint): string | undefined {
  let ok = features;
  for (let b = VIRTIO_TRANSPORT_F_START; b < VIRTIO_TRANSPORT_F_END; b++) if (ok & bit(b) && !(SVQ_TRANSPORT_OK & bit(b))) ok &= ~bit(b);
  ok |= bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_ACCESS_PLATFORM);
  return ok === features ? undefined : `SVQ Invalid device feature flags, offer: 0x${features.toString(16)}, ok: 0x${ok.toString(16)}`;
}

/** A buffer QEMU owns: host virtual address and length. */
export interface HostBuf {
  hva: number;
  len: number;
}

export interface SvqOps {
  /** Takes one guest element; 0, or -errno (the element is then dropped). */
  availHandler(svq: VhostShadowVirtqueue, elem: VirtQueueElement): number;
}

/** The token of a descriptor chain QEMU injected (no guest element owns it). */
const INJECTED = 0;

/** struct VhostShadowVirtqueue. */
export class VhostShadowVirtqueue {
  vring: VirtqueueSplit<number> | undefined;
  private ring: UserMemory | undefined;
  hdevKick: UserEventFd | undefined;
  hdevCall: UserEventFd | undefined;
  /** The guest-facing queue and the fds between it and SVQ. */
  vq: VirtQueue | undefined;
  private removeKick: (() => void) | undefined;
  private iovaTree: VhostIovaTree | undefined;
  private readonly sgs: Sg[] = [];

  constructor(
    readonly us: UserSpace,
    readonly ops: SvqOps | undefined,
    private readonly relax: () => boolean,
  ) {}

  /** vhost_svq_driver_area_size(): descriptors, avail ring and used_event, page-rounded. */
  static driverAreaSize(num: number): number {
    return pageUp(16 * num + 4 + 2 * num + 2);
  }

  /** vhost_svq_device_area_size(): used ring and avail_event, page-rounded. */
  static deviceAreaSize(num: number): number {
    return pageUp(4 + 8 * num + 2);
  }

  /** The HVAs of the rings (vhost_svq_get_vring_addr). */
  get driverArea(): number {
    return (this.ring as UserMemory).addr;
  }

  get deviceArea(): number {
    return this.driverArea + VhostShadowVirtqueue.driverAreaSize((this.vq as VirtQueue).num);
  }

  /**
   * vhost_svq_start(): a fresh shadow ring of the guest queue's size in shared memory; 0 or
   * -errno. Its addresses are set in the device by the caller once mapped.
   */
  start(vq: VirtQueue, iovaTree: VhostIovaTree, eventIdx: boolean): number {
    const num = vq.num;
    const driver = VhostShadowVirtqueue.driverAreaSize(num);
    const ring = this.us.mmap(driver + VhostShadowVirtqueue.deviceAreaSize(num), { shared: true });
    if (typeof ring === 'number') return ring;
    this.ring = ring;
    this.vq = vq;
    this.iovaTree = iovaTree;
    this.vring = new VirtqueueSplit<number>({
      mem: ring.bytes,
      memBase: ring.addr,
      num,
      desc: ring.addr,
      avail: ring.addr + 16 * num,
      used: ring.addr + driver,
      eventIdx,
    });
    return 0;
  }

  /** vhost_svq_set_svq_kick_fd(): polls the guest's host notifier, after one self-kick. */
  setSvqKickFd(setHandler: (fd: number, h: () => void) => (() => void) | number, kick: UserEventFd): number {
    this.removeKick?.();
    const r = setHandler(kick.fd, () => this.handleGuestKick(kick));
    if (typeof r === 'number') return r;
    this.removeKick = r;
    // Buffers the guest queued before SVQ took over are picked up.
    kick.write(1n);
    return 0;
  }

  /** vhost_handle_guest_kick(): drain the guest queue through the avail handler. */
  private handleGuestKick(kick: UserEventFd): void {
    kick.read();
    const vq = this.vq;
    if (!vq || !this.ops) return;
    do {
      vq.disableNotification();
      for (let elem = vq.pop(); elem; elem = vq.pop()) {
        // A failed element is dropped; guest notifications stay off, as QEMU leaves them.
        if (this.ops.availHandler(this, elem) < 0) return;
      }
    } while (!vq.enableNotification());
  }

  /** Translates QEMU's own buffers to IOVAs (vhost_svq_translate_addr, host-only tree). */
  private translate(bufs: readonly HostBuf[]): boolean {
    const tree = this.iovaTree;
    if (!tree) return false;
    for (const b of bufs) {
      const map = tree.findIova({ translated_addr: BigInt(b.hva), size: BigInt(b.len - 1) });
      if (!map || BigInt(b.hva + b.len - 1) > map.translated_addr + map.size) return false;
      const iova = map.iova + (BigInt(b.hva) - map.translated_addr);
      this.sgs.push({ addr: Number(iova), len: b.len });
    }
    return true;
  }

  /**
   * vhost_svq_add() of a chain QEMU injects: out buffers then in buffers, kicking the device if
   * it wants; 0, -ENOSPC (not enough free descriptors) or -EINVAL (untranslatable buffer).
   */
  add(out: readonly HostBuf[], inb: readonly HostBuf[]): number {
    const vring = this.vring;
    if (!vring) return -EINVAL;
    if (out.length + inb.length > vring.numFree) return -ENOSPC;
    this.sgs.length = 0;
    if (!this.translate(out) || !this.translate(inb)) return -EINVAL;
    const r = vring.addSgs(this.sgs, out.length, INJECTED);
    if (r < 0) return r;
    if (vring.kickPrepare()) this.hdevKick?.write(1n);
    return 0;
  }

  /** vhost_svq_available_slots(). */
  get availableSlots(): number {
    return this.vring?.numFree ?? 0;
  }

  /** vhost_svq_poll(): waits for `n` completions; the total length the device wrote. */
  poll(n: number): number {
    const vring = this.vring;
    if (!vring) return 0;
    let len = 0;
    for (let i = 0; i < n; i++) {
      let steps = 0;
      while (!vring.moreUsed() && vring.broken === undefined && steps++ < SVQ_POLL_STEPS) {
        if (!this.relax()) break;
      }
      if (vring.getBuf() === undefined) return len;
      len += vring.lastLen;
    }
    return len;
  }

  /** vhost_svq_flush(): consumes what the device returned, then signals the guest regardless. */
  flush(guestCall: UserEventFd | undefined): void {
    const vring = this.vring;
    if (vring) while (vring.getBuf() !== undefined);
    guestCall?.write(1n);
  }

  /** vhost_svq_push_elem(): answers a guest element (no interrupt: the next flush signals). */
  pushElem(elem: VirtQueueElement, data: Uint8Array): number {
    return (this.vq as VirtQueue).push(elem, data);
  }

  /** vhost_svq_stop(): stop polling the guest, forget the ring. */
  stop(): void {
    this.removeKick?.();
    this.removeKick = undefined;
    if (this.ring) this.us.munmap(this.ring);
    this.ring = undefined;
    this.vring = undefined;
  }
}
