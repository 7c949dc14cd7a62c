// The generic vhost-vdpa-device-pci (QEMU hw/virtio/vdpa-dev.c) over vdpa_sim_blk, observed as
// QEMU would be under strace: realize, the guest-visible features and config, the spec-normal
// start order (vrings enabled before DRIVER_OK, call fds unmasked after it), stop on reset,
// restart, a failed start, and quit (linux-vdpa-facts.md §2.14, §4.3; vmm facts §5.4).

import { describe, expect, it } from 'vitest';
import {
  EINVAL,
  ETIMEDOUT,
  O_RDWR,
  VHOST_F_LOG_ALL,
  VIRTIO_BLK_F_FLUSH,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_F_ACCESS_PLATFORM,
  VIRTIO_ID_BLOCK,
  VIRTIO_ID_NET,
  virtioBlkConfig,
  virtioBlkConfig61,
} from '../../uapi/index.js';
import { VDPASIM_BLK_CAPACITY } from '../../drivers/vdpa/vdpa_sim/index.js';
import type { Host } from '../../sim/host/index.js';
import { type BlkVm, launchBlkVm } from '../../sim/scenarios/index.js';
import { Vmm } from '../../sim/vmm/index.js';
import { PROFILES } from '../helpers/model_target.js';
import { type Inject, type Strace, strace } from '../helpers/strace.js';
import { bootVmmHost } from '../helpers/vmm.js';

const bit = (n: number): bigint => 1n << BigInt(n);
const hex = (v: bigint | number): string => `0x${v.toString(16)}`;
const VHOSTDEV = '/dev/vhost-vdpa-0';

/** A blk VM on vdpa0 (vdpasim_blk), its VMM traced, the machine settled. */
function blkVm(host: Host, inject?: Inject): BlkVm & { trace: Strace } {
  let trace: Strace | undefined;
  const vm = launchBlkVm(host, { name: 'vm0', vhostdev: VHOSTDEV, wrapUserSpace: (us) => (trace = strace(us, inject)).us });
  if (typeof vm === 'string') throw new Error(vm);
  host.settleSync();
  return Object.assign(vm, { trace: trace as Strace });
}

const blkHost = (profile: (typeof PROFILES)[number]): Host => bootVmmHost(profile, [{ mgmtdev: 'vdpasim_blk' }]);

/** The start: from SET_FEATURES to the last unmasked call fd. */
function startSlice(log: readonly string[], from = 0): string[] {
  const i = log.findIndex((l, k) => k >= from && l.startsWith('VHOST_SET_FEATURES '));
  return log.slice(i, i + 20);
}

describe('realize', () => {
  for (const profile of PROFILES) {
    it(`reads id, max queue size, vq count, IOVA range, inits one vhost dev, then config size and config (${profile})`, () => {
      const host = blkHost(profile);
      let t: Strace | undefined;
      const vmm = Vmm.launch(host, { nets: [], vdpaDevices: [{ vhostdev: VHOSTDEV }], wrapUserSpace: (us) => (t = strace(us)).us });
      if (typeof vmm === 'string') throw new Error(vmm);
      const size = profile === 'linux-6.1' ? virtioBlkConfig61.size : virtioBlkConfig.size;
      const features = (t as Strace).grep('VHOST_GET_FEATURES')[0]?.split(' -> ')[1];
      expect((t as Strace).log).toEqual([
        `open ${VHOSTDEV} = 3`,
        'VHOST_VDPA_GET_DEVICE_ID = 0 -> 0x2',
        'VHOST_VDPA_GET_VRING_NUM = 0',
        'VHOST_VDPA_GET_VQS_COUNT = 0 -> 0x1',
        'VHOST_VDPA_GET_IOVA_RANGE = 0',
        // vhost_vdpa_init(): the SVQ feature check for a migration blocker, then ACKNOWLEDGE|DRIVER.
        `VHOST_GET_FEATURES = 0 -> ${features}`,
        'VHOST_VDPA_GET_STATUS = 0 -> 0x0',
        'VHOST_VDPA_SET_STATUS 0x3 = 0',
        'VHOST_VDPA_GET_STATUS = 0 -> 0x3',
        'VHOST_SET_OWNER = 0',
        `VHOST_GET_FEATURES = 0 -> ${features}`,
        `VHOST_VDPA_GET_CONFIG_SIZE = 0 -> ${hex(size)}`,
        'VHOST_VDPA_GET_CONFIG = 0',
      ]);
      const dev = vmm.devices[0];
      expect(dev && { id: dev.deviceId, nvqs: dev.queues.length, queueSize: dev.queueSize, configSize: dev.configSize }).toEqual({
        id: VIRTIO_ID_BLOCK,
        nvqs: 1,
        queueSize: 256,
        configSize: size,
      });
    });
  }

  it('passes any vDPA device through: vdpasim_net is device id 1 with its 3 vqs', () => {
    const host = bootVmmHost('upstream', [{ mgmtdev: 'vdpasim_net' }]);
    const vmm = Vmm.launch(host, { nets: [], vdpaDevices: [{ vhostdev: VHOSTDEV }] });
    if (typeof vmm === 'string') throw new Error(vmm);
    expect(vmm.devices[0]?.deviceId).toBe(VIRTIO_ID_NET);
    expect(vmm.devices[0]?.queues).toHaveLength(3);
    // No guest driver of this model binds it as a disk.
    vmm.quit();
    expect(launchBlkVm(host, { name: 'vm0', vhostdev: VHOSTDEV })).toBe('vm0: no guest driver for virtio device id 1');
  });

  it('refuses a queue-size above VHOST_VDPA_GET_VRING_NUM, and closes the device', () => {
    const host = blkHost('upstream');
    expect(Vmm.launch(host, { nets: [], vdpaDevices: [{ vhostdev: VHOSTDEV, queueSize: 512 }] })).toBe(
      `qemu: -device vhost-vdpa-device-pci,vhostdev=${VHOSTDEV}: vhost-vdpa-device: invalid queue_size: 512 (max:256)`,
    );
    expect(Vmm.launch(host, { nets: [], vdpaDevices: [{ vhostdev: VHOSTDEV, queueSize: 64 }] })).toSatisfy((v) => v instanceof Vmm && v.devices[0]?.queueSize === 64);
  });

  it('fails like qemu_open when the device node does not exist', () => {
    const host = blkHost('upstream');
    expect(Vmm.launch(host, { nets: [], vdpaDevices: [{ vhostdev: '/dev/vhost-vdpa-7' }] })).toMatch(/vhostdev=\/dev\/vhost-vdpa-7: vhost-vdpa-device: open \/dev\/vhost-vdpa-7: ENOENT/);
  });
});

