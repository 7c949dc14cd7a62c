// One ring cycle through the split ring from both ends: the driver adds a 64-byte buffer, vringh
// takes it (getdesc), copies it out (pull), completes it, and the driver collects it. Queue 256,
// PA mode. For scale: a C model of a whole loopback packet does ~15 M/s on this machine.

import { VHOST_MAP_RW, VhostIotlb } from '../lib/iotlb/index.js';
import { MemFile, PAGE_SIZE, PhysMem } from '../lib/mm/index.js';
import { VirtqueueSplit, Vringh, VringhKiov } from '../lib/virtio/index.js';
import { VIRTIO_F_VERSION_1 } from '../uapi/index.js';
import type { BenchDef } from './harness.js';

const BATCH = 256;

function world(num: number) {
  const phys = new PhysMem();
  const ram = MemFile.create(phys, 'bench-ram', 1 << 20);
  ram.obj.populate(0, ram.obj.pages);
  const pa = (ram.obj.pfn[0] as number) * PAGE_SIZE;
  const iotlb = new VhostIotlb();
  iotlb.addRange(0n, BigInt((1 << 20) - 1), BigInt(pa), VHOST_MAP_RW);
  const desc = 0x1000;
  const avail = desc + 16 * num;
  const used = 0x8000;
  const vq = new VirtqueueSplit<number>({ mem: ram.obj.bytes, num, desc, avail, used });
  const vrh = new Vringh();
  vrh.init(1n << BigInt(VIRTIO_F_VERSION_1), num, BigInt(desc), BigInt(avail), BigInt(used), false);
  vrh.setIotlb(iotlb, phys);
  return { vq, vrh };
}

export const ringBenches: BenchDef[] = [
  {
    bench: 'ring.cycle',
    unit: 'ops/s',
    cases: () => {
      const size = 64;
      const { vq, vrh } = world(256);
      const riov = new VringhKiov();
      const wiov = new VringhKiov();
      const h = { head: 0 };
      const buf = new Uint8Array(size);
      const bufAddr = 0x20000;
      return [
        {
          name: `size=${size}`,
          ops: BATCH,
          extra: { queue: 256 },
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
];
