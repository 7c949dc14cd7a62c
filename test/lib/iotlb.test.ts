// vhost_iotlb against the kernel's rules (facts §6.2, item 50) and, with fast-check, against a
// naive list model over random add/del/lookup sequences.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { U64_MAX, VHOST_IOTLB_FLAG_RETIRE, VHOST_MAP_RO, VHOST_MAP_RW, VHOST_MAP_WO, VhostIotlb } from '../../lib/iotlb/index.js';
import { EFAULT, EINVAL, EPERM } from '../../uapi/index.js';

const starts = (t: VhostIotlb, s = 0n, l = U64_MAX) => [...t.overlapping(s, l)].map((m) => m.start);
const split = (x: bigint) => [Number(x >> 32n), Number(x & 0xffffffffn)] as const;

describe('vhost_iotlb rules', () => {
  it('add_range with last < start is EFAULT and adds nothing', () => {
    const t = new VhostIotlb();
    expect(t.addRange(10n, 9n, 0n, VHOST_MAP_RW)).toBe(-EFAULT);
    expect(t.nmaps).toBe(0);
  });

  it('overlapping add_range calls both succeed; lookup returns the lowest start (§8.50, every profile)', () => {
    const t = new VhostIotlb();
    expect(t.addRange(0x2000n, 0x5fffn, 0x10000n, VHOST_MAP_RW)).toBe(0);
    expect(t.addRange(0x1000n, 0x2fffn, 0x20000n, VHOST_MAP_RO)).toBe(0);
    expect(t.itreeFirst(0x2800n, 0x2800n)?.start).toBe(0x1000n);
    expect(starts(t, 0x2800n, 0x2800n)).toEqual([0x1000n, 0x2000n]);
  });

  it('equal starts come back in insertion order', () => {
    const t = new VhostIotlb();
    t.addRange(0x1000n, 0x1fffn, 1n, VHOST_MAP_RW);
    t.addRange(0x1000n, 0x3fffn, 2n, VHOST_MAP_RW);
    t.addRange(0x1000n, 0x17ffn, 3n, VHOST_MAP_RW);
    expect([...t.overlapping(0x1000n, 0x1000n)].map((m) => m.addr)).toEqual([1n, 2n, 3n]);
  });

  it('del_range removes every overlapping map whole, never splitting (§8.50, every profile)', () => {
    const t = new VhostIotlb();
    t.addRange(0x0n, 0xfffn, 0n, VHOST_MAP_RW);
    t.addRange(0x1000n, 0x2fffn, 0n, VHOST_MAP_RW);
    t.addRange(0x3000n, 0x3fffn, 0n, VHOST_MAP_RW);
    t.delRange(0x2fffn, 0x3000n);
    expect(starts(t)).toEqual([0x0n]);
    expect(t.nmaps).toBe(1);
  });

  it('[0, 2^64-1] is stored as two halves (§8.50, every profile)', () => {
    const t = new VhostIotlb();
    expect(t.addRange(0n, U64_MAX, 0n, VHOST_MAP_RW)).toBe(0);
    const maps = [...t.list()];
    expect(maps.map((m) => [m.start, m.last, m.addr, m.size])).toEqual([
      [0n, 0x7fff_ffff_ffff_ffffn, 0n, 0x8000_0000_0000_0000n],
      [0x8000_0000_0000_0000n, U64_MAX, 0x8000_0000_0000_0000n, 0x8000_0000_0000_0000n],
    ]);
  });

  it('the limit is inert without RETIRE and evicts the oldest map with it', () => {
    const plain = new VhostIotlb(2, 0);
    for (let i = 0n; i < 4n; i++) plain.addRange(i * 0x1000n, i * 0x1000n + 0xfffn, 0n, VHOST_MAP_RW);
    expect(plain.nmaps).toBe(4);
    const retire = new VhostIotlb(2, VHOST_IOTLB_FLAG_RETIRE);
    for (let i = 0n; i < 4n; i++) retire.addRange(i * 0x1000n, i * 0x1000n + 0xfffn, 0n, VHOST_MAP_RW);
    expect(starts(retire)).toEqual([0x2000n, 0x3000n]);
  });

  it('map_free removes exactly one map; a stale handle is ignored', () => {
    const t = new VhostIotlb();
    t.addRange(0x1000n, 0x1fffn, 0n, VHOST_MAP_RW);
    t.addRange(0x1000n, 0x1fffn, 7n, VHOST_MAP_RW);
    const first = t.itreeFirst(0x1000n, 0x1000n);
    if (!first) throw new Error('no map');
    t.mapFree(first);
    t.mapFree(first);
    expect([...t.list()].map((m) => m.addr)).toEqual([7n]);
    expect(t.itreeNext(first, 0n, U64_MAX)).toBeUndefined();
  });

  it('reset() empties it and opaque contexts ride along', () => {
    const t = new VhostIotlb();
    const ctx = { file: 'memfd:guest' };
    t.addRangeCtx(0n, 0xfffn, 0x5000n, VHOST_MAP_RO, ctx);
    expect(t.itreeFirst(0n, 0n)?.opaque).toBe(ctx);
    t.reset();
    expect(t.nmaps).toBe(0);
    expect(t.itreeFirst(0n, U64_MAX)).toBeUndefined();
  });
});

