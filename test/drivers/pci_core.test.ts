// The PCI core a virtio-pci driver stands on (drivers/pci/pci.ts) and the platform IOMMU behind
// vhost-vdpa's platform path (drivers/iommu/iommu.ts): enumeration and BAR placement, the
// capability walk and its loop guard, MSI-X vectors and irqs, driver_override binding, and
// domains (map rules, attach/detach changing what the function's DMA reaches).

import { describe, expect, it } from 'vitest';
import { IOMMU_CACHE, IOMMU_CAP_CACHE_COHERENCY, IOMMU_READ, IOMMU_WRITE, IommuDevice } from '../../drivers/iommu/iommu.js';
import { PCI_IRQ_MSIX, PCI_MMIO_WINDOW, type PciDev, type PciDriver } from '../../drivers/pci/pci.js';
import { VHOST_MAP_RW, VHOST_MAP_WO } from '../../lib/iotlb/index.js';
import { Host } from '../../sim/host/index.js';
import { PCI_CAP_ID_MSIX, PCI_CAP_ID_VNDR, PCI_COMMAND, PCI_COMMAND_MASTER, PCI_COMMAND_MEMORY, PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE } from '../../uapi/index.js';
import { RawPciFunction, rawModernFunction } from '../helpers/raw_pci.js';

const SLOT = '0000:00:04.0';

/** A function with an MSI-X capability of `n` vectors, table in BAR 1. */
function msixFunction(n: number): RawPciFunction {
  const fn = rawModernFunction();
  fn.addBar(1, 0x1000);
  const body = new Uint8Array(10);
  const v = new DataView(body.buffer);
  v.setUint16(0, n - 1, true);
  v.setUint32(2, 0x0 | 1, true);
  v.setUint32(6, 0x800 | 1, true);
  fn.addCap(PCI_CAP_ID_MSIX, body);
  return fn;
}

const boot = (): Host => Host.boot({ modules: [] });

describe('PCI enumeration', () => {
  it('sizes each BAR and places it, aligned, in the MMIO window, decoded by the host', () => {
    const host = boot();
    const fn = rawModernFunction({ barSize: 0x8000 });
    (fn.bars[4] as Uint8Array)[0x10] = 0x5a;
    const pdev = host.pci.plug(SLOT, fn) as PciDev;
    expect(pdev.resourceLen(4)).toBe(0x8000);
    expect(pdev.resourceStart(4) % 0x8000).toBe(0);
    expect(pdev.resourceStart(4)).toBeGreaterThanOrEqual(PCI_MMIO_WINDOW);
    expect(pdev.resourceLen(0)).toBe(0);
    const b = new Uint8Array(1);
    expect(host.iomem.read(pdev.resourceStart(4) + 0x10, b)).toBe(true);
    expect(b[0]).toBe(0x5a);
    const second = host.pci.plug('0000:00:05.0', rawModernFunction()) as PciDev;
    expect(second.resourceStart(4)).toBeGreaterThanOrEqual(pdev.resourceStart(4) + 0x8000);
  });

  it('refuses a malformed slot (EINVAL), a taken one (EBUSY) and an empty one (ENODEV)', () => {
    const host = boot();
    expect(host.pci.plug('00:04.0', rawModernFunction())).toBe(-22);
    expect(typeof host.pci.plug(SLOT, rawModernFunction())).toBe('object');
    expect(host.pci.plug(SLOT, rawModernFunction())).toBe(-16);
    expect(host.pci.plug('0000:00:06.0', new RawPciFunction({ vendor: 0xffff, device: 0xffff }))).toBe(-19);
  });

  it('unplug unbinds the driver and stops decoding the BARs', () => {
    const host = boot();
    const removed: string[] = [];
    const drv: PciDriver = { name: 'x', probe: () => 0, remove: (p) => removed.push(p.slot) };
    host.pci.registerDriver(drv);
    const pdev = host.pci.plug(SLOT, rawModernFunction()) as PciDev;
    expect(host.pci.bindOverride(SLOT, 'x')).toBe(0);
    const base = pdev.resourceStart(4);
    host.pci.unplug(SLOT);
    expect(removed).toEqual([SLOT]);
    expect(host.iomem.read(base, new Uint8Array(1))).toBe(false);
  });
});

describe('capabilities', () => {
  it('finds vendor capabilities in list order and the next one after a position', () => {
    const host = boot();
    const pdev = host.pci.plug(SLOT, rawModernFunction()) as PciDev;
    const first = pdev.findCapability(PCI_CAP_ID_VNDR);
    expect(first).toBe(0x40);
    expect(pdev.findNextCapability(first + 1, PCI_CAP_ID_VNDR)).toBeGreaterThan(first);
    expect(pdev.findCapability(PCI_CAP_ID_MSIX)).toBe(0);
  });

  it('a list that loops ends after PCI_FIND_CAP_TTL steps', () => {
    const fn = rawModernFunction();
    // The last capability points back at the first.
    let pos = 0x40;
    while (fn.config[pos + 1]) pos = fn.config[pos + 1] as number;
    fn.config[pos + 1] = 0x40;
    const pdev = boot().pci.plug(SLOT, fn) as PciDev;
    expect(pdev.findCapability(PCI_CAP_ID_MSIX)).toBe(0);
  });

  it('without the capability-list status bit there are none', () => {
    const fn = rawModernFunction();
    fn.config[6] = 0;
    expect((boot().pci.plug(SLOT, fn) as PciDev).findCapability(PCI_CAP_ID_VNDR)).toBe(0);
  });
});

