// Models: QEMU hw/virtio/virtio-pci.c, the modern (virtio 1.x only) PCI transport:
// virtio_pci_realize's BAR layout (MSI-X in BAR 1, the 64-bit prefetchable modern BAR 4 with
// common cfg 0x0000, ISR 0x1000, device cfg 0x2000, notify 0x3000, each region 0x1000 but notify
// multiplier × VIRTIO_QUEUE_MAX, page-per-vq's 0x1000 multiplier, the BAR a power of two, the
// `vdpa=on` LM region after notify), virtio_pci_device_plugged's ids and capabilities (built in
// the order COMMON, ISR, DEVICE, NOTIFY, PCI_CFG, MSI-X; QEMU prepends each, so a walk from
// PCI_CAPABILITY_LIST meets them in reverse), virtio_pci_common_read/write (dispatch on the
// offset alone, whatever the width: a 1-byte write to a 32-bit field stores that byte, a read
// returns the field's low bytes, any other offset reads 0 and ignores writes),
// virtio_pci_notify_write (the queue is the offset / multiplier, the value is ignored),
// virtio_pci_isr_read (read-to-clear at any offset), virtio_pci_device_read/write,
// virtio_read_config/virtio_write_config (the PCI_CFG window: its `bar` field is ignored, its
// length must be 1, 2 or 4; clearing bus mastering clears DRIVER_OK), virtio_pci_reset (which
// keeps the feature selects and the driver's feature words), and the parts of hw/virtio/virtio.c
// the transport drives: virtio_set_status, virtio_set_features, virtio_reset,
// __virtio_queue_reset, virtio_queue_set_num, virtio_queue_set_rings, virtio_queue_notify,
// virtio_notify, virtio_notify_config (ISR 3, generation + 1, only with DRIVER_OK), virtio_error
// (NEEDS_RESET with VERSION_1, a config interrupt, broken until reset), virtio_config_modern_*.
// Queue reset (queue_reset = 1) and queue_enable behave as QEMU's whatever was negotiated; the
// notify-data and admin-queue fields are not decoded (read 0, writes ignored), as in QEMU.
// Deviations: device rings are reached through lib/virtio's Vringh (the kernel's vringh) over the
// platform's DMA view, so a malformed ring fails with vringh's errno (then virtio_error, as
// QEMU's virtqueue_pop); device work runs on the host's scheduler (`schedule(work)`), never inside
// the doorbell write; FEATURES_OK is refused when the driver's feature words hold a bit the
// device does not offer (QEMU masks such bits silently; its own refusal, ACCESS_PLATFORM offered
// and not accepted under VERSION_1, is kept); a queue_size that is not a power of two is ignored
// (QEMU takes any size up to VIRTQUEUE_MAX_SIZE; split rings need a power of two), and, as in
// QEMU, the reset value is the default size, not a maximum: powers of two up to 1024 are taken;
// a new size of an enabled queue takes effect at its next queue_enable; nothing is processed
// before DRIVER_OK or without bus mastering (QEMU's DMA would fail), and MSI-X messages need bus
// mastering (QEMU's msi_send_message writes through the bus-master address space); no legacy
// interface and no INTx (ISR is still set on every notification, as QEMU does).

import {
  PCI_CAP_ID_VNDR,
  PCI_COMMAND,
  PCI_COMMAND_MASTER,
  PCI_COMMAND_MEMORY,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_CONFIG_S_NEEDS_RESET,
  VIRTIO_F_ACCESS_PLATFORM,
  VIRTIO_F_ANY_LAYOUT,
  VIRTIO_F_NOTIFY_ON_EMPTY,
  VIRTIO_F_RING_PACKED,
  VIRTIO_F_VERSION_1,
  VIRTIO_MSI_NO_VECTOR,
  VIRTIO_PCI_CAP_BAR,
  VIRTIO_PCI_CAP_COMMON_CFG,
  VIRTIO_PCI_CAP_DEVICE_CFG,
  VIRTIO_PCI_CAP_ISR_CFG,
  VIRTIO_PCI_CAP_LEN,
  VIRTIO_PCI_CAP_LENGTH,
  VIRTIO_PCI_CAP_NOTIFY_CFG,
  VIRTIO_PCI_CAP_OFFSET,
  VIRTIO_PCI_CAP_PCI_CFG,
  VIRTIO_PCI_CAP_CFG_TYPE,
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
  VIRTIO_PCI_COMMON_Q_RESET,
  VIRTIO_PCI_COMMON_Q_SELECT,
  VIRTIO_PCI_COMMON_Q_SIZE,
  VIRTIO_PCI_COMMON_Q_USEDHI,
  VIRTIO_PCI_COMMON_Q_USEDLO,
  VIRTIO_PCI_COMMON_STATUS,
  VIRTIO_PCI_NOTIFY_CAP_MULT,
  VIRTIO_RING_F_EVENT_IDX,
  virtioPciCap,
  virtioPciCfgCap,
  virtioPciNotifyCap,
} from '../../uapi/index.js';
import { LM_REGION_SIZE, VIRTIO_QUEUE_MAX } from '../../uapi/proposed/index.js';
import type { DmaView, PciAccessSize, PciFunction, PciPlatform } from '../../drivers/pci/pci_function.js';
import { Work } from '../../lib/sched/index.js';
import { tracepoint } from '../../lib/trace.js';
import { Vringh, type VringhHead, VringhKiov } from '../../lib/virtio/index.js';
import { type MmioRegion, MmioBar, dispatchRead, dispatchWrite } from './bar.js';
import { Msix, PciConfigSpace, msixExclusiveBarLayout, rangesOverlap } from './config_space.js';
import { type LmDevice, type LmOptions, VirtioPciLm } from './lm.js';

