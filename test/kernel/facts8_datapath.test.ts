// linux-vdpa-facts.md §8, the vdpa_sim_net datapath behaviours (items 34–43, 53–54), through
// /dev/vhost-vdpa-1 and driver-side virtqueues, for both profiles.

import { describe, expect, it } from 'vitest';
import { BCAST, DEV_MAC, IOVA, netFrame, netHarness } from '../helpers/net_harness.js';
import { PROFILES } from '../helpers/model_target.js';
import { vdpaRequest } from '../helpers/vdpa_nl.js';

/** `vdpa dev vstats show vdpa1 qidx N` as name -> value (upstream: 6.1's vdpa_sim_net has no stats). */
function vstats(h: ReturnType<typeof netHarness>, qidx: number): Record<string, bigint> {
  const r = vdpaRequest(h.host, 'VDPA_CMD_DEV_VSTATS_GET', (w, A) => {
    w.putString(A.VDPA_ATTR_DEV_NAME as number, 'vdpa1');
    w.putU32(A.VDPA_ATTR_DEV_QUEUE_INDEX as number, qidx);
  });
  const out: Record<string, bigint> = {};
  let name = '';
  for (const a of r.replies[0]?.attrs.list ?? []) {
    if (a.type === 18) name = new TextDecoder().decode(a.payload.subarray(0, -1));
    if (a.type === 19) out[name] = new DataView(a.payload.buffer, a.payload.byteOffset).getBigUint64(0, true);
  }
  return out;
}

