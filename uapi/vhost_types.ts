// Models: include/uapi/linux/vhost_types.h (upstream ~6.17; Linux 6.1 differences marked)
// Deviations: none. Flexible arrays (vhost_memory.regions, vhost_vdpa_config.buf,
// vhost_features_array.features) are described but not decoded: the header is the struct.

import { consts, defineHeader, structs, structsIn } from './header_spec.js';
import { anonUnion, bytes, defineLayout, flex, s32, struct, u16, u32, u64, u8 } from './layout.js';
import { PROPOSAL_LM_LOG_ONLY, UPSTREAM_ONLY } from './profile.js';

export const vhostVringState = defineLayout('vhost_vring_state', 8, {
  index: u32(0, 'unsigned int'),
  num: u32(4, 'unsigned int'),
});

export const vhostVringFile = defineLayout('vhost_vring_file', 8, {
  index: u32(0, 'unsigned int'),
  /** -1 (VHOST_FILE_UNBIND) unbinds. */
  fd: s32(4, 'int'),
});

/** Flag bit (a bit number, not a mask) of vhost_vring_addr.flags. */
export const VHOST_VRING_F_LOG = 0;

/** Note the member order: used before avail. */
export const vhostVringAddr = defineLayout('vhost_vring_addr', 40, {
  index: u32(0, 'unsigned int'),
  flags: u32(4, 'unsigned int'),
  desc_user_addr: u64(8),
  used_user_addr: u64(16),
  avail_user_addr: u64(24),
  log_guest_addr: u64(32),
});

export const vhostWorkerState = defineLayout('vhost_worker_state', 4, {
  worker_id: u32(0, 'unsigned int'),
});

export const vhostVringWorker = defineLayout('vhost_vring_worker', 8, {
  index: u32(0, 'unsigned int'),
  worker_id: u32(4, 'unsigned int'),
});

export const VHOST_ACCESS_RO = 0x1;
export const VHOST_ACCESS_WO = 0x2;
export const VHOST_ACCESS_RW = 0x3;

export const VHOST_IOTLB_MISS = 1;
export const VHOST_IOTLB_UPDATE = 2;
export const VHOST_IOTLB_INVALIDATE = 3;
export const VHOST_IOTLB_ACCESS_FAIL = 4;
export const VHOST_IOTLB_BATCH_BEGIN = 5;
export const VHOST_IOTLB_BATCH_END = 6;

/** "No alignment requirement" says the header; the compiler still pads it to 32. */
export const vhostIotlbMsg = defineLayout('vhost_iotlb_msg', 32, {
  iova: u64(0),
  size: u64(8),
  uaddr: u64(16),
  perm: u8(24),
  type: u8(25),
});

/** Framing types: the first 32-bit word of a write() to a vhost fd. */
export const VHOST_IOTLB_MSG = 0x1;
export const VHOST_IOTLB_MSG_V2 = 0x2;

export const vhostMsg = defineLayout('vhost_msg', 72, {
  type: s32(0, 'int'),
  _u: anonUnion(8, 64, { iotlb: struct(0, vhostIotlbMsg), padding: bytes(0, 64) }),
});

export const vhostMsgV2 = defineLayout('vhost_msg_v2', 72, {
  type: u32(0),
  asid: u32(4),
  _u: anonUnion(8, 64, { iotlb: struct(0, vhostIotlbMsg), padding: bytes(0, 64) }),
});

export const vhostFeaturesArray = defineLayout('vhost_features_array', 8, {
  count: u64(0),
  features: flex(8, 8, '__u64'),
});

export const vhostMemoryRegion = defineLayout('vhost_memory_region', 32, {
  guest_phys_addr: u64(0),
  memory_size: u64(8),
  userspace_addr: u64(16),
  flags_padding: u64(24),
});

export const VHOST_PAGE_SIZE = 0x1000;

export const vhostMemory = defineLayout('vhost_memory', 8, {
  nregions: u32(0),
  padding: u32(4),
  regions: flex(8, 32, 'struct vhost_memory_region'),
});

export const VHOST_SCSI_ABI_VERSION = 1;

export const vhostScsiTarget = defineLayout('vhost_scsi_target', 232, {
  abi_version: s32(0, 'int'),
  vhost_wwpn: bytes(4, 224, 'char'),
  vhost_tpgt: u16(228, 'unsigned short'),
  reserved: u16(230, 'unsigned short'),
});

export const vhostVdpaConfig = defineLayout('vhost_vdpa_config', 8, {
  off: u32(0),
  len: u32(4),
  buf: flex(8, 1, '__u8'),
});

