// Models: drivers/vhost/vringh.c, the IOTLB variant (vringh_*_iotlb, with use_va selecting VA
// mode): the host side of a split virtqueue whose addresses are IOVAs translated through a
// vhost_iotlb into a memory space (physical memory in PA mode, the bound mm's user addresses in
// VA mode).
// Kept exactly: head >= num is EINVAL without consuming; last_avail_idx advances before the chain
// is walked; indirect tables are followed whatever the features; nested indirect and a length not
// a multiple of 16 are EINVAL; INDIRECT|NEXT continues after the table (but a next of 0 ends the
// chain, `up_next > 0`); more than num direct or table-size indirect descriptors is ELOOP; a
// readable descriptor after a writable one is EINVAL; a descriptor for a missing iov is EPROTO.
// Descriptors are not translated while walking (IOTLB mode stores IOVAs); translation happens on
// pull/push, up to 16 segments per batch, and any failure there is EFAULT. Ring index reads
// (getu16) return the translation error as is (EINVAL gap, EPERM permission); the used.idx
// store is checked against the read permission (the kernel's VHOST_MAP_RO quirk).
// Deviations: little-endian only (what every x86 host uses); no weak/strong barrier distinction
// (the model is single-threaded).

import { EFAULT, EINVAL, ELOOP, ENOBUFS, EPROTO, VIRTIO_RING_F_EVENT_IDX, VRING_AVAIL_F_NO_INTERRUPT, VRING_DESC_F_INDIRECT, VRING_DESC_F_NEXT, VRING_DESC_F_WRITE, VRING_USED_F_NO_NOTIFY, vring_need_event } from '../../uapi/index.js';
import { type IotlbMapRange, VHOST_MAP_RO, VHOST_MAP_WO, type VhostIotlb } from '../iotlb/index.js';
import { type MemorySpace, newSpan } from '../mm/index.js';

const TWO32 = 4294967296;
/** IOTLB_IOV_STRIDE: segments translated per batch in copy_{from,to}_iotlb. */
export const IOTLB_IOV_STRIDE = 16;

/** struct vringh_kiov: IOVA segments (two 32-bit words each) with a consumption cursor. */
export class VringhKiov {
  hi: Uint32Array;
  lo: Uint32Array;
  len: Float64Array;
  /** Segments filled by getdesc. */
  used = 0;
  /** Segment being consumed. */
  i = 0;
  /** Bytes consumed of segment i. */
  consumed = 0;

  constructor(capacity = 8) {
    this.hi = new Uint32Array(capacity);
    this.lo = new Uint32Array(capacity);
    this.len = new Float64Array(capacity);
  }

  reset(): void {
    this.i = this.used = this.consumed = 0;
  }

  /** resize_iovec(): doubles the capacity. */
  grow(): void {
    const n = Math.max(8, this.hi.length * 2);
    const hi = new Uint32Array(n);
    const lo = new Uint32Array(n);
    const len = new Float64Array(n);
    hi.set(this.hi);
    lo.set(this.lo);
    len.set(this.len);
    this.hi = hi;
    this.lo = lo;
    this.len = len;
  }

  push(hi: number, lo: number, len: number): void {
    if (this.used === this.hi.length) this.grow();
    this.hi[this.used] = hi;
    this.lo[this.used] = lo;
    this.len[this.used] = len;
    this.used++;
  }

  /** Bytes left to consume. */
  remaining(): number {
    let n = 0;
    for (let k = this.i; k < this.used; k++) n += this.len[k] as number;
    return n;
  }

  /** vringh_kiov_advance(): skips up to `n` bytes, across segments. */
  skip(n: number): void {
    while (n > 0 && this.i < this.used) {
      const part = Math.min(n, this.len[this.i] as number);
      this.advance(part);
      n -= part;
    }
  }

  /** Moves the cursor `n` bytes within the current segment (vringh_iov_xfer's bookkeeping). */
  advance(n: number): void {
    // A whole element in one go: nothing to adjust and restore.
    if (this.consumed === 0 && n === this.len[this.i]) this.i++;
    else this.advancePart(n);
  }

  /** advance() within an element, apart so that advance() stays small enough to inline. */
  private advancePart(n: number): void {
    const k = this.i;
    this.consumed += n;
    this.len[k] = (this.len[k] as number) - n;
    addTo(this, k, n);
    if (this.len[k] === 0) {
      // Restore the element to its original extent, then move on (as the kernel does).
      this.len[k] = this.consumed;
      addTo(this, k, -this.consumed);
      this.consumed = 0;
      this.i++;
    }
  }
}