export const PCI_VENDOR_ID_REDHAT_QUMRANET = 0x1af4;
/** PCI_DEVICE_ID_VIRTIO_10_BASE: a modern-only function's device id is this + the virtio id. */
export const PCI_DEVICE_ID_VIRTIO_10_BASE = 0x1040;
/** PCI_SUBVENDOR_ID_REDHAT_QUMRANET / PCI_SUBDEVICE_ID_QEMU: QEMU's default subsystem ids, which a modern-only virtio function keeps. */
export const PCI_SUBVENDOR_ID_REDHAT_QUMRANET = 0x1af4;
export const PCI_SUBDEVICE_ID_QEMU = 0x1100;
/** QEMU_VIRTIO_PCI_QUEUE_MEM_MULT: the notify multiplier with page-per-vq. */
export const QEMU_VIRTIO_PCI_QUEUE_MEM_MULT = 0x1000;
/** The notify multiplier otherwise. */
export const VIRTIO_PCI_NOTIFY_MULT = 4;
/** VIRTQUEUE_MAX_SIZE: the largest queue_size QEMU accepts. */
export const VIRTQUEUE_MAX_SIZE = 1024;
export const VIRTIO_PCI_MSIX_BAR = 1;
export const VIRTIO_PCI_MODERN_MEM_BAR = 4;
export const VIRTIO_PCI_COMMON_OFFSET = 0x0000;
export const VIRTIO_PCI_ISR_OFFSET = 0x1000;
export const VIRTIO_PCI_DEVICE_OFFSET = 0x2000;
export const VIRTIO_PCI_NOTIFY_OFFSET = 0x3000;
/** Size of the common, ISR and device regions (and their capabilities' length). */
export const VIRTIO_PCI_REGION_SIZE = 0x1000;
/** VIRTIO_F_BAD_FEATURE: what old drivers set when they did not negotiate (legacy only). */
export const VIRTIO_F_BAD_FEATURE = 30;
/** VIRTIO_LEGACY_FEATURES: host features only a legacy interface shows. */
export const VIRTIO_LEGACY_FEATURES = (1n << BigInt(VIRTIO_F_BAD_FEATURE)) | (1n << BigInt(VIRTIO_F_NOTIFY_ON_EMPTY)) | (1n << BigInt(VIRTIO_F_ANY_LAYOUT));

const bit = (n: number): bigint => 1n << BigInt(n);
const pow2ceil = (n: number): number => {
  let p = 1;
  while (p < n) p *= 2;
  return p;
};
const isPow2 = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;

const traceKick = tracepoint<{ dev: string; vq: number }>('vdpa:pci:notify');
const traceError = tracepoint<{ dev: string; reason: string }>('vdpa:pci:virtio_error');
const traceStatus = tracepoint<{ dev: string; old: number; new: number; refused: string | undefined }>('vdpa:pci:set_status');

/** What a device class (QEMU's VirtioDeviceClass) gives the transport at construction. */
export interface VirtioPciIdentity {
  /** Name in traces. */
  name: string;
  /** Virtio device id (VIRTIO_ID_*). */
  virtioId: number;
  /** PCI class code, 24 bits. */
  classCode: number;
  /** vdev->host_features before the transport adds VERSION_1. */
  hostFeatures: bigint;
  /** vdc->legacy_features: hidden from the modern feature window. */
  legacyFeatures: bigint;
  /** vdev->config_len. */
  configLen: number;
  /** Virtqueues (all present from realize; see the device class). */
  nvqs: number;
  /** MSI-X vectors (proxy->nvectors). */
  nvectors: number;
}

export interface VirtioPciOptions {
  /** Queues device work on the host's scheduler (queueing pending work does nothing). */
  schedule(work: Work): unknown;
  /** page-per-vq: notify multiplier 0x1000, each vq's doorbell on its own page. */
  pagePerVq?: boolean;
  /** `vdpa=on`: the LM register block after the notify region. */
  lm?: false | LmOptions;
}

/** VirtQueue (hw/virtio/virtio.c) with the host-side ring accessor that reaches it. */
export class VirtQueue {
  /** vring.num: 0 when the queue does not exist. */
  num = 0;
  /** vring.num_default: the size at reset. */
  numDefault = 0;
  /** vring.used (a device address) as 32-bit halves: where the device's used-ring writes go. */
  usedHi = 0;
  usedLo = 0;
  /** The ring is set up and vring holds its indices (vring.desc != 0 after set_rings). */
  live = false;
  /** last_avail_idx and used_idx while not live (the LM block may set them before enable). */
  heldAvail = 0;
  heldUsed = 0;
  readonly vring = new Vringh();
  readonly outIov = new VringhKiov();
  readonly inIov = new VringhKiov();
  readonly head: VringhHead = { head: 0 };

  constructor(readonly index: number) {}

  /** last_avail_idx. */
  get lastAvail(): number {
    return this.live ? this.vring.lastAvailIdx : this.heldAvail;
  }

  /** used_idx: what the device has published. */
  get usedIdx(): number {
    return this.live ? (this.vring.lastUsedIdx + this.vring.completed) & 0xffff : this.heldUsed;
  }

