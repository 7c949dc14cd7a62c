// A guest RAM, a driver virtqueue in it, and a vringh reaching it through an IOTLB, in PA mode
// (IOTLB -> physical frames) or VA mode (IOTLB -> the VMM's user addresses).

import { VHOST_MAP_RW, VhostIotlb } from '../../lib/iotlb/index.js';
import { AddressSpace, MemFile, type MemorySpace, PAGE_SIZE, PhysMem } from '../../lib/mm/index.js';
import { VirtqueueSplit, Vringh } from '../../lib/virtio/index.js';
import { MAP_SHARED, PROT_READ, PROT_WRITE, VIRTIO_F_VERSION_1, VIRTIO_RING_F_EVENT_IDX } from '../../uapi/index.js';

export interface RingWorld<T> {
  ram: Uint8Array;
  vq: VirtqueueSplit<T>;
  vrh: Vringh;
  iotlb: VhostIotlb;
  mem: MemorySpace;
  layout: { desc: number; avail: number; used: number; buffers: number; indirect: number };
  /** The address the IOTLB maps GPA 0 to (a PA or a user address). */
  target: number;
}

export interface RingWorldOptions {
  num: number;
  ramSize?: number;
  eventIdx?: boolean;
  indirectEntries?: number;
  va?: boolean;
  /** Leave the IOTLB empty (tests map what they want). */
  noMap?: boolean;
}

const align = (x: number, a: number) => Math.ceil(x / a) * a;

export function ringWorld<T>(o: RingWorldOptions): RingWorld<T> {
  const num = o.num;
  const desc = 0x10000;
  const avail = desc + 16 * num;
  const used = align(avail + 6 + 2 * num, PAGE_SIZE);
  const indirect = align(used + 6 + 8 * num, PAGE_SIZE);
  const buffers = align(indirect + (o.indirectEntries ?? 0) * 16 * num, PAGE_SIZE);
  const ramSize = o.ramSize ?? align(buffers + 0x100000, 0x100000);
  const phys = new PhysMem();
  const file = MemFile.create(phys, 'guest-ram', ramSize);
  const iotlb = new VhostIotlb();
  let mem: MemorySpace;
  let target: number;
  if (o.va) {
    const mm = new AddressSpace(phys);
    target = mm.mmap(0, ramSize, PROT_READ | PROT_WRITE, MAP_SHARED, file);
    mem = mm;
  } else {
    file.obj.populate(0, file.obj.pages);
    target = (file.obj.pfn[0] as number) * PAGE_SIZE;
    mem = phys;
  }
  if (!o.noMap) iotlb.addRange(0n, BigInt(ramSize - 1), BigInt(target), VHOST_MAP_RW);
  const vq = new VirtqueueSplit<T>({
    mem: file.obj.bytes,
    num,
    desc,
    avail,
    used,
    eventIdx: o.eventIdx ?? false,
    ...(o.indirectEntries ? { indirect: { base: indirect, entries: o.indirectEntries } } : {}),
  });
  const vrh = new Vringh();
  const features = (1n << BigInt(VIRTIO_F_VERSION_1)) | (o.eventIdx ? 1n << BigInt(VIRTIO_RING_F_EVENT_IDX) : 0n);
  if (vrh.init(features, num, BigInt(desc), BigInt(avail), BigInt(used), o.va ?? false) !== 0) throw new Error('vringh init failed');
  vrh.setIotlb(iotlb, mem);
  return { ram: file.obj.bytes, vq, vrh, iotlb, mem, layout: { desc, avail, used, buffers, indirect }, target };
}

/** Writes a raw descriptor into the ring (for malformed chains the driver would never build). */
export function putDesc(ram: Uint8Array, table: number, i: number, addr: number, len: number, flags: number, next: number): void {
  const v = new DataView(ram.buffer, ram.byteOffset);
  v.setBigUint64(table + 16 * i, BigInt(addr), true);
  v.setUint32(table + 16 * i + 8, len, true);
  v.setUint16(table + 16 * i + 12, flags, true);
  v.setUint16(table + 16 * i + 14, next, true);
}

/** Makes head `head` available at the next avail slot (as a driver would), raw. */
export function makeAvail(ram: Uint8Array, avail: number, num: number, head: number): void {
  const v = new DataView(ram.buffer, ram.byteOffset);
  const idx = v.getUint16(avail + 2, true);
  v.setUint16(avail + 4 + 2 * (idx & (num - 1)), head, true);
  v.setUint16(avail + 2, (idx + 1) & 0xffff, true);
}
