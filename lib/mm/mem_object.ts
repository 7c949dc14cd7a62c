// What a mapping maps: an anonymous region or a memfd-like shared file (the kernel's anon pages
// and shmem/hugetlbfs inodes, in one object). Its bytes are one ArrayBuffer; its pages get
// physical frames (pfns) from PhysMem when populated or pinned. Not a kernel file.

import { PAGE_SHIFT, PAGES_PER_HPAGE, pageUp } from './page.js';
import type { PhysMem } from './phys.js';

export class MemObject {
  readonly bytes: Uint8Array;
  readonly pages: number;
  /** Physical frame of each 4 KiB page, -1 while unpopulated. */
  readonly pfn: Int32Array;
  /** Pin count of each page (pin_user_pages). */
  readonly pins: Uint32Array;
  /** Mappings and open handles that keep the object alive. */
  refs = 0;
  /** Pages with a non-zero pin count. */
  pinnedPages = 0;
  /** True once its frames went back to PhysMem. */
  released = false;

  constructor(
    readonly phys: PhysMem,
    size: number,
    readonly huge: boolean,
    /** A shared file: every mapping sees the same bytes (shmem, memfd, hugetlbfs). */
    readonly shared: boolean,
    readonly name: string,
  ) {
    const bytes = pageUp(size);
    this.bytes = new Uint8Array(bytes);
    this.pages = bytes >> PAGE_SHIFT;
    this.pfn = new Int32Array(this.pages).fill(-1);
    this.pins = new Uint32Array(this.pages);
  }

  get size(): number {
    return this.bytes.length;
  }

  /**
   * Gives frames to pages [page, page + count) that have none. Returns false if a hugetlb
   * object cannot get huge pages (pool exhausted).
   */
  populate(page: number, count: number): boolean {
    const end = Math.min(page + count, this.pages);
    let p = this.huge ? page - (page % PAGES_PER_HPAGE) : page;
    while (p < end) {
      if (this.pfn[p] !== -1) {
        p++;
        continue;
      }
      let q = p;
      while (q < end && this.pfn[q] === -1) q++;
      if (this.huge) q = Math.min(this.pages, q + ((PAGES_PER_HPAGE - (q % PAGES_PER_HPAGE)) % PAGES_PER_HPAGE));
      if (!this.phys.allocate(this, p, q - p)) return false;
      p = q;
    }
    return true;
  }

  /** Drops one reference; at zero (and with nothing pinned) the frames return to PhysMem. */
  put(): void {
    this.refs--;
    this.maybeRelease();
  }

  maybeRelease(): void {
    if (this.refs <= 0 && this.pinnedPages === 0 && !this.released) {
      this.released = true;
      this.phys.release(this);
    }
  }
}

/** A memfd: a named shared memory file that several address spaces can map. */
export class MemFile {
  readonly obj: MemObject;

  private constructor(obj: MemObject) {
    this.obj = obj;
    obj.refs++;
  }

  /** memfd_create(name) + ftruncate(size); `huge` is MFD_HUGETLB (2 MiB pages). */
  static create(phys: PhysMem, name: string, size: number, opts: { huge?: boolean } = {}): MemFile {
    return new MemFile(new MemObject(phys, size, opts.huge ?? false, true, `memfd:${name}`));
  }

  get size(): number {
    return this.obj.size;
  }

  /** close() of the last file descriptor: the file lives on while mapped. */
  close(): void {
    this.obj.put();
  }
}