  /** virtio_queue_split_set_vring_states(). */
  setState(lastAvail: number, usedIdx: number): void {
    this.heldAvail = lastAvail;
    this.heldUsed = usedIdx;
    if (this.live) {
      this.vring.lastAvailIdx = lastAvail;
      this.vring.lastUsedIdx = usedIdx;
      this.vring.completed = 0;
    }
  }

  /** The ring's state leaves the Vringh (before a re-init or a reset). */
  private hold(): void {
    this.heldAvail = this.lastAvail;
    this.heldUsed = this.usedIdx;
    this.live = false;
  }

  /** virtio_queue_set_rings() plus vringh_init: indices carry over, as QEMU's do. */
  setRings(features: bigint, desc: bigint, avail: bigint, used: bigint, platform: PciPlatform | undefined): void {
    this.hold();
    this.usedHi = Number(used >> 32n);
    this.usedLo = Number(used & 0xffffffffn);
    if (desc === 0n || this.vring.init(features, this.num, desc, avail, used, false) !== 0) return;
    if (platform) this.vring.setIotlb(platform.dma.iotlb, platform.dma.mem);
    this.vring.lastAvailIdx = this.heldAvail;
    this.vring.lastUsedIdx = this.heldUsed;
    this.live = true;
  }

  /** __virtio_queue_reset(). */
  reset(): void {
    this.live = false;
    this.usedHi = this.usedLo = 0;
    this.heldAvail = this.heldUsed = 0;
    this.num = this.numDefault;
  }
}

const NO_VECTOR = VIRTIO_MSI_NO_VECTOR;

/**
 * A virtio 1.x PCI function: VirtIOPCIProxy and the VirtIODevice core. A device class extends it,
 * fills in the VirtioDeviceClass hooks (config, features, reset, work) and sizes its queues
 * (VirtQueue.num and numDefault) in its constructor.
 */
export abstract class VirtioPciFunction implements PciFunction, LmDevice {
  readonly name: string;
  readonly cfg: PciConfigSpace;
  readonly msix: Msix;
  readonly multiplier: number;
  readonly lm: VirtioPciLm | undefined;
  readonly vqs: readonly VirtQueue[];
  readonly nvectors: number;
  /** The features the modern window shows (host features without the legacy-only ones). */
  readonly offeredFeatures: bigint;
  /** Capability offsets (for tests and tools). */
  readonly caps: { common: number; isr: number; device: number; notify: number; pciCfg: number; msix: number };
  /** vdev->host_features. */
  readonly hostFeatures: bigint;
  readonly work: Work;

  /** vdev->status. */
  status = 0;
  /** vdev->guest_features: what the device runs with (driver's words masked by host features). */
  guestFeatures = 0n;
  /** vdev->broken: set by virtio_error, cleared by reset. */
  broken = false;
  /** vdev->isr. */
  isr = 0;
  /** vdev->generation. */
  generation = 0;
  configVector = NO_VECTOR;
  queueSel = 0;
  dfselect = 0;
  gfselect = 0;
  /** proxy->guest_features[2]: the driver's words as written. */
  readonly guestFeatureWords = new Uint32Array(2);

  protected platform: PciPlatform | undefined;
  protected readonly configBuf: Uint8Array;
  private readonly configLen: number;
  private readonly schedule: (work: Work) => unknown;
  /** vdev->disabled: bus mastering was cleared. */
  private disabled = false;
  // VirtIOPCIQueue of every queue index (QEMU keeps them for all VIRTIO_QUEUE_MAX).
  private readonly pNum = new Uint16Array(VIRTIO_QUEUE_MAX);
  private readonly pEnabled = new Uint8Array(VIRTIO_QUEUE_MAX);
  private readonly pReset = new Uint8Array(VIRTIO_QUEUE_MAX);
  /** desc lo/hi, avail lo/hi, used lo/hi per queue. */
  private readonly pRings = new Uint32Array(6 * VIRTIO_QUEUE_MAX);
  /** vq->vector of every queue index (QEMU stores it even for queues that do not exist). */
  private readonly qVector = new Uint16Array(VIRTIO_QUEUE_MAX).fill(NO_VECTOR);
  /** Ring state the LM block wrote for queue indices without a queue. */
  private readonly ghostState = new Uint32Array(VIRTIO_QUEUE_MAX);
  private readonly bars: (MmioBar | undefined)[] = [];
  private readonly cfgRegions: readonly MmioRegion[];
  private readonly piece = { lo: 0, hi: 0 };
  private readonly stateOut = { lastAvail: 0, usedIdx: 0 };

