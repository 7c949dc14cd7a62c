// The proposal-lm-log profile end to end (docs/proposals/lm-log.md): vp_vdpa over a
// virtio-net-pci function with the `vdpa=on` LM block, in both of the seed's register layouts,
// driven through /dev/vhost-vdpa-N: the backend bit, vq state through the ring-state words
// (GET/SET_VRING_BASE), VHOST_VDPA_LOG_START/STOP and their errors, the EBUSY guard on INVALIDATE,
// and a VMM's dirty bitmap after random traffic compared with what the device wrote.
// Functions named in tests: vhost_vdpa_log_start/stop and vhost_vdpa_log_busy (the proposal's
// drivers/vhost/vdpa.c), vp_vdpa_get/set_vq_state and vp_vdpa_log_start (its vp_vdpa.c).

import { channel } from 'node:diagnostics_channel';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LmLayoutName } from '../../uapi/proposed/index.js';
import { VHOST_LOG_PAGE } from '../../sim/pci/index.js';
import {
  EBUSY,
  VHOST_ACCESS_RO,
  VHOST_ACCESS_RW,
  VHOST_ACCESS_WO,
  VHOST_BACKEND_F_DIRTY_LOG,
  VHOST_VDPA_LOG_START,
  VHOST_VDPA_LOG_STOP,
  VIRTIO_CONFIG_S_NEEDS_RESET,
  type UapiProfile,
  errnoName,
  vhostVdpaDirtyLog,
} from '../../uapi/index.js';
import type { VhostVdpa } from '../../lib/vhost_vdpa/index.js';
import { errOf } from '../helpers/errno_of.js';
import {
  BROADCAST,
  DRIVER_OK,
  NET_HDR_LEN,
  NetRig,
  PAGE,
  bit,
  ethFrame,
  guestRing,
  mapGuestRam,
  negotiate,
  putPacket,
  setVring,
  userMem,
  vpOpen,
} from '../helpers/vp_vdpa.js';

const LAYOUTS: readonly LmLayoutName[] = ['code', 'doc'];
const DIRTY_LOG = bit(VHOST_BACKEND_F_DIRTY_LOG);
/** Where the VMM maps its bitmap: above guest RAM, in the same (only) address space. */
const LOG_IOVA = 0x100_0000n;

interface DirtyLog {
  iova: bigint;
  size: bigint;
  asid?: number;
  flags?: number;
}

/** VHOST_VDPA_LOG_START: 'ok' or the errno name. */
function logStart(v: VhostVdpa, a: DirtyLog): string {
  const r = v.file.ioctl(VHOST_VDPA_LOG_START, vhostVdpaDirtyLog.pack({ asid: 0, flags: 0, ...a }));
  return r < 0 ? errnoName(r) : 'ok';
}

function logStop(v: VhostVdpa): string {
  const r = v.file.ioctl(VHOST_VDPA_LOG_STOP, 0);
  return r < 0 ? errnoName(r) : 'ok';
}

/** A rig with the LM block in `layout`, vp_vdpa told the same layout, DIRTY_LOG acked, one bitmap page mapped at LOG_IOVA. */
function lmRig(layout: LmLayoutName, o: { noDriverOk?: boolean; ack?: boolean } = {}) {
  const rig = new NetRig({
    profile: 'proposal-lm-log',
    lm: { layout, dirty: 'complete' },
    ...(o.ack === false ? {} : { backend: DIRTY_LOG }),
    ...(o.noDriverOk ? { noDriverOk: true } : {}),
  });
  const log = userMem(rig.t.us, PAGE);
  rig.v.iotlbUpdate({ iova: LOG_IOVA, size: BigInt(PAGE), uaddr: BigInt(log.addr), perm: VHOST_ACCESS_RW });
  return { rig, log, lm: rig.t.fn.lm as NonNullable<typeof rig.t.fn.lm> };
}

/** Sends `n` broadcast frames of `len` payload bytes, each into its own TX buffer; runs the device. */
function traffic(rig: NetRig, n: number, len = 64): void {
  for (let i = 0; i < n; i++) rig.send(rig.alloc(2048), ethFrame(BROADCAST, new Uint8Array(len).fill(i)));
  rig.settle();
}

