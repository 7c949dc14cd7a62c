// Models: the MMIO side of the physical address space (kernel/resource.c's iomem_resource):
// regions a device decodes, such as a PCI BAR's notification area. A user mapping of one
// (remap_pfn_range / vmf_insert_pfn) turns user stores into device register writes.
// Deviations: accesses are byte ranges handed to the region's callbacks; no caching attributes.

import { EBUSY, EINVAL } from '../../uapi/index.js';

export interface IoRegionOps {
  read(offset: number, dst: Uint8Array): void;
  write(offset: number, src: Uint8Array): void;
}

export interface IoRegion {
  readonly base: number;
  readonly size: number;
  readonly name: string;
  readonly ops: IoRegionOps;
}

export class IoMem {
  private readonly regions: IoRegion[] = [];

  /** request_mem_region() + the device decoding it: 0, -EINVAL or -EBUSY on overlap. */
  register(region: IoRegion): number {
    if (region.size <= 0 || region.base < 0) return -EINVAL;
    const end = region.base + region.size;
    if (this.regions.some((r) => r.base < end && region.base < r.base + r.size)) return -EBUSY;
    this.regions.push(region);
    return 0;
  }

  unregister(base: number): void {
    const i = this.regions.findIndex((r) => r.base === base);
    if (i >= 0) this.regions.splice(i, 1);
  }

  private find(pa: number, len: number): IoRegion | undefined {
    return this.regions.find((r) => pa >= r.base && pa + len <= r.base + r.size);
  }

  /** A load of dst.length bytes at `pa`; false when no region decodes the whole range. */
  read(pa: number, dst: Uint8Array): boolean {
    const r = this.find(pa, dst.length);
    if (!r) return false;
    r.ops.read(pa - r.base, dst);
    return true;
  }

  /** A store at `pa`; false when no region decodes the whole range. */
  write(pa: number, src: Uint8Array): boolean {
    const r = this.find(pa, src.length);
    if (!r) return false;
    r.ops.write(pa - r.base, src);
    return true;
  }
}
