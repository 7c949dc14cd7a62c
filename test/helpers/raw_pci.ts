// A PCI function made of bytes, for driver tests that need a function the emulated virtio-net
// one would never be: malformed capabilities, missing ones, BARs of odd sizes. Config space and
// BARs are plain memory except the BAR registers, which size as hardware does (all-ones written,
// the size mask read back).

import {
  PCI_BASE_ADDRESS_0,
  PCI_BASE_ADDRESS_MEM_TYPE_64,
  PCI_CAPABILITY_LIST,
  PCI_CAP_ID_VNDR,
  PCI_DEVICE_ID,
  PCI_STATUS,
  PCI_STATUS_CAP_LIST,
  PCI_SUBSYSTEM_ID,
  PCI_SUBSYSTEM_VENDOR_ID,
  PCI_VENDOR_ID,
  VIRTIO_PCI_CAP_BAR,
  VIRTIO_PCI_CAP_CFG_TYPE,
  VIRTIO_PCI_CAP_COMMON_CFG,
  VIRTIO_PCI_CAP_DEVICE_CFG,
  VIRTIO_PCI_CAP_ISR_CFG,
  VIRTIO_PCI_CAP_LEN,
  VIRTIO_PCI_CAP_LENGTH,
  VIRTIO_PCI_CAP_NOTIFY_CFG,
  VIRTIO_PCI_CAP_OFFSET,
  VIRTIO_PCI_NOTIFY_CAP_MULT,
} from '../../uapi/index.js';
import type { PciAccessSize, PciFunction, PciPlatform } from '../../drivers/pci/pci_function.js';

export class RawPciFunction implements PciFunction {
  readonly config = new Uint8Array(256);
  private readonly cfg = new DataView(this.config.buffer);
  readonly bars: (Uint8Array | undefined)[] = [];
  platform: PciPlatform | undefined;
  /** Every BAR write, in order: what a driver did to the device. */
  readonly writes: { bar: number; offset: number; size: number; value: number | bigint }[] = [];
  private nextCap = 0x40;

  constructor(ids: { vendor?: number; device: number; subsystemVendor?: number; subsystemDevice?: number }) {
    this.cfg.setUint16(PCI_VENDOR_ID, ids.vendor ?? 0x1af4, true);
    this.cfg.setUint16(PCI_DEVICE_ID, ids.device, true);
    this.cfg.setUint16(PCI_SUBSYSTEM_VENDOR_ID, ids.subsystemVendor ?? 0x1af4, true);
    this.cfg.setUint16(PCI_SUBSYSTEM_ID, ids.subsystemDevice ?? 0, true);
  }

  /** A 64-bit memory BAR of `size` bytes (a power of two). */
  addBar(bar: number, size: number): Uint8Array {
    const mem = new Uint8Array(size);
    this.bars[bar] = mem;
    this.cfg.setUint32(PCI_BASE_ADDRESS_0 + 4 * bar, PCI_BASE_ADDRESS_MEM_TYPE_64, true);
    return mem;
  }

  /** Appends a capability (`body` after the id and next bytes); returns its position. */
  addCap(id: number, body: Uint8Array): number {
    const pos = this.nextCap;
    this.config[pos] = id;
    this.config.set(body, pos + 2);
    // Link it at the end of the list.
    let link = PCI_CAPABILITY_LIST;
    while (this.config[link]) link = (this.config[link] as number) + 1;
    this.config[link] = pos;
    this.cfg.setUint16(PCI_STATUS, this.cfg.getUint16(PCI_STATUS, true) | PCI_STATUS_CAP_LIST, true);
    this.nextCap = (pos + 2 + body.length + 3) & ~3;
    return pos;
  }

  /** A virtio vendor capability (struct virtio_pci_cap, + multiplier for NOTIFY). */
  addVirtioCap(type: number, bar: number, offset: number, length: number, multiplier?: number): number {
    const len = multiplier === undefined ? 16 : 20;
    const body = new Uint8Array(len - 2);
    const v = new DataView(body.buffer);
    body[VIRTIO_PCI_CAP_LEN - 2] = len;
    body[VIRTIO_PCI_CAP_CFG_TYPE - 2] = type;
    body[VIRTIO_PCI_CAP_BAR - 2] = bar;
    v.setUint32(VIRTIO_PCI_CAP_OFFSET - 2, offset, true);
    v.setUint32(VIRTIO_PCI_CAP_LENGTH - 2, length, true);
    if (multiplier !== undefined) v.setUint32(VIRTIO_PCI_NOTIFY_CAP_MULT - 2, multiplier, true);
    return this.addCap(PCI_CAP_ID_VNDR, body);
  }

