// Models: drivers/vhost/vdpa.c, the vhost-vdpa bus driver and its character device
// /dev/vhost-vdpa-N: probe/remove with IDA minors, single open with reset, release (reset,
// address spaces dropped, eventfds released), the ioctl dispatch (SET_BACKEND_FEATURES first,
// the direct cases, then vhost_dev_ioctl, then the vring path, ENOIOCTLCMD -> ENOTTY at the
// VFS), SET_STATUS and compat reset, SUSPEND/RESUME, config access, config call, the doorbell
// mmap checks, the platform IOMMU domain of parents without set_map/dma_map (allocated at open
// on a cache-coherent IOMMU, else ENOTSUPP; its aperture is the IOVA range), and the per-vq
// ioctls around vhost_vring_ioctl. IOTLB handling is in vdpa_iotlb.ts; the dirty-log proposal
// (proposal-lm-log only) in vdpa_log.ts.
// Profile differences (the kernel profile): which backend bits and ioctls exist, DRIVER_OK
// rules for SUSPEND/RESUME and SET_VRING_ADDR/BASE, compat_reset, bind_mm, the doorbell vq check.
// Deviations: removing a device whose file is open does not block the caller: the node goes at
// once and the rest of the teardown happens at the last close (the kernel waits for that close).
// No irq bypass (there is no KVM to feed).

import {
  EBUSY,
  EFAULT,
  EINVAL,
  EIO,
  ENOBUFS,
  ENOIOCTLCMD,
  ENOTSUPP,
  EOPNOTSUPP,
  PROT_READ,
  VHOST_BACKEND_F_DESC_ASID,
  VHOST_BACKEND_F_DIRTY_LOG,
  VHOST_BACKEND_F_IOTLB_ASID,
  VHOST_BACKEND_F_IOTLB_BATCH,
  VHOST_BACKEND_F_IOTLB_MSG_V2,
  VHOST_BACKEND_F_IOTLB_PERSIST,
  VHOST_BACKEND_F_RESUME,
  VHOST_BACKEND_F_SUSPEND,
  VHOST_FILE_UNBIND,
  VHOST_GET_BACKEND_FEATURES,
  VHOST_GET_FEATURES,
  VHOST_GET_VRING_BASE,
  VHOST_SET_BACKEND_FEATURES,
  VHOST_SET_FEATURES,
  VHOST_SET_LOG_BASE,
  VHOST_SET_LOG_FD,
  VHOST_SET_OWNER,
  VHOST_SET_VRING_ADDR,
  VHOST_SET_VRING_BASE,
  VHOST_SET_VRING_CALL,
  VHOST_SET_VRING_NUM,
  VHOST_VDPA_GET_AS_NUM,
  VHOST_VDPA_GET_CONFIG,
  VHOST_VDPA_GET_CONFIG_SIZE,
  VHOST_VDPA_GET_DEVICE_ID,
  VHOST_VDPA_GET_GROUP_NUM,
  VHOST_VDPA_GET_IOVA_RANGE,
  VHOST_VDPA_GET_STATUS,
  VHOST_VDPA_GET_VQS_COUNT,
  VHOST_VDPA_GET_VRING_DESC_GROUP,
  VHOST_VDPA_GET_VRING_GROUP,
  VHOST_VDPA_GET_VRING_NUM,
  VHOST_VDPA_GET_VRING_SIZE,
  VHOST_VDPA_LOG_START,
  VHOST_VDPA_LOG_STOP,
  VHOST_VDPA_RESUME,
  VHOST_VDPA_SET_CONFIG,
  VHOST_VDPA_SET_CONFIG_CALL,
  VHOST_VDPA_SET_GROUP_ASID,
  VHOST_VDPA_SET_STATUS,
  VHOST_VDPA_SET_VRING_ENABLE,
  VHOST_VDPA_SUSPEND,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_F_RING_PACKED,
  dataView,
} from '../../uapi/index.js';
import type { EventFdCtx } from '../../lib/eventfd.js';
import { type CharDevices, type File, type FileOperations, type Task, eventfdCtxFdget } from '../../lib/fs/index.js';
import { Ida } from '../../lib/ida.js';
import { U64_MAX, VhostIotlb } from '../../lib/iotlb/index.js';
import { type PhysMem, PAGE_SIZE, copyFromUser, copyToUser, getUser, putUser, userPtr } from '../../lib/mm/index.js';
import type { KernelLog } from '../../lib/printk.js';
import { tracepoint } from '../../lib/trace.js';
import { IOMMU_CAP_CACHE_COHERENCY, type IommuDomain } from '../iommu/iommu.js';
import type { KernelProfile } from '../profile.js';
import { type VdpaDevice, type VdpaDriver, vdpaGetConfig, vdpaReset, vdpaSetConfig, vdpaSetFeatures, vdpaSetStatus } from '../vdpa/vdpa.js';
import { NO_CALLBACK, VDPA_RESET_F_CLEAN_MAP, type VdpaIovaRange, type VdpaVqState } from '../vdpa/vdpa_ops.js';
import { iotlbUnmap, processIotlbMsg } from './vdpa_iotlb.js';
import { type VhostVdpaLogArea, vhostVdpaLogStart, vhostVdpaLogStop } from './vdpa_log.js';
import { VhostDev, VhostVirtqueue, vhostBackendHasFeature, vhostDevIoctl, vhostHasFeature, vhostVringIoctl } from './vhost.js';
import { vhostChrWriteIter } from './iotlb_msg.js';

