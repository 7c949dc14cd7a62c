// A vdpasim_netx device driven through /dev/vhost-vdpa-N with driver-side split rings, as a VMM
// would drive it: every one of its 2 * max_vqp + 1 queues (rx0 tx0 rx1 tx1 ... cvq), the CVQ
// at the index the negotiated features give it (2 * max_vqp with MQ, else 2), EVENT_IDX and
// INDIRECT_DESC when negotiated, kick and call eventfds per queue and a config-call eventfd.
// Guest RAM is one shared mapping at IOVA 0x40000000, mapped in ASID 0 (and ASID 1 when the CVQ
// group is moved there). Frames and commands go through the rings; device work runs on settle().

import type { VdpaSim, VdpaSimNetx } from '../../drivers/vdpa/vdpa_sim/index.js';
import type { VhostVdpa as VhostVdpaDriver } from '../../drivers/vhost/vdpa.js';
import { type NetAttachment, Wire } from '../../lib/net/index.js';
import { type UserEventFd, type UserMemory, VhostVdpa } from '../../lib/vhost_vdpa/index.js';
import { VirtqueueSplit } from '../../lib/virtio/index.js';
import { Host, ModelUserSpace } from '../../sim/host/index.js';
import {
  EFD_NONBLOCK,
  type UapiProfile,
  VHOST_BACKEND_F_IOTLB_ASID,
  VHOST_BACKEND_F_IOTLB_BATCH,
  VHOST_BACKEND_F_IOTLB_MSG_V2,
  VIRTIO_NET_F_CTRL_VQ,
  VIRTIO_NET_F_MQ,
  VIRTIO_RING_F_EVENT_IDX,
  VIRTIO_RING_F_INDIRECT_DESC,
  vdpaAttrs,
  virtioNetConfig,
} from '../../uapi/index.js';
import { type DevAddOptions, devAdd, vdpaRequest } from './vdpa_nl.js';

export const NETX_IOVA = 0x40000000;
export const NETX_MODULES = ['vdpa', 'vhost_vdpa', 'vdpa_sim', 'vdpa_sim_net', 'vdpa_sim_netx'] as const;
/** virtio_net_hdr_v1 (VERSION_1 without HASH_REPORT). */
export const HDR_LEN = 12;
export const bit = (n: number): bigint => 1n << BigInt(n);
const S_ACK_DRIVER = 0x3;
const S_FEATURES_OK = 0xb;
const S_DRIVER_OK = 0xf;
const INDIRECT_ENTRIES = 4;

/** Boots a host with the netx module (and vdpa_sim_net, to compare). */
export function netxHost(profile: UapiProfile = 'upstream'): Host {
  return Host.boot({ profile, modules: NETX_MODULES });
}

/** `vdpa dev add ... mgmtdev vdpasim_netx`; throws when refused. */
export function addNetx(host: Host, o: Omit<DevAddOptions, 'mgmtdev'> & { mgmtdev?: string }): void {
  const r = devAdd(host, { mgmtdev: 'vdpasim_netx', ...o });
  if (r.error) throw new Error(`dev add ${o.name}: ${r.error} ${r.extack ?? ''}`);
}

/** The simulator of a device by name. */
export function simOf(host: Host, name: string): VdpaSim {
  const sim = host.bus.findDevice(name)?.parent as VdpaSim | undefined;
  if (!sim) throw new Error(`no vdpa device ${name}`);
  return sim;
}

/** The VdpaSimNetx port of a netx device. */
export function netxOf(host: Host, name: string): VdpaSimNetx {
  return simOf(host, name).net?.port as VdpaSimNetx;
}

/** Two devices on one cable. */
export function wire(host: Host, a: string, b: string): Wire {
  return new Wire(simOf(host, a).net as NetAttachment, simOf(host, b).net as NetAttachment);
}

/** `vdpa dev vstats show NAME qidx N`: the vendor name/value pairs, or the error. */
export function vstats(host: Host, name: string, qidx: number): Record<string, bigint> | { error: number; extack?: string } {
  const r = vdpaRequest(host, 'VDPA_CMD_DEV_VSTATS_GET', (w, A) => {
    w.putString(A.VDPA_ATTR_DEV_NAME as number, name);
    w.putU32(A.VDPA_ATTR_DEV_QUEUE_INDEX as number, qidx);
  });
  if (r.error) return r.extack === undefined ? { error: r.error } : { error: r.error, extack: r.extack };
  const A = vdpaAttrs(host.profile.name) as Record<string, number>;
  const nameAttr = A.VDPA_ATTR_DEV_VENDOR_ATTR_NAME;
  const valueAttr = A.VDPA_ATTR_DEV_VENDOR_ATTR_VALUE;
  const out: Record<string, bigint> = {};
  let key = '';
  for (const a of r.replies[0]?.attrs.list ?? []) {
    if (a.type === nameAttr) key = new TextDecoder().decode(a.payload.subarray(0, a.payload.indexOf(0)));
    if (a.type === valueAttr) out[key] = new DataView(a.payload.buffer, a.payload.byteOffset).getBigUint64(0, true);
  }
  return out;
}

