// A minimal platform and driver for the emulated virtio-net PCI function: physical memory with
// guest RAM mapped 1:1 (device address = offset in RAM) by an identity IOTLB, a scheduler for the
// device work, MSI-X delivery recorded per vector; firmware-style BAR sizing and assignment, the
// capability walk vp_modern_probe does, and a driver that programs the function only through
// configRead/configWrite/barRead/barWrite and runs lib/virtio's driver-side split rings.

import { VHOST_MAP_RW, VhostIotlb } from '../../lib/iotlb/index.js';
import { MemFile, PAGE_SIZE, PhysMem } from '../../lib/mm/index.js';
import { Scheduler } from '../../lib/sched/index.js';
import { VirtqueueSplit } from '../../lib/virtio/index.js';
import type { PciFunction } from '../../drivers/pci/pci_function.js';
import { VirtioNetPci, type VirtioNetPciOptions } from '../../sim/pci/index.js';
import {
  PCI_BASE_ADDRESS_0,
  PCI_CAPABILITY_LIST,
  PCI_CAP_ID_MSIX,
  PCI_CAP_ID_VNDR,
  PCI_COMMAND,
  PCI_COMMAND_MASTER,
  PCI_COMMAND_MEMORY,
  PCI_MSIX_ENTRY_VECTOR_CTRL,
  PCI_MSIX_FLAGS,
  PCI_MSIX_FLAGS_ENABLE,
  PCI_MSIX_TABLE,
  PCI_STATUS,
  PCI_STATUS_CAP_LIST,
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_PCI_CAP_COMMON_CFG,
  VIRTIO_PCI_CAP_DEVICE_CFG,
  VIRTIO_PCI_CAP_ISR_CFG,
  VIRTIO_PCI_CAP_NOTIFY_CFG,
  VIRTIO_PCI_COMMON_DF,
  VIRTIO_PCI_COMMON_DFSELECT,
  VIRTIO_PCI_COMMON_GF,
  VIRTIO_PCI_COMMON_GFSELECT,
  VIRTIO_PCI_COMMON_MSIX,
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
  VIRTIO_F_ACCESS_PLATFORM,
  VIRTIO_F_VERSION_1,
  VIRTIO_RING_F_EVENT_IDX,
} from '../../uapi/index.js';

export const bit = (n: number): bigint => 1n << BigInt(n);
export const MAC = '02:00:00:00:00:01';
export const MAC_BYTES = Uint8Array.of(2, 0, 0, 0, 0, 1);
export const HDR_LEN = 12;

/** Where firmware puts the BARs (a 64-bit window for BAR 4, as OVMF does above 4 GiB). */
export const BAR_BASE: Readonly<Record<number, bigint>> = { 1: 0xfebf_0000n, 4: 0x8_0000_0000n };

export interface World {
  phys: PhysMem;
  ram: Uint8Array;
  ramSize: number;
  iotlb: VhostIotlb;
  sched: Scheduler;
  /** MSI-X vectors delivered, in order. */
  irqs: number[];
  fn: VirtioNetPci;
  settle(): number;
}

export function makeWorld(opts: Omit<VirtioNetPciOptions, 'schedule'> = {}, ramSize = 8 << 20): World {
  const phys = new PhysMem();
  const file = MemFile.create(phys, 'guest-ram', ramSize);
  file.obj.populate(0, file.obj.pages);
  const pa = (file.obj.pfn[0] as number) * PAGE_SIZE;
  const iotlb = new VhostIotlb();
  iotlb.addRange(0n, BigInt(ramSize - 1), BigInt(pa), VHOST_MAP_RW);
  const sched = new Scheduler();
  const irqs: number[] = [];
  const fn = new VirtioNetPci({ mac: MAC, ...opts, schedule: (w) => sched.queue(w) });
  fn.plug({ dma: { iotlb, mem: phys }, msix: (v) => irqs.push(v) });
  return { phys, ram: file.obj.bytes, ramSize, iotlb, sched, irqs, fn, settle: () => sched.drain() };
}

export interface BarInfo {
  size: number;
  addr: bigint;
  mem64: boolean;
  prefetch: boolean;
}

