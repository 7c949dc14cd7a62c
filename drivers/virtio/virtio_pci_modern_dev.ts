// Models: drivers/virtio/virtio_pci_modern_dev.c: vp_modern_probe() (device id range and virtio
// id, the vendor capabilities COMMON/ISR/NOTIFY/DEVICE found by virtio_pci_find_capability(),
// each mapped by vp_modern_map_capability() with its length, alignment and range checks, the
// notify area mapped whole when it fits one page, else per vq), vp_modern_remove() and the
// register helpers a vDPA parent uses (features through the select windows, status, generation,
// queue size/vector/address/enable, notify_off and the doorbell mapping).
// Deviations: the 64-bit DMA mask always succeeds; dev_err() messages go to the kernel log.

import { EINVAL, ENODEV } from '../../uapi/index.js';
import {
  PCI_CAP_ID_VNDR,
  VIRTIO_PCI_CAP_BAR,
  VIRTIO_PCI_CAP_CFG_TYPE,
  VIRTIO_PCI_CAP_COMMON_CFG,
  VIRTIO_PCI_CAP_DEVICE_CFG,
  VIRTIO_PCI_CAP_ISR_CFG,
  VIRTIO_PCI_CAP_LENGTH,
  VIRTIO_PCI_CAP_NOTIFY_CFG,
  VIRTIO_PCI_CAP_OFFSET,
  VIRTIO_PCI_COMMON_CFGGENERATION,
  VIRTIO_PCI_COMMON_DF,
  VIRTIO_PCI_COMMON_DFSELECT,
  VIRTIO_PCI_COMMON_GF,
  VIRTIO_PCI_COMMON_GFSELECT,
  VIRTIO_PCI_COMMON_MSIX,
  VIRTIO_PCI_COMMON_NUMQ,
  VIRTIO_PCI_COMMON_Q_AVAILHI,
  VIRTIO_PCI_COMMON_Q_AVAILLO,
  VIRTIO_PCI_COMMON_Q_DESCHI,
  VIRTIO_PCI_COMMON_Q_DESCLO,
  VIRTIO_PCI_COMMON_Q_ENABLE,
  VIRTIO_PCI_COMMON_Q_MSIX,
  VIRTIO_PCI_COMMON_Q_NOFF,
  VIRTIO_PCI_COMMON_Q_SELECT,
  VIRTIO_PCI_COMMON_Q_SIZE,
  VIRTIO_PCI_COMMON_Q_USEDHI,
  VIRTIO_PCI_COMMON_Q_USEDLO,
  VIRTIO_PCI_COMMON_STATUS,
  VIRTIO_PCI_NOTIFY_CAP_MULT,
  virtioPciCommonCfg,
  virtioPciModernCommonCfg,
} from '../../uapi/index.js';
import type { KernelLog } from '../../lib/printk.js';
import { type Mmio, PCI_STD_NUM_BARS, type PciDev } from '../pci/pci.js';

const PAGE_SIZE = 4096;

/** The virtio device id and vendor (struct virtio_device_id). */
export interface VirtioDeviceId {
  device: number;
  vendor: number;
}

/** A mapped doorbell: the register and its physical address. */
export interface VqNotify {
  mmio: Mmio;
  pa: number;
}

/** struct virtio_pci_modern_device. */
export class VirtioPciModernDevice {
  readonly id: VirtioDeviceId = { device: 0, vendor: 0 };
  modernBars = 0;
  common: Mmio | undefined;
  commonLen = 0;
  isr: Mmio | undefined;
  notifyBase: Mmio | undefined;
  notifyLen = 0;
  notifyPa = 0;
  notifyMapCap = 0;
  /** Config-space position of the notify capability (what vendor extensions locate blocks by). */
  notifyCapPos = 0;
  notifyOffsetMultiplier = 0;
  device: Mmio | undefined;
  deviceLen = 0;

  constructor(
    readonly pciDev: PciDev,
    private readonly klog: KernelLog,
  ) {}

