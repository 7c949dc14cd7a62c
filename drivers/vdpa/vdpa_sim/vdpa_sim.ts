// Models: drivers/vdpa/vdpa_sim/vdpa_sim.c, the simulator core: both op sets (set_map when
// batch_mapping, else dma_map/dma_unmap with get_vq_size), groups and address spaces with
// identity passthrough maps, suspend/resume with the pending kick, compat_reset and CLEAN_MAP,
// generation, use_va with bind_mm, and the config get/set rules. The device class (net, blk)
// fills in a VdpaSimDevAttr.
// Profile differences (Linux 6.1): no use_va (PA mode: rings and buffers are host physical
// memory), no resume/reset_map/compat_reset/bind_mm/get_backend_features/get_vq_size, kicks are
// not remembered while suspended, every reset restores passthrough maps.
// Deviations: the worker is the host scheduler; an unbound VA ring faults (the kthread has no
// mm), like the kernel worker that skips work without an mm.

import { EINVAL, EOPNOTSUPP, VIRTIO_F_ACCESS_PLATFORM, VHOST_BACKEND_F_ENABLE_AFTER_DRIVER_OK, VIRTIO_CONFIG_S_DRIVER_OK } from '../../../uapi/index.js';
import { U64_MAX, VHOST_MAP_RW, VhostIotlb } from '../../../lib/iotlb/index.js';
import type { AddressSpace, MemorySpace, PhysMem, Span } from '../../../lib/mm/index.js';
import type { ExtAck, NlMsgWriter } from '../../../lib/netlink/index.js';
import { type KthreadWorker, Work } from '../../../lib/sched/index.js';
import { Vringh, type VringhHead, VringhKiov } from '../../../lib/virtio/index.js';
import type { NetAttachment } from '../../../lib/net/index.js';
import type { KernelProfile } from '../../profile.js';
import type { VdpaBus, VdpaDevice, VdpaMgmtDev } from '../vdpa.js';
import {
  VDPA_RESET_F_CLEAN_MAP,
  type VdpaCallback,
  type VdpaConfigOps,
  type VdpaDevSetConfig,
  type VdpaIovaRange,
  type VdpaVqState,
} from '../vdpa_ops.js';

export const VDPASIM_QUEUE_ALIGN = 4096;
export const VDPASIM_QUEUE_MAX = 256;
export const VDPASIM_VENDOR_ID = 0;
/** VDPASIM_FEATURES: ANY_LAYOUT | VERSION_1 | ACCESS_PLATFORM. */
export const VDPASIM_FEATURES = (1n << 27n) | (1n << 32n) | (1n << 33n);

/** Module parameters of vdpa_sim. */
export interface VdpaSimParams {
  /** batch_mapping: 1 = set_map op set (default), 0 = dma_map/dma_unmap. */
  batchMapping: boolean;
  /** use_va (upstream only; ignored where the profile has no such parameter). */
  useVa: boolean;
  /** max_iotlb_entries: passed to the device IOTLBs, not enforced (no RETIRE flag). */
  maxIotlbEntries: number;
}

export const DEFAULT_VDPASIM_PARAMS: VdpaSimParams = { batchMapping: true, useVa: true, maxIotlbEntries: 2048 };

/** struct vdpasim_dev_attr: what a device class provides. */
export interface VdpaSimDevAttr {
  mgmtDev: VdpaMgmtDev;
  name: string;
  supportedFeatures: bigint;
  configSize: number;
  nvqs: number;
  ngroups: number;
  nas: number;
  /** Virtio device id. */
  id: number;
  workFn(sim: VdpaSim): void;
  /** The vq's group, when the class has its own layout (default vdpasimGetVqGroup). */
  getVqGroup?(sim: VdpaSim, idx: number): number;
  /** Reacts to features the driver set (after they are stored). */
  setFeatures?(sim: VdpaSim, features: bigint): void;
  /** Resets class state with the device. */
  reset?(sim: VdpaSim): void;
  /** The class raises config interrupts (the core otherwise ignores set_config_cb). */
  configInterrupts?: boolean;
  /** Refreshes the config buffer before a read. */
  getConfig?(sim: VdpaSim, config: Uint8Array): void;
  /** Reacts to a write into the config buffer. */
  setConfig?(sim: VdpaSim, config: Uint8Array): void;
  getStats?(sim: VdpaSim, idx: number, msg: NlMsgWriter, extack: ExtAck): number;
  free?(sim: VdpaSim): void;
}

