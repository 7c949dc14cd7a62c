// Every register of the `vdpa=on` live-migration block, in both of the seed's layouts, with the
// seed code's behaviour for good and bad accesses (virtio_pci_lm_read/write, lm_enable/disable,
// virtio_queue_{get,set}_vring_states) and a trace event for each bad one.

import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { VirtioPciLm } from '../../sim/pci/index.js';
import { LM_LAYOUTS, LM_PACKED_STATE, type LmLayoutName } from '../../uapi/proposed/index.js';
import { VIRTIO_CONFIG_S_DRIVER_OK, VIRTIO_CONFIG_S_NEEDS_RESET, VIRTIO_PCI_COMMON_Q_SELECT } from '../../uapi/index.js';
import { Driver, HDR_LEN, MAC_BYTES, ethFrame, makeWorld, putPacket } from './helpers.js';

const LM = 0x4000;

const bad: { offset: number; reason: string }[] = [];
const onBad = (m: unknown) => bad.push(m as { offset: number; reason: string });
subscribe('vdpa:pci:lm_bad_access', onBad);
afterEach(() => {
  bad.length = 0;
});
afterAll(() => unsubscribe('vdpa:pci:lm_bad_access', onBad));

function lmWorld(layout: LmLayoutName, opts: Parameters<typeof makeWorld>[0] = {}) {
  const w = makeWorld({ lm: { layout }, ...opts });
  const d = new Driver(w);
  const base = opts.pagePerVq ? 0x3000 + 0x1000 * 1024 : LM;
  const r = (off: number, size: 1 | 2 | 4 | 8 = 4) => w.fn.barRead(4, base + off, size);
  const wr = (off: number, size: 1 | 2 | 4 | 8, v: number | bigint) => w.fn.barWrite(4, base + off, size, v);
  return { w, d, r, wr, L: LM_LAYOUTS[layout] };
}

/** Base and end of a bitmap in guest RAM (device addresses), then LOGGING_CTRL = 1. */
function enable(x: ReturnType<typeof lmWorld>, base: number, end: number): void {
  const { wr, L } = x;
  wr(L.LM_BASE_ADDR_LOW, 4, base);
  wr(L.LM_BASE_ADDR_HIGH, 4, 0);
  wr(L.LM_END_ADDR_LOW, 4, end);
  wr(L.LM_END_ADDR_HIGH, 4, 0);
  wr(L.LM_LOGGING_CTRL, 4, 1);
}