const traceIoctl = tracepoint<{ dev: string; cmd: number; ret: number }>('vdpa:vhost:ioctl');
const traceKick = tracepoint<{ dev: string; vq: number }>('vdpa:vhost:kick');
const traceCall = tracepoint<{ dev: string; vq: number }>('vdpa:vhost:call');

/** VHOST_VDPA_DEV_MAX: 1 << MINORBITS minors. */
export const VHOST_VDPA_DEV_MAX = 1 << 20;

const bit = (n: number): bigint => 1n << BigInt(n);
/** VHOST_VDPA_BACKEND_FEATURES. */
const VHOST_VDPA_BACKEND_FEATURES = bit(VHOST_BACKEND_F_IOTLB_MSG_V2) | bit(VHOST_BACKEND_F_IOTLB_BATCH) | bit(VHOST_BACKEND_F_IOTLB_ASID);

export interface VhostVdpaEnv {
  chrdev: CharDevices;
  profile: KernelProfile;
  /** Host physical memory, where PA-mode pins live. */
  phys: PhysMem;
  klog: KernelLog;
}

/** struct vhost_vdpa_as. */
export interface VhostVdpaAs {
  readonly id: number;
  readonly iotlb: VhostIotlb;
}

const scratch = new Uint8Array(16);
const sv = dataView(scratch);

/** struct vhost_vdpa: one per bound vdpa device. */
export class VhostVdpa {
  opened = false;
  /** The device went away while open; teardown finishes at release. */
  removed = false;
  /** vdev.vqs exist between open and release. */
  vdev: VhostDev | undefined;
  readonly vqs: VhostVirtqueue[];
  readonly as = new Map<number, VhostVdpaAs>();
  configCtx: EventFdCtx | undefined;
  inBatch = false;
  batchAsid = 0;
  range: VdpaIovaRange = { first: 0n, last: 0n };
  suspended = false;
  /** The platform IOMMU domain of a parent that does no translation itself. */
  domain: IommuDomain | undefined;
  /** NOT UPSTREAM (proposal-lm-log): where the parent is logging, if it is. */
  logArea: VhostVdpaLogArea | undefined;
  readonly nvqs: number;
  readonly virtioId: number;

  constructor(
    readonly driver: VhostVdpaDriver,
    readonly vdpa: VdpaDevice,
    readonly minor: number,
  ) {
    this.nvqs = vdpa.nvqs;
    this.virtioId = vdpa.config.getDeviceId();
    this.vqs = Array.from({ length: this.nvqs }, (_, i) => new VhostVirtqueue(i, () => this.handleKick(i)));
  }