/** Whole-buffer views of one ArrayBuffer (views, not access: translation decides that). */
interface BufferViews {
  bytes: Uint8Array;
  words: Int32Array<ArrayBufferLike>;
  quads: BigInt64Array<ArrayBufferLike>;
}

const bufferViews = new WeakMap<ArrayBufferLike, BufferViews>();

/** The views of `ab`, made once per buffer. */
function viewsOf(ab: ArrayBufferLike): BufferViews {
  let v = bufferViews.get(ab);
  if (!v) {
    v = {
      bytes: new Uint8Array(ab),
      words: new Int32Array(ab, 0, ab.byteLength >>> 2),
      quads: new BigInt64Array(ab, 0, ab.byteLength >>> 3),
    };
    bufferViews.set(ab, v);
  }
  return v;
}

const EMPTY = viewsOf(new ArrayBuffer(0));

/**
 * memcpy() of n bytes between buffers at absolute byte offsets, allocating nothing for the
 * small copies a packet datapath makes. The usual case, 8-byte aligned, is kept small so that it
 * inlines; BigInt64Array elements copy bit-exactly and, in optimised code, without making
 * BigInts. Eight a turn: the loop costs as much as the copying.
 */
function copyAbs(dst: BufferViews, d: number, src: BufferViews, s: number, n: number): void {
  if (((d | s) & 7) !== 0 || n > 512 || dst === src) {
    copyAbsOther(dst, d, src, s, n);
    return;
  }
  const dQ = dst.quads;
  const sQ = src.quads;
  let dq = d / 8;
  let sq = s / 8;
  let j = 0;
  for (; j + 64 <= n; j += 64, dq += 8, sq += 8) {
    dQ[dq] = sQ[sq] as bigint;
    dQ[dq + 1] = sQ[sq + 1] as bigint;
    dQ[dq + 2] = sQ[sq + 2] as bigint;
    dQ[dq + 3] = sQ[sq + 3] as bigint;
    dQ[dq + 4] = sQ[sq + 4] as bigint;
    dQ[dq + 5] = sQ[sq + 5] as bigint;
    dQ[dq + 6] = sQ[sq + 6] as bigint;
    dQ[dq + 7] = sQ[sq + 7] as bigint;
  }
  for (; j + 8 <= n; j += 8) dQ[dq++] = sQ[sq++] as bigint;
  for (; j < n; j++) dst.bytes[d + j] = src.bytes[s + j] as number;
}

/** copyAbs() of the rest: within one buffer (a memmove), 4-byte aligned, unaligned, or long. */
function copyAbsOther(dst: BufferViews, d: number, src: BufferViews, s: number, n: number): void {
  const dB = dst.bytes;
  const sB = src.bytes;
  if (dst === src) {
    dB.copyWithin(d, s, s + n);
  } else if (((d | s) & 3) === 0 && n <= 256) {
    const dW = dst.words;
    const sW = src.words;
    let dw = d / 4;
    let sw = s / 4;
    let j = 0;
    for (; j + 32 <= n; j += 32, dw += 8, sw += 8) {
      dW[dw] = sW[sw] as number;
      dW[dw + 1] = sW[sw + 1] as number;
      dW[dw + 2] = sW[sw + 2] as number;
      dW[dw + 3] = sW[sw + 3] as number;
      dW[dw + 4] = sW[sw + 4] as number;
      dW[dw + 5] = sW[sw + 5] as number;
      dW[dw + 6] = sW[sw + 6] as number;
      dW[dw + 7] = sW[sw + 7] as number;
    }
    for (; j + 4 <= n; j += 4) dW[dw++] = sW[sw++] as number;
    for (; j < n; j++) dB[d + j] = sB[s + j] as number;
  } else if (n <= 32) {
    for (let j = 0; j < n; j++) dB[d + j] = sB[s + j] as number;
  } else {
    // Here one allocation costs less than an element loop.
    dB.set(sB.subarray(s, s + n), d);
  }
}

/** memcpy() between byte arrays, for the paths that do not run per packet. */
function copyBytes(dst: Uint8Array, dstOff: number, src: Uint8Array, srcOff: number, n: number): void {
  copyAbs(viewsOf(dst.buffer), dst.byteOffset + dstOff, viewsOf(src.buffer), src.byteOffset + srcOff, n);
}