describe('the backend bit (VHOST_BACKEND_F_DIRTY_LOG, 9)', () => {
  for (const layout of LAYOUTS) {
    it(`(proposal-lm-log, ${layout} layout) is offered when the function has the LM block, and can be acked`, () => {
      const t = vpOpen({ profile: 'proposal-lm-log', lm: { layout } });
      expect(t.v.getBackendFeatures() & DIRTY_LOG).toBe(DIRTY_LOG);
      expect(errOf(() => t.v.setBackendFeatures(DIRTY_LOG))).toBe('ok');
    });
  }

  it('(proposal-lm-log) a function without the LM block: not offered; acking it is EOPNOTSUPP (no log_start op); LOG_START EOPNOTSUPP', () => {
    const t = vpOpen({ profile: 'proposal-lm-log' });
    expect(t.v.getBackendFeatures() & DIRTY_LOG).toBe(0n);
    expect(errOf(() => t.v.setBackendFeatures(DIRTY_LOG))).toBe('EOPNOTSUPP');
    expect(logStart(t.v, { iova: 0n, size: 8n })).toBe('EOPNOTSUPP');
    expect(logStop(t.v)).toBe('EOPNOTSUPP');
  });

  for (const profile of ['upstream', 'linux-6.1'] as const satisfies readonly UapiProfile[]) {
    it(`(${profile}) never offered, even with the LM block; acking bit 9 is EOPNOTSUPP; vq state stays upstream's`, () => {
      const t = vpOpen({ profile, lm: { layout: 'code' } });
      expect(t.v.getBackendFeatures() & DIRTY_LOG).toBe(0n);
      expect(errOf(() => t.v.setBackendFeatures(DIRTY_LOG))).toBe('EOPNOTSUPP');
      negotiate(t.v);
      expect(errOf(() => t.v.getVringBase(0))).toBe('EOPNOTSUPP');
      expect(errOf(() => t.v.setVringBase(0, 5))).toBe('EOPNOTSUPP');
    });

    it(`(${profile}) LOG_START/LOG_STOP are unknown requests: the vring path answers from the first u32 (ENOTTY, ENOBUFS), _IO with arg 0 EFAULT`, () => {
      const t = vpOpen({ profile, lm: { layout: 'code' } });
      // iova's low word is the "vq index" the vring path reads.
      expect(logStart(t.v, { iova: 0n, size: 8n })).toBe('ENOTTY');
      expect(logStart(t.v, { iova: 0x1000n, size: 8n })).toBe('ENOBUFS');
      expect(logStop(t.v)).toBe('EFAULT');
    });
  }
});

