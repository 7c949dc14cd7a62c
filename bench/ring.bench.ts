// The split ring from both ends, PA mode, queues of 256, one IOTLB map over the guest RAM.
// ring.cycle: the driver adds a 64-byte buffer, vringh takes it (getdesc), copies it out (pull),
// completes it, and the driver collects it.
// ring.packet: one packet through a TX and an RX ring, as vdpa_sim_net moves it: the driver adds
// a 64-byte TX buffer; vringh takes and pulls it, takes an RX buffer (2048 bytes), pushes the
// 12-byte virtio-net header and the packet into it and completes both; the driver collects the
// RX buffer and adds it again, then reclaims the TX buffer. Notifications are left out.
// For scale: a C model of a whole loopback packet does ~15 M/s on this machine.

import { VHOST_MAP_RW, VhostIotlb } from '../lib/iotlb/index.js';
import { MemFile, PAGE_SIZE, PhysMem } from '../lib/mm/index.js';
import { VirtqueueSplit, Vringh, VringhKiov } from '../lib/virtio/index.js';
import { VIRTIO_F_VERSION_1 } from '../uapi/index.js';
import type { BenchDef } from './harness.js';

const BATCH = 256;
const NUM = 256;
const RAM = 2 << 20;

/** Guest RAM in physical memory, mapped at IOVA 0 by one IOTLB entry. */
function world() {
  const phys = new PhysMem();
  const ram = MemFile.create(phys, 'bench-ram', RAM);
  ram.obj.populate(0, ram.obj.pages);
  const pa = (ram.obj.pfn[0] as number) * PAGE_SIZE;
  const iotlb = new VhostIotlb();
  iotlb.addRange(0n, BigInt(RAM - 1), BigInt(pa), VHOST_MAP_RW);
  return { phys, iotlb, bytes: ram.obj.bytes };
}

/** A queue of NUM at `desc` (descriptors, then avail) and `used`, seen by the driver and by vringh. */
function queue(w: ReturnType<typeof world>, desc: number, used: number) {
  const avail = desc + 16 * NUM;
  const vq = new VirtqueueSplit<number>({ mem: w.bytes, num: NUM, desc, avail, used });
  const vrh = new Vringh();
  vrh.init(1n << BigInt(VIRTIO_F_VERSION_1), NUM, BigInt(desc), BigInt(avail), BigInt(used), false);
  vrh.setIotlb(w.iotlb, w.phys);
  return { vq, vrh };
}

export const ringBenches: BenchDef[] = [
  {
    bench: 'ring.cycle',
    unit: 'ops/s',
    cases: () => {
      const size = 64;
      const { vq, vrh } = queue(world(), 0x1000, 0x8000);
      const riov = new VringhKiov();
      const wiov = new VringhKiov();
      const h = { head: 0 };
      const buf = new Uint8Array(size);
      const bufAddr = 0x20000;
      return [
        {
          name: `size=${size}`,
          ops: BATCH,
          extra: { queue: NUM },
          fn: () => {
            for (let i = 0; i < BATCH; i++) {
              vq.addOutbuf(bufAddr + (i & 63) * size, size, i);
              if (vrh.getdesc(riov, wiov, h) !== 1) throw new Error('ring empty');
              if (vrh.pull(riov, buf) !== size) throw new Error('short pull');
              vrh.complete(h.head, 0);
              if (vq.getBuf() !== i) throw new Error('lost buffer');
            }
          },
        },
      ];
    },
  },
  {
    bench: 'ring.packet',
    unit: 'ops/s',
    cases: () => {
      const size = 64;
      const hdrLen = 12;
      const rxBufLen = 2048;
      const w = world();
      const tx = queue(w, 0x1000, 0x8000);
      const rx = queue(w, 0x10000, 0x18000);
      const txBufs = 0x20000;
      const rxBufs = 0x40000;
      for (let i = 0; i < NUM; i++) rx.vq.addInbuf(rxBufs + i * rxBufLen, rxBufLen, rxBufs + i * rxBufLen);
      const txIov = new VringhKiov();
      const rxIov = new VringhKiov();
      const txHead = { head: 0 };
      const rxHead = { head: 0 };
      // The device's bounce buffer: virtio_net_hdr_v1 (zero: no offloads), then the packet.
      const frame = new Uint8Array(hdrLen + size);
      const packet = frame.subarray(hdrLen);
      return [
        {
          name: `size=${size}`,
          ops: BATCH,
          extra: { queue: NUM, rxBuffer: rxBufLen },
          fn: () => {
            for (let i = 0; i < BATCH; i++) {
              tx.vq.addOutbuf(txBufs + (i & 63) * size, size, i);
              if (tx.vrh.getdesc(txIov, undefined, txHead) !== 1) throw new Error('tx ring empty');
              if (tx.vrh.pull(txIov, packet) !== size) throw new Error('short pull');
              if (rx.vrh.getdesc(undefined, rxIov, rxHead) !== 1) throw new Error('rx ring empty');
              if (rx.vrh.push(rxIov, frame) !== frame.length) throw new Error('short push');
              rx.vrh.complete(rxHead.head, frame.length);
              tx.vrh.complete(txHead.head, 0);
              const rxBuf = rx.vq.getBuf();
              if (rxBuf === undefined || rx.vq.lastLen !== frame.length) throw new Error('lost rx buffer');
              rx.vq.addInbuf(rxBuf, rxBufLen, rxBuf);
              if (tx.vq.getBuf() !== i) throw new Error('lost tx buffer');
            }
          },
        },
      ];
    },
  },
];
