// Models: include/uapi/linux/virtio_pci.h (upstream ~6.17; Linux 6.1 differences marked)
// Deviations: the function-like VIRTIO_PCI_CONFIG_OFF()/VIRTIO_PCI_CONFIG() macros become
// virtioPciConfigOff(); of the admin-command structs only the command header and status are
// modelled (the device-parts payloads belong to a later issue).

import { comment, consts, defineHeader, structs, structsIn } from './header_spec.js';
import { bytes, defineLayout, struct, u16, u32, u64, u8 } from './layout.js';
import { UPSTREAM_ONLY } from './profile.js';

// ---- legacy (transitional) register block -------------------------------------------------
export const VIRTIO_PCI_HOST_FEATURES = 0;
export const VIRTIO_PCI_GUEST_FEATURES = 4;
export const VIRTIO_PCI_QUEUE_PFN = 8;
export const VIRTIO_PCI_QUEUE_NUM = 12;
export const VIRTIO_PCI_QUEUE_SEL = 14;
export const VIRTIO_PCI_QUEUE_NOTIFY = 16;
export const VIRTIO_PCI_STATUS = 18;
export const VIRTIO_PCI_ISR = 19;
export const VIRTIO_MSI_CONFIG_VECTOR = 20;
export const VIRTIO_MSI_QUEUE_VECTOR = 22;
export const VIRTIO_PCI_ABI_VERSION = 0;
export const VIRTIO_PCI_QUEUE_ADDR_SHIFT = 12;
export const VIRTIO_PCI_VRING_ALIGN = 4096;

/** VIRTIO_PCI_CONFIG_OFF(msix_enabled): where legacy device config starts. */
export const virtioPciConfigOff = (msixEnabled: boolean): number => (msixEnabled ? 24 : 20);

export const VIRTIO_PCI_ISR_CONFIG = 0x2;
export const VIRTIO_MSI_NO_VECTOR = 0xffff;

// ---- modern capabilities --------------------------------------------------------------------
export const VIRTIO_PCI_CAP_COMMON_CFG = 1;
export const VIRTIO_PCI_CAP_NOTIFY_CFG = 2;
export const VIRTIO_PCI_CAP_ISR_CFG = 3;
export const VIRTIO_PCI_CAP_DEVICE_CFG = 4;
export const VIRTIO_PCI_CAP_PCI_CFG = 5;
export const VIRTIO_PCI_CAP_SHARED_MEMORY_CFG = 8;
export const VIRTIO_PCI_CAP_VENDOR_CFG = 9;

export const virtioPciCap = defineLayout('virtio_pci_cap', 16, {
  cap_vndr: u8(0),
  cap_next: u8(1),
  cap_len: u8(2),
  cfg_type: u8(3),
  bar: u8(4),
  id: u8(5),
  padding: bytes(6, 2),
  offset: u32(8, '__le32'),
  length: u32(12, '__le32'),
});

export const virtioPciVndrData = defineLayout('virtio_pci_vndr_data', 6, {
  cap_vndr: u8(0),
  cap_next: u8(1),
  cap_len: u8(2),
  cfg_type: u8(3),
  vendor_id: u16(4),
});

export const virtioPciCap64 = defineLayout('virtio_pci_cap64', 24, {
  cap: struct(0, virtioPciCap),
  offset_hi: u32(16, '__le32'),
  length_hi: u32(20, '__le32'),
});

export const virtioPciNotifyCap = defineLayout('virtio_pci_notify_cap', 20, {
  cap: struct(0, virtioPciCap),
  notify_off_multiplier: u32(16, '__le32'),
});

