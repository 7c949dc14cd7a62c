// Models: the parts of the PCI core a virtio-pci driver uses (include/linux/pci.h, drivers/pci/
// pci.c, access.c, msi/, iomap.c, bus.c): enumeration with BAR sizing and assignment (the
// firmware's job on a real machine), struct pci_dev with its ids and resources, config accessors,
// the capability walk (pci_find_capability / pci_find_next_capability with their TTL),
// pci_enable_device / pci_set_master, region requests, pci_iomap_range, MSI-X vectors
// (pci_alloc_irq_vectors(PCI_IRQ_MSIX), pci_irq_vector, pci_free_irq_vectors), request_irq /
// free_irq, and PCI drivers bound through driver_override (what `echo vp-vdpa >
// .../driver_override; echo $BDF > /sys/bus/pci/drivers_probe` does).
// Deviations: one root bus, functions plugged at a BDF given by the caller; BARs are 64-bit
// memory BARs placed in a window above physical RAM; MSI-X messages are delivered by vector
// number (no address/data routing); interrupt handlers run synchronously when the function
// signals, as a hard irq would.

import { EBUSY, EINVAL, ENODEV, ENOSPC } from '../../uapi/index.js';
import {
  PCI_BASE_ADDRESS_0,
  PCI_BASE_ADDRESS_MEM_TYPE_64,
  PCI_CAPABILITY_LIST,
  PCI_CAP_ID_MSIX,
  PCI_CLASS_PROG,
  PCI_COMMAND,
  PCI_COMMAND_MASTER,
  PCI_COMMAND_MEMORY,
  PCI_DEVICE_ID,
  PCI_MSIX_ENTRY_SIZE,
  PCI_MSIX_ENTRY_VECTOR_CTRL,
  PCI_MSIX_FLAGS,
  PCI_MSIX_FLAGS_ENABLE,
  PCI_MSIX_FLAGS_MASKALL,
  PCI_MSIX_FLAGS_QSIZE,
  PCI_MSIX_TABLE,
  PCI_MSIX_TABLE_BIR,
  PCI_REVISION_ID,
  PCI_STATUS,
  PCI_STATUS_CAP_LIST,
  PCI_SUBSYSTEM_ID,
  PCI_SUBSYSTEM_VENDOR_ID,
  PCI_VENDOR_ID,
} from '../../uapi/index.js';
import { Ida } from '../../lib/ida.js';
import type { IoMem, MemorySpace } from '../../lib/mm/index.js';
import { IommuDevice } from '../iommu/iommu.js';
import type { PciAccessSize, PciFunction } from './pci_function.js';

export const PCI_STD_NUM_BARS = 6;
/** PCI_FIND_CAP_TTL: how many capabilities the walk follows before giving up on a loop. */
export const PCI_FIND_CAP_TTL = 48;
export const PCI_IRQ_MSIX = 1 << 2;
/** Where BARs are placed: a 64-bit window far above any modelled RAM. */
export const PCI_MMIO_WINDOW = 0x4000_0000_0000;
/** The first Linux irq handed to MSI-X vectors (legacy IRQs sit below). */
const FIRST_MSI_IRQ = 24;

export type IrqHandler = () => void;

/** A mapped piece of a BAR (the __iomem pointer of pci_iomap_range()). */
export class Mmio {
  constructor(
    private readonly fn: PciFunction,
    readonly bar: number,
    readonly offset: number,
    readonly len: number,
    /** The physical address of the first byte. */
    readonly phys: number,
  ) {}

  private ok(off: number, size: number): boolean {
    return Number.isInteger(off) && off >= 0 && off + size <= this.len;
  }

  /** ioread8/16/32: all-ones outside the mapping (nothing decodes it). */
  read(off: number, size: 1 | 2 | 4): number {
    if (!this.ok(off, size)) return size === 4 ? 0xffffffff : (1 << (8 * size)) - 1;
    return this.fn.barRead(this.bar, this.offset + off, size) as number;
  }

  /** iowrite8/16/32: dropped outside the mapping. */
  write(off: number, size: 1 | 2 | 4, value: number): void {
    if (this.ok(off, size)) this.fn.barWrite(this.bar, this.offset + off, size, value);
  }

  read8(off: number): number {
    return this.read(off, 1);
  }
  read16(off: number): number {
    return this.read(off, 2);
  }
  read32(off: number): number {
    return this.read(off, 4);
  }
  write8(off: number, v: number): void {
    this.write(off, 1, v);
  }
  write16(off: number, v: number): void {
    this.write(off, 2, v);
  }
  write32(off: number, v: number): void {
    this.write(off, 4, v);
  }
}

export interface PciResource {
  start: number;
  len: number;
}

export interface PciDriver {
  readonly name: string;
  probe(pdev: PciDev): number;
  remove(pdev: PciDev): void;
}

