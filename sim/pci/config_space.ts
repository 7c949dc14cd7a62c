// Models: QEMU hw/pci/pci.c, a conventional type-0 function's configuration space
// (pci_init_wmask, pci_default_read_config/pci_default_write_config with per-byte write masks,
// pci_register_bar's sizing masks, pci_find_space/pci_add_capability, which prepends each new
// capability to the list), and hw/pci/msix.c (msix_init_exclusive_bar's layout, msix_init,
// the table and PBA MMIO ops, msix_write_config, msix_notify with pending bits, the vector use
// counts virtio takes with msix_vector_use/unuse).
// Deviations: no PCI Express capability or extended space (offsets 256..4095 read 0 and ignore
// writes); no I/O BARs, no ROM BAR, no INTx (the platform interface has no pin: with MSI-X off a
// notification only sets the device's ISR); no W1C status bits (no errors are modelled); the
// MSI message (address/data) is stored but delivery is by vector number (PciPlatform.msix).

import {
  PCI_BASE_ADDRESS_0,
  PCI_BASE_ADDRESS_MEM_PREFETCH,
  PCI_BASE_ADDRESS_MEM_TYPE_64,
  PCI_CAPABILITY_LIST,
  PCI_CAP_ID_MSIX,
  PCI_CAP_LIST_NEXT,
  PCI_CLASS_PROG,
  PCI_COMMAND,
  PCI_COMMAND_INTX_DISABLE,
  PCI_COMMAND_IO,
  PCI_COMMAND_MASTER,
  PCI_COMMAND_MEMORY,
  PCI_DEVICE_ID,
  PCI_HEADER_TYPE,
  PCI_INTERRUPT_LINE,
  PCI_INTERRUPT_PIN,
  PCI_MSIX_ENTRY_CTRL_MASKBIT,
  PCI_MSIX_ENTRY_SIZE,
  PCI_MSIX_ENTRY_VECTOR_CTRL,
  PCI_MSIX_FLAGS,
  PCI_MSIX_FLAGS_ENABLE,
  PCI_MSIX_FLAGS_MASKALL,
  PCI_MSIX_PBA,
  PCI_MSIX_TABLE,
  PCI_REVISION_ID,
  PCI_STATUS,
  PCI_STATUS_CAP_LIST,
  PCI_STD_HEADER_SIZEOF,
  PCI_SUBSYSTEM_ID,
  PCI_SUBSYSTEM_VENDOR_ID,
  PCI_VENDOR_ID,
} from '../../uapi/index.js';
import type { MmioRegion } from './bar.js';

/** PCI_CONFIG_SPACE_SIZE: a conventional function's configuration space. */
export const PCI_CONFIG_SPACE_SIZE = 256;
/** PCI_CACHE_LINE_SIZE (pci_regs.h; not in uapi/pci_regs.ts). */
const PCI_CACHE_LINE_SIZE = 0x0c;
/** PCI_NUM_REGIONS without the ROM: BARs 0..5. */
export const PCI_NUM_BARS = 6;
/** The MSI-X capability's length (PCI_CAP_MSIX_SIZEOF). */
export const PCI_CAP_MSIX_SIZEOF = 12;
/** MSIX_CONTROL_OFFSET: the flags' high byte, where enable and mask-all live. */
const MSIX_CONTROL_OFFSET = PCI_MSIX_FLAGS + 1;
const MSIX_ENABLE_MASK = PCI_MSIX_FLAGS_ENABLE >> 8;
const MSIX_MASKALL_MASK = PCI_MSIX_FLAGS_MASKALL >> 8;

export interface PciIds {
  vendorId: number;
  deviceId: number;
  revision: number;
  /** Class code, 24 bits: base class, subclass, programming interface. */
  classCode: number;
  subsystemVendorId: number;
  subsystemId: number;
  /** PCI_INTERRUPT_PIN (1 = INTA#; 0 = none). */
  interruptPin: number;
}

/** A memory BAR as pci_register_bar() declares it. */
export interface PciBar {
  readonly index: number;
  /** A power of two, at least 16. */
  readonly size: number;
  readonly mem64: boolean;
  readonly prefetch: boolean;
}

const isPow2 = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;

/** Configuration space of a conventional type-0 function (QEMU's PCIDevice config/wmask). */
export class PciConfigSpace {
  readonly config = new Uint8Array(PCI_CONFIG_SPACE_SIZE);
  /** Per byte, the bits a configuration write may change. */
  readonly wmask = new Uint8Array(PCI_CONFIG_SPACE_SIZE);
  /** Bytes owned by a capability (pci_find_space skips them). */
  private readonly used = new Uint8Array(PCI_CONFIG_SPACE_SIZE);
  private readonly bars: (PciBar | undefined)[] = new Array<PciBar | undefined>(PCI_NUM_BARS);
  private readonly view = new DataView(this.config.buffer, this.config.byteOffset, this.config.byteLength);