/** Firmware: sizes every BAR (all-ones, read back, restore), assigns addresses, enables decode and bus mastering. */
export function enumerate(fn: PciFunction): Map<number, BarInfo> {
  const bars = new Map<number, BarInfo>();
  for (let bar = 0; bar < 6; bar++) {
    const reg = PCI_BASE_ADDRESS_0 + 4 * bar;
    const orig = fn.configRead(reg, 4);
    fn.configWrite(reg, 4, 0xffffffff);
    const lo = fn.configRead(reg, 4);
    fn.configWrite(reg, 4, orig);
    if (lo === 0) continue;
    const mem64 = (lo & 0x6) === 0x4;
    let mask = BigInt(lo & ~0xf);
    if (mem64) {
      const origHi = fn.configRead(reg + 4, 4);
      fn.configWrite(reg + 4, 4, 0xffffffff);
      mask |= BigInt(fn.configRead(reg + 4, 4)) << 32n;
      fn.configWrite(reg + 4, 4, origHi);
    } else {
      mask |= 0xffffffff00000000n;
    }
    const size = Number(BigInt.asUintN(64, ~mask) + 1n);
    const addr = BAR_BASE[bar] ?? 0xfe00_0000n + BigInt(bar) * 0x10_0000n;
    fn.configWrite(reg, 4, Number(addr & 0xffffffffn));
    if (mem64) fn.configWrite(reg + 4, 4, Number(addr >> 32n));
    bars.set(bar, { size, addr, mem64, prefetch: (lo & 0x8) !== 0 });
    if (mem64) bar++;
  }
  fn.configWrite(PCI_COMMAND, 2, fn.configRead(PCI_COMMAND, 2) | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
  return bars;
}

export interface VirtioCap {
  pos: number;
  cfgType: number;
  bar: number;
  offset: number;
  length: number;
  /** notify_off_multiplier (NOTIFY only). */
  mult?: number;
}

/** The capability list as read from config space, in list order. */
export function walkCaps(fn: PciFunction): { id: number; pos: number; len: number }[] {
  const out: { id: number; pos: number; len: number }[] = [];
  if (!(fn.configRead(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST)) return out;
  let pos = fn.configRead(PCI_CAPABILITY_LIST, 1) & ~3;
  for (let ttl = 48; pos >= 0x40 && ttl > 0; ttl--) {
    const id = fn.configRead(pos, 1);
    out.push({ id, pos, len: id === PCI_CAP_ID_VNDR ? fn.configRead(pos + 2, 1) : 0 });
    pos = fn.configRead(pos + 1, 1) & ~3;
  }
  return out;
}

/**
 * virtio_pci_find_capability() as vp_modern_probe uses it: the first vendor capability of the
 * type whose BAR is a memory BAR (< 6).
 */
export function findVirtioCap(fn: PciFunction, cfgType: number): VirtioCap | undefined {
  for (const c of walkCaps(fn)) {
    if (c.id !== PCI_CAP_ID_VNDR) continue;
    const type = fn.configRead(c.pos + 3, 1);
    const bar = fn.configRead(c.pos + 4, 1);
    if (type !== cfgType || bar >= 6) continue;
    const cap: VirtioCap = { pos: c.pos, cfgType: type, bar, offset: fn.configRead(c.pos + 8, 4), length: fn.configRead(c.pos + 12, 4) };
    if (type === VIRTIO_PCI_CAP_NOTIFY_CFG) cap.mult = fn.configRead(c.pos + 16, 4);
    return cap;
  }
  return undefined;
}

export function msixCap(fn: PciFunction): number {
  const c = walkCaps(fn).find((x) => x.id === PCI_CAP_ID_MSIX);
  if (!c) throw new Error('no MSI-X capability');
  return c.pos;
}

/** A guest-RAM bump allocator, page-aligned. */
export class RamAlloc {
  private next: number;
  constructor(start = 0x10_0000) {
    this.next = start;
  }
  alloc(size: number, align = PAGE_SIZE): number {
    const at = Math.ceil(this.next / align) * align;
    this.next = at + size;
    return at;
  }
}

export interface DriverQueue {
  index: number;
  vq: VirtqueueSplit<number>;
  desc: number;
  avail: number;
  used: number;
  num: number;
}

/** The driver: common cfg, ISR, device cfg and notify through barRead/barWrite. */
export class Driver {
  readonly bars: Map<number, BarInfo>;
  readonly common: VirtioCap;
  readonly isr: VirtioCap;
  readonly device: VirtioCap;
  readonly notify: VirtioCap;
  readonly msix: number;
  readonly queues = new Map<number, DriverQueue>();
  readonly alloc = new RamAlloc();

  constructor(readonly world: World) {
    this.bars = enumerate(world.fn);
    const need = (t: number) => {
      const c = findVirtioCap(world.fn, t);
      if (!c) throw new Error(`no virtio capability ${t}`);
      return c;
    };
    this.common = need(VIRTIO_PCI_CAP_COMMON_CFG);
    this.isr = need(VIRTIO_PCI_CAP_ISR_CFG);
    this.device = need(VIRTIO_PCI_CAP_DEVICE_CFG);
    this.notify = need(VIRTIO_PCI_CAP_NOTIFY_CFG);
    this.msix = msixCap(world.fn);
  }

  get fn(): VirtioNetPci {
    return this.world.fn;
  }

  r(off: number, size: 1 | 2 | 4): number {
    return this.fn.barRead(this.common.bar, this.common.offset + off, size) as number;
  }
  wr(off: number, size: 1 | 2 | 4, v: number): void {
    this.fn.barWrite(this.common.bar, this.common.offset + off, size, v);
  }
  r64(off: number): bigint {
    return this.fn.barRead(this.common.bar, this.common.offset + off, 8) as bigint;
  }

  deviceFeatures(): bigint {
    this.wr(VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
    const lo = this.r(VIRTIO_PCI_COMMON_DF, 4);
    this.wr(VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
    const hi = this.r(VIRTIO_PCI_COMMON_DF, 4);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  writeFeatures(f: bigint): void {
    this.wr(VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
    this.wr(VIRTIO_PCI_COMMON_GF, 4, Number(f & 0xffffffffn));
    this.wr(VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
    this.wr(VIRTIO_PCI_COMMON_GF, 4, Number(f >> 32n));
  }

  get status(): number {
    return this.r(VIRTIO_PCI_COMMON_STATUS, 1);
  }
  set status(v: number) {
    this.wr(VIRTIO_PCI_COMMON_STATUS, 1, v);
  }

  readIsr(): number {
    return this.fn.barRead(this.isr.bar, this.isr.offset, 1) as number;
  }

  cfg8(off: number): number {
    return this.fn.barRead(this.device.bar, this.device.offset + off, 1) as number;
  }
  cfg16(off: number): number {
    return this.fn.barRead(this.device.bar, this.device.offset + off, 2) as number;
  }

  /** MSI-X on with every vector unmasked. */
  enableMsix(): void {
    const flags = this.fn.configRead(this.msix + PCI_MSIX_FLAGS, 2);
    this.fn.configWrite(this.msix + PCI_MSIX_FLAGS, 2, flags | PCI_MSIX_FLAGS_ENABLE);
    const table = this.fn.configRead(this.msix + PCI_MSIX_TABLE, 4);
    const n = (flags & 0x7ff) + 1;
    for (let v = 0; v < n; v++) {
      const e = (table & ~7) + 16 * v;
      this.fn.barWrite(table & 7, e, 4, 0xfee0_0000);
      this.fn.barWrite(table & 7, e + 8, 4, 0x4000 + v);
      this.fn.barWrite(table & 7, e + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
    }
  }

  /** reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK; true if the device kept FEATURES_OK. */
  negotiate(features: bigint): boolean {
    this.status = 0;
    this.status = VIRTIO_CONFIG_S_ACKNOWLEDGE;
    this.status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
    this.writeFeatures(features);
    this.status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK;
    return (this.status & VIRTIO_CONFIG_S_FEATURES_OK) !== 0;
  }

  /** Rings for queue `index` in RAM, programmed and enabled; `vector` its MSI-X vector. */
  setupQueue(index: number, o: { num?: number; vector?: number; eventIdx?: boolean; usedSkew?: number } = {}): DriverQueue {
    this.wr(VIRTIO_PCI_COMMON_Q_SELECT, 2, index);
    const num = o.num ?? this.r(VIRTIO_PCI_COMMON_Q_SIZE, 2);
    this.wr(VIRTIO_PCI_COMMON_Q_SIZE, 2, num);
    const desc = this.alloc.alloc(16 * num);
    const avail = this.alloc.alloc(6 + 2 * num, 2);
    // usedSkew moves the used ring off its page start, so that its entries straddle pages.
    const skew = o.usedSkew ?? 0;
    const used = this.alloc.alloc(skew + 6 + 8 * num) + skew;
    const vq = new VirtqueueSplit<number>({ mem: this.world.ram, num, desc, avail, used, eventIdx: o.eventIdx ?? false });
    this.wr(VIRTIO_PCI_COMMON_Q_DESCLO, 4, desc);
    this.wr(VIRTIO_PCI_COMMON_Q_DESCHI, 4, 0);
    this.wr(VIRTIO_PCI_COMMON_Q_AVAILLO, 4, avail);
    this.wr(VIRTIO_PCI_COMMON_Q_AVAILHI, 4, 0);
    this.wr(VIRTIO_PCI_COMMON_Q_USEDLO, 4, used);
    this.wr(VIRTIO_PCI_COMMON_Q_USEDHI, 4, 0);
    if (o.vector !== undefined) this.wr(VIRTIO_PCI_COMMON_Q_MSIX, 2, o.vector);
    this.wr(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
    const q: DriverQueue = { index, vq, desc, avail, used, num };
    this.queues.set(index, q);
    return q;
  }

  /** The doorbell of queue `index` (vp_modern_map_vq_notify's address). */
  kick(index: number): void {
    this.wr(VIRTIO_PCI_COMMON_Q_SELECT, 2, index);
    const off = this.r(VIRTIO_PCI_COMMON_Q_NOFF, 2);
    this.fn.barWrite(this.notify.bar, this.notify.offset + off * (this.notify.mult as number), 2, index);
  }

  /**
   * The whole bring-up: negotiate, MSI-X (config vector 0, queue q vector q + 1), the queues,
   * DRIVER_OK. Returns the negotiated features.
   */
  up(o: { features?: bigint; queues: number[]; eventIdx?: boolean; num?: number; usedSkew?: number }): bigint {
    const features = o.features ?? bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_ACCESS_PLATFORM) | (o.eventIdx ? bit(VIRTIO_RING_F_EVENT_IDX) : 0n);
    if (!this.negotiate(features)) throw new Error('FEATURES_OK refused');
    this.enableMsix();
    this.wr(VIRTIO_PCI_COMMON_MSIX, 2, 0);
    for (const q of o.queues) {
      this.setupQueue(q, { vector: q + 1, ...(o.eventIdx ? { eventIdx: true } : {}), ...(o.num ? { num: o.num } : {}), ...(o.usedSkew ? { usedSkew: o.usedSkew } : {}) });
    }
    this.status = this.status | VIRTIO_CONFIG_S_DRIVER_OK;
    return features;
  }

  q(index: number): DriverQueue {
    const q = this.queues.get(index);
    if (!q) throw new Error(`queue ${index} not set up`);
    return q;
  }
}

/** A frame with the driver's virtio-net header (zero) in front, in RAM at `addr`. */
export function putPacket(ram: Uint8Array, addr: number, frame: Uint8Array, hdrLen = HDR_LEN): number {
  ram.fill(0, addr, addr + hdrLen);
  ram.set(frame, addr + hdrLen);
  return hdrLen + frame.length;
}

/** An Ethernet frame to `dst` with `payload` (EtherType 0x88b5, local experimental). */
export function ethFrame(dst: Uint8Array | number[], payload: Uint8Array | number[], src: number[] = [2, 0, 0, 0, 0, 0xee]): Uint8Array {
  const p = Uint8Array.from(payload);
  const f = new Uint8Array(14 + p.length);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = 0x88;
  f[13] = 0xb5;
  f.set(p, 14);
  return f;
}

/** Deterministic pseudo-random bytes (xorshift32). */
export function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}
