// Models: the IOTLB half of drivers/vhost/vdpa.c: address spaces (created lazily by UPDATE and
// BATCH_BEGIN, removed only at release), vhost_vdpa_process_iotlb_msg, UPDATE in VA mode
// (file-backed shared VMAs only, split at VMA ends, private/anonymous ranges silently skipped)
// and PA mode (pinned pages, the RLIMIT_MEMLOCK check, page rounding, one entry per physically
// contiguous run, whole-update rollback), INVALIDATE (whole overlapping entries), and the
// pushes to the parent (dma_map per entry, set_map of the whole AS unless batching) or, for a
// parent with neither, to the platform IOMMU domain (iommu_map / iommu_unmap).
// Proposal (proposal-lm-log only): an INVALIDATE under the active dirty bitmap is EBUSY.
// Deviations: none known.

import {
  EEXIST,
  EINVAL,
  ENOMEM,
  VHOST_ACCESS_RO,
  VHOST_ACCESS_WO,
  VHOST_IOTLB_BATCH_BEGIN,
  VHOST_IOTLB_BATCH_END,
  VHOST_IOTLB_INVALIDATE,
  VHOST_IOTLB_UPDATE,
} from '../../uapi/index.js';
import type { Task } from '../../lib/fs/index.js';
import { U64_MAX, type VhostIotlb, type VhostIotlbMap } from '../../lib/iotlb/index.js';
import { type MemObject, PAGE_SHIFT, PAGE_SIZE, pinUserPages, memlockCheck, unpinUserPages } from '../../lib/mm/index.js';
import { tracepoint } from '../../lib/trace.js';
import { IOMMU_CACHE, IOMMU_READ, IOMMU_WRITE } from '../iommu/iommu.js';
import { vhostVdpaLogBusy } from './vdpa_log.js';
import type { VhostDev, VhostIotlbMsg } from './vhost.js';
import type { VhostVdpa, VhostVdpaAs } from './vdpa.js';

const traceMsg = tracepoint<{ dev: string; asid: number; type: number; iova: bigint; size: bigint; uaddr: bigint; perm: number; ret: number }>(
  'vdpa:vhost:iotlb_msg',
);

/** Pages pinned per pin_user_pages() call (PAGE_SIZE / sizeof(struct page *)). */
const PIN_BATCH = PAGE_SIZE / 8;
const PAGE = BigInt(PAGE_SIZE);
const PAGE_MASK = ~(PAGE - 1n) & U64_MAX;

/** struct vdpa_map_file: the mapped file (a reference held) and the offset in it. */
interface VdpaMapFile {
  obj: MemObject;
  offset: number;
}

const u64 = (x: bigint): bigint => BigInt.asUintN(64, x);

/** perm_to_iommu_flags(). */
function permToIommuFlags(perm: number): number {
  const rw = (perm & VHOST_ACCESS_RO ? IOMMU_READ : 0) | (perm & VHOST_ACCESS_WO ? IOMMU_WRITE : 0);
  return rw | IOMMU_CACHE;
}

/** vhost_vdpa_general_unmap(): tells a dma_map parent, or unmaps the platform IOMMU domain. */
function generalUnmap(v: VhostVdpa, map: VhostIotlbMap, asid: number): void {
  const ops = v.vdpa.config;
  if (ops.dmaMap) ops.dmaUnmap?.(asid, map.start, map.size);
  else if (!ops.setMap) v.domain?.unmap(map.start, map.size);
}

/** vhost_vdpa_pa_unmap(): unpins every page of every overlapping entry. */
function paUnmap(v: VhostVdpa, iotlb: VhostIotlb, start: bigint, last: bigint, asid: number): void {
  const mm = v.vdev?.mm;
  for (let map = iotlb.itreeFirst(start, last); map; map = iotlb.itreeFirst(start, last)) {
    const pages = Number(map.size >> BigInt(PAGE_SHIFT));
    const first = Number(map.addr >> BigInt(PAGE_SHIFT));
    const pfns = new Int32Array(pages);
    for (let i = 0; i < pages; i++) pfns[i] = first + i;
    unpinUserPages(v.phys, pfns);
    if (mm) mm.pinnedVm -= pages;
    generalUnmap(v, map, asid);
    iotlb.mapFree(map);
  }
}

/** vhost_vdpa_va_unmap(): drops the file references. */
function vaUnmap(v: VhostVdpa, iotlb: VhostIotlb, start: bigint, last: bigint, asid: number): void {
  for (let map = iotlb.itreeFirst(start, last); map; map = iotlb.itreeFirst(start, last)) {
    (map.opaque as VdpaMapFile).obj.put();
    generalUnmap(v, map, asid);
    iotlb.mapFree(map);
  }
}