/** Length of `a` and the first index where it differs from `b` (-1: none): cheap to compare for big frames. */
export function diff(a: Uint8Array | undefined, b: Uint8Array): { len: number; firstDiff: number } {
  if (!a) return { len: -1, firstDiff: 0 };
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return { len: a.length, firstDiff: i === n && a.length === b.length ? -1 : i };
}

/** A frame: a zero virtio_net_hdr_v1, dst, src, an optional 802.1Q tag, EtherType 0x88b5, `payload` bytes. */
export function frame(o: { dst: readonly number[]; src?: readonly number[]; vid?: number; payload?: number; fill?: number }): Uint8Array {
  const tag = o.vid === undefined ? 0 : 4;
  const payload = o.payload ?? 46;
  const f = new Uint8Array(HDR_LEN + 14 + tag + payload);
  f.set(o.dst, HDR_LEN);
  f.set(o.src ?? [0x02, 0xee, 0, 0, 0, 1], HDR_LEN + 6);
  let at = HDR_LEN + 12;
  if (o.vid !== undefined) {
    f[at] = 0x81;
    f[at + 1] = 0x00;
    f[at + 2] = (o.vid >> 8) & 0x0f;
    f[at + 3] = o.vid & 0xff;
    at += 4;
  }
  f[at] = 0x88;
  f[at + 1] = 0xb5;
  for (let i = at + 2; i < f.length; i++) f[i] = ((o.fill ?? 0) + i) & 0xff;
  return f;
}

export interface NetxDriverOptions {
  /** The device's name on the bus (default vdpa0). */
  name?: string;
  /** Driver features to negotiate (default: everything the device offers). */
  features?: bigint;
  /** Queue size (default 64). */
  num?: number;
  /** Queues made ready (default: every data queue of the negotiated layout and the CVQ). */
  enable?: readonly number[];
  noDriverOk?: boolean;
  /** Moves group 1 (the CVQ) to this ASID before DRIVER_OK, and maps RAM there too. */
  cvqAsid?: number;
  /** Guest RAM size (default 4 MiB). */
  ramSize?: number;
}

/** A driver of one netx device through its vhost-vdpa node. */
export class NetxDriver {
  readonly us: ModelUserSpace;
  readonly v: VhostVdpa;
  readonly sim: VdpaSim;
  readonly ram: UserMemory;
  readonly features: bigint;
  readonly maxVqp: number;
  /** Queues of the negotiated layout: 2 * pairs data queues, then the CVQ if negotiated. */
  readonly vqs: VirtqueueSplit<number>[] = [];
  readonly kicks: UserEventFd[] = [];
  readonly calls: UserEventFd[] = [];
  readonly configCall: UserEventFd;
  /** IOVAs of each queue's ring parts, and its size. */
  readonly rings: { desc: number; avail: number; used: number; num: number }[] = [];
  readonly cvq: number;
  private next = 0;
  private readonly ctrlBuf: number;