  get name(): string {
    return `vhost-vdpa-${this.minor}`;
  }

  /** handle_vq_kick(): a kick eventfd woke up. */
  private handleKick(vq: number): void {
    if (traceKick.active) traceKick.publish({ dev: this.name, vq });
    this.vdpa.config.kickVq(vq);
  }

  /** vhost_vdpa_virtqueue_cb(): the parent's used-buffer notification. */
  private virtqueueCb(vq: VhostVirtqueue): void {
    if (traceCall.active) traceCall.publish({ dev: this.name, vq: vq.index });
    vq.callCtx?.signal();
  }

  get profile(): KernelProfile {
    return this.driver.env.profile;
  }

  get phys(): PhysMem {
    return this.driver.env.phys;
  }

  /** dev_err/dev_info on the vhost-vdpa device. */
  log(msg: string): void {
    this.driver.env.klog.printk(` ${this.name}: ${msg}`);
  }

  private get dev(): VhostDev {
    return this.vdev as VhostDev;
  }

  // ---- address spaces ------------------------------------------------------------------------

  /** vhost_vdpa_find_alloc_as(): undefined when asid >= nas. */
  findAllocAs(asid: number): VhostVdpaAs | undefined {
    const found = this.as.get(asid);
    if (found) return found;
    if (asid >= this.vdpa.nas) return undefined;
    const as: VhostVdpaAs = { id: asid, iotlb: new VhostIotlb(0, 0) };
    this.as.set(asid, as);
    return as;
  }

  /** vhost_vdpa_remove_as(): unmaps everything, then lets the parent restore its default map. */
  private removeAs(asid: number): void {
    const as = this.as.get(asid);
    if (!as) return;
    this.as.delete(asid);
    iotlbUnmap(this, as.iotlb, 0n, (1n << 64n) - 1n, asid);
    this.vdpa.config.resetMap?.(asid);
  }

  // ---- reset, open, release ------------------------------------------------------------------

  /** _compat_vdpa_reset(): CLEAN_MAP unless IOTLB_PERSIST is acked (profiles with compat_reset). */
  private compatReset(): number {
    this.suspended = false;
    this.logArea = undefined;
    let flags = 0;
    if (this.profile.vhostVdpa.compatReset && this.vdev) {
      flags = vhostBackendHasFeature(this.vqs[0] as VhostVirtqueue, VHOST_BACKEND_F_IOTLB_PERSIST) ? 0 : VDPA_RESET_F_CLEAN_MAP;
    }
    return vdpaReset(this.vdpa, flags);
  }

  /** vhost_vdpa_reset(). */
  private reset(): number {
    this.inBatch = false;
    return this.compatReset();
  }

  /** vhost_vdpa_cleanup(). */
  private cleanup(): void {
    for (let asid = 0; asid < this.vdpa.nas; asid++) this.removeAs(asid);
    this.freeDomain();
    this.vdev?.cleanup();
    this.vdev = undefined;
  }

  /** vhost_vdpa_alloc_domain(): parents that DMA through the platform IOMMU get a domain. */
  private allocDomain(): number {
    const ops = this.vdpa.config;
    if (ops.setMap || ops.dmaMap) return 0;
    const dmaDev = this.vdpa.dmaDev;
    if (!dmaDev?.capable(IOMMU_CAP_CACHE_COHERENCY)) {
      this.log('Failed to allocate domain, device is not IOMMU cache coherent capable');
      return -ENOTSUPP;
    }
    const domain = dmaDev.domainAlloc();
    const r = dmaDev.attach(domain);
    if (r) return r;
    this.domain = domain;
    return 0;
  }

  /** vhost_vdpa_free_domain(). */
  private freeDomain(): void {
    if (this.domain) this.vdpa.dmaDev?.detach(this.domain);
    this.domain = undefined;
  }