export const virtioPciCommonCfg = defineLayout('virtio_pci_common_cfg', 56, {
  device_feature_select: u32(0, '__le32'),
  device_feature: u32(4, '__le32'),
  guest_feature_select: u32(8, '__le32'),
  guest_feature: u32(12, '__le32'),
  msix_config: u16(16, '__le16'),
  num_queues: u16(18, '__le16'),
  device_status: u8(20),
  config_generation: u8(21),
  queue_select: u16(22, '__le16'),
  queue_size: u16(24, '__le16'),
  queue_msix_vector: u16(26, '__le16'),
  queue_enable: u16(28, '__le16'),
  queue_notify_off: u16(30, '__le16'),
  queue_desc_lo: u32(32, '__le32'),
  queue_desc_hi: u32(36, '__le32'),
  queue_avail_lo: u32(40, '__le32'),
  queue_avail_hi: u32(44, '__le32'),
  queue_used_lo: u32(48, '__le32'),
  queue_used_hi: u32(52, '__le32'),
});

/** Common config with the virtio 1.2/1.3 tail (upstream; "do not use sizeof on this"). */
export const virtioPciModernCommonCfg = defineLayout('virtio_pci_modern_common_cfg', 64, {
  cfg: struct(0, virtioPciCommonCfg),
  queue_notify_data: u16(56, '__le16'),
  queue_reset: u16(58, '__le16'),
  admin_queue_index: u16(60, '__le16'),
  admin_queue_num: u16(62, '__le16'),
});

export const virtioPciCfgCap = defineLayout('virtio_pci_cfg_cap', 20, {
  cap: struct(0, virtioPciCap),
  pci_cfg_data: bytes(16, 4),
});

export const VIRTIO_PCI_CAP_VNDR = 0;
export const VIRTIO_PCI_CAP_NEXT = 1;
export const VIRTIO_PCI_CAP_LEN = 2;
export const VIRTIO_PCI_CAP_CFG_TYPE = 3;
export const VIRTIO_PCI_CAP_BAR = 4;
export const VIRTIO_PCI_CAP_OFFSET = 8;
export const VIRTIO_PCI_CAP_LENGTH = 12;
export const VIRTIO_PCI_NOTIFY_CAP_MULT = 16;

export const VIRTIO_PCI_COMMON_DFSELECT = 0;
export const VIRTIO_PCI_COMMON_DF = 4;
export const VIRTIO_PCI_COMMON_GFSELECT = 8;
export const VIRTIO_PCI_COMMON_GF = 12;
export const VIRTIO_PCI_COMMON_MSIX = 16;
export const VIRTIO_PCI_COMMON_NUMQ = 18;
export const VIRTIO_PCI_COMMON_STATUS = 20;
export const VIRTIO_PCI_COMMON_CFGGENERATION = 21;
export const VIRTIO_PCI_COMMON_Q_SELECT = 22;
export const VIRTIO_PCI_COMMON_Q_SIZE = 24;
export const VIRTIO_PCI_COMMON_Q_MSIX = 26;
export const VIRTIO_PCI_COMMON_Q_ENABLE = 28;
export const VIRTIO_PCI_COMMON_Q_NOFF = 30;
export const VIRTIO_PCI_COMMON_Q_DESCLO = 32;
export const VIRTIO_PCI_COMMON_Q_DESCHI = 36;
export const VIRTIO_PCI_COMMON_Q_AVAILLO = 40;
export const VIRTIO_PCI_COMMON_Q_AVAILHI = 44;
export const VIRTIO_PCI_COMMON_Q_USEDLO = 48;
export const VIRTIO_PCI_COMMON_Q_USEDHI = 52;
export const VIRTIO_PCI_COMMON_Q_NDATA = 56;
export const VIRTIO_PCI_COMMON_Q_RESET = 58;
export const VIRTIO_PCI_COMMON_ADM_Q_IDX = 60;
export const VIRTIO_PCI_COMMON_ADM_Q_NUM = 62;

