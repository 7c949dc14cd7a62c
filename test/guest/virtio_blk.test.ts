// The guest's virtio-blk driver through the whole stack: driver -> vhost-vdpa-device-pci in the
// VMM -> /dev/vhost-vdpa-0 -> vdpa_sim_blk's RAM disk (linux-vdpa-facts.md §4.3), with the block
// layer's own answers for requests it never sends.

import { describe, expect, it } from 'vitest';
import {
  EINVAL,
  EIO,
  EOPNOTSUPP,
  ETIMEDOUT,
  VIRTIO_BLK_F_BLK_SIZE,
  VIRTIO_BLK_F_DISCARD,
  VIRTIO_BLK_F_FLUSH,
  VIRTIO_BLK_F_MQ,
  VIRTIO_BLK_F_SEG_MAX,
  VIRTIO_BLK_F_SIZE_MAX,
  VIRTIO_BLK_F_TOPOLOGY,
  VIRTIO_BLK_F_WRITE_ZEROES,
  VIRTIO_BLK_S_IOERR,
  VIRTIO_BLK_S_OK,
  VIRTIO_BLK_S_UNSUPP,
  VIRTIO_BLK_T_DISCARD,
  VIRTIO_BLK_T_FLUSH,
  VIRTIO_BLK_T_GET_ID,
  VIRTIO_BLK_T_IN,
  VIRTIO_BLK_T_OUT,
  VIRTIO_BLK_T_SCSI_CMD,
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_F_VERSION_1,
  virtioBlkDiscardWriteZeroes,
} from '../../uapi/index.js';
import { VDPASIM_BLK_CAPACITY, VDPASIM_BLK_SEG_MAX, VDPASIM_BLK_SIZE_MAX } from '../../drivers/vdpa/vdpa_sim/index.js';
import { REQUEST_BYTES_MAX, REQUEST_SLOTS, VIRTBLK_FEATURES, type VirtioBlk } from '../../sim/guest/index.js';
import type { Host } from '../../sim/host/index.js';
import { type BlkVm, launchBlkVm } from '../../sim/scenarios/index.js';
import { PROFILES } from '../helpers/model_target.js';
import { type Inject, strace } from '../helpers/strace.js';
import { bootVmmHost } from '../helpers/vmm.js';

const bit = (n: number): bigint => 1n << BigInt(n);
const CAPACITY = VDPASIM_BLK_CAPACITY;

function blkVm(host: Host, inject?: Inject): BlkVm {
  const vm = launchBlkVm(host, { name: 'vm0', vhostdev: '/dev/vhost-vdpa-0', ...(inject ? { wrapUserSpace: (us) => strace(us, inject).us } : {}) });
  if (typeof vm === 'string') throw new Error(vm);
  host.settleSync();
  return vm;
}

const boot = (profile: (typeof PROFILES)[number]): { host: Host; vm: BlkVm } => {
  const host = bootVmmHost(profile, [{ mgmtdev: 'vdpasim_blk' }]);
  return { host, vm: blkVm(host) };
};

/** `sectors` sectors of a pattern no two sectors share. */
function pattern(sectors: number, seed = 1): Uint8Array {
  const b = new Uint8Array(sectors * 512);
  for (let i = 0; i < b.length; i++) b[i] = (i * 31 + (i >> 9) * 7 + seed) & 0xff;
  return b;
}

