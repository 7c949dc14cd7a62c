// Models: the IOMMU API as vhost-vdpa uses it for a parent that does no DMA translation of its
// own (include/linux/iommu.h, drivers/iommu/iommu.c): device_iommu_capable(IOMMU_CAP_CACHE_
// COHERENCY), iommu_paging_domain_alloc(), iommu_attach_device() / iommu_detach_device(),
// iommu_map() / iommu_unmap(), the domain geometry (aperture, force_aperture), and the per-device
// translation a PCI function's DMA goes through.
// Deviations: one software IOMMU for the host, shaped like Intel VT-d with 4-level tables (48-bit
// aperture, 4 KiB pages, cache coherent); a domain's page table is an interval tree of IOVA ->
// physical runs; a device without a domain DMAs untranslated (iommu=pt). A DMA to an unmapped
// IOVA fails the access (the device sees EFAULT) instead of logging a DMAR fault.

import { EBUSY, EEXIST, EINVAL } from '../../uapi/index.js';
import { U64_MAX, VHOST_MAP_RO, VHOST_MAP_RW, VHOST_MAP_WO, VhostIotlb } from '../../lib/iotlb/index.js';
import type { MemorySpace } from '../../lib/mm/index.js';
import type { DmaView } from '../pci/pci_function.js';

export const IOMMU_READ = 1 << 0;
export const IOMMU_WRITE = 1 << 1;
export const IOMMU_CACHE = 1 << 2;
export const IOMMU_CAP_CACHE_COHERENCY = 0;
/** The IOMMU page size. */
export const IOMMU_PAGE_SIZE = 4096n;
/** 48-bit input addresses (4-level second-stage tables). */
export const IOMMU_APERTURE_END = (1n << 48n) - 1n;

export interface IommuGeometry {
  apertureStart: bigint;
  apertureEnd: bigint;
  forceAperture: boolean;
}

const permOf = (prot: number): number =>
  (prot & (IOMMU_READ | IOMMU_WRITE)) === (IOMMU_READ | IOMMU_WRITE) ? VHOST_MAP_RW : prot & IOMMU_WRITE ? VHOST_MAP_WO : VHOST_MAP_RO;

/** struct iommu_domain (a paging domain). */
export class IommuDomain {
  readonly geometry: IommuGeometry = { apertureStart: 0n, apertureEnd: IOMMU_APERTURE_END, forceAperture: true };
  /** The page table: IOVA -> physical address. */
  readonly table = new VhostIotlb();
  readonly devices = new Set<IommuDevice>();

  /**
   * iommu_map(): 0, -EINVAL (not page aligned, empty, no permission, outside the aperture) or
   * -EEXIST (part of the range is mapped).
   */
  map(iova: bigint, pa: bigint, size: bigint, prot: number): number {
    const last = iova + size - 1n;
    if (size <= 0n || (iova | pa | size) & (IOMMU_PAGE_SIZE - 1n) || !(prot & (IOMMU_READ | IOMMU_WRITE))) return -EINVAL;
    if (iova < this.geometry.apertureStart || last > this.geometry.apertureEnd) return -EINVAL;
    if (this.table.itreeFirst(iova, last)) return -EEXIST;
    const perm = permOf(prot);
    const r = this.table.addRange(iova, last, pa, perm);
    if (r) return r;
    for (const d of this.devices) d.view.iotlb.addRange(iova, last, pa, perm);
    return 0;
  }

  /** iommu_unmap(): the number of bytes unmapped (whole mappings inside the range). */
  unmap(iova: bigint, size: bigint): bigint {
    const last = iova + size - 1n;
    let done = 0n;
    for (let m = this.table.itreeFirst(iova, last); m; m = this.table.itreeFirst(iova, last)) {
      done += m.size;
      for (const d of this.devices) d.view.iotlb.delRange(m.start, m.last);
      this.table.mapFree(m);
    }
    return done;
  }

  /** iommu_iova_to_phys(): the physical address, or undefined when unmapped. */
  iovaToPhys(iova: bigint): bigint | undefined {
    const m = this.table.itreeFirst(iova, iova);
    return m ? m.addr + (iova - m.start) : undefined;
  }
}

/**
 * A device behind the IOMMU (its struct device's iommu group, reduced to one device): the DMA
 * view its hardware uses, identity until a domain is attached.
 */
export class IommuDevice {
  readonly view: DmaView;
  domain: IommuDomain | undefined;

  constructor(
    readonly name: string,
    mem: MemorySpace,
    /** Whether DMA snoops the CPU caches (IOMMU_CAP_CACHE_COHERENCY). */
    readonly coherent = true,
  ) {
    this.view = { iotlb: new VhostIotlb(), mem };
    this.identity();
  }

  private identity(): void {
    this.view.iotlb.reset();
    this.view.iotlb.addRange(0n, U64_MAX, 0n, VHOST_MAP_RW);
  }

  /** device_iommu_capable(). */
  capable(cap: number): boolean {
    return cap === IOMMU_CAP_CACHE_COHERENCY && this.coherent;
  }

  /** iommu_paging_domain_alloc(). */
  domainAlloc(): IommuDomain {
    return new IommuDomain();
  }

  /** iommu_attach_device(): 0, or -EBUSY when another domain is attached. */
  attach(domain: IommuDomain): number {
    if (this.domain && this.domain !== domain) return -EBUSY;
    this.domain = domain;
    domain.devices.add(this);
    this.view.iotlb.reset();
    for (let m = domain.table.itreeFirst(0n, U64_MAX); m; m = domain.table.itreeNext(m, 0n, U64_MAX)) {
      this.view.iotlb.addRange(m.start, m.last, m.addr, m.perm);
    }
    return 0;
  }

  /** iommu_detach_device(): back to untranslated DMA. */
  detach(domain: IommuDomain): void {
    if (this.domain !== domain) return;
    domain.devices.delete(this);
    this.domain = undefined;
    this.identity();
  }
}
