// The contract between a PCI function (hardware: sim/pci emulates one) and the platform it is
// plugged into: what a host bridge decodes (configuration space and memory BARs, accessed 1, 2,
// 4 or 8 bytes at a time, little-endian) and what the platform offers the function (DMA through
// its IOMMU translation, MSI-X delivery). Drivers never see a PciFunction: they reach it through
// struct pci_dev (pci.ts). Not a kernel file (it is the bus, drawn as an interface).

import type { VhostIotlb } from '../../lib/iotlb/index.js';
import type { MemorySpace } from '../../lib/mm/index.js';

/** Access widths a PCI function decodes. */
export type PciAccessSize = 1 | 2 | 4 | 8;

/**
 * A function's view of memory for DMA: device addresses (IOVAs) translate through `iotlb` (the
 * IOMMU domain attached to the function, or an identity map without one) into `mem`, the
 * host's physical memory. Both objects stay the same for the life of the function; their
 * contents (and generations) change when a domain is attached, detached or remapped.
 */
export interface DmaView {
  readonly iotlb: VhostIotlb;
  readonly mem: MemorySpace;
}

/** What the platform offers a plugged function. */
export interface PciPlatform {
  readonly dma: DmaView;
  /**
   * A message-signalled interrupt for MSI-X table entry `vector`: the platform delivers it to
   * whatever the driver bound to that vector. The function decides whether to send it (enable
   * and mask bits are the function's own registers).
   */
  msix(vector: number): void;
}

/** A PCI function as the host bridge sees it. */
export interface PciFunction {
  /** Plugged into a slot: the platform it will DMA into and interrupt. */
  plug(platform: PciPlatform): void;
  /** A configuration-space read (offset + size <= 4096); unimplemented registers read 0. */
  configRead(offset: number, size: 1 | 2 | 4): number;
  configWrite(offset: number, size: 1 | 2 | 4, value: number): void;
  /**
   * A memory BAR read. Values of 8-byte accesses are bigint, others number. Offsets outside
   * the BAR read all-ones (no decode), as on a real bus.
   */
  barRead(bar: number, offset: number, size: PciAccessSize): number | bigint;
  barWrite(bar: number, offset: number, size: PciAccessSize, value: number | bigint): void;
}