describe.each(['code', 'doc'] as const)('layout %s', (layout) => {
  it('sits right after the notify region (0x3000 + 4 * 1024 = 0x4000)', () => {
    const { w } = lmWorld(layout);
    expect(w.fn.lm?.layout.name).toBe(layout);
    expect(w.fn.barRead(4, 0x3ffc, 4)).toBe(0);
    expect(w.fn.barRead(4, LM + 0x1020, 4)).toBe(0xffffffff);
  });

  it('BASE_ADDR_LOW/HIGH and END_ADDR_LOW/HIGH read back what was written', () => {
    const { r, wr, L } = lmWorld(layout);
    wr(L.LM_BASE_ADDR_LOW, 4, 0x1234_5000);
    wr(L.LM_BASE_ADDR_HIGH, 4, 0x1);
    wr(L.LM_END_ADDR_LOW, 4, 0x2234_5000);
    wr(L.LM_END_ADDR_HIGH, 4, 0x2);
    expect([r(L.LM_BASE_ADDR_LOW), r(L.LM_BASE_ADDR_HIGH), r(L.LM_END_ADDR_LOW), r(L.LM_END_ADDR_HIGH)]).toEqual([0x1234_5000, 1, 0x2234_5000, 2]);
    expect(bad).toEqual([]);
  });

  it("the other layout's address registers are unknown offsets: read 0, a write breaks the device", () => {
    const { w, d, r, wr } = lmWorld(layout);
    d.up({ queues: [0, 1] });
    const other = LM_LAYOUTS[layout === 'code' ? 'doc' : 'code'];
    const off = other.LM_BASE_ADDR_HIGH;
    expect(r(off)).toBe(0);
    expect(bad.map((b) => b.reason)).toEqual(['unknown offset: reads 0']);
    wr(off, 4, 1);
    expect(w.fn.broken).toBe(true);
    expect(d.status & VIRTIO_CONFIG_S_NEEDS_RESET).toBe(VIRTIO_CONFIG_S_NEEDS_RESET);
  });

  it('LOGGING_CTRL 1 maps [base, end) of the DMA space; 0 drops the mapping; it reads back the value', () => {
    const x = lmWorld(layout);
    enable(x, 0x7_0000, 0x7_1000);
    expect(x.r(x.L.LM_LOGGING_CTRL)).toBe(1);
    expect(x.w.fn.lm?.bitmapRange).toEqual({ base: 0x7_0000n, size: 0x1000n });
    x.wr(x.L.LM_LOGGING_CTRL, 4, 0);
    expect(x.r(x.L.LM_LOGGING_CTRL)).toBe(0);
    expect(x.w.fn.lm?.bitmapRange).toBeUndefined();
    expect(x.r(x.L.LM_BASE_ADDR_LOW)).toBe(0x7_0000);
  });

  it('LOGGING_CTRL with another value stores its low byte, then breaks the device', () => {
    const x = lmWorld(layout);
    x.d.up({ queues: [0, 1] });
    x.wr(x.L.LM_LOGGING_CTRL, 4, 0x101);
    expect(x.r(x.L.LM_LOGGING_CTRL)).toBe(1);
    expect(x.w.fn.broken).toBe(true);
    expect(x.w.fn.lm?.logging).toBe(true);
    expect(x.w.fn.lm?.bitmapRange).toBeUndefined();
    expect(bad.map((b) => b.reason)).toEqual(['unsupported LM_LOGGING_CTRL value: stored, device broken']);
  });

  it('enable with end == base: "Invalid lm size.", logging on with no bitmap, device fine', () => {
    const x = lmWorld(layout);
    enable(x, 0x7_0000, 0x7_0000);
    expect(bad.map((b) => b.reason)).toEqual(['Invalid lm size.']);
    expect(x.w.fn.broken).toBe(false);
    expect(x.r(x.L.LM_LOGGING_CTRL)).toBe(1);
    expect(x.w.fn.lm?.bitmapRange).toBeUndefined();
  });

  it('enable with end < base (a size near 2^64) or past RAM: "Cannot map bitmap", broken, the old bitmap kept', () => {
    const x = lmWorld(layout);
    enable(x, 0x7_0000, 0x7_1000);
    enable(x, 0x7_1000, 0x7_0000);
    expect(x.w.fn.broken).toBe(true);
    expect(x.w.fn.lm?.bitmapRange).toEqual({ base: 0x7_0000n, size: 0x1000n });
    expect(bad.map((b) => b.reason)).toEqual(['Cannot map bitmap: device broken']);
    const y = lmWorld(layout);
    enable(y, y.w.ramSize - 0x800, y.w.ramSize + 0x800);
    expect(y.w.fn.broken).toBe(true);
    expect(y.w.fn.lm?.bitmapRange).toBeUndefined();
  });

  it('an 8-byte write of the base is two 4-byte accesses (low, then high)', () => {
    const { r, wr, L } = lmWorld(layout);
    wr(L.LM_BASE_ADDR_LOW, 8, 0x0000_0003_0000_4000n);
    expect([r(L.LM_BASE_ADDR_LOW), r(L.LM_BASE_ADDR_HIGH)]).toEqual([0x4000, 3]);
  });

  it('a 1-byte write to a 32-bit register stores that byte (traced as a width error)', () => {
    const { r, wr, L } = lmWorld(layout);
    wr(L.LM_END_ADDR_LOW, 4, 0xffffffff);
    wr(L.LM_END_ADDR_LOW, 1, 0x5a);
    expect(r(L.LM_END_ADDR_LOW)).toBe(0x5a);
    expect(bad.map((b) => b.reason)).toEqual(['1-byte access to a 32-bit register']);
  });

  it('the ring-state word of vq q at 0x20 + 4q reads last_avail_idx | used_idx << 16 after traffic', () => {
    const x = lmWorld(layout);
    x.d.up({ queues: [0, 1] });
    for (let i = 0; i < 3; i++) {
      const b = x.d.alloc.alloc(2048);
      x.d.q(0).vq.addInbuf(b, 2048, b);
    }
    for (let i = 0; i < 2; i++) {
      const b = x.d.alloc.alloc(64);
      x.d.q(1).vq.addOutbuf(b, putPacket(x.w.ram, b, ethFrame(MAC_BYTES, [i])), b);
    }
    x.d.kick(1);
    x.w.settle();
    expect(x.r(0x20 + 4 * 0)).toBe(2 | (2 << 16));
    expect(x.r(0x20 + 4 * 1)).toBe(2 | (2 << 16));
    expect(x.r(0x20 + 4 * 2)).toBe(0);
  });

  it('a write restores both indices before DRIVER_OK: the device resumes from them', () => {
    const x = lmWorld(layout);
    const { d, w } = x;
    d.negotiate((1n << 32n) | (1n << 33n));
    d.enableMsix();
    // Queue 1's state is written before its rings exist, queue 0's after they do.
    x.wr(0x20 + 4, 4, 3 | (3 << 16));
    d.setupQueue(0);
    const tx = d.setupQueue(1);
    x.wr(0x20, 4, 0);
    expect(x.r(0x20 + 4)).toBe(3 | (3 << 16));
    const bufs: number[] = [];
    for (let i = 0; i < 4; i++) {
      const b = d.alloc.alloc(64);
      bufs.push(b);
      tx.vq.addOutbuf(b, putPacket(w.ram, b, ethFrame(MAC_BYTES, [i])), b);
    }
    const rxb = d.alloc.alloc(2048);
    d.q(0).vq.addInbuf(rxb, 2048, rxb);
    d.status = d.status | VIRTIO_CONFIG_S_DRIVER_OK;
    w.settle();
    // Only the fourth buffer was new to the device: it lands in used slot 3, used.idx 4.
    const v = new DataView(w.ram.buffer, w.ram.byteOffset, w.ram.byteLength);
    expect(v.getUint16(tx.used + 2, true)).toBe(4);
    expect(w.fn.stats.tx[0]?.pkts).toBe(1);
    expect(w.ram[rxb + HDR_LEN + 14]).toBe(3);
    expect(x.r(0x20 + 4)).toBe(4 | (4 << 16));
  });

  it('an access inside a ring-state word aliases its queue (index = (addr - 0x20) / 4)', () => {
    const x = lmWorld(layout);
    x.wr(0x20 + 4, 4, 0x0007_0005);
    expect(x.r(0x20 + 4 + 2, 2)).toBe(0x0005);
    x.wr(0x20 + 2, 2, 0x0009);
    expect(x.r(0x20)).toBe(0x0009);
    expect(bad.map((b) => b.reason)).toEqual(['2-byte access to a 32-bit register', '2-byte access to a 32-bit register']);
  });

  it('ring-state words of queues the device does not have keep what was written; the last is vq 1023', () => {
    const { r, wr } = lmWorld(layout);
    wr(0x20 + 4 * 1023, 4, 0x00020001);
    expect(r(0x20 + 4 * 1023)).toBe(0x00020001);
    wr(0x20 + 4 * 500, 4, 0xffff_ffff);
    expect(r(0x20 + 4 * 500)).toBe(0xffff_ffff);
  });

  it('with page-per-vq the index divides by 0x1000: every word of the block is vq 0', () => {
    const x = lmWorld(layout, { pagePerVq: true });
    x.wr(0x20 + 4 * 7, 4, 0x00010001);
    expect(x.r(0x20)).toBe(0x00010001);
    expect(x.w.fn.vqs[0]?.lastAvail).toBe(1);
    expect(x.w.fn.vqs[7]).toBeUndefined();
  });

  it('the registers survive a device reset (the patch adds no reset handler)', () => {
    const x = lmWorld(layout);
    enable(x, 0x7_0000, 0x7_1000);
    x.d.status = 0;
    expect(x.r(x.L.LM_LOGGING_CTRL)).toBe(1);
    expect(x.r(x.L.LM_BASE_ADDR_LOW)).toBe(0x7_0000);
    expect(x.w.fn.lm?.bitmapRange).toBeDefined();
  });

  it('device reset zeroes the ring state the block reads (__virtio_queue_reset)', () => {
    const x = lmWorld(layout);
    x.wr(0x20, 4, 0x00050005);
    x.d.status = 0;
    expect(x.r(0x20)).toBe(0);
  });
});

