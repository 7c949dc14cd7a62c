// Models: include/uapi/linux/virtio_ring.h (identical in Linux 6.1 and upstream ~6.17)
// Deviations: `struct vring` (host pointers) and the aligned typedefs are not modelled; the
// split-ring offset helpers below spell out what vring_init()/vring_size() compute.

import { comment, consts, defineHeader, structs } from './header_spec.js';
import { defineLayout, flex, u16, u32, u64 } from './layout.js';

export const VRING_DESC_F_NEXT = 1;
export const VRING_DESC_F_WRITE = 2;
export const VRING_DESC_F_INDIRECT = 4;

/** Packed ring descriptor flags, as bit shifts. */
export const VRING_PACKED_DESC_F_AVAIL = 7;
export const VRING_PACKED_DESC_F_USED = 15;

export const VRING_USED_F_NO_NOTIFY = 1;
export const VRING_AVAIL_F_NO_INTERRUPT = 1;

export const VRING_PACKED_EVENT_FLAG_ENABLE = 0x0;
export const VRING_PACKED_EVENT_FLAG_DISABLE = 0x1;
export const VRING_PACKED_EVENT_FLAG_DESC = 0x2;
export const VRING_PACKED_EVENT_F_WRAP_CTR = 15;

export const VIRTIO_RING_F_INDIRECT_DESC = 28;
export const VIRTIO_RING_F_EVENT_IDX = 29;

export const VRING_AVAIL_ALIGN_SIZE = 2;
export const VRING_USED_ALIGN_SIZE = 4;
export const VRING_DESC_ALIGN_SIZE = 16;

export const vringDesc = defineLayout('vring_desc', 16, {
  addr: u64(0, '__virtio64'),
  len: u32(8, '__virtio32'),
  flags: u16(12, '__virtio16'),
  next: u16(14, '__virtio16'),
});

export const vringAvail = defineLayout('vring_avail', 4, {
  flags: u16(0, '__virtio16'),
  idx: u16(2, '__virtio16'),
  ring: flex(4, 2, '__virtio16'),
});

export const vringUsedElem = defineLayout('vring_used_elem', 8, {
  id: u32(0, '__virtio32'),
  len: u32(4, '__virtio32'),
});

export const vringUsed = defineLayout('vring_used', 4, {
  flags: u16(0, '__virtio16'),
  idx: u16(2, '__virtio16'),
  ring: flex(4, 8, 'struct vring_used_elem'),
});

export const vringPackedDescEvent = defineLayout('vring_packed_desc_event', 4, {
  off_wrap: u16(0, '__le16'),
  flags: u16(2, '__le16'),
});

export const vringPackedDesc = defineLayout('vring_packed_desc', 16, {
  addr: u64(0, '__le64'),
  len: u32(8, '__le32'),
  id: u16(12, '__le16'),
  flags: u16(14, '__le16'),
});

// ---- split ring geometry (virtio 1.x §2.7) --------------------------------------------------

/** Bytes of the descriptor table for `num` entries. */
export const vringDescTableSize = (num: number): number => 16 * num;
/** Bytes of the available ring including used_event. */
export const vringAvailSize = (num: number): number => 6 + 2 * num;
/** Bytes of the used ring including avail_event. */
export const vringUsedSize = (num: number): number => 6 + 8 * num;

/** Offset of avail->ring[i] from the start of the available ring. */
export const vringAvailRingOffset = (i: number): number => 4 + 2 * i;
/** Offset of used_event (vring_used_event()) from the start of the available ring. */
export const vringUsedEventOffset = (num: number): number => 4 + 2 * num;
/** Offset of used->ring[i] from the start of the used ring. */
export const vringUsedRingOffset = (i: number): number => 4 + 8 * i;
/** Offset of avail_event (vring_avail_event()) from the start of the used ring. */
export const vringAvailEventOffset = (num: number): number => 4 + 8 * num;

/** vring_size(): bytes of a legacy contiguous ring with the used ring aligned to `align`. */
export function vring_size(num: number, align: number): number {
  const beforeUsed = 16 * num + 2 * (3 + num);
  return Math.ceil(beforeUsed / align) * align + 2 * 3 + 8 * num;
}

/** vring_init() offsets of a legacy contiguous ring, relative to its start. */
export function vring_init(num: number, align: number): { desc: number; avail: number; used: number } {
  const avail = 16 * num;
  const used = Math.ceil((avail + 4 + 2 * num + 2) / align) * align;
  return { desc: 0, avail, used };
}

/**
 * vring_need_event(): after moving an index from `old` to `newIdx`, must the other side be
 * notified given its event index? All arguments are u16.
 */
export function vring_need_event(eventIdx: number, newIdx: number, old: number): boolean {
  return ((newIdx - eventIdx - 1) & 0xffff) < ((newIdx - old) & 0xffff);
}

export const virtioRingHeader = defineHeader('linux/virtio_ring.h', [
  consts({ VRING_DESC_F_NEXT, VRING_DESC_F_WRITE, VRING_DESC_F_INDIRECT }),
  consts({ VRING_PACKED_DESC_F_AVAIL, VRING_PACKED_DESC_F_USED }, { comment: 'Packed ring flags are bit shifts.' }),
  consts({ VRING_USED_F_NO_NOTIFY, VRING_AVAIL_F_NO_INTERRUPT }),
  consts(
    {
      VRING_PACKED_EVENT_FLAG_ENABLE,
      VRING_PACKED_EVENT_FLAG_DISABLE,
      VRING_PACKED_EVENT_FLAG_DESC,
    },
    { hex: true },
  ),
  consts({ VRING_PACKED_EVENT_F_WRAP_CTR, VIRTIO_RING_F_INDIRECT_DESC, VIRTIO_RING_F_EVENT_IDX }),
  consts({ VRING_AVAIL_ALIGN_SIZE, VRING_USED_ALIGN_SIZE, VRING_DESC_ALIGN_SIZE }),
  structs(vringDesc, vringAvail, vringUsedElem, vringUsed),
  comment('With EVENT_IDX, used_event follows avail->ring[num] and avail_event follows used->ring[num].'),
  structs(vringPackedDescEvent, vringPackedDesc),
]);
