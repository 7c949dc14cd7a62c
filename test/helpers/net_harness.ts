// A vdpa_sim_net device driven through /dev/vhost-vdpa-N the way the probe and QEMU drive it:
// guest RAM (shared memory) mapped at IOVA 0x40000000 in AS 0, RX/TX/CVQ split rings of 64
// entries, kick and call eventfds, DRIVER_OK. Frames are sent and received through driver-side
// virtqueues, device work runs on settle.

import { VhostVdpa, type UserEventFd, type UserMemory } from '../../lib/vhost_vdpa/index.js';
import { VirtqueueSplit } from '../../lib/virtio/index.js';
import { EFD_NONBLOCK, type UapiProfile } from '../../uapi/index.js';
import { type ModelTarget, modelTarget } from './model_target.js';

export const IOVA = 0x40000000;
export const NET_FEATURES = 0x300820020n;
const RING_STRIDE = 0x4000;
const BUFFERS = 0x20000;

export interface NetHarness extends ModelTarget {
  ram: UserMemory;
  vqs: [VirtqueueSplit<number>, VirtqueueSplit<number>, VirtqueueSplit<number>];
  kicks: UserEventFd[];
  calls: UserEventFd[];
  /** Posts an RX buffer of `len` bytes (slot `n` of the RX buffer area), returns its offset in RAM. */
  postRx(n: number, len?: number): number;
  /** Sends `frame` (header included) from TX slot `n`; kicks unless told not to. */
  send(frame: Uint8Array, n: number, kick?: boolean): void;
  kick(q: number): void;
  settle(): void;
  /** Drains a queue's used ring: [token, len] pairs. */
  used(q: number): [number, number][];
  /** The call eventfd counter of a queue (consumed). */
  callCount(q: number): bigint;
}

export interface HarnessOptions {
  dev?: 'vdpa0' | 'vdpa1';
  features?: bigint;
  /** Leave DRIVER_OK unset. */
  noDriverOk?: boolean;
  enable?: readonly number[];
}

export function netHarness(profile: UapiProfile, o: HarnessOptions = {}): NetHarness {
  const t = modelTarget(profile, {}, o.dev ?? 'vdpa1');
  const v: VhostVdpa = t.v;
  const ram = t.us.mmap(1 << 20, { shared: true, populate: true });
  if (typeof ram === 'number') throw new Error(`mmap ${ram}`);
  v.setOwner();
  v.setBackendFeatures(0xen);
  v.setStatus(3);
  v.setFeatures(o.features ?? NET_FEATURES);
  v.setStatus(0xb);
  v.iotlbUpdate({ iova: BigInt(IOVA), size: BigInt(ram.length), uaddr: BigInt(ram.addr), perm: 3 });
  const vqs: VirtqueueSplit<number>[] = [];
  const kicks: UserEventFd[] = [];
  const calls: UserEventFd[] = [];
  for (let q = 0; q < 3; q++) {
    const base = IOVA + q * RING_STRIDE;
    vqs.push(new VirtqueueSplit<number>({ mem: ram.bytes, memBase: IOVA, num: 64, desc: base, avail: base + 0x1000, used: base + 0x2000 }));
    v.setVringNum(q, 64);
    v.setVringAddr(q, { desc: BigInt(base), avail: BigInt(base + 0x1000), used: BigInt(base + 0x2000) });
    v.setVringBase(q, 0);
    const kick = t.us.eventfd(0, EFD_NONBLOCK);
    const call = t.us.eventfd(0, EFD_NONBLOCK);
    if (typeof kick === 'number' || typeof call === 'number') throw new Error('eventfd');
    v.setVringKick(q, kick.fd);
    v.setVringCall(q, call.fd);
    if ((o.enable ?? [0, 1, 2]).includes(q)) v.setVringEnable(q, 1);
    kicks.push(kick);
    calls.push(call);
  }
  if (!o.noDriverOk) v.setStatus(0xf);
  const h: NetHarness = {
    ...t,
    ram,
    vqs: vqs as NetHarness['vqs'],
    kicks,
    calls,
    postRx(n, len = 2048) {
      const off = BUFFERS + n * 0x2000;
      ram.bytes.fill(0xee, off, off + len);
      h.vqs[0].addInbuf(IOVA + off, len, 1000 + n);
      return off;
    },
    send(frame, n, kick = true) {
      const off = BUFFERS + 0x80000 + n * 0x2000;
      ram.bytes.set(frame, off);
      h.vqs[1].addOutbuf(IOVA + off, frame.length, n);
      if (kick) h.kick(1);
    },
    kick(q) {
      kicks[q]?.write(1n);
    },
    settle() {
      t.host.settleSync();
    },
    used(q) {
      const out: [number, number][] = [];
      const vq = h.vqs[q as 0 | 1 | 2];
      for (let tok = vq.getBuf(); tok !== undefined; tok = vq.getBuf()) out.push([tok, vq.lastLen]);
      return out;
    },
    callCount(q) {
      const r = calls[q]?.read() ?? -11;
      return typeof r === 'bigint' ? r : 0n;
    },
  };
  return h;
}

/** A frame with a 12-byte virtio_net_hdr_v1 (zero unless given), `dst`, a source, and a payload. */
export function netFrame(dst: readonly number[], payload = 60 - 12, hdr: readonly number[] = []): Uint8Array {
  const f = new Uint8Array(12 + 12 + payload);
  f.set(hdr.slice(0, 12), 0);
  f.set(dst, 12);
  f.set([2, 0, 0, 0, 0, 1], 18);
  for (let i = 24; i < f.length; i++) f[i] = i & 0xff;
  return f;
}

export const BCAST = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
export const DEV_MAC = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55];