describe('guest-visible device', () => {
  for (const profile of PROFILES) {
    it(`offers the vhost dev's features (VHOST_F_LOG_ALL included) without IOMMU_PLATFORM; the device gets the guest's plus ACCESS_PLATFORM (${profile})`, () => {
      const vm = blkVm(blkHost(profile));
      const device = BigInt(vm.trace.grep('VHOST_GET_FEATURES')[0]?.split(' -> ')[1] ?? 'x');
      expect(vm.device.hostFeatures).toBe((device | bit(VHOST_F_LOG_ALL)) & ~bit(VIRTIO_F_ACCESS_PLATFORM));
      // The guest acks neither LOG_ALL (not a virtio feature) nor what it does not know.
      expect(vm.device.guestFeatures & bit(VHOST_F_LOG_ALL)).toBe(0n);
      expect(vm.trace.grep('VHOST_SET_FEATURES')).toEqual([`VHOST_SET_FEATURES ${hex(vm.device.guestFeatures | bit(VIRTIO_F_ACCESS_PLATFORM))} = 0`]);
      expect((vm.device.hostFeatures & bit(VIRTIO_BLK_F_FLUSH)) !== 0n).toBe(profile === 'upstream');
    });
  }

  it('reads config through VHOST_VDPA_GET_CONFIG on every access; bytes past config_len read as all-ones', () => {
    const vm = blkVm(blkHost('linux-6.1'));
    const before = vm.trace.grep('VHOST_VDPA_GET_CONFIG').length;
    const cap = new Uint8Array(8);
    vm.device.get(0, cap);
    expect(new DataView(cap.buffer).getBigUint64(0, true)).toBe(BigInt(VDPASIM_BLK_CAPACITY));
    const tail = new Uint8Array(4);
    vm.device.get(virtioBlkConfig61.size - 2, tail);
    expect([...tail]).toEqual([0, 0, 0xff, 0xff]);
    expect(vm.trace.grep('VHOST_VDPA_GET_CONFIG').length - before).toBe(2);
  });

  it("writes QEMU's last read of the config, not the guest's bytes, as vhost_vdpa_device_set_config() does", () => {
    const sent: Uint8Array[] = [];
    const vm = blkVm(blkHost('upstream'), (name, arg) => {
      if (name === 'VHOST_VDPA_SET_CONFIG' && arg instanceof Uint8Array) sent.push(arg.slice());
      return undefined;
    });
    const wce = virtioBlkConfig.offsetOf('wce');
    const read = new Uint8Array(virtioBlkConfig.size);
    vm.device.get(0, read);
    vm.device.set(wce, Uint8Array.of(1));
    expect(sent).toHaveLength(1);
    const msg = new DataView((sent[0] as Uint8Array).buffer);
    expect([msg.getUint32(0, true), msg.getUint32(4, true)]).toEqual([0, virtioBlkConfig.size]);
    expect((sent[0] as Uint8Array).subarray(8)).toEqual(read);
    expect((sent[0] as Uint8Array)[8 + wce]).toBe(0);
  });
});