  constructor(id: VirtioPciIdentity, opts: VirtioPciOptions) {
    this.name = id.name;
    this.schedule = opts.schedule;
    this.nvectors = id.nvectors;
    this.configLen = id.configLen;
    this.configBuf = new Uint8Array(Math.max(id.configLen, 1));
    // virtio_pci_pre_plugged(): a modern function offers VERSION_1.
    this.hostFeatures = id.hostFeatures | bit(VIRTIO_F_VERSION_1);
    this.offeredFeatures = this.hostFeatures & ~id.legacyFeatures;
    this.multiplier = opts.pagePerVq ? QEMU_VIRTIO_PCI_QUEUE_MEM_MULT : VIRTIO_PCI_NOTIFY_MULT;
    this.work = new Work(() => this.runWork(), `${id.name}-work`);
    this.vqs = Array.from({ length: id.nvqs }, (_, i) => new VirtQueue(i));

    this.cfg = new PciConfigSpace({
      vendorId: PCI_VENDOR_ID_REDHAT_QUMRANET,
      deviceId: PCI_DEVICE_ID_VIRTIO_10_BASE + id.virtioId,
      revision: 1,
      classCode: id.classCode,
      subsystemVendorId: PCI_SUBVENDOR_ID_REDHAT_QUMRANET,
      subsystemId: PCI_SUBDEVICE_ID_QEMU,
      interruptPin: 1,
    });

    // The modern BAR: common, ISR, device, notify, then (vdpa=on) the LM registers.
    const notifySize = this.multiplier * VIRTIO_QUEUE_MAX;
    const lmOffset = VIRTIO_PCI_NOTIFY_OFFSET + notifySize;
    this.lm = opts.lm ? new VirtioPciLm(this, this.multiplier, opts.lm.dirty ?? 'seed', opts.lm.layout ?? 'code') : undefined;
    const common: MmioRegion = {
      name: 'virtio-pci-common',
      offset: VIRTIO_PCI_COMMON_OFFSET,
      size: VIRTIO_PCI_REGION_SIZE,
      read: (addr) => this.commonRead(addr),
      write: (addr, _size, value) => this.commonWrite(addr, value),
    };
    const isr: MmioRegion = {
      name: 'virtio-pci-isr',
      offset: VIRTIO_PCI_ISR_OFFSET,
      size: VIRTIO_PCI_REGION_SIZE,
      read: () => this.isrRead(),
      write: () => {},
    };
    const device: MmioRegion = {
      name: 'virtio-pci-device',
      offset: VIRTIO_PCI_DEVICE_OFFSET,
      size: VIRTIO_PCI_REGION_SIZE,
      read: (addr, size) => this.deviceRead(addr, size),
      write: (addr, size, value) => this.deviceWrite(addr, size, value),
    };
    const notify: MmioRegion = {
      name: 'virtio-pci-notify',
      offset: VIRTIO_PCI_NOTIFY_OFFSET,
      size: notifySize,
      read: () => 0,
      write: (addr) => this.notifyWrite(addr),
    };
    // What the PCI_CFG window reaches (proxy->regs: the LM block is not among them).
    this.cfgRegions = [common, isr, device, notify];
    const modernRegions = this.lm ? [...this.cfgRegions, this.lm.region(lmOffset)] : this.cfgRegions;
    const modernSize = pow2ceil(this.lm ? lmOffset + LM_REGION_SIZE : lmOffset);
    this.cfg.registerBar(VIRTIO_PCI_MODERN_MEM_BAR, modernSize, { mem64: true, prefetch: true });
    this.bars[VIRTIO_PCI_MODERN_MEM_BAR] = new MmioBar(modernSize, modernRegions);

    const capCommon = this.addVirtioCap(VIRTIO_PCI_CAP_COMMON_CFG, virtioPciCap.size, VIRTIO_PCI_COMMON_OFFSET, VIRTIO_PCI_REGION_SIZE);
    const capIsr = this.addVirtioCap(VIRTIO_PCI_CAP_ISR_CFG, virtioPciCap.size, VIRTIO_PCI_ISR_OFFSET, VIRTIO_PCI_REGION_SIZE);
    const capDevice = this.addVirtioCap(VIRTIO_PCI_CAP_DEVICE_CFG, virtioPciCap.size, VIRTIO_PCI_DEVICE_OFFSET, VIRTIO_PCI_REGION_SIZE);
    const capNotify = this.addVirtioCap(VIRTIO_PCI_CAP_NOTIFY_CFG, virtioPciNotifyCap.size, VIRTIO_PCI_NOTIFY_OFFSET, notifySize);
    this.cfg.set32(capNotify + VIRTIO_PCI_NOTIFY_CAP_MULT, this.multiplier);
    // The PCI_CFG window: bar, offset, length and data are the driver's to write.
    const capCfg = this.addVirtioCap(VIRTIO_PCI_CAP_PCI_CFG, virtioPciCfgCap.size, 0, 0);
    this.cfg.set8(capCfg + VIRTIO_PCI_CAP_BAR, 0);
    this.cfg.wmask[capCfg + VIRTIO_PCI_CAP_BAR] = 0xff;
    this.cfg.wmask.fill(0xff, capCfg + VIRTIO_PCI_CAP_OFFSET, capCfg + virtioPciCfgCap.size);

    const layout = msixExclusiveBarLayout(id.nvectors);
    this.cfg.registerBar(VIRTIO_PCI_MSIX_BAR, layout.barSize);
    this.msix = new Msix(this.cfg, id.nvectors, VIRTIO_PCI_MSIX_BAR, layout.tableOffset, layout.pbaOffset);
    this.bars[VIRTIO_PCI_MSIX_BAR] = new MmioBar(layout.barSize, [this.msix.tableRegion(), this.msix.pbaRegion()]);
    this.caps = { common: capCommon, isr: capIsr, device: capDevice, notify: capNotify, pciCfg: capCfg, msix: this.msix.cap };
  }

  /** virtio_pci_add_mem_cap() of a region of the modern BAR. */
  private addVirtioCap(type: number, len: number, offset: number, length: number): number {
    const at = this.cfg.addCapability(PCI_CAP_ID_VNDR, len);
    this.cfg.set8(at + VIRTIO_PCI_CAP_LEN, len);
    this.cfg.set8(at + VIRTIO_PCI_CAP_CFG_TYPE, type);
    this.cfg.set8(at + VIRTIO_PCI_CAP_BAR, VIRTIO_PCI_MODERN_MEM_BAR);
    this.cfg.set32(at + VIRTIO_PCI_CAP_OFFSET, offset);
    this.cfg.set32(at + VIRTIO_PCI_CAP_LENGTH, length);
    return at;
  }