  plug(platform: PciPlatform): void {
    this.platform = platform;
  }

  configRead(offset: number, size: 1 | 2 | 4): number {
    if (offset + size > this.config.length) return 0;
    return size === 1 ? this.cfg.getUint8(offset) : size === 2 ? this.cfg.getUint16(offset, true) : this.cfg.getUint32(offset, true);
  }

  configWrite(offset: number, size: 1 | 2 | 4, value: number): void {
    const bar = (offset - PCI_BASE_ADDRESS_0) >> 2;
    if (offset >= PCI_BASE_ADDRESS_0 && offset < PCI_BASE_ADDRESS_0 + 24 && size === 4) {
      this.writeBarReg(bar, offset, value >>> 0);
      return;
    }
    if (offset + size > this.config.length) return;
    if (size === 1) this.cfg.setUint8(offset, value);
    else if (size === 2) this.cfg.setUint16(offset, value, true);
    else this.cfg.setUint32(offset, value >>> 0, true);
  }

  /** Address bits below the size do not stick; the low flag bits are read-only. */
  private writeBarReg(bar: number, offset: number, value: number): void {
    const lowHalf = this.bars[bar];
    const highHalfOf = this.bars[bar - 1];
    let mask = 0;
    let flags = 0;
    if (lowHalf) {
      mask = ~(lowHalf.length - 1) & ~0xf;
      flags = PCI_BASE_ADDRESS_MEM_TYPE_64;
    } else if (highHalfOf) {
      // The high dword of a 64-bit BAR below 4 GiB in size: every bit sticks.
      mask = 0xffffffff;
    }
    this.cfg.setUint32(offset, ((value & mask) | flags) >>> 0, true);
  }

  barRead(bar: number, offset: number, size: PciAccessSize): number | bigint {
    const mem = this.bars[bar];
    if (!mem || offset + size > mem.length) return size === 8 ? (1n << 64n) - 1n : size === 4 ? 0xffffffff : (1 << (8 * size)) - 1;
    const v = new DataView(mem.buffer, mem.byteOffset);
    if (size === 8) return v.getBigUint64(offset, true);
    return size === 1 ? v.getUint8(offset) : size === 2 ? v.getUint16(offset, true) : v.getUint32(offset, true);
  }

  barWrite(bar: number, offset: number, size: PciAccessSize, value: number | bigint): void {
    this.writes.push({ bar, offset, size, value });
    const mem = this.bars[bar];
    if (!mem || offset + size > mem.length) return;
    const v = new DataView(mem.buffer, mem.byteOffset);
    if (size === 8) v.setBigUint64(offset, BigInt(value), true);
    else if (size === 1) v.setUint8(offset, Number(value));
    else if (size === 2) v.setUint16(offset, Number(value), true);
    else v.setUint32(offset, Number(value) >>> 0, true);
  }
}

export interface ModernLayout {
  /** PCI device id (default 0x1041, virtio-net modern). */
  device?: number;
  subsystemDevice?: number;
  barSize?: number;
  common?: { bar?: number; offset: number; length: number } | false;
  isr?: { bar?: number; offset: number; length: number } | false;
  notify?: { bar?: number; offset: number; length: number; multiplier: number } | false;
  device_?: { bar?: number; offset: number; length: number } | false;
}

/** A function with QEMU's modern virtio-pci layout in BAR 4 (each piece can be replaced or left out). */
export function rawModernFunction(l: ModernLayout = {}): RawPciFunction {
  const fn = new RawPciFunction({ device: l.device ?? 0x1041, subsystemDevice: l.subsystemDevice ?? 1 });
  fn.addBar(4, l.barSize ?? 0x4000);
  const common = l.common ?? { offset: 0, length: 0x1000 };
  const isr = l.isr ?? { offset: 0x1000, length: 0x1000 };
  const device = l.device_ ?? { offset: 0x2000, length: 0x1000 };
  const notify = l.notify ?? { offset: 0x3000, length: 0x1000, multiplier: 4 };
  if (common) fn.addVirtioCap(VIRTIO_PCI_CAP_COMMON_CFG, common.bar ?? 4, common.offset, common.length);
  if (isr) fn.addVirtioCap(VIRTIO_PCI_CAP_ISR_CFG, isr.bar ?? 4, isr.offset, isr.length);
  if (device) fn.addVirtioCap(VIRTIO_PCI_CAP_DEVICE_CFG, device.bar ?? 4, device.offset, device.length);
  if (notify) fn.addVirtioCap(VIRTIO_PCI_CAP_NOTIFY_CFG, notify.bar ?? 4, notify.offset, notify.length, notify.multiplier);
  return fn;
}