describe('vq state through the ring-state words (vp_vdpa_get_vq_state, vp_vdpa_set_vq_state)', () => {
  for (const layout of LAYOUTS) {
    it(`(${layout}) GET_VRING_BASE returns the device's last_avail after traffic: RX buffers used, TX chains sent`, () => {
      const { rig } = lmRig(layout);
      for (let i = 0; i < 5; i++) rig.postRx(rig.alloc(2048), 2048);
      traffic(rig, 3);
      expect(rig.reap(rig.rx)).toHaveLength(3);
      expect([0, 1, 2].map((q) => rig.v.getVringBase(q))).toEqual([3, 3, 0]);
      expect(rig.t.fn.vringState(1).lastAvail).toBe(3);
      traffic(rig, 4);
      // Two RX buffers were left: the other two frames are overruns, the RX index stops at 5.
      expect([rig.v.getVringBase(0), rig.v.getVringBase(1)]).toEqual([5, 7]);
    });

    it(`(${layout}) SET_VRING_BASE before DRIVER_OK restores: a reset device resumes at that index and sends only the new chain`, () => {
      const { rig } = lmRig(layout);
      traffic(rig, 6);
      expect(rig.reap(rig.tx)).toHaveLength(6);
      const base = rig.v.getVringBase(1);
      rig.v.setStatus(0);
      expect(rig.t.fn.vringState(1).lastAvail).toBe(0);
      const before = rig.t.fn.stats.tx[0]?.pkts as number;
      rig.restart([rig.v.getVringBase(0), base]);
      expect(rig.v.getVringBase(1)).toBe(6);
      const at = rig.alloc(2048);
      rig.send(at, ethFrame(BROADCAST, Uint8Array.of(0x77)));
      rig.settle();
      expect((rig.t.fn.stats.tx[0]?.pkts as number) - before).toBe(1);
      expect(rig.reap(rig.tx)).toEqual([[at, 0]]);
      expect(rig.v.getVringBase(1)).toBe(7);
    });
  }

  it('without the restore (base 0) the reset device replays every chain still in the avail ring: what SET_VRING_BASE prevents', () => {
    const { rig } = lmRig('code');
    traffic(rig, 6);
    rig.reap(rig.tx);
    const before = rig.t.fn.stats.tx[0]?.pkts as number;
    rig.restart([0, 0]);
    traffic(rig, 1);
    expect((rig.t.fn.stats.tx[0]?.pkts as number) - before).toBe(7);
  });

  it('SET_VRING_BASE keeps upstream window: EOPNOTSUPP before FEATURES_OK and on an enabled queue, EINVAL after DRIVER_OK (vhost) and > 0xffff', () => {
    const t = vpOpen({ profile: 'proposal-lm-log', lm: { layout: 'code' } });
    expect(errOf(() => t.v.setVringBase(1, 9))).toBe('EOPNOTSUPP');
    negotiate(t.v);
    expect(errOf(() => t.v.setVringBase(1, 0x10000))).toBe('EINVAL');
    expect(errOf(() => t.v.setVringBase(1, 0xffff))).toBe('ok');
    // A split ring at 0xffff/0xffff reads the word 0xffffffff that also means "packed": still split.
    expect(t.v.getVringBase(1)).toBe(0xffff);
    const ram = mapGuestRam(t, 16 * PAGE);
    setVring(t.v, 1, guestRing(ram, PAGE, 64));
    t.v.setVringEnable(1, true);
    expect(errOf(() => t.v.setVringBase(1, 9))).toBe('EOPNOTSUPP');
    t.v.setStatus(DRIVER_OK);
    expect(errOf(() => t.v.setVringBase(1, 9))).toBe('EINVAL');
    expect(t.v.getVringBase(1)).toBe(0xffff);
  });
});

