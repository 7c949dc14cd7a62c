// vp_modern_probe() (linux-vdpa-facts.md §5.1) against functions built byte by byte: the device
// id range, transitional ids, the capability search (reserved BARs skipped), and every length,
// alignment and range check of vp_modern_map_capability with the kernel's error and message.

import { describe, expect, it } from 'vitest';
import { VirtioPciModernDevice } from '../../drivers/virtio/virtio_pci_modern_dev.js';
import type { PciDev } from '../../drivers/pci/pci.js';
import { Host } from '../../sim/host/index.js';
import { VIRTIO_PCI_COMMON_Q_NOFF } from '../../uapi/index.js';
import { type ModernLayout, type RawPciFunction, rawModernFunction } from '../helpers/raw_pci.js';

function probe(layout: ModernLayout, fn: RawPciFunction = rawModernFunction(layout)) {
  const host = Host.boot({ modules: [] });
  const pdev = host.pci.plug('0000:00:04.0', fn) as PciDev;
  const mdev = new VirtioPciModernDevice(pdev, host.klog);
  const r = mdev.probe();
  return { r, mdev, pdev, fn, host, log: host.klog.read().map((l) => l.text) };
}

describe('vp_modern_probe', () => {
  it('a well-formed function: virtio id from the device id, vendor from the subsystem, every area mapped', () => {
    const { r, mdev } = probe({});
    expect(r).toBe(0);
    expect(mdev.id).toEqual({ device: 1, vendor: 0x1af4 });
    expect(mdev.commonLen).toBe(64);
    expect(mdev.deviceLen).toBe(4096);
    expect(mdev.notifyLen).toBe(0x1000);
    expect(mdev.notifyOffsetMultiplier).toBe(4);
    expect(mdev.modernBars).toBe(1 << 4);
  });

  it('a transitional device id (< 0x1040) takes the virtio id from the subsystem device id', () => {
    expect(probe({ device: 0x1000, subsystemDevice: 2 }).mdev.id.device).toBe(2);
  });

  it('device ids outside 0x1000..0x107f are not virtio: ENODEV', () => {
    expect(probe({ device: 0x0fff }).r).toBe(-19);
    expect(probe({ device: 0x1080 }).r).toBe(-19);
    expect(probe({ device: 0x107f }).r).toBe(0);
  });

  it('no COMMON capability: ENODEV, left for the legacy driver', () => {
    const { r, log } = probe({ common: false });
    expect(r).toBe(-19);
    expect(log).toContain('virtio-pci 0000:00:04.0: virtio_pci: leaving for legacy driver');
  });

  it('a COMMON capability on a reserved BAR (>= 6) is ignored: ENODEV', () => {
    expect(probe({ common: { bar: 6, offset: 0, length: 0x1000 } }).r).toBe(-19);
  });

  it('a capability on a BAR the function does not implement is ignored', () => {
    expect(probe({ isr: { bar: 2, offset: 0x1000, length: 0x1000 } }).r).toBe(-22);
  });

  it('ISR or NOTIFY missing: EINVAL naming the positions found', () => {
    for (const l of [{ isr: false as const }, { notify: false as const }]) {
      const { r, log } = probe(l);
      expect(r).toBe(-22);
      expect(log.some((t) => /virtio_pci: missing capabilities \d+\/\d+\/\d+$/.test(t))).toBe(true);
    }
  });

  it('the DEVICE capability is optional', () => {
    const { r, mdev } = probe({ device_: false });
    expect(r).toBe(0);
    expect(mdev.device).toBeUndefined();
    expect(mdev.deviceLen).toBe(0);
  });

  it('a COMMON area shorter than struct virtio_pci_common_cfg (56): EINVAL, regions released', () => {
    const { r, log, pdev } = probe({ common: { offset: 0, length: 32 } });
    expect(r).toBe(-22);
    expect(log).toContain('virtio-pci 0000:00:04.0: bad capability len 32 (>=56 expected)');
    expect(pdev.requestSelectedRegions(1 << 4)).toBe(0);
  });

  it('an empty capability, a misaligned one and one past its BAR: EINVAL with the kernel text', () => {
    expect(probe({ isr: { offset: 0x1000, length: 0 } }).log).toContain('virtio-pci 0000:00:04.0: bad capability len 0 (>0 expected)');
    expect(probe({ common: { offset: 2, length: 0x1000 } }).log).toContain('virtio-pci 0000:00:04.0: offset 2 not aligned to 4');
    const past = probe({ common: { offset: 0x3ff0, length: 0x1000 } });
    expect(past.r).toBe(-22);
    expect(past.log).toContain('virtio-pci 0000:00:04.0: map virtio 56@16368 out of range on bar 4 length 16384');
  });

  it('the device area is capped at a page', () => {
    expect(probe({ barSize: 0x8000, device_: { offset: 0x2000, length: 0x2000 }, notify: { offset: 0x4000, length: 0x1000, multiplier: 4 } }).mdev.deviceLen).toBe(4096);
  });

  it('a notify area larger than a page is mapped per queue, at offset x multiplier', () => {
    const { r, mdev, pdev, fn } = probe({ barSize: 0x10000, notify: { offset: 0x4000, length: 0x8000, multiplier: 0x1000 } });
    expect(r).toBe(0);
    expect(mdev.notifyBase).toBeUndefined();
    (fn.bars[4] as Uint8Array)[VIRTIO_PCI_COMMON_Q_NOFF] = 3;
    const n = mdev.mapVqNotify(0);
    expect(n?.pa).toBe(pdev.resourceStart(4) + 0x4000 + 3 * 0x1000);
  });

  it('a doorbell past the mapped notify area fails to map (what makes vp_vdpa dev_add EINVAL)', () => {
    const { mdev, fn, host } = probe({});
    const bar = fn.bars[4] as Uint8Array;
    // 0x3ff x 4 + 2 bytes still fit the 4 KiB area; 0x400 x 4 does not.
    bar[VIRTIO_PCI_COMMON_Q_NOFF] = 0xff;
    bar[VIRTIO_PCI_COMMON_Q_NOFF + 1] = 0x03;
    expect(mdev.mapVqNotify(0)).toBeDefined();
    bar[VIRTIO_PCI_COMMON_Q_NOFF] = 0x00;
    bar[VIRTIO_PCI_COMMON_Q_NOFF + 1] = 0x04;
    expect(mdev.mapVqNotify(0)).toBeUndefined();
    expect(host.klog.read().map((l) => l.text)).toContain('virtio-pci 0000:00:04.0: bad notification offset 1024 (x 4) for queue 0 > 4096');
  });
});