/** iov[k].base += delta, with 64-bit wrap. */
function addTo(iov: VringhKiov, k: number, delta: number): void {
  const l = (iov.lo[k] as number) + delta;
  const carry = Math.floor(l / TWO32);
  iov.lo[k] = l - carry * TWO32;
  iov.hi[k] = ((iov.hi[k] as number) + carry) >>> 0;
}

export interface VringhHead {
  head: number;
}

export class Vringh {
  eventIndices = false;
  useVa = false;
  /** u16 */
  lastAvailIdx = 0;
  /** u16 */
  lastUsedIdx = 0;
  /** Completions since the last need_notify (u32). */
  completed = 0;
  num = 0;
  private descHi = 0;
  private descLo = 0;
  private availHi = 0;
  private availLo = 0;
  private usedHi = 0;
  private usedLo = 0;
  iotlb: VhostIotlb | undefined;
  mem: MemorySpace | undefined;

  // Scratch state reused by every access: the model allocates nothing per descriptor.
  private readonly xlate = { addr: 0, len: 0 };
  private readonly span = newSpan();
  private readonly segAddr = new Float64Array(IOTLB_IOV_STRIDE);
  private readonly segLen = new Float64Array(IOTLB_IOV_STRIDE);
  private readonly desc = new Uint8Array(16);
  private readonly descView = new DataView(this.desc.buffer);
  private readonly u16buf = new Uint8Array(2);
  private readonly used = new Uint8Array(8);
  private readonly usedView = new DataView(this.used.buffer);
  private rHi = 0;
  private rLo = 0;

  // Translation caches, exact because they are dropped whenever the IOTLB or the memory space
  // changes (their generations; caches() checks at every entry point) and hold only what the
  // slow path would answer. The ring cache: each ring part's bytes when one IOTLB map and one
  // memory span cover it whole with the permissions its accesses need.
  private cacheIotlb: VhostIotlb | undefined;
  private cacheMem: MemorySpace | undefined;
  private cacheIotlbGen = -1;
  private cacheMemGen = -1;
  private descV: DataView | undefined;
  private descO = 0;
  private availV: DataView | undefined;
  private availO = 0;
  private usedV: DataView | undefined;
  private usedO = 0;
  // Buffer windows: the IOVAs [start, end) (below 2^53) that one IOTLB map translates into one
  // memory span, readable (RO) or writable (WO). The byte at iova is buf[iova + delta], that is
  // bytes[iova + base] of the views V. An access inside one needs no IOTLB lookup. Empty when
  // end is 0.
  private rdStart = 0;
  private rdEnd = 0;
  private rdBuf: Uint8Array = EMPTY.bytes;
  private rdDelta = 0;
  private rdV = EMPTY;
  private rdBase = 0;
  private wrStart = 0;
  private wrEnd = 0;
  private wrBuf: Uint8Array = EMPTY.bytes;
  private wrDelta = 0;
  private wrV = EMPTY;
  private wrBase = 0;
  private readonly map: IotlbMapRange = { start: 0, last: 0, addr: 0, perm: 0 };
  private readonly winSpan = newSpan();

  /**
   * vringh_init_iotlb() / vringh_init_iotlb_va(): 0, or -EINVAL unless num is a non-zero power
   * of two <= 0xffff (the state is left unchanged then). Addresses are IOVAs.
   */
  init(features: bigint, num: number, desc: bigint, avail: bigint, used: bigint, useVa: boolean): number {
    if (!num || num > 0xffff || (num & (num - 1)) !== 0) return -EINVAL;
    // The kernel is little-endian iff VERSION_1 or the host is; x86 hosts always are.
    this.useVa = useVa;
    this.eventIndices = (features & (1n << BigInt(VIRTIO_RING_F_EVENT_IDX))) !== 0n;
    this.completed = 0;
    this.lastAvailIdx = 0;
    this.lastUsedIdx = 0;
    this.num = num;
    this.descHi = Number(desc >> 32n);
    this.descLo = Number(desc & 0xffffffffn);
    this.availHi = Number(avail >> 32n);
    this.availLo = Number(avail & 0xffffffffn);
    this.usedHi = Number(used >> 32n);
    this.usedLo = Number(used & 0xffffffffn);
    this.cacheIotlb = undefined;
    return 0;
  }

  /** vringh_set_iotlb(), plus the memory space translated addresses live in. */
  setIotlb(iotlb: VhostIotlb, mem: MemorySpace): void {
    this.iotlb = iotlb;
    this.mem = mem;
    this.cacheIotlb = undefined;
  }