for (const profile of PROFILES) {
  describe(`§8 vdpa_sim_net datapath, ${profile}`, () => {
    it(`§8.34 (${profile}): nothing runs before DRIVER_OK; kicks on non-ready vqs are dropped; kicks while suspended ${profile === 'upstream' ? 'are processed after RESUME' : 'need a new kick after DRIVER_OK is rewritten (6.1 has no RESUME)'}`, () => {
      const h = netHarness(profile, { noDriverOk: true });
      h.postRx(0);
      h.send(netFrame(BCAST), 0);
      h.settle();
      expect(h.used(1)).toEqual([]);
      h.v.setStatus(0xf);
      h.v.suspend();
      h.kick(1);
      h.settle();
      expect(h.used(1)).toEqual([]);
      if (profile === 'upstream') {
        h.v.resume();
      } else {
        h.v.setStatus(0xf);
        h.settle();
        expect(h.used(1)).toEqual([]);
        h.kick(1);
      }
      h.settle();
      expect(h.used(1)).toEqual([[0, 0]]);
      expect(h.used(0)).toEqual([[1000, 72]]);
    });

    it(`§8.34b (${profile}): a kick on a vq that is not ready schedules nothing`, () => {
      const h = netHarness(profile, { enable: [0] });
      h.postRx(0);
      h.send(netFrame(BCAST), 0);
      h.settle();
      expect(h.host.scheduler.ran).toBe(0);
      expect(h.used(1)).toEqual([]);
    });

    it(`§8.35 (${profile}): rewriting the same DRIVER_OK status while suspended resumes processing`, () => {
      const h = netHarness(profile);
      h.postRx(0);
      h.v.suspend();
      h.send(netFrame(BCAST), 0);
      h.settle();
      expect(h.used(1)).toEqual([]);
      h.v.setStatus(0xf);
      h.kick(1);
      h.settle();
      expect(h.used(1)).toEqual([[0, 0]]);
    });

    it(`§8.36 (${profile}): a broadcast frame arrives byte-identical, header included; RX len = bytes, TX len 0`, () => {
      const h = netHarness(profile);
      const off = h.postRx(0);
      const frame = netFrame(BCAST, 48, [1, 0, 0x22, 0x11, 0x44, 0x33, 0x0e, 0, 0x10, 0, 7, 0]);
      h.send(frame, 0);
      h.settle();
      expect(h.used(1)).toEqual([[0, 0]]);
      expect(h.used(0)).toEqual([[1000, frame.length]]);
      expect(h.ram.bytes.subarray(off, off + frame.length)).toEqual(frame);
      expect([h.callCount(0), h.callCount(1)]).toEqual([1n, 1n]);
      if (profile === 'upstream') {
        expect(vstats(h, 0)).toEqual({ 'rx packets': 1n, 'rx bytes': 72n, 'rx errors': 0n, 'rx overruns': 0n, 'rx drops': 0n });
        expect(vstats(h, 1)).toEqual({ 'tx packets': 1n, 'tx bytes': 72n, 'tx errors': 0n, 'tx drops': 0n });
      }
    });

    it(`§8.37 (${profile}): a unicast frame for another MAC is dropped: TX completed with 0, RX untouched`, () => {
      const h = netHarness(profile);
      h.postRx(0);
      h.send(netFrame([0x02, 0, 0, 0, 0, 1]), 0);
      h.settle();
      expect(h.used(1)).toEqual([[0, 0]]);
      expect(h.used(0)).toEqual([]);
      expect(h.callCount(0)).toBe(0n);
      if (profile === 'upstream') expect(vstats(h, 0)).toMatchObject({ 'rx drops': 1n, 'rx packets': 0n });
    });

    it(`§8.38 (${profile}): MAC matching stops at the first 00 byte both share`, () => {
      const h = netHarness(profile);
      for (let i = 0; i < 4; i++) h.postRx(i);
      h.send(netFrame([0x00, 0xee, 0xee, 0xee, 0xee, 0xee]), 0);
      h.send(netFrame([0x00, 0x11, 0x22, 0x33, 0x44, 0x54]), 1);
      h.send(netFrame([0x02, 0x00, 0x00, 0x00, 0x00, 0x01]), 2);
      h.send(netFrame(DEV_MAC), 3);
      h.settle();
      expect(h.used(0).map(([tok]) => tok)).toEqual([1000, 1001, 1002]);
    });

    it(`§8.39 (${profile}): frames shorter than header + 6 are dropped; longer than 4096 bytes are cut to 4096`, () => {
      const h = netHarness(profile);
      const off = h.postRx(0, 8192);
      h.send(netFrame(BCAST).subarray(0, 16), 0);
      const big = netFrame(BCAST, 6000 - 12);
      h.send(big, 1);
      h.settle();
      expect(h.used(1)).toEqual([
        [0, 0],
        [1, 0],
      ]);
      expect(h.used(0)).toEqual([[1000, 4096]]);
      expect(h.ram.bytes.subarray(off, off + 4096)).toEqual(big.subarray(0, 4096));
    });

    it(`§8.40 (${profile}): with no RX buffer the TX chain completes with 0 and the frame is lost`, () => {
      const h = netHarness(profile);
      h.send(netFrame(BCAST), 0);
      h.settle();
      expect(h.used(1)).toEqual([[0, 0]]);
      h.postRx(0);
      h.kick(0);
      h.settle();
      expect(h.used(0)).toEqual([]);
      if (profile === 'upstream') expect(vstats(h, 0)['rx overruns']).toBe(1n);
    });

    it(`§8.41 (${profile}): a pass yields after 5 packets and reschedules itself: 20 frames, one kick, all delivered`, () => {
      const h = netHarness(profile);
      for (let i = 0; i < 20; i++) h.postRx(i);
      for (let i = 0; i < 20; i++) h.send(netFrame(BCAST), i, false);
      h.kick(1);
      const passes = h.host.scheduler.ran;
      h.settle();
      expect(h.used(1)).toHaveLength(20);
      expect(h.used(0)).toHaveLength(20);
      // Four passes of five, and a fifth that finds the ring empty (the fourth rescheduled).
      expect(h.host.scheduler.ran - passes).toBe(5);
    });

    it(`§8.41b (${profile}): TX needs RX enabled too`, () => {
      const h = netHarness(profile, { enable: [1] });
      h.send(netFrame(BCAST), 0);
      h.settle();
      expect(h.used(1)).toEqual([]);
    });

    it(`§8.42 (${profile}): CVQ MAC_ADDR_SET acks 0 and sets the MAC; an unknown class acks what the previous command of the pass did`, () => {
      const h = netHarness(profile);
      const cvq = h.vqs[2];
      const cmd = (off: number, bytes: number[]) => {
        h.ram.bytes.set(bytes, off);
        h.ram.bytes[off + 0x100] = 0xaa;
        cvq.addSgs(
          [
            { addr: IOVA + off, len: bytes.length },
            { addr: IOVA + off + 0x100, len: 1 },
          ],
          1,
          off,
        );
      };
      cmd(0x70000, [0x77, 0x01]);
      cmd(0x71000, [1, 1, 0x52, 0x54, 0, 0x12, 0x34, 0x56]);
      cmd(0x72000, [0x77, 0x01]);
      h.kick(2);
      h.settle();
      expect(h.used(2)).toEqual([
        [0x70000, 1],
        [0x71000, 1],
        [0x72000, 1],
      ]);
      expect([h.ram.bytes[0x70100], h.ram.bytes[0x71100], h.ram.bytes[0x72100]]).toEqual([1, 0, 0]);
      expect(Buffer.from(h.v.getConfig(0, 6)).toString('hex')).toBe('525400123456');
      expect(h.callCount(2)).toBe(3n);
    });

    it(`§8.43 (${profile}): GET_VRING_BASE counts consumed chains; SET_VRING_BASE then enable resumes there with used = avail`, () => {
      const h = netHarness(profile);
      for (let i = 0; i < 3; i++) h.postRx(i);
      for (let i = 0; i < 3; i++) h.send(netFrame(BCAST), i);
      h.settle();
      expect([h.v.getVringBase(0), h.v.getVringBase(1)]).toEqual([3, 3]);
      h.v.suspend();
      h.v.setVringBase(1, 7);
      expect(h.v.getVringBase(1)).toBe(7);
      h.v.setStatus(0);
      expect(h.v.getVringBase(1)).toBe(0);
    });

    it(`§8.53 (${profile}): after SET_STATUS(0) the old call eventfd hears nothing until SET_VRING_CALL; the last SET_VRING_NUM stays`, () => {
      const h = netHarness(profile);
      h.v.setStatus(0);
      expect(h.sim.vqs[1]?.num).toBe(64);
      h.v.setStatus(3);
      h.v.setFeatures(0x300820020n);
      h.v.setStatus(0xb);
      for (const q of [0, 1]) {
        const base = IOVA + q * 0x4000;
        h.v.setVringAddr(q, { desc: BigInt(base), avail: BigInt(base + 0x1000), used: BigInt(base + 0x2000) });
        h.v.setVringEnable(q, 1);
      }
      h.v.setStatus(0xf);
      h.v.iotlbBatchBegin(0);
      h.v.iotlbBatchEnd(0);
      h.postRx(0);
      h.send(netFrame(BCAST), 0);
      h.settle();
      expect(h.used(1)).toEqual([[0, 0]]);
      expect(h.callCount(1)).toBe(0n);
      h.v.setVringCall(1, h.calls[1]!.fd);
      h.postRx(1);
      h.send(netFrame(BCAST), 1);
      h.settle();
      expect(h.callCount(1)).toBe(1n);
    });

    it(`§8.54 (${profile}): the config-call eventfd is never signalled, even after SET_CONFIG`, () => {
      const h = netHarness(profile);
      const efd = h.us.eventfd(0, 0o4000);
      if (typeof efd === 'number') throw new Error('eventfd');
      h.v.setConfigCall(efd.fd);
      h.v.setConfig(0, Uint8Array.of(2, 1, 2, 3, 4, 5));
      h.v.setStatus(0);
      expect(efd.read()).toBe(-11);
    });
  });
}
