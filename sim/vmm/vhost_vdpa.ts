// Models: QEMU hw/virtio/vhost-vdpa.c (the vhost-vdpa backend: shared device state, IOTLB
// messages, the memory listener, status handling, SVQ setup) together with the parts of
// hw/virtio/vhost.c it runs under (vhost_dev_init/start/stop, vhost_virtqueue_start/stop), as
// the net backend drives them (one VhostVdpaDev per queue pair plus one for the CVQ, all sharing
// one device fd, IOVA tree and memory listener) and as vhost-vdpa-device-pci does (one dev for
// every vq, vrings enabled before DRIVER_OK, call fds unmasked after the start).
// The memory listener is registered when the last dev starts and dropped at reset, as QEMU did
// until its 2025-05 series moved registration to init (that order maps guest RAM before the CVQ
// isolation probe's SET_STATUS(0), which on a parent without IOTLB_PERSIST drops the maps).
// Deviations: no vIOMMU, no host-notifier (doorbell) mmap, no masked notifiers (vhost_dev_init
// sets none as call fd: a frontend without use_guest_notifier_mask gets the guest's call fds when
// a queue starts, one with it by virtqueueUnmask()); IOTLB writes and ioctls go through the typed
// client, whose errors are turned back into -errno here.

import {
  EFAULT,
  EIO,
  VHOST_BACKEND_F_IOTLB_ASID,
  VHOST_BACKEND_F_IOTLB_BATCH,
  VHOST_BACKEND_F_IOTLB_MSG_V2,
  VHOST_BACKEND_F_SUSPEND,
  VHOST_F_LOG_ALL,
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_F_ACCESS_PLATFORM,
  VIRTIO_RING_F_EVENT_IDX,
} from '../../uapi/index.js';
import { VhostIovaTree, IOMMU_RO, IOMMU_RW, IOVA_OK, type DMAMap } from '../../lib/iova/index.js';
import { VhostError, type VhostVdpa, type UserEventFd } from '../../lib/vhost_vdpa/index.js';
import type { GuestRam, MemoryListener, RamSection } from './memory.js';
import type { VmmPlatform } from './platform.js';
import { type SvqOps, VhostShadowVirtqueue, svqTransportError } from './shadow_virtqueue.js';
import type { GuestRamSpace, VirtQueue } from './virtio.js';

const bit = (n: number): bigint => 1n << BigInt(n);
export const VHOST_VDPA_GUEST_PA_ASID = 0;
/** What QEMU acks of the backend features (bits 1-4). */
export const VHOST_VDPA_BACKEND_CAP =
  bit(VHOST_BACKEND_F_IOTLB_MSG_V2) | bit(VHOST_BACKEND_F_IOTLB_BATCH) | bit(VHOST_BACKEND_F_IOTLB_ASID) | bit(VHOST_BACKEND_F_SUSPEND);
const PAGE = 4096;

/** 0, or -errno of a client call. */
export function vhostCall(f: () => void): number {
  try {
    f();
    return 0;
  } catch (e) {
    if (e instanceof VhostError) return -e.errno;
    throw e;
  }
}

/** The virtio device a vhost device serves (QEMU's VirtIODevice as vhost sees it). */
export interface VhostFrontend {
  readonly queues: readonly VirtQueue[];
  readonly ramSpace: GuestRamSpace;
  /** Guest-negotiated features. */
  readonly guestFeatures: bigint;
  /**
   * vdev->use_guest_notifier_mask: a queue's call fd waits for virtqueueUnmask() instead of being
   * set at its start (the net frontend leaves this unset and hands the guest notifier at start).
   */
  readonly useGuestNotifierMask?: boolean;
}

/** VhostVDPAShared: one per device fd. */
export class VhostVdpaShared implements MemoryListener {
  readonly name = 'vhost-vdpa';
  readonly iovaTree: VhostIovaTree;
  backendCap = 0n;
  private batchBeginSent = false;
  /** Data queues are shadowed: guest RAM is mapped at allocated IOVAs. */
  shadowData = false;
  suspended = false;

  constructor(
    readonly fd: VhostVdpa,
    readonly iovaRange: { first: bigint; last: bigint },
    readonly ram: GuestRam,
  ) {
    this.iovaTree = new VhostIovaTree(iovaRange.first, iovaRange.last);
  }

