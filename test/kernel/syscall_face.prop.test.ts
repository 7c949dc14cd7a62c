// Property test at the syscall face: random ioctls (known and unknown numbers, good, NULL,
// unmapped and wild pointers, random argument bytes), IOTLB writes (well-formed with random
// fields, truncated, garbage), reads, eventfd kicks, device work, closes and reopens. Nothing
// may throw or hang, every result is an integer, and the kernel's invariants hold after every
// step: one owner at most; address spaces only from UPDATE/BATCH_BEGIN and only below nas;
// status bits only cleared through a reset; an AS never holds overlapping entries; in PA mode
// the pinned page count equals what the address spaces map.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { vhostIoctls, O_RDWR, VHOST_IOTLB_BATCH_BEGIN, VHOST_IOTLB_UPDATE, VHOST_VDPA_SET_STATUS } from '../../uapi/index.js';
import { VhostVdpa } from '../../lib/vhost_vdpa/index.js';
import { PROFILES, modelTarget } from '../helpers/model_target.js';

const REQUESTS = Object.values(vhostIoctls).map((d) => d.request);

type Op =
  | { kind: 'ioctl'; req: number; arg: 'scratch' | 'null' | 'unmapped' | 'wild' | 'eventfd'; bytes: Uint8Array }
  | { kind: 'iotlb'; type: number; asid: number; iova: bigint; size: bigint; uaddr: 'mem' | 'bad'; perm: number; cut: number }
  | { kind: 'garbage'; bytes: Uint8Array }
  | { kind: 'read' }
  | { kind: 'kick'; value: bigint }
  | { kind: 'settle' }
  | { kind: 'reopen' }
  | { kind: 'owner' };

const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const smallIova = fc.bigInt({ min: 0n, max: 0x200000n }).map((x) => x & ~0xfffn);
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('ioctl' as const),
      req: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...REQUESTS) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffffffff }) }),
      arg: fc.constantFrom('scratch', 'scratch', 'scratch', 'null', 'unmapped', 'wild', 'eventfd'),
      bytes: fc.uint8Array({ minLength: 0, maxLength: 48 }),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('iotlb' as const),
      type: fc.oneof({ weight: 5, arbitrary: fc.constantFrom(2, 2, 3, 5, 6) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 8 }) }),
      asid: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constant(0xffffffff)),
      iova: fc.oneof({ weight: 4, arbitrary: smallIova }, { weight: 1, arbitrary: u64 }),
      size: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(0x1000n, 0x2000n, 0x4000n, 0n) }, { weight: 1, arbitrary: u64 }),
      uaddr: fc.constantFrom('mem', 'mem', 'bad'),
      perm: fc.integer({ min: 0, max: 7 }),
      cut: fc.constantFrom(72, 72, 40, 39, 4, 100),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('garbage' as const), bytes: fc.uint8Array({ maxLength: 80 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'read' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('kick' as const), value: fc.bigInt({ min: 0n, max: 3n }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'settle' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'owner' as const }) },
);