// ---- admin commands (virtio 1.3, upstream) ----------------------------------------------------
export const VIRTIO_ADMIN_STATUS_OK = 0;
export const VIRTIO_ADMIN_CMD_LIST_QUERY = 0x0;
export const VIRTIO_ADMIN_CMD_LIST_USE = 0x1;
export const VIRTIO_ADMIN_GROUP_TYPE_SELF = 0x0;
export const VIRTIO_ADMIN_GROUP_TYPE_SRIOV = 0x1;
export const VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_WRITE = 0x2;
export const VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_READ = 0x3;
export const VIRTIO_ADMIN_CMD_LEGACY_DEV_CFG_WRITE = 0x4;
export const VIRTIO_ADMIN_CMD_LEGACY_DEV_CFG_READ = 0x5;
export const VIRTIO_ADMIN_CMD_LEGACY_NOTIFY_INFO = 0x6;
export const VIRTIO_ADMIN_CMD_CAP_ID_LIST_QUERY = 0x7;
export const VIRTIO_ADMIN_CMD_DEVICE_CAP_GET = 0x8;
export const VIRTIO_ADMIN_CMD_DRIVER_CAP_SET = 0x9;
export const VIRTIO_ADMIN_CMD_RESOURCE_OBJ_CREATE = 0xa;
export const VIRTIO_ADMIN_CMD_RESOURCE_OBJ_DESTROY = 0xd;
export const VIRTIO_ADMIN_CMD_DEV_PARTS_METADATA_GET = 0xe;
export const VIRTIO_ADMIN_CMD_DEV_PARTS_GET = 0xf;
export const VIRTIO_ADMIN_CMD_DEV_PARTS_SET = 0x10;
export const VIRTIO_ADMIN_CMD_DEV_MODE_SET = 0x11;

export const virtioAdminCmdHdr = defineLayout('virtio_admin_cmd_hdr', 24, {
  opcode: u16(0, '__le16'),
  group_type: u16(2, '__le16'),
  reserved1: bytes(4, 12),
  group_member_id: u64(16, '__le64'),
});

export const virtioAdminCmdStatus = defineLayout('virtio_admin_cmd_status', 8, {
  status: u16(0, '__le16'),
  status_qualifier: u16(2, '__le16'),
  reserved2: bytes(4, 4),
});

const UP = { availability: UPSTREAM_ONLY };

