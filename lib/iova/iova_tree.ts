// Models: QEMU util/iova-tree.c (IOVATree of DMAMap, sorted by iova) as vhost-vdpa uses it.
// DMAMap.size is INCLUSIVE, as in QEMU: a map covers [iova, iova + size].
// Deviations: a sorted array (QEMU uses a GTree); lookups by translated address are the same
// linear overlap search QEMU does.

import { U64_MAX } from '../iotlb/index.js';

export const IOVA_OK = 0;
/** Invalid parameters (wrap, or IOMMU_NONE). */
export const IOVA_ERR_INVALID = -1;
/** The range overlaps an existing map. */
export const IOVA_ERR_OVERLAP = -2;
/** No hole is large enough. */
export const IOVA_ERR_NOMEM = -3;

export const IOMMU_NONE = 0;
export const IOMMU_RO = 1;
export const IOMMU_WO = 2;
export const IOMMU_RW = 3;

export interface DMAMap {
  iova: bigint;
  translated_addr: bigint;
  /** Inclusive: the map covers [iova, iova + size]. */
  size: bigint;
  perm: number;
}

const overlaps = (a0: bigint, aSize: bigint, b0: bigint, bSize: bigint): boolean => !(a0 + aSize < b0 || b0 + bSize < a0);

export class IovaTree {
  private maps: DMAMap[] = [];

  get length(): number {
    return this.maps.length;
  }

  /** All maps in IOVA order (copies). */
  all(): DMAMap[] {
    return this.maps.map((m) => ({ ...m }));
  }

  /** iova_tree_find(): a map overlapping [map.iova, map.iova + map.size]. */
  find(needle: Pick<DMAMap, 'iova' | 'size'>): DMAMap | undefined {
    return this.maps.find((m) => overlaps(m.iova, m.size, needle.iova, needle.size));
  }

  /** iova_tree_find_address(): the map containing `iova`. */
  findAddress(iova: bigint): DMAMap | undefined {
    return this.find({ iova, size: 0n });
  }

  /** iova_tree_find_iova(): the first map (IOVA order) whose translated range overlaps the needle's. */
  findIova(needle: Pick<DMAMap, 'translated_addr' | 'size'>): DMAMap | undefined {
    return this.maps.find((m) => overlaps(m.translated_addr, m.size, needle.translated_addr, needle.size));
  }

  /** iova_tree_insert(). */
  insert(map: DMAMap): number {
    if (map.iova + map.size > U64_MAX || map.perm === IOMMU_NONE) return IOVA_ERR_INVALID;
    if (this.find(map)) return IOVA_ERR_OVERLAP;
    let i = 0;
    while (i < this.maps.length && (this.maps[i] as DMAMap).iova < map.iova) i++;
    this.maps.splice(i, 0, { ...map });
    return IOVA_OK;
  }

  /** iova_tree_remove(): removes every map overlapping the range. */
  remove(map: Pick<DMAMap, 'iova' | 'size'>): void {
    this.maps = this.maps.filter((m) => !overlaps(m.iova, m.size, map.iova, map.size));
  }

  /**
   * iova_tree_alloc_map(): first fit, ascending, in [iovaBegin, iovaLast]. Sets map.iova and
   * inserts it. The hole before a map runs from max(previous end + 1, iovaBegin) to that map's
   * iova; after the last map it runs to 2^64-1, and the result is refused past iovaLast.
   */
  allocMap(map: DMAMap, iovaBegin: bigint, iovaLast: bigint): number {
    if (iovaLast < iovaBegin) return IOVA_ERR_INVALID;
    let prevEnd = -1n;
    let result: bigint | undefined;
    for (let i = 0; i <= this.maps.length && result === undefined; i++) {
      const m = this.maps[i];
      if (m && m.iova + m.size < iovaBegin) {
        prevEnd = m.iova + m.size;
        continue;
      }
      const holeStart = prevEnd + 1n > iovaBegin ? prevEnd + 1n : iovaBegin;
      const holeLast = m ? m.iova : U64_MAX;
      // QEMU: hole_last - hole_start > new_size, in u64 (a map straddling iovaBegin wraps this
      // and yields an overlapping result, which insert() then refuses with OVERLAP).
      if (BigInt.asUintN(64, holeLast - holeStart) > map.size) result = holeStart;
      if (m) prevEnd = m.iova + m.size;
    }
    if (result === undefined || result + map.size > iovaLast) return IOVA_ERR_NOMEM;
    map.iova = result;
    return this.insert(map);
  }
}