/** vdpasim_get_vq_group(): RX and TX belong to group 0, the CVQ (vq 2) to group 1, for every class. */
export const vdpasimGetVqGroup = (idx: number): number => (idx === 2 ? 1 : 0);

/** What the simulator needs from the host. */
export interface VdpaSimEnv {
  bus: VdpaBus;
  worker: KthreadWorker;
  /** Host physical memory (PA mode). */
  phys: PhysMem;
  profile: KernelProfile;
  params: VdpaSimParams;
}

/** The address space of a kthread without an mm: every access faults. */
const NO_MM: MemorySpace = {
  generation: 0,
  span(_addr: number, _len: number, _write: boolean, _out: Span): boolean {
    return false;
  },
};

/** struct vdpasim_virtqueue. */
export class VdpaSimVirtqueue {
  readonly vring = new Vringh();
  readonly outIov = new VringhKiov();
  readonly inIov = new VringhKiov();
  readonly head: VringhHead = { head: 0 };
  descAddr = 0n;
  driverAddr = 0n;
  deviceAddr = 0n;
  num = 0;
  ready = false;
  cb: ((priv: unknown) => void) | undefined;
  private: unknown;
  /** The device IOTLB the ring translates through (vringh->iotlb). */
  iotlb: VhostIotlb | undefined;
  /** The memory that IOTLB's addresses point into. */
  mem: MemorySpace = NO_MM;
  /** The ring was set up in VA mode (vringh_init_iotlb_va): translated addresses are user VAs. */
  va = false;

  constructor(readonly index: number) {}

  /** vringh_set_iotlb() with the memory space the translated addresses live in. */
  setIotlb(iotlb: VhostIotlb, mem: MemorySpace): void {
    this.iotlb = iotlb;
    this.mem = mem;
    this.vring.setIotlb(iotlb, mem);
  }

  /** vdpasim_vq_notify(): the used-buffer notification. */
  notify(): void {
    this.cb?.(this.private);
  }
}

/** struct vdpasim. */
export class VdpaSim {
  readonly vqs: VdpaSimVirtqueue[];
  readonly iommu: VhostIotlb[];
  readonly iommuPt: boolean[];
  readonly config: Uint8Array;
  features = 0n;
  status = 0;
  running = false;
  pendingKick = false;
  generation = 0;
  /** The ASID each group is bound to (vdpasim keeps it in the vq's vringh->iotlb). */
  private readonly groupAsid: number[];
  /** The owner mm bound by bind_mm (VA mode). */
  mmBound: AddressSpace | undefined;
  readonly useVa: boolean;
  readonly work: Work;
  readonly ops: VdpaConfigOps;
  /** Set once allocated on the bus. */
  vdpa!: VdpaDevice;
  /** A net class's link to its medium. */
  net: NetAttachment | undefined;
  private configCb: VdpaCallback | undefined;

  private constructor(
    readonly env: VdpaSimEnv,
    readonly attr: VdpaSimDevAttr,
  ) {
    const { profile, params } = env;
    this.useVa = profile.vdpaSim.useVaParam && params.useVa;
    this.config = new Uint8Array(attr.configSize);
    this.vqs = Array.from({ length: attr.nvqs }, (_, i) => new VdpaSimVirtqueue(i));
    this.iommu = [];
    this.iommuPt = [];
    this.groupAsid = new Array<number>(attr.ngroups).fill(0);
    for (let i = 0; i < attr.nas; i++) {
      const tlb = new VhostIotlb(params.maxIotlbEntries, 0);
      tlb.addRange(0n, U64_MAX, 0n, VHOST_MAP_RW);
      this.iommu.push(tlb);
      this.iommuPt.push(true);
    }
    for (const vq of this.vqs) vq.setIotlb(this.iommu[0] as VhostIotlb, this.memOf(vq));
    this.work = new Work(() => this.workFn(), `vDPA sim worker: ${attr.name}`);
    this.ops = this.buildOps();
  }

