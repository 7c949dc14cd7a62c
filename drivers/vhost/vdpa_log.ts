// NOT UPSTREAM: the device dirty-log proposal's half of drivers/vhost/vdpa.c (proposal-lm-log
// profile only; docs/proposals/lm-log.md). VHOST_VDPA_LOG_START points the parent's log_start at
// a bitmap the caller has already mapped writable in one of its address spaces;
// VHOST_VDPA_LOG_STOP ends it; a reset ends it too. While logging, the bitmap's IOVA range
// cannot be invalidated (EBUSY): the device would otherwise DMA into a hole.

import {
  EBUSY,
  EFAULT,
  EINVAL,
  EOPNOTSUPP,
  VHOST_ACCESS_WO,
  VHOST_BACKEND_F_DIRTY_LOG,
  vhostVdpaDirtyLog,
} from '../../uapi/index.js';
import type { Task } from '../../lib/fs/index.js';
import { U64_MAX, type VhostIotlb } from '../../lib/iotlb/index.js';
import { copyFromUser } from '../../lib/mm/index.js';
import type { VhostVdpa } from './vdpa.js';
import { vhostBackendHasFeature } from './vhost.js';

/** Where the parent is logging. */
export interface VhostVdpaLogArea {
  readonly asid: number;
  readonly iova: bigint;
  readonly last: bigint;
}

const arg = new Uint8Array(vhostVdpaDirtyLog.size);

/** Whether [iova, last] is covered, without holes, by maps the device may write. */
function writableCovered(iotlb: VhostIotlb, iova: bigint, last: bigint): boolean {
  let next = iova;
  for (const m of iotlb.overlapping(iova, last)) {
    if (m.start > next || !(m.perm & VHOST_ACCESS_WO)) return false;
    if (m.last >= last) return true;
    next = m.last + 1n;
  }
  return false;
}

function acked(v: VhostVdpa): boolean {
  const vq = v.vqs[0];
  return vq !== undefined && vhostBackendHasFeature(vq, VHOST_BACKEND_F_DIRTY_LOG);
}

/** VHOST_VDPA_LOG_START: 0, -EFAULT, -EOPNOTSUPP (not acked), -EINVAL (bad area) or the parent's -errno. */
export function vhostVdpaLogStart(v: VhostVdpa, task: Task, argp: number): number {
  const ops = v.vdpa.config;
  if (!acked(v) || !ops.logStart) return -EOPNOTSUPP;
  if (copyFromUser(task.mm, arg, argp)) return -EFAULT;
  const { iova, size, asid, flags } = vhostVdpaDirtyLog.decode(arg);
  if (flags || asid >= v.vdpa.nas || !size || iova > U64_MAX - size + 1n) return -EINVAL;
  const last = iova + size - 1n;
  const as = v.as.get(asid);
  if (!as || !writableCovered(as.iotlb, iova, last)) return -EINVAL;
  const r = ops.logStart(asid, iova, size);
  if (!r) v.logArea = { asid, iova, last };
  return r;
}

/** VHOST_VDPA_LOG_STOP. */
export function vhostVdpaLogStop(v: VhostVdpa): number {
  const ops = v.vdpa.config;
  if (!acked(v) || !ops.logStop) return -EOPNOTSUPP;
  const r = ops.logStop();
  if (!r) v.logArea = undefined;
  return r;
}

/** An INVALIDATE of [start, last] in `asid` would pull the bitmap from under the device. */
export function vhostVdpaLogBusy(v: VhostVdpa, asid: number, start: bigint, last: bigint): number {
  const a = v.logArea;
  return a && a.asid === asid && start <= a.last && last >= a.iova ? -EBUSY : 0;
}