/** vhost_vdpa_iotlb_unmap(). */
export function iotlbUnmap(v: VhostVdpa, iotlb: VhostIotlb, start: bigint, last: bigint, asid: number): void {
  if (v.vdpa.useVa) vaUnmap(v, iotlb, start, last, asid);
  else paUnmap(v, iotlb, start, last, asid);
}

/** vhost_vdpa_map(): adds the entry, then pushes it to the parent; undone on failure. */
function vdpaMap(v: VhostVdpa, as: VhostVdpaAs, iova: bigint, size: bigint, pa: bigint, perm: number, opaque: unknown): number {
  const ops = v.vdpa.config;
  const last = u64(iova + size - 1n);
  let r = as.iotlb.addRangeCtx(iova, last, pa, perm, opaque);
  if (r) return r;
  if (ops.dmaMap) r = ops.dmaMap(as.id, iova, size, pa, perm, opaque);
  else if (ops.setMap) r = v.inBatch ? 0 : ops.setMap(as.id, as.iotlb);
  else r = v.domain ? v.domain.map(iova, pa, size, permToIommuFlags(perm)) : -EINVAL;
  if (r) {
    as.iotlb.delRange(iova, last);
    return r;
  }
  const mm = v.vdev?.mm;
  if (!v.vdpa.useVa && mm) mm.pinnedVm += Number(size >> BigInt(PAGE_SHIFT));
  return 0;
}

/** vhost_vdpa_unmap(): removes whole overlapping entries, then re-pushes a set_map parent. */
function vdpaUnmap(v: VhostVdpa, as: VhostVdpaAs, iova: bigint, size: bigint): void {
  iotlbUnmap(v, as.iotlb, iova, u64(iova + size - 1n), as.id);
  const ops = v.vdpa.config;
  if (ops.setMap && !v.inBatch) ops.setMap(as.id, as.iotlb);
}

/** vhost_vdpa_va_map(). */
function vaMap(v: VhostVdpa, as: VhostVdpaAs, iova: bigint, size: bigint, uaddr: bigint, perm: number): number {
  const mm = v.vdev?.mm;
  if (!mm) return -EINVAL;
  let mapIova = iova;
  let left = size;
  let ua = uaddr;
  let ret = 0;
  while (left) {
    const vma = ua < BigInt(Number.MAX_SAFE_INTEGER) ? mm.findVmaFrom(Number(ua)) : undefined;
    if (!vma) {
      ret = -EINVAL;
      break;
    }
    const room = BigInt(vma.end) - ua;
    const mapSize = left < room ? left : room;
    // Only shared file-backed memory (shmem and memfd included) is mapped; the rest is skipped.
    if (vma.obj.shared) {
      const offset = vma.pgoff * PAGE_SIZE + Number(ua) - vma.start;
      vma.obj.refs++;
      const file: VdpaMapFile = { obj: vma.obj, offset };
      ret = vdpaMap(v, as, mapIova, mapSize, ua, perm, file);
      if (ret) {
        vma.obj.put();
        break;
      }
    }
    left -= mapSize;
    ua += mapSize;
    mapIova += mapSize;
  }
  if (ret) vdpaUnmap(v, as, iova, mapIova - iova);
  return ret;
}

