// The guest's physical memory as its kernel sees it: one byte array indexed by guest-physical
// address (the VMM's RAM mapping), and a page allocator for what drivers need to share with a
// device (rings, packet buffers, request headers).
// Not a kernel file; the allocator is first-fit over the usable RAM ranges with coalescing free,
// standing in for alloc_pages/dma_alloc_coherent. Nothing here allocates per packet.

import { ENOMEM } from '../../uapi/index.js';

export const GUEST_PAGE_SIZE = 4096;

/** A usable guest-physical range [start, end). */
export interface GuestRange {
  start: number;
  end: number;
}

export class GuestMemory {
  /** Free ranges, sorted and disjoint. */
  private free: GuestRange[];
  private readonly owned = new Map<number, number>();

  /** `bytes[gpa]` is the byte at guest-physical address gpa; `usable` the RAM the guest may use. */
  constructor(
    readonly bytes: Uint8Array,
    usable: readonly GuestRange[],
  ) {
    this.free = usable.map((r) => ({ start: pageUp(r.start), end: r.end - (r.end % GUEST_PAGE_SIZE) })).filter((r) => r.end > r.start);
  }

  /** Page-aligned guest-physical memory of at least `size` bytes, zeroed; -ENOMEM when none is left. */
  alloc(size: number): number {
    const len = pageUp(Math.max(1, size));
    for (let i = 0; i < this.free.length; i++) {
      const r = this.free[i] as GuestRange;
      if (r.end - r.start < len) continue;
      const gpa = r.start;
      r.start += len;
      if (r.start === r.end) this.free.splice(i, 1);
      this.owned.set(gpa, len);
      this.bytes.fill(0, gpa, gpa + len);
      return gpa;
    }
    return -ENOMEM;
  }

  /** Returns an allocation; freeing what was not allocated is a guest kernel bug and throws. */
  release(gpa: number): void {
    const len = this.owned.get(gpa);
    if (len === undefined) throw new Error(`guest memory: 0x${gpa.toString(16)} was not allocated`);
    this.owned.delete(gpa);
    const end = gpa + len;
    let i = 0;
    while (i < this.free.length && (this.free[i] as GuestRange).start < gpa) i++;
    const prev = this.free[i - 1];
    const next = this.free[i];
    if (prev && prev.end === gpa && next && next.start === end) {
      prev.end = next.end;
      this.free.splice(i, 1);
    } else if (prev && prev.end === gpa) {
      prev.end = end;
    } else if (next && next.start === end) {
      next.start = gpa;
    } else {
      this.free.splice(i, 0, { start: gpa, end });
    }
  }

  /** Bytes still free. */
  get available(): number {
    let n = 0;
    for (const r of this.free) n += r.end - r.start;
    return n;
  }
}

function pageUp(n: number): number {
  return Math.ceil(n / GUEST_PAGE_SIZE) * GUEST_PAGE_SIZE;
}
