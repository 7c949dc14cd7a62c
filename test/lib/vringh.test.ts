// vringh (IOTLB variant) against drivers/vhost/vringh.c: facts §6.1 and item 49, in PA and VA mode.

import { describe, expect, it } from 'vitest';
import { VHOST_MAP_RO, VHOST_MAP_RW, VHOST_MAP_WO } from '../../lib/iotlb/index.js';
import { VringhKiov } from '../../lib/virtio/index.js';
import {
  EFAULT,
  EINVAL,
  ELOOP,
  ENOBUFS,
  EPERM,
  EPROTO,
  VRING_AVAIL_F_NO_INTERRUPT,
  VRING_DESC_F_INDIRECT as IND,
  VRING_DESC_F_NEXT as NEXT,
  VRING_DESC_F_WRITE as WRITE,
} from '../../uapi/index.js';
import { makeAvail, putDesc, ringWorld } from '../helpers/ring_world.js';

const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset);

function raw(num = 4, va = false) {
  const w = ringWorld<number>({ num, va });
  const riov = new VringhKiov();
  const wiov = new VringhKiov();
  const h = { head: -1 };
  return { ...w, riov, wiov, h, D: w.layout.desc, A: w.layout.avail, B: w.layout.buffers };
}

for (const va of [false, true]) {
  const mode = va ? 'VA mode' : 'PA mode';
  describe(`vringh chain walk (${mode})`, () => {
    it('an empty ring gives 0', () => {
      const t = raw(4, va);
      expect(t.vrh.getdesc(t.riov, t.wiov, t.h)).toBe(0);
    });

    it('returns readable and writable segments of a chain', () => {
      const t = raw(4, va);
      putDesc(t.ram, t.D, 0, t.B, 10, NEXT, 1);
      putDesc(t.ram, t.D, 1, t.B + 100, 20, NEXT | WRITE, 3);
      putDesc(t.ram, t.D, 3, t.B + 200, 0, WRITE, 0);
      makeAvail(t.ram, t.A, 4, 0);
      expect(t.vrh.getdesc(t.riov, t.wiov, t.h)).toBe(1);
      expect(t.h.head).toBe(0);
      expect([t.riov.used, t.riov.remaining(), t.wiov.used, t.wiov.remaining()]).toEqual([1, 10, 2, 20]);
      expect(t.vrh.lastAvailIdx).toBe(1);
    });

    it('head >= num is EINVAL without consuming the entry (§8.49, every profile)', () => {
      const t = raw(4, va);
      makeAvail(t.ram, t.A, 4, 4);
      expect(t.vrh.getdesc(t.riov, t.wiov, t.h)).toBe(-EINVAL);
      expect(t.vrh.lastAvailIdx).toBe(0);
    });

    it('a looping chain is ELOOP, and the entry is consumed (§8.49, every profile)', () => {
      const t = raw(4, va);
      putDesc(t.ram, t.D, 0, t.B, 1, NEXT, 1);
      putDesc(t.ram, t.D, 1, t.B, 1, NEXT, 0);
      makeAvail(t.ram, t.A, 4, 0);
      expect(t.vrh.getdesc(t.riov, t.wiov, t.h)).toBe(-ELOOP);
      expect(t.vrh.lastAvailIdx).toBe(1);
    });

    it('a chain longer than the ring is ELOOP', () => {
      const t = raw(2, va);
      putDesc(t.ram, t.D, 0, t.B, 1, NEXT, 1);
      putDesc(t.ram, t.D, 1, t.B, 1, NEXT, 0);
      makeAvail(t.ram, t.A, 2, 0);
      expect(t.vrh.getdesc(t.riov, t.wiov, t.h)).toBe(-ELOOP);
    });

    it('a readable descriptor after a writable one is EINVAL (§8.49, every profile)', () => {
      const t = raw(4, va);
      putDesc(t.ram, t.D, 0, t.B, 1, NEXT | WRITE, 1);
      putDesc(t.ram, t.D, 1, t.B, 1, 0, 0);
      makeAvail(t.ram, t.A, 4, 0);
      expect(t.vrh.getdesc(t.riov, t.wiov, t.h)).toBe(-EINVAL);
    });

    it('a descriptor whose direction has no iov is EPROTO', () => {
      const t = raw(4, va);
      putDesc(t.ram, t.D, 0, t.B, 1, WRITE, 0);
      makeAvail(t.ram, t.A, 4, 0);
      expect(t.vrh.getdesc(t.riov, undefined, t.h)).toBe(-EPROTO);
      putDesc(t.ram, t.D, 1, t.B, 1, 0, 0);
      makeAvail(t.ram, t.A, 4, 1);
      expect(t.vrh.getdesc(undefined, t.wiov, t.h)).toBe(-EPROTO);
      // Asking for neither is refused once a head has been taken (WARN_ON in __vringh_iov).
      makeAvail(t.ram, t.A, 4, 1);
      expect(t.vrh.getdesc(undefined, undefined, t.h)).toBe(-EINVAL);
      expect(t.vrh.lastAvailIdx).toBe(3);
    });

    it('a next index past the table is EINVAL', () => {
      const t = raw(4, va);
      putDesc(t.ram, t.D, 0, t.B, 1, NEXT, 9);
      makeAvail(t.ram, t.A, 4, 0);
      expect(t.vrh.getdesc(t.riov, t.wiov, t.h)).toBe(-EINVAL);
    });

    it('follows indirect tables (features or not); INDIRECT|NEXT continues after the table', () => {
      const t = raw(4, va);
      const tbl = t.B + 0x1000;
      putDesc(t.ram, tbl, 0, t.B, 7, NEXT, 1);
      putDesc(t.ram, tbl, 1, t.B + 64, 9, WRITE, 0);
      putDesc(t.ram, t.D, 0, tbl, 32, IND | NEXT, 2);
      putDesc(t.ram, t.D, 2, t.B + 128, 5, WRITE, 0);
      makeAvail(t.ram, t.A, 4, 0);
      expect(t.vrh.getdesc(t.riov, t.wiov, t.h)).toBe(1);
      expect([t.riov.remaining(), t.wiov.used, t.wiov.remaining()]).toEqual([7, 2, 14]);
    });

    it('INDIRECT|NEXT with next 0 ends the chain after the table (the kernel tests up_next > 0)', () => {
      const t = raw(4, va);
      const tbl = t.B + 0x1000;
      putDesc(t.ram, tbl, 0, t.B, 7, 0, 0);
      putDesc(t.ram, t.D, 1, tbl, 16, IND | NEXT, 0);
      putDesc(t.ram, t.D, 0, t.B, 100, 0, 0);
      makeAvail(t.ram, t.A, 4, 1);
      expect(t.vrh.getdesc(t.riov, t.wiov, t.h)).toBe(1);
      expect(t.riov.remaining()).toBe(7);
    });

    it('nested indirect and an indirect length not a multiple of 16 are EINVAL (§8.49, every profile)', () => {
      const t = raw(4, va);
      const tbl = t.B + 0x1000;
      putDesc(t.ram, tbl, 0, tbl, 16, IND, 0);
      putDesc(t.ram, t.D, 0, tbl, 16, IND, 0);
      makeAvail(t.ram, t.A, 4, 0);
      expect(t.vrh.getdesc(t.riov, t.wiov, t.h)).toBe(-EINVAL);
      putDesc(t.ram, t.D, 1, tbl, 17, IND, 0);
      makeAvail(t.ram, t.A, 4, 1);
      expect(t.vrh.getdesc(t.riov, t.wiov, t.h)).toBe(-EINVAL);
    });

    it('an indirect table that loops is ELOOP', () => {
      const t = raw(4, va);
      const tbl = t.B + 0x1000;
      putDesc(t.ram, tbl, 0, t.B, 1, NEXT, 1);
      putDesc(t.ram, tbl, 1, t.B, 1, NEXT, 0);
      putDesc(t.ram, t.D, 0, tbl, 32, IND, 0);
      makeAvail(t.ram, t.A, 4, 0);
      expect(t.vrh.getdesc(t.riov, t.wiov, t.h)).toBe(-ELOOP);
    });
  });

  describe(`vringh translation and copies (${mode})`, () => {
    it('pull and push copy through the IOTLB and advance the iovs', () => {
      const t = raw(4, va);
      t.ram.set([1, 2, 3, 4, 5, 6], t.B);
      putDesc(t.ram, t.D, 0, t.B, 6, NEXT, 1);
      putDesc(t.ram, t.D, 1, t.B + 64, 8, WRITE, 0);
      makeAvail(t.ram, t.A, 4, 0);
      expect(t.vrh.getdesc(t.riov, t.wiov, t.h)).toBe(1);
      const dst = new Uint8Array(4);
      expect(t.vrh.pull(t.riov, dst)).toBe(4);
      expect([...dst]).toEqual([1, 2, 3, 4]);
      expect(t.vrh.pull(t.riov, dst)).toBe(2);
      expect(t.vrh.pull(t.riov, dst)).toBe(0);
      expect(t.vrh.push(t.wiov, Uint8Array.of(9, 8, 7, 6, 5, 4, 3, 2, 1))).toBe(8);
      expect([...t.ram.subarray(t.B + 64, t.B + 73)]).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 0]);
    });

    it('pull and push at an offset in the caller buffer: bounded by its end; a negative offset is EINVAL', () => {
      const t = raw(4, va);
      t.ram.set([1, 2, 3, 4, 5, 6], t.B);
      putDesc(t.ram, t.D, 0, t.B, 6, NEXT, 1);
      putDesc(t.ram, t.D, 1, t.B + 64, 8, WRITE, 0);
      makeAvail(t.ram, t.A, 4, 0);
      expect(t.vrh.getdesc(t.riov, t.wiov, t.h)).toBe(1);
      const dst = new Uint8Array(6);
      expect(t.vrh.pull(t.riov, dst, 6, -1)).toBe(-EINVAL);
      // Room for 4 bytes from offset 2: the rest stays in the iov for the next pull.
      expect(t.vrh.pull(t.riov, dst, 6, 2)).toBe(4);
      expect([...dst]).toEqual([0, 0, 1, 2, 3, 4]);
      expect(t.vrh.pull(t.riov, dst, 6, 6)).toBe(0);
      expect(t.vrh.pull(t.riov, dst, 6, 0)).toBe(2);
      const src = Uint8Array.of(0xaa, 0xbb, 9, 8, 7);
      expect(t.vrh.push(t.wiov, src, 5, -3)).toBe(-EINVAL);
      expect(t.vrh.push(t.wiov, src, 5, 2)).toBe(3);
      expect([...t.ram.subarray(t.B + 64, t.B + 68)]).toEqual([9, 8, 7, 0]);
    });

    it('a buffer in an IOTLB gap or without the needed permission fails the copy with EFAULT', () => {
      const t = raw(4, va);
      putDesc(t.ram, t.D, 0, 0x7fff_0000, 4, 0, 0);
      makeAvail(t.ram, t.A, 4, 0);
      expect(t.vrh.getdesc(t.riov, t.wiov, t.h)).toBe(1);
      expect(t.vrh.pull(t.riov, new Uint8Array(4))).toBe(-EFAULT);
      // Remap the buffer page write-only: reading it is a permission failure, still EFAULT.
      t.iotlb.reset();
      t.iotlb.addRange(0n, BigInt(t.B - 1), BigInt(t.target), VHOST_MAP_RW);
      t.iotlb.addRange(BigInt(t.B), BigInt(t.B + 0xfff), BigInt(t.target + t.B), VHOST_MAP_WO);
      putDesc(t.ram, t.D, 1, t.B, 4, 0, 0);
      makeAvail(t.ram, t.A, 4, 1);
      expect(t.vrh.getdesc(t.riov, t.wiov, t.h)).toBe(1);
      expect(t.vrh.pull(t.riov, new Uint8Array(4))).toBe(-EFAULT);
    });

    it('ring index reads return the translation error itself: EINVAL for a gap, EPERM for a permission', () => {
      const t = raw(4, va);
      t.iotlb.reset();
      expect(t.vrh.getdesc(t.riov, t.wiov, t.h)).toBe(-EINVAL);
      t.iotlb.addRange(0n, 0xfffffn, BigInt(t.target), VHOST_MAP_WO);
      expect(t.vrh.getdesc(t.riov, t.wiov, t.h)).toBe(-EPERM);
    });

    it('an unreachable descriptor table is EFAULT', () => {
      const t = raw(4, va);
      makeAvail(t.ram, t.A, 4, 0);
      t.iotlb.reset();
      t.iotlb.addRange(BigInt(t.A), BigInt(t.A + 0xfff), BigInt(t.target + t.A), VHOST_MAP_RO);
      expect(t.vrh.getdesc(t.riov, t.wiov, t.h)).toBe(-EFAULT);
      expect(t.vrh.lastAvailIdx).toBe(1);
    });

    it('the used element needs WO, but the used.idx store is checked against RO (kernel quirk)', () => {
      const t = raw(4, va);
      const U = t.layout.used;
      t.iotlb.reset();
      t.iotlb.addRange(0n, BigInt(U - 1), BigInt(t.target), VHOST_MAP_RW);
      t.iotlb.addRange(BigInt(U), BigInt(U + 0xfff), BigInt(t.target + U), VHOST_MAP_WO);
      expect(t.vrh.complete(0, 5)).toBe(-EPERM);
      // The element itself was written.
      expect(dv(t.ram).getUint32(U + 8, true)).toBe(5);
      t.iotlb.delRange(BigInt(U), BigInt(U));
      t.iotlb.addRange(BigInt(U), BigInt(U + 0xfff), BigInt(t.target + U), VHOST_MAP_RO);
      expect(t.vrh.complete(0, 5)).toBe(-EFAULT);
    });

    it('copies crossing more than 16 IOTLB entries work (translated 16 at a time)', () => {
      const t = raw(4, va);
      t.iotlb.reset();
      t.iotlb.addRange(0n, BigInt(t.B - 1), BigInt(t.target), VHOST_MAP_RW);
      for (let k = 0; k < 40; k++) t.iotlb.addRange(BigInt(t.B + 64 * k), BigInt(t.B + 64 * k + 63), BigInt(t.target + t.B + 64 * k), VHOST_MAP_RW);
      for (let k = 0; k < 2560; k++) t.ram[t.B + k] = k & 0xff;
      putDesc(t.ram, t.D, 0, t.B, 2560, 0, 0);
      makeAvail(t.ram, t.A, 4, 0);
      expect(t.vrh.getdesc(t.riov, t.wiov, t.h)).toBe(1);
      const dst = new Uint8Array(2560);
      expect(t.vrh.pull(t.riov, dst)).toBe(2560);
      expect(dst.every((b, k) => b === (k & 0xff))).toBe(true);
    });

    it('a push whose batch of 16 segments hits a gap writes nothing of that batch', () => {
      const t = raw(4, va);
      t.iotlb.reset();
      t.iotlb.addRange(0n, BigInt(t.B - 1), BigInt(t.target), VHOST_MAP_RW);
      // Segments 0..3 mapped, then a hole where segment 4 would be.
      for (let k = 0; k < 4; k++) t.iotlb.addRange(BigInt(t.B + 64 * k), BigInt(t.B + 64 * k + 63), BigInt(t.target + t.B + 64 * k), VHOST_MAP_RW);
      putDesc(t.ram, t.D, 0, t.B, 512, WRITE, 0);
      makeAvail(t.ram, t.A, 4, 0);
      expect(t.vrh.getdesc(t.riov, t.wiov, t.h)).toBe(1);
      expect(t.vrh.push(t.wiov, new Uint8Array(512).fill(0xee))).toBe(-EFAULT);
      expect(t.ram.subarray(t.B, t.B + 256).every((b) => b === 0)).toBe(true);
    });
  });
}