/** vhost_vdpa_pa_map(). */
function paMap(v: VhostVdpa, as: VhostVdpaAs, iovaIn: bigint, size: bigint, uaddr: bigint, perm: number): number {
  const mm = v.vdev?.mm;
  if (!mm) return -EINVAL;
  const write = (perm & VHOST_ACCESS_WO) !== 0;
  let npages = Number(u64(size + (iovaIn & (PAGE - 1n)) + PAGE - 1n) >> BigInt(PAGE_SHIFT));
  if (!npages) return -EINVAL;
  if (memlockCheck(mm, npages)) return -ENOMEM;
  if (uaddr >= BigInt(Number.MAX_SAFE_INTEGER)) return -EINVAL;

  let curBase = Number(uaddr & PAGE_MASK);
  let iova = iovaIn & PAGE_MASK;
  let nchunks = 0;
  let mapPfn = 0;
  let lastPfn = 0;
  let ret = 0;
  const pages = new Int32Array(PIN_BATCH);
  out: while (npages) {
    const sz2pin = Math.min(npages, PIN_BATCH);
    const pinned = pinUserPages(mm, curBase, sz2pin, write, pages);
    if (pinned !== sz2pin) {
      if (pinned < 0) ret = pinned;
      else {
        unpinUserPages(v.phys, pages, pinned);
        ret = -ENOMEM;
      }
      break;
    }
    nchunks++;
    if (!lastPfn) mapPfn = pages[0] as number;
    for (let i = 0; i < pinned; i++) {
      const thisPfn = pages[i] as number;
      if (lastPfn && thisPfn !== lastPfn + 1) {
        // A physically contiguous run ends: map it as one entry.
        const csize = BigInt(lastPfn - mapPfn + 1) * PAGE;
        ret = vdpaMap(v, as, iova, csize, BigInt(mapPfn) * PAGE, perm, undefined);
        if (ret) {
          unpinUserPages(v.phys, pages.subarray(i, pinned));
          break out;
        }
        mapPfn = thisPfn;
        iova += csize;
        nchunks = 0;
      }
      lastPfn = thisPfn;
    }
    curBase += pinned * PAGE_SIZE;
    npages -= pinned;
  }
  if (!ret) ret = vdpaMap(v, as, iova, BigInt(lastPfn - mapPfn + 1) * PAGE, BigInt(mapPfn) * PAGE, perm, undefined);
  if (ret) {
    if (nchunks) {
      // Pinned but not yet mapped; mapped ones are unpinned by the unmap below.
      const n = lastPfn - mapPfn + 1;
      const pfns = new Int32Array(n);
      for (let i = 0; i < n; i++) pfns[i] = mapPfn + i;
      unpinUserPages(v.phys, pfns);
    }
    vdpaUnmap(v, as, iovaIn, size);
  }
  return ret;
}

/** vhost_vdpa_process_iotlb_update(). */
function processIotlbUpdate(v: VhostVdpa, as: VhostVdpaAs, msg: VhostIotlbMsg): number {
  const { iova, size } = msg;
  if (iova < v.range.first || !size || iova > U64_MAX - size + 1n || u64(iova + size - 1n) > v.range.last) return -EINVAL;
  if (as.iotlb.itreeFirst(iova, u64(iova + size - 1n))) return -EEXIST;
  if (v.vdpa.useVa) return vaMap(v, as, iova, size, msg.uaddr, msg.perm);
  return paMap(v, as, iova, size, msg.uaddr, msg.perm);
}

/** vhost_vdpa_process_iotlb_msg(): the vhost msg_handler of vhost-vdpa. */
export function processIotlbMsg(v: VhostVdpa, dev: VhostDev, task: Task, asid: number, msg: VhostIotlbMsg): number {
  const ret = handleIotlbMsg(v, dev, task, asid, msg);
  if (traceMsg.active) traceMsg.publish({ dev: v.name, asid, ...msg, ret });
  return ret;
}

function handleIotlbMsg(v: VhostVdpa, dev: VhostDev, task: Task, asid: number, msg: VhostIotlbMsg): number {
  const r = dev.checkOwner(task);
  if (r) return r;
  let as: VhostVdpaAs | undefined;
  if (msg.type === VHOST_IOTLB_UPDATE || msg.type === VHOST_IOTLB_BATCH_BEGIN) {
    as = v.findAllocAs(asid);
    if (!as) {
      v.log(`can't find and alloc asid ${asid}`);
      return -EINVAL;
    }
  } else {
    as = v.as.get(asid);
  }
  if ((v.inBatch && v.batchAsid !== asid) || !as) {
    if (v.inBatch && v.batchAsid !== asid) v.log(`batch id ${v.batchAsid} asid ${asid}`);
    if (!as) v.log(`no iotlb for asid ${asid}`);
    return -EINVAL;
  }
  const ops = v.vdpa.config;
  switch (msg.type) {
    case VHOST_IOTLB_UPDATE:
      return processIotlbUpdate(v, as, msg);
    case VHOST_IOTLB_INVALIDATE: {
      const busy = vhostVdpaLogBusy(v, asid, msg.iova, u64(msg.iova + msg.size - 1n));
      if (busy) return busy;
      vdpaUnmap(v, as, msg.iova, msg.size);
      return 0;
    }
    case VHOST_IOTLB_BATCH_BEGIN:
      v.batchAsid = asid;
      v.inBatch = true;
      return 0;
    case VHOST_IOTLB_BATCH_END:
      if (v.inBatch && ops.setMap) ops.setMap(asid, as.iotlb);
      v.inBatch = false;
      return 0;
    default:
      return -EINVAL;
  }
}
