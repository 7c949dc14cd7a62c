// Models: QEMU softmmu/memory.c and physmem.c, the rules by which a CPU (or a host bridge) access
// to a memory BAR reaches the device's MemoryRegionOps: flatview_read/write_continue splits an
// access into pieces at region boundaries and at the natural alignment of the region-relative
// address (memory_access_size: at most valid.max_access_size, 4 when unset, and a power of two);
// memory_region_dispatch_read/write rejects a piece that is unaligned or outside
// valid.{min,max}_access_size (reads 0, writes are dropped: unassigned_mem_read/write); and
// access_with_adjusted_size hands the handler pieces of at most impl.max_access_size (4 for every
// region modelled here), low address first, the value masked to the piece.
// Deviations: bytes of a BAR no region decodes (holes) read all-ones and ignore writes, as a bus
// master abort does on real hardware (QEMU's unassigned handler reads 0 there); regions are
// little-endian only.

/** One MemoryRegion inside a BAR, with its MemoryRegionOps. */
export interface MmioRegion {
  readonly name: string;
  /** Offset of the region in its BAR. */
  readonly offset: number;
  readonly size: number;
  /** valid.min_access_size (default 1). */
  readonly validMin?: number;
  /** valid.max_access_size (default 4, as QEMU treats 0). */
  readonly validMax?: number;
  /** ops->read: `addr` is region-relative, `size` 1, 2 or 4; the result is masked to the size. */
  read(addr: number, size: number): number;
  /** ops->write: the value is already masked to the size. */
  write(addr: number, size: number, value: number): void;
}

const MASK = [0, 0xff, 0xffff, 0xffffff, 0xffffffff] as const;
/** The handlers' widest access (impl.max_access_size of every region here). */
const IMPL_MAX = 4;

const maskOf = (size: number): number => MASK[size] as number;

/** memory_region_access_valid(): alignment and the valid sizes. */
function accessValid(r: MmioRegion, addr: number, size: number): boolean {
  if ((addr & (size - 1)) !== 0) return false;
  return size >= (r.validMin ?? 1) && size <= (r.validMax ?? IMPL_MAX);
}

/**
 * memory_region_dispatch_read() of an aligned 1, 2, 4 or 8-byte piece: the value (8-byte pieces
 * come back as two 32-bit halves in `out`), 0 for an invalid access.
 */
export function dispatchRead(r: MmioRegion, addr: number, size: number, out: { lo: number; hi: number }): void {
  out.lo = out.hi = 0;
  if (!accessValid(r, addr, size)) return;
  if (size <= IMPL_MAX) {
    out.lo = (r.read(addr, size) & maskOf(size)) >>> 0;
    return;
  }
  out.lo = r.read(addr, IMPL_MAX) >>> 0;
  out.hi = r.read(addr + IMPL_MAX, IMPL_MAX) >>> 0;
}

/** memory_region_dispatch_write(): dropped when invalid. */
export function dispatchWrite(r: MmioRegion, addr: number, size: number, lo: number, hi: number): void {
  if (!accessValid(r, addr, size)) return;
  if (size <= IMPL_MAX) {
    r.write(addr, size, (lo & maskOf(size)) >>> 0);
    return;
  }
  r.write(addr, IMPL_MAX, lo >>> 0);
  r.write(addr + IMPL_MAX, IMPL_MAX, hi >>> 0);
}

/** A BAR as a container of regions, accessed 1, 2, 4 or 8 bytes at a time. */
export class MmioBar {
  private readonly regions: readonly MmioRegion[];
  // Scratch for assembling and splitting values: no allocation per access below 8 bytes.
  private readonly bytes = new Uint8Array(8);
  private readonly view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
  private readonly piece = { lo: 0, hi: 0 };

  constructor(
    readonly size: number,
    regions: readonly MmioRegion[],
  ) {
    this.regions = [...regions].sort((a, b) => a.offset - b.offset);
  }

  /** The region decoding `offset`, if any. */
  regionAt(offset: number): MmioRegion | undefined {
    for (const r of this.regions) if (offset >= r.offset && offset < r.offset + r.size) return r;
    return undefined;
  }

  /** Bytes from `offset` up to the next region (or the BAR end): a hole's extent. */
  private holeEnd(offset: number): number {
    for (const r of this.regions) if (r.offset > offset) return r.offset;
    return this.size;
  }

  /**
   * The length of the next piece at `rel` in `r` (memory_access_size): at most the valid
   * maximum, no wider than the address's alignment, a power of two.
   */
  private pieceLen(r: MmioRegion, rel: number, left: number): number {
    let max = r.validMax ?? IMPL_MAX;
    const align = rel & -rel;
    if (align !== 0 && align < max) max = align;
    let l = Math.min(left, max, r.size - rel);
    // pow2floor
    while (l & (l - 1)) l &= l - 1;
    return l;
  }

  /** flatview_read_continue(): `size` bytes at `offset` (the caller checked the bounds). */
  read(offset: number, size: number): number | bigint {
    const bytes = this.bytes;
    const view = this.view;
    let done = 0;
    while (done < size) {
      const at = offset + done;
      const r = this.regionAt(at);
      if (!r) {
        const l = Math.min(size - done, this.holeEnd(at) - at);
        bytes.fill(0xff, done, done + l);
        done += l;
        continue;
      }
      const rel = at - r.offset;
      const l = this.pieceLen(r, rel, size - done);
      dispatchRead(r, rel, l, this.piece);
      if (l === 8) {
        view.setUint32(done, this.piece.lo, true);
        view.setUint32(done + 4, this.piece.hi, true);
      } else {
        for (let k = 0; k < l; k++) bytes[done + k] = (this.piece.lo >>> (8 * k)) & 0xff;
      }
      done += l;
    }
    if (size === 8) return view.getBigUint64(0, true);
    if (size === 4) return view.getUint32(0, true);
    if (size === 2) return view.getUint16(0, true);
    return bytes[0] as number;
  }

  /** flatview_write_continue(). */
  write(offset: number, size: number, value: number | bigint): void {
    const bytes = this.bytes;
    const view = this.view;
    if (typeof value === 'bigint') view.setBigUint64(0, BigInt.asUintN(64, value), true);
    else {
      // A number: its low 32 bits (upper half zero), as a C caller passing a narrower value.
      view.setUint32(0, value >>> 0, true);
      view.setUint32(4, 0, true);
    }
    let done = 0;
    while (done < size) {
      const at = offset + done;
      const r = this.regionAt(at);
      if (!r) {
        done += Math.min(size - done, this.holeEnd(at) - at);
        continue;
      }
      const rel = at - r.offset;
      const l = this.pieceLen(r, rel, size - done);
      if (l === 8) {
        dispatchWrite(r, rel, 8, view.getUint32(done, true), view.getUint32(done + 4, true));
      } else {
        let v = 0;
        for (let k = 0; k < l; k++) v |= (bytes[done + k] as number) << (8 * k);
        dispatchWrite(r, rel, l, v >>> 0, 0);
      }
      done += l;
    }
  }
}