describe('vringh in VA mode: user memory faults', () => {
  it('a translated user address with no VMA behind it is EFAULT, also for ring reads', () => {
    const t = raw(4, true);
    t.iotlb.reset();
    // Map the IOVAs to a user range nothing is mapped at.
    t.iotlb.addRange(0n, 0xfffffn, 0x1000_0000n, VHOST_MAP_RW);
    expect(t.vrh.getdesc(t.riov, t.wiov, t.h)).toBe(-EFAULT);
  });
});

describe('vringh init, completion and notification', () => {
  it('init refuses a size that is zero, too large or not a power of two, keeping its state', () => {
    const t = raw(4);
    for (const n of [0, 3, 0x10000, 65535]) expect(t.vrh.init(0n, n, 0n, 0n, 0n, false)).toBe(-EINVAL);
    expect(t.vrh.num).toBe(4);
  });

  it('complete writes {id, len} at (last_used + completed) % num and bumps used.idx', () => {
    const t = raw(4);
    const U = t.layout.used;
    expect(t.vrh.complete(3, 77)).toBe(0);
    expect(t.vrh.complete(1, 5)).toBe(0);
    const v = dv(t.ram);
    expect([v.getUint32(U + 4, true), v.getUint32(U + 8, true), v.getUint32(U + 12, true), v.getUint16(U + 2, true)]).toEqual([3, 77, 1, 2]);
    expect(t.vrh.completed).toBe(2);
  });

  it('without event idx: notify unless NO_INTERRUPT; last_used never advances', () => {
    const t = raw(4);
    t.vrh.complete(0, 0);
    expect(t.vrh.needNotify()).toBe(1);
    dv(t.ram).setUint16(t.A, VRING_AVAIL_F_NO_INTERRUPT, true);
    expect(t.vrh.needNotify()).toBe(0);
    expect([t.vrh.lastUsedIdx, t.vrh.completed]).toEqual([0, 1]);
  });

  it('with event idx: notify iff used_event is crossed, then last_used catches up', () => {
    const w = ringWorld<number>({ num: 8, eventIdx: true });
    const v = dv(w.ram);
    const usedEvent = w.layout.avail + 4 + 2 * 8;
    v.setUint16(usedEvent, 1, true);
    w.vrh.complete(0, 0);
    expect(w.vrh.needNotify()).toBe(0);
    w.vrh.complete(1, 0);
    expect(w.vrh.needNotify()).toBe(1);
    expect([w.vrh.lastUsedIdx, w.vrh.completed]).toEqual([2, 0]);
  });

  it('notify_enable/disable use used.flags without event idx, avail_event with it', () => {
    const t = raw(4);
    const U = t.layout.used;
    t.vrh.notifyDisable();
    expect(dv(t.ram).getUint16(U, true)).toBe(1);
    expect(t.vrh.notifyEnable()).toBe(true);
    expect(dv(t.ram).getUint16(U, true)).toBe(0);
    makeAvail(t.ram, t.A, 4, 0);
    expect(t.vrh.notifyEnable()).toBe(false);
    const w = ringWorld<number>({ num: 8, eventIdx: true });
    w.vrh.lastAvailIdx = 5;
    w.vrh.notifyEnable();
    expect(dv(w.ram).getUint16(w.layout.used + 4 + 8 * 8, true)).toBe(5);
  });

  it('a u16 split across two IOTLB maps is ENOBUFS for ring reads (one segment allowed)', () => {
    const t = raw(4);
    t.iotlb.reset();
    t.iotlb.addRange(0n, BigInt(t.A + 2), BigInt(t.target), VHOST_MAP_RW);
    t.iotlb.addRange(BigInt(t.A + 3), 0xfffffn, BigInt(t.target + t.A + 3), VHOST_MAP_RW);
    expect(t.vrh.getdesc(t.riov, t.wiov, t.h)).toBe(-ENOBUFS);
  });

  it('VringhKiov.advance restores a finished element and moves to the next', () => {
    const k = new VringhKiov(1);
    k.push(0, 0xffff_fff0, 32);
    k.push(1, 0, 8);
    k.advance(20);
    expect([k.i, k.hi[0], k.lo[0], k.len[0]]).toEqual([0, 1, 4, 12]);
    k.advance(12);
    expect([k.i, k.hi[0], k.lo[0], k.len[0], k.consumed]).toEqual([1, 0, 0xffff_fff0, 32, 0]);
    expect(k.remaining()).toBe(8);
  });

  it('reads that need RO and writes that need WO honour an RO-only mapping of the rings', () => {
    const t = raw(4);
    t.iotlb.reset();
    t.iotlb.addRange(0n, BigInt(t.B - 1), BigInt(t.target), VHOST_MAP_RO);
    expect(t.vrh.getdesc(t.riov, t.wiov, t.h)).toBe(0);
    expect(t.vrh.complete(0, 0)).toBe(-EFAULT);
  });
});