  /** vhost_vdpa_dma_map(): one IOTLB UPDATE; 0 or -EIO. */
  dmaMap(asid: number, iova: bigint, size: bigint, hva: number, readonly: boolean): number {
    return vhostCall(() => this.fd.iotlbUpdate({ asid, iova, size, uaddr: BigInt(hva), perm: readonly ? 1 : 3 })) ? -EIO : 0;
  }

  /** vhost_vdpa_dma_unmap(): one IOTLB INVALIDATE; 0 or -EIO. */
  dmaUnmap(asid: number, iova: bigint, size: bigint): number {
    return vhostCall(() => this.fd.iotlbInvalidate({ asid, iova, size })) ? -EIO : 0;
  }

  /** vhost_vdpa_iotlb_batch_begin_once(). */
  private batchBeginOnce(): void {
    if (this.backendCap & bit(VHOST_BACKEND_F_IOTLB_BATCH) && !this.batchBeginSent) vhostCall(() => this.fd.iotlbBatchBegin(0));
    this.batchBeginSent = true;
  }

  /** vhost_vdpa_listener_commit(). */
  commit(): void {
    if (!(this.backendCap & bit(VHOST_BACKEND_F_IOTLB_BATCH)) || !this.batchBeginSent) return;
    vhostCall(() => this.fd.iotlbBatchEnd(0));
    this.batchBeginSent = false;
  }

  /** The page-trimmed IOVA range of a section, or undefined if it is skipped. */
  private trim(s: RamSection): { iova: bigint; size: bigint; hva: number } | undefined {
    const start = Math.ceil(s.gpa / PAGE) * PAGE;
    const end = Math.floor((s.gpa + s.size) / PAGE) * PAGE;
    if (BigInt(s.gpa) < this.iovaRange.first || BigInt(end) - 1n > this.iovaRange.last || start >= end) return undefined;
    return { iova: BigInt(start), size: BigInt(end - start), hva: s.hva + (start - s.gpa) };
  }

  /** vhost_vdpa_listener_region_add(). */
  regionAdd(s: RamSection): void {
    const t = this.trim(s);
    if (!t) return;
    let iova = t.iova;
    if (this.shadowData) {
      const map: DMAMap = { iova: 0n, translated_addr: 0n, size: t.size - 1n, perm: s.readonly ? IOMMU_RO : IOMMU_RW };
      if (this.iovaTree.mapAllocGpa(map, t.iova) !== IOVA_OK) return;
      iova = map.iova;
    }
    this.batchBeginOnce();
    this.dmaMap(VHOST_VDPA_GUEST_PA_ASID, iova, t.size, t.hva, s.readonly);
  }

  /** vhost_vdpa_listener_region_del(). */
  regionDel(s: RamSection): void {
    const t = this.trim(s);
    if (!t) return;
    let iova = t.iova;
    if (this.shadowData) {
      const map = this.iovaTree.findGpa({ translated_addr: t.iova, size: t.size - 1n });
      if (!map) return;
      iova = map.iova;
      this.iovaTree.removeGpa(map);
    }
    this.batchBeginOnce();
    this.dmaUnmap(VHOST_VDPA_GUEST_PA_ASID, iova, t.size);
  }
}

/** struct vhost_vdpa with its struct vhost_dev. */
export class VhostVdpaDev {
  /** First vq of this dev and one past the last vq of the whole device. */
  vqIndex: number;
  vqIndexEnd = 0;
  /** Device features as vhost reports them (+ VHOST_F_LOG_ALL). */
  features = 0n;
  /** Features to set (acked by the guest, filtered by the net backend's feature bits). */
  ackedFeatures = 0n;
  backendCap = 0n;
  addressSpaceId = VHOST_VDPA_GUEST_PA_ASID;
  shadowVqsEnabled: boolean;
  readonly shadowVqs: VhostShadowVirtqueue[];
  migrationBlocker: string | undefined;
  started = false;
  frontend: VhostFrontend | undefined;

  constructor(
    readonly shared: VhostVdpaShared,
    readonly platform: VmmPlatform,
    /** Queue pair index (the CVQ dev gets the number of data pairs). */
    readonly index: number,
    readonly nvqs: number,
    svq: boolean,
    shadowVqOps: SvqOps | undefined,
  ) {
    this.vqIndex = 2 * index;
    this.shadowVqsEnabled = svq;
    this.shadowVqs = Array.from({ length: nvqs }, () => new VhostShadowVirtqueue(platform.us, shadowVqOps, () => platform.relax()));
  }

