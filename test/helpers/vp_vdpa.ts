// Test fixtures for vp_vdpa: a simulated host with vp_vdpa loaded and an emulated virtio-net-pci
// function bound to it, `vdpa dev add` on its PCI management device (bus "pci", name = slot), and
// a process that has /dev/vhost-vdpa-0 open with guest memory mapped through IOTLB messages the
// way QEMU maps it (PA mode: pinned pages, the platform IOMMU domain of vhost-vdpa).

import type { PciDev } from '../../drivers/pci/pci.js';
import type { VdpaDevice } from '../../drivers/vdpa/vdpa.js';
import type { VpVdpa, VpVdpaParams } from '../../drivers/vdpa/virtio_pci/index.js';
import type { VhostVdpa as VhostVdpaDev } from '../../drivers/vhost/vdpa.js';
import type { ModuleName } from '../../drivers/profile.js';
import { type UserEventFd, type UserMemory, VhostVdpa } from '../../lib/vhost_vdpa/index.js';
import { VirtqueueSplit } from '../../lib/virtio/index.js';
import { Host, ModelUserSpace } from '../../sim/host/index.js';
import type { LmOptions, VirtioNetPci, VirtioNetPciOptions } from '../../sim/pci/index.js';
import { DEFAULT_PCI_SLOT, plugVirtioNetPci } from '../../sim/scenarios/pci.js';
import {
  type UapiProfile,
  VHOST_ACCESS_RW,
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_F_ACCESS_PLATFORM,
  VIRTIO_F_VERSION_1,
  errnoName,
} from '../../uapi/index.js';
import { HDR_LEN, ethFrame, putPacket } from '../pci/helpers.js';
import { type NlResult, vdpaRequest } from './vdpa_nl.js';

export const ACK_DRIVER = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
export const FEATURES_OK = ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK;
export const DRIVER_OK = FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK;
export const bit = (n: number): bigint => 1n << BigInt(n);
/** What vring_transport_features() lets a driver keep of the function's transport bits. */
export const BASE_FEATURES = bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_ACCESS_PLATFORM);
export const PAGE = 4096;

export interface VpHostOptions extends Omit<VirtioNetPciOptions, 'schedule' | 'lm'> {
  profile?: UapiProfile;
  /** The function's LM block (`vdpa=on`); default none. */
  lm?: false | LmOptions;
  /** vp_vdpa's lm_layout parameter; default the function's layout. */
  lmLayout?: VpVdpaParams['lmLayout'];
  /** Load vhost_vdpa too (default true). */
  vhost?: boolean;
  coherentDma?: boolean;
  slot?: string;
}

export interface VpHost {
  host: Host;
  fn: VirtioNetPci;
  pdev: PciDev;
  slot: string;
}

/** A host with vp_vdpa (and vhost_vdpa) and one virtio-net-pci function bound to vp_vdpa. */
export function vpHost(o: VpHostOptions = {}): VpHost {
  const { profile = 'upstream', lm = false, lmLayout, vhost = true, coherentDma, slot, ...fnOpts } = o;
  const modules: ModuleName[] = vhost ? ['vdpa', 'vhost_vdpa', 'vp_vdpa'] : ['vdpa', 'vp_vdpa'];
  const layout = lmLayout ?? (lm ? (lm.layout ?? 'code') : 'code');
  const host = Host.boot({ profile, modules, params: { vp_vdpa: { lmLayout: layout } } });
  const plugged = plugVirtioNetPci(host, {
    ...fnOpts,
    lm,
    ...(coherentDma === undefined ? {} : { coherentDma }),
    ...(slot === undefined ? {} : { slot }),
  });
  return { host, ...plugged };
}

export interface VpDevAdd {
  name?: string;
  /** The management device's name; default the function's slot. */
  mgmtdev?: string;
  /** VDPA_ATTR_MGMTDEV_BUS_NAME; default "pci". Null leaves it out. */
  bus?: string | null;
  features?: bigint;
  mac?: Uint8Array;
  mtu?: number;
  maxVqp?: number;
}

/** `vdpa dev add name NAME mgmtdev pci/SLOT ...` as iproute2 sends it: the request's result. */
export function vpDevAdd(host: Host, o: VpDevAdd = {}): NlResult {
  return vdpaRequest(host, 'VDPA_CMD_DEV_NEW', (w, A) => {
    if (o.bus !== null) w.putString(A.VDPA_ATTR_MGMTDEV_BUS_NAME as number, o.bus ?? 'pci');
    w.putString(A.VDPA_ATTR_MGMTDEV_DEV_NAME as number, o.mgmtdev ?? DEFAULT_PCI_SLOT);
    w.putString(A.VDPA_ATTR_DEV_NAME as number, o.name ?? 'vdpa0');
    if (o.mac) w.put(A.VDPA_ATTR_DEV_NET_CFG_MACADDR as number, o.mac);
    if (o.mtu !== undefined) w.putU16(A.VDPA_ATTR_DEV_NET_CFG_MTU as number, o.mtu);
    if (o.maxVqp !== undefined) w.putU16(A.VDPA_ATTR_DEV_NET_CFG_MAX_VQP as number, o.maxVqp);
    if (o.features !== undefined) w.putU64(A.VDPA_ATTR_DEV_FEATURES as number, o.features);
  });
}