export const virtioPciHeader = defineHeader('linux/virtio_pci.h', [
  consts({
    VIRTIO_PCI_HOST_FEATURES,
    VIRTIO_PCI_GUEST_FEATURES,
    VIRTIO_PCI_QUEUE_PFN,
    VIRTIO_PCI_QUEUE_NUM,
    VIRTIO_PCI_QUEUE_SEL,
    VIRTIO_PCI_QUEUE_NOTIFY,
    VIRTIO_PCI_STATUS,
    VIRTIO_PCI_ISR,
    VIRTIO_MSI_CONFIG_VECTOR,
    VIRTIO_MSI_QUEUE_VECTOR,
    VIRTIO_PCI_ABI_VERSION,
    VIRTIO_PCI_QUEUE_ADDR_SHIFT,
    VIRTIO_PCI_VRING_ALIGN,
  }, { comment: 'Legacy register block.' }),
  consts({ VIRTIO_PCI_ISR_CONFIG, VIRTIO_MSI_NO_VECTOR }, { hex: true }),
  consts({
    VIRTIO_PCI_CAP_COMMON_CFG,
    VIRTIO_PCI_CAP_NOTIFY_CFG,
    VIRTIO_PCI_CAP_ISR_CFG,
    VIRTIO_PCI_CAP_DEVICE_CFG,
    VIRTIO_PCI_CAP_PCI_CFG,
    VIRTIO_PCI_CAP_SHARED_MEMORY_CFG,
  }),
  consts({ VIRTIO_PCI_CAP_VENDOR_CFG }, UP),
  structs(virtioPciCap),
  structsIn(UPSTREAM_ONLY, virtioPciVndrData),
  structs(virtioPciCap64, virtioPciNotifyCap, virtioPciCommonCfg),
  structsIn(UPSTREAM_ONLY, virtioPciModernCommonCfg),
  structs(virtioPciCfgCap),
  consts({
    VIRTIO_PCI_CAP_VNDR,
    VIRTIO_PCI_CAP_NEXT,
    VIRTIO_PCI_CAP_LEN,
    VIRTIO_PCI_CAP_CFG_TYPE,
    VIRTIO_PCI_CAP_BAR,
    VIRTIO_PCI_CAP_OFFSET,
    VIRTIO_PCI_CAP_LENGTH,
    VIRTIO_PCI_NOTIFY_CAP_MULT,
  }),
  consts({
    VIRTIO_PCI_COMMON_DFSELECT,
    VIRTIO_PCI_COMMON_DF,
    VIRTIO_PCI_COMMON_GFSELECT,
    VIRTIO_PCI_COMMON_GF,
    VIRTIO_PCI_COMMON_MSIX,
    VIRTIO_PCI_COMMON_NUMQ,
    VIRTIO_PCI_COMMON_STATUS,
    VIRTIO_PCI_COMMON_CFGGENERATION,
    VIRTIO_PCI_COMMON_Q_SELECT,
    VIRTIO_PCI_COMMON_Q_SIZE,
    VIRTIO_PCI_COMMON_Q_MSIX,
    VIRTIO_PCI_COMMON_Q_ENABLE,
    VIRTIO_PCI_COMMON_Q_NOFF,
    VIRTIO_PCI_COMMON_Q_DESCLO,
    VIRTIO_PCI_COMMON_Q_DESCHI,
    VIRTIO_PCI_COMMON_Q_AVAILLO,
    VIRTIO_PCI_COMMON_Q_AVAILHI,
    VIRTIO_PCI_COMMON_Q_USEDLO,
    VIRTIO_PCI_COMMON_Q_USEDHI,
    VIRTIO_PCI_COMMON_Q_NDATA,
    VIRTIO_PCI_COMMON_Q_RESET,
  }),
  consts({ VIRTIO_PCI_COMMON_ADM_Q_IDX, VIRTIO_PCI_COMMON_ADM_Q_NUM }, UP),
  comment('Admin commands (virtio 1.3).'),
  consts(
    {
      VIRTIO_ADMIN_STATUS_OK,
      VIRTIO_ADMIN_CMD_LIST_QUERY,
      VIRTIO_ADMIN_CMD_LIST_USE,
      VIRTIO_ADMIN_GROUP_TYPE_SELF,
      VIRTIO_ADMIN_GROUP_TYPE_SRIOV,
      VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_WRITE,
      VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_READ,
      VIRTIO_ADMIN_CMD_LEGACY_DEV_CFG_WRITE,
      VIRTIO_ADMIN_CMD_LEGACY_DEV_CFG_READ,
      VIRTIO_ADMIN_CMD_LEGACY_NOTIFY_INFO,
      VIRTIO_ADMIN_CMD_CAP_ID_LIST_QUERY,
      VIRTIO_ADMIN_CMD_DEVICE_CAP_GET,
      VIRTIO_ADMIN_CMD_DRIVER_CAP_SET,
      VIRTIO_ADMIN_CMD_RESOURCE_OBJ_CREATE,
      VIRTIO_ADMIN_CMD_RESOURCE_OBJ_DESTROY,
      VIRTIO_ADMIN_CMD_DEV_PARTS_METADATA_GET,
      VIRTIO_ADMIN_CMD_DEV_PARTS_GET,
      VIRTIO_ADMIN_CMD_DEV_PARTS_SET,
      VIRTIO_ADMIN_CMD_DEV_MODE_SET,
    },
    { ...UP, hex: true },
  ),
  structsIn(UPSTREAM_ONLY, virtioAdminCmdHdr, virtioAdminCmdStatus),
]);
