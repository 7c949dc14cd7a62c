// Models: the part of QEMU's memory API (system/memory.c) a vhost-vdpa backend sees: guest RAM
// as sections of the guest-physical address space backed by one shared mapping of the VMM
// ("pc.ram" on memory-backend-memfd,share=on), and memory listeners: register replays
// region_add for every current section inside begin/commit, unregister replays region_del.
// Deviations: flat RAM only (no IOMMU regions, no MMIO, no hot-plug); the x86 layout is reduced
// to low RAM [0, 640 KiB) and high RAM [1 MiB, size), the hole in between being the legacy
// VGA/BIOS window, which is not RAM.

import { ENOMEM } from '../../uapi/index.js';
import type { UserMemory, UserSpace } from '../../lib/vhost_vdpa/index.js';

/** A MemoryRegionSection of RAM. */
export interface RamSection {
  readonly name: string;
  /** offset_within_address_space: the GPA. */
  readonly gpa: number;
  readonly size: number;
  /** The host virtual address backing the first byte. */
  readonly hva: number;
  readonly readonly: boolean;
}

export interface MemoryListener {
  readonly name: string;
  begin?(): void;
  regionAdd(section: RamSection): void;
  regionDel(section: RamSection): void;
  commit?(): void;
}

export const LOW_RAM_END = 0xa0000;
export const HIGH_RAM_START = 0x100000;

export class GuestRam {
  readonly sections: readonly RamSection[];
  private readonly listeners = new Set<MemoryListener>();

  private constructor(
    readonly mem: UserMemory,
    readonly size: number,
  ) {
    this.sections = [
      { name: 'pc.ram', gpa: 0, size: LOW_RAM_END, hva: mem.addr, readonly: false },
      { name: 'pc.ram', gpa: HIGH_RAM_START, size: size - HIGH_RAM_START, hva: mem.addr + HIGH_RAM_START, readonly: false },
    ];
  }

  /** Allocates `size` bytes of shared memory in the VMM for the guest; -errno on failure. */
  static create(us: UserSpace, size: number): GuestRam | number {
    if (!Number.isInteger(size) || size <= HIGH_RAM_START || size % 4096) return -ENOMEM;
    const mem = us.mmap(size, { shared: true });
    if (typeof mem === 'number') return mem;
    return new GuestRam(mem, size);
  }

  /** Guest memory indexed by GPA. */
  get bytes(): Uint8Array {
    return this.mem.bytes;
  }

  /** The HVA of a GPA inside RAM, or undefined. */
  hva(gpa: number): number | undefined {
    for (const s of this.sections) if (gpa >= s.gpa && gpa < s.gpa + s.size) return s.hva + (gpa - s.gpa);
    return undefined;
  }

  /** memory_listener_register(): replays every section to the new listener. */
  register(l: MemoryListener): void {
    if (this.listeners.has(l)) return;
    this.listeners.add(l);
    this.replay(l, true);
  }

  /** memory_listener_unregister(): replays region_del for every section. */
  unregister(l: MemoryListener): void {
    if (!this.listeners.delete(l)) return;
    this.replay(l, false);
  }

  isRegistered(l: MemoryListener): boolean {
    return this.listeners.has(l);
  }

  private replay(l: MemoryListener, add: boolean): void {
    l.begin?.();
    for (const s of this.sections) {
      if (add) l.regionAdd(s);
      else l.regionDel(s);
    }
    l.commit?.();
  }
}
