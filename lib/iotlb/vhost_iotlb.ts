// Models: drivers/vhost/iotlb.c (vhost_iotlb: an interval tree of [start, last] -> addr maps)
// and iotlb_translate() of drivers/vhost/vringh.c (one translation step).
// Semantics kept: overlapping maps coexist and lookups return the lowest-start overlapping one
// (ties in insertion order); last < start is EFAULT; [0, 2^64-1] is stored as two halves;
// del_range removes every overlapping map whole; the limit applies only with
// VHOST_IOTLB_FLAG_RETIRE, by freeing the oldest map.
// Deviations: an AVL tree (not the kernel's augmented red-black tree) whose nodes are 64-byte
// records (hot fields four to a cache line); 64-bit values are kept exact as two 32-bit words.
// While no two maps overlap (the usual case: vhost-vdpa refuses overlaps in its own address
// spaces), translate() finds the map by a predecessor search, which gives the same answer as the
// interval search with fewer memory reads; once the map set has served nmaps/8 lookups
// unchanged, it builds a sorted array of starts and binary-searches that instead (any change
// drops it, so add/delete stay O(log n)). translate() computes the translated
// address as a JS number, exact below 2^53 (all memory the model has); a map whose translated
// range would wrap past 2^64 translates to an address no memory backs, where the kernel wraps.

import { EFAULT, EINVAL, EPERM, VHOST_ACCESS_RO, VHOST_ACCESS_RW, VHOST_ACCESS_WO } from '../../uapi/index.js';

export const VHOST_IOTLB_FLAG_RETIRE = 0x1;
/** The kernel's VHOST_MAP_* permissions have VHOST_ACCESS_*'s values. */
export const VHOST_MAP_RO = VHOST_ACCESS_RO;
export const VHOST_MAP_WO = VHOST_ACCESS_WO;
export const VHOST_MAP_RW = VHOST_ACCESS_RW;

export const U64_MAX = 0xffff_ffff_ffff_ffffn;
const TWO32 = 4294967296;

/** A map as the control path sees it (vhost_iotlb_map). */
export interface VhostIotlbMap {
  readonly start: bigint;
  readonly last: bigint;
  readonly size: bigint;
  readonly addr: bigint;
  readonly perm: number;
  readonly opaque: unknown;
  /** Internal handle; stale once the map is freed. */
  readonly node: number;
  readonly gen: number;
}

/** A whole map as numbers (mapAt()). */
export interface IotlbMapRange {
  start: number;
  /** Clamped below 2^53. */
  last: number;
  /** Translated address of `start` (exact below 2^53, as translate() computes it). */
  addr: number;
  perm: number;
}

/** Result of one translate() step. */
export interface IotlbXlate {
  /** Translated address of the first byte. */
  addr: number;
  /** Bytes valid from there (<= the requested length). */
  len: number;
}

const hi = (x: bigint): number => Number(x >> 32n);
const lo = (x: bigint): number => Number(x & 0xffff_ffffn);
const join = (h: number, l: number): bigint => (BigInt(h) << 32n) | BigInt(l);

// Node records. Node 0 is the nil sentinel. The fields a predecessor search reads (start, the
// children) sit in a compact "hot" record of 16 bytes, four per cache line; the rest in "cold".
const HOT = 4;
const S_HI = 0;
const S_LO = 1;
const LEFT = 2;
const RIGHT = 3;
const COLD = 12;
const L_HI = 0;
const L_LO = 1;
/** Subtree maximum of `last`. */
const M_HI = 2;
const M_LO = 3;
const HEIGHT = 4;
const PERM = 5;
const A_HI = 6;
const A_LO = 7;
/** Insertion-order list (the kernel's iotlb->list). */
const PREV = 8;
const NEXT = 9;
const GEN = 10;
const NIL = 0;

export class VhostIotlb {
  readonly limit: number;
  readonly flags: number;
  nmaps = 0;
  /** Bumped on every change: caches of translations compare it to stay exact. */
  generation = 0;
  /** Pairs of maps that overlap each other; 0 enables the predecessor fast path. */
  overlapPairs = 0;