describe('VHOST_VDPA_LOG_START / LOG_STOP (vhost_vdpa_log_start, vp_vdpa_log_start)', () => {
  for (const layout of LAYOUTS) {
    it(`(${layout}) LOG_START programs the function's bitmap window and enables logging; LOG_STOP disables it`, () => {
      const { rig, lm } = lmRig(layout);
      expect(logStart(rig.v, { iova: LOG_IOVA, size: BigInt(PAGE) })).toBe('ok');
      expect(lm.logging).toBe(true);
      expect(lm.bitmapRange).toEqual({ base: LOG_IOVA, size: BigInt(PAGE) });
      expect(logStop(rig.v)).toBe('ok');
      expect(lm.logging).toBe(false);
      expect(lm.bitmapRange).toBeUndefined();
      expect(logStop(rig.v)).toBe('ok');
    });
  }

  it('not acked: EOPNOTSUPP for LOG_START and LOG_STOP, before the argument is read (a bad pointer too)', () => {
    const { rig } = lmRig('code', { ack: false });
    expect(logStart(rig.v, { iova: LOG_IOVA, size: BigInt(PAGE) })).toBe('EOPNOTSUPP');
    expect(errnoName(rig.v.file.ioctl(VHOST_VDPA_LOG_START, 0x10))).toBe('EOPNOTSUPP');
    expect(logStop(rig.v)).toBe('EOPNOTSUPP');
  });

  it('an unreadable argument is EFAULT', () => {
    const { rig, lm } = lmRig('code');
    expect(errnoName(rig.v.file.ioctl(VHOST_VDPA_LOG_START, 0x10))).toBe('EFAULT');
    expect(lm.logging).toBe(false);
  });

  const P = BigInt(PAGE);
  for (const [what, a] of [
    ['flags != 0', { iova: LOG_IOVA, size: P, flags: 1 }],
    ['asid >= nas (1)', { iova: LOG_IOVA, size: P, asid: 1 }],
    ['size 0', { iova: LOG_IOVA, size: 0n }],
    ['iova + size wraps past 2^64', { iova: (1n << 64n) - P, size: 2n * P }],
    ['an area nothing maps', { iova: 0x200_0000n, size: P }],
    ['an area running past its mapping', { iova: LOG_IOVA, size: 2n * P }],
    ['an area starting before its mapping', { iova: LOG_IOVA - 8n, size: 16n }],
  ] as const satisfies readonly (readonly [string, DirtyLog])[]) {
    it(`${what}: EINVAL, nothing programmed`, () => {
      const { rig, lm } = lmRig('code');
      expect(logStart(rig.v, a)).toBe('EINVAL');
      expect(lm.logging).toBe(false);
      expect(lm.bitmapRange).toBeUndefined();
    });
  }

  it('an area mapped read-only, or with a hole between two maps, is EINVAL; two adjacent writable maps (WO then RW) are fine', () => {
    const { rig } = lmRig('code');
    const mem = userMem(rig.t.us, 4 * PAGE);
    const at = (i: number): bigint => 0x300_0000n + BigInt(i * PAGE);
    const map = (i: number, perm: number) => rig.v.iotlbUpdate({ iova: at(i), size: BigInt(PAGE), uaddr: BigInt(mem.addr + i * PAGE), perm });
    map(0, VHOST_ACCESS_RO);
    expect(logStart(rig.v, { iova: at(0), size: 16n })).toBe('EINVAL');
    map(1, VHOST_ACCESS_WO);
    map(3, VHOST_ACCESS_RW);
    expect(logStart(rig.v, { iova: at(1), size: 3n * BigInt(PAGE) })).toBe('EINVAL');
    map(2, VHOST_ACCESS_RW);
    expect(logStart(rig.v, { iova: at(1), size: 3n * BigInt(PAGE) })).toBe('ok');
  });

  it('a second LOG_START moves the bitmap: the old area may then be invalidated, the new one may not', () => {
    const { rig, lm } = lmRig('code');
    const other = userMem(rig.t.us, PAGE);
    rig.v.iotlbUpdate({ iova: 0x200_0000n, size: BigInt(PAGE), uaddr: BigInt(other.addr), perm: VHOST_ACCESS_RW });
    expect(logStart(rig.v, { iova: LOG_IOVA, size: BigInt(PAGE) })).toBe('ok');
    expect(logStart(rig.v, { iova: 0x200_0000n, size: 512n })).toBe('ok');
    expect(lm.bitmapRange).toEqual({ base: 0x200_0000n, size: 512n });
    expect(errOf(() => rig.v.iotlbInvalidate({ iova: LOG_IOVA, size: BigInt(PAGE) }))).toBe('ok');
    expect(errOf(() => rig.v.iotlbInvalidate({ iova: 0x200_0000n, size: 1n }))).toBe('EFAULT');
  });
});

