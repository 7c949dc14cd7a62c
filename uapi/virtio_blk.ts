// Models: include/uapi/linux/virtio_blk.h (upstream ~6.17; Linux 6.1 differences marked)
// Deviations: none. virtio_blk_config is 96 bytes upstream (zoned characteristics) and 72 with
// the 6.1 header; both layouts are declared, one per profile.

import { consts, defineHeader, structs, structsIn } from './header_spec.js';
import { bytes, defineLayout, flex, inlineStruct, u16, u32, u64, u8 } from './layout.js';
import { LINUX_6_1_ONLY, UPSTREAM_ONLY } from './profile.js';

export const VIRTIO_BLK_F_SIZE_MAX = 1;
export const VIRTIO_BLK_F_SEG_MAX = 2;
export const VIRTIO_BLK_F_GEOMETRY = 4;
export const VIRTIO_BLK_F_RO = 5;
export const VIRTIO_BLK_F_BLK_SIZE = 6;
export const VIRTIO_BLK_F_TOPOLOGY = 10;
export const VIRTIO_BLK_F_MQ = 12;
export const VIRTIO_BLK_F_DISCARD = 13;
export const VIRTIO_BLK_F_WRITE_ZEROES = 14;
export const VIRTIO_BLK_F_SECURE_ERASE = 16;
export const VIRTIO_BLK_F_ZONED = 17;

/** Legacy feature bits. */
export const VIRTIO_BLK_F_BARRIER = 0;
export const VIRTIO_BLK_F_SCSI = 7;
export const VIRTIO_BLK_F_FLUSH = 9;
export const VIRTIO_BLK_F_CONFIG_WCE = 11;
export const VIRTIO_BLK_F_WCE = VIRTIO_BLK_F_FLUSH;

export const VIRTIO_BLK_ID_BYTES = 20;

const blkConfigFields = {
  capacity: u64(0, '__virtio64'),
  size_max: u32(8, '__virtio32'),
  seg_max: u32(12, '__virtio32'),
  geometry: inlineStruct(
    16,
    { cylinders: u16(0, '__virtio16'), heads: u8(2), sectors: u8(3) },
    { tag: 'virtio_blk_geometry' },
  ),
  blk_size: u32(20, '__virtio32'),
  physical_block_exp: u8(24),
  alignment_offset: u8(25),
  min_io_size: u16(26, '__virtio16'),
  opt_io_size: u32(28, '__virtio32'),
  wce: u8(32),
  unused: u8(33),
  num_queues: u16(34, '__virtio16'),
  max_discard_sectors: u32(36, '__virtio32'),
  max_discard_seg: u32(40, '__virtio32'),
  discard_sector_alignment: u32(44, '__virtio32'),
  max_write_zeroes_sectors: u32(48, '__virtio32'),
  max_write_zeroes_seg: u32(52, '__virtio32'),
  write_zeroes_may_unmap: u8(56),
  unused1: bytes(57, 3),
  max_secure_erase_sectors: u32(60, '__virtio32'),
  max_secure_erase_seg: u32(64, '__virtio32'),
  secure_erase_sector_alignment: u32(68, '__virtio32'),
};

/** virtio_blk_config as Linux 6.1 declares it (72 bytes). */
export const virtioBlkConfig61 = defineLayout('virtio_blk_config', 72, blkConfigFields, { packed: true });

/** virtio_blk_config upstream (96 bytes, with the zoned characteristics). */
export const virtioBlkConfig = defineLayout(
  'virtio_blk_config',
  96,
  {
    ...blkConfigFields,
    zoned: inlineStruct(
      72,
      {
        zone_sectors: u32(0, '__virtio32'),
        max_open_zones: u32(4, '__virtio32'),
        max_active_zones: u32(8, '__virtio32'),
        max_append_sectors: u32(12, '__virtio32'),
        write_granularity: u32(16, '__virtio32'),
        model: u8(20),
        unused2: bytes(21, 3),
      },
      { tag: 'virtio_blk_zoned_characteristics' },
    ),
  },
  { packed: true },
);

