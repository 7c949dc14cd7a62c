// vringh's buffer windows (the IOVA runs one IOTLB map and one memory span cover, copied to
// without a lookup) and the copy behind them: exact, so every IOTLB or memory change is seen by
// the very next access, and every byte arrives whatever the alignment.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type IotlbMapRange, U64_MAX, VHOST_MAP_RO, VHOST_MAP_RW, VHOST_MAP_WO, VhostIotlb } from '../../lib/iotlb/index.js';
import { type AddressSpace, MemFile, PAGE_SIZE, type PhysMem } from '../../lib/mm/index.js';
import { VringhKiov } from '../../lib/virtio/index.js';
import { EFAULT, PROT_READ, VRING_DESC_F_WRITE as WRITE } from '../../uapi/index.js';
import { makeAvail, putDesc, ringWorld } from '../helpers/ring_world.js';

/** A ring whose parts and whose buffers are in separate IOTLB maps. */
function split(va: boolean) {
  const w = ringWorld<number>({ num: 4, va, noMap: true });
  const B = w.layout.buffers;
  w.iotlb.addRange(0n, BigInt(B - 1), BigInt(w.target), VHOST_MAP_RW);
  w.iotlb.addRange(BigInt(B), BigInt(w.ram.length - 1), BigInt(w.target + B), VHOST_MAP_RW);
  return { ...w, B, riov: new VringhKiov(), wiov: new VringhKiov(), h: { head: 0 }, next: 0 };
}

type Split = ReturnType<typeof split>;

/** Makes one descriptor available for [addr, addr + len) and takes it: its iov. */
function take(w: Split, addr: number, len: number, write: boolean): VringhKiov {
  const head = w.next++ & 3;
  putDesc(w.ram, w.layout.desc, head, addr, len, write ? WRITE : 0, 0);
  makeAvail(w.ram, w.layout.avail, 4, head);
  expect(w.vrh.getdesc(w.riov, w.wiov, w.h)).toBe(1);
  return write ? w.wiov : w.riov;
}

const pull = (w: Split, addr: number, len: number) => {
  const dst = new Uint8Array(len);
  const r = w.vrh.pull(take(w, addr, len, false), dst);
  return r < 0 ? r : [...dst.subarray(0, r)];
};
const push = (w: Split, addr: number, bytes: number[]) => w.vrh.push(take(w, addr, bytes.length, true), Uint8Array.from(bytes));

/** A pull and a push through the buffers' map, so both windows exist before the change. */
function warm(w: Split): void {
  w.ram.set([1, 2, 3, 4], w.B);
  expect(pull(w, w.B, 4)).toEqual([1, 2, 3, 4]);
  expect(push(w, w.B + 64, [5, 6, 7, 8])).toBe(4);
  expect([...w.ram.subarray(w.B + 64, w.B + 68)]).toEqual([5, 6, 7, 8]);
}