  /** vhost_vdpa_set_iova_range(): the parent's, else the domain's aperture, else everything. */
  private setIovaRange(): void {
    const ops = this.vdpa.config;
    const g = this.domain?.geometry;
    if (ops.getIovaRange) this.range = ops.getIovaRange();
    else if (g?.forceAperture) this.range = { first: g.apertureStart, last: g.apertureEnd };
    else this.range = { first: 0n, last: U64_MAX };
  }

  open(file: File): number {
    if (this.opened) return -EBUSY;
    this.opened = true;
    const r = this.reset();
    if (r) {
      this.opened = false;
      return r;
    }
    for (const vq of this.vqs) vq.reset();
    this.vdev = new VhostDev(this.vqs, (d, task, asid, msg) => processIotlbMsg(this, d, task, asid, msg), this.profile);
    const d = this.allocDomain();
    if (d) {
      this.cleanup();
      this.opened = false;
      return d;
    }
    this.setIovaRange();
    file.privateData = this;
    return 0;
  }

  release(file: File): void {
    file.privateData = undefined;
    this.reset();
    this.dev.stop();
    if (this.profile.vhostVdpa.bindMm && this.vdpa.useVa) this.vdpa.config.unbindMm?.();
    this.configCtx = undefined;
    this.cleanup();
    this.opened = false;
    if (this.removed) this.driver.finishRemove(this);
  }

  // ---- ioctls --------------------------------------------------------------------------------

  private canSuspend(): boolean {
    return this.vdpa.config.suspend !== undefined;
  }

  private canResume(): boolean {
    return this.vdpa.config.resume !== undefined;
  }

  private hasDescGroup(): boolean {
    return this.vdpa.config.getVqDescGroup !== undefined;
  }

  /** vhost_vdpa_has_persistent_map(). */
  private hasPersistentMap(): boolean {
    const ops = this.vdpa.config;
    return (!ops.setMap && !ops.dmaMap) || ops.resetMap !== undefined || ((ops.getBackendFeatures?.() ?? 0n) & bit(VHOST_BACKEND_F_IOTLB_PERSIST)) !== 0n;
  }

  /** GET_BACKEND_FEATURES: what vhost-vdpa and the parent offer, within what the profile knows. */
  backendFeatures(): bigint {
    let f = VHOST_VDPA_BACKEND_FEATURES;
    if (this.canSuspend()) f |= bit(VHOST_BACKEND_F_SUSPEND);
    if (this.canResume()) f |= bit(VHOST_BACKEND_F_RESUME);
    if (this.hasDescGroup()) f |= bit(VHOST_BACKEND_F_DESC_ASID);
    if (this.hasPersistentMap()) f |= bit(VHOST_BACKEND_F_IOTLB_PERSIST);
    if (this.vdpa.config.logStart) f |= bit(VHOST_BACKEND_F_DIRTY_LOG);
    f |= this.vdpa.config.getBackendFeatures?.() ?? 0n;
    return f & this.profile.vhostVdpa.knownBackendFeatures;
  }

  private setBackendFeatures(task: Task, argp: number): number {
    const features = getUser(task.mm, argp, 8);
    if (features === undefined) return -EFAULT;
    const has = (b: number): boolean => (features & bit(b)) !== 0n;
    if (features & ~this.profile.vhostVdpa.knownBackendFeatures) return -EOPNOTSUPP;
    if (has(VHOST_BACKEND_F_SUSPEND) && !this.canSuspend()) return -EOPNOTSUPP;
    if (has(VHOST_BACKEND_F_RESUME) && !this.canResume()) return -EOPNOTSUPP;
    if (has(VHOST_BACKEND_F_DESC_ASID) && !has(VHOST_BACKEND_F_IOTLB_ASID)) return -EINVAL;
    if (has(VHOST_BACKEND_F_DESC_ASID) && !this.hasDescGroup()) return -EOPNOTSUPP;
    if (has(VHOST_BACKEND_F_IOTLB_PERSIST) && !this.hasPersistentMap()) return -EOPNOTSUPP;
    if (has(VHOST_BACKEND_F_DIRTY_LOG) && !this.vdpa.config.logStart) return -EOPNOTSUPP;
    this.dev.setBackendFeatures(features);
    return 0;
  }

