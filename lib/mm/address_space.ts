// Models: the VMA half of mm/mmap.c and mm/mprotect.c for one process (mm_struct): mmap with
// MAP_FIXED / MAP_FIXED_NOREPLACE / hints, munmap splitting VMAs, mprotect, find_vma.
// Deviations: no fork, so no copy-on-write; a MAP_PRIVATE file mapping takes a private copy of
// the file's bytes at mmap time. MAP_LOCKED is accepted but not accounted. Anonymous shared
// memory is a fresh shared object (as shmem). hugetlb mappings without MAP_NORESERVE take their
// huge pages at mmap time (the kernel reserves them then and faults them later).

import {
  EBADF,
  EEXIST,
  EINVAL,
  ENOMEM,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_HUGETLB,
  MAP_NORESERVE,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  MAP_SHARED_VALIDATE,
  MAP_TYPE,
  PROT_NONE,
  PROT_WRITE,
} from '../../uapi/index.js';
import { MemFile, MemObject } from './mem_object.js';
import {
  HPAGE_SIZE,
  MLOCK_LIMIT,
  type MemorySpace,
  PAGE_SHIFT,
  PAGE_SIZE,
  type Span,
  TASK_SIZE,
  alignDown,
  alignUp,
  pageUp,
} from './page.js';
import type { PhysMem } from './phys.js';

export interface Vma {
  start: number;
  /** Exclusive. */
  end: number;
  prot: number;
  /** The mapping type and MAP_ANONYMOUS / MAP_HUGETLB / MAP_NORESERVE as mapped. */
  flags: number;
  obj: MemObject;
  /** Page of `obj` that `start` maps. */
  pgoff: number;
  /** The file mapped, if any (VA-mode vhost-vdpa keeps a reference to it). */
  file: MemFile | undefined;
  /** VM_IO|VM_PFNMAP: the physical MMIO address `start` maps (a device register page). */
  ioPhys?: number;
}

/** Lowest address a non-fixed mapping is placed at (vm.mmap_min_addr). */
export const MMAP_MIN_ADDR = 0x10000;
/** Where top-down placement starts (just under the stack, ASLR off). */
export const MMAP_BASE = 0x7ffff7fff000;

export class AddressSpace implements MemorySpace {
  /** VMAs sorted by start, never overlapping. */
  private vmas: Vma[] = [];
  private last: Vma | undefined;
  /** RLIMIT_MEMLOCK in bytes. */
  rlimitMemlock = MLOCK_LIMIT;
  /** Pages pinned long-term on behalf of this mm (mm->pinned_vm), kept by the pinning drivers. */
  pinnedVm = 0;
  mmapBase = MMAP_BASE;
  /** Bumped on every VMA change (for exact caches of user translations). */
  generation = 0;

  constructor(readonly phys: PhysMem) {}

  /** All VMAs, in address order (a copy). */
  mappings(): Vma[] {
    return this.vmas.map((v) => ({ ...v }));
  }

