// The vdpa bus (drivers/vdpa/vdpa.c §3.3–3.4), vhost-vdpa probe/remove (§2.1), and the host's
// module loading: registration-time checks, driver binding through sysfs-like bind/unbind,
// device removal while its file is open, and a parent with a doorbell page.

import { describe, expect, it } from 'vitest';
import type { VdpaConfigOps } from '../../drivers/vdpa/vdpa_ops.js';
import type { VdpaMgmtDev } from '../../drivers/vdpa/vdpa.js';
import { VhostVdpa } from '../../lib/vhost_vdpa/index.js';
import { Host, ModelUserSpace } from '../../sim/host/index.js';
import { MAP_SHARED, PROT_WRITE } from '../../uapi/index.js';
import { errOf } from '../helpers/errno_of.js';
import { devAdd, devDel, labDevices, vdpaNodes } from '../helpers/vdpa_nl.js';

/** A minimal parent: every mandatory op, plus what `extra` adds. */
function fakeOps(extra: Partial<VdpaConfigOps> = {}): VdpaConfigOps {
  let status = 0;
  return {
    setVqAddress: () => 0,
    setVqNum: () => {},
    kickVq: () => {},
    setVqCb: () => {},
    setVqReady: () => {},
    getVqReady: () => false,
    setVqState: () => 0,
    getVqState: () => 0,
    getVqAlign: () => 4096,
    getDeviceFeatures: () => 1n << 33n,
    setDriverFeatures: () => 0,
    getDriverFeatures: () => 0n,
    setConfigCb: () => {},
    getVqNumMax: () => 256,
    getDeviceId: () => 1,
    getVendorId: () => 0x1af4,
    getStatus: () => status,
    setStatus: (s) => {
      status = s;
    },
    reset: () => {
      status = 0;
      return 0;
    },
    getConfigSize: () => 0,
    getConfig: () => {},
    setConfig: () => {},
    ...extra,
  };
}

describe('vdpa bus', () => {
  it('__vdpa_alloc_device refuses dma_map without dma_unmap, and use_va without an on-chip IOMMU', () => {
    const host = Host.boot();
    expect(host.bus.allocDevice({ ops: fakeOps({ dmaMap: () => 0 }), ngroups: 1, nas: 1, useVa: false })).toBe(-22);
    expect(host.bus.allocDevice({ ops: fakeOps(), ngroups: 1, nas: 1, useVa: true })).toBe(-22);
    const ok = host.bus.allocDevice({ ops: fakeOps({ setMap: () => 0 }), ngroups: 1, nas: 1, useVa: true });
    expect(typeof ok).toBe('object');
  });

  it('_vdpa_register_device needs a management device; names are unique (EEXIST); default names are vdpa<index>', () => {
    const host = Host.boot();
    const d = host.bus.allocDevice({ ops: fakeOps({ setMap: () => 0 }), ngroups: 1, nas: 1, useVa: false });
    if (typeof d === 'number') throw new Error('alloc');
    expect(d.name).toMatch(/^vdpa\d+$/);
    expect(host.bus.registerManagedDevice(d, 1)).toBe(-22);
    expect(host.bus.registerDevice(d, 1)).toBe(0);
    const twin = host.bus.allocDevice({ ops: fakeOps({ setMap: () => 0 }), ngroups: 1, nas: 1, useVa: false, name: d.name });
    if (typeof twin === 'number') throw new Error('alloc');
    expect(host.bus.registerDevice(twin, 1)).toBe(-17);
  });

  it('probe refuses max vq size < min (EINVAL: no driver binds)', () => {
    const host = Host.boot();
    const d = host.bus.allocDevice({ ops: fakeOps({ setMap: () => 0, getVqNumMin: () => 512 }), ngroups: 1, nas: 1, useVa: false });
    if (typeof d === 'number') throw new Error('alloc');
    expect(host.bus.registerDevice(d, 1)).toBe(0);
    expect(d.driver).toBeUndefined();
  });

  it('vhost_vdpa refuses a platform-IOMMU parent with more than one group or AS (EOPNOTSUPP)', () => {
    const host = Host.boot();
    const d = host.bus.allocDevice({ ops: fakeOps(), ngroups: 2, nas: 1, useVa: false });
    if (typeof d === 'number') throw new Error('alloc');
    host.bus.registerDevice(d, 2);
    expect(d.driver).toBeUndefined();
    expect(vdpaNodes(host)).toEqual([]);
  });

  it('opening a platform-IOMMU parent without a cache-coherent IOMMU behind its DMA device fails with ENOTSUPP (524)', () => {
    const host = Host.boot();
    const d = host.bus.allocDevice({ ops: fakeOps(), ngroups: 1, nas: 1, useVa: false });
    if (typeof d === 'number') throw new Error('alloc');
    host.bus.registerDevice(d, 1);
    const p = host.spawn();
    expect(p.open('/dev/vhost-vdpa-0', 2)).toBe(-524);
    expect(p.open('/dev/vhost-vdpa-0', 2)).toBe(-524);
  });

  it('vdpa_mgmtdev_register needs dev_add and dev_del; unregistering deletes its devices', () => {
    const host = Host.boot({ profile: 'linux-6.1' });
    expect(host.bus.mgmtdevRegister({ device: { name: 'x' } } as VdpaMgmtDev)).toBe(-22);
    labDevices(host);
    host.rmmod('vdpa_sim_net');
    expect(host.bus.allDevices()).toEqual([]);
    expect(vdpaNodes(host)).toEqual([]);
  });

  it('driver_override, unbind and bind: the node goes and comes back with the same minor', () => {
    const host = Host.boot({ profile: 'linux-6.1' });
    labDevices(host);
    const vdpa0 = host.bus.findDevice('vdpa0');
    if (!vdpa0) throw new Error('vdpa0');
    host.bus.unbindDevice(vdpa0);
    expect(vdpaNodes(host)).toEqual(['vhost-vdpa-1']);
    expect(host.bus.bindDevice(vdpa0, 'vhost_vdpa')).toBe(0);
    expect(vdpaNodes(host)).toEqual(['vhost-vdpa-0', 'vhost-vdpa-1']);
    expect(host.bus.bindDevice(vdpa0, 'vhost_vdpa')).toBe(-16);
    host.bus.unbindDevice(vdpa0);
    vdpa0.driverOverride = 'virtio_vdpa';
    expect(host.bus.bindDevice(vdpa0, 'vhost_vdpa')).toBe(-19);
  });
});