  /** vhost_vdpa_set_status(): bits may only be added; 0 resets. */
  private setStatus(task: Task, argp: number): number {
    const status = getUser(task.mm, argp, 1);
    if (status === undefined) return -EFAULT;
    const old = this.vdpa.config.getStatus();
    if (status !== 0 && old & ~status) return -EINVAL;
    if (status === 0) return this.compatReset();
    vdpaSetStatus(this.vdpa, status);
    return 0;
  }

  /** vhost_vdpa_config_validate() + the header copy: the {off, len} or -errno (E2BIG reported as EINVAL). */
  private configHeader(task: Task, argp: number): { off: number; len: number } | number {
    if (copyFromUser(task.mm, scratch, argp, 8)) return -EFAULT;
    const off = sv.getUint32(0, true);
    const len = sv.getUint32(4, true);
    const size = this.vdpa.config.getConfigSize();
    if (len === 0 || off > size) return -EINVAL;
    // The kernel's validate says -E2BIG here; its callers turn every failure into -EINVAL.
    if (len > size - off) return -EINVAL;
    return { off, len };
  }

  private getConfig(task: Task, argp: number): number {
    const h = this.configHeader(task, argp);
    if (typeof h === 'number') return h;
    const buf = new Uint8Array(h.len);
    vdpaGetConfig(this.vdpa, h.off, buf);
    return copyToUser(task.mm, argp + 8, buf) ? -EFAULT : 0;
  }

  private setConfig(task: Task, argp: number): number {
    const h = this.configHeader(task, argp);
    if (typeof h === 'number') return h;
    const buf = new Uint8Array(h.len);
    if (copyFromUser(task.mm, buf, argp + 8)) return -EFAULT;
    vdpaSetConfig(this.vdpa, h.off, buf);
    return 0;
  }

  private setFeatures(task: Task, argp: number): number {
    const ops = this.vdpa.config;
    // Features cannot change once negotiated.
    if (ops.getStatus() & VIRTIO_CONFIG_S_FEATURES_OK) return -EBUSY;
    const features = getUser(task.mm, argp, 8);
    if (features === undefined) return -EFAULT;
    if (vdpaSetFeatures(this.vdpa, features)) return -EINVAL;
    const actual = ops.getDriverFeatures();
    for (const vq of this.vqs) vq.ackedFeatures = actual;
    return 0;
  }

  /** vhost_vdpa_set_config_call(): the old eventfd goes before the new fd is checked. */
  private setConfigCall(task: Task, argp: number): number {
    const fd = getUser(task.mm, argp, 4);
    if (fd === undefined) return -EFAULT;
    const ctx = (fd | 0) === VHOST_FILE_UNBIND ? undefined : eventfdCtxFdget(task, fd | 0);
    this.configCtx = undefined;
    if (typeof ctx === 'number') return ctx;
    this.configCtx = ctx;
    this.vdpa.config.setConfigCb({ callback: () => this.configCtx?.signal(), private: this, trigger: undefined });
    return 0;
  }

  private suspend(): number {
    const ops = this.vdpa.config;
    const upstream = this.profile.vhostVdpa.suspendNeedsDriverOk;
    if (upstream && !(ops.getStatus() & VIRTIO_CONFIG_S_DRIVER_OK)) return 0;
    if (!ops.suspend) return -EOPNOTSUPP;
    const r = ops.suspend();
    if (!r && upstream) this.suspended = true;
    return r;
  }

  private resume(): number {
    const ops = this.vdpa.config;
    if (!(ops.getStatus() & VIRTIO_CONFIG_S_DRIVER_OK)) return 0;
    if (!ops.resume) return -EOPNOTSUPP;
    const r = ops.resume();
    if (!r) this.suspended = false;
    return r;
  }

  /** vhost_vdpa_unlocked_ioctl(). */
  ioctl(task: Task, cmd: number, arg: bigint): number {
    const ret = this.unlockedIoctl(task, cmd, arg);
    if (traceIoctl.active) traceIoctl.publish({ dev: this.name, cmd, ret });
    return ret;
  }