  constructor(ids: PciIds) {
    const v = this.view;
    v.setUint16(PCI_VENDOR_ID, ids.vendorId, true);
    v.setUint16(PCI_DEVICE_ID, ids.deviceId, true);
    this.config[PCI_REVISION_ID] = ids.revision;
    this.config[PCI_CLASS_PROG] = ids.classCode & 0xff;
    v.setUint16(PCI_CLASS_PROG + 1, (ids.classCode >>> 8) & 0xffff, true);
    this.config[PCI_HEADER_TYPE] = 0;
    v.setUint16(PCI_SUBSYSTEM_VENDOR_ID, ids.subsystemVendorId, true);
    v.setUint16(PCI_SUBSYSTEM_ID, ids.subsystemId, true);
    this.config[PCI_INTERRUPT_PIN] = ids.interruptPin;
    // pci_init_wmask(): the standard header's writable bits, and everything after the header
    // (device-specific space) writable until a capability claims it.
    this.wmask[PCI_CACHE_LINE_SIZE] = 0xff;
    this.wmask[PCI_INTERRUPT_LINE] = 0xff;
    this.setWmask16(PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
    this.wmask.fill(0xff, PCI_STD_HEADER_SIZEOF);
    this.used.fill(1, 0, PCI_STD_HEADER_SIZEOF);
  }

  private setWmask16(off: number, mask: number): void {
    this.wmask[off] = mask & 0xff;
    this.wmask[off + 1] = (mask >>> 8) & 0xff;
  }

  /**
   * pci_register_bar() of a memory BAR: its type bits are read-only, its address bits below the
   * size read as zero (what sizing reveals), the high dword of a 64-bit BAR is all writable.
   */
  registerBar(index: number, size: number, opts: { mem64?: boolean; prefetch?: boolean } = {}): PciBar {
    const mem64 = opts.mem64 ?? false;
    if (!Number.isInteger(index) || index < 0 || index >= PCI_NUM_BARS - (mem64 ? 1 : 0)) {
      throw new RangeError(`registerBar: BAR ${index} is not a${mem64 ? ' 64-bit' : ''} BAR slot`);
    }
    if (!isPow2(size) || size < 16 || size > 2 ** 31) throw new RangeError(`registerBar: size ${size} is not a power of two in 16..2^31`);
    if (this.bars[index] || (mem64 && this.bars[index + 1]) || (index > 0 && this.bars[index - 1]?.mem64)) {
      throw new RangeError(`registerBar: BAR ${index} is taken`);
    }
    const bar: PciBar = { index, size, mem64, prefetch: opts.prefetch ?? false };
    const reg = PCI_BASE_ADDRESS_0 + 4 * index;
    const type = (mem64 ? PCI_BASE_ADDRESS_MEM_TYPE_64 : 0) | (bar.prefetch ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0);
    this.view.setUint32(reg, type, true);
    // The address bits at and above the size; the type bits below stay read-only.
    const wmask = ~(size - 1) >>> 0;
    for (let k = 0; k < 4; k++) this.wmask[reg + k] = (wmask >>> (8 * k)) & 0xff;
    if (mem64) {
      this.view.setUint32(reg + 4, 0, true);
      this.wmask.fill(0xff, reg + 4, reg + 8);
    }
    this.bars[index] = bar;
    return bar;
  }

  /** The BAR declared at `index` (the low slot of a 64-bit BAR), if any. */
  bar(index: number): PciBar | undefined {
    return this.bars[index];
  }

  /** The address firmware assigned to BAR `index` (undefined if there is no such BAR). */
  barAddress(index: number): bigint | undefined {
    const bar = this.bars[index];
    if (!bar) return undefined;
    const reg = PCI_BASE_ADDRESS_0 + 4 * index;
    const lo = BigInt((this.view.getUint32(reg, true) & ~0xf) >>> 0);
    return bar.mem64 ? lo | (BigInt(this.view.getUint32(reg + 4, true)) << 32n) : lo;
  }

  /**
   * pci_add_capability() at the first free space (pci_find_space): the capability becomes the
   * head of the list, its bytes read-only. Throws if no space is left (a construction error).
   */
  addCapability(id: number, size: number): number {
    let offset = PCI_STD_HEADER_SIZEOF;
    let found = -1;
    for (let i = PCI_STD_HEADER_SIZEOF; i < PCI_CONFIG_SPACE_SIZE; i++) {
      if (this.used[i]) offset = i + 1;
      else if (i - offset + 1 === size) {
        found = offset;
        break;
      }
    }
    if (found < 0) throw new RangeError(`addCapability: no room for ${size} bytes`);
    this.config[found] = id;
    this.config[found + PCI_CAP_LIST_NEXT] = this.config[PCI_CAPABILITY_LIST] as number;
    this.config[PCI_CAPABILITY_LIST] = found;
    this.config[PCI_STATUS] = (this.config[PCI_STATUS] as number) | PCI_STATUS_CAP_LIST;
    this.used.fill(1, found, found + size);
    this.wmask.fill(0, found, found + size);
    return found;
  }

  /** pci_default_read_config(): little-endian, byte-wise; beyond the space, 0. */
  read(offset: number, size: number): number {
    let v = 0;
    for (let k = size - 1; k >= 0; k--) v = v * 256 + (this.config[offset + k] ?? 0);
    return v;
  }

  /** pci_default_write_config(): each byte through its write mask. */
  write(offset: number, size: number, value: number): void {
    for (let k = 0; k < size; k++) {
      const at = offset + k;
      if (at >= PCI_CONFIG_SPACE_SIZE) break;
      const m = this.wmask[at] as number;
      const b = Math.floor(value / 256 ** k) & 0xff;
      this.config[at] = ((this.config[at] as number) & ~m) | (b & m);
    }
  }

  get command(): number {
    return this.view.getUint16(PCI_COMMAND, true);
  }

  /** Little-endian field accessors for capability builders. */
  set8(off: number, v: number): void {
    this.config[off] = v & 0xff;
  }
  set16(off: number, v: number): void {
    this.view.setUint16(off, v & 0xffff, true);
  }
  set32(off: number, v: number): void {
    this.view.setUint32(off, v >>> 0, true);
  }
  get16(off: number): number {
    return this.view.getUint16(off, true);
  }
  get32(off: number): number {
    return this.view.getUint32(off, true);
  }
}

/** ranges_overlap(). */
export const rangesOverlap = (a: number, alen: number, b: number, blen: number): boolean => a < b + blen && b < a + alen;

/** Where msix_init_exclusive_bar() puts the table and the PBA, and the BAR's size. */
export function msixExclusiveBarLayout(nentries: number): { barSize: number; tableOffset: number; pbaOffset: number } {
  let barSize = 4096;
  // The table in the lower half and the PBA in the upper half of a 4 KiB BAR up to 128 vectors.
  let pbaOffset = barSize / 2;
  const pbaSize = Math.ceil(nentries / 64) * 8;
  if (nentries * PCI_MSIX_ENTRY_SIZE > pbaOffset) pbaOffset = nentries * PCI_MSIX_ENTRY_SIZE;
  if (pbaOffset + pbaSize > 4096) barSize = pbaOffset + pbaSize;
  let size = 1;
  while (size < barSize) size *= 2;
  return { barSize: size, tableOffset: 0, pbaOffset };
}

/**
 * MSI-X: the capability in configuration space, the vector table and the pending-bit array in a
 * BAR. A vector fires only while "used" (a driver-visible source is bound to it); a masked vector
 * (its mask bit, mask-all, or MSI-X disabled) sets its pending bit instead, and unmasking
 * delivers a pending vector.
 */
export class Msix {
  readonly cap: number;
  readonly table: Uint8Array;
  readonly pba: Uint8Array;
  private readonly tableView: DataView;
  private readonly entryUsed: Uint32Array;
  /** msix_function_masked: disabled or mask-all. */
  private functionMasked = true;
  /** Where an unmasked vector goes (the platform's MSI delivery); nothing until plugged. */
  deliver: ((vector: number) => void) | undefined;