export const VIRTIO_BLK_T_IN = 0;
export const VIRTIO_BLK_T_OUT = 1;
export const VIRTIO_BLK_T_SCSI_CMD = 2;
export const VIRTIO_BLK_T_FLUSH = 4;
export const VIRTIO_BLK_T_GET_ID = 8;
export const VIRTIO_BLK_T_DISCARD = 11;
export const VIRTIO_BLK_T_WRITE_ZEROES = 13;
export const VIRTIO_BLK_T_SECURE_ERASE = 14;
export const VIRTIO_BLK_T_ZONE_APPEND = 15;
export const VIRTIO_BLK_T_ZONE_REPORT = 16;
export const VIRTIO_BLK_T_ZONE_OPEN = 18;
export const VIRTIO_BLK_T_ZONE_CLOSE = 20;
export const VIRTIO_BLK_T_ZONE_FINISH = 22;
export const VIRTIO_BLK_T_ZONE_RESET = 24;
export const VIRTIO_BLK_T_ZONE_RESET_ALL = 26;
export const VIRTIO_BLK_T_BARRIER = 0x80000000;

export const virtioBlkOuthdr = defineLayout('virtio_blk_outhdr', 16, {
  type: u32(0, '__virtio32'),
  ioprio: u32(4, '__virtio32'),
  sector: u64(8, '__virtio64'),
});

export const VIRTIO_BLK_Z_NONE = 0;
export const VIRTIO_BLK_Z_HM = 1;
export const VIRTIO_BLK_Z_HA = 2;

export const virtioBlkZoneDescriptor = defineLayout('virtio_blk_zone_descriptor', 64, {
  z_cap: u64(0, '__virtio64'),
  z_start: u64(8, '__virtio64'),
  z_wp: u64(16, '__virtio64'),
  z_type: u8(24),
  z_state: u8(25),
  reserved: bytes(26, 38),
});

export const virtioBlkZoneReport = defineLayout('virtio_blk_zone_report', 64, {
  nr_zones: u64(0, '__virtio64'),
  reserved: bytes(8, 56),
  zones: flex(64, 64, 'struct virtio_blk_zone_descriptor'),
});

export const VIRTIO_BLK_ZT_CONV = 1;
export const VIRTIO_BLK_ZT_SWR = 2;
export const VIRTIO_BLK_ZT_SWP = 3;

export const VIRTIO_BLK_ZS_NOT_WP = 0;
export const VIRTIO_BLK_ZS_EMPTY = 1;
export const VIRTIO_BLK_ZS_IOPEN = 2;
export const VIRTIO_BLK_ZS_EOPEN = 3;
export const VIRTIO_BLK_ZS_CLOSED = 4;
export const VIRTIO_BLK_ZS_RDONLY = 13;
export const VIRTIO_BLK_ZS_FULL = 14;
export const VIRTIO_BLK_ZS_OFFLINE = 15;

export const VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP = 0x00000001;

export const virtioBlkDiscardWriteZeroes = defineLayout('virtio_blk_discard_write_zeroes', 16, {
  sector: u64(0, '__le64'),
  num_sectors: u32(8, '__le32'),
  flags: u32(12, '__le32'),
});

export const virtioScsiInhdr = defineLayout('virtio_scsi_inhdr', 16, {
  errors: u32(0, '__virtio32'),
  data_len: u32(4, '__virtio32'),
  sense_len: u32(8, '__virtio32'),
  residual: u32(12, '__virtio32'),
});

export const VIRTIO_BLK_S_OK = 0;
export const VIRTIO_BLK_S_IOERR = 1;
export const VIRTIO_BLK_S_UNSUPP = 2;
export const VIRTIO_BLK_S_ZONE_INVALID_CMD = 3;
export const VIRTIO_BLK_S_ZONE_UNALIGNED_WP = 4;
export const VIRTIO_BLK_S_ZONE_OPEN_RESOURCE = 5;
export const VIRTIO_BLK_S_ZONE_ACTIVE_RESOURCE = 6;

const UP = { availability: UPSTREAM_ONLY };