  private unlockedIoctl(task: Task, cmd: number, arg: bigint): number {
    const argp = userPtr(arg);
    const ops = this.vdpa.config;
    const vv = this.profile.vhostVdpa;
    if (cmd === VHOST_SET_BACKEND_FEATURES) return this.setBackendFeatures(task, argp);
    let r: number;
    switch (cmd) {
      case VHOST_VDPA_GET_DEVICE_ID:
        r = putUser(task.mm, argp, 4, ops.getDeviceId());
        break;
      case VHOST_VDPA_GET_STATUS:
        r = putUser(task.mm, argp, 1, ops.getStatus());
        break;
      case VHOST_VDPA_SET_STATUS:
        r = this.setStatus(task, argp);
        break;
      case VHOST_VDPA_GET_CONFIG:
        r = this.getConfig(task, argp);
        break;
      case VHOST_VDPA_SET_CONFIG:
        r = this.setConfig(task, argp);
        break;
      case VHOST_GET_FEATURES:
        r = putUser(task.mm, argp, 8, ops.getDeviceFeatures());
        break;
      case VHOST_SET_FEATURES:
        r = this.setFeatures(task, argp);
        break;
      case VHOST_VDPA_GET_VRING_NUM:
        r = putUser(task.mm, argp, 2, ops.getVqNumMax());
        break;
      case VHOST_VDPA_GET_GROUP_NUM:
        r = putUser(task.mm, argp, 4, this.vdpa.ngroups);
        break;
      case VHOST_VDPA_GET_AS_NUM:
        r = putUser(task.mm, argp, 4, this.vdpa.nas);
        break;
      case VHOST_SET_LOG_BASE:
      case VHOST_SET_LOG_FD:
        r = -ENOIOCTLCMD;
        break;
      case VHOST_VDPA_SET_CONFIG_CALL:
        r = this.setConfigCall(task, argp);
        break;
      case VHOST_GET_BACKEND_FEATURES:
        r = putUser(task.mm, argp, 8, this.backendFeatures());
        break;
      case VHOST_VDPA_GET_IOVA_RANGE:
        sv.setBigUint64(0, this.range.first, true);
        sv.setBigUint64(8, this.range.last, true);
        r = copyToUser(task.mm, argp, scratch, 16) ? -EFAULT : 0;
        break;
      case VHOST_VDPA_GET_CONFIG_SIZE:
        r = putUser(task.mm, argp, 4, ops.getConfigSize());
        break;
      case VHOST_VDPA_GET_VQS_COUNT:
        r = putUser(task.mm, argp, 4, this.vdpa.nvqs);
        break;
      case VHOST_VDPA_SUSPEND:
        r = this.suspend();
        break;
      default:
        if (cmd === VHOST_VDPA_RESUME && vv.resumeIoctl) {
          r = this.resume();
          break;
        }
        if (vv.dirtyLog && (cmd === VHOST_VDPA_LOG_START || cmd === VHOST_VDPA_LOG_STOP)) {
          r = cmd === VHOST_VDPA_LOG_START ? vhostVdpaLogStart(this, task, argp) : vhostVdpaLogStop(this);
          break;
        }
        r = vhostDevIoctl(this.dev, task, cmd, arg);
        if (r === -ENOIOCTLCMD) r = this.vringIoctl(task, cmd, arg);
    }
    if (r) return r;
    if (cmd === VHOST_SET_OWNER && vv.bindMm && this.vdpa.useVa && ops.bindMm) {
      r = ops.bindMm(task.mm);
      if (r) this.dev.resetOwner();
    }
    return r;
  }

  /** struct vhost_vring_state from the user into the scratch buffer. */
  private readState(task: Task, argp: number): { index: number; num: number } | undefined {
    if (copyFromUser(task.mm, scratch, argp, 8)) return undefined;
    return { index: sv.getUint32(0, true), num: sv.getUint32(4, true) };
  }

