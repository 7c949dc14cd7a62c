import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Bitmap } from '../../lib/bitmap.js';
import {
  IOMMU_NONE,
  IOMMU_RO,
  IOMMU_RW,
  IOVA_ERR_INVALID,
  IOVA_ERR_NOMEM,
  IOVA_ERR_OVERLAP,
  IOVA_OK,
  IovaTree,
  VhostIovaTree,
} from '../../lib/iova/index.js';
import { U64_MAX } from '../../lib/iotlb/index.js';
import { VHOST_LOG_CHUNK, VhostLog } from '../../lib/log/index.js';
import { EFAULT } from '../../uapi/index.js';

describe('bitmap', () => {
  it('ranges, find_next_bit and weight agree with a boolean array (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ set: fc.boolean(), start: fc.nat(200), len: fc.nat(60) }), { maxLength: 30 }),
        fc.nat(260),
        (ops, probe) => {
          const bm = new Bitmap(264);
          const ref = new Array<boolean>(264).fill(false);
          for (const o of ops) {
            const len = Math.min(o.len, 264 - o.start);
            if (o.set) bm.setRange(o.start, len);
            else bm.clearRange(o.start, len);
            for (let i = o.start; i < o.start + len; i++) ref[i] = o.set;
          }
          expect([...bm.setBits()]).toEqual(ref.flatMap((b, i) => (b ? [i] : [])));
          expect(bm.weight()).toBe(ref.filter(Boolean).length);
          const next = ref.findIndex((b, i) => b && i >= probe);
          expect(bm.findNextBit(probe)).toBe(next);
        },
      ),
    );
  });

  it('bit n is bit n % 8 of byte n / 8 (little-endian unsigned longs)', () => {
    const bm = new Bitmap(128);
    bm.set(0);
    bm.set(9);
    bm.set(63);
    expect([...bm.bytes.subarray(0, 8)]).toEqual([0x01, 0x02, 0, 0, 0, 0, 0, 0x80]);
  });
});

describe('vhost dirty log', () => {
  it('one bit per 4 KiB page: a write marks every page it touches', () => {
    const log = new VhostLog(new Uint8Array(VhostLog.sizeFor(1 << 20)));
    expect(log.logWrite(0x1ff0, 0x20)).toBe(0);
    expect([...log.bitmap.setBits()]).toEqual([1, 2]);
    expect(log.logWrite(0x5000, 0)).toBe(0);
    expect(log.isDirty(5)).toBe(false);
  });

  it('a word covers VHOST_LOG_CHUNK = 256 KiB; the log holds one word per chunk plus one', () => {
    expect(VHOST_LOG_CHUNK).toBe(0x40000);
    expect(VhostLog.sizeFor(0x40000 * 4)).toBe(5 * 8);
  });

  it('a page beyond the log is EFAULT, with the earlier pages already marked', () => {
    const log = new VhostLog(new Uint8Array(8));
    expect(log.logWrite(63 * 4096, 2 * 4096)).toBe(-EFAULT);
    expect(log.isDirty(63)).toBe(true);
  });

  it('sync() harvests each word to zero and reports every dirty page once', () => {
    const log = new VhostLog(new Uint8Array(16));
    log.logWrite(0, 1);
    log.logWrite(70 * 4096, 4096 * 3);
    const pages: number[] = [];
    expect(log.sync((p) => pages.push(p))).toBe(4);
    expect(pages).toEqual([0, 70, 71, 72]);
    expect(log.sync()).toBe(0);
  });
});

describe('IOVA tree (QEMU util/iova-tree.c)', () => {
  const map = (iova: bigint, len: bigint, taddr = 0n, perm = IOMMU_RW) => ({ iova, size: len - 1n, translated_addr: taddr, perm });

  it('insert refuses overlaps, wrap-around and IOMMU_NONE', () => {
    const t = new IovaTree();
    expect(t.insert(map(0x1000n, 0x1000n))).toBe(IOVA_OK);
    expect(t.insert(map(0x1800n, 0x1000n))).toBe(IOVA_ERR_OVERLAP);
    expect(t.insert({ iova: U64_MAX, size: 1n, translated_addr: 0n, perm: IOMMU_RW })).toBe(IOVA_ERR_INVALID);
    expect(t.insert(map(0x9000n, 0x1000n, 0n, IOMMU_NONE))).toBe(IOVA_ERR_INVALID);
  });

  it('allocation is first fit ascending from the first page, and NOMEM past the last address', () => {
    const t = new VhostIovaTree(0n, 0xffffn);
    expect(t.iovaFirst).toBe(0x1000n);
    const a = map(0n, 0x2000n);
    expect(t.mapAlloc(a, 0x7f00_0000_0000n)).toBe(IOVA_OK);
    expect(a.iova).toBe(0x1000n);
    const b = map(0n, 0x1000n);
    expect(t.mapAlloc(b, 0x7f00_0001_0000n)).toBe(IOVA_OK);
    expect(b.iova).toBe(0x3000n);
    t.remove(a);
    const c = map(0n, 0x1000n);
    expect(t.mapAlloc(c, 0x7f00_0002_0000n)).toBe(IOVA_OK);
    expect(c.iova).toBe(0x1000n);
    expect(t.mapAlloc(map(0n, 0x10000n), 0n)).toBe(IOVA_ERR_NOMEM);
  });

  it('host buffers are found by address; guest memory by GPA, and segments translate within a map', () => {
    const t = new VhostIovaTree(0n, U64_MAX);
    const ring = map(0n, 0x3000n);
    t.mapAlloc(ring, 0x7f00_0000_0000n);
    const ram = map(0n, 0x10_0000n, 0n, IOMMU_RW);
    expect(t.mapAllocGpa(ram, 0x4000_0000n)).toBe(IOVA_OK);
    expect(t.findIova({ translated_addr: 0x7f00_0000_1000n, size: 0n })?.iova).toBe(ring.iova);
    expect(t.findGpa({ translated_addr: 0x4000_0800n, size: 0n })?.iova).toBe(ram.iova);
    expect(t.translateGpa(0x4000_0800n, 0x100n)).toBe(ram.iova + 0x800n);
    expect(t.translateGpa(0x400f_ff00n, 0x200n)).toBeUndefined();
    t.removeGpa(ram);
    expect(t.findGpa({ translated_addr: 0x4000_0800n, size: 0n })).toBeUndefined();
    expect(t.iovaMap.length).toBe(1);
  });

  it('read-only maps are allowed; the allocator tree holds every allocation', () => {
    const t = new VhostIovaTree(0x1000n, 0x1_0000_0000n);
    const a = map(0n, 0x1000n, 0n, IOMMU_RO);
    expect(t.mapAlloc(a, 0x5000n)).toBe(IOVA_OK);
    expect(t.iovaMap.all().map((m) => m.iova)).toEqual([0x1000n]);
  });
});