  private get fd(): VhostVdpa {
    return this.shared.fd;
  }

  /** vhost_vdpa_first_dev(). */
  get firstDev(): boolean {
    return this.index === 0;
  }

  /** vhost_vdpa_last_dev(). */
  get lastDev(): boolean {
    return this.vqIndex + this.nvqs === this.vqIndexEnd;
  }

  // ---- init ------------------------------------------------------------------------------------

  /** vhost_dev_init(): backend init, SET_OWNER, GET_FEATURES; 0 or -errno. */
  init(): number {
    let r = this.backendInit();
    if (r) return r;
    r = this.setOwner();
    if (r) return r;
    return vhostCall(() => {
      this.features = this.fd.getFeatures() | bit(VHOST_F_LOG_ALL);
    });
  }

  /**
   * vhost_vdpa_init(): on the first dev, the SVQ feature check unless a blocker is already set
   * (one more GET_FEATURES), then ACKNOWLEDGE|DRIVER.
   */
  private backendInit(): number {
    if (!this.firstDev) return 0;
    if (this.migrationBlocker === undefined && !this.shadowVqsEnabled) {
      let features = 0n;
      const r = vhostCall(() => (features = this.fd.getFeatures()));
      if (r) return r;
      this.migrationBlocker = svqTransportError(features);
    }
    return this.addStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
  }

  /** vhost_vdpa_set_owner(): SET_OWNER on the first dev. */
  private setOwner(): number {
    if (!this.firstDev) return 0;
    return vhostCall(() => this.fd.setOwner());
  }

  /** vhost_vdpa_add_status(): GET_STATUS, SET_STATUS with the bits added, GET_STATUS; 0 or -errno. */
  addStatus(status: number): number {
    let s = 0;
    let r = vhostCall(() => {
      s = this.fd.getStatus();
    });
    if (r) return r;
    if ((s & status) === status) return 0;
    s |= status;
    r = vhostCall(() => this.fd.setStatus(s));
    if (r) return r;
    r = vhostCall(() => {
      s = this.fd.getStatus();
    });
    if (r) return r;
    return s & status ? 0 : -EIO;
  }

  // ---- start -----------------------------------------------------------------------------------

  /** vhost_dev_start(); with `vrings` every vq is enabled before the device starts; 0 or -errno. */
  start(frontend: VhostFrontend, vrings = false): number {
    this.started = true;
    this.frontend = frontend;
    let r = this.setDevFeatures();
    if (r) return r;
    for (let i = 0; i < this.nvqs; i++) {
      r = this.virtqueueStart(this.vqIndex + i);
      if (r) return r;
    }
    if (vrings) {
      r = this.enableVrings();
      if (r) return r;
    }
    return this.devStart(true);
  }

  /** vhost_dev_set_features(): the acked features with ACCESS_PLATFORM forced, then the backend cap. */
  private setDevFeatures(): number {
    const r = this.setFeatures(this.ackedFeatures | bit(VIRTIO_F_ACCESS_PLATFORM));
    return r || this.setBackendCap();
  }

  /** vhost_vdpa_set_features(): first dev only; LOG_ALL never reaches a shadowed device. */
  private setFeatures(features: bigint): number {
    if (!this.firstDev) return 0;
    const f = this.shadowVqsEnabled ? features & ~bit(VHOST_F_LOG_ALL) : features;
    const r = vhostCall(() => this.fd.setFeatures(f));
    return r || this.addStatus(VIRTIO_CONFIG_S_FEATURES_OK);
  }

  /** vhost_vdpa_set_backend_cap(): read, mask to bits 1-4, SET from the first dev. */
  private setBackendCap(): number {
    let features = 0n;
    if (vhostCall(() => (features = this.fd.getBackendFeatures()))) return -EFAULT;
    features &= VHOST_VDPA_BACKEND_CAP;
    if (this.firstDev && vhostCall(() => this.fd.setBackendFeatures(features))) return -EFAULT;
    this.backendCap = features;
    this.shared.backendCap = features;
    return 0;
  }