describe('MSI-X vectors and irqs', () => {
  it('allocates exactly the vectors asked for, enables MSI-X, routes each message to its handler', () => {
    const host = boot();
    const fn = msixFunction(4);
    const pdev = host.pci.plug(SLOT, fn) as PciDev;
    expect(pdev.allocIrqVectors(3, 3, PCI_IRQ_MSIX)).toBe(3);
    const cap = pdev.findCapability(PCI_CAP_ID_MSIX);
    expect(pdev.readConfigWord(cap + PCI_MSIX_FLAGS) & PCI_MSIX_FLAGS_ENABLE).toBe(PCI_MSIX_FLAGS_ENABLE);
    const irqs = [0, 1, 2].map((v) => pdev.irqVector(v));
    expect(new Set(irqs).size).toBe(3);
    expect(pdev.irqVector(3)).toBe(-22);
    const hits: number[] = [];
    expect(pdev.requestIrq(irqs[1] as number, () => hits.push(1))).toBe(0);
    expect(pdev.requestIrq(irqs[1] as number, () => hits.push(9))).toBe(-16);
    expect(pdev.requestIrq(12345, () => {})).toBe(-22);
    fn.platform?.msix(1);
    fn.platform?.msix(0);
    expect(hits).toEqual([1]);
    pdev.freeIrqVectors();
    expect(pdev.readConfigWord(cap + PCI_MSIX_FLAGS) & PCI_MSIX_FLAGS_ENABLE).toBe(0);
    fn.platform?.msix(1);
    expect(hits).toEqual([1]);
  });

  it('no MSI-X capability: EINVAL; a table smaller than the minimum: ENOSPC; only MSI-X is offered', () => {
    const host = boot();
    expect((host.pci.plug(SLOT, rawModernFunction()) as PciDev).allocIrqVectors(1, 1, PCI_IRQ_MSIX)).toBe(-22);
    const pdev = host.pci.plug('0000:00:05.0', msixFunction(2)) as PciDev;
    expect(pdev.allocIrqVectors(3, 3, PCI_IRQ_MSIX)).toBe(-28);
    expect(pdev.allocIrqVectors(1, 1, 0)).toBe(-22);
  });
});

describe('driver_override binding', () => {
  it('binds only through the override, once; probing a registered driver later picks the device up', () => {
    const host = boot();
    const probed: string[] = [];
    const drv: PciDriver = { name: 'late', probe: (p) => (probed.push(p.slot), 0), remove: () => {} };
    host.pci.plug(SLOT, rawModernFunction());
    expect(host.pci.bindOverride(SLOT, 'late')).toBe(-19);
    expect(host.pci.bindOverride('0000:00:09.0', 'late')).toBe(-19);
    host.pci.registerDriver(drv);
    expect(probed).toEqual([SLOT]);
    expect(host.pci.bindOverride(SLOT, 'late')).toBe(-16);
  });

  it('pci_enable_device and pci_set_master turn on memory decode and bus mastering', () => {
    const pdev = boot().pci.plug(SLOT, rawModernFunction()) as PciDev;
    pdev.enableDevice();
    pdev.setMaster();
    expect(pdev.readConfigWord(PCI_COMMAND) & (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER)).toBe(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
  });
});

describe('platform IOMMU', () => {
  const mem = { generation: 0, span: () => false };

  it('a domain maps page-aligned runs inside its 48-bit aperture, never twice', () => {
    const d = new IommuDevice('x', mem).domainAlloc();
    expect(d.map(0x1000n, 0x20000n, 0x2000n, IOMMU_READ | IOMMU_WRITE | IOMMU_CACHE)).toBe(0);
    expect(d.iovaToPhys(0x1804n)).toBe(0x20804n);
    expect(d.iovaToPhys(0x3000n)).toBeUndefined();
    expect(d.map(0x2000n, 0x50000n, 0x1000n, IOMMU_READ)).toBe(-17);
    expect(d.map(0x8001n, 0x50000n, 0x1000n, IOMMU_READ)).toBe(-22);
    expect(d.map(0x8000n, 0x50000n, 0n, IOMMU_READ)).toBe(-22);
    expect(d.map(0x8000n, 0x50000n, 0x1000n, IOMMU_CACHE)).toBe(-22);
    expect(d.map(1n << 48n, 0x50000n, 0x1000n, IOMMU_READ)).toBe(-22);
    expect(d.unmap(0n, 0x10000n)).toBe(0x2000n);
    expect(d.iovaToPhys(0x1804n)).toBeUndefined();
  });

  it('attach puts the function behind the domain, detach back to untranslated DMA; one domain at a time', () => {
    const dev = new IommuDevice('x', mem);
    expect(dev.capable(IOMMU_CAP_CACHE_COHERENCY)).toBe(true);
    expect(new IommuDevice('y', mem, false).capable(IOMMU_CAP_CACHE_COHERENCY)).toBe(false);
    const xl = (iova: bigint) => dev.view.iotlb.itreeFirst(iova, iova);
    expect(xl(0x123000n)?.addr).toBe(0n);
    const d = dev.domainAlloc();
    d.map(0x1000n, 0x9000n, 0x1000n, IOMMU_WRITE);
    expect(dev.attach(d)).toBe(0);
    expect(xl(0x1000n)).toMatchObject({ start: 0x1000n, addr: 0x9000n, perm: VHOST_MAP_WO });
    expect(xl(0x123000n)).toBeUndefined();
    d.map(0x4000n, 0xa000n, 0x1000n, IOMMU_READ | IOMMU_WRITE);
    expect(xl(0x4000n)?.perm).toBe(VHOST_MAP_RW);
    d.unmap(0x4000n, 0x1000n);
    expect(xl(0x4000n)).toBeUndefined();
    expect(dev.attach(dev.domainAlloc())).toBe(-16);
    dev.detach(d);
    expect(xl(0x123000n)?.addr).toBe(0n);
  });
});