  /**
   * vdpasim_create(): -EINVAL when provisioned features are not a subset of the supported
   * ones, else the simulator with its vdpa device allocated (not yet registered).
   */
  static create(env: VdpaSimEnv, attr: VdpaSimDevAttr, config: VdpaDevSetConfig, featuresMaskBit: bigint): VdpaSim | number {
    let a = attr;
    if (config.mask & featuresMaskBit) {
      if (config.deviceFeatures & ~attr.supportedFeatures) return -EINVAL;
      a = { ...attr, supportedFeatures: config.deviceFeatures };
    }
    const sim = new VdpaSim(env, a);
    const vdpa = env.bus.allocDevice({ ops: sim.ops, ngroups: a.ngroups, nas: a.nas, name: a.name, useVa: sim.useVa });
    if (typeof vdpa === 'number') return vdpa;
    sim.vdpa = vdpa;
    vdpa.parent = sim;
    vdpa.mdev = a.mgmtDev;
    return sim;
  }

  /** What a vq's translated addresses point into: the bound mm for VA rings, else physical memory. */
  private memOf(vq: VdpaSimVirtqueue): MemorySpace {
    return vq.va ? (this.mmBound ?? NO_MM) : this.env.phys;
  }

  /** The config-change interrupt of a class that raises them. */
  configChanged(): void {
    this.configCb?.callback?.(this.configCb.private);
  }

  /** The group of vq `idx`. */
  vqGroup(idx: number): number {
    return this.attr.getVqGroup ? this.attr.getVqGroup(this, idx) : vdpasimGetVqGroup(idx);
  }

  /** The ASID `group` is bound to (read-only view for introspection). */
  asidOfGroup(group: number): number {
    return this.groupAsid[group] ?? 0;
  }

  /** vdpasim_schedule_work(). */
  scheduleWork(): void {
    this.env.worker.queueWork(this.work);
  }

  /** vdpasim_work_fn(): the class's work, in the bound mm. */
  private workFn(): void {
    this.attr.workFn(this);
  }

  private queueReady(idx: number): void {
    const vq = this.vqs[idx] as VdpaSimVirtqueue;
    const lastAvail = vq.vring.lastAvailIdx;
    vq.va = this.useVa && this.mmBound !== undefined;
    vq.vring.init(this.features, vq.num, vq.descAddr, vq.driverAddr, vq.deviceAddr, vq.va);
    vq.setIotlb(vq.iotlb as VhostIotlb, this.memOf(vq));
    vq.vring.lastAvailIdx = lastAvail;
    // No in-flight descriptors at a migration destination: used starts where avail does.
    vq.vring.lastUsedIdx = lastAvail;
  }

  private vqReset(vq: VdpaSimVirtqueue): void {
    vq.ready = false;
    vq.descAddr = vq.driverAddr = vq.deviceAddr = 0n;
    vq.cb = undefined;
    vq.private = undefined;
    vq.va = false;
    vq.vring.init(this.attr.supportedFeatures, VDPASIM_QUEUE_MAX, 0n, 0n, 0n, false);
  }

  /** vdpasim_do_reset(). */
  private doReset(flags: number): void {
    for (const vq of this.vqs) {
      this.vqReset(vq);
      vq.setIotlb(this.iommu[0] as VhostIotlb, this.memOf(vq));
    }
    this.groupAsid.fill(0);
    // 6.1 has no compat_reset: every reset cleans the maps.
    if (flags & VDPA_RESET_F_CLEAN_MAP || !this.env.profile.vdpaSim.compatReset) {
      for (let i = 0; i < this.attr.nas; i++) this.restorePassthrough(i);
    }
    this.running = false;
    this.features = 0n;
    this.status = 0;
    this.generation++;
    this.attr.reset?.(this);
  }

  private restorePassthrough(asid: number): void {
    const tlb = this.iommu[asid] as VhostIotlb;
    tlb.reset();
    tlb.addRange(0n, U64_MAX, 0n, VHOST_MAP_RW);
    this.iommuPt[asid] = true;
  }

  // ---- ops -----------------------------------------------------------------------------------

