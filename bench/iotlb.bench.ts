// vhost_iotlb lookups (the datapath's translate step) and churn (add + delete) at 1e3..1e6 maps.
// For scale: a C sorted array does ~5.6 M lookups/s at 1e6 entries on this machine, a C AVL ~1 M/s.

import { VHOST_MAP_RO, VHOST_MAP_RW, VhostIotlb } from '../lib/iotlb/index.js';
import type { BenchCase, BenchDef } from './harness.js';

const BATCH = 1024;

function filled(n: number): VhostIotlb {
  const t = new VhostIotlb();
  // 4 KiB maps with 4 KiB holes, so lookups walk a realistic, non-trivial tree.
  for (let i = 0; i < n; i++) t.addRange(BigInt(i) * 0x2000n, BigInt(i) * 0x2000n + 0xfffn, BigInt(i) * 0x1000n, VHOST_MAP_RW);
  return t;
}

/** Random IOVAs inside mapped slots, as the two 32-bit words a ring read yields. */
function randomIovas(n: number): { hi: Uint32Array; lo: Uint32Array } {
  const hi = new Uint32Array(BATCH);
  const lo = new Uint32Array(BATCH);
  let x = 12345;
  for (let i = 0; i < BATCH; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const iova = (x % n) * 0x2000 + (x & 0xff0);
    hi[i] = Math.floor(iova / 2 ** 32);
    lo[i] = iova >>> 0;
  }
  return { hi, lo };
}

const SIZES = [1_000, 100_000, 1_000_000];

export const iotlbBenches: BenchDef[] = [
  {
    bench: 'iotlb.lookup',
    unit: 'ops/s',
    cases: () =>
      SIZES.map((n): BenchCase => {
        let t: VhostIotlb;
        const iovas = randomIovas(n);
        const out = { addr: 0, len: 0 };
        return {
          name: `n=${n}`,
          setup: () => {
            t = filled(n);
            // Steady state of a stable map set: let the lookup index get built first.
            for (let k = 0; k <= n / 8 / BATCH + 1; k++) {
              for (let i = 0; i < BATCH; i++) t.translate(iovas.hi[i] as number, iovas.lo[i] as number, 64, VHOST_MAP_RO, out);
            }
          },
          ops: BATCH,
          fn: () => {
            for (let i = 0; i < BATCH; i++) {
              if (t.translate(iovas.hi[i] as number, iovas.lo[i] as number, 64, VHOST_MAP_RO, out) !== 0) {
                throw new Error('lookup missed');
              }
            }
          },
        };
      }),
  },
  {
    bench: 'iotlb.churn',
    unit: 'ops/s',
    cases: () =>
      SIZES.map((n): BenchCase => {
        let t: VhostIotlb;
        let i = 0;
        return {
          name: `n=${n}`,
          setup: () => {
            t = filled(n);
          },
          fn: () => {
            // Replace map i with a map in the hole after it, then put it back: 2 inserts + 2 deletes.
            const base = BigInt(i % n) * 0x2000n;
            t.delRange(base, base);
            t.addRange(base + 0x1000n, base + 0x1fffn, 0n, VHOST_MAP_RW);
            t.delRange(base + 0x1000n, base + 0x1000n);
            t.addRange(base, base + 0xfffn, 0n, VHOST_MAP_RW);
            i += 7919;
          },
          ops: 4,
        };
      }),
  },
];