  // ---- VirtioDeviceClass hooks -------------------------------------------------------------

  /** get_config: fills the device config (configLen bytes). */
  protected abstract getConfig(config: Uint8Array): void;
  /** set_config: the driver wrote into the device config. */
  protected abstract setConfig(config: Uint8Array): void;
  /** set_features: the driver's features, masked by the host's. */
  protected abstract setFeatures(features: bigint): void;
  /** reset. */
  protected abstract deviceReset(): void;
  /** The device work (runs on the host scheduler, DRIVER_OK set, DMA possible). */
  protected abstract process(): void;

  // ---- PciFunction --------------------------------------------------------------------------

  plug(platform: PciPlatform): void {
    this.platform = platform;
    for (const vq of this.vqs) vq.vring.setIotlb(platform.dma.iotlb, platform.dma.mem);
    this.msix.deliver = (vector) => {
      if (this.cfg.command & PCI_COMMAND_MASTER) platform.msix(vector);
    };
  }

  configRead(offset: number, size: 1 | 2 | 4): number {
    if (!validConfigAccess(offset, size)) return 0xffffffff;
    const cap = this.caps.pciCfg;
    if (rangesOverlap(offset, size, cap + virtioPciCfgCap.offsetOf('pci_cfg_data'), 4)) this.pciCfgRead();
    return this.cfg.read(offset, size);
  }

  configWrite(offset: number, size: 1 | 2 | 4, value: number): void {
    if (!validConfigAccess(offset, size) || typeof value !== 'number' || !Number.isFinite(value)) return;
    const v = Math.trunc(value) >>> 0;
    this.cfg.write(offset, size, v);
    this.msix.configWritten(offset, size);
    if (rangesOverlap(offset, size, PCI_COMMAND, 1)) {
      if (!(this.cfg.command & PCI_COMMAND_MASTER)) {
        this.disabled = true;
        this.setStatus(this.status & ~VIRTIO_CONFIG_S_DRIVER_OK);
      } else {
        this.disabled = false;
      }
    }
    if (rangesOverlap(offset, size, this.caps.pciCfg + virtioPciCfgCap.offsetOf('pci_cfg_data'), 4)) this.pciCfgWrite();
  }

  barRead(bar: number, offset: number, size: PciAccessSize): number | bigint {
    const mmio = this.decode(bar, offset, size);
    if (!mmio) return allOnes(size);
    return mmio.read(offset, size);
  }

  barWrite(bar: number, offset: number, size: PciAccessSize, value: number | bigint): void {
    const mmio = this.decode(bar, offset, size);
    if (!mmio) return;
    if (typeof value === 'number' && !Number.isFinite(value)) return;
    if (typeof value !== 'number' && typeof value !== 'bigint') return;
    mmio.write(offset, size, typeof value === 'number' ? Math.trunc(value) : value);
  }

  /** The BAR an access reaches: memory decode on, a BAR we have, inside it. */
  private decode(bar: number, offset: number, size: number): MmioBar | undefined {
    if (size !== 1 && size !== 2 && size !== 4 && size !== 8) return undefined;
    if (!Number.isInteger(offset) || offset < 0) return undefined;
    const mmio = Number.isInteger(bar) ? this.bars[bar] : undefined;
    if (!mmio || offset + size > mmio.size) return undefined;
    if (!(this.cfg.command & PCI_COMMAND_MEMORY)) return undefined;
    return mmio;
  }

  // ---- the PCI_CFG window (virtio_read_config / virtio_write_config) ------------------------

  /** virtio_address_space_lookup(): the region holding [addr, addr + len), as QEMU's proxy->regs. */
  private cfgRegion(addr: number, len: number): MmioRegion | undefined {
    for (const r of this.cfgRegions) if (addr >= r.offset && addr + len <= r.offset + r.size) return r;
    return undefined;
  }

  private pciCfgWindow(): { addr: number; len: number; data: number } | undefined {
    const cap = this.caps.pciCfg;
    const len = this.cfg.get32(cap + VIRTIO_PCI_CAP_LENGTH);
    if (len !== 1 && len !== 2 && len !== 4) return undefined;
    // address_space_* want an aligned address: the guest's is aligned down.
    const addr = (this.cfg.get32(cap + VIRTIO_PCI_CAP_OFFSET) & ~(len - 1)) >>> 0;
    return { addr, len, data: cap + virtioPciCfgCap.offsetOf('pci_cfg_data') };
  }

  private pciCfgRead(): void {
    const w = this.pciCfgWindow();
    if (!w) return;
    const r = this.cfgRegion(w.addr, w.len);
    if (!r) return;
    dispatchRead(r, w.addr - r.offset, w.len, this.piece);
    for (let k = 0; k < w.len; k++) this.cfg.config[w.data + k] = (this.piece.lo >>> (8 * k)) & 0xff;
  }

  private pciCfgWrite(): void {
    const w = this.pciCfgWindow();
    if (!w) return;
    const r = this.cfgRegion(w.addr, w.len);
    if (!r) return;
    dispatchWrite(r, w.addr - r.offset, w.len, this.cfg.read(w.data, w.len), 0);
  }

  // ---- common configuration (virtio_pci_common_read / virtio_pci_common_write) --------------