export const virtioBlkHeader = defineHeader('linux/virtio_blk.h', [
  consts({
    VIRTIO_BLK_F_SIZE_MAX,
    VIRTIO_BLK_F_SEG_MAX,
    VIRTIO_BLK_F_GEOMETRY,
    VIRTIO_BLK_F_RO,
    VIRTIO_BLK_F_BLK_SIZE,
    VIRTIO_BLK_F_TOPOLOGY,
    VIRTIO_BLK_F_MQ,
    VIRTIO_BLK_F_DISCARD,
    VIRTIO_BLK_F_WRITE_ZEROES,
    VIRTIO_BLK_F_SECURE_ERASE,
  }),
  consts({ VIRTIO_BLK_F_ZONED }, UP),
  consts(
    { VIRTIO_BLK_F_BARRIER, VIRTIO_BLK_F_SCSI, VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_CONFIG_WCE, VIRTIO_BLK_F_WCE },
    { comment: 'Legacy feature bits.', expr: { VIRTIO_BLK_F_WCE: 'VIRTIO_BLK_F_FLUSH' } },
  ),
  consts({ VIRTIO_BLK_ID_BYTES }),
  structsIn(LINUX_6_1_ONLY, virtioBlkConfig61),
  structsIn(UPSTREAM_ONLY, virtioBlkConfig),
  consts({
    VIRTIO_BLK_T_IN,
    VIRTIO_BLK_T_OUT,
    VIRTIO_BLK_T_SCSI_CMD,
    VIRTIO_BLK_T_FLUSH,
    VIRTIO_BLK_T_GET_ID,
    VIRTIO_BLK_T_DISCARD,
    VIRTIO_BLK_T_WRITE_ZEROES,
    VIRTIO_BLK_T_SECURE_ERASE,
  }),
  consts(
    {
      VIRTIO_BLK_T_ZONE_APPEND,
      VIRTIO_BLK_T_ZONE_REPORT,
      VIRTIO_BLK_T_ZONE_OPEN,
      VIRTIO_BLK_T_ZONE_CLOSE,
      VIRTIO_BLK_T_ZONE_FINISH,
      VIRTIO_BLK_T_ZONE_RESET,
      VIRTIO_BLK_T_ZONE_RESET_ALL,
    },
    UP,
  ),
  consts({ VIRTIO_BLK_T_BARRIER }, { hex: true }),
  structs(virtioBlkOuthdr),
  consts({ VIRTIO_BLK_Z_NONE, VIRTIO_BLK_Z_HM, VIRTIO_BLK_Z_HA }, UP),
  structsIn(UPSTREAM_ONLY, virtioBlkZoneDescriptor, virtioBlkZoneReport),
  consts({ VIRTIO_BLK_ZT_CONV, VIRTIO_BLK_ZT_SWR, VIRTIO_BLK_ZT_SWP }, UP),
  consts(
    {
      VIRTIO_BLK_ZS_NOT_WP,
      VIRTIO_BLK_ZS_EMPTY,
      VIRTIO_BLK_ZS_IOPEN,
      VIRTIO_BLK_ZS_EOPEN,
      VIRTIO_BLK_ZS_CLOSED,
      VIRTIO_BLK_ZS_RDONLY,
      VIRTIO_BLK_ZS_FULL,
      VIRTIO_BLK_ZS_OFFLINE,
    },
    UP,
  ),
  consts({ VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP }, { hex: true }),
  structs(virtioBlkDiscardWriteZeroes, virtioScsiInhdr),
  consts({ VIRTIO_BLK_S_OK, VIRTIO_BLK_S_IOERR, VIRTIO_BLK_S_UNSUPP }),
  consts(
    {
      VIRTIO_BLK_S_ZONE_INVALID_CMD,
      VIRTIO_BLK_S_ZONE_UNALIGNED_WP,
      VIRTIO_BLK_S_ZONE_OPEN_RESOURCE,
      VIRTIO_BLK_S_ZONE_ACTIVE_RESOURCE,
    },
    UP,
  ),
]);