  private err(msg: string): void {
    this.klog.printk(`virtio-pci ${this.pciDev.slot}: ${msg}`);
  }

  /** virtio_pci_find_capability(): the capability of `cfgType` on an implemented BAR, or 0. */
  private findCapability(cfgType: number): number {
    const pdev = this.pciDev;
    for (let pos = pdev.findCapability(PCI_CAP_ID_VNDR); pos > 0; pos = pdev.findNextCapability(pos + 1, PCI_CAP_ID_VNDR)) {
      const type = pdev.readConfigByte(pos + VIRTIO_PCI_CAP_CFG_TYPE);
      const bar = pdev.readConfigByte(pos + VIRTIO_PCI_CAP_BAR);
      // Structures with reserved BAR values are ignored.
      if (bar >= PCI_STD_NUM_BARS) continue;
      if (type === cfgType && pdev.resourceLen(bar)) {
        this.modernBars |= 1 << bar;
        return pos;
      }
    }
    return 0;
  }

  /** vp_modern_map_capability(): the mapping and its length/physical address, or undefined. */
  private mapCapability(off: number, minlen: number, align: number, start: number, size: number): { mmio: Mmio; len: number; pa: number } | undefined {
    const pdev = this.pciDev;
    const bar = pdev.readConfigByte(off + VIRTIO_PCI_CAP_BAR);
    let offset = pdev.readConfigDword(off + VIRTIO_PCI_CAP_OFFSET);
    let length = pdev.readConfigDword(off + VIRTIO_PCI_CAP_LENGTH);
    if (bar >= PCI_STD_NUM_BARS || !(this.modernBars & (1 << bar))) return this.mapFailed(`bar unexpectedly changed to ${bar}`);
    if (length <= start) return this.mapFailed(`bad capability len ${length} (>${start} expected)`);
    if (length - start < minlen) return this.mapFailed(`bad capability len ${length} (>=${minlen} expected)`);
    length -= start;
    if (start + offset > 0xffffffff) return this.mapFailed(`map wrap-around ${start}+${offset}`);
    offset += start;
    if (offset & (align - 1)) return this.mapFailed(`offset ${offset} not aligned to ${align}`);
    if (length > size) length = size;
    if (minlen + offset > pdev.resourceLen(bar)) {
      return this.mapFailed(`map virtio ${minlen}@${offset} out of range on bar ${bar} length ${pdev.resourceLen(bar)}`);
    }
    const mmio = pdev.iomapRange(bar, offset, length);
    if (!mmio) return this.mapFailed(`unable to map virtio ${length}@${offset} on bar ${bar}`);
    return { mmio, len: Math.min(length, mmio.len), pa: pdev.resourceStart(bar) + offset };
  }

  private mapFailed(msg: string): undefined {
    this.err(msg);
    return undefined;
  }