/** `vdpa dev add` that must succeed: the vdpa device. */
export function vpDevice(vp: VpHost, o: VpDevAdd = {}): VdpaDevice {
  const r = vpDevAdd(vp.host, { mgmtdev: vp.slot, ...o });
  if (r.error) throw new Error(`vdpa dev add on ${vp.slot}: ${errnoName(r.error)} ${r.extack ?? ''}`);
  const vdev = vp.host.bus.findDevice(o.name ?? 'vdpa0');
  if (!vdev) throw new Error('vdpa dev add succeeded but the device is not on the bus');
  return vdev;
}

/** The vp_vdpa behind a vdpa device. */
export const vpOf = (vdev: VdpaDevice): VpVdpa => vdev.parent as VpVdpa;

/** How many MSI-X vectors the function has allocated (pci_irq_vector answers for each). */
export function allocatedVectors(pdev: PciDev): number {
  let n = 0;
  while (pdev.irqVector(n) >= 0) n++;
  return n;
}

export interface VpOpen extends VpHost {
  vdev: VdpaDevice;
  us: ModelUserSpace;
  v: VhostVdpa;
  /** vhost-vdpa's side (its IOMMU domain, log area). */
  vhost: VhostVdpaDev;
}

/** vpHost + dev add + a process with /dev/vhost-vdpa-0 open and owned. */
export function vpOpen(o: VpHostOptions & { dev?: VpDevAdd } = {}): VpOpen {
  const { dev, ...hostOpts } = o;
  const vp = vpHost(hostOpts);
  const vdev = vpDevice(vp, dev);
  const us = new ModelUserSpace(vp.host, vp.host.spawn({ comm: 'vmm' }));
  const v = VhostVdpa.open(us, '/dev/vhost-vdpa-0');
  v.setOwner();
  return { ...vp, vdev, us, v, vhost: vdev.drvdata as VhostVdpaDev };
}

/** Shared, populated memory of the process. */
export function userMem(us: ModelUserSpace, bytes: number): UserMemory {
  const m = us.mmap(bytes, { shared: true, populate: true });
  if (typeof m === 'number') throw new Error(`mmap: ${errnoName(m)}`);
  return m;
}

/** Guest RAM: process memory mapped RW at IOVA `iova` (QEMU's 1:1 GPA mapping when iova is 0). */
export interface GuestRam {
  mem: UserMemory;
  iova: number;
}

export function mapGuestRam(t: { us: ModelUserSpace; v: VhostVdpa }, bytes: number, iova = 0): GuestRam {
  const mem = userMem(t.us, bytes);
  t.v.iotlbUpdate({ iova: BigInt(iova), size: BigInt(bytes), uaddr: BigInt(mem.addr), perm: VHOST_ACCESS_RW });
  return { mem, iova };
}

/** A driver-side split ring in guest RAM at `off`: descriptors, avail, used (used on its own page). */
export interface GuestRing {
  vq: VirtqueueSplit<number>;
  desc: bigint;
  avail: bigint;
  used: bigint;
  num: number;
  /** Where the ring's pages end (the next free offset, page aligned). */
  end: number;
}

export function guestRing(ram: GuestRam, off: number, num: number): GuestRing {
  const desc = ram.iova + off;
  const avail = desc + 16 * num;
  const used = Math.ceil((avail + 6 + 2 * num) / PAGE) * PAGE;
  const end = Math.ceil((used + 6 + 8 * num) / PAGE) * PAGE;
  const vq = new VirtqueueSplit<number>({ mem: ram.mem.bytes, memBase: ram.iova, num, desc, avail, used });
  return { vq, desc: BigInt(desc), avail: BigInt(avail), used: BigInt(used), num, end: end - ram.iova };
}

/** SET_VRING_NUM/ADDR for `q` over ring `r`. */
export function setVring(v: VhostVdpa, q: number, r: GuestRing): void {
  v.setVringNum(q, r.num);
  v.setVringAddr(q, { desc: r.desc, avail: r.avail, used: r.used });
}

/** ACK, DRIVER, SET_FEATURES, FEATURES_OK. */
export function negotiate(v: VhostVdpa, features = BASE_FEATURES): void {
  v.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE);
  v.setStatus(ACK_DRIVER);
  v.setFeatures(features);
  v.setStatus(FEATURES_OK);
}

/** The driver's virtio_net_hdr_v1 (VERSION_1): 12 bytes, zero. Frames are built as test/pci builds them. */
export const NET_HDR_LEN = HDR_LEN;
export { ethFrame, putPacket };

export const BROADCAST = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff);

