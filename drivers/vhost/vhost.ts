// Models: drivers/vhost/vhost.c, the parts vhost-vdpa reaches: the device and virtqueue state,
// ownership (SET_OWNER, the owner check, reset_owner), SET_MEM_TABLE, the per-vq ioctls of
// vhost_vring_ioctl (NUM, ADDR, BASE, KICK, CALL, ERR, ENDIAN, BUSYLOOP_TIMEOUT), kick polling
// on eventfds, backend features, and cleanup at release.
// Kept exactly: the vq index is read first (EFAULT) and checked against nvqs (ENOBUFS); NUM must
// be a power of two <= 0xffff; ADDR flags other than LOG are EOPNOTSUPP, avail must be 2- and
// used/log 4-aligned; split BASE > 0xffff is EINVAL; a bound kick eventfd with a count kicks at
// once, and every write to it kicks; ENDIAN is ENOIOCTLCMD without CONFIG_VHOST_CROSS_ENDIAN_LEGACY.
// Deviations: no worker threads (vhost-vdpa uses none); SET_LOG_BASE/SET_LOG_FD and the worker
// ioctls are left to the callers that own them (vhost-vdpa refuses them first); the owner is
// identified by its address space, as the kernel compares mm pointers.

import {
  E2BIG,
  EBUSY,
  EFAULT,
  EINVAL,
  ENOBUFS,
  ENOIOCTLCMD,
  EOPNOTSUPP,
  EPERM,
  POLLERR,
  POLLIN,
  VHOST_FILE_UNBIND,
  VHOST_GET_FORK_FROM_OWNER,
  VHOST_GET_VRING_BASE,
  VHOST_GET_VRING_BUSYLOOP_TIMEOUT,
  VHOST_GET_VRING_ENDIAN,
  VHOST_SET_FORK_FROM_OWNER,
  VHOST_SET_MEM_TABLE,
  VHOST_SET_OWNER,
  VHOST_SET_VRING_ADDR,
  VHOST_SET_VRING_BASE,
  VHOST_SET_VRING_BUSYLOOP_TIMEOUT,
  VHOST_SET_VRING_CALL,
  VHOST_SET_VRING_ENDIAN,
  VHOST_SET_VRING_ERR,
  VHOST_SET_VRING_KICK,
  VHOST_SET_VRING_NUM,
  VHOST_VRING_F_LOG,
  VIRTIO_F_RING_PACKED,
  dataView,
} from '../../uapi/index.js';
import type { EventFdCtx } from '../../lib/eventfd.js';
import { type File, type Task, eventfdCtxFdget, eventfdFget } from '../../lib/fs/index.js';
import { VHOST_MAP_RW, VhostIotlb } from '../../lib/iotlb/index.js';
import { type AddressSpace, copyFromUser, copyToUser, getUser, putUser, userPtr } from '../../lib/mm/index.js';
import type { KernelProfile } from '../profile.js';

/** max_mem_regions module parameter. */
export const VHOST_MAX_MEM_REGIONS = 64;

/** struct vhost_iotlb_msg as the handler sees it. */
export interface VhostIotlbMsg {
  iova: bigint;
  size: bigint;
  uaddr: bigint;
  perm: number;
  type: number;
}

/** dev->msg_handler: 0 or -errno. */
export type VhostMsgHandler = (dev: VhostDev, task: Task, asid: number, msg: VhostIotlbMsg) => number;

/** struct vhost_poll on an eventfd: calls `fn` on every wake-up that carries `mask`. */
export class VhostPoll {
  private remove: (() => void) | undefined;

  constructor(
    private readonly fn: () => void,
    private readonly mask: number,
  ) {}

  /** vhost_poll_start(): a ready eventfd fires at once; an eventfd in error is refused (-EINVAL). */
  start(ctx: EventFdCtx): number {
    if (this.remove) return 0;
    this.remove = ctx.addWaiter((events) => {
      if (events & this.mask) this.fn();
    });
    const mask = ctx.poll();
    if (mask & this.mask) this.fn();
    if (mask & POLLERR) {
      this.stop();
      return -EINVAL;
    }
    return 0;
  }