  private writeState(task: Task, argp: number, index: number, num: number): number {
    sv.setUint32(0, index, true);
    sv.setUint32(4, num >>> 0, true);
    return copyToUser(task.mm, argp, scratch, 8) ? -EFAULT : 0;
  }

  private driverOkAndRunning(): boolean {
    return (this.vdpa.config.getStatus() & VIRTIO_CONFIG_S_DRIVER_OK) !== 0 && !this.suspended;
  }

  /** vhost_vdpa_vring_ioctl(). */
  private vringIoctl(task: Task, cmd: number, arg: bigint): number {
    const argp = userPtr(arg);
    const ops = this.vdpa.config;
    const vv = this.profile.vhostVdpa;
    const idx = getUser(task.mm, argp, 4);
    if (idx === undefined) return -EFAULT;
    if (idx >= this.nvqs) return -ENOBUFS;
    const vq = this.vqs[idx] as VhostVirtqueue;
    const state: VdpaVqState = { availIndex: 0, usedIndex: 0 };

    switch (cmd) {
      case VHOST_VDPA_SET_VRING_ENABLE: {
        const s = this.readState(task, argp);
        if (!s) return -EFAULT;
        ops.setVqReady(idx, s.num !== 0);
        return 0;
      }
      case VHOST_VDPA_GET_VRING_GROUP: {
        if (!ops.getVqGroup) return -EOPNOTSUPP;
        const group = ops.getVqGroup(idx);
        if (group >= this.vdpa.ngroups) return -EIO;
        return this.writeState(task, argp, idx, group);
      }
      case VHOST_VDPA_SET_GROUP_ASID: {
        const s = this.readState(task, argp);
        if (!s) return -EFAULT;
        if ((vv.groupBoundCheck && idx >= this.vdpa.ngroups) || s.num >= this.vdpa.nas) return -EINVAL;
        if (!ops.setGroupAsid) return -EOPNOTSUPP;
        return ops.setGroupAsid(idx, s.num);
      }
      case VHOST_GET_VRING_BASE: {
        const r = ops.getVqState(idx, state);
        if (r) return r;
        if (vhostHasFeature(vq, VIRTIO_F_RING_PACKED)) {
          vq.lastAvailIdx = state.availIndex & 0xffff;
          vq.lastUsedIdx = state.usedIndex & 0xffff;
        } else {
          vq.lastAvailIdx = state.availIndex & 0xffff;
        }
        break;
      }
      default:
        if (cmd === VHOST_VDPA_GET_VRING_DESC_GROUP && vv.descGroupIoctl) {
          if (!this.hasDescGroup()) return -EOPNOTSUPP;
          const group = (ops.getVqDescGroup as (i: number) => number)(idx);
          if (group >= this.vdpa.ngroups) return -EIO;
          return this.writeState(task, argp, idx, group);
        }
        if (cmd === VHOST_VDPA_GET_VRING_SIZE && vv.vringSizeIoctl) {
          if (!ops.getVqSize) return -EOPNOTSUPP;
          return this.writeState(task, argp, idx, ops.getVqSize(idx));
        }
    }

    let r = vhostVringIoctl(this.dev, task, cmd, arg);
    if (r) return r;

    switch (cmd) {
      case VHOST_SET_VRING_ADDR:
        if (vv.vringChangeNeedsSuspend && this.driverOkAndRunning()) return -EINVAL;
        if (ops.setVqAddress(idx, vq.desc, vq.avail, vq.used)) r = -EINVAL;
        break;
      case VHOST_SET_VRING_BASE:
        if (vv.vringChangeNeedsSuspend && this.driverOkAndRunning()) return -EINVAL;
        if (vhostHasFeature(vq, VIRTIO_F_RING_PACKED)) {
          state.availIndex = vq.lastAvailIdx;
          state.usedIndex = vq.lastUsedIdx;
        } else {
          state.availIndex = vq.lastAvailIdx;
        }
        r = ops.setVqState(idx, state);
        break;
      case VHOST_SET_VRING_CALL:
        ops.setVqCb(
          idx,
          vq.callCtx ? { callback: () => this.virtqueueCb(vq), private: vq, trigger: vq.callCtx } : NO_CALLBACK,
        );
        break;
      case VHOST_SET_VRING_NUM:
        ops.setVqNum(idx, vq.num);
        break;
    }
    return r;
  }