  private buildOps(): VdpaConfigOps {
    const sim = this.env.profile.vdpaSim;
    const vq = (idx: number): VdpaSimVirtqueue => this.vqs[idx] as VdpaSimVirtqueue;
    const ops: VdpaConfigOps = {
      setVqAddress: (idx, desc, driver, device) => {
        const q = vq(idx);
        q.descAddr = desc;
        q.driverAddr = driver;
        q.deviceAddr = device;
        return 0;
      },
      setVqNum: (idx, num) => {
        vq(idx).num = num;
      },
      kickVq: (idx) => this.kickVq(idx),
      setVqCb: (idx, cb: VdpaCallback) => {
        vq(idx).cb = cb.callback;
        vq(idx).private = cb.private;
      },
      setVqReady: (idx, ready) => {
        const q = vq(idx);
        const old = q.ready;
        q.ready = ready;
        if (ready && !old) this.queueReady(idx);
      },
      getVqReady: (idx) => vq(idx).ready,
      setVqState: (idx, state: VdpaVqState) => {
        vq(idx).vring.lastAvailIdx = state.availIndex & 0xffff;
        return 0;
      },
      getVqState: (idx, state: VdpaVqState) => {
        state.availIndex = vq(idx).vring.lastAvailIdx;
        return 0;
      },
      getVqAlign: () => VDPASIM_QUEUE_ALIGN,
      getVqGroup: (idx) => this.vqGroup(idx),
      getDeviceFeatures: () => this.attr.supportedFeatures,
      setDriverFeatures: (features) => {
        // DMA mapping must be done by the driver.
        if (!(features & (1n << BigInt(VIRTIO_F_ACCESS_PLATFORM)))) return -EINVAL;
        this.features = features & this.attr.supportedFeatures;
        this.attr.setFeatures?.(this, this.features);
        // A class whose vq groups follow the features (the netx CVQ) keeps each group's ASID.
        if (this.attr.getVqGroup) for (let g = 0; g < this.attr.ngroups; g++) this.applyGroupAsid(g);
        return 0;
      },
      getDriverFeatures: () => this.features,
      // Config interrupts are not supported, unless the class raises them.
      setConfigCb: (cb) => {
        if (this.attr.configInterrupts) this.configCb = cb;
      },
      getVqNumMax: () => VDPASIM_QUEUE_MAX,
      getDeviceId: () => this.attr.id,
      getVendorId: () => VDPASIM_VENDOR_ID,
      getStatus: () => this.status,
      setStatus: (status) => {
        this.status = status;
        this.running = (status & VIRTIO_CONFIG_S_DRIVER_OK) !== 0;
      },
      reset: () => this.compatReset(0),
      suspend: () => {
        this.running = false;
        return 0;
      },
      getConfigSize: () => this.attr.configSize,
      getConfig: (offset, buf) => {
        if (offset + buf.length > this.attr.configSize) return;
        this.attr.getConfig?.(this, this.config);
        buf.set(this.config.subarray(offset, offset + buf.length));
      },
      setConfig: (offset, buf) => {
        if (offset + buf.length > this.attr.configSize) return;
        // The class's live state first, so a partial write does not bring back stale bytes.
        this.attr.getConfig?.(this, this.config);
        this.config.set(buf, offset);
        this.attr.setConfig?.(this, this.config);
      },
      getGeneration: () => this.generation,
      getIovaRange: (): VdpaIovaRange => ({ first: 0n, last: U64_MAX }),
      setGroupAsid: (group, asid) => this.setGroupAsid(group, asid),
      free: () => {
        this.env.worker.cancelWorkSync(this.work);
        this.attr.free?.(this);
        for (const tlb of this.iommu) tlb.reset();
      },
    };
    if (sim.netStats) {
      ops.getVendorVqStats = (idx, msg, extack) => this.attr.getStats?.(this, idx, msg, extack) ?? -EOPNOTSUPP;
    }
    if (sim.backendFeatures) ops.getBackendFeatures = () => 1n << BigInt(VHOST_BACKEND_F_ENABLE_AFTER_DRIVER_OK);
    if (sim.compatReset) ops.compatReset = (flags) => this.compatReset(flags);
    if (sim.resume) ops.resume = () => this.resume();
    if (sim.resetMap) ops.resetMap = (asid) => this.resetMap(asid);
    if (this.useVa) {
      ops.bindMm = (mm) => this.changeMm(mm);
      ops.unbindMm = () => void this.changeMm(undefined);
    }
    if (this.env.params.batchMapping) {
      ops.setMap = (asid, iotlb) => this.setMap(asid, iotlb);
    } else {
      ops.dmaMap = (asid, iova, size, pa, perm, opaque) => this.dmaMap(asid, iova, size, pa, perm, opaque);
      ops.dmaUnmap = (asid, iova, size) => this.dmaUnmap(asid, iova, size);
      if (sim.vqSize) ops.getVqSize = (idx) => (this.status & VIRTIO_CONFIG_S_DRIVER_OK ? vq(idx).num : VDPASIM_QUEUE_MAX);
    }
    return ops;
  }

