// Models: pin_user_pages / unpin_user_pages (mm/gup.c) for FOLL_LONGTERM pins, as vhost-vdpa's
// PA mode uses them. Pinning populates missing pages (a fault) so their frames exist.
// Deviations: no FOLL_* flags beyond write; the caller keeps mm->pinned_vm, as vhost-vdpa does.

import { EFAULT, ENOMEM, PROT_NONE, PROT_WRITE } from '../../uapi/index.js';
import type { AddressSpace } from './address_space.js';
import { PAGE_SHIFT, PAGE_SIZE } from './page.js';
import type { PhysMem } from './phys.js';

/**
 * Pins `npages` pages from page-aligned `uaddr`, storing their frames in `pfns[0..)`. Returns
 * the number pinned (fewer if a later page faults) or -EFAULT if the first page cannot be.
 */
export function pinUserPages(mm: AddressSpace, uaddr: number, npages: number, write: boolean, pfns: Int32Array): number {
  let pinned = 0;
  while (pinned < npages) {
    const addr = uaddr + pinned * PAGE_SIZE;
    const v = mm.findVma(addr);
    if (!v || v.prot === PROT_NONE || (write && !(v.prot & PROT_WRITE))) break;
    const page = v.pgoff + ((addr - v.start) >> PAGE_SHIFT);
    // Fault in the rest of this VMA's part of the request at once: one allocation, one run.
    const inVma = Math.min(npages - pinned, (v.end - addr) >> PAGE_SHIFT, v.obj.pages - page);
    if (inVma <= 0 || !v.obj.populate(page, inVma)) break;
    for (let i = 0; i < inVma; i++) {
      const p = page + i;
      if ((v.obj.pins[p] as number)++ === 0) v.obj.pinnedPages++;
      pfns[pinned++] = v.obj.pfn[p] as number;
    }
  }
  return pinned > 0 ? pinned : npages === 0 ? 0 : -EFAULT;
}

/**
 * The RLIMIT_MEMLOCK check vhost-vdpa makes before a long-term pin (drivers/vhost/vdpa.c
 * vhost_vdpa_pa_map): -ENOMEM if `npages` more would take mm->pinned_vm past the limit, else 0.
 * It does not consult CAP_IPC_LOCK: root is bound too.
 */
export function memlockCheck(mm: AddressSpace, npages: number): number {
  const lockLimit = Math.floor(mm.rlimitMemlock / PAGE_SIZE);
  return npages + mm.pinnedVm > lockLimit ? -ENOMEM : 0;
}

/** Drops one pin from each frame; objects with no mappings and no pins release their frames. */
export function unpinUserPages(phys: PhysMem, pfns: ArrayLike<number>, count = pfns.length): void {
  for (let i = 0; i < count; i++) {
    const where = phys.pageOf(pfns[i] as number);
    if (!where) continue;
    const { obj, page } = where;
    if ((obj.pins[page] as number) === 0) continue;
    if (--(obj.pins[page] as number) === 0) {
      obj.pinnedPages--;
      obj.maybeRelease();
    }
  }
}