  /** Resolves a whole ring part to one span with `perm`; sets rV/rO, or returns false. */
  private rV: DataView | undefined;
  private rO = 0;
  private whole(hi: number, lo: number, len: number, perm: number, write: boolean): boolean {
    this.at(hi, lo, 0);
    if (this.direct(len, perm, write) !== 1) return false;
    this.rV = this.viewOf(this.span.buf);
    this.rO = this.span.off;
    return true;
  }

  /** Brings the translation caches up to date: every entry point calls it before translating. */
  private caches(): void {
    const iotlb = this.iotlb as VhostIotlb;
    const mem = this.mem as MemorySpace;
    if (this.cacheIotlb !== iotlb || this.cacheMem !== mem || iotlb.generation !== this.cacheIotlbGen || mem.generation !== this.cacheMemGen) {
      this.refresh(iotlb, mem);
    }
  }

  private refresh(iotlb: VhostIotlb, mem: MemorySpace): void {
    this.rdEnd = this.wrEnd = 0;
    const num = this.num;
    this.descV = this.whole(this.descHi, this.descLo, 16 * num, VHOST_MAP_RO, false) ? this.rV : undefined;
    this.descO = this.rO;
    this.availV = this.whole(this.availHi, this.availLo, 6 + 2 * num, VHOST_MAP_RO, false) ? this.rV : undefined;
    this.availO = this.rO;
    // Used elements are written with WO; the index (and flags) are stored after an RO check.
    this.usedV =
      this.whole(this.usedHi, this.usedLo, 6 + 8 * num, VHOST_MAP_RO, true) &&
      this.whole(this.usedHi, this.usedLo, 6 + 8 * num, VHOST_MAP_WO, true)
        ? this.rV
        : undefined;
    this.usedO = this.rO;
    this.cacheIotlb = iotlb;
    this.cacheMem = mem;
    // Read the generations last: resolving may not change them, but be exact if it ever does.
    this.cacheIotlbGen = iotlb.generation;
    this.cacheMemGen = mem.generation;
  }

  /** (hi, lo) + off into rHi/rLo. */
  private at(hi: number, lo: number, off: number): void {
    const l = lo + off;
    const carry = Math.floor(l / TWO32);
    this.rLo = l - carry * TWO32;
    this.rHi = (hi + carry) >>> 0;
  }

  /** Bytes the last translate() covered. */
  private translated = 0;

  /**
   * iotlb_translate() of [addr, addr + len) into at most `max` segments: the number of segments,
   * -ENOBUFS when more would be needed (the first `max` are filled), or the error of the segment
   * that fails (-EINVAL gap, -EPERM permission). Sets `translated` to the bytes covered.
   */
  private translate(hi: number, lo: number, len: number, perm: number, max = IOTLB_IOV_STRIDE): number {
    const iotlb = this.iotlb as VhostIotlb;
    let s = 0;
    let n = 0;
    while (len > s) {
      if (n >= max) {
        this.translated = s;
        return -ENOBUFS;
      }
      this.at(hi, lo, s);
      const r = iotlb.translate(this.rHi, this.rLo, len - s, perm, this.xlate);
      if (r < 0) {
        this.translated = s;
        return r;
      }
      this.segAddr[n] = this.xlate.addr;
      this.segLen[n] = this.xlate.len;
      s += this.xlate.len;
      n++;
    }
    this.translated = s;
    return n;
  }

  /** Copies between translated segments and `buf` (pull: read from memory). False on a memory fault. */
  private copySegments(n: number, buf: Uint8Array, bufOff: number, write: boolean): boolean {
    const mem = this.mem as MemorySpace;
    const span = this.span;
    for (let k = 0; k < n; k++) {
      let addr = this.segAddr[k] as number;
      let left = this.segLen[k] as number;
      while (left > 0) {
        if (!mem.span(addr, left, write, span)) return false;
        copyBytes(write ? span.buf : buf, write ? span.off : bufOff, write ? buf : span.buf, write ? bufOff : span.off, span.len);
        bufOff += span.len;
        addr += span.len;
        left -= span.len;
      }
    }
    return true;
  }

