// Models: QEMU hw/virtio/vhost-iova-tree.c (VhostIOVATree, three trees since 2025-02): the
// allocator of IOVA ranges (iova_map), IOVA -> host address for buffers QEMU owns (SVQ rings,
// CVQ bounce buffers: iova_taddr_map), and GPA -> IOVA for guest memory when data queues are
// shadowed (gpa_iova_map). IOVA 0 is never handed out ("some devices do not like 0").

import { IOVA_OK, IovaTree, type DMAMap } from './iova_tree.js';

/** qemu_real_host_page_size() on the modelled host. */
export const HOST_PAGE_SIZE = 4096n;

export class VhostIovaTree {
  readonly iovaFirst: bigint;
  readonly iovaLast: bigint;
  readonly iovaMap = new IovaTree();
  readonly iovaTaddrMap = new IovaTree();
  readonly gpaIovaMap = new IovaTree();

  /** vhost_iova_tree_new(first, last), with the first page kept out. */
  constructor(iovaFirst: bigint, iovaLast: bigint) {
    this.iovaFirst = iovaFirst > HOST_PAGE_SIZE ? iovaFirst : HOST_PAGE_SIZE;
    this.iovaLast = iovaLast;
  }

  /** vhost_iova_tree_find_iova(): the host-only map containing needle.translated_addr. */
  findIova(needle: Pick<DMAMap, 'translated_addr' | 'size'>): DMAMap | undefined {
    return this.iovaTaddrMap.findIova(needle);
  }

  /** Allocates in iova_map, then records the map in `tree` at `translated`; undoes on failure. */
  private allocInto(tree: IovaTree, map: DMAMap, translated: bigint): number {
    const r = this.iovaMap.allocMap(map, this.iovaFirst, this.iovaLast);
    if (r !== IOVA_OK) return r;
    const r2 = tree.insert({ ...map, translated_addr: translated });
    if (r2 !== IOVA_OK) this.iovaMap.remove(map);
    map.translated_addr = translated;
    return r2;
  }

  /** vhost_iova_tree_map_alloc(): an IOVA range for a host-only buffer at `taddr`. */
  mapAlloc(map: DMAMap, taddr: bigint): number {
    return this.allocInto(this.iovaTaddrMap, map, taddr);
  }

  /** vhost_iova_tree_remove(): drops a host-only map from both of its trees. */
  remove(map: Pick<DMAMap, 'iova' | 'size'>): void {
    this.iovaTaddrMap.remove(map);
    this.iovaMap.remove(map);
  }

  /** vhost_iova_tree_find_gpa(): the guest-backed map containing needle.translated_addr (a GPA). */
  findGpa(needle: Pick<DMAMap, 'translated_addr' | 'size'>): DMAMap | undefined {
    return this.gpaIovaMap.findIova(needle);
  }

  /** vhost_iova_tree_map_alloc_gpa(): an IOVA range for guest memory at GPA `gpa`. */
  mapAllocGpa(map: DMAMap, gpa: bigint): number {
    return this.allocInto(this.gpaIovaMap, map, gpa);
  }

  /** vhost_iova_tree_remove_gpa(). */
  removeGpa(map: Pick<DMAMap, 'iova' | 'size'>): void {
    this.gpaIovaMap.remove(map);
    this.iovaMap.remove(map);
  }

  /**
   * Translates guest segment [gpa, gpa + len) to an IOVA: the GPA map containing gpa gives
   * iova = map.iova + (gpa - map.gpa). undefined when no map holds it or the segment runs past
   * the map ("Guest buffer expands over iova range").
   */
  translateGpa(gpa: bigint, len: bigint): bigint | undefined {
    const m = this.gpaIovaMap.findIova({ translated_addr: gpa, size: 0n });
    if (!m || gpa + len - 1n > m.translated_addr + m.size) return undefined;
    return m.iova + (gpa - m.translated_addr);
  }
}