for (const va of [false, true]) {
  describe(`vringh buffer windows follow IOTLB changes (${va ? 'VA' : 'PA'} mode)`, () => {
    it('deleting the buffers\' map makes the next pull and push fail', () => {
      const w = split(va);
      warm(w);
      w.iotlb.delRange(BigInt(w.B), BigInt(w.B));
      expect(pull(w, w.B, 4)).toBe(-EFAULT);
      expect(push(w, w.B + 64, [1])).toBe(-EFAULT);
    });

    it('a reset followed by other maps is seen at once', () => {
      const w = split(va);
      warm(w);
      w.iotlb.reset();
      w.iotlb.addRange(0n, BigInt(w.B - 1), BigInt(w.target), VHOST_MAP_RW);
      expect(pull(w, w.B, 4)).toBe(-EFAULT);
      // The buffers' IOVAs now reach the RAM a page further on.
      w.iotlb.addRange(BigInt(w.B), BigInt(w.B + 0xfff), BigInt(w.target + w.B + PAGE_SIZE), VHOST_MAP_RW);
      w.ram.set([9, 9, 9, 9], w.B + PAGE_SIZE);
      expect(pull(w, w.B, 4)).toEqual([9, 9, 9, 9]);
      expect(push(w, w.B + 64, [3, 3])).toBe(2);
      expect([...w.ram.subarray(w.B + PAGE_SIZE + 64, w.B + PAGE_SIZE + 66)]).toEqual([3, 3]);
      expect([...w.ram.subarray(w.B + 64, w.B + 66)]).toEqual([5, 6]);
    });

    it('a map made read-only stops pushes, write-only stops pulls', () => {
      const w = split(va);
      warm(w);
      w.iotlb.delRange(BigInt(w.B), BigInt(w.B));
      w.iotlb.addRange(BigInt(w.B), BigInt(w.ram.length - 1), BigInt(w.target + w.B), VHOST_MAP_RO);
      expect(push(w, w.B + 64, [1])).toBe(-EFAULT);
      expect(pull(w, w.B, 4)).toEqual([1, 2, 3, 4]);
      w.iotlb.delRange(BigInt(w.B), BigInt(w.B));
      w.iotlb.addRange(BigInt(w.B), BigInt(w.ram.length - 1), BigInt(w.target + w.B), VHOST_MAP_WO);
      expect(pull(w, w.B, 4)).toBe(-EFAULT);
      expect(push(w, w.B + 64, [1])).toBe(1);
    });

    it('an access running past the end of the window\'s map goes on into the next map', () => {
      const w = split(va);
      w.iotlb.delRange(BigInt(w.B), BigInt(w.B));
      // Two maps back to back in IOVA space, far apart in memory.
      w.iotlb.addRange(BigInt(w.B), BigInt(w.B + 0xfff), BigInt(w.target + w.B), VHOST_MAP_RW);
      w.iotlb.addRange(BigInt(w.B + 0x1000), BigInt(w.B + 0x1fff), BigInt(w.target + w.B + 0x8000), VHOST_MAP_RW);
      w.ram.set([1, 2], w.B + 0xffe);
      w.ram.set([3, 4], w.B + 0x8000);
      expect(pull(w, w.B + 0xff0, 4)).toEqual([0, 0, 0, 0]);
      expect(pull(w, w.B + 0xffe, 4)).toEqual([1, 2, 3, 4]);
      expect(push(w, w.B + 0xfff, [7, 8])).toBe(2);
      expect([w.ram[w.B + 0xfff], w.ram[w.B + 0x8000]]).toEqual([7, 8]);
    });
  });
}

describe('vringh buffer windows follow memory changes', () => {
  it('VA mode: unmapping the buffers\' part of the VMA faults the next pull and push', () => {
    const w = split(true);
    warm(w);
    const mm = w.mem as AddressSpace;
    expect(mm.munmap(w.target + w.B, w.ram.length - w.B)).toBe(0);
    expect(pull(w, w.B, 4)).toBe(-EFAULT);
    expect(push(w, w.B + 64, [1])).toBe(-EFAULT);
  });

  it('VA mode: mprotect(PROT_READ) stops pushes, not pulls', () => {
    const w = split(true);
    warm(w);
    const mm = w.mem as AddressSpace;
    expect(mm.mprotect(w.target + w.B, w.ram.length - w.B, PROT_READ)).toBe(0);
    expect(push(w, w.B + 64, [1])).toBe(-EFAULT);
    expect(pull(w, w.B, 4)).toEqual([1, 2, 3, 4]);
  });

  it('PA mode: memory whose frames were released faults the next pull and push', () => {
    const w = split(false);
    const file = MemFile.create(w.mem as PhysMem, 'other', 0x10000);
    file.obj.populate(0, file.obj.pages);
    file.obj.bytes.set([4, 3, 2, 1]);
    const iova = 0x40_0000;
    w.iotlb.addRange(BigInt(iova), BigInt(iova + 0xffff), BigInt((file.obj.pfn[0] as number) * PAGE_SIZE), VHOST_MAP_RW);
    expect(pull(w, iova, 4)).toEqual([4, 3, 2, 1]);
    expect(push(w, iova + 8, [1])).toBe(1);
    file.close();
    expect(pull(w, iova, 4)).toBe(-EFAULT);
    expect(push(w, iova + 8, [1])).toBe(-EFAULT);
  });

  it('a ring moved to another memory space (setIotlb) uses that one', () => {
    const a = split(false);
    const b = split(false);
    warm(a);
    b.ram.set([7, 7, 7, 7], b.B);
    a.vrh.setIotlb(b.iotlb, b.mem);
    a.vrh.lastAvailIdx = 0;
    // a's vringh now reads b's rings and buffers.
    expect(pull({ ...a, ram: b.ram, next: 0 }, b.B, 4)).toEqual([7, 7, 7, 7]);
  });
});