  /** vhost_virtqueue_start(): NUM, BASE, ADDR, KICK, CALL (the last four as shadowing decides). */
  private virtqueueStart(idx: number): number {
    const vq = (this.frontend as VhostFrontend).queues[idx];
    if (!vq?.ready) return 0;
    let r = vhostCall(() => this.fd.setVringNum(idx, vq.num));
    if (r) return r;
    if (!this.shadowVqsEnabled) {
      r = vhostCall(() => this.fd.setVringBase(idx, vq.lastAvailIdx));
      if (r) return r;
      r = vhostCall(() => this.fd.setVringAddr(idx, { desc: BigInt(vq.desc), avail: BigInt(vq.avail), used: BigInt(vq.used) }));
      if (r) return r;
    }
    const kick = vq.hostNotifier as UserEventFd;
    const call = vq.guestNotifier as UserEventFd;
    if (this.shadowVqsEnabled) {
      const svq = this.shadowVqs[idx - this.vqIndex] as VhostShadowVirtqueue;
      svq.vq = vq;
      return svq.setSvqKickFd((fd, h) => this.platform.setFdHandler(fd, h), kick);
    }
    r = vhostCall(() => this.fd.setVringKick(idx, kick.fd));
    if (r || (this.frontend as VhostFrontend).useGuestNotifierMask) return r;
    return vhostCall(() => this.fd.setVringCall(idx, call.fd));
  }

  /**
   * vhost_virtqueue_mask(mask = false): the queue's guest notifier becomes its call fd. A shadowed
   * queue keeps its own call fd (the SVQ signals the guest notifier itself).
   */
  virtqueueUnmask(idx: number): number {
    const call = (this.frontend as VhostFrontend).queues[idx]?.guestNotifier;
    if (!call || this.shadowVqsEnabled) return 0;
    return vhostCall(() => this.fd.setVringCall(idx, call.fd));
  }

  /** vhost_vdpa_dev_start(): SVQs up; the last dev re-registers the listener and sets DRIVER_OK. */
  private devStart(started: boolean): number {
    if (started) {
      if (!this.svqsStart()) return -1;
    } else {
      this.suspend();
      this.svqsStop();
    }
    if (!this.lastDev || !started) return 0;
    this.shared.ram.register(this.shared);
    return this.addStatus(VIRTIO_CONFIG_S_DRIVER_OK);
  }

  /** vhost_vdpa_svqs_start(): per vq BASE 0, own kick/call fds, rings mapped, ADDR at the IOVAs. */
  private svqsStart(): boolean {
    if (!this.shadowVqsEnabled) return true;
    const frontend = this.frontend as VhostFrontend;
    for (let i = 0; i < this.nvqs; i++) {
      const idx = this.vqIndex + i;
      const svq = this.shadowVqs[i] as VhostShadowVirtqueue;
      const vq = frontend.queues[idx] as VirtQueue;
      if (vhostCall(() => this.fd.setVringBase(idx, 0))) return false;
      if (this.svqSetFds(svq, idx)) return false;
      vq.attach(frontend.guestFeatures, frontend.ramSpace);
      if (svq.start(vq, this.shared.iovaTree, (frontend.guestFeatures & bit(VIRTIO_RING_F_EVENT_IDX)) !== 0n)) return false;
      const addr = this.svqMapRings(svq, vq.num);
      if (!addr) return false;
      if (vhostCall(() => this.fd.setVringAddr(idx, addr))) return false;
    }
    return true;
  }

  /** vhost_vdpa_svq_set_fds(): fresh hdev_kick/hdev_call eventfds given to the device. */
  private svqSetFds(svq: VhostShadowVirtqueue, idx: number): number {
    const kick = this.platform.us.eventfd(0, 0);
    const call = this.platform.us.eventfd(0, 0);
    if (typeof kick === 'number') return kick;
    if (typeof call === 'number') return call;
    svq.hdevKick = kick;
    svq.hdevCall = call;
    let r = vhostCall(() => this.fd.setVringKick(idx, kick.fd));
    if (r) return r;
    r = vhostCall(() => this.fd.setVringCall(idx, call.fd));
    if (r) return r;
    const vq = (this.frontend as VhostFrontend).queues[idx] as VirtQueue;
    const h = this.platform.setFdHandler(call.fd, () => {
      call.read();
      svq.flush(vq.guestNotifier);
    });
    return typeof h === 'number' ? h : 0;
  }

  /** vhost_vdpa_svq_map_ring(): an IOVA from the tree, then the IOTLB update in this dev's ASID. */
  mapBuf(hva: number, size: number, readonly: boolean): bigint | number {
    const map: DMAMap = { iova: 0n, translated_addr: 0n, size: BigInt(size - 1), perm: readonly ? IOMMU_RO : IOMMU_RW };
    const r = this.shared.iovaTree.mapAlloc(map, BigInt(hva));
    if (r !== IOVA_OK) return r;
    if (this.shared.dmaMap(this.addressSpaceId, map.iova, BigInt(size), hva, readonly)) {
      this.shared.iovaTree.remove(map);
      return -EIO;
    }
    return map.iova;
  }