  /** vhost_vdpa_mmap(): the doorbell page of vq `pgoff`, write-only and shared. */
  mmap(vma: { length: number; prot: number; shared: boolean; pgoff: number; ioPhysAddr?: number }): number {
    const ops = this.vdpa.config;
    if (vma.length !== PAGE_SIZE) return -EINVAL;
    if (!vma.shared) return -EINVAL;
    if (vma.prot & PROT_READ) return -EINVAL;
    if (vma.pgoff > 65535) return -EINVAL;
    if (this.profile.vhostVdpa.mmapChecksVqIndex && vma.pgoff >= this.nvqs) return -EINVAL;
    if (!ops.getVqNotification) return -ENOTSUPP;
    const notify = ops.getVqNotification(vma.pgoff);
    if (notify.addr & (PAGE_SIZE - 1)) return -EINVAL;
    if (vma.length !== notify.size) return -ENOTSUPP;
    vma.ioPhysAddr = notify.addr;
    return 0;
  }
}

const vhostVdpaOf = (file: File): VhostVdpa => file.privateData as VhostVdpa;

/** vhost_vdpa_fops: no read (EINVAL at the VFS), no poll. */
export const vhostVdpaFops: FileOperations = {
  name: 'vhost-vdpa',
  open: (file, _task, node) => (node.owner as VhostVdpa).open(file),
  release: (file) => vhostVdpaOf(file).release(file),
  write: (file, task, ubuf, count) => vhostChrWriteIter(vhostVdpaOf(file).vdev as VhostDev, task, ubuf, count),
  unlockedIoctl: (file, task, cmd, arg) => vhostVdpaOf(file).ioctl(task, cmd, arg),
  mmap: (file, _task, vma) => vhostVdpaOf(file).mmap(vma),
};

/** The "vhost_vdpa" vdpa bus driver (module init allocates the char region). */
export class VhostVdpaDriver implements VdpaDriver {
  readonly name = 'vhost_vdpa';
  readonly major: number;
  private readonly minors = new Ida();

  constructor(readonly env: VhostVdpaEnv) {
    const major = env.chrdev.allocRegion('vhost-vdpa');
    if (major < 0) throw new Error(`vhost_vdpa: no character device region (${major})`);
    this.major = major;
  }

  /** vhost_vdpa_probe(). */
  probe(vdev: VdpaDevice): number {
    const ops = vdev.config;
    // A platform-IOMMU parent cannot have more than one group or address space.
    if (!ops.setMap && !ops.dmaMap && (vdev.ngroups > 1 || vdev.nas > 1)) return -EOPNOTSUPP;
    const minor = this.minors.allocMax(VHOST_VDPA_DEV_MAX - 1);
    if (minor < 0) return minor;
    const v = new VhostVdpa(this, vdev.get(), minor);
    const r = this.env.chrdev.add({ name: v.name, major: this.major, minor, fops: vhostVdpaFops, owner: v });
    if (r) {
      this.minors.free(minor);
      vdev.put();
      return r;
    }
    vdev.drvdata = v;
    return 0;
  }

  /** vhost_vdpa_remove(): the node goes now; an open file finishes the teardown at release. */
  remove(vdev: VdpaDevice): void {
    const v = vdev.drvdata as VhostVdpa;
    this.env.chrdev.remove(v.name);
    if (v.opened) v.removed = true;
    else this.finishRemove(v);
  }

  /** vhost_vdpa_release_dev(). */
  finishRemove(v: VhostVdpa): void {
    this.minors.free(v.minor);
    v.vdpa.put();
  }

  unload(): void {
    this.env.chrdev.unregisterRegion(this.major);
  }
}