describe('vringh above 2^53 and across the whole IOVA space', () => {
  it('IOVAs at 2^60 translate exactly (no window), and a passthrough map [0, 2^64-1] works', () => {
    const w = split(false);
    const far = 2n ** 60n;
    w.iotlb.addRange(far, far + 0xfffn, BigInt(w.target + w.B), VHOST_MAP_RW);
    w.ram.set([1, 2, 3], w.B);
    const h = w.next++ & 3;
    const v = new DataView(w.ram.buffer, w.ram.byteOffset);
    v.setBigUint64(w.layout.desc + 16 * h, far, true);
    v.setUint32(w.layout.desc + 16 * h + 8, 3, true);
    v.setUint32(w.layout.desc + 16 * h + 12, 0, true);
    makeAvail(w.ram, w.layout.avail, 4, h);
    expect(w.vrh.getdesc(w.riov, w.wiov, w.h)).toBe(1);
    const dst = new Uint8Array(3);
    expect(w.vrh.pull(w.riov, dst)).toBe(3);
    expect([...dst]).toEqual([1, 2, 3]);

    w.iotlb.reset();
    w.iotlb.addRange(0n, U64_MAX, BigInt(w.target), VHOST_MAP_RW);
    expect(pull(w, w.B, 3)).toEqual([1, 2, 3]);
  });
});

describe('vringh copies are byte-exact at every alignment and length', () => {
  it('pull and push of random bytes, any offset on either side, lengths 1..700', () => {
    const w = split(false);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 15 }),
        fc.integer({ min: 0, max: 15 }),
        fc.integer({ min: 1, max: 700 }),
        fc.boolean(),
        (guestOff, bufOff, len, write) => {
          const addr = w.B + 0x1000 + guestOff;
          const buf = new Uint8Array(16 + len);
          const bytes = Uint8Array.from({ length: len }, (_, i) => (i * 151 + len + guestOff) & 0xff);
          if (write) {
            buf.set(bytes, bufOff);
            expect(w.vrh.push(take(w, addr, len, true), buf.subarray(bufOff, bufOff + len))).toBe(len);
            expect([...w.ram.subarray(addr, addr + len)]).toEqual([...bytes]);
          } else {
            w.ram.set(bytes, addr);
            expect(w.vrh.pull(take(w, addr, len, false), buf.subarray(bufOff, bufOff + len))).toBe(len);
            expect([...buf.subarray(bufOff, bufOff + len)]).toEqual([...bytes]);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('NaN bit patterns survive (8-byte copies never go through doubles)', () => {
    const w = split(false);
    const nan = [0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf0, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    w.ram.set(nan, w.B);
    for (let i = 0; i < 3000; i++) expect(pull(w, w.B, 16)).toEqual(nan);
  });

  it('a pull into the guest RAM itself behaves as memmove', () => {
    const w = split(false);
    for (let i = 0; i < 64; i++) w.ram[w.B + i] = i;
    const dst = w.ram.subarray(w.B + 8, w.B + 72);
    expect(w.vrh.pull(take(w, w.B, 64, false), dst)).toBe(64);
    expect([...w.ram.subarray(w.B + 8, w.B + 72)]).toEqual(Array.from({ length: 64 }, (_, i) => i));
  });
});

describe('VhostIotlb.mapAt()', () => {
  it('gives the map holding an IOVA as numbers, nothing in a gap or once maps overlap', () => {
    const t = new VhostIotlb();
    const out: IotlbMapRange = { start: 0, last: 0, addr: 0, perm: 0 };
    t.addRange(0x1000n, 0x1fffn, 0x9000n, VHOST_MAP_RO);
    t.addRange(0x3000n, U64_MAX, 0n, VHOST_MAP_RW);
    expect(t.mapAt(0x1800, out)).toBe(true);
    expect(out).toEqual({ start: 0x1000, last: 0x1fff, addr: 0x9000, perm: VHOST_MAP_RO });
    expect(t.mapAt(0x2000, out)).toBe(false);
    expect(t.mapAt(0xfff, out)).toBe(false);
    expect(t.mapAt(2 ** 52, out)).toBe(true);
    expect(out.last).toBe(2 ** 53 - 1);
    const g = t.generation;
    t.addRange(0x1800n, 0x1800n, 0n, VHOST_MAP_RW);
    expect(t.generation).not.toBe(g);
    expect(t.mapAt(0x1800, out)).toBe(false);
  });
});