  constructor(
    private readonly cfg: PciConfigSpace,
    readonly nentries: number,
    readonly bar: number,
    readonly tableOffset: number,
    readonly pbaOffset: number,
  ) {
    if (!Number.isInteger(nentries) || nentries < 1 || nentries > 2048) throw new RangeError(`Msix: ${nentries} vectors is not in 1..2048`);
    this.cap = cfg.addCapability(PCI_CAP_ID_MSIX, PCI_CAP_MSIX_SIZEOF);
    cfg.set16(this.cap + PCI_MSIX_FLAGS, nentries - 1);
    cfg.set32(this.cap + PCI_MSIX_TABLE, tableOffset | bar);
    cfg.set32(this.cap + PCI_MSIX_PBA, pbaOffset | bar);
    // Only enable and mask-all are writable.
    cfg.wmask[this.cap + MSIX_CONTROL_OFFSET] = MSIX_ENABLE_MASK | MSIX_MASKALL_MASK;
    this.table = new Uint8Array(nentries * PCI_MSIX_ENTRY_SIZE);
    this.tableView = new DataView(this.table.buffer, this.table.byteOffset, this.table.byteLength);
    this.pba = new Uint8Array(Math.ceil(nentries / 64) * 8);
    this.entryUsed = new Uint32Array(nentries);
    // msix_mask_all(): every vector starts masked.
    for (let v = 0; v < nentries; v++) this.table[v * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL] = PCI_MSIX_ENTRY_CTRL_MASKBIT;
  }