  /** vhost_poll_stop(). */
  stop(): void {
    this.remove?.();
    this.remove = undefined;
  }
}

/** struct vhost_virtqueue. */
export class VhostVirtqueue {
  num = 1;
  desc = 0n;
  avail = 0n;
  used = 0n;
  logAddr = -1n;
  logUsed = false;
  lastAvailIdx = 0;
  nextAvailHead = 0;
  availIdx = 0;
  lastUsedIdx = 0;
  /** The kick eventfd file (a reference is held). */
  kick: File | undefined;
  callCtx: EventFdCtx | undefined;
  errorCtx: EventFdCtx | undefined;
  ackedFeatures = 0n;
  ackedBackendFeatures = 0n;
  busyloopTimeout = 0;
  umem: VhostIotlb | undefined;
  /** vq->private_data: the backend; vhost-vdpa never sets one. */
  privateData: unknown;
  readonly poll: VhostPoll;

  constructor(
    readonly index: number,
    /** handle_kick. */
    handleKick: () => void,
  ) {
    this.poll = new VhostPoll(handleKick, POLLIN);
  }

  /** vhost_vq_reset(). */
  reset(): void {
    this.num = 1;
    this.desc = this.avail = this.used = 0n;
    this.lastAvailIdx = this.nextAvailHead = this.availIdx = this.lastUsedIdx = 0;
    this.logUsed = false;
    this.logAddr = -1n;
    this.privateData = undefined;
    this.ackedFeatures = 0n;
    this.ackedBackendFeatures = 0n;
    this.errorCtx = undefined;
    this.kick = undefined;
    this.callCtx = undefined;
    this.busyloopTimeout = 0;
    this.umem = undefined;
  }
}

/** vhost_has_feature(). */
export const vhostHasFeature = (vq: VhostVirtqueue, bit: number): boolean => (vq.ackedFeatures & (1n << BigInt(bit))) !== 0n;

/** vhost_backend_has_feature(). */
export const vhostBackendHasFeature = (vq: VhostVirtqueue, bit: number): boolean =>
  (vq.ackedBackendFeatures & (1n << BigInt(bit))) !== 0n;

/** struct vhost_dev. */
export class VhostDev {
  /** The owner's address space (dev->mm); undefined until SET_OWNER. */
  mm: AddressSpace | undefined;
  umem: VhostIotlb | undefined;
  /** fork_owner: children of the owner run the worker (default: task mode). */
  forkOwner = true;

  constructor(
    readonly vqs: readonly VhostVirtqueue[],
    readonly msgHandler: VhostMsgHandler,
    readonly profile: KernelProfile,
  ) {}

  hasOwner(): boolean {
    return this.mm !== undefined;
  }

  /** vhost_dev_check_owner(): the caller's mm must be the owner's. */
  checkOwner(task: Task): number {
    return this.mm === task.mm ? 0 : -EPERM;
  }

  /** vhost_set_backend_features(): stored on every vq. */
  setBackendFeatures(features: bigint): void {
    for (const vq of this.vqs) vq.ackedBackendFeatures = features;
  }

  /** vhost_dev_stop(): kick polling ends. */
  stop(): void {
    for (const vq of this.vqs) vq.poll.stop();
  }

  /** vhost_dev_cleanup(): drops every eventfd and file, resets the vqs, forgets the owner. */
  cleanup(): void {
    for (const vq of this.vqs) {
      vq.poll.stop();
      vq.kick?.put();
      vq.reset();
    }
    this.umem = undefined;
    this.mm = undefined;
  }

  /** vhost_dev_reset_owner() with an empty memory table. */
  resetOwner(): void {
    this.cleanup();
    this.forkOwner = true;
  }
}

const scratch = new Uint8Array(40);
const sv = dataView(scratch);