  /** vp_modern_probe(): 0, -ENODEV (not a modern virtio function) or -EINVAL (broken capabilities). */
  probe(): number {
    const pdev = this.pciDev;
    // Devices 0x1000..0x107f only; transitional ones carry the virtio id in the subsystem id.
    if (pdev.device < 0x1000 || pdev.device > 0x107f) return -ENODEV;
    this.id.device = pdev.device < 0x1040 ? pdev.subsystemDevice : pdev.device - 0x1040;
    this.id.vendor = pdev.subsystemVendor;
    const common = this.findCapability(VIRTIO_PCI_CAP_COMMON_CFG);
    if (!common) {
      this.klog.printk(`virtio-pci ${pdev.slot}: virtio_pci: leaving for legacy driver`);
      return -ENODEV;
    }
    const isr = this.findCapability(VIRTIO_PCI_CAP_ISR_CFG);
    const notify = this.findCapability(VIRTIO_PCI_CAP_NOTIFY_CFG);
    if (!isr || !notify) {
      this.err(`virtio_pci: missing capabilities ${common}/${isr}/${notify}`);
      return -EINVAL;
    }
    const device = this.findCapability(VIRTIO_PCI_CAP_DEVICE_CFG);
    const r = pdev.requestSelectedRegions(this.modernBars);
    if (r) return r;
    const c = this.mapCapability(common, virtioPciCommonCfg.size, 4, 0, virtioPciModernCommonCfg.size);
    const i = c && this.mapCapability(isr, 1, 1, 0, 1);
    if (!c || !i) return this.probeFailed();
    this.common = c.mmio;
    this.commonLen = c.len;
    this.isr = i.mmio;
    this.notifyCapPos = notify;
    this.notifyOffsetMultiplier = pdev.readConfigDword(notify + VIRTIO_PCI_NOTIFY_CAP_MULT);
    const notifyLength = pdev.readConfigDword(notify + VIRTIO_PCI_CAP_LENGTH);
    const notifyOffset = pdev.readConfigDword(notify + VIRTIO_PCI_CAP_OFFSET);
    // Small notify areas are mapped now; large ones per vq when needed.
    if (notifyLength + (notifyOffset % PAGE_SIZE) <= PAGE_SIZE) {
      const n = this.mapCapability(notify, 2, 2, 0, notifyLength);
      if (!n) return this.probeFailed();
      this.notifyBase = n.mmio;
      this.notifyLen = n.len;
      this.notifyPa = n.pa;
    } else {
      this.notifyMapCap = notify;
    }
    if (device) {
      const d = this.mapCapability(device, 0, 4, 0, PAGE_SIZE);
      if (!d) return this.probeFailed();
      this.device = d.mmio;
      this.deviceLen = d.len;
    }
    return 0;
  }

  private probeFailed(): number {
    this.pciDev.releaseSelectedRegions(this.modernBars);
    this.common = this.isr = this.notifyBase = this.device = undefined;
    return -EINVAL;
  }

  /** vp_modern_remove(). */
  remove(): void {
    this.pciDev.releaseSelectedRegions(this.modernBars);
    this.common = this.isr = this.notifyBase = this.device = undefined;
  }

  private get cfg(): Mmio {
    return this.common as Mmio;
  }

  /** vp_modern_get_features(): 64 bits through the device_feature_select window. */
  getFeatures(): bigint {
    this.cfg.write32(VIRTIO_PCI_COMMON_DFSELECT, 0);
    const lo = this.cfg.read32(VIRTIO_PCI_COMMON_DF);
    this.cfg.write32(VIRTIO_PCI_COMMON_DFSELECT, 1);
    const hi = this.cfg.read32(VIRTIO_PCI_COMMON_DF);
    return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
  }

  /** vp_modern_get_driver_features(). */
  getDriverFeatures(): bigint {
    this.cfg.write32(VIRTIO_PCI_COMMON_GFSELECT, 0);
    const lo = this.cfg.read32(VIRTIO_PCI_COMMON_GF);
    this.cfg.write32(VIRTIO_PCI_COMMON_GFSELECT, 1);
    const hi = this.cfg.read32(VIRTIO_PCI_COMMON_GF);
    return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
  }

  /** vp_modern_set_features(). */
  setFeatures(features: bigint): void {
    this.cfg.write32(VIRTIO_PCI_COMMON_GFSELECT, 0);
    this.cfg.write32(VIRTIO_PCI_COMMON_GF, Number(features & 0xffffffffn));
    this.cfg.write32(VIRTIO_PCI_COMMON_GFSELECT, 1);
    this.cfg.write32(VIRTIO_PCI_COMMON_GF, Number((features >> 32n) & 0xffffffffn));
  }

  /** vp_modern_generation(). */
  generation(): number {
    return this.cfg.read8(VIRTIO_PCI_COMMON_CFGGENERATION);
  }

  getStatus(): number {
    return this.cfg.read8(VIRTIO_PCI_COMMON_STATUS);
  }

  setStatus(status: number): void {
    this.cfg.write8(VIRTIO_PCI_COMMON_STATUS, status);
  }