  /**
   * copy_from_iotlb() / copy_to_iotlb(): bytes copied, or the translation error. A batch of up to
   * 16 segments is translated before any of it is copied.
   */
  private copyIotlb(hi: number, lo: number, buf: Uint8Array, bufOff: number, len: number, write: boolean): number {
    // Inside a window (hi below 2^21: iova is below 2^53): straight between the buffers. Kept
    // small so that it inlines; the rest is copyTranslated().
    if (hi < 0x200000) {
      const iova = hi * TWO32 + lo;
      if (write ? iova >= this.wrStart && iova + len <= this.wrEnd : iova >= this.rdStart && iova + len <= this.rdEnd) {
        if (buf !== this.ioBuf) this.setIo(buf);
        if (write) copyAbs(this.wrV, iova + this.wrBase, this.ioV, this.ioBase + bufOff, len);
        else copyAbs(this.ioV, this.ioBase + bufOff, this.rdV, iova + this.rdBase, len);
        return len;
      }
    }
    return this.copyTranslated(hi, lo, buf, bufOff, len, write);
  }

  private copyTranslated(hi: number, lo: number, buf: Uint8Array, bufOff: number, len: number, write: boolean): number {
    // One map, one contiguous span: copied without the segment batch.
    this.at(hi, lo, 0);
    const d = this.direct(len, write ? VHOST_MAP_WO : VHOST_MAP_RO, write);
    if (d === 1) {
      const sp = this.span;
      copyBytes(write ? sp.buf : buf, write ? sp.off : bufOff, write ? buf : sp.buf, write ? bufOff : sp.off, len);
      return len;
    }
    if (d < 0) return d;
    let total = 0;
    while (total < len) {
      this.at(hi, lo, total);
      const r = this.translate(this.rHi, this.rLo, len - total, write ? VHOST_MAP_WO : VHOST_MAP_RO);
      const n = r === -ENOBUFS ? IOTLB_IOV_STRIDE : r;
      if (n < 0) return n;
      if (!this.copySegments(n, buf, bufOff + total, write)) return -EFAULT;
      total += this.translated;
    }
    return total;
  }

  private lastBuf: Uint8Array | undefined;
  private lastView: DataView = new DataView(new ArrayBuffer(0));