/** copy_from_user of `len` bytes at argp into the scratch buffer; false on a fault. */
function fromUser(task: Task, argp: number, len: number): boolean {
  return copyFromUser(task.mm, scratch, argp, len) === 0;
}

/** struct vhost_vring_state out to the user. */
function putState(task: Task, argp: number, index: number, num: number): number {
  sv.setUint32(0, index, true);
  sv.setUint32(4, num >>> 0, true);
  return copyToUser(task.mm, argp, scratch, 8) === 0 ? 0 : -EFAULT;
}

/** vhost_set_memory(): accepted and stored; vhost-vdpa never uses it. */
function setMemory(d: VhostDev, task: Task, argp: number): number {
  if (!fromUser(task, argp, 8)) return -EFAULT;
  const nregions = sv.getUint32(0, true);
  if (sv.getUint32(4, true)) return -EOPNOTSUPP;
  if (nregions > VHOST_MAX_MEM_REGIONS) return -E2BIG;
  const umem = new VhostIotlb(0, 0);
  for (let i = 0; i < nregions; i++) {
    if (!fromUser(task, argp + 8 + 32 * i, 32)) return -EFAULT;
    const gpa = sv.getBigUint64(0, true);
    const size = sv.getBigUint64(8, true);
    const uaddr = sv.getBigUint64(16, true);
    if (umem.addRange(gpa, BigInt.asUintN(64, gpa + size - 1n), uaddr, VHOST_MAP_RW)) return -EFAULT;
  }
  d.umem = umem;
  for (const vq of d.vqs) vq.umem = umem;
  return 0;
}

/** vhost_dev_ioctl(): SET_OWNER, fork-owner control, then everything else needs the owner. */
export function vhostDevIoctl(d: VhostDev, task: Task, cmd: number, arg: bigint): number {
  const argp = userPtr(arg);
  if (cmd === VHOST_SET_OWNER) {
    if (d.hasOwner()) return -EBUSY;
    d.mm = task.mm;
    return 0;
  }
  if (d.profile.vhost.forkOwnerControl && cmd === VHOST_SET_FORK_FROM_OWNER) {
    // Only before an owner exists.
    if (d.hasOwner()) return -EBUSY;
    const v = getUser(task.mm, argp, 1);
    if (v === undefined) return -EFAULT;
    if (v > 1) return -EINVAL;
    d.forkOwner = v !== 0;
    return 0;
  }
  if (d.profile.vhost.forkOwnerControl && cmd === VHOST_GET_FORK_FROM_OWNER) {
    return putUser(task.mm, argp, 1, d.forkOwner ? 1 : 0);
  }
  const r = d.checkOwner(task);
  if (r) return r;
  if (cmd === VHOST_SET_MEM_TABLE) return setMemory(d, task, argp);
  return -ENOIOCTLCMD;
}

/** vhost_vring_set_num() / vhost_vring_set_addr(). */
function setNumAddr(vq: VhostVirtqueue, task: Task, cmd: number, argp: number): number {
  if (cmd === VHOST_SET_VRING_NUM) {
    // Resizing a ring with an active backend is refused.
    if (vq.privateData) return -EBUSY;
    if (!fromUser(task, argp, 8)) return -EFAULT;
    const num = sv.getUint32(4, true);
    if (!num || num > 0xffff || num & (num - 1)) return -EINVAL;
    vq.num = num;
    return 0;
  }
  if (!fromUser(task, argp, 40)) return -EFAULT;
  const flags = sv.getUint32(4, true);
  const desc = sv.getBigUint64(8, true);
  const used = sv.getBigUint64(16, true);
  const avail = sv.getBigUint64(24, true);
  const log = sv.getBigUint64(32, true);
  if (flags & ~(1 << VHOST_VRING_F_LOG)) return -EOPNOTSUPP;
  if (avail & 1n || used & 3n || log & 3n) return -EINVAL;
  vq.logUsed = (flags & (1 << VHOST_VRING_F_LOG)) !== 0;
  vq.desc = desc;
  vq.avail = avail;
  vq.used = used;
  vq.logAddr = log;
  return 0;
}