  /** vp_modern_queue_vector(): the vector read back (VIRTIO_MSI_NO_VECTOR if refused). */
  queueVector(index: number, vector: number): number {
    this.cfg.write16(VIRTIO_PCI_COMMON_Q_SELECT, index);
    this.cfg.write16(VIRTIO_PCI_COMMON_Q_MSIX, vector);
    return this.cfg.read16(VIRTIO_PCI_COMMON_Q_MSIX);
  }

  /** vp_modern_config_vector(). */
  configVector(vector: number): number {
    this.cfg.write16(VIRTIO_PCI_COMMON_MSIX, vector);
    return this.cfg.read16(VIRTIO_PCI_COMMON_MSIX);
  }

  /** vp_modern_queue_address(): three 64-bit addresses, each as two 32-bit writes. */
  queueAddress(index: number, desc: bigint, driver: bigint, device: bigint): void {
    this.cfg.write16(VIRTIO_PCI_COMMON_Q_SELECT, index);
    const two = (lo: number, hi: number, v: bigint) => {
      this.cfg.write32(lo, Number(v & 0xffffffffn));
      this.cfg.write32(hi, Number((v >> 32n) & 0xffffffffn));
    };
    two(VIRTIO_PCI_COMMON_Q_DESCLO, VIRTIO_PCI_COMMON_Q_DESCHI, desc);
    two(VIRTIO_PCI_COMMON_Q_AVAILLO, VIRTIO_PCI_COMMON_Q_AVAILHI, driver);
    two(VIRTIO_PCI_COMMON_Q_USEDLO, VIRTIO_PCI_COMMON_Q_USEDHI, device);
  }

  setQueueEnable(index: number, enable: boolean): void {
    this.cfg.write16(VIRTIO_PCI_COMMON_Q_SELECT, index);
    this.cfg.write16(VIRTIO_PCI_COMMON_Q_ENABLE, enable ? 1 : 0);
  }

  getQueueEnable(index: number): boolean {
    this.cfg.write16(VIRTIO_PCI_COMMON_Q_SELECT, index);
    return this.cfg.read16(VIRTIO_PCI_COMMON_Q_ENABLE) !== 0;
  }

  setQueueSize(index: number, size: number): void {
    this.cfg.write16(VIRTIO_PCI_COMMON_Q_SELECT, index);
    this.cfg.write16(VIRTIO_PCI_COMMON_Q_SIZE, size);
  }

  getQueueSize(index: number): number {
    this.cfg.write16(VIRTIO_PCI_COMMON_Q_SELECT, index);
    return this.cfg.read16(VIRTIO_PCI_COMMON_Q_SIZE);
  }

  getNumQueues(): number {
    return this.cfg.read16(VIRTIO_PCI_COMMON_NUMQ);
  }

  /** vp_modern_map_vq_notify(): the doorbell of queue `index`, or undefined when it does not fit. */
  mapVqNotify(index: number): VqNotify | undefined {
    this.cfg.write16(VIRTIO_PCI_COMMON_Q_SELECT, index);
    const off = this.cfg.read16(VIRTIO_PCI_COMMON_Q_NOFF);
    const at = off * this.notifyOffsetMultiplier;
    if (this.notifyBase) {
      if (at + 2 > this.notifyLen) {
        this.klog.printk(`virtio-pci ${this.pciDev.slot}: bad notification offset ${off} (x ${this.notifyOffsetMultiplier}) for queue ${index} > ${this.notifyLen}`);
        return undefined;
      }
      // Mapped 4 bytes wide: kick_vq_with_data writes 32 bits at the same doorbell.
      const mmio = this.pciDev.iomapRange(this.notifyBase.bar, this.notifyBase.offset + at, 4);
      return mmio ? { mmio, pa: this.notifyPa + at } : undefined;
    }
    const m = this.mapCapability(this.notifyMapCap, 2, 2, at, 4);
    return m ? { mmio: m.mmio, pa: m.pa } : undefined;
  }
}