  /** vhost_vdpa_svq_unmap_ring() / vhost_vdpa_cvq_unmap_buf(). */
  unmapBuf(hva: number): void {
    const map = this.shared.iovaTree.findIova({ translated_addr: BigInt(hva), size: 0n });
    if (!map) return;
    const size = ((map.size + 1n + BigInt(PAGE) - 1n) / BigInt(PAGE)) * BigInt(PAGE);
    this.shared.dmaUnmap(this.addressSpaceId, map.iova, size);
    this.shared.iovaTree.remove(map);
  }

  /** vhost_vdpa_svq_map_rings(): driver area RO, device area RW; the vring addresses as IOVAs. */
  private svqMapRings(svq: VhostShadowVirtqueue, num: number): { desc: bigint; avail: bigint; used: bigint } | undefined {
    const driver = this.mapBuf(svq.driverArea, VhostShadowVirtqueue.driverAreaSize(num), true);
    if (typeof driver === 'number') return undefined;
    const device = this.mapBuf(svq.deviceArea, VhostShadowVirtqueue.deviceAreaSize(num), false);
    if (typeof device === 'number') {
      this.unmapBuf(svq.driverArea);
      return undefined;
    }
    return { desc: driver, avail: driver + BigInt(16 * num), used: device };
  }

  // ---- stop ------------------------------------------------------------------------------------

  /** vhost_dev_stop(vrings = false). */
  stop(): void {
    const frontend = this.frontend as VhostFrontend;
    this.devStart(false);
    for (let i = 0; i < this.nvqs; i++) this.virtqueueStop(frontend, this.vqIndex + i);
    this.resetStatus();
    this.started = false;
    this.frontend = undefined;
  }

  /** vhost_vdpa_suspend(): the first dev suspends if it can, else resets. */
  private suspend(): void {
    if (!this.firstDev) return;
    if (this.backendCap & bit(VHOST_BACKEND_F_SUSPEND) && !vhostCall(() => this.fd.suspend())) {
      this.shared.suspended = true;
      return;
    }
    this.resetDevice();
  }

  /** vhost_vdpa_reset_device(). */
  resetDevice(): number {
    const r = vhostCall(() => this.fd.setStatus(0));
    this.shared.suspended = false;
    return r;
  }

  /** vhost_vdpa_svqs_stop(): rings unmapped from the device, fds closed. */
  private svqsStop(): void {
    if (!this.shadowVqsEnabled) return;
    for (const svq of this.shadowVqs) {
      if (!svq.vring) continue;
      const driver = svq.driverArea;
      const device = svq.deviceArea;
      svq.stop();
      this.unmapBuf(driver);
      this.unmapBuf(device);
      svq.hdevKick?.close();
      svq.hdevCall?.close();
      svq.hdevKick = svq.hdevCall = undefined;
    }
  }

  /** vhost_virtqueue_stop(): the base from the device if suspended, else from the guest's used idx. */
  private virtqueueStop(frontend: VhostFrontend, idx: number): void {
    const vq = frontend.queues[idx];
    if (!vq?.ready) return;
    if (this.shadowVqsEnabled) return;
    let base = -1;
    if (this.shared.suspended) vhostCall(() => (base = this.fd.getVringBase(idx)));
    vq.lastAvailIdx = base >= 0 ? base & 0xffff : vq.usedIdx(frontend.ramSpace);
  }

  /** vhost_vdpa_reset_status(): the last dev resets, re-acknowledges and drops the listener. */
  private resetStatus(): void {
    if (!this.lastDev) return;
    this.resetDevice();
    this.addStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
    this.shared.ram.unregister(this.shared);
  }

  /** vhost_vdpa_set_vring_ready(). */
  setVringReady(idx: number): number {
    return vhostCall(() => this.fd.setVringEnable(idx, 1));
  }

  /** vhost_vdpa_set_vring_enable(dev, 1): every vq of this dev, in order. */
  private enableVrings(): number {
    for (let i = 0; i < this.nvqs; i++) {
      const r = this.setVringReady(this.vqIndex + i);
      if (r) return r;
    }
    return 0;
  }
}