  private hot = new Uint32Array(HOT * 16);
  private cold = new Uint32Array(COLD * 16);
  /** start and addr as doubles (for translate), and the insertion sequence (tie order). */
  private sD = new Float64Array(16);
  private aD = new Float64Array(16);
  private seq = new Float64Array(16);
  private opaques: unknown[] = [];
  private cap = 16;
  private used = 1;
  private freeHead = NIL;
  private root = NIL;
  private listHead = NIL;
  private listTail = NIL;
  private seqNext = 0;
  /** The node removeMin() took out. */
  private detached = NIL;
  /** Maps whose start is not exactly a double (>= 2^53 and not a multiple of the spacing). */
  private inexactStarts = 0;
  /**
   * Sorted starts (searched) and, beside each, what a hit needs in one cache line:
   * [last, addr, perm, node] as doubles. Valid while `indexed` (disjoint maps only).
   */
  private idxStarts = new Float64Array(0);
  private idxPay = new Float64Array(0);
  private indexed = false;
  private lookupsSinceChange = 0;
  /**
   * The map translate() found last (disjoint maps only), copied into fields so checking it
   * touches no node memory: the next lookup usually falls in the same map.
   */
  private hitValid = false;
  private hitSH = 0;
  private hitSL = 0;
  private hitLH = 0;
  private hitLL = 0;
  private hitAddrD = 0;
  private hitPerm = 0;

  constructor(limit = 0, flags = 0) {
    this.limit = limit;
    this.flags = flags;
  }

  // ---- storage ---------------------------------------------------------------------------

  private allocNode(): number {
    if (this.freeHead !== NIL) {
      const n = this.freeHead;
      this.freeHead = this.hot[n * HOT + RIGHT] as number;
      return n;
    }
    if (this.used === this.cap) {
      const cap = this.cap * 2;
      const hot = new Uint32Array(cap * HOT);
      hot.set(this.hot);
      this.hot = hot;
      const cold = new Uint32Array(cap * COLD);
      cold.set(this.cold);
      this.cold = cold;
      for (const k of ['sD', 'aD', 'seq'] as const) {
        const a = new Float64Array(cap);
        a.set(this[k]);
        this[k] = a;
      }
      this.cap = cap;
    }
    return this.used++;
  }

  // ---- AVL -------------------------------------------------------------------------------

  /** Recomputes height and subtree max of node `n` from its children. */
  private update(n: number): void {
    const hot = this.hot;
    const cold = this.cold;
    const hb = n * HOT;
    const cb = n * COLD;
    const l = hot[hb + LEFT] as number;
    const r = hot[hb + RIGHT] as number;
    const lh = l === NIL ? 0 : (cold[l * COLD + HEIGHT] as number);
    const rh = r === NIL ? 0 : (cold[r * COLD + HEIGHT] as number);
    cold[cb + HEIGHT] = (lh > rh ? lh : rh) + 1;
    let mh = cold[cb + L_HI] as number;
    let ml = cold[cb + L_LO] as number;
    if (l !== NIL) {
      const ch = cold[l * COLD + M_HI] as number;
      const cl = cold[l * COLD + M_LO] as number;
      if (ch > mh || (ch === mh && cl > ml)) {
        mh = ch;
        ml = cl;
      }
    }
    if (r !== NIL) {
      const ch = cold[r * COLD + M_HI] as number;
      const cl = cold[r * COLD + M_LO] as number;
      if (ch > mh || (ch === mh && cl > ml)) {
        mh = ch;
        ml = cl;
      }
    }
    cold[cb + M_HI] = mh;
    cold[cb + M_LO] = ml;
  }

  private height(n: number): number {
    return n === NIL ? 0 : (this.cold[n * COLD + HEIGHT] as number);
  }

  private child(n: number, side: number): number {
    return this.hot[n * HOT + side] as number;
  }

  private setChild(n: number, side: number, c: number): void {
    this.hot[n * HOT + side] = c;
  }