describe('start', () => {
  for (const profile of PROFILES) {
    it(`enables the vring before DRIVER_OK, then sets the config call and unmasks the call fd (${profile}, vdpa-dev.c)`, () => {
      const vm = blkVm(blkHost(profile));
      const offered = vm.trace.grep('VHOST_GET_BACKEND_FEATURES')[0]?.split(' -> ')[1] ?? 'x';
      expect(startSlice(vm.trace.log)).toEqual([
        `VHOST_SET_FEATURES ${hex(vm.device.guestFeatures | bit(VIRTIO_F_ACCESS_PLATFORM))} = 0`,
        'VHOST_VDPA_GET_STATUS = 0 -> 0x3',
        'VHOST_VDPA_SET_STATUS 0xb = 0',
        'VHOST_VDPA_GET_STATUS = 0 -> 0xb',
        `VHOST_GET_BACKEND_FEATURES = 0 -> ${offered}`,
        `VHOST_SET_BACKEND_FEATURES ${hex(BigInt(offered) & 0x1en)} = 0`,
        'VHOST_SET_VRING_NUM {0, 256} = 0',
        'VHOST_SET_VRING_BASE {0, 0} = 0',
        'VHOST_SET_VRING_ADDR = 0',
        'VHOST_SET_VRING_KICK {0, fd} = 0',
        'VHOST_VDPA_SET_VRING_ENABLE {0, 1} = 0',
        'IOTLB BATCH_BEGIN = 72',
        'IOTLB UPDATE asid 0 iova 0x0 size 0xa0000 RW = 72',
        'IOTLB UPDATE asid 0 iova 0x100000 size 0x1f00000 RW = 72',
        'IOTLB BATCH_END = 72',
        'VHOST_VDPA_GET_STATUS = 0 -> 0xb',
        'VHOST_VDPA_SET_STATUS 0xf = 0',
        'VHOST_VDPA_GET_STATUS = 0 -> 0xf',
        'VHOST_VDPA_SET_CONFIG_CALL fd = 0',
        'VHOST_SET_VRING_CALL {0, fd} = 0',
      ]);
      // The call fd is set exactly once, by the unmask: vhost_virtqueue_start() leaves it alone.
      expect(vm.trace.grep('VHOST_SET_VRING_CALL')).toHaveLength(1);
      expect(vm.device.started).toBe(true);
    });
  }

  it('gives the device the guest notifier as call fd and the config notifier as config call, then raises one config interrupt', () => {
    const calls: number[] = [];
    const fdOf = (arg: Uint8Array, at: number): number => new DataView(arg.buffer, arg.byteOffset).getInt32(at, true);
    const host = blkHost('upstream');
    let configInterrupts = 0;
    const vmm = Vmm.launch(host, {
      nets: [],
      vdpaDevices: [{ vhostdev: VHOSTDEV }],
      wrapUserSpace: (us) =>
        strace(us, (name, arg) => {
          if (arg instanceof Uint8Array && name === 'VHOST_SET_VRING_CALL') calls.push(fdOf(arg, 4));
          if (arg instanceof Uint8Array && name === 'VHOST_VDPA_SET_CONFIG_CALL') calls.push(fdOf(arg, 0));
          return undefined;
        }).us,
    });
    if (typeof vmm === 'string') throw new Error(vmm);
    const dev = vmm.devices[0];
    if (!dev) throw new Error('no device');
    dev.setConfigCallback(() => configInterrupts++);
    dev.setStatus(VIRTIO_CONFIG_S_DRIVER_OK);
    const q = dev.queues[0];
    // No ring programmed: the vq is skipped, yet it is unmasked (vhost_virtqueue_mask runs for all).
    expect(calls).toEqual([expect.any(Number), q?.guestNotifier?.fd]);
    expect(calls[0]).not.toBe(q?.guestNotifier?.fd);
    expect(configInterrupts).toBe(1);
    dev.setStatus(0);
    expect(calls[2]).toBe(-1);
  });
});