  private ring(sel: number, k: number): number {
    return this.pRings[6 * sel + k] as number;
  }

  private commonRead(addr: number): number {
    const sel = this.queueSel;
    switch (addr) {
      case VIRTIO_PCI_COMMON_DFSELECT:
        return this.dfselect;
      case VIRTIO_PCI_COMMON_DF:
        return this.dfselect <= 1 ? Number((this.offeredFeatures >> BigInt(32 * this.dfselect)) & 0xffffffffn) : 0;
      case VIRTIO_PCI_COMMON_GFSELECT:
        return this.gfselect;
      case VIRTIO_PCI_COMMON_GF:
        return this.gfselect < 2 ? (this.guestFeatureWords[this.gfselect] as number) : 0;
      case VIRTIO_PCI_COMMON_MSIX:
        return this.configVector;
      case VIRTIO_PCI_COMMON_NUMQ:
        return this.numQueues();
      case VIRTIO_PCI_COMMON_STATUS:
        return this.status;
      case VIRTIO_PCI_COMMON_CFGGENERATION:
        return this.generation;
      case VIRTIO_PCI_COMMON_Q_SELECT:
        return sel;
      case VIRTIO_PCI_COMMON_Q_SIZE:
        return this.vqs[sel]?.num ?? 0;
      case VIRTIO_PCI_COMMON_Q_MSIX:
        return this.qVector[sel] as number;
      case VIRTIO_PCI_COMMON_Q_ENABLE:
        return this.pEnabled[sel] as number;
      case VIRTIO_PCI_COMMON_Q_NOFF:
        // Queues are simply mapped in order.
        return sel;
      case VIRTIO_PCI_COMMON_Q_DESCLO:
        return this.ring(sel, 0);
      case VIRTIO_PCI_COMMON_Q_DESCHI:
        return this.ring(sel, 1);
      case VIRTIO_PCI_COMMON_Q_AVAILLO:
        return this.ring(sel, 2);
      case VIRTIO_PCI_COMMON_Q_AVAILHI:
        return this.ring(sel, 3);
      case VIRTIO_PCI_COMMON_Q_USEDLO:
        return this.ring(sel, 4);
      case VIRTIO_PCI_COMMON_Q_USEDHI:
        return this.ring(sel, 5);
      case VIRTIO_PCI_COMMON_Q_RESET:
        return this.pReset[sel] as number;
      default:
        return 0;
    }
  }

  private commonWrite(addr: number, value: number): void {
    const sel = this.queueSel;
    switch (addr) {
      case VIRTIO_PCI_COMMON_DFSELECT:
        this.dfselect = value;
        break;
      case VIRTIO_PCI_COMMON_GFSELECT:
        this.gfselect = value;
        break;
      case VIRTIO_PCI_COMMON_GF:
        if (this.gfselect < 2) {
          this.guestFeatureWords[this.gfselect] = value;
          this.virtioSetFeatures((BigInt(this.guestFeatureWords[1] as number) << 32n) | BigInt(this.guestFeatureWords[0] as number));
        }
        break;
      case VIRTIO_PCI_COMMON_MSIX:
        this.configVector = this.rebindVector(this.configVector, value);
        break;
      case VIRTIO_PCI_COMMON_STATUS:
        this.setStatus(value & 0xff);
        if (this.status === 0) this.reset();
        break;
      case VIRTIO_PCI_COMMON_Q_SELECT:
        if (value < VIRTIO_QUEUE_MAX) this.queueSel = value;
        break;
      case VIRTIO_PCI_COMMON_Q_SIZE:
        this.pNum[sel] = value;
        this.setQueueNum(sel, this.pNum[sel] as number);
        break;
      case VIRTIO_PCI_COMMON_Q_MSIX:
        this.qVector[sel] = this.rebindVector(this.qVector[sel] as number, value);
        break;
      case VIRTIO_PCI_COMMON_Q_ENABLE:
        if (value === 1) this.enableQueue(sel);
        else this.virtioError(`wrong value for queue_enable ${value.toString(16)}`);
        break;
      case VIRTIO_PCI_COMMON_Q_DESCLO:
      case VIRTIO_PCI_COMMON_Q_DESCHI:
      case VIRTIO_PCI_COMMON_Q_AVAILLO:
      case VIRTIO_PCI_COMMON_Q_AVAILHI:
      case VIRTIO_PCI_COMMON_Q_USEDLO:
      case VIRTIO_PCI_COMMON_Q_USEDHI:
        this.pRings[6 * sel + (addr - VIRTIO_PCI_COMMON_Q_DESCLO) / 4] = value;
        break;
      case VIRTIO_PCI_COMMON_Q_RESET:
        if (value === 1) {
          this.pReset[sel] = 1;
          this.queueReset(sel);
          this.pReset[sel] = 0;
          this.pEnabled[sel] = 0;
        }
        break;
      default:
        break;
    }
  }

  /** A config or queue vector write: the old one unused, the new one used, or NO_VECTOR if out of range. */
  private rebindVector(old: number, value: number): number {
    if (old !== NO_VECTOR) this.msix.vectorUnuse(old);
    if (value < this.nvectors) {
      this.msix.vectorUse(value);
      return value;
    }
    return NO_VECTOR;
  }

  /** VIRTIO_PCI_COMMON_NUMQ: one past the last queue that exists. */
  private numQueues(): number {
    let n = 0;
    for (const vq of this.vqs) if (vq.num) n = vq.index + 1;
    return n;
  }