/** The vq an ioctl's first u32 names: the vq, -EFAULT or -ENOBUFS. */
export function vhostGetVqFromUser(d: VhostDev, task: Task, argp: number): VhostVirtqueue | number {
  const idx = getUser(task.mm, argp, 4);
  if (idx === undefined) return -EFAULT;
  if (idx >= d.vqs.length) return -ENOBUFS;
  return d.vqs[idx] as VhostVirtqueue;
}

/** vhost_vring_ioctl(). */
export function vhostVringIoctl(d: VhostDev, task: Task, cmd: number, arg: bigint): number {
  const argp = userPtr(arg);
  const vq = vhostGetVqFromUser(d, task, argp);
  if (typeof vq === 'number') return vq;
  if (cmd === VHOST_SET_VRING_NUM || cmd === VHOST_SET_VRING_ADDR) return setNumAddr(vq, task, cmd, argp);

  switch (cmd) {
    case VHOST_SET_VRING_BASE: {
      // Moving the base under an active backend is refused.
      if (vq.privateData) return -EBUSY;
      if (!fromUser(task, argp, 8)) return -EFAULT;
      const num = sv.getUint32(4, true);
      if (vhostHasFeature(vq, VIRTIO_F_RING_PACKED)) {
        vq.nextAvailHead = vq.lastAvailIdx = num & 0xffff;
        vq.lastUsedIdx = (num >>> 16) & 0xffff;
      } else {
        if (num > 0xffff) return -EINVAL;
        vq.nextAvailHead = vq.lastAvailIdx = num;
      }
      vq.availIdx = vq.lastAvailIdx;
      return 0;
    }
    case VHOST_GET_VRING_BASE: {
      const num = vhostHasFeature(vq, VIRTIO_F_RING_PACKED) ? (vq.lastAvailIdx | (vq.lastUsedIdx << 16)) >>> 0 : vq.lastAvailIdx;
      return putState(task, argp, vq.index, num);
    }
    case VHOST_SET_VRING_KICK: {
      if (!fromUser(task, argp, 8)) return -EFAULT;
      const fd = sv.getInt32(4, true);
      const eventfp = fd === VHOST_FILE_UNBIND ? undefined : eventfdFget(task, fd);
      if (typeof eventfp === 'number') return eventfp;
      if (eventfp === vq.kick) {
        // Same file: drop the extra reference, keep polling.
        eventfp?.put();
        return 0;
      }
      const old = vq.kick;
      vq.kick = eventfp;
      if (old) {
        vq.poll.stop();
        old.put();
      }
      return eventfp ? vq.poll.start(eventfp.privateData as EventFdCtx) : 0;
    }
    case VHOST_SET_VRING_CALL:
    case VHOST_SET_VRING_ERR: {
      if (!fromUser(task, argp, 8)) return -EFAULT;
      const fd = sv.getInt32(4, true);
      const ctx = fd === VHOST_FILE_UNBIND ? undefined : eventfdCtxFdget(task, fd);
      if (typeof ctx === 'number') return ctx;
      if (cmd === VHOST_SET_VRING_CALL) vq.callCtx = ctx;
      else vq.errorCtx = ctx;
      return 0;
    }
    case VHOST_SET_VRING_ENDIAN:
    case VHOST_GET_VRING_ENDIAN:
      // CONFIG_VHOST_CROSS_ENDIAN_LEGACY is off.
      return -ENOIOCTLCMD;
    case VHOST_SET_VRING_BUSYLOOP_TIMEOUT:
      if (!fromUser(task, argp, 8)) return -EFAULT;
      vq.busyloopTimeout = sv.getUint32(4, true);
      return 0;
    case VHOST_GET_VRING_BUSYLOOP_TIMEOUT:
      return putState(task, argp, vq.index, vq.busyloopTimeout);
    default:
      return -ENOIOCTLCMD;
  }
}