  private rotate(n: number, side: number): number {
    // side LEFT: rotate right (left child comes up); side RIGHT: rotate left.
    const other = side === LEFT ? RIGHT : LEFT;
    const c = this.child(n, side);
    this.setChild(n, side, this.child(c, other));
    this.setChild(c, other, n);
    this.update(n);
    this.update(c);
    return c;
  }

  private balance(n: number): number {
    this.update(n);
    const l = this.child(n, LEFT);
    const r = this.child(n, RIGHT);
    const bf = this.height(l) - this.height(r);
    if (bf > 1) {
      if (this.height(this.child(l, LEFT)) < this.height(this.child(l, RIGHT))) this.setChild(n, LEFT, this.rotate(l, RIGHT));
      return this.rotate(n, LEFT);
    }
    if (bf < -1) {
      if (this.height(this.child(r, RIGHT)) < this.height(this.child(r, LEFT))) this.setChild(n, RIGHT, this.rotate(r, LEFT));
      return this.rotate(n, RIGHT);
    }
    return n;
  }

  /** Tree order: by start, then by insertion sequence. */
  private before(a: number, b: number): boolean {
    const hot = this.hot;
    const ah = hot[a * HOT + S_HI] as number;
    const bh = hot[b * HOT + S_HI] as number;
    if (ah !== bh) return ah < bh;
    const al = hot[a * HOT + S_LO] as number;
    const bl = hot[b * HOT + S_LO] as number;
    if (al !== bl) return al < bl;
    return (this.seq[a] as number) < (this.seq[b] as number);
  }

  private insertNode(t: number, n: number): number {
    if (t === NIL) return n;
    const side = this.before(n, t) ? LEFT : RIGHT;
    this.setChild(t, side, this.insertNode(this.child(t, side), n));
    return this.balance(t);
  }

  private removeMin(t: number): number {
    const l = this.child(t, LEFT);
    if (l === NIL) {
      this.detached = t;
      return this.child(t, RIGHT);
    }
    this.setChild(t, LEFT, this.removeMin(l));
    return this.balance(t);
  }

  private removeNode(t: number, n: number): number {
    if (t === NIL) return NIL;
    if (t === n) {
      const l = this.child(n, LEFT);
      const r = this.child(n, RIGHT);
      if (l === NIL) return r;
      if (r === NIL) return l;
      const rest = this.removeMin(r);
      const s = this.detached;
      this.setChild(s, LEFT, l);
      this.setChild(s, RIGHT, rest);
      return this.balance(s);
    }
    const side = this.before(n, t) ? LEFT : RIGHT;
    this.setChild(t, side, this.removeNode(this.child(t, side), n));
    return this.balance(t);
  }

  // ---- queries ---------------------------------------------------------------------------

  /** Subtree max of n >= (qh, ql). */
  private maxAtLeast(n: number, qh: number, ql: number): boolean {
    const h = this.cold[n * COLD + M_HI] as number;
    return h > qh || (h === qh && (this.cold[n * COLD + M_LO] as number) >= ql);
  }

  /** The lowest-start map overlapping [s, l] (as 32-bit words), or NIL (the kernel's search). */
  private firstNode(sh: number, sl: number, lh: number, ll: number): number {
    const hot = this.hot;
    const cold = this.cold;
    let n = this.root;
    if (n === NIL || !this.maxAtLeast(n, sh, sl)) return NIL;
    for (;;) {
      const hb = n * HOT;
      const cb = n * COLD;
      const left = hot[hb + LEFT] as number;
      if (left !== NIL && this.maxAtLeast(left, sh, sl)) {
        n = left;
        continue;
      }
      const nsh = hot[hb + S_HI] as number;
      if (nsh < lh || (nsh === lh && (hot[hb + S_LO] as number) <= ll)) {
        const nlh = cold[cb + L_HI] as number;
        if (nlh > sh || (nlh === sh && (cold[cb + L_LO] as number) >= sl)) return n;
        const right = hot[hb + RIGHT] as number;
        if (right !== NIL && this.maxAtLeast(right, sh, sl)) {
          n = right;
          continue;
        }
      }
      return NIL;
    }
  }