describe('removal while open', () => {
  it('dev del of an open device removes the node and name at once; the open file works until close, which finishes the teardown', () => {
    const host = Host.boot({ profile: 'linux-6.1' });
    labDevices(host);
    const us = new ModelUserSpace(host, host.spawn());
    const v = VhostVdpa.open(us, '/dev/vhost-vdpa-0');
    v.setOwner();
    let freed = false;
    const vdev = host.bus.findDevice('vdpa0');
    if (!vdev) throw new Error('vdpa0');
    const free = vdev.config.free?.bind(vdev.config);
    vdev.config.free = () => {
      freed = true;
      free?.();
    };
    expect(devDel(host, 'vdpa0').error).toBe(0);
    expect(vdpaNodes(host)).toEqual(['vhost-vdpa-1']);
    expect(v.getDeviceId()).toBe(1);
    expect(freed).toBe(false);
    // The name is free: a new vdpa0 gets another minor while the old one is still held.
    expect(devAdd(host, { name: 'vdpa0', mgmtdev: 'vdpasim_net' }).error).toBe(0);
    expect(vdpaNodes(host)).toEqual(['vhost-vdpa-1', 'vhost-vdpa-2']);
    v.close();
    expect(freed).toBe(true);
    expect(errOf(() => VhostVdpa.open(us, '/dev/vhost-vdpa-0'))).toBe('ENOENT');
  });
});

describe('modules', () => {
  it('boots each profile with its module set; modprobe pulls dependencies; rmmod refuses a module in use', () => {
    expect(Host.boot({ profile: 'linux-6.1' }).modules()).toEqual(['vdpa', 'vhost_vdpa', 'vdpa_sim', 'vdpa_sim_net']);
    const host = Host.boot({ modules: ['vdpa_sim_blk'] });
    expect(host.modules()).toEqual(['vdpa', 'vdpa_sim', 'vdpa_sim_blk']);
    expect(() => host.rmmod('vdpa')).toThrow(/in use by: vdpa_sim vdpa_sim_blk/);
    expect(() => host.modprobe('nope' as 'vdpa')).toThrow(/not found/);
    host.modprobe('vhost_vdpa');
    expect(devAdd(host, { name: 'blk0', mgmtdev: 'vdpasim_blk' }).error).toBe(0);
    expect(vdpaNodes(host)).toEqual(['vhost-vdpa-0']);
  });
});

describe('doorbell mmap (a parent with get_vq_notification)', () => {
  it('maps the notification page write-only; stores reach the device register', () => {
    const host = Host.boot({ modules: ['vhost_vdpa'] });
    const writes: [number, number][] = [];
    host.iomem.register({
      base: 0xfe000000,
      size: 0x2000,
      name: 'fake notify',
      ops: { read: () => {}, write: (off, src) => writes.push([off, src[0] as number]) },
    });
    const ops = fakeOps({
      setMap: () => 0,
      getVqNotification: (idx) => ({ addr: 0xfe000000 + idx * 4096, size: idx === 1 ? 4096 : 2048 }),
    });
    const d = host.bus.allocDevice({ ops, ngroups: 1, nas: 1, useVa: false });
    if (typeof d === 'number') throw new Error('alloc');
    host.bus.registerDevice(d, 2);
    const p = host.spawn();
    const fd = p.open('/dev/vhost-vdpa-0', 2);
    const addr = p.mmap(0, 4096, PROT_WRITE, MAP_SHARED, fd, 4096);
    expect(addr).toBeGreaterThan(0);
    p.poke(addr, Uint8Array.of(1, 0));
    expect(writes).toEqual([
      [4096, 1],
    ]);
    // vq 0's area is smaller than a page: ENOTSUPP (524).
    expect(p.mmap(0, 4096, PROT_WRITE, MAP_SHARED, fd, 0)).toBe(-524);
  });
});