describe('translate() (one step of vringh iotlb_translate)', () => {
  const out = { addr: 0, len: 0 };

  it('maps within an entry and stops at its end', () => {
    const t = new VhostIotlb();
    t.addRange(0x1000n, 0x1fffn, 0x7f0000000000n, VHOST_MAP_RW);
    expect(t.translate(0, 0x1ff0, 64, VHOST_MAP_RO, out)).toBe(0);
    expect(out).toEqual({ addr: 0x7f0000000ff0, len: 16 });
  });

  it('a gap is EINVAL, also when a later map overlaps the range', () => {
    const t = new VhostIotlb();
    t.addRange(0x2000n, 0x2fffn, 0n, VHOST_MAP_RW);
    expect(t.translate(0, 0x1ff8, 16, VHOST_MAP_RO, out)).toBe(-EINVAL);
    expect(t.translate(0, 0x3000, 1, VHOST_MAP_RO, out)).toBe(-EINVAL);
  });

  it('a permission mismatch is EPERM', () => {
    const t = new VhostIotlb();
    t.addRange(0x0n, 0xfffn, 0n, VHOST_MAP_RO);
    expect(t.translate(0, 0x10, 4, VHOST_MAP_WO, out)).toBe(-EPERM);
    expect(t.translate(0, 0x10, 4, VHOST_MAP_RO, out)).toBe(0);
  });

  it('works exactly above 2^32 and near 2^64', () => {
    const t = new VhostIotlb();
    t.addRange(0x1_0000_0000n, 0x1_0000_0fffn, 0x3000n, VHOST_MAP_RW);
    t.addRange(U64_MAX - 0xfffn, U64_MAX, 0x9000n, VHOST_MAP_RW);
    const [h1, l1] = split(0x1_0000_0010n);
    expect(t.translate(h1, l1, 8, VHOST_MAP_RW, out)).toBe(0);
    expect(out).toEqual({ addr: 0x3010, len: 8 });
    const [h2, l2] = split(U64_MAX - 3n);
    expect(t.translate(h2, l2, 4, VHOST_MAP_RW, out)).toBe(0);
    expect(out).toEqual({ addr: 0x9ffc, len: 4 });
  });

  it('a range wrapping past 2^64 looks up [iova, wrapped last] as the kernel does: nothing matches', () => {
    const t = new VhostIotlb();
    t.addRange(U64_MAX - 0xfffn, U64_MAX, 0x9000n, VHOST_MAP_RW);
    const [h, l] = split(U64_MAX - 3n);
    expect(t.translate(h, l, 100, VHOST_MAP_RW, out)).toBe(-EINVAL);
  });
});

// ---- model-based property test -----------------------------------------------------------

interface ModelMap {
  start: bigint;
  last: bigint;
  addr: bigint;
  perm: number;
  seq: number;
}

class NaiveIotlb {
  maps: ModelMap[] = [];
  seq = 0;
  constructor(
    readonly limit: number,
    readonly retire: boolean,
  ) {}
  add(start: bigint, last: bigint, addr: bigint, perm: number): number {
    if (last < start) return -EFAULT;
    if (start === 0n && last === U64_MAX) {
      const mid = last / 2n;
      this.add(0n, mid, addr, perm);
      addr = BigInt.asUintN(64, addr + mid + 1n);
      start = mid + 1n;
    }
    if (this.limit && this.maps.length === this.limit && this.retire) this.maps.shift();
    this.maps.push({ start, last, addr, perm, seq: this.seq++ });
    return 0;
  }
  overlapping(s: bigint, l: bigint): ModelMap[] {
    return this.maps
      .filter((m) => m.start <= l && m.last >= s)
      .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.seq - b.seq));
  }
  del(s: bigint, l: bigint): void {
    this.maps = this.maps.filter((m) => !(m.start <= l && m.last >= s));
  }
}

const edge = fc.constantFrom(0n, 1n, 0xfffn, 0xffff_ffffn, 0x1_0000_0000n, 1n << 53n, U64_MAX - 1n, U64_MAX);
const small = fc.bigInt({ min: 0n, max: 96n }).map((x) => x * 0x100n);
const value = fc.oneof({ weight: 6, arbitrary: small }, { weight: 1, arbitrary: edge });
const op = fc.oneof(
  { weight: 5, arbitrary: fc.record({ k: fc.constant('add' as const), a: value, b: value, addr: value, perm: fc.constantFrom(1, 2, 3) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('del' as const), a: value, b: value }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('query' as const), a: value, b: value }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('xlate' as const), a: value, len: fc.integer({ min: 1, max: 0x3000 }), perm: fc.constantFrom(1, 2) }) },
);