describe('vringh ring translation cache is exact', () => {
  it('dropping the rings\' IOTLB map makes the next access fail, as without a cache', () => {
    const w = ringWorld<number>({ num: 4 });
    const riov = new VringhKiov();
    const h = { head: 0 };
    expect(w.vq.addOutbuf(w.layout.buffers, 8, 1)).toBe(0);
    expect(w.vrh.getdesc(riov, undefined, h)).toBe(1);
    w.iotlb.reset();
    expect(w.vq.addOutbuf(w.layout.buffers, 8, 2)).toBe(0);
    expect(w.vrh.getdesc(riov, undefined, h)).toBe(-EINVAL);
    // Used-element copies report any translation failure as EFAULT; index reads keep EINVAL.
    expect(w.vrh.complete(0, 0)).toBe(-EFAULT);
    expect(w.vrh.needNotify()).toBe(-EINVAL);
  });

  it('remapping the IOVAs to other memory is seen at once', () => {
    const w = ringWorld<number>({ num: 4 });
    const riov = new VringhKiov();
    const h = { head: 0 };
    expect(w.vrh.getdesc(riov, undefined, h)).toBe(0);
    // Make the rings read-only: completing needs WO for the element, so it now fails.
    const size = BigInt(w.ram.length);
    w.iotlb.reset();
    w.iotlb.addRange(0n, size - 1n, BigInt(w.target), VHOST_MAP_RO);
    expect(w.vrh.complete(0, 0)).toBe(-EFAULT);
  });

  it('in VA mode, unmapping the guest RAM from the process makes accesses fault', () => {
    const w = ringWorld<number>({ num: 4, va: true });
    const riov = new VringhKiov();
    const h = { head: 0 };
    expect(w.vq.addOutbuf(w.layout.buffers, 8, 1)).toBe(0);
    expect(w.vrh.getdesc(riov, undefined, h)).toBe(1);
    const mm = w.mem as unknown as { munmap(a: number, l: number): number };
    expect(mm.munmap(w.target, w.ram.length)).toBe(0);
    expect(w.vq.addOutbuf(w.layout.buffers, 8, 2)).toBe(0);
    expect(w.vrh.getdesc(riov, undefined, h)).toBe(-EFAULT);
  });
});