  constructor(
    readonly host: Host,
    o: NetxDriverOptions = {},
  ) {
    const name = o.name ?? 'vdpa0';
    const vdev = host.bus.findDevice(name);
    if (!vdev) throw new Error(`no vdpa device ${name}`);
    this.sim = vdev.parent as VdpaSim;
    const node = (vdev.drvdata as VhostVdpaDriver).name;
    this.us = new ModelUserSpace(host, host.spawn({ comm: `drv-${name}` }));
    this.v = VhostVdpa.open(this.us, `/dev/${node}`);
    const ram = this.us.mmap(o.ramSize ?? 4 << 20, { shared: true, populate: true });
    if (typeof ram === 'number') throw new Error(`mmap ${ram}`);
    this.ram = ram;
    const v = this.v;
    v.setOwner();
    v.setBackendFeatures(bit(VHOST_BACKEND_F_IOTLB_MSG_V2) | bit(VHOST_BACKEND_F_IOTLB_BATCH) | bit(VHOST_BACKEND_F_IOTLB_ASID));
    v.setStatus(S_ACK_DRIVER);
    const offered = v.getFeatures();
    this.features = o.features ?? offered;
    v.setFeatures(this.features);
    v.setStatus(S_FEATURES_OK);
    const cfg = v.getConfig(0, virtioNetConfig.size);
    this.maxVqp = new DataView(cfg.buffer, cfg.byteOffset).getUint16(virtioNetConfig.offsetOf('max_virtqueue_pairs'), true);
    const map = { iova: BigInt(NETX_IOVA), size: BigInt(ram.length), uaddr: BigInt(ram.addr), perm: 3 };
    v.iotlbUpdate({ ...map, asid: 0 });
    if (o.cvqAsid !== undefined) {
      v.setGroupAsid(1, o.cvqAsid);
      if (o.cvqAsid !== 0) v.iotlbUpdate({ ...map, asid: o.cvqAsid });
    }
    const mq = this.has(VIRTIO_NET_F_MQ);
    const pairs = mq ? this.maxVqp : 1;
    const hasCvq = this.has(VIRTIO_NET_F_CTRL_VQ);
    this.cvq = hasCvq ? 2 * pairs : -1;
    const nq = 2 * pairs + (hasCvq ? 1 : 0);
    const num = o.num ?? 64;
    const eventIdx = this.has(VIRTIO_RING_F_EVENT_IDX);
    const indirect = this.has(VIRTIO_RING_F_INDIRECT_DESC);
    for (let q = 0; q < nq; q++) {
      const desc = this.alloc(16 * num, 4096);
      const avail = this.alloc(6 + 2 * num, 2);
      const used = this.alloc(6 + 8 * num, 4096);
      const ind = indirect ? this.alloc(num * INDIRECT_ENTRIES * 16, 16) : 0;
      this.rings.push({ desc, avail, used, num });
      this.vqs.push(
        new VirtqueueSplit<number>({
          mem: ram.bytes,
          memBase: NETX_IOVA,
          num,
          desc,
          avail,
          used,
          eventIdx,
          ...(indirect ? { indirect: { base: ind, entries: INDIRECT_ENTRIES } } : {}),
        }),
      );
      v.setVringNum(q, num);
      v.setVringAddr(q, { desc: BigInt(desc), avail: BigInt(avail), used: BigInt(used) });
      v.setVringBase(q, 0);
      const kick = this.us.eventfd(0, EFD_NONBLOCK);
      const call = this.us.eventfd(0, EFD_NONBLOCK);
      if (typeof kick === 'number' || typeof call === 'number') throw new Error('eventfd');
      v.setVringKick(q, kick.fd);
      v.setVringCall(q, call.fd);
      if (!o.enable || o.enable.includes(q)) v.setVringEnable(q, 1);
      this.kicks.push(kick);
      this.calls.push(call);
    }
    const cc = this.us.eventfd(0, EFD_NONBLOCK);
    if (typeof cc === 'number') throw new Error('eventfd');
    this.configCall = cc;
    v.setConfigCall(cc.fd);
    this.ctrlBuf = this.alloc(8192, 16);
    if (!o.noDriverOk) v.setStatus(S_DRIVER_OK);
  }

  has(f: number): boolean {
    return (this.features & bit(f)) !== 0n;
  }

  /** A bump allocation in guest RAM: its IOVA. */
  alloc(len: number, align = 64): number {
    this.next = Math.ceil(this.next / align) * align;
    const iova = NETX_IOVA + this.next;
    this.next += len;
    if (this.next > this.ram.length) throw new Error('netx harness: out of guest RAM');
    return iova;
  }

  /** The RAM bytes at an IOVA. */
  at(iova: number, len: number): Uint8Array {
    return this.ram.bytes.subarray(iova - NETX_IOVA, iova - NETX_IOVA + len);
  }

  /** Posts `count` RX buffers of `len` bytes on the RX queue of `pair`; kicks if asked and kickPrepare agrees. */
  postRx(pair: number, count = 1, len = 2048, kick = true): void {
    const vq = this.vqs[2 * pair] as VirtqueueSplit<number>;
    for (let i = 0; i < count; i++) {
      const iova = this.alloc(len);
      this.at(iova, len).fill(0xee);
      if (vq.addInbuf(iova, len, iova) < 0) throw new Error(`rx${pair}: ring full`);
    }
    if (kick && vq.kickPrepare()) this.kick(2 * pair);
  }

  /**
   * Queues `f` (header included) on the TX queue of `pair`; kicks if asked and kickPrepare
   * agrees (as a driver does: with EVENT_IDX the device's avail_event decides).
   */
  send(pair: number, f: Uint8Array, kick = true): void {
    const vq = this.vqs[2 * pair + 1] as VirtqueueSplit<number>;
    const iova = this.alloc(f.length);
    this.at(iova, f.length).set(f);
    if (vq.addOutbuf(iova, f.length, iova) < 0) throw new Error(`tx${pair}: ring full`);
    if (kick && vq.kickPrepare()) this.kick(2 * pair + 1);
  }