  /** virtio_queue_set_num(): no flipping between existent and not, at most VIRTQUEUE_MAX_SIZE. */
  private setQueueNum(sel: number, num: number): void {
    const vq = this.vqs[sel];
    if (!vq || !vq.num || !num || num > VIRTQUEUE_MAX_SIZE || !isPow2(num)) return;
    vq.num = num;
  }

  /** queue_enable = 1. */
  private enableQueue(sel: number): void {
    this.setQueueNum(sel, this.pNum[sel] as number);
    const vq = this.vqs[sel];
    if (vq && vq.num) {
      const addr = (k: number) => (BigInt(this.ring(sel, k + 1)) << 32n) | BigInt(this.ring(sel, k));
      vq.setRings(this.guestFeatures, addr(0), addr(2), addr(4), this.platform);
    }
    this.pEnabled[sel] = 1;
    this.pReset[sel] = 0;
  }

  /** virtio_queue_reset(): no per-queue device hook is needed by the devices here. */
  private queueReset(sel: number): void {
    const vq = this.vqs[sel];
    // __virtio_queue_reset() drops the vector without msix_vector_unuse(), as QEMU does.
    this.qVector[sel] = NO_VECTOR;
    if (vq) vq.reset();
    else this.ghostState[sel] = 0;
  }

  /** virtio_set_features(): refused after FEATURES_OK; host-masked otherwise. */
  private virtioSetFeatures(val: bigint): void {
    if (this.status & VIRTIO_CONFIG_S_FEATURES_OK) return;
    const features = val & this.hostFeatures;
    this.setFeatures(features);
    this.guestFeatures = features;
    for (const vq of this.vqs) if (vq.live) vq.vring.eventIndices = (features & bit(VIRTIO_RING_F_EVENT_IDX)) !== 0n;
  }

  /** Why FEATURES_OK is refused now, if it is. */
  private featuresRefusal(): string | undefined {
    const words = (BigInt(this.guestFeatureWords[1] as number) << 32n) | BigInt(this.guestFeatureWords[0] as number);
    if (words & ~this.offeredFeatures) return `driver features 0x${words.toString(16)} not a subset of 0x${this.offeredFeatures.toString(16)}`;
    // virtio_validate_features().
    if (this.guestFeatures & bit(VIRTIO_F_VERSION_1) && this.hostFeatures & bit(VIRTIO_F_ACCESS_PLATFORM) && !(this.guestFeatures & bit(VIRTIO_F_ACCESS_PLATFORM))) {
      return 'ACCESS_PLATFORM offered and not accepted';
    }
    return undefined;
  }

  /** virtio_set_status(). */
  private setStatus(val: number): void {
    const old = this.status;
    if (!(old & VIRTIO_CONFIG_S_FEATURES_OK) && val & VIRTIO_CONFIG_S_FEATURES_OK) {
      const refused = this.featuresRefusal();
      if (refused) {
        if (traceStatus.active) traceStatus.publish({ dev: this.name, old, new: val, refused });
        return;
      }
    }
    this.status = val;
    if (traceStatus.active) traceStatus.publish({ dev: this.name, old, new: val, refused: undefined });
    // Started: whatever was made available before DRIVER_OK is looked at now.
    if (!(old & VIRTIO_CONFIG_S_DRIVER_OK) && val & VIRTIO_CONFIG_S_DRIVER_OK) this.scheduleWork();
  }

  /** virtio_pci_reset(): virtio_reset(), then the transport's per-queue registers and MSI-X users. */
  reset(): void {
    this.deviceReset();
    this.broken = false;
    this.guestFeatures = 0n;
    this.queueSel = 0;
    this.status = 0;
    this.disabled = false;
    this.isr = 0;
    this.configVector = NO_VECTOR;
    for (const vq of this.vqs) vq.reset();
    this.qVector.fill(NO_VECTOR);
    this.ghostState.fill(0);
    this.msix.unuseAll();
    this.pEnabled.fill(0);
    this.pReset.fill(0);
    this.pNum.fill(0);
    this.pRings.fill(0);
  }

  // ---- ISR, device config, notify ------------------------------------------------------------

  private isrRead(): number {
    const v = this.isr;
    this.isr = 0;
    return v;
  }

  /** virtio_config_modern_read{b,w,l}(): all-ones past config_len. */
  private deviceRead(addr: number, size: number): number {
    if (addr + size > this.configLen) return 0xffffffff;
    this.getConfig(this.configBuf);
    let v = 0;
    for (let k = size - 1; k >= 0; k--) v = v * 256 + (this.configBuf[addr + k] as number);
    return v;
  }

  /** virtio_config_modern_write{b,w,l}(). */
  private deviceWrite(addr: number, size: number, value: number): void {
    if (addr + size > this.configLen) return;
    for (let k = 0; k < size; k++) this.configBuf[addr + k] = (value >>> (8 * k)) & 0xff;
    this.setConfig(this.configBuf);
  }

  /** virtio_pci_notify_write(): the queue is where the write landed; the value does not matter. */
  private notifyWrite(addr: number): void {
    const q = Math.floor(addr / this.multiplier);
    if (q >= VIRTIO_QUEUE_MAX) return;
    const vq = this.vqs[q];
    // virtio_queue_notify(): a queue without rings, or a broken device, ignores it.
    if (!vq || !vq.live || this.broken) return;
    if (traceKick.active) traceKick.publish({ dev: this.name, vq: q });
    this.scheduleWork();
  }