describe('the bitmap stays mapped while logging (vhost_vdpa_log_busy)', () => {
  /** ret of every IOTLB message the handler processed, while `fn` runs. */
  function handlerResults(fn: () => void): number[] {
    const rets: number[] = [];
    const ch = channel('vdpa:vhost:iotlb_msg');
    const sub = (m: unknown) => rets.push((m as { ret: number }).ret);
    ch.subscribe(sub);
    try {
      fn();
    } finally {
      ch.unsubscribe(sub);
    }
    return rets;
  }

  it('an INVALIDATE overlapping the log area is EBUSY in the handler (EFAULT from write(), as every handler error) and unmaps nothing', () => {
    const { rig } = lmRig('code');
    expect(logStart(rig.v, { iova: LOG_IOVA, size: BigInt(PAGE) })).toBe('ok');
    let err = '';
    const rets = handlerResults(() => {
      err = errOf(() => rig.v.iotlbInvalidate({ iova: LOG_IOVA + 100n, size: 1n }));
    });
    expect(err).toBe('EFAULT');
    expect(rets).toEqual([-EBUSY]);
    expect(rig.t.vhost.domain?.iovaToPhys(LOG_IOVA)).toBeDefined();
    // A size-0 INVALIDATE at iova 0 means the whole space: the log area too.
    expect(errOf(() => rig.v.iotlbInvalidate({ iova: 0n, size: 0n }))).toBe('EFAULT');
  });

  it('INVALIDATEs elsewhere work while logging; after LOG_STOP the log area can go', () => {
    const { rig } = lmRig('code');
    expect(logStart(rig.v, { iova: LOG_IOVA, size: BigInt(PAGE) })).toBe('ok');
    expect(errOf(() => rig.v.iotlbInvalidate({ iova: 0n, size: LOG_IOVA }))).toBe('ok');
    expect(logStop(rig.v)).toBe('ok');
    expect(errOf(() => rig.v.iotlbInvalidate({ iova: LOG_IOVA, size: BigInt(PAGE) }))).toBe('ok');
    expect(rig.t.vhost.domain?.iovaToPhys(LOG_IOVA)).toBeUndefined();
  });

  it('a reset (SET_STATUS 0) stops logging on the function and frees the area; so does close', () => {
    const { rig, lm } = lmRig('code');
    expect(logStart(rig.v, { iova: LOG_IOVA, size: BigInt(PAGE) })).toBe('ok');
    rig.v.setStatus(0);
    expect(lm.logging).toBe(false);
    expect(errOf(() => rig.v.iotlbInvalidate({ iova: LOG_IOVA, size: BigInt(PAGE) }))).toBe('ok');
    const again = lmRig('code');
    expect(logStart(again.rig.v, { iova: LOG_IOVA, size: BigInt(PAGE) })).toBe('ok');
    again.rig.v.close();
    expect(again.lm.logging).toBe(false);
  });

  it("lm_layout must match the function: the `code` layout's writes on a `doc` function hit unknown offsets and the seed's device breaks", () => {
    const rig = new NetRig({ profile: 'proposal-lm-log', lm: { layout: 'doc', dirty: 'complete' }, lmLayout: 'code', backend: DIRTY_LOG });
    const log = userMem(rig.t.us, PAGE);
    rig.v.iotlbUpdate({ iova: LOG_IOVA, size: BigInt(PAGE), uaddr: BigInt(log.addr), perm: VHOST_ACCESS_RW });
    // vp_vdpa cannot tell: log_start returns 0.
    expect(logStart(rig.v, { iova: LOG_IOVA, size: BigInt(PAGE) })).toBe('ok');
    expect(rig.t.fn.lm?.bitmapRange).toBeUndefined();
    expect(rig.v.getStatus() & VIRTIO_CONFIG_S_NEEDS_RESET).toBe(VIRTIO_CONFIG_S_NEEDS_RESET);
  });
});

/** The bits set in a bitmap, as page numbers. */
function bitsOf(map: Uint8Array): number[] {
  const out: number[] = [];
  map.forEach((byte, i) => {
    for (let b = 0; b < 8; b++) if (byte & (1 << b)) out.push(i * 8 + b);
  });
  return out;
}

/** Adds to `into` the pages where `a` and `b` differ. */
function changedPages(a: Uint8Array, b: Uint8Array, into: Set<number>): void {
  const wa = new Uint32Array(a.buffer, a.byteOffset, a.byteLength >> 2);
  const wb = new Uint32Array(b.buffer, b.byteOffset, b.byteLength >> 2);
  for (let i = 0; i < wa.length; i++) if (wa[i] !== wb[i]) into.add(Math.floor((i * 4) / VHOST_LOG_PAGE));
}

const pagesOf = (addr: number, len: number): number[] => {
  const out: number[] = [];
  for (let p = Math.floor(addr / VHOST_LOG_PAGE); p <= Math.floor((addr + len - 1) / VHOST_LOG_PAGE); p++) out.push(p);
  return out;
};

const sortedOf = (s: Iterable<number>): number[] => [...new Set(s)].sort((a, b) => a - b);

/** RX buffers are filled with it and no byte the device writes is it (header zeros, unicast MACs, payload < 0x80). */
const POISON = 0xff;
const OWN_MAC = Uint8Array.of(0x52, 0x54, 0x00, 0x12, 0x34, 0x56);