  /** msix_enabled(). */
  get enabled(): boolean {
    return ((this.cfg.config[this.cap + MSIX_CONTROL_OFFSET] as number) & MSIX_ENABLE_MASK) !== 0;
  }

  private computeFunctionMasked(): boolean {
    return !this.enabled || ((this.cfg.config[this.cap + MSIX_CONTROL_OFFSET] as number) & MSIX_MASKALL_MASK) !== 0;
  }

  /** msix_vector_masked(): the function mask (as given) or the entry's own mask bit. */
  private vectorMasked(vector: number, fmask: boolean): boolean {
    return fmask || ((this.table[vector * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL] as number) & PCI_MSIX_ENTRY_CTRL_MASKBIT) !== 0;
  }

  /** msix_is_masked(). */
  isMasked(vector: number): boolean {
    return this.vectorMasked(vector, this.functionMasked);
  }

  isPending(vector: number): boolean {
    return ((this.pba[vector >>> 3] as number) & (1 << (vector & 7))) !== 0;
  }

  private setPending(vector: number): void {
    this.pba[vector >>> 3] = (this.pba[vector >>> 3] as number) | (1 << (vector & 7));
  }

  private clrPending(vector: number): void {
    this.pba[vector >>> 3] = (this.pba[vector >>> 3] as number) & ~(1 << (vector & 7));
  }

  /** msix_handle_mask_update(): an unmasked vector with its pending bit set fires now. */
  private maskUpdate(vector: number, wasMasked: boolean): void {
    const masked = this.isMasked(vector);
    if (masked === wasMasked) return;
    if (!masked && this.isPending(vector)) {
      this.clrPending(vector);
      this.notify(vector);
    }
  }

  /** msix_notify(): delivers, or sets the pending bit while masked; unused vectors do nothing. */
  notify(vector: number): void {
    if (vector >= this.nentries || !this.entryUsed[vector]) return;
    if (this.isMasked(vector)) {
      this.setPending(vector);
      return;
    }
    this.deliver?.(vector);
  }

  /** msix_vector_use(). */
  vectorUse(vector: number): void {
    if (vector < this.nentries) this.entryUsed[vector] = (this.entryUsed[vector] as number) + 1;
  }

  /** msix_vector_unuse(): the last user gone, a pending bit is dropped. */
  vectorUnuse(vector: number): void {
    if (vector >= this.nentries || !this.entryUsed[vector]) return;
    this.entryUsed[vector] = (this.entryUsed[vector] as number) - 1;
    if (!this.entryUsed[vector]) this.clrPending(vector);
  }

  /** msix_unuse_all_vectors(). */
  unuseAll(): void {
    this.entryUsed.fill(0);
    this.pba.fill(0);
  }

  /** msix_write_config(): called after every configuration write. */
  configWritten(addr: number, len: number): void {
    const enablePos = this.cap + MSIX_CONTROL_OFFSET;
    if (!rangesOverlap(addr, len, enablePos, 1)) return;
    const wasMasked = this.functionMasked;
    this.functionMasked = this.computeFunctionMasked();
    if (!this.enabled || this.functionMasked === wasMasked) return;
    for (let v = 0; v < this.nentries; v++) this.maskUpdate(v, this.vectorMasked(v, wasMasked));
  }

  /** The table's MMIO region (msix_table_mmio_ops: 4 or 8-byte accesses). */
  tableRegion(): MmioRegion {
    return {
      name: 'msix-table',
      offset: this.tableOffset,
      size: this.table.length,
      validMin: 4,
      validMax: 8,
      read: (addr) => this.tableView.getUint32(addr, true),
      write: (addr, _size, value) => {
        const vector = Math.floor(addr / PCI_MSIX_ENTRY_SIZE);
        const wasMasked = this.isMasked(vector);
        this.tableView.setUint32(addr, value, true);
        this.maskUpdate(vector, wasMasked);
      },
    };
  }

  /** The PBA's MMIO region: read-only (msix_pba_mmio_write does nothing). */
  pbaRegion(): MmioRegion {
    const view = new DataView(this.pba.buffer, this.pba.byteOffset, this.pba.byteLength);
    return {
      name: 'msix-pba',
      offset: this.pbaOffset,
      size: this.pba.length,
      validMin: 4,
      validMax: 8,
      read: (addr) => view.getUint32(addr, true),
      write: () => {},
    };
  }
}