  // ---- device side ----------------------------------------------------------------------------

  /** The device work, queued (not run) on the host scheduler. */
  scheduleWork(): void {
    this.schedule(this.work);
  }

  private runWork(): void {
    if (!this.canRun()) return;
    this.process();
  }

  /** Queues may be processed: plugged, bus master, DRIVER_OK, not broken. */
  protected canRun(): boolean {
    return this.platform !== undefined && (this.cfg.command & PCI_COMMAND_MASTER) !== 0 && (this.status & VIRTIO_CONFIG_S_DRIVER_OK) !== 0 && !this.broken;
  }

  /** virtio_error(): NEEDS_RESET and a config interrupt with VERSION_1; broken until reset. */
  virtioError(reason: string): void {
    if (traceError.active) traceError.publish({ dev: this.name, reason });
    if (this.guestFeatures & bit(VIRTIO_F_VERSION_1)) {
      this.status |= VIRTIO_CONFIG_S_NEEDS_RESET;
      this.notifyConfig();
    }
    this.broken = true;
  }

  /** virtio_notify_vector(): through MSI-X when enabled (no INTx here). */
  private notifyVector(vector: number): void {
    if (this.disabled) return;
    if (this.msix.enabled && vector !== NO_VECTOR) this.msix.notify(vector);
  }

  /** virtio_notify(): an interrupt for `vq` if the driver wants one (vringh_need_notify). */
  protected notifyQueue(vq: VirtQueue): void {
    if (vq.vring.needNotify() <= 0) return;
    this.isr |= 1;
    this.notifyVector(this.qVector[vq.index] as number);
  }

  /** virtio_notify_config(): only once the driver is up. */
  notifyConfig(): void {
    if (!(this.status & VIRTIO_CONFIG_S_DRIVER_OK)) return;
    this.isr |= 3;
    this.generation = (this.generation + 1) >>> 0;
    this.notifyVector(this.configVector);
  }

  /** The MSI-X vector bound to queue `q` (NO_VECTOR if none). */
  queueVector(q: number): number {
    return this.qVector[q] ?? NO_VECTOR;
  }

  // ---- dirty logging of device writes (the LM block's `complete` mode) -----------------------

  /** Device writes are being logged page by page. */
  protected get logWrites(): boolean {
    const lm = this.lm;
    return lm !== undefined && lm.dirty === 'complete' && lm.logging;
  }

  /** Logs the next `n` bytes of `iov` from its cursor (call before pushing them). */
  protected logIov(iov: VringhKiov, n: number): void {
    const lm = this.lm as VirtioPciLm;
    let k = iov.i;
    while (n > 0 && k < iov.used) {
      const part = Math.min(n, iov.len[k] as number);
      lm.markPages(iov.hi[k] as number, iov.lo[k] as number, part);
      n -= part;
      k++;
    }
  }

  /** vringh_complete plus the log of the used element and index it wrote; false on error. */
  protected completeBuf(vq: VirtQueue, head: number, len: number): boolean {
    const slot = vq.usedIdx & (vq.vring.num - 1);
    const err = vq.vring.complete(head, len);
    if (err) {
      this.virtioError(`used ring write failed: errno ${-err}`);
      return false;
    }
    if (this.logWrites) {
      const lm = this.lm as VirtioPciLm;
      lm.markPages(vq.usedHi, vq.usedLo + 4 + 8 * slot, 8);
      lm.markPages(vq.usedHi, vq.usedLo + 2, 2);
    }
    return true;
  }

  /** vringh_notify_enable plus the log of what it wrote (avail_event, or used flags). */
  protected notifyEnable(vq: VirtQueue): boolean {
    const r = vq.vring.notifyEnable();
    if (this.logWrites) (this.lm as VirtioPciLm).markPages(vq.usedHi, vq.usedLo + (vq.vring.eventIndices ? 4 + 8 * vq.vring.num : 0), 2);
    return r;
  }

  // ---- LmDevice ---------------------------------------------------------------------------------

  get dma(): DmaView | undefined {
    return this.platform?.dma;
  }

  packed(): boolean {
    return (this.guestFeatures & bit(VIRTIO_F_RING_PACKED)) !== 0n;
  }

  vringState(qid: number): { lastAvail: number; usedIdx: number } {
    const vq = this.vqs[qid];
    const out = this.stateOut;
    if (vq) {
      out.lastAvail = vq.lastAvail;
      out.usedIdx = vq.usedIdx;
    } else {
      const w = this.ghostState[qid] ?? 0;
      out.lastAvail = w & 0xffff;
      out.usedIdx = w >>> 16;
    }
    return out;
  }

  setVringState(qid: number, lastAvail: number, usedIdx: number): void {
    const vq = this.vqs[qid];
    if (vq) vq.setState(lastAvail, usedIdx);
    else if (qid < VIRTIO_QUEUE_MAX) this.ghostState[qid] = (lastAvail | (usedIdx << 16)) >>> 0;
  }

  error(msg: string): void {
    this.virtioError(msg);
  }
}

function validConfigAccess(offset: number, size: number): boolean {
  return (size === 1 || size === 2 || size === 4) && Number.isInteger(offset) && offset >= 0 && offset + size <= 4096;
}

function allOnes(size: number): number | bigint {
  if (size === 8) return 0xffff_ffff_ffff_ffffn;
  if (size === 1 || size === 2 || size === 4) return 2 ** (8 * size) - 1;
  return 0xffffffff;
}