  /** Builds the sorted index by an in-order walk (iterative: the tree may be deep). */
  private buildIndex(): void {
    if (this.idxStarts.length < this.nmaps) {
      this.idxStarts = new Float64Array(this.cap);
      this.idxPay = new Float64Array(this.cap * 4);
    }
    const stack: number[] = [];
    let n = this.root;
    let i = 0;
    while (n !== NIL || stack.length > 0) {
      while (n !== NIL) {
        stack.push(n);
        n = this.hot[n * HOT + LEFT] as number;
      }
      n = stack.pop() as number;
      const cb = n * COLD;
      this.idxStarts[i] = this.sD[n] as number;
      this.idxPay[i * 4] = (this.cold[cb + L_HI] as number) * TWO32 + (this.cold[cb + L_LO] as number);
      this.idxPay[i * 4 + 1] = this.aD[n] as number;
      this.idxPay[i * 4 + 2] = this.cold[cb + PERM] as number;
      this.idxPay[i * 4 + 3] = n;
      i++;
      n = this.hot[n * HOT + RIGHT] as number;
    }
    this.indexed = true;
  }

  /** Index slot of the greatest start <= iova (iova < 2^53, an exact double), or -1. */
  private indexPredecessor(iova: number): number {
    const starts = this.idxStarts;
    let lo = 0;
    let hi = this.nmaps - 1;
    let best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((starts[mid] as number) <= iova) {
        best = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return best;
  }

  /** The map with the greatest start <= (h, l), or NIL. */
  private predecessor(h: number, l: number): number {
    const hot = this.hot;
    let n = this.root;
    let best = NIL;
    while (n !== NIL) {
      const hb = n * HOT;
      const nh = hot[hb + S_HI] as number;
      if (nh < h || (nh === h && (hot[hb + S_LO] as number) <= l)) {
        best = n;
        n = hot[hb + RIGHT] as number;
      } else {
        n = hot[hb + LEFT] as number;
      }
    }
    return best;
  }

  /** The next map after node `k` (tree order) overlapping [s, l]: a node, NIL, or -1 (stop). */
  private nextNode(t: number, k: number, sh: number, sl: number, lh: number, ll: number): number {
    if (t === NIL || !this.maxAtLeast(t, sh, sl)) return NIL;
    if (!this.before(k, t)) return this.nextNode(this.child(t, RIGHT), k, sh, sl, lh, ll);
    const r = this.nextNode(this.child(t, LEFT), k, sh, sl, lh, ll);
    if (r !== NIL) return r;
    const hb = t * HOT;
    const cb = t * COLD;
    const tsh = this.hot[hb + S_HI] as number;
    // Every map from here on starts after `l`: nothing further can overlap.
    if (tsh > lh || (tsh === lh && (this.hot[hb + S_LO] as number) > ll)) return -1;
    const tlh = this.cold[cb + L_HI] as number;
    if (tlh > sh || (tlh === sh && (this.cold[cb + L_LO] as number) >= sl)) return t;
    return this.nextNode(this.child(t, RIGHT), k, sh, sl, lh, ll);
  }

  /** How many maps other than `self` overlap node n's range. */
  private overlapsOf(n: number, self: number): number {
    const hb = n * HOT;
    const cb = n * COLD;
    const sh = this.hot[hb + S_HI] as number;
    const sl = this.hot[hb + S_LO] as number;
    const lh = this.cold[cb + L_HI] as number;
    const ll = this.cold[cb + L_LO] as number;
    let count = 0;
    for (let m = this.firstNode(sh, sl, lh, ll); m > NIL; m = this.nextNode(this.root, m, sh, sl, lh, ll)) {
      if (m !== self) count++;
    }
    return count;
  }

  private view(n: number): VhostIotlbMap {
    const hb = n * HOT;
    const cb = n * COLD;
    const hot = this.hot;
    const cold = this.cold;
    const start = join(hot[hb + S_HI] as number, hot[hb + S_LO] as number);
    const last = join(cold[cb + L_HI] as number, cold[cb + L_LO] as number);
    return {
      start,
      last,
      size: last - start + 1n,
      addr: join(cold[cb + A_HI] as number, cold[cb + A_LO] as number),
      perm: cold[cb + PERM] as number,
      opaque: this.opaques[n],
      node: n,
      gen: cold[cb + GEN] as number,
    };
  }

  // ---- the kernel's API ------------------------------------------------------------------

  /**
   * vhost_iotlb_add_range_ctx(): 0, -EFAULT if last < start. No overlap check. Adding
   * [0, 2^64-1] stores two halves, since the size would not fit.
   */
  addRangeCtx(start: bigint, last: bigint, addr: bigint, perm: number, opaque?: unknown): number {
    if (last < start) return -EFAULT;
    if (start === 0n && last === U64_MAX) {
      const mid = last / 2n;
      const r = this.addRangeCtx(start, mid, addr, perm, opaque);
      if (r) return r;
      addr = BigInt.asUintN(64, addr + mid + 1n);
      start = mid + 1n;
    }
    if (this.limit && this.nmaps === this.limit && this.flags & VHOST_IOTLB_FLAG_RETIRE && this.listHead !== NIL) {
      this.freeNode(this.listHead);
    }
    const n = this.allocNode();
    const hot = this.hot;
    const cold = this.cold;
    const hb = n * HOT;
    const cb = n * COLD;
    hot[hb + S_HI] = hi(start);
    hot[hb + S_LO] = lo(start);
    cold[cb + L_HI] = hi(last);
    cold[cb + L_LO] = lo(last);
    cold[cb + A_HI] = hi(addr);
    cold[cb + A_LO] = lo(addr);
    cold[cb + PERM] = perm & 0xff;
    hot[hb + LEFT] = NIL;
    hot[hb + RIGHT] = NIL;
    cold[cb + HEIGHT] = 1;
    cold[cb + M_HI] = cold[cb + L_HI] as number;
    cold[cb + M_LO] = cold[cb + L_LO] as number;
    cold[cb + PREV] = this.listTail;
    cold[cb + NEXT] = NIL;
    this.sD[n] = Number(start);
    this.aD[n] = Number(addr);
    this.seq[n] = this.seqNext++;
    this.opaques[n] = opaque;
    if (this.listTail !== NIL) cold[this.listTail * COLD + NEXT] = n;
    else this.listHead = n;
    this.listTail = n;
    this.overlapPairs += this.overlapsOf(n, NIL);
    if (BigInt(this.sD[n] as number) !== start) this.inexactStarts++;
    this.root = this.insertNode(this.root, n);
    this.nmaps++;
    this.changed();
    return 0;
  }

  private changed(): void {
    this.generation++;
    this.indexed = false;
    this.lookupsSinceChange = 0;
    this.hitValid = false;
  }

  /** remember() from the index's doubles (all exact below 2^53): no node memory is read. */
  private rememberExact(start: number, last: number, addr: number, perm: number): void {
    this.hitValid = true;
    this.hitSH = Math.floor(start / TWO32);
    this.hitSL = start >>> 0;
    this.hitLH = Math.floor(last / TWO32);
    this.hitLL = last >>> 0;
    this.hitAddrD = addr;
    this.hitPerm = perm;
  }

  private remember(n: number): void {
    this.hitValid = true;
    this.hitSH = this.hot[n * HOT + S_HI] as number;
    this.hitSL = this.hot[n * HOT + S_LO] as number;
    this.hitLH = this.cold[n * COLD + L_HI] as number;
    this.hitLL = this.cold[n * COLD + L_LO] as number;
    this.hitAddrD = this.aD[n] as number;
    this.hitPerm = this.cold[n * COLD + PERM] as number;
  }

  addRange(start: bigint, last: bigint, addr: bigint, perm: number): number {
    return this.addRangeCtx(start, last, addr, perm);
  }

  private freeNode(n: number): void {
    const hot = this.hot;
    const cold = this.cold;
    const hb = n * HOT;
    const cb = n * COLD;
    this.overlapPairs -= this.overlapsOf(n, n);
    if (BigInt(this.sD[n] as number) !== join(hot[hb + S_HI] as number, hot[hb + S_LO] as number)) this.inexactStarts--;
    this.root = this.removeNode(this.root, n);
    this.changed();
    const p = cold[cb + PREV] as number;
    const x = cold[cb + NEXT] as number;
    if (p !== NIL) cold[p * COLD + NEXT] = x;
    else this.listHead = x;
    if (x !== NIL) cold[x * COLD + PREV] = p;
    else this.listTail = p;
    this.opaques[n] = undefined;
    cold[cb + GEN] = ((cold[cb + GEN] as number) + 1) >>> 0;
    hot[hb + RIGHT] = this.freeHead;
    this.freeHead = n;
    this.nmaps--;
  }

  /** vhost_iotlb_map_free(): frees one map; a stale handle is ignored. */
  mapFree(map: VhostIotlbMap): void {
    if (map.node > NIL && map.node < this.used && this.cold[map.node * COLD + GEN] === map.gen) this.freeNode(map.node);
  }

  /** vhost_iotlb_del_range(): frees every map overlapping [start, last], whole. */
  delRange(start: bigint, last: bigint): void {
    const sh = hi(start);
    const sl = lo(start);
    const lh = hi(last);
    const ll = lo(last);
    for (let n = this.firstNode(sh, sl, lh, ll); n !== NIL; n = this.firstNode(sh, sl, lh, ll)) this.freeNode(n);
  }

  /** vhost_iotlb_reset(): frees every map. */
  reset(): void {
    this.delRange(0n, U64_MAX);
  }

  /** vhost_iotlb_itree_first(): the lowest-start map overlapping [start, last]. */
  itreeFirst(start: bigint, last: bigint): VhostIotlbMap | undefined {
    const n = this.firstNode(hi(start), lo(start), hi(last), lo(last));
    return n === NIL ? undefined : this.view(n);
  }

  /** vhost_iotlb_itree_next(): the map after `map` overlapping [start, last]. */
  itreeNext(map: VhostIotlbMap, start: bigint, last: bigint): VhostIotlbMap | undefined {
    if (map.node <= NIL || map.node >= this.used || this.cold[map.node * COLD + GEN] !== map.gen) return undefined;
    const n = this.nextNode(this.root, map.node, hi(start), lo(start), hi(last), lo(last));
    return n > NIL ? this.view(n) : undefined;
  }

  /** Every map overlapping [start, last], lowest start first. */
  *overlapping(start = 0n, last = U64_MAX): Generator<VhostIotlbMap> {
    for (let m = this.itreeFirst(start, last); m; m = this.itreeNext(m, start, last)) yield m;
  }

  /** Every map in insertion order (the kernel's list). */
  *list(): Generator<VhostIotlbMap> {
    for (let n = this.listHead; n !== NIL; n = this.cold[n * COLD + NEXT] as number) yield this.view(n);
  }

  /**
   * The map holding `iova` (an exact integer below 2^53) while no two maps overlap: true with
   * `out` filled, false when none holds it or some maps overlap. Every translate() of bytes inside
   * that map then uses it, until `generation` changes: callers may cache it that long.
   */
  mapAt(iova: number, out: IotlbMapRange): boolean {
    if (this.overlapPairs !== 0) return false;
    const n = this.predecessor(Math.floor(iova / TWO32), iova >>> 0);
    if (n === NIL) return false;
    const cb = n * COLD;
    // Rounded above 2^53, but then above iova too: the comparison stays exact.
    const last = (this.cold[cb + L_HI] as number) * TWO32 + (this.cold[cb + L_LO] as number);
    if (last < iova) return false;
    out.start = this.sD[n] as number;
    out.last = last < 2 ** 53 ? last : 2 ** 53 - 1;
    out.addr = this.aD[n] as number;
    out.perm = this.cold[cb + PERM] as number;
    return true;
  }

  /**
   * One step of iotlb_translate(): maps the first bytes of [iova, iova + len) (iova as two
   * 32-bit words, 0 < len <= 2^32). Returns 0 and fills `out`, -EINVAL when no map covers iova,
   * or -EPERM when the map lacks `perm`.
   */
  translate(iovaHi: number, iovaLo: number, len: number, perm: number, out: IotlbXlate): number {
    const hot = this.hot;
    const cold = this.cold;
    // last = iova + len - 1, wrapping at 2^64 as the kernel's u64 does.
    let ll = iovaLo + len - 1;
    let lh = iovaHi;
    if (ll >= TWO32) {
      lh = (lh + Math.floor(ll / TWO32)) >>> 0;
      ll %= TWO32;
    }
    let n: number;
    if (
      this.hitValid &&
      lh >= iovaHi &&
      (this.hitSH < iovaHi || (this.hitSH === iovaHi && this.hitSL <= iovaLo)) &&
      (this.hitLH > iovaHi || (this.hitLH === iovaHi && this.hitLL >= iovaLo))
    ) {
      // Disjoint maps: the map holding iova is the answer, and the last one usually still is.
      if (!(this.hitPerm & perm)) return -EPERM;
      const avail = (this.hitLH - iovaHi) * TWO32 + (this.hitLL - iovaLo) + 1;
      out.len = avail < len ? avail : len;
      out.addr = this.hitAddrD + ((iovaHi - this.hitSH) * TWO32 + (iovaLo - this.hitSL));
      return 0;
    } else if (this.overlapPairs === 0 && lh >= iovaHi) {
      // Disjoint maps (and no wrap): the only candidate is the last map starting at or before iova.
      if (!this.indexed && this.inexactStarts === 0 && ++this.lookupsSinceChange >= this.nmaps >>> 3) this.buildIndex();
      if (this.indexed && iovaHi < 0x200000) {
        const iova = iovaHi * TWO32 + iovaLo;
        const i = this.indexPredecessor(iova);
        if (i < 0) return -EINVAL;
        const pay = this.idxPay;
        const last = pay[i * 4] as number;
        // Below 2^53 `last` is exact; above, the exact path below decides.
        if (last < 2 ** 53) {
          if (last < iova) return -EINVAL;
          this.rememberExact(this.idxStarts[i] as number, last, pay[i * 4 + 1] as number, pay[i * 4 + 2] as number);
          if (!((pay[i * 4 + 2] as number) & perm)) return -EPERM;
          const avail = last - iova + 1;
          out.len = avail < len ? avail : len;
          out.addr = (pay[i * 4 + 1] as number) + (iova - (this.idxStarts[i] as number));
          return 0;
        }
        n = pay[i * 4 + 3] as number;
      } else {
        n = this.predecessor(iovaHi, iovaLo);
      }
      if (n === NIL) return -EINVAL;
      const nlh = cold[n * COLD + L_HI] as number;
      if (nlh < iovaHi || (nlh === iovaHi && (cold[n * COLD + L_LO] as number) < iovaLo)) return -EINVAL;
      this.remember(n);
    } else {
      n = this.firstNode(iovaHi, iovaLo, lh, ll);
      if (n === NIL) return -EINVAL;
      const nsh = hot[n * HOT + S_HI] as number;
      // A hole before the first overlapping map is a gap too.
      if (nsh > iovaHi || (nsh === iovaHi && (hot[n * HOT + S_LO] as number) > iovaLo)) return -EINVAL;
    }
    const hb = n * HOT;
    const cb = n * COLD;
    if (!((cold[cb + PERM] as number) & perm)) return -EPERM;
    const avail = ((cold[cb + L_HI] as number) - iovaHi) * TWO32 + ((cold[cb + L_LO] as number) - iovaLo) + 1;
    out.len = avail < len ? avail : len;
    out.addr = (this.aD[n] as number) + ((iovaHi - (hot[hb + S_HI] as number)) * TWO32 + (iovaLo - (hot[hb + S_LO] as number)));
    return 0;
  }
}