/** struct pci_dev. */
export class PciDev {
  readonly vendor: number;
  readonly device: number;
  readonly subsystemVendor: number;
  readonly subsystemDevice: number;
  /** 24-bit class code (base, sub, prog-if). */
  readonly classCode: number;
  readonly revision: number;
  readonly resources: PciResource[] = [];
  readonly iommu: IommuDevice;
  driver: PciDriver | undefined;
  driverOverride: string | undefined;
  drvdata: unknown;
  private regions = 0;
  /** MSI-X: Linux irq per allocated vector. */
  private vectors: number[] = [];
  private readonly handlers = new Map<number, IrqHandler>();

  constructor(
    readonly bus: PciBus,
    /** pci_name(): the BDF, e.g. 0000:00:04.0. */
    readonly slot: string,
    readonly fn: PciFunction,
    mem: MemorySpace,
    /** Whether the IOMMU in front of the function snoops CPU caches (IOMMU_CAP_CACHE_COHERENCY). */
    coherentDma = true,
  ) {
    this.iommu = new IommuDevice(slot, mem, coherentDma);
    this.vendor = fn.configRead(PCI_VENDOR_ID, 2);
    this.device = fn.configRead(PCI_DEVICE_ID, 2);
    this.subsystemVendor = fn.configRead(PCI_SUBSYSTEM_VENDOR_ID, 2);
    this.subsystemDevice = fn.configRead(PCI_SUBSYSTEM_ID, 2);
    this.classCode = fn.configRead(PCI_CLASS_PROG - 1, 4) >>> 8;
    this.revision = fn.configRead(PCI_REVISION_ID, 1);
  }

  get name(): string {
    return this.slot;
  }

  readConfigByte(off: number): number {
    return this.fn.configRead(off, 1);
  }
  readConfigWord(off: number): number {
    return this.fn.configRead(off, 2);
  }
  readConfigDword(off: number): number {
    return this.fn.configRead(off, 4) >>> 0;
  }
  writeConfigWord(off: number, v: number): void {
    this.fn.configWrite(off, 2, v);
  }
  writeConfigDword(off: number, v: number): void {
    this.fn.configWrite(off, 4, v);
  }

  /** __pci_find_next_cap_ttl(): the next capability `cap` after `pos`'s link, or 0. */
  findNextCapability(pos: number, cap: number): number {
    let ttl = PCI_FIND_CAP_TTL;
    let p = this.readConfigByte(pos);
    while (ttl--) {
      if (p < 0x40) break;
      p &= ~3;
      const ent = this.readConfigWord(p);
      const id = ent & 0xff;
      if (id === 0xff) break;
      if (id === cap) return p;
      p = ent >> 8;
    }
    return 0;
  }

  /** pci_find_capability(). */
  findCapability(cap: number): number {
    if (!(this.readConfigWord(PCI_STATUS) & PCI_STATUS_CAP_LIST)) return 0;
    return this.findNextCapability(PCI_CAPABILITY_LIST, cap);
  }

  /** pci_enable_device(): memory decode on. */
  enableDevice(): number {
    this.writeConfigWord(PCI_COMMAND, this.readConfigWord(PCI_COMMAND) | PCI_COMMAND_MEMORY);
    return 0;
  }

  /** pci_set_master(). */
  setMaster(): void {
    this.writeConfigWord(PCI_COMMAND, this.readConfigWord(PCI_COMMAND) | PCI_COMMAND_MASTER);
  }

  /** pci_request_selected_regions(): 0, or -EBUSY when one is requested already. */
  requestSelectedRegions(bars: number): number {
    if (this.regions & bars) return -EBUSY;
    this.regions |= bars;
    return 0;
  }

  releaseSelectedRegions(bars: number): void {
    this.regions &= ~bars;
  }

  /** pci_iomap_range(): the mapping, or undefined when the BAR is absent or too small. */
  iomapRange(bar: number, offset: number, maxlen: number): Mmio | undefined {
    const r = this.resources[bar];
    if (!r || !r.len || offset >= r.len) return undefined;
    const len = maxlen && maxlen < r.len - offset ? maxlen : r.len - offset;
    return new Mmio(this.fn, bar, offset, len, r.start + offset);
  }

  /** pci_resource_len(). */
  resourceLen(bar: number): number {
    return this.resources[bar]?.len ?? 0;
  }

  /** pci_resource_start(). */
  resourceStart(bar: number): number {
    return this.resources[bar]?.start ?? 0;
  }

