// The driver's virtqueue and vringh together, under random operation sequences (fast-check):
// buffers are never lost, duplicated or corrupted, whatever the ring size (1..32768), the order
// the device completes in, the features (event idx, indirect) and the mode (PA/VA). Notification
// decisions follow the spec's formula. And a corrupted ring never makes vringh throw, hang or
// touch memory outside what the IOTLB maps.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VHOST_MAP_RW } from '../../lib/iotlb/index.js';
import type { MemorySpace, Span } from '../../lib/mm/index.js';
import { VringhKiov, type VringhHead } from '../../lib/virtio/index.js';
import { ENOSPC, VRING_AVAIL_F_NO_INTERRUPT, VRING_USED_F_NO_NOTIFY, vring_need_event } from '../../uapi/index.js';
import { ringWorld } from '../helpers/ring_world.js';

const SLOT = 256;

function payloadByte(id: number, k: number): number {
  return (id * 31 + k * 7 + 1) & 0xff;
}
function replyByte(id: number, k: number): number {
  return (id * 17 + k * 13 + 5) & 0xff;
}

interface Token {
  id: number;
  slot: number;
  outLen: number;
  inLen: number;
  /** Bytes the device wrote (set when it completes). */
  written: number;
}

const sizes = fc.constantFrom(1, 2, 4, 8, 16, 64, 256, 1024, 4096, 32768);
const op = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant('add' as const), out: fc.integer({ min: 4, max: 120 }), in: fc.integer({ min: 0, max: 120 }), split: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('device' as const), n: fc.integer({ min: 1, max: 6 }), hold: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('release' as const), reverse: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('collect' as const), n: fc.integer({ min: 1, max: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('cb' as const), enable: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('notify' as const), enable: fc.boolean() }) },
);