describe('packed rings', () => {
  it('read 0xFFFFFFFF and ignore writes (virtio_queue_get/set_vring_states)', () => {
    const states: number[][] = [];
    const lm = new VirtioPciLm(
      {
        name: 'fake',
        dma: undefined,
        packed: () => true,
        vringState: () => ({ lastAvail: 1, usedIdx: 2 }),
        setVringState: (q, a, u) => states.push([q, a, u]),
        error: () => {},
      },
      4,
      'seed',
    );
    expect(lm.read(0x20, 4)).toBe(LM_PACKED_STATE);
    lm.write(0x20, 4, 0x10001);
    expect(states).toEqual([]);
  });
});

describe('the inclusive range check', () => {
  it('lets vq 1024 through (0x20 + 4 * 1024), past the region the bus decodes: read 0, write ignored, traced', () => {
    const errors: string[] = [];
    const lm = new VirtioPciLm(
      {
        name: 'direct',
        dma: undefined,
        packed: () => false,
        vringState: () => ({ lastAvail: 0, usedIdx: 0 }),
        setVringState: () => errors.push('set'),
        error: (m) => errors.push(m),
      },
      4,
      'seed',
    );
    expect(lm.read(0x20 + 4 * 1024, 4)).toBe(0);
    lm.write(0x20 + 4 * 1024, 4, 1);
    expect(errors).toEqual([]);
    expect(bad.map((b) => b.reason)).toEqual([
      'vq 1024 passes the inclusive range check (QEMU indexes past vdev->vq[])',
      'vq 1024 passes the inclusive range check (QEMU indexes past vdev->vq[])',
    ]);
    lm.write(0x20 + 4 * 1024 + 4, 4, 1);
    // The message prints the offset in hex, as QEMU's PRIx64.
    expect(errors).toEqual(['Unsupport addr: 1024']);
  });
});

describe('wiring', () => {
  it('without lm the region is a hole in a 16 KiB BAR', () => {
    const w = makeWorld();
    new Driver(w);
    expect(w.fn.lm).toBeUndefined();
    expect(w.fn.barRead(4, LM, 4)).toBe(0xffffffff);
    w.fn.barWrite(4, LM, 4, 1);
    expect(w.fn.broken).toBe(false);
  });

  it('queue_select is not an LM register (the block is its own region)', () => {
    const x = lmWorld('code');
    x.wr(VIRTIO_PCI_COMMON_Q_SELECT, 4, 5);
    expect(x.d.r(VIRTIO_PCI_COMMON_Q_SELECT, 2)).toBe(0);
  });
});