  /**
   * pci_alloc_irq_vectors(PCI_IRQ_MSIX): exactly between min and max vectors, all unmasked, MSI-X
   * enabled; the number allocated or -errno (-EINVAL without MSI-X, -ENOSPC when the table is
   * smaller than `min`).
   */
  allocIrqVectors(min: number, max: number, flags: number): number {
    if (!(flags & PCI_IRQ_MSIX) || min < 1 || max < min || this.vectors.length) return -EINVAL;
    const cap = this.findCapability(PCI_CAP_ID_MSIX);
    if (!cap) return -EINVAL;
    const ctrl = this.readConfigWord(cap + PCI_MSIX_FLAGS);
    const size = (ctrl & PCI_MSIX_FLAGS_QSIZE) + 1;
    if (size < min) return -ENOSPC;
    const n = Math.min(size, max);
    const table = this.readConfigDword(cap + PCI_MSIX_TABLE);
    const bar = table & PCI_MSIX_TABLE_BIR;
    const entries = this.iomapRange(bar, table - bar, n * PCI_MSIX_ENTRY_SIZE);
    if (!entries) return -EINVAL;
    // msix_capability_init(): masked while programming, then each entry unmasked.
    this.writeConfigWord(cap + PCI_MSIX_FLAGS, ctrl | PCI_MSIX_FLAGS_MASKALL | PCI_MSIX_FLAGS_ENABLE);
    for (let v = 0; v < n; v++) {
      const irq = this.bus.irqs.allocRange(FIRST_MSI_IRQ, 0xffff);
      if (irq < 0) {
        this.freeIrqVectors();
        return -ENOSPC;
      }
      this.vectors.push(irq);
      entries.write32(v * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL, 0);
    }
    this.writeConfigWord(cap + PCI_MSIX_FLAGS, (ctrl | PCI_MSIX_FLAGS_ENABLE) & ~PCI_MSIX_FLAGS_MASKALL);
    return n;
  }

  /** pci_irq_vector(): the Linux irq of vector `nr`, or -EINVAL. */
  irqVector(nr: number): number {
    return this.vectors[nr] ?? -EINVAL;
  }

  /** pci_free_irq_vectors(): MSI-X off, irqs released (handlers must be freed first). */
  freeIrqVectors(): void {
    const cap = this.findCapability(PCI_CAP_ID_MSIX);
    if (cap) this.writeConfigWord(cap + PCI_MSIX_FLAGS, this.readConfigWord(cap + PCI_MSIX_FLAGS) & ~PCI_MSIX_FLAGS_ENABLE);
    for (const irq of this.vectors) {
      this.handlers.delete(irq);
      this.bus.irqs.free(irq);
    }
    this.vectors = [];
  }

  /** request_irq() on one of this device's vectors: 0, -EINVAL (not ours) or -EBUSY. */
  requestIrq(irq: number, handler: IrqHandler): number {
    if (!this.vectors.includes(irq)) return -EINVAL;
    if (this.handlers.has(irq)) return -EBUSY;
    this.handlers.set(irq, handler);
    return 0;
  }

  freeIrq(irq: number): void {
    this.handlers.delete(irq);
  }

  /** An MSI-X message for `vector` reached the interrupt controller. */
  deliverMsix(vector: number): void {
    const irq = this.vectors[vector];
    if (irq !== undefined) this.handlers.get(irq)?.();
  }
}

/** The host's PCI subsystem: one root bus, its functions, drivers and MMIO window. */
export class PciBus {
  readonly devices = new Map<string, PciDev>();
  readonly drivers = new Map<string, PciDriver>();
  readonly irqs = new Ida();
  private mmioNext = PCI_MMIO_WINDOW;

  constructor(
    private readonly iomem: IoMem,
    /** Physical memory, which DMA reaches. */
    private readonly mem: MemorySpace,
  ) {}

  /**
   * A function plugged at `slot` and enumerated: BARs sized and placed, each decoded in the MMIO
   * space; `coherentDma: false` puts it behind an IOMMU without cache coherency (as on hosts
   * where vhost-vdpa's platform path refuses to open). The new pci_dev, or -EINVAL (bad slot),
   * -ENODEV (no function there) / -EBUSY (slot taken).
   */
  plug(slot: string, fn: PciFunction, opts: { coherentDma?: boolean } = {}): PciDev | number {
    if (!/^[0-9a-f]{4}:[0-9a-f]{2}:[0-1][0-9a-f]\.[0-7]$/.test(slot)) return -EINVAL;
    if (this.devices.has(slot)) return -EBUSY;
    const pdev = new PciDev(this, slot, fn, this.mem, opts.coherentDma ?? true);
    if (pdev.vendor === 0xffff || pdev.vendor === 0) return -ENODEV;
    fn.plug({ dma: pdev.iommu.view, msix: (v) => pdev.deliverMsix(v) });
    this.assignBars(pdev);
    this.devices.set(slot, pdev);
    return pdev;
  }