function run(num: number, eventIdx: boolean, indirect: boolean, va: boolean, ops: readonly unknown[]): void {
  const w = ringWorld<Token>({ num, eventIdx, va, ...(indirect ? { indirectEntries: 4 } : {}) });
  const v = new DataView(w.ram.buffer, w.ram.byteOffset);
  const slots = Math.min(num, 48);
  const free: number[] = Array.from({ length: slots }, (_, i) => i);
  const riov = new VringhKiov();
  const wiov = new VringhKiov();
  const h: VringhHead = { head: 0 };
  const held: { head: number; written: number }[] = [];
  const outstanding = new Map<number, Token>();
  let nextId = 1;
  let added = 0;
  const returned = new Set<number>();
  const scratch = new Uint8Array(SLOT);
  const slotAddr = (s: number) => w.layout.buffers + 2 * SLOT * s;

  const checkNotify = () => {
    const old = w.vrh.lastUsedIdx;
    const nw = (old + w.vrh.completed) & 0xffff;
    let expected: number;
    if (eventIdx) {
      const usedEvent = v.getUint16(w.layout.avail + 4 + 2 * num, true);
      expected = w.vrh.completed > 0xffff || vring_need_event(usedEvent, nw, old) ? 1 : 0;
    } else {
      expected = v.getUint16(w.layout.avail, true) & VRING_AVAIL_F_NO_INTERRUPT ? 0 : 1;
    }
    expect(w.vrh.needNotify()).toBe(expected);
  };

  const device = (n: number, hold: boolean) => {
    for (let k = 0; k < n; k++) {
      const r = w.vrh.getdesc(riov, wiov, h);
      expect(r).toBeGreaterThanOrEqual(0);
      if (r === 0) return;
      const got = w.vrh.pull(riov, scratch);
      expect(got).toBeGreaterThanOrEqual(4);
      const id = new DataView(scratch.buffer).getUint32(0, true);
      const tok = outstanding.get(id);
      expect(tok, `device saw unknown token ${id}`).toBeDefined();
      if (!tok) return;
      expect(got).toBe(tok.outLen);
      for (let b = 4; b < got; b++) expect(scratch[b]).toBe(payloadByte(id, b));
      const room = wiov.remaining();
      expect(room).toBe(tok.inLen);
      for (let b = 0; b < room; b++) scratch[b] = replyByte(id, b);
      expect(w.vrh.push(wiov, scratch, room)).toBe(room);
      if (hold) held.push({ head: h.head, written: room });
      else {
        expect(w.vrh.complete(h.head, room)).toBe(0);
        checkNotify();
      }
    }
  };

  const collect = (n: number) => {
    for (let k = 0; k < n; k++) {
      const tok = w.vq.getBuf();
      if (!tok) return;
      expect(w.vq.broken).toBeUndefined();
      expect(returned.has(tok.id), `token ${tok.id} returned twice`).toBe(false);
      returned.add(tok.id);
      outstanding.delete(tok.id);
      expect(w.vq.lastLen).toBe(tok.inLen);
      const base = slotAddr(tok.slot) + SLOT;
      for (let b = 0; b < tok.inLen; b++) expect(w.ram[base + b]).toBe(replyByte(tok.id, b));
      free.push(tok.slot);
    }
  };

  for (const o of ops as { k: string; [x: string]: unknown }[]) {
    if (o.k === 'add') {
      const out = o.out as number;
      const inn = o.in as number;
      const split = o.split as number;
      const slot = free.pop();
      if (slot === undefined) continue;
      const id = nextId++;
      const base = slotAddr(slot);
      new DataView(w.ram.buffer, w.ram.byteOffset + base).setUint32(0, id, true);
      for (let b = 4; b < out; b++) w.ram[base + b] = payloadByte(id, b);
      w.ram.fill(0, base + SLOT, base + SLOT + inn);
      // Split the out part into up to `split` pieces; the in part is one piece.
      const sgs = [];
      let at = 0;
      for (let p = 0; p < split; p++) {
        const len = p === split - 1 ? out - at : Math.min(out - at, Math.max(1, Math.floor(out / split)));
        if (len > 0) sgs.push({ addr: base + at, len });
        at += len;
      }
      const nOut = sgs.length;
      if (inn > 0) sgs.push({ addr: base + SLOT, len: inn });
      const tok: Token = { id, slot, outLen: out, inLen: inn, written: 0 };
      const r = w.vq.addSgs(sgs, nOut, tok);
      if (r === 0) {
        outstanding.set(id, tok);
        added++;
        const newIdx = v.getUint16(w.layout.avail + 2, true);
        const availEvent = v.getUint16(w.layout.used + 4 + 8 * num, true);
        const kick = w.vq.kickPrepare();
        // The spec's rule: kick iff avail_event lies in [old, new) (event idx), else unless NO_NOTIFY.
        if (eventIdx) expect(kick).toBe(vring_need_event(availEvent, newIdx, (newIdx - 1) & 0xffff));
        else expect(kick).toBe(!(v.getUint16(w.layout.used, true) & VRING_USED_F_NO_NOTIFY));
      } else {
        // Only a full ring refuses a buffer.
        expect(r).toBe(-ENOSPC);
        expect(w.vq.numFree).toBeLessThan(indirect && sgs.length > 1 ? 1 : sgs.length);
        free.push(slot);
      }
    } else if (o.k === 'device') device(o.n as number, o.hold as boolean);
    else if (o.k === 'release') {
      const order = o.reverse ? held.splice(0).reverse() : held.splice(0);
      for (const x of order) expect(w.vrh.complete(x.head, x.written)).toBe(0);
      if (order.length) checkNotify();
    } else if (o.k === 'collect') collect(o.n as number);
    else if (o.k === 'notify') {
      if (o.enable) w.vrh.notifyEnable();
      else w.vrh.notifyDisable();
    } else if (o.enable) w.vq.enableCb();
    else w.vq.disableCb();
  }

  // Drain: everything added comes back exactly once, intact.
  for (let guard = 0; guard < 4 * num + 200 && outstanding.size > 0; guard++) {
    device(64, false);
    for (const x of held.splice(0)) expect(w.vrh.complete(x.head, x.written)).toBe(0);
    collect(64);
  }
  expect(outstanding.size).toBe(0);
  expect(returned.size).toBe(added);
  expect(w.vq.numFree).toBe(num);
  expect(w.vq.broken).toBeUndefined();
}