describe('vhost_iotlb against a naive model (fast-check)', () => {
  it('agrees on every add/del result, overlap iteration, translation and list order', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), fc.constantFrom(0, 3), fc.boolean(), (ops, limit, retire) => {
        const t = new VhostIotlb(limit, retire ? VHOST_IOTLB_FLAG_RETIRE : 0);
        const m = new NaiveIotlb(limit, retire);
        const out = { addr: 0, len: 0 };
        for (const o of ops) {
          if (o.k === 'add') {
            const start = o.a < o.b ? o.a : o.b;
            const last = o.a < o.b ? o.b : o.a;
            // Also exercise last < start now and then.
            const [s, l] = o.perm === 3 && o.a !== o.b ? [last, start] : [start, last];
            expect(t.addRange(s, l, o.addr, o.perm)).toBe(m.add(s, l, o.addr, o.perm));
          } else if (o.k === 'del') {
            const [s, l] = o.a <= o.b ? [o.a, o.b] : [o.b, o.a];
            t.delRange(s, l);
            m.del(s, l);
          } else if (o.k === 'query') {
            const [s, l] = o.a <= o.b ? [o.a, o.b] : [o.b, o.a];
            expect([...t.overlapping(s, l)].map((x) => [x.start, x.last, x.addr])).toEqual(
              m.overlapping(s, l).map((x) => [x.start, x.last, x.addr]),
            );
          } else {
            const last = BigInt.asUintN(64, o.a + BigInt(o.len) - 1n);
            // A wrapped last is looked up as is, like the kernel's u64 arithmetic.
            const hit = m.overlapping(o.a, last)[0];
            const r = t.translate(Number(o.a >> 32n), Number(o.a & 0xffffffffn), o.len, o.perm, out);
            if (!hit || hit.start > o.a) expect(r).toBe(-EINVAL);
            else if (!(hit.perm & o.perm)) expect(r).toBe(-EPERM);
            else {
              expect(r).toBe(0);
              const avail = hit.last - o.a + 1n;
              expect(out.len).toBe(Number(avail < BigInt(o.len) ? avail : BigInt(o.len)));
              const addr = hit.addr + (o.a - hit.start);
              if (addr < 2n ** 53n) expect(out.addr).toBe(Number(addr));
            }
          }
          expect(t.nmaps).toBe(m.maps.length);
        }
        expect([...t.list()].map((x) => [x.start, x.last])).toEqual(m.maps.map((x) => [x.start, x.last]));
      }),
      { numRuns: 300 },
    );
  });

  it('stays balanced: lookups on 100k sequential maps all find their map', () => {
    const t = new VhostIotlb();
    for (let i = 0n; i < 100_000n; i++) t.addRange(i * 0x1000n, i * 0x1000n + 0xfffn, i, VHOST_MAP_RW);
    for (let i = 0n; i < 100_000n; i += 997n) expect(t.itreeFirst(i * 0x1000n + 5n, i * 0x1000n + 5n)?.addr).toBe(i);
    for (let i = 0n; i < 100_000n; i += 2n) t.delRange(i * 0x1000n, i * 0x1000n);
    expect(t.nmaps).toBe(50_000);
    expect(t.itreeFirst(0x2000n, 0x2fffn)).toBeUndefined();
    expect(t.itreeFirst(0x3000n, 0x3fffn)?.addr).toBe(3n);
  });
});

describe('translate() on disjoint maps, through the lazily built index', () => {
  it('answers like the naive model before and after the index exists, and after a change drops it', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ gap: fc.bigInt({ min: 0n, max: 0x3000n }), size: fc.bigInt({ min: 1n, max: 0x3000n }), perm: fc.constantFrom(1, 2, 3) }), {
          minLength: 1,
          maxLength: 40,
        }),
        fc.array(fc.bigInt({ min: 0n, max: 0x80000n }), { minLength: 50, maxLength: 200 }),
        (layout, probes) => {
          const t = new VhostIotlb();
          const m = new NaiveIotlb(0, false);
          let at = 0x1000n;
          for (const { gap, size, perm } of layout) {
            at += gap;
            t.addRange(at, at + size - 1n, at * 3n, perm);
            m.add(at, at + size - 1n, at * 3n, perm);
            at += size;
          }
          expect(t.overlapPairs).toBe(0);
          const out = { addr: 0, len: 0 };
          const check = () => {
            for (const iova of probes) {
              const hit = m.overlapping(iova, iova + 63n)[0];
              const r = t.translate(0, Number(iova), 64, VHOST_MAP_RO, out);
              if (!hit || hit.start > iova) expect(r).toBe(-EINVAL);
              else if (!(hit.perm & VHOST_MAP_RO)) expect(r).toBe(-EPERM);
              else {
                expect(r).toBe(0);
                expect(out.addr).toBe(Number(hit.addr + (iova - hit.start)));
                expect(out.len).toBe(Math.min(64, Number(hit.last - iova + 1n)));
              }
            }
          };
          check();
          check();
          // A change invalidates the index: remove the first map and compare again.
          const first = m.maps[0];
          if (first) {
            t.delRange(first.start, first.start);
            m.del(first.start, first.start);
          }
          check();
          check();
        },
      ),
      { numRuns: 200 },
    );
  });
});