  /** A DataView of a backing buffer (cached: rings live in one buffer). */
  private viewOf(buf: Uint8Array): DataView {
    if (buf !== this.lastBuf) {
      this.lastBuf = buf;
      this.lastView = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    return this.lastView;
  }

  /**
   * Translates `len` bytes at rHi/rLo to one contiguous span (the common case), leaving the
   * backing bytes in `span`. 1 if contiguous, 0 if the bytes are split (use the copying path),
   * or -errno from the translation.
   */
  private direct(len: number, perm: number, write: boolean): number {
    // Only plain reads (RO) and writes (WO) use the windows; rHi below 2^21 means iova < 2^53.
    const windowed = perm === (write ? VHOST_MAP_WO : VHOST_MAP_RO) && this.rHi < 0x200000;
    const iova = this.rHi * TWO32 + this.rLo;
    if (windowed) {
      if (write ? iova >= this.wrStart && iova + len <= this.wrEnd : iova >= this.rdStart && iova + len <= this.rdEnd) {
        const sp = this.span;
        sp.buf = write ? this.wrBuf : this.rdBuf;
        sp.off = iova + (write ? this.wrDelta : this.rdDelta);
        sp.len = len;
        return 1;
      }
    }
    const r = (this.iotlb as VhostIotlb).translate(this.rHi, this.rLo, len, perm, this.xlate);
    if (r < 0) return r;
    if (this.xlate.len < len) return 0;
    if (!(this.mem as MemorySpace).span(this.xlate.addr, len, write, this.span)) return -EFAULT;
    if (this.span.len !== len) return 0;
    if (windowed) this.learn(iova, len, write);
    return 1;
  }

  /**
   * Sets the read or write window after [iova, iova + len) resolved to one span: the whole map
   * if one span backs it from its start past the access, else the map from iova on.
   */
  private learn(iova: number, len: number, write: boolean): void {
    const m = this.map;
    if (!(this.iotlb as VhostIotlb).mapAt(iova, m)) return;
    const mem = this.mem as MemorySpace;
    const sp = this.winSpan;
    let start = m.start;
    if (!mem.span(m.addr, m.last - m.start + 1, write, sp) || start + sp.len < iova + len) {
      start = iova;
      if (!mem.span(m.addr + (iova - m.start), m.last - iova + 1, write, sp)) return;
    }
    if (write) {
      this.wrStart = start;
      this.wrEnd = start + sp.len;
      this.wrBuf = sp.buf;
      this.wrDelta = sp.off - start;
      this.wrV = viewsOf(sp.buf.buffer);
      this.wrBase = this.wrDelta + sp.buf.byteOffset;
    } else {
      this.rdStart = start;
      this.rdEnd = start + sp.len;
      this.rdBuf = sp.buf;
      this.rdDelta = sp.off - start;
      this.rdV = viewsOf(sp.buf.buffer);
      this.rdBase = this.rdDelta + sp.buf.byteOffset;
    }
  }

  // The caller's buffer of the last window copy, its views and its offset in them (reading
  // .buffer and .byteOffset costs more than a small copy).
  private ioBuf: Uint8Array | undefined;
  private ioAb: ArrayBufferLike | undefined;
  private ioV = EMPTY;
  private ioBase = 0;

  private setIo(buf: Uint8Array): void {
    this.ioBuf = buf;
    const ab = buf.buffer;
    if (ab !== this.ioAb) {
      this.ioAb = ab;
      this.ioV = viewsOf(ab);
    }
    this.ioBase = buf.byteOffset;
  }

  /**
   * getu16_iotlb(): 0 and the value in u16Value, or the translation error as is (with one
   * segment allowed, a u16 split across two maps is -ENOBUFS, as in the kernel).
   */
  private u16Value = 0;
  private getu16(hi: number, lo: number, off: number): number {
    this.at(hi, lo, off);
    const d = this.direct(2, VHOST_MAP_RO, false);
    if (d === 1) {
      this.u16Value = this.viewOf(this.span.buf).getUint16(this.span.off, true);
      return 0;
    }
    if (d < 0) return d;
    const n = this.translate(this.rHi, this.rLo, 2, VHOST_MAP_RO, 1);
    if (n < 0) return n;
    if (!this.copySegments(n, this.u16buf, 0, false)) return -EFAULT;
    this.u16Value = (this.u16buf[0] as number) | ((this.u16buf[1] as number) << 8);
    return 0;
  }

  /** putu16_iotlb(): checked against VHOST_MAP_RO, as the kernel does. */
  private putu16(hi: number, lo: number, off: number, value: number): number {
    this.at(hi, lo, off);
    // The kernel checks the read permission here, then writes: resolve for writing on success.
    const d = this.direct(2, VHOST_MAP_RO, true);
    if (d === 1) {
      this.viewOf(this.span.buf).setUint16(this.span.off, value, true);
      return 0;
    }
    if (d < 0) return d;
    const n = this.translate(this.rHi, this.rLo, 2, VHOST_MAP_RO, 1);
    if (n < 0) return n;
    this.u16buf[0] = value & 0xff;
    this.u16buf[1] = (value >> 8) & 0xff;
    return this.copySegments(n, this.u16buf, 0, true) ? 0 : -EFAULT;
  }

  /** __vringh_get_head(): the head, num when empty, or -errno. */
  private getHead(): number {
    this.caches();
    const av = this.availV;
    if (av) {
      const idx = av.getUint16(this.availO + 2, true);
      if (this.lastAvailIdx === idx) return this.num;
      const head = av.getUint16(this.availO + 4 + 2 * (this.lastAvailIdx & (this.num - 1)), true);
      if (head >= this.num) return -EINVAL;
      this.lastAvailIdx = (this.lastAvailIdx + 1) & 0xffff;
      return head;
    }
    let err = this.getu16(this.availHi, this.availLo, 2);
    if (err) return err;
    if (this.lastAvailIdx === this.u16Value) return this.num;
    const i = this.lastAvailIdx & (this.num - 1);
    err = this.getu16(this.availHi, this.availLo, 4 + 2 * i);
    if (err) return err;
    const head = this.u16Value;
    if (head >= this.num) return -EINVAL;
    this.lastAvailIdx = (this.lastAvailIdx + 1) & 0xffff;
    return head;
  }

  /**
   * vringh_getdesc_iotlb(): 1 with the chain's readable and writable segments (IOVAs), 0 when
   * the ring is empty, or -errno. `out.head` is set as soon as a head is read.
   */
  getdesc(riov: VringhKiov | undefined, wiov: VringhKiov | undefined, out: VringhHead): number {
    const h = this.getHead();
    if (h < 0) return h;
    if (h === this.num) return 0;
    out.head = h;
    // A lone descriptor in the cached table (the datapath's usual chain): walk()'s first step,
    // whose checks all pass then.
    const dv = this.descV;
    if (dv !== undefined && (riov || wiov)) {
      const at = this.descO + 16 * h;
      const flags = dv.getUint16(at + 12, true);
      if (!(flags & (VRING_DESC_F_NEXT | VRING_DESC_F_INDIRECT))) {
        riov?.reset();
        wiov?.reset();
        const iov = flags & VRING_DESC_F_WRITE ? wiov : riov;
        if (!iov) return -EPROTO;
        iov.push(dv.getUint32(at + 4, true), dv.getUint32(at, true), dv.getUint32(at + 8, true));
        return 1;
      }
    }
    const err = this.walk(h, riov, wiov);
    return err ? err : 1;
  }

  /** __vringh_iov() with no_range_check and copydesc_iotlb. */
  private walk(head: number, riov: VringhKiov | undefined, wiov: VringhKiov | undefined): number {
    if (!riov && !wiov) return -EINVAL;
    riov?.reset();
    wiov?.reset();
    let i = head;
    let count = 0;
    let indirectCount = 0;
    let upNext = -1;
    let tableHi = this.descHi;
    let tableLo = this.descLo;
    let descMax = this.num;
    const d = this.descView;
    for (;;) {
      let src: DataView = d;
      let at = 0;
      const main = upNext === -1 && this.descV !== undefined;
      const fast = main ? 2 : (this.at(tableHi, tableLo, 16 * i), this.direct(16, VHOST_MAP_RO, false));
      if (fast === 2) {
        src = this.descV as DataView;
        at = this.descO + 16 * i;
      } else if (fast === 1) {
        src = this.viewOf(this.span.buf);
        at = this.span.off;
      } else if (fast < 0 || this.copyIotlb(this.rHi, this.rLo, this.desc, 0, 16, false) !== 16) {
        return -EFAULT;
      }
      const addrLo = src.getUint32(at, true);
      const addrHi = src.getUint32(at + 4, true);
      const len = src.getUint32(at + 8, true);
      const flags = src.getUint16(at + 12, true);
      const next = src.getUint16(at + 14, true);

      if (flags & VRING_DESC_F_INDIRECT) {
        // move_to_indirect(): tables cannot nest, and hold whole descriptors.
        if (upNext !== -1) return -EINVAL;
        if (len % 16 !== 0) return -EINVAL;
        upNext = flags & VRING_DESC_F_NEXT ? next : -2;
        tableHi = addrHi;
        tableLo = addrLo;
        descMax = len / 16;
        i = 0;
        continue;
      }

      if (upNext === -1) count++;
      else indirectCount++;
      if (count > this.num || indirectCount > descMax) return -ELOOP;

      let iov: VringhKiov | undefined;
      if (flags & VRING_DESC_F_WRITE) {
        iov = wiov;
      } else {
        iov = riov;
        if (wiov && wiov.used) return -EINVAL;
      }
      if (!iov) return -EPROTO;
      iov.push(addrHi, addrLo, len);

      if (flags & VRING_DESC_F_NEXT) {
        i = next;
      } else if (upNext > 0) {
        // return_from_indirect()
        i = upNext;
        upNext = -1;
        tableHi = this.descHi;
        tableLo = this.descLo;
        descMax = this.num;
        indirectCount = 0;
      } else {
        break;
      }
      if (i >= descMax) return -EINVAL;
    }
    return 0;
  }

  /**
   * vringh_iov_xfer(): bytes moved between the segments and buf[off, off + len), or -errno
   * (EFAULT for any translation or memory failure).
   */
  private xfer(iov: VringhKiov, buf: Uint8Array, off: number, len: number, write: boolean): number {
    let done = 0;
    while (len > 0 && iov.i < iov.used) {
      const k = iov.i;
      const part = Math.min(iov.len[k] as number, len);
      if (part > 0 && this.copyIotlb(iov.hi[k] as number, iov.lo[k] as number, buf, off + done, part, write) !== part) return -EFAULT;
      done += part;
      len -= part;
      iov.advance(part);
    }
    return done;
  }

  /**
   * vringh_iov_pull_iotlb(): copies up to `len` bytes from the readable segments into dst from
   * dstOff on (at most to its end); -EINVAL for a negative dstOff.
   */
  pull(riov: VringhKiov, dst: Uint8Array, len = dst.length, dstOff = 0): number {
    if (!(dstOff >= 0)) return -EINVAL;
    this.caches();
    return this.xfer(riov, dst, dstOff, Math.min(len, dst.length - dstOff), false);
  }

  /**
   * vringh_iov_push_iotlb(): copies up to `len` bytes of src from srcOff on (at most to its end)
   * into the writable segments; -EINVAL for a negative srcOff. An offset rather than a subarray:
   * a datapath pushing frames that lie in one larger buffer then makes no view per frame.
   */
  push(wiov: VringhKiov, src: Uint8Array, len = src.length, srcOff = 0): number {
    if (!(srcOff >= 0)) return -EINVAL;
    this.caches();
    return this.xfer(wiov, src, srcOff, Math.min(len, src.length - srcOff), true);
  }

  /** vringh_complete_iotlb(): publishes one used element; 0 or -errno. */
  complete(head: number, len: number): number {
    this.caches();
    const uv = this.usedV;
    if (uv === undefined) return this.completeTranslated(head, len);
    const usedIdx = (this.lastUsedIdx + this.completed) & 0xffff;
    const off = usedIdx & (this.num - 1);
    uv.setUint32(this.usedO + 4 + 8 * off, head, true);
    uv.setUint32(this.usedO + 8 + 8 * off, len >>> 0, true);
    uv.setUint16(this.usedO + 2, (usedIdx + 1) & 0xffff, true);
    this.completed++;
    return 0;
  }

  /** complete() when the used ring is not one cached span. */
  private completeTranslated(head: number, len: number): number {
    const usedIdx = (this.lastUsedIdx + this.completed) & 0xffff;
    const off = usedIdx & (this.num - 1);
    this.at(this.usedHi, this.usedLo, 4 + 8 * off);
    const fast = this.direct(8, VHOST_MAP_WO, true);
    if (fast === 1) {
      const v = this.viewOf(this.span.buf);
      v.setUint32(this.span.off, head, true);
      v.setUint32(this.span.off + 4, len >>> 0, true);
    } else {
      this.usedView.setUint32(0, head, true);
      this.usedView.setUint32(4, len >>> 0, true);
      if (fast < 0 || this.copyIotlb(this.rHi, this.rLo, this.used, 0, 8, true) !== 8) return -EFAULT;
    }
    const err = this.putu16(this.usedHi, this.usedLo, 2, (usedIdx + 1) & 0xffff);
    if (err) return err;
    this.completed++;
    return 0;
  }

  /** vringh_need_notify_iotlb(): 1 to notify, 0 not to, or -errno. */
  needNotify(): number {
    this.caches();
    if (this.availV) {
      if (!this.eventIndices) return this.availV.getUint16(this.availO, true) & VRING_AVAIL_F_NO_INTERRUPT ? 0 : 1;
      this.u16Value = this.availV.getUint16(this.availO + 4 + 2 * this.num, true);
      return this.eventNotify();
    }
    if (!this.eventIndices) {
      const err = this.getu16(this.availHi, this.availLo, 0);
      if (err) return err;
      // Old style never advances last_used_idx: completed keeps counting.
      return this.u16Value & VRING_AVAIL_F_NO_INTERRUPT ? 0 : 1;
    }
    const err = this.getu16(this.availHi, this.availLo, 4 + 2 * this.num);
    if (err) return err;
    return this.eventNotify();
  }

  /** The event-index decision, given used_event in u16Value. */
  private eventNotify(): number {
    const notify =
      this.completed > 0xffff ||
      vring_need_event(this.u16Value, (this.lastUsedIdx + this.completed) & 0xffff, this.lastUsedIdx);
    this.lastUsedIdx = (this.lastUsedIdx + this.completed) & 0xffff;
    this.completed = 0;
    return notify ? 1 : 0;
  }

  /** vringh_notify_enable_iotlb(): false if more buffers arrived meanwhile. */
  notifyEnable(): boolean {
    this.caches();
    const err = this.eventIndices
      ? this.putu16(this.usedHi, this.usedLo, 4 + 8 * this.num, this.lastAvailIdx)
      : this.putu16(this.usedHi, this.usedLo, 0, 0);
    if (err) return true;
    if (this.getu16(this.availHi, this.availLo, 2)) return true;
    return this.u16Value === this.lastAvailIdx;
  }

  /** vringh_notify_disable_iotlb(). */
  notifyDisable(): void {
    this.caches();
    if (!this.eventIndices) this.putu16(this.usedHi, this.usedLo, 0, VRING_USED_F_NO_NOTIFY);
  }
}