  private kickVq(idx: number): void {
    const vq = this.vqs[idx] as VdpaSimVirtqueue;
    // Kicks while suspended are remembered for resume (6.3); 6.1 leaves them to the work's check.
    if (this.env.profile.vdpaSim.resume && !this.running && this.status & VIRTIO_CONFIG_S_DRIVER_OK) {
      this.pendingKick = true;
      return;
    }
    if (vq.ready) this.scheduleWork();
  }

  private compatReset(flags: number): number {
    this.status = 0;
    this.doReset(flags);
    return 0;
  }

  private resume(): number {
    this.running = true;
    if (this.pendingKick) {
      // Process pending descriptors.
      for (let i = 0; i < this.attr.nvqs; i++) this.kickVq(i);
      this.pendingKick = false;
    }
    return 0;
  }

  /** vdpasim_set_group_asid(): group == ngroups passes the kernel's check and changes nothing. */
  private setGroupAsid(group: number, asid: number): number {
    if (group > this.attr.ngroups || asid >= this.attr.nas) return -EINVAL;
    if (group === this.attr.ngroups) return 0;
    this.groupAsid[group] = asid;
    this.applyGroupAsid(group);
    return 0;
  }

  /** Points every vq of `group` at its ASID's IOTLB. */
  private applyGroupAsid(group: number): void {
    const iommu = this.iommu[this.groupAsid[group] ?? 0] as VhostIotlb;
    for (let i = 0; i < this.attr.nvqs; i++) {
      const vq = this.vqs[i] as VdpaSimVirtqueue;
      if (this.vqGroup(i) === group) vq.setIotlb(iommu, this.memOf(vq));
    }
  }

  private setMap(asid: number, iotlb: VhostIotlb): number {
    if (asid >= this.attr.nas) return -EINVAL;
    const dst = this.iommu[asid] as VhostIotlb;
    dst.reset();
    this.iommuPt[asid] = false;
    for (let map = iotlb.itreeFirst(0n, U64_MAX); map; map = iotlb.itreeNext(map, 0n, U64_MAX)) {
      const r = dst.addRange(map.start, map.last, map.addr, map.perm);
      if (r) {
        dst.reset();
        return r;
      }
    }
    return 0;
  }

  private resetMap(asid: number): number {
    if (asid >= this.attr.nas) return -EINVAL;
    if (!this.iommuPt[asid]) this.restorePassthrough(asid);
    return 0;
  }

  private dmaMap(asid: number, iova: bigint, size: bigint, pa: bigint, perm: number, opaque: unknown): number {
    if (asid >= this.attr.nas) return -EINVAL;
    const tlb = this.iommu[asid] as VhostIotlb;
    if (this.iommuPt[asid]) {
      tlb.reset();
      this.iommuPt[asid] = false;
    }
    return tlb.addRangeCtx(iova, BigInt.asUintN(64, iova + size - 1n), pa, perm, opaque);
  }

  private dmaUnmap(asid: number, iova: bigint, size: bigint): number {
    if (asid >= this.attr.nas) return -EINVAL;
    const tlb = this.iommu[asid] as VhostIotlb;
    if (this.iommuPt[asid]) {
      tlb.reset();
      this.iommuPt[asid] = false;
    }
    tlb.delRange(iova, BigInt.asUintN(64, iova + size - 1n));
    return 0;
  }

  /** bind_mm / unbind_mm, run synchronously on the worker: rings in VA mode follow the new mm. */
  private changeMm(mm: AddressSpace | undefined): number {
    this.mmBound = mm;
    for (const vq of this.vqs) if (vq.iotlb) vq.setIotlb(vq.iotlb, this.memOf(vq));
    return 0;
  }
}