  /** Sizes each BAR (all-ones written, the mask read back) and places it in the window. */
  private assignBars(pdev: PciDev): void {
    const fn = pdev.fn;
    for (let bar = 0; bar < PCI_STD_NUM_BARS; bar++) {
      const reg = PCI_BASE_ADDRESS_0 + 4 * bar;
      const orig = fn.configRead(reg, 4) >>> 0;
      fn.configWrite(reg, 4, 0xffffffff);
      const lo = fn.configRead(reg, 4) >>> 0;
      const is64 = (orig & 0x6) === PCI_BASE_ADDRESS_MEM_TYPE_64;
      let hi = 0xffffffff;
      if (is64) {
        fn.configWrite(reg + 4, 4, 0xffffffff);
        hi = fn.configRead(reg + 4, 4) >>> 0;
      }
      // The size is the two's complement of the address bits that stuck.
      const mask = (BigInt(hi) << 32n) | BigInt((lo & ~0xf) >>> 0);
      const size = lo & ~0xf ? Number(BigInt.asUintN(64, ~mask) + 1n) : 0;
      pdev.resources[bar] = { start: 0, len: 0 };
      if (size > 0) {
        const start = Math.ceil(this.mmioNext / size) * size;
        this.mmioNext = start + size;
        fn.configWrite(reg, 4, (start % 0x1_0000_0000) | (orig & 0xf));
        if (is64) fn.configWrite(reg + 4, 4, Math.floor(start / 0x1_0000_0000));
        pdev.resources[bar] = { start, len: size };
        // Captured now: `bar` steps over the high half of a 64-bit BAR further down.
        const b = bar;
        this.iomem.register({
          base: start,
          size,
          name: `${pdev.slot} BAR ${b}`,
          ops: {
            read: (off, dst) => readInto(fn, b, off, dst),
            write: (off, src) => writeFrom(fn, b, off, src),
          },
        });
      } else {
        fn.configWrite(reg, 4, orig);
        if (is64) fn.configWrite(reg + 4, 4, 0);
      }
      if (is64) {
        pdev.resources[bar + 1] = { start: 0, len: 0 };
        bar++;
      }
    }
  }

  /** The function at `slot` goes away: its driver is unbound first, its BARs stop decoding. */
  unplug(slot: string): void {
    const pdev = this.devices.get(slot);
    if (!pdev) return;
    this.unbind(pdev);
    for (const r of pdev.resources) if (r.len) this.iomem.unregister(r.start);
    this.devices.delete(slot);
  }

  /** pci_register_driver(): unbound devices whose override names it are probed. */
  registerDriver(drv: PciDriver): void {
    this.drivers.set(drv.name, drv);
    for (const pdev of this.devices.values()) if (!pdev.driver && pdev.driverOverride === drv.name) this.probe(pdev);
  }

  unregisterDriver(drv: PciDriver): void {
    for (const pdev of this.devices.values()) if (pdev.driver === drv) this.unbind(pdev);
    this.drivers.delete(drv.name);
  }

  /** The driver_override attribute, then drivers_probe: 0 or the probe's -errno. */
  bindOverride(slot: string, driver: string): number {
    const pdev = this.devices.get(slot);
    if (!pdev) return -ENODEV;
    if (pdev.driver) return -EBUSY;
    pdev.driverOverride = driver;
    return this.probe(pdev);
  }

  private probe(pdev: PciDev): number {
    const drv = pdev.driverOverride === undefined ? undefined : this.drivers.get(pdev.driverOverride);
    if (!drv) return -ENODEV;
    const r = drv.probe(pdev);
    if (r === 0) pdev.driver = drv;
    return r;
  }

  /** device_release_driver(). */
  unbind(pdev: PciDev): void {
    const drv = pdev.driver;
    if (!drv) return;
    drv.remove(pdev);
    pdev.driver = undefined;
    pdev.drvdata = undefined;
  }
}

/** A byte range of a BAR read with the widest aligned accesses that fit. */
function readInto(fn: PciFunction, bar: number, off: number, dst: Uint8Array): void {
  const size = dst.length;
  if (size === 1 || size === 2 || size === 4) {
    let v = fn.barRead(bar, off, size) as number;
    for (let i = 0; i < size; i++, v >>>= 8) dst[i] = v & 0xff;
    return;
  }
  for (let i = 0; i < size; i++) dst[i] = fn.barRead(bar, off + i, 1) as number;
}

function writeFrom(fn: PciFunction, bar: number, off: number, src: Uint8Array): void {
  const size = src.length as PciAccessSize;
  if (size === 1 || size === 2 || size === 4) {
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + (src[i] as number);
    fn.barWrite(bar, off, size, v);
    return;
  }
  for (let i = 0; i < src.length; i++) fn.barWrite(bar, off + i, 1, src[i] as number);
}