describe('stop and restart', () => {
  for (const profile of PROFILES) {
    it(`on guest reset suspends, reads the vring base the device reached, resets, drops the maps and the config call (${profile})`, () => {
      const vm = blkVm(blkHost(profile));
      for (let i = 0; i < 3; i++) expect(vm.disk.write(8 * i, new Uint8Array(4096).fill(i + 1)).err).toBe(0);
      // Refused by the block layer: never reaches the ring.
      expect(vm.disk.read(VDPASIM_BLK_CAPACITY, 1).err).toBeLessThan(0);
      const from = vm.trace.log.length;
      vm.disk.remove();
      expect(vm.trace.log.slice(from)).toEqual([
        'VHOST_VDPA_SUSPEND = 0',
        'VHOST_GET_VRING_BASE {0} = 0 -> 3',
        'VHOST_VDPA_SET_STATUS 0x0 = 0',
        'VHOST_VDPA_GET_STATUS = 0 -> 0x0',
        'VHOST_VDPA_SET_STATUS 0x3 = 0',
        'VHOST_VDPA_GET_STATUS = 0 -> 0x3',
        'IOTLB BATCH_BEGIN = 72',
        'IOTLB INVALIDATE asid 0 iova 0x0 size 0xa0000 = 72',
        'IOTLB INVALIDATE asid 0 iova 0x100000 size 0x1f00000 = 72',
        'IOTLB BATCH_END = 72',
        'VHOST_VDPA_SET_CONFIG_CALL fd = 0',
      ]);
      expect(vm.device.started).toBe(false);
    });
  }

  it('restarts from base 0 with a fresh driver (virtio_reset forgot last_avail_idx) and unmasks again', () => {
    const host = blkHost('upstream');
    const vm = blkVm(host);
    expect(vm.disk.write(0, new Uint8Array(512).fill(7)).err).toBe(0);
    vm.disk.remove();
    const from = vm.trace.log.length;
    const disk = vm.guest.probeBlk(vm.device);
    if (typeof disk === 'number') throw new Error(`probe ${disk}`);
    host.settleSync();
    const again = startSlice(vm.trace.log, from);
    expect(again[7]).toBe('VHOST_SET_VRING_BASE {0, 0} = 0');
    expect(again[10]).toBe('VHOST_VDPA_SET_VRING_ENABLE {0, 1} = 0');
    expect(again.slice(-3)).toEqual(['VHOST_VDPA_GET_STATUS = 0 -> 0xf', 'VHOST_VDPA_SET_CONFIG_CALL fd = 0', 'VHOST_SET_VRING_CALL {0, fd} = 0']);
    expect(disk.read(0, 1).data).toEqual(new Uint8Array(512).fill(7));
  });

  it('a failed start is logged and unwound; the guest gets no answers, and a later start works', () => {
    const host = blkHost('upstream');
    let failKick = true;
    const vm = blkVm(host, (name) => (failKick && name === 'VHOST_SET_VRING_KICK' ? -EINVAL : undefined));
    expect(vm.device.log).toEqual(['vhost-vdpa-device: start failed: Error starting vhost: Invalid argument']);
    expect(vm.device.started).toBe(false);
    // Unwound: the device was reset and re-acknowledged, nothing mapped.
    const kick = vm.trace.log.indexOf('VHOST_SET_VRING_KICK {0, fd} = -22');
    expect(vm.trace.log.slice(kick + 1)).toContain('VHOST_VDPA_SET_STATUS 0x0 = 0');
    expect(vm.trace.grep('IOTLB UPDATE')).toEqual([]);
    expect(vm.disk.read(0, 1)).toEqual({ err: -ETIMEDOUT });
    failKick = false;
    vm.disk.remove();
    const disk = vm.guest.probeBlk(vm.device);
    if (typeof disk === 'number') throw new Error(`probe ${disk}`);
    expect(vm.device.started).toBe(true);
    expect(disk.write(0, new Uint8Array(512).fill(1)).err).toBe(0);
  });
});

describe('quit', () => {
  for (const profile of PROFILES) {
    it(`closes the device fd: another VMM can open it, and finds the disk as left (${profile})`, () => {
      const host = blkHost(profile);
      const vm = blkVm(host);
      const pattern = Uint8Array.from({ length: 4096 }, (_, i) => (i * 13 + 5) & 0xff);
      expect(vm.disk.write(4096, pattern).err).toBe(0);
      // Single opener while it runs.
      expect(launchBlkVm(host, { name: 'vm1', vhostdev: VHOSTDEV })).toMatch(/vm1: -device vhost-vdpa-device-pci,vhostdev=\/dev\/vhost-vdpa-0: .*EBUSY/);
      vm.destroy();
      expect(vm.trace.log.at(-1)).toBe('VHOST_VDPA_SET_CONFIG_CALL fd = 0');
      const probe = host.spawn();
      const fd = probe.open(VHOSTDEV, O_RDWR);
      expect(fd).toBeGreaterThanOrEqual(0);
      probe.exit();
      const vm1 = blkVm(host);
      expect(vm1.disk.read(4096, 8).data).toEqual(pattern);
      vm1.destroy();
    });
  }
});