  /**
   * Queues a chain of `parts` on `vq`: readable copies of the Uint8Arrays, then writable
   * buffers of the given sizes (through an indirect table when INDIRECT_DESC is negotiated).
   * The token is the first part's IOVA; returns every part's IOVA.
   */
  chain(vq: number, out: readonly Uint8Array[], inLens: readonly number[] = []): number[] {
    const sgs = [
      ...out.map((b) => {
        const addr = this.alloc(b.length);
        this.at(addr, b.length).set(b);
        return { addr, len: b.length };
      }),
      ...inLens.map((len) => {
        const addr = this.alloc(len);
        this.at(addr, len).fill(0xee);
        return { addr, len };
      }),
    ];
    const token = (sgs[0] as { addr: number }).addr;
    if ((this.vqs[vq] as VirtqueueSplit<number>).addSgs(sgs, out.length, token) < 0) throw new Error(`vq ${vq}: ring full`);
    return sgs.map((sg) => sg.addr);
  }

  /** The flags of descriptor `i` in a queue's table. */
  descFlags(vq: number, i: number): number {
    const r = this.rings[vq] as { desc: number };
    const b = this.at(r.desc + 16 * i + 12, 2);
    return (b[0] as number) | ((b[1] as number) << 8);
  }

  /** avail_event, as the device publishes it in the used ring (EVENT_IDX). */
  availEvent(vq: number): number {
    const r = this.rings[vq] as { used: number; num: number };
    const b = this.at(r.used + 4 + 8 * r.num, 2);
    return (b[0] as number) | ((b[1] as number) << 8);
  }

  /** Writes used_event into the avail ring (EVENT_IDX). */
  setUsedEvent(vq: number, value: number): void {
    const r = this.rings[vq] as { avail: number; num: number };
    this.at(r.avail + 4 + 2 * r.num, 2).set([value & 0xff, (value >> 8) & 0xff]);
  }

  /** Kicks queue `idx` unconditionally (writes its kick eventfd). */
  kick(idx: number): void {
    this.kicks[idx]?.write(1n);
  }

  settle(): void {
    this.host.settleSync();
  }

  /** Drains a queue's used ring: [token, len] pairs. */
  used(idx: number): [number, number][] {
    const out: [number, number][] = [];
    const vq = this.vqs[idx] as VirtqueueSplit<number>;
    for (let tok = vq.getBuf(); tok !== undefined; tok = vq.getBuf()) out.push([tok, vq.lastLen]);
    return out;
  }

  /** Drains the RX queue of `pair`: copies of what the device wrote (header included). */
  received(pair: number): Uint8Array[] {
    return this.used(2 * pair).map(([iova, len]) => this.at(iova, len).slice());
  }

  /** The call eventfd counter of a queue (consumed): interrupts since the last read. */
  callCount(idx: number): bigint {
    const r = this.calls[idx]?.read() ?? -11;
    return typeof r === 'bigint' ? r : 0n;
  }

  /** The config-call eventfd counter (consumed). */
  configCalls(): bigint {
    const r = this.configCall.read();
    return typeof r === 'bigint' ? r : 0n;
  }

  /**
   * One control command: header and payload in one readable descriptor (or split into header
   * and payload descriptors), the ack in a writable one; kicked if kickPrepare says so, then
   * settled. The ack byte, or -1 if the device completed nothing. Payloads up to 8188 bytes.
   */
  ctrl(cls: number, cmd: number, payload: Uint8Array = new Uint8Array(0), o: { split?: boolean } = {}): number {
    if (this.cvq < 0) throw new Error('no CVQ negotiated');
    const vq = this.vqs[this.cvq] as VirtqueueSplit<number>;
    const hdr = this.ctrlBuf;
    const ack = hdr + 8190;
    const b = this.at(hdr, 8192);
    b[0] = cls;
    b[1] = cmd;
    b.set(payload, 2);
    b[8190] = 0xff;
    const sgs = o.split
      ? [{ addr: hdr, len: 2 }, ...(payload.length ? [{ addr: hdr + 2, len: payload.length }] : []), { addr: ack, len: 1 }]
      : [{ addr: hdr, len: 2 + payload.length }, { addr: ack, len: 1 }];
    if (vq.addSgs(sgs, sgs.length - 1, hdr) < 0) throw new Error('cvq full');
    if (vq.kickPrepare()) this.kick(this.cvq);
    this.settle();
    const used = this.used(this.cvq);
    if (used.length !== 1) return -1;
    return b[8190] as number;
  }

  /** The device config as the driver reads it. */
  config(): { mac: number[]; status: number; maxVqp: number; mtu: number } {
    const c = this.v.getConfig(0, virtioNetConfig.size);
    const dv = new DataView(c.buffer, c.byteOffset, c.byteLength);
    return {
      mac: [...c.subarray(0, 6)],
      status: dv.getUint16(virtioNetConfig.offsetOf('status'), true),
      maxVqp: dv.getUint16(virtioNetConfig.offsetOf('max_virtqueue_pairs'), true),
      mtu: dv.getUint16(virtioNetConfig.offsetOf('mtu'), true),
    };
  }
}
