// Page geometry of the modelled x86-64 host. Not a kernel file (arch/x86/include/asm/page_types.h,
// processor.h values).

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
export const PAGE_MASK = ~(PAGE_SIZE - 1);

/** A 2 MiB huge page (hugetlb default on x86-64). */
export const HPAGE_SHIFT = 21;
export const HPAGE_SIZE = 1 << HPAGE_SHIFT;
export const PAGES_PER_HPAGE = HPAGE_SIZE / PAGE_SIZE;

/** Top of the user address space with 4-level paging (TASK_SIZE_MAX). */
export const TASK_SIZE = 0x7ffffffff000;

/** Default RLIMIT_MEMLOCK (MLOCK_LIMIT of include/uapi/linux/resource.h since 5.16): 8 MiB. */
export const MLOCK_LIMIT = 8 * 1024 * 1024;

export const alignUp = (x: number, a: number): number => Math.ceil(x / a) * a;
export const alignDown = (x: number, a: number): number => Math.floor(x / a) * a;
export const isAligned = (x: number, a: number): boolean => x % a === 0;
export const pageUp = (x: number): number => alignUp(x, PAGE_SIZE);
export const pageDown = (x: number): number => alignDown(x, PAGE_SIZE);

/** A contiguous piece of backing memory: `len` bytes of `buf` from `off`. Reused to avoid allocation. */
export interface Span {
  buf: Uint8Array;
  off: number;
  len: number;
}

/**
 * An address space a device reaches translated addresses in: physical memory (PA mode) or a
 * process's user addresses (VA mode).
 */
export interface MemorySpace {
  /**
   * Resolves `addr` to at most `len` contiguous backing bytes; false on a fault. Until
   * `generation` changes, any part of a span that resolved resolves (with the same `write`) to
   * the matching part of it: caches of spans rely on this.
   */
  span(addr: number, len: number, write: boolean, out: Span): boolean;
  /** Bumped whenever a span that resolved could resolve differently (unmap, protect, release). */
  readonly generation: number;
}

export function newSpan(): Span {
  return { buf: EMPTY, off: 0, len: 0 };
}

const EMPTY = new Uint8Array(0);