describe('a VMM dirty log over random traffic (complete mode)', () => {
  // One round: RX buffers (size, gap before) to post, then frames (payload length) to send.
  const round = fc.record({
    rx: fc.array(fc.record({ size: fc.integer({ min: 64, max: 3000 }), gap: fc.integer({ min: 0, max: 5000 }) }), { maxLength: 6 }),
    tx: fc.array(fc.integer({ min: 0, max: 1500 }), { minLength: 1, maxLength: 5 }),
  });

  for (const layout of LAYOUTS) {
    it(`(${layout}) the bitmap in the VMM's memory marks exactly the guest pages whose bytes the device changed`, () => {
      fc.assert(
        fc.property(fc.array(round, { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 0xffff }), (rounds, seed) => {
          const { rig, log } = lmRig(layout);
          let x = seed;
          const payloadByte = () => ((x = (x * 1103515245 + 12345) >>> 0) >>> 16) & 0x7f;
          expect(logStart(rig.v, { iova: LOG_IOVA, size: BigInt(PAGE) })).toBe('ok');
          const ram = rig.bytes;
          const changed = new Set<number>();
          const completed = new Set<number>();
          for (const r of rounds) {
            // The driver's part: poisoned RX buffers, then frames to the function's own MAC.
            for (const b of r.rx) {
              rig.alloc(b.gap);
              const at = rig.alloc(b.size);
              ram.fill(POISON, at, at + b.size);
              rig.postRx(at, b.size);
            }
            rig.kickVq(0);
            for (const len of r.tx) {
              const at = rig.alloc(NET_HDR_LEN + 14 + len);
              rig.tx.vq.addOutbuf(at, putPacket(ram, at, ethFrame(OWN_MAC, Uint8Array.from({ length: len }, payloadByte))), at);
            }
            rig.kickVq(1);
            // The device's part, between two snapshots: every byte it writes changes.
            const before = ram.slice();
            rig.settle();
            changedPages(before, ram, changed);
            // What it reported: RX data and used-ring entries (also written, so also changed).
            const rx = rig.reap(rig.rx);
            for (const [at, len] of rx) for (const p of pagesOf(at, len)) completed.add(p);
            for (const [ring, done] of [[rig.rx, rx.length], [rig.tx, rig.reap(rig.tx).length]] as const) {
              if (done) completed.add(Math.floor(Number(ring.used) / VHOST_LOG_PAGE));
            }
          }
          expect(bitsOf(log.bytes)).toEqual(sortedOf(changed));
          expect(sortedOf(completed).filter((p) => !changed.has(p))).toEqual([]);
          expect(rig.t.fn.lm?.stats.outOfRange).toBe(0);
        }),
        { numRuns: 6 },
      );
    });
  }

  it('a frame longer than a non-mergeable RX buffer is written into it, then the buffer is given back (virtqueue_unpop): no used entry, yet its page is marked', () => {
    const { rig, log } = lmRig('code');
    expect(logStart(rig.v, { iova: LOG_IOVA, size: BigInt(PAGE) })).toBe('ok');
    const at = rig.alloc(64, PAGE);
    rig.bytes.fill(POISON, at, at + 64);
    rig.postRx(at, 64);
    const frame = ethFrame(BROADCAST, new Uint8Array(100).fill(0x33));
    rig.send(rig.alloc(2048), frame);
    rig.settle();
    expect(rig.reap(rig.rx)).toEqual([]);
    // virtio_net_receive_rcu(): iov_from_buf() filled the buffer before the size check gave it back.
    const wrote = new Uint8Array(64);
    wrote.set(frame.subarray(0, 64 - NET_HDR_LEN), NET_HDR_LEN);
    expect(rig.bytes.subarray(at, at + 64)).toEqual(wrote);
    expect(rig.v.getVringBase(0)).toBe(0);
    expect(bitsOf(log.bytes)).toContain(at / PAGE);
  });

  it('after LOG_STOP the device marks nothing more', () => {
    const { rig, log } = lmRig('code');
    expect(logStart(rig.v, { iova: LOG_IOVA, size: BigInt(PAGE) })).toBe('ok');
    rig.postRx(rig.alloc(2048), 2048);
    traffic(rig, 1);
    const marked = bitsOf(log.bytes);
    expect(marked.length).toBeGreaterThan(0);
    expect(logStop(rig.v)).toBe('ok');
    rig.postRx(rig.alloc(2048, PAGE), 2048);
    traffic(rig, 1);
    expect(rig.reap(rig.rx)).toHaveLength(2);
    expect(bitsOf(log.bytes)).toEqual(marked);
  });
});