/** Inclusive range of IOVAs vhost-vdpa can map. */
export const vhostVdpaIovaRange = defineLayout('vhost_vdpa_iova_range', 16, {
  first: u64(0),
  last: u64(8),
});

/**
 * NOT UPSTREAM (proposal-lm-log): where the device writes its dirty bitmap, in the vhost log
 * layout (one bit per 4 KiB page of the address space, page p = bit p % 8 of byte p / 8): `size`
 * bytes at `iova` of address space `asid`, mapped writable there by the caller beforehand.
 */
export const vhostVdpaDirtyLog = defineLayout('vhost_vdpa_dirty_log', 24, {
  iova: u64(0),
  size: u64(8),
  asid: u32(16),
  /** No flags are defined: must be 0. */
  flags: u32(20),
});

export const VHOST_F_LOG_ALL = 26;
export const VHOST_NET_F_VIRTIO_NET_HDR = 27;

/** Backend feature bits: bit numbers, not masks (mask = 1n << BigInt(bit)). */
export const VHOST_BACKEND_F_IOTLB_MSG_V2 = 0x1;
export const VHOST_BACKEND_F_IOTLB_BATCH = 0x2;
export const VHOST_BACKEND_F_IOTLB_ASID = 0x3;
export const VHOST_BACKEND_F_SUSPEND = 0x4;
export const VHOST_BACKEND_F_RESUME = 0x5;
export const VHOST_BACKEND_F_ENABLE_AFTER_DRIVER_OK = 0x6;
export const VHOST_BACKEND_F_DESC_ASID = 0x7;
export const VHOST_BACKEND_F_IOTLB_PERSIST = 0x8;
/** NOT UPSTREAM (proposal-lm-log): the parent logs its writes to memory (VHOST_VDPA_LOG_START). */
export const VHOST_BACKEND_F_DIRTY_LOG = 0x9;

export const vhostTypesHeader = defineHeader('linux/vhost_types.h', [
  structs(vhostVringState, vhostVringFile),
  consts({ VHOST_VRING_F_LOG }),
  structs(vhostVringAddr),
  structsIn(UPSTREAM_ONLY, vhostWorkerState, vhostVringWorker),
  consts({ VHOST_ACCESS_RO, VHOST_ACCESS_WO, VHOST_ACCESS_RW }, { hex: true }),
  consts({
    VHOST_IOTLB_MISS,
    VHOST_IOTLB_UPDATE,
    VHOST_IOTLB_INVALIDATE,
    VHOST_IOTLB_ACCESS_FAIL,
    VHOST_IOTLB_BATCH_BEGIN,
    VHOST_IOTLB_BATCH_END,
  }),
  structs(vhostIotlbMsg),
  consts({ VHOST_IOTLB_MSG, VHOST_IOTLB_MSG_V2 }, { hex: true }),
  structs(vhostMsg, vhostMsgV2),
  structsIn(UPSTREAM_ONLY, vhostFeaturesArray),
  structs(vhostMemoryRegion),
  consts({ VHOST_PAGE_SIZE }, { hex: true }),
  structs(vhostMemory),
  consts({ VHOST_SCSI_ABI_VERSION }),
  structs(vhostScsiTarget, vhostVdpaConfig, vhostVdpaIovaRange),
  consts({ VHOST_F_LOG_ALL, VHOST_NET_F_VIRTIO_NET_HDR }),
  consts(
    {
      VHOST_BACKEND_F_IOTLB_MSG_V2,
      VHOST_BACKEND_F_IOTLB_BATCH,
      VHOST_BACKEND_F_IOTLB_ASID,
      VHOST_BACKEND_F_SUSPEND,
    },
    { hex: true, comment: 'Backend feature bits (bit numbers).' },
  ),
  consts(
    {
      VHOST_BACKEND_F_RESUME,
      VHOST_BACKEND_F_ENABLE_AFTER_DRIVER_OK,
      VHOST_BACKEND_F_DESC_ASID,
      VHOST_BACKEND_F_IOTLB_PERSIST,
    },
    { hex: true, availability: UPSTREAM_ONLY },
  ),
  structsIn(PROPOSAL_LM_LOG_ONLY, vhostVdpaDirtyLog),
  consts({ VHOST_BACKEND_F_DIRTY_LOG }, { hex: true, availability: PROPOSAL_LM_LOG_ONLY, comment: 'NOT UPSTREAM: the device dirty-log proposal.' }),
]);