describe('driver virtqueue + vringh (fast-check)', () => {
  it('never lose, duplicate or corrupt a buffer, at any ring size, feature set or completion order', () => {
    fc.assert(
      fc.property(sizes, fc.boolean(), fc.boolean(), fc.boolean(), fc.array(op, { maxLength: 120 }), (num, eventIdx, indirect, va, ops) =>
        run(num, eventIdx, indirect, va, ops),
      ),
      { numRuns: 120 },
    );
  });

  it('keeps working across the 16-bit index wrap (70,000 cycles) for sizes 1, 8 and 256', () => {
    for (const num of [1, 8, 256]) {
      const w = ringWorld<number>({ num, eventIdx: num === 8 });
      const riov = new VringhKiov();
      const wiov = new VringhKiov();
      const h = { head: 0 };
      const buf = new Uint8Array(8);
      let sum = 0;
      // Plain checks in the loop: expect() per step would dominate the run time.
      const fail = (what: string, i: number) => {
        throw new Error(`cycle ${i} (size ${num}): ${what}`);
      };
      const view = new DataView(w.ram.buffer);
      for (let i = 0; i < 70_000; i++) {
        view.setUint32(w.layout.buffers, i, true);
        if (w.vq.addOutbuf(w.layout.buffers, 4, i) !== 0) fail('add', i);
        w.vq.kickPrepare();
        if (w.vrh.getdesc(riov, wiov, h) !== 1) fail('getdesc', i);
        if (w.vrh.pull(riov, buf) !== 4) fail('pull', i);
        sum += new DataView(buf.buffer).getUint32(0, true);
        if (w.vrh.complete(h.head, 0) !== 0) fail('complete', i);
        w.vrh.needNotify();
        if (w.vq.getBuf() !== i) fail('get_buf', i);
      }
      expect(sum).toBe((69_999 * 70_000) / 2);
      expect(w.vrh.lastAvailIdx).toBe(70_000 & 0xffff);
    }
  });
});

/** A memory space that records every access and refuses anything outside [lo, hi). */
class Watched implements MemorySpace {
  outside = 0;
  constructor(
    private readonly inner: MemorySpace,
    private readonly lo: number,
    private readonly hi: number,
  ) {}
  get generation(): number {
    return this.inner.generation;
  }
  span(addr: number, len: number, write: boolean, out: Span): boolean {
    if (addr < this.lo || addr >= this.hi) this.outside++;
    return this.inner.span(addr, len, write, out);
  }
}

describe('corrupted rings (fuzz)', () => {
  it('random descriptor tables and indices never throw, never hang, never reach unmapped memory', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(2, 4, 16),
        fc.uint8Array({ minLength: 16 * 16, maxLength: 16 * 16 }),
        fc.uint8Array({ minLength: 40, maxLength: 40 }),
        fc.array(fc.record({ start: fc.integer({ min: 0, max: 0x30 }), pages: fc.integer({ min: 1, max: 8 }), perm: fc.constantFrom(1, 2, 3) }), { maxLength: 4 }),
        (num, descBytes, availBytes, maps) => {
          const w = ringWorld<number>({ num, noMap: true });
          const ramSize = w.ram.length;
          // Descriptor addresses point into the first 64 KiB of RAM most of the time.
          w.ram.set(descBytes.subarray(0, 16 * num), w.layout.desc);
          for (let i = 0; i < num; i++) w.ram[w.layout.desc + 16 * i + 2] = 0;
          w.ram.set(availBytes.subarray(0, 4 + 2 * num), w.layout.avail);
          w.iotlb.addRange(BigInt(w.layout.desc), BigInt(w.layout.buffers - 1), BigInt(w.target + w.layout.desc), VHOST_MAP_RW);
          for (const m of maps) {
            const start = m.start * 0x1000;
            w.iotlb.addRange(BigInt(start), BigInt(Math.min(start + m.pages * 0x1000, ramSize) - 1), BigInt(w.target + start), m.perm);
          }
          const watched = new Watched(w.mem, w.target, w.target + ramSize);
          w.vrh.setIotlb(w.iotlb, watched);
          const riov = new VringhKiov();
          const wiov = new VringhKiov();
          const h = { head: 0 };
          const buf = new Uint8Array(4096);
          for (let i = 0; i < 64; i++) {
            const r = w.vrh.getdesc(riov, wiov, h);
            if (r === 0) break;
            if (r < 0) continue;
            w.vrh.pull(riov, buf);
            w.vrh.push(wiov, buf);
            w.vrh.complete(h.head, 1);
            w.vrh.needNotify();
          }
          expect(watched.outside).toBe(0);
        },
      ),
      { numRuns: 400 },
    );
  });
});