export interface NetRigOptions extends VpHostOptions {
  dev?: VpDevAdd;
  /** Guest RAM bytes (mapped at IOVA 0); default 1 MiB. */
  ramBytes?: number;
  features?: bigint;
  /** Ring size of RX (vq 0) and TX (vq 1); default 64. */
  num?: number;
  /** Give vq 0 and vq 1 call eventfds; default true. */
  calls?: boolean;
  /** Backend features to ack before anything else. */
  backend?: bigint;
  /** Stop before DRIVER_OK (rings set up, enabled). */
  noDriverOk?: boolean;
}

/**
 * A QEMU-like bring-up of vq 0 (RX) and vq 1 (TX) over /dev/vhost-vdpa-0: guest RAM mapped at
 * IOVA 0, features, SET_VRING_NUM/ADDR/BASE(0)/KICK/CALL/ENABLE, DRIVER_OK; then the guest
 * driver's half (lib/virtio split rings in that RAM) with kicks through the kick eventfds.
 */
export class NetRig {
  readonly t: VpOpen;
  readonly ram: GuestRam;
  readonly rx: GuestRing;
  readonly tx: GuestRing;
  readonly kick: UserEventFd[];
  readonly call: (UserEventFd | undefined)[];
  private next: number;

  constructor(o: NetRigOptions = {}) {
    const { ramBytes = 1 << 20, features = BASE_FEATURES, num = 64, calls = true, backend, noDriverOk = false, ...open } = o;
    this.t = vpOpen(open);
    const { v, us } = this.t;
    if (backend !== undefined) v.setBackendFeatures(backend);
    this.ram = mapGuestRam(this.t, ramBytes);
    negotiate(v, features);
    // Not at IOVA 0: QEMU takes a queue whose descriptor address is 0 as not set up.
    this.rx = guestRing(this.ram, PAGE, num);
    this.tx = guestRing(this.ram, this.rx.end, num);
    this.next = this.tx.end;
    this.kick = [];
    this.call = [];
    for (const q of [0, 1]) {
      const k = us.eventfd();
      if (typeof k === 'number') throw new Error(`eventfd: ${errnoName(k)}`);
      v.setVringKick(q, k.fd);
      this.kick.push(k);
      const c = calls ? us.eventfd() : undefined;
      if (typeof c === 'number') throw new Error(`eventfd: ${errnoName(c)}`);
      if (c) v.setVringCall(q, c.fd);
      this.call.push(c);
    }
    this.rings([0, 0]);
    if (!noDriverOk) v.setStatus(DRIVER_OK);
  }

  /** SET_VRING_NUM/ADDR/BASE/ENABLE of RX and TX (kick and call eventfds stay with vhost). */
  private rings(bases: readonly [number, number]): void {
    for (const [q, ring] of [this.rx, this.tx].entries()) {
      setVring(this.v, q, ring);
      this.v.setVringBase(q, bases[q] as number);
      this.v.setVringEnable(q, true);
    }
  }

  /**
   * A device reset and a new bring-up of the same rings (what a VMM does at a migration
   * destination): SET_STATUS 0, features, SET_VRING_BASE with `bases` for RX and TX, DRIVER_OK.
   */
  restart(bases: readonly [number, number], features = BASE_FEATURES): void {
    this.v.setStatus(0);
    negotiate(this.v, features);
    this.rings(bases);
    this.v.setStatus(DRIVER_OK);
  }

  get v(): VhostVdpa {
    return this.t.v;
  }

  get bytes(): Uint8Array {
    return this.ram.mem.bytes;
  }

  /** `size` bytes of RAM after the rings (offset = IOVA, RAM being at 0). */
  alloc(size: number, align = 16): number {
    const at = Math.ceil(this.next / align) * align;
    if (at + size > this.ram.mem.length) throw new Error('NetRig: guest RAM exhausted');
    this.next = at + size;
    return at;
  }

  /** Makes an RX buffer of `size` bytes at `addr` available (no kick: the device looks at RX when a frame comes). */
  postRx(addr: number, size: number): void {
    this.rx.vq.addInbuf(this.ram.iova + addr, size, addr);
  }

  /** Puts header + frame at `addr`, makes it available on TX and kicks through the eventfd. */
  send(addr: number, frame: Uint8Array): void {
    this.tx.vq.addOutbuf(this.ram.iova + addr, putPacket(this.bytes, addr, frame), addr);
    this.kickVq(1);
  }

  kickVq(q: number): void {
    (this.kick[q] as UserEventFd).write(1n);
  }

  settle(): void {
    this.t.host.settleSync();
  }

  /** Buffers the device completed on `ring`: [data (its RAM offset), used length]. */
  reap(ring: GuestRing): [number, number][] {
    const out: [number, number][] = [];
    for (let d = ring.vq.getBuf(); d !== undefined; d = ring.vq.getBuf()) out.push([d, ring.vq.lastLen]);
    return out;
  }

  /** The call eventfd counter of `q` (read-to-clear), 0 when nothing was signalled. */
  calls(q: number): number {
    const c = this.call[q];
    if (!c) return 0;
    const r = c.read();
    return typeof r === 'number' ? 0 : Number(r);
  }
}