for (const profile of PROFILES) {
  describe(`syscall face under random input (${profile})`, () => {
    it('never throws, never hangs, and keeps the invariants', () => {
      fc.assert(
        fc.property(fc.constantFrom(true, true, true, false), fc.boolean(), fc.array(op, { maxLength: 60 }), (owner, asids, ops) => {
          const t = modelTarget(profile);
          const proc = t.us.proc;
          let fd = t.v.fd;
          // Mostly start as QEMU does, so IOTLB traffic gets past the owner check.
          if (owner) t.v.setOwner();
          if (owner && asids) t.v.setBackendFeatures(0xen);
          const memAddr = proc.mmap(0, 16 * 4096, 3, 0x01 | 0x20 | 0x8000);
          const scratch = proc.mmap(0, 4096, 3, 0x02 | 0x20);
          const efd = proc.eventfd(0, 0o4000);
          // Kick eventfds on every vq, so kicks reach the device.
          for (let i = 0; i < 3; i++) {
            const b = new Uint8Array(8);
            new DataView(b.buffer).setUint32(0, i, true);
            new DataView(b.buffer).setInt32(4, efd, true);
            proc.poke(scratch, b);
            proc.ioctl(fd, vhostIoctls.VHOST_SET_VRING_KICK.request, scratch);
          }
          let status = 0;
          for (const o of ops) {
            const asidsBefore = new Set(t.vhost.as.keys());
            let r: number;
            let resetOk = false;
            switch (o.kind) {
              case 'ioctl': {
                let arg: number;
                if (o.arg === 'scratch') {
                  proc.poke(scratch, o.bytes);
                  arg = scratch;
                } else if (o.arg === 'eventfd') {
                  const b = new Uint8Array(8);
                  new DataView(b.buffer).setInt32(4, efd, true);
                  proc.poke(scratch, b);
                  arg = scratch;
                } else arg = o.arg === 'null' ? 0 : o.arg === 'unmapped' ? 0x1000 : 0xdead_beef_0000;
                r = proc.ioctl(fd, o.req, arg);
                resetOk = o.req === VHOST_VDPA_SET_STATUS && o.arg !== 'null' && (o.arg === 'eventfd' || (o.bytes[0] ?? 0) === 0) && r === 0;
                break;
              }
              case 'iotlb': {
                const msg = VhostVdpa.iotlbMessage(o.type, o.asid, { iova: o.iova, size: o.size, uaddr: o.uaddr === 'mem' ? BigInt(memAddr) : 0x1000n, perm: o.perm });
                const buf = new Uint8Array(Math.max(o.cut, 1));
                buf.set(msg.subarray(0, Math.min(o.cut, msg.length)));
                proc.poke(scratch, buf);
                r = proc.write(fd, scratch, o.cut);
                expect([72, -22, -14]).toContain(r);
                if (r === 72 && ![VHOST_IOTLB_UPDATE, VHOST_IOTLB_BATCH_BEGIN].includes(o.type)) {
                  expect(new Set(t.vhost.as.keys())).toEqual(asidsBefore);
                }
                break;
              }
              case 'garbage':
                proc.poke(scratch, o.bytes.length ? o.bytes : Uint8Array.of(0));
                r = proc.write(fd, scratch, o.bytes.length);
                expect(new Set(t.vhost.as.keys())).toEqual(asidsBefore);
                break;
              case 'read':
                r = proc.read(fd, scratch, 64);
                expect(r).toBe(-22);
                break;
              case 'kick': {
                const b = new Uint8Array(8);
                new DataView(b.buffer).setBigUint64(0, o.value, true);
                proc.poke(scratch, b);
                r = proc.write(efd, scratch, 8);
                break;
              }
              case 'settle':
                r = t.host.settleSync(100_000);
                break;
              case 'owner':
                r = proc.ioctl(fd, vhostIoctls.VHOST_SET_OWNER.request, 0);
                break;
              case 'reopen':
                proc.close(fd);
                r = proc.open('/dev/vhost-vdpa-0', O_RDWR);
                expect(r).toBeGreaterThanOrEqual(0);
                fd = r;
                resetOk = true;
                break;
            }
            expect(Number.isInteger(r)).toBe(true);
            // One owner at most, and it is this process.
            expect([undefined, proc.mm]).toContain(t.vhost.vdev?.mm);
            // Address spaces: below nas, and each without overlapping entries.
            for (const [asid, as] of t.vhost.as) {
              expect(asid).toBeLessThan(2);
              const entries = [...as.iotlb.list()].sort((a, b) => (a.start < b.start ? -1 : 1));
              for (let i = 1; i < entries.length; i++) expect(entries[i]!.start > entries[i - 1]!.last).toBe(true);
            }
            // PA mode pins exactly what the address spaces map.
            if (profile === 'linux-6.1') {
              let pages = 0;
              for (const as of t.vhost.as.values()) for (const e of as.iotlb.list()) pages += Number(e.size / 4096n);
              expect(proc.mm.pinnedVm).toBe(pages);
            }
            // Status bits go away only through a reset.
            const now = t.sim.status;
            if (!resetOk && o.kind !== 'reopen') expect(now & status).toBe(status);
            status = now;
          }
          t.host.settleSync(100_000);
        }),
        { numRuns: 300 },
      );
    });
  });
}