  /** The VMA containing `addr`, or undefined. */
  findVma(addr: number): Vma | undefined {
    const last = this.last;
    if (last && addr >= last.start && addr < last.end) return last;
    let lo = 0;
    let hi = this.vmas.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = this.vmas[mid] as Vma;
      if (addr < v.start) hi = mid - 1;
      else if (addr >= v.end) lo = mid + 1;
      else return (this.last = v);
    }
    return undefined;
  }

  /** find_vma(): the first VMA ending above `addr` (it may start above it), or undefined. */
  findVmaFrom(addr: number): Vma | undefined {
    const inside = this.findVma(addr);
    if (inside) return inside;
    return this.vmas.find((v) => v.end > addr);
  }

  private overlaps(start: number, end: number): boolean {
    return this.vmas.some((v) => v.start < end && v.end > start);
  }

  private findFree(len: number, align: number): number {
    let ceiling = this.mmapBase;
    for (let i = this.vmas.length - 1; i >= 0; i--) {
      const v = this.vmas[i] as Vma;
      if (v.start >= ceiling) continue;
      const cand = alignDown(ceiling - len, align);
      if (cand >= v.end) return cand;
      ceiling = v.start;
    }
    const cand = alignDown(ceiling - len, align);
    return cand >= MMAP_MIN_ADDR ? cand : -1;
  }

  /**
   * mmap(2): returns the address, or -errno. `file` is the mapped memfd (ignored with
   * MAP_ANONYMOUS); `offset` must be page aligned.
   */
  mmap(addr: number, len: number, prot: number, flags: number, file?: MemFile, offset = 0): number {
    if (!Number.isInteger(len) || len <= 0) return -EINVAL;
    if (!Number.isInteger(offset) || offset < 0 || offset % PAGE_SIZE !== 0) return -EINVAL;
    const type = flags & MAP_TYPE;
    if (type !== MAP_SHARED && type !== MAP_PRIVATE && type !== MAP_SHARED_VALIDATE) return -EINVAL;
    const anon = (flags & MAP_ANONYMOUS) !== 0;
    if (!anon && !file) return -EBADF;
    const shared = type !== MAP_PRIVATE;
    const huge = anon ? (flags & MAP_HUGETLB) !== 0 : (file?.obj.huge ?? false);
    const align = huge ? HPAGE_SIZE : PAGE_SIZE;
    const size = alignUp(len, align);
    if (size > TASK_SIZE) return -ENOMEM;

    let start: number;
    if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
      if (addr % align !== 0) return -EINVAL;
      if (addr < 0 || addr + size > TASK_SIZE) return -ENOMEM;
      if (flags & MAP_FIXED_NOREPLACE && this.overlaps(addr, addr + size)) return -EEXIST;
      start = addr;
    } else {
      const hint = alignUp(addr, align);
      start =
        addr > 0 && hint >= MMAP_MIN_ADDR && hint + size <= TASK_SIZE && !this.overlaps(hint, hint + size)
          ? hint
          : this.findFree(size, align);
      if (start < 0) return -ENOMEM;
    }

    let obj: MemObject;
    let pgoff = 0;
    if (anon) {
      obj = new MemObject(this.phys, size, huge, shared, shared ? 'shmem' : 'anon');
      if (huge && !(flags & MAP_NORESERVE) && !obj.populate(0, obj.pages)) {
        obj.maybeRelease();
        return -ENOMEM;
      }
    } else if (shared) {
      obj = (file as MemFile).obj;
      pgoff = offset >> PAGE_SHIFT;
    } else {
      const src = (file as MemFile).obj;
      obj = new MemObject(this.phys, size, huge, false, `private:${src.name}`);
      obj.bytes.set(src.bytes.subarray(Math.min(offset, src.size), Math.min(offset + size, src.size)));
    }

    if (flags & MAP_FIXED) {
      const r = this.unmapRange(start, start + size);
      if (r < 0) {
        obj.maybeRelease();
        return r;
      }
    }
    const vma: Vma = {
      start,
      end: start + size,
      prot,
      flags: type | (flags & (MAP_ANONYMOUS | MAP_HUGETLB | MAP_NORESERVE)),
      obj,
      pgoff,
      file: anon ? undefined : file,
    };
    this.insert(vma);
    if (flags & MAP_POPULATE) obj.populate(pgoff, Math.min(size >> PAGE_SHIFT, obj.pages - pgoff));
    return start;
  }

  private insert(vma: Vma): void {
    this.generation++;
    vma.obj.refs++;
    let i = 0;
    while (i < this.vmas.length && (this.vmas[i] as Vma).start < vma.start) i++;
    this.vmas.splice(i, 0, vma);
  }

  /**
   * A device mapping (VM_IO | VM_PFNMAP) of physical MMIO at `phys`, placed as mmap() would place
   * it: the address, or -errno. Loads and stores go to the device, never to RAM.
   */
  mmapIo(addr: number, len: number, prot: number, flags: number, phys: number): number {
    const size = pageUp(len);
    if (size === 0) return -EINVAL;
    const fixed = (flags & MAP_FIXED) !== 0;
    const start = fixed ? addr : this.findFree(size, PAGE_SIZE);
    if (start < 0 || start % PAGE_SIZE !== 0) return fixed ? -EINVAL : -ENOMEM;
    if (fixed) {
      const r = this.unmapRange(start, start + size);
      if (r < 0) return r;
    }
    const obj = new MemObject(this.phys, 0, false, true, 'io');
    this.insert({ start, end: start + size, prot, flags: flags & MAP_TYPE, obj, pgoff: 0, file: undefined, ioPhys: phys });
    return start;
  }

  /** munmap(2): 0 or -errno. */
  munmap(addr: number, len: number): number {
    if (!Number.isInteger(addr) || addr % PAGE_SIZE !== 0 || addr < 0 || addr > TASK_SIZE) return -EINVAL;
    if (!Number.isInteger(len) || len < 0 || len > TASK_SIZE - addr) return -EINVAL;
    const size = pageUp(len);
    if (size === 0) return -EINVAL;
    return this.unmapRange(addr, addr + size);
  }

  /** Splits the VMAs at `start` and `end` so whole VMAs cover the range; -EINVAL inside a huge page. */
  private split(start: number, end: number): number {
    for (const v of this.vmas) {
      if (v.end <= start || v.start >= end) continue;
      const hugeAlign = v.flags & MAP_HUGETLB || v.obj.huge ? HPAGE_SIZE : PAGE_SIZE;
      for (const cut of [start, end]) {
        if (cut > v.start && cut < v.end && cut % hugeAlign !== 0) return -EINVAL;
      }
    }
    const out: Vma[] = [];
    for (const v of this.vmas) {
      const cuts = [start, end].filter((c) => c > v.start && c < v.end);
      if (cuts.length === 0) {
        out.push(v);
        continue;
      }
      let from = v.start;
      for (const c of [...cuts, v.end]) {
        const piece: Vma = { ...v, start: from, end: c, pgoff: v.pgoff + ((from - v.start) >> PAGE_SHIFT) };
        if (from !== v.start) v.obj.refs++;
        out.push(piece);
        from = c;
      }
    }
    this.vmas = out;
    this.last = undefined;
    this.generation++;
    return 0;
  }

  private unmapRange(start: number, end: number): number {
    const r = this.split(start, end);
    if (r < 0) return r;
    const keep: Vma[] = [];
    for (const v of this.vmas) {
      if (v.start >= start && v.end <= end) v.obj.put();
      else keep.push(v);
    }
    this.vmas = keep;
    this.last = undefined;
    this.generation++;
    return 0;
  }

  /** mprotect(2): 0 or -errno (-ENOMEM when part of the range is not mapped). */
  mprotect(addr: number, len: number, prot: number): number {
    if (!Number.isInteger(addr) || addr % PAGE_SIZE !== 0) return -EINVAL;
    const size = pageUp(len);
    if (size === 0) return 0;
    for (let a = addr; a < addr + size; ) {
      const v = this.findVma(a);
      if (!v) return -ENOMEM;
      a = v.end;
    }
    const r = this.split(addr, addr + size);
    if (r < 0) return r;
    for (const v of this.vmas) if (v.start >= addr && v.end <= addr + size) v.prot = prot;
    this.generation++;
    return 0;
  }

  /**
   * Resolves a user address to backing bytes within one VMA, honouring x86 protection: any of
   * read/write/exec makes a page readable; writing needs PROT_WRITE. False on a fault.
   */
  span(uaddr: number, len: number, write: boolean, out: Span): boolean {
    const v = this.findVma(uaddr);
    if (!v || v.ioPhys !== undefined || v.prot === PROT_NONE || (write && !(v.prot & PROT_WRITE))) return false;
    const off = (v.pgoff << PAGE_SHIFT) + (uaddr - v.start);
    const avail = Math.min(v.end - uaddr, v.obj.size - off);
    if (avail <= 0) return false;
    out.buf = v.obj.bytes;
    out.off = off;
    out.len = Math.min(len, avail);
    return true;
  }
}
