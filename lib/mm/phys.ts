// Host "physical" memory for PA mode: page frames handed to MemObject pages when they are
// populated or pinned. Frames are numbers; the bytes stay in the MemObject's buffer, so a frame
// resolves to (object, page). Runs of frames are physically contiguous exactly when the
// placement policy says so: vhost-vdpa makes one IOTLB entry per contiguous run of pinned pages,
// so the transcript replayer reproduces the real kernel's runs through `placement`.
// Not a kernel file (the page allocator, reduced to what vhost-vdpa can observe).

import type { MemObject } from './mem_object.js';
import { type MemorySpace, PAGE_SHIFT, PAGE_SIZE, PAGES_PER_HPAGE, type Span } from './page.js';

/** One run of physically contiguous frames backing consecutive pages of one object. */
export interface PhysRun {
  readonly pfn: number;
  readonly count: number;
  readonly obj: MemObject;
  /** First page of the object the run backs. */
  readonly page: number;
}

/**
 * Decides how `count` pages of `obj` starting at `page` are laid out physically: the lengths of
 * the contiguous runs, in order, summing to `count`. undefined: one run (the default).
 */
export type PlacementPolicy = (req: { obj: MemObject; page: number; count: number }) => readonly number[] | undefined;

export interface PhysMemOptions {
  /** Number of 2 MiB huge pages in the hugetlb pool (default 512 = 1 GiB). */
  hugepages?: number;
  placement?: PlacementPolicy;
}

/** First frame handed out (1 MiB, above the legacy low memory). */
const FIRST_PFN = 0x100;

export class PhysMem implements MemorySpace {
  placement: PlacementPolicy | undefined;
  generation = 0;
  hugepagesTotal: number;
  hugepagesFree: number;
  private nextPfn = FIRST_PFN;
  /** Live runs sorted by pfn (frames are never reused, so appends keep the order). */
  private runs: PhysRun[] = [];
  private lastHit = -1;

  constructor(opts: PhysMemOptions = {}) {
    this.hugepagesTotal = opts.hugepages ?? 512;
    this.hugepagesFree = this.hugepagesTotal;
    this.placement = opts.placement;
  }

  /**
   * Assigns frames to pages [page, page + count) of `obj` (all unpopulated). Separate runs are
   * never adjacent: a one-frame gap keeps them apart. Returns false if the hugetlb pool is empty.
   */
  allocate(obj: MemObject, page: number, count: number): boolean {
    if (obj.huge) {
      const hpages = Math.ceil(count / PAGES_PER_HPAGE);
      if (hpages > this.hugepagesFree) return false;
      this.hugepagesFree -= hpages;
      for (let h = 0; h < hpages; h++) {
        // Huge pages are physically contiguous and aligned to their size.
        const start = Math.ceil((this.nextPfn + 1) / PAGES_PER_HPAGE) * PAGES_PER_HPAGE;
        const n = Math.min(PAGES_PER_HPAGE, count - h * PAGES_PER_HPAGE);
        this.addRun(obj, page + h * PAGES_PER_HPAGE, start, n);
        this.nextPfn = start + PAGES_PER_HPAGE;
      }
      return true;
    }
    const lengths = this.placement?.({ obj, page, count }) ?? [count];
    let done = 0;
    for (const len of lengths) {
      const n = Math.min(len, count - done);
      if (n <= 0) break;
      this.addRun(obj, page + done, this.nextPfn + 1, n);
      this.nextPfn += n + 1;
      done += n;
    }
    if (done < count) {
      this.addRun(obj, page + done, this.nextPfn + 1, count - done);
      this.nextPfn += count - done + 1;
    }
    return true;
  }

  private addRun(obj: MemObject, page: number, pfn: number, count: number): void {
    for (let i = 0; i < count; i++) obj.pfn[page + i] = pfn + i;
    this.runs.push({ pfn, count, obj, page });
  }

  /** Returns the frames of an object that is gone. */
  release(obj: MemObject): void {
    this.generation++;
    if (obj.huge) this.hugepagesFree += populatedHugePages(obj);
    this.runs = this.runs.filter((r) => r.obj !== obj);
    obj.pfn.fill(-1);
    this.lastHit = -1;
  }

  private runIndex(pfn: number): number {
    const last = this.runs[this.lastHit];
    if (last && pfn >= last.pfn && pfn < last.pfn + last.count) return this.lastHit;
    let lo = 0;
    let hi = this.runs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = this.runs[mid] as PhysRun;
      if (pfn < r.pfn) hi = mid - 1;
      else if (pfn >= r.pfn + r.count) lo = mid + 1;
      else return (this.lastHit = mid);
    }
    return -1;
  }

  /** The object page behind a frame, or undefined for a frame no object owns. */
  pageOf(pfn: number): { obj: MemObject; page: number } | undefined {
    const i = this.runIndex(pfn);
    if (i < 0) return undefined;
    const r = this.runs[i] as PhysRun;
    return { obj: r.obj, page: r.page + (pfn - r.pfn) };
  }

  /**
   * Resolves physical address `pa` to backing bytes, at most `len` of them and never past the
   * end of its run. Returns false for an address no object owns (the model's "not RAM").
   * Physical memory has no protection: `write` does not matter.
   */
  span(pa: number, len: number, _write: boolean, out: Span): boolean {
    const i = this.runIndex(Math.floor(pa / PAGE_SIZE));
    if (i < 0) return false;
    const r = this.runs[i] as PhysRun;
    const runStart = r.pfn * PAGE_SIZE;
    const off = (r.page << PAGE_SHIFT) + (pa - runStart);
    out.buf = r.obj.bytes;
    out.off = off;
    out.len = Math.min(len, runStart + r.count * PAGE_SIZE - pa);
    return true;
  }

  /** The runs backing an object, in page order (what /proc/self/pagemap would show). */
  runsOf(obj: MemObject): PhysRun[] {
    return this.runs.filter((r) => r.obj === obj).sort((a, b) => a.page - b.page);
  }
}

function populatedHugePages(obj: MemObject): number {
  let n = 0;
  for (let p = 0; p < obj.pages; p += PAGES_PER_HPAGE) if (obj.pfn[p] !== -1) n++;
  return n;
}