/** The first offset where `a` and `b` differ, or -1 (deep equality of big arrays is slow to report). */
function firstDiff(a: Uint8Array | undefined, b: Uint8Array): number {
  if (!a) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

function reprobe(vm: BlkVm, features?: bigint): VirtioBlk {
  vm.disk.remove();
  const disk = vm.guest.probeBlk(vm.device, features === undefined ? {} : { features });
  if (typeof disk === 'number') throw new Error(`probe failed ${disk}`);
  return disk;
}

describe('probe', () => {
  for (const profile of PROFILES) {
    it(`negotiates what it implements of what vdpa_sim_blk offers; FLUSH only where offered (${profile})`, () => {
      const { vm } = boot(profile);
      const base = [VIRTIO_F_VERSION_1, VIRTIO_BLK_F_SIZE_MAX, VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_F_BLK_SIZE, VIRTIO_BLK_F_TOPOLOGY, VIRTIO_BLK_F_MQ, VIRTIO_BLK_F_DISCARD, VIRTIO_BLK_F_WRITE_ZEROES];
      const expected = [...base, ...(profile === 'upstream' ? [VIRTIO_BLK_F_FLUSH] : [])].reduce((m, b) => m | bit(b), 0n);
      expect(vm.disk.vdev.features).toBe(expected);
      expect(vm.device.getStatus()).toBe(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
      expect(vm.disk.name).toBe('vda');
    });

    it(`takes capacity and queue limits from the device's config space (${profile})`, () => {
      const { vm } = boot(profile);
      expect(vm.disk.capacity).toBe(CAPACITY);
      expect(vm.disk.limits).toEqual({
        logicalBlockSize: 512,
        physicalBlockSize: 512,
        ioMin: 512,
        ioOpt: 512,
        maxSegments: VDPASIM_BLK_SEG_MAX,
        maxSegmentSize: VDPASIM_BLK_SIZE_MAX,
        maxDiscardSectors: 0xffff_ffff,
        maxWriteZeroesSectors: 0xffff_ffff,
        writeCache: profile === 'upstream',
      });
      expect(vm.disk.requestBytes).toBe(Math.min(VDPASIM_BLK_SEG_MAX * VDPASIM_BLK_SIZE_MAX, REQUEST_BYTES_MAX));
    });
  }
});

describe('I/O through the stack', () => {
  for (const profile of PROFILES) {
    it(`reads back what it wrote, across requests and slots (${profile})`, () => {
      const { vm } = boot(profile);
      // 1 MiB: eight 128 KiB requests, more than one batch of slots and one device pass.
      const data = pattern(2048);
      expect(vm.disk.write(1000, data)).toEqual({ err: 0, status: VIRTIO_BLK_S_OK });
      const r = vm.disk.read(1000, 2048);
      expect(r.err).toBe(0);
      expect(firstDiff(r.data, data)).toBe(-1);
      // Neighbours untouched.
      expect(vm.disk.read(999, 1).data).toEqual(new Uint8Array(512));
      expect(vm.disk.read(3048, 1).data).toEqual(new Uint8Array(512));
    });

    it(`reads the last sector and GET_ID's serial (${profile})`, () => {
      const { vm } = boot(profile);
      expect(vm.disk.write(CAPACITY - 1, pattern(1, 9)).err).toBe(0);
      expect(vm.disk.read(CAPACITY - 1, 1).data).toEqual(pattern(1, 9));
      const id = vm.disk.getId();
      expect(id.id).toBe('vdpa_blk_sim');
      expect(id.data?.subarray(12)).toEqual(new Uint8Array(8));
    });

    it(`write-zeroes reads back as zeroes; discard succeeds and, on this RAM disk, keeps the data (${profile})`, () => {
      const { vm } = boot(profile);
      expect(vm.disk.write(64, pattern(32)).err).toBe(0);
      expect(vm.disk.writeZeroes(72, 8)).toEqual({ err: 0, status: VIRTIO_BLK_S_OK });
      const after = vm.disk.read(64, 32).data as Uint8Array;
      expect(firstDiff(after.subarray(8 * 512, 16 * 512), new Uint8Array(8 * 512))).toBe(-1);
      expect(firstDiff(after.subarray(0, 8 * 512), pattern(32).subarray(0, 8 * 512))).toBe(-1);
      expect(firstDiff(after.subarray(16 * 512), pattern(32).subarray(16 * 512))).toBe(-1);
      // vdpa_sim_blk checks a DISCARD's range and does nothing else.
      expect(vm.disk.discard(64, 8)).toEqual({ err: 0, status: VIRTIO_BLK_S_OK });
      expect(firstDiff(vm.disk.read(64, 8).data, pattern(32).subarray(0, 8 * 512))).toBe(-1);
    });
  }

  it('flush reaches the device as VIRTIO_BLK_T_FLUSH when FLUSH is negotiated (upstream)', () => {
    const { vm } = boot('upstream');
    expect(vm.disk.flush()).toEqual({ err: 0, status: VIRTIO_BLK_S_OK });
  });

  it('flush without a write cache (linux-6.1 offers no FLUSH) completes in the block layer, never reaching the device', () => {
    const { vm } = boot('linux-6.1');
    expect(vm.disk.flush()).toEqual({ err: 0 });
  });
});

describe('requests the block layer refuses (nothing reaches the device, data intact)', () => {
  for (const profile of PROFILES) {
    it(`past the end of the disk: -EIO (bio_check_eod) (${profile})`, () => {
      const { vm } = boot(profile);
      expect(vm.disk.write(CAPACITY - 2, pattern(2)).err).toBe(0);
      expect(vm.disk.read(CAPACITY - 1, 2)).toEqual({ err: -EIO });
      expect(vm.disk.write(CAPACITY - 1, pattern(2, 5))).toEqual({ err: -EIO });
      expect(vm.disk.writeZeroes(CAPACITY - 1, 2)).toEqual({ err: -EIO });
      expect(vm.disk.discard(CAPACITY, 1)).toEqual({ err: -EIO });
      expect(vm.disk.read(CAPACITY - 2, 2).data).toEqual(pattern(2));
    });

    it(`misaligned or empty: -EINVAL (${profile})`, () => {
      const { vm } = boot(profile);
      expect(vm.disk.write(0, pattern(1)).err).toBe(0);
      expect(vm.disk.write(0, new Uint8Array(100))).toEqual({ err: -EINVAL });
      expect(vm.disk.write(0, new Uint8Array(0))).toEqual({ err: -EINVAL });
      expect(vm.disk.read(0, 0)).toEqual({ err: -EINVAL });
      expect(vm.disk.read(-1, 1)).toEqual({ err: -EINVAL });
      expect(vm.disk.read(0.5, 1)).toEqual({ err: -EINVAL });
      expect(vm.disk.discard(0, 0)).toEqual({ err: -EINVAL });
      expect(vm.disk.read(0, 1).data).toEqual(pattern(1));
    });
  }

  it('discard without DISCARD is -EOPNOTSUPP; write-zeroes without WRITE_ZEROES writes zeroes itself', () => {
    const { vm } = boot('upstream');
    const disk = reprobe(vm, VIRTBLK_FEATURES & ~bit(VIRTIO_BLK_F_DISCARD) & ~bit(VIRTIO_BLK_F_WRITE_ZEROES));
    expect(disk.limits.maxDiscardSectors).toBe(0);
    expect(disk.write(0, pattern(600)).err).toBe(0);
    expect(disk.discard(0, 8)).toEqual({ err: -EOPNOTSUPP });
    // 300 sectors: more than one request of zeroes.
    expect(disk.writeZeroes(100, 300)).toEqual({ err: 0, status: VIRTIO_BLK_S_OK });
    const r = disk.read(0, 600).data as Uint8Array;
    expect(firstDiff(r.subarray(100 * 512, 400 * 512), new Uint8Array(300 * 512))).toBe(-1);
    expect(firstDiff(r.subarray(400 * 512), pattern(600).subarray(400 * 512))).toBe(-1);
    expect(firstDiff(r.subarray(0, 100 * 512), pattern(600).subarray(0, 100 * 512))).toBe(-1);
  });
});

describe("the device's answers to raw requests", () => {
  for (const profile of PROFILES) {
    it(`IN or OUT past the capacity: IOERR (-EIO), the disk unchanged (${profile})`, () => {
      const { vm } = boot(profile);
      expect(vm.disk.write(CAPACITY - 1, pattern(1, 3)).err).toBe(0);
      expect(vm.disk.submit({ type: VIRTIO_BLK_T_OUT, sector: BigInt(CAPACITY - 1), out: pattern(2, 4) })).toEqual({ err: -EIO, status: VIRTIO_BLK_S_IOERR });
      expect(vm.disk.submit({ type: VIRTIO_BLK_T_IN, sector: BigInt(CAPACITY), inLen: 512 })).toMatchObject({ err: -EIO, status: VIRTIO_BLK_S_IOERR });
      expect(vm.disk.read(CAPACITY - 1, 1).data).toEqual(pattern(1, 3));
    });

    it(`unknown types and non-IN/OUT with a sector are IOERR; DISCARD with flags is UNSUPP (-EOPNOTSUPP) (${profile})`, () => {
      const { vm } = boot(profile);
      expect(vm.disk.submit({ type: VIRTIO_BLK_T_SCSI_CMD })).toEqual({ err: -EIO, status: VIRTIO_BLK_S_IOERR });
      expect(vm.disk.submit({ type: VIRTIO_BLK_T_GET_ID, sector: 1n, inLen: 20 })).toMatchObject({ err: -EIO, status: VIRTIO_BLK_S_IOERR });
      const range = virtioBlkDiscardWriteZeroes.pack({ sector: 0n, num_sectors: 8, flags: 1 });
      expect(vm.disk.submit({ type: VIRTIO_BLK_T_DISCARD, out: range })).toEqual({ err: -EOPNOTSUPP, status: VIRTIO_BLK_S_UNSUPP });
    });
  }

  it('refuses a request larger than one it can build', () => {
    const { vm } = boot('upstream');
    expect(vm.disk.submit({ type: VIRTIO_BLK_T_IN, inLen: vm.disk.requestBytes + 512 })).toEqual({ err: -EINVAL });
    expect(vm.disk.submit({ type: VIRTIO_BLK_T_FLUSH })).toEqual({ err: 0, status: VIRTIO_BLK_S_OK });
  });
});

describe('lifecycle', () => {
  for (const profile of PROFILES) {
    it(`remove and re-probe (device reset, vhost restarted) keeps the disk content (${profile})`, () => {
      const { vm } = boot(profile);
      expect(vm.disk.write(512, pattern(64, 2)).err).toBe(0);
      const disk = reprobe(vm);
      expect(disk.name).toBe('vda');
      expect(vm.guest.disks).toEqual([disk]);
      expect(firstDiff(disk.read(512, 64).data, pattern(64, 2))).toBe(-1);
      expect(vm.disk.read(0, 1)).toEqual({ err: -EIO });
    });
  }

  it('a device that never answers gives -ETIMEDOUT instead of hanging; the slots stay taken until it answers', () => {
    const host = bootVmmHost('upstream', [{ mgmtdev: 'vdpasim_blk' }]);
    let failKick = true;
    // vhost does not start: the guest's notifies reach no one.
    const vm = blkVm(host, (name) => (failKick && name === 'VHOST_SET_VRING_KICK' ? -EINVAL : undefined));
    expect(vm.device.status & VIRTIO_CONFIG_S_DRIVER_OK).toBeTruthy();
    expect(vm.disk.write(0, pattern(1, 8))).toEqual({ err: -ETIMEDOUT });
    for (let i = 0; i < REQUEST_SLOTS - 1; i++) expect(vm.disk.read(0, 1)).toEqual({ err: -ETIMEDOUT });
    // Every slot is held: the next request waits for one, in vain, and is never queued.
    expect(vm.disk.read(0, 1)).toEqual({ err: -ETIMEDOUT });
    expect(vm.disk.vq.inFlight).toBe(REQUEST_SLOTS);
    // vhost starts after all and the queue is notified: the late answers free the slots.
    failKick = false;
    vm.device.setStatus(vm.device.getStatus());
    vm.disk.vdev.config.notify(0);
    host.settleSync();
    expect(vm.disk.vq.inFlight).toBe(0);
    expect(vm.disk.read(0, 1).data).toEqual(pattern(1, 8));
  });
});
