// Models: include/uapi/linux/vdpa.h (upstream ~6.17 and Linux 6.1, whose numbering differs)
// Deviations: none. The named constants carry upstream numbers; `vdpaAttrs(profile)` and
// `vdpaCommands(profile)` give a profile's numbering. Linux 6.1 has no DEV_ATTR_SET and no blk
// attributes, and its attribute 21 is VDPA_ATTR_VDPA_DEV_SUPPORTED_FEATURES (upstream: 21 is
// VDPA_ATTR_DEV_BLK_CFG_CAPACITY).

import { consts, defineHeader, enumRecord, type EnumItem } from './header_spec.js';
import { LINUX_6_1_ONLY, UPSTREAM_ONLY, type UapiProfile } from './profile.js';

export const VDPA_GENL_NAME = 'vdpa';
export const VDPA_GENL_VERSION = 0x1;

export const vdpaCommandEnum: EnumItem = {
  kind: 'enum',
  tag: 'vdpa_command',
  members: [
    { name: 'VDPA_CMD_UNSPEC' },
    { name: 'VDPA_CMD_MGMTDEV_NEW' },
    { name: 'VDPA_CMD_MGMTDEV_GET' },
    { name: 'VDPA_CMD_DEV_NEW' },
    { name: 'VDPA_CMD_DEV_DEL' },
    { name: 'VDPA_CMD_DEV_GET' },
    { name: 'VDPA_CMD_DEV_CONFIG_GET' },
    { name: 'VDPA_CMD_DEV_VSTATS_GET' },
    { name: 'VDPA_CMD_DEV_ATTR_SET', availability: UPSTREAM_ONLY },
  ],
};

/** Netlink payload type of each attribute, as the kernel's policy and iproute2 read it. */
export type VdpaAttrType = 'string' | 'u8' | 'u16' | 'u32' | 'u64' | 'binary';

const attr = (name: string, type: VdpaAttrType, availability?: typeof UPSTREAM_ONLY) => ({
  name,
  type,
  ...(availability ? { availability } : {}),
});

const ATTRS = [
  attr('VDPA_ATTR_UNSPEC', 'binary'),
  { ...attr('VDPA_ATTR_PAD', 'binary'), alias: 'VDPA_ATTR_UNSPEC' },
  attr('VDPA_ATTR_MGMTDEV_BUS_NAME', 'string'),
  attr('VDPA_ATTR_MGMTDEV_DEV_NAME', 'string'),
  attr('VDPA_ATTR_MGMTDEV_SUPPORTED_CLASSES', 'u64'),
  attr('VDPA_ATTR_DEV_NAME', 'string'),
  attr('VDPA_ATTR_DEV_ID', 'u32'),
  attr('VDPA_ATTR_DEV_VENDOR_ID', 'u32'),
  attr('VDPA_ATTR_DEV_MAX_VQS', 'u32'),
  attr('VDPA_ATTR_DEV_MAX_VQ_SIZE', 'u16'),
  attr('VDPA_ATTR_DEV_MIN_VQ_SIZE', 'u16'),
  attr('VDPA_ATTR_DEV_NET_CFG_MACADDR', 'binary'),
  // Documented as u8; the kernel emits a u16.
  attr('VDPA_ATTR_DEV_NET_STATUS', 'u16'),
  attr('VDPA_ATTR_DEV_NET_CFG_MAX_VQP', 'u16'),
  attr('VDPA_ATTR_DEV_NET_CFG_MTU', 'u16'),
  attr('VDPA_ATTR_DEV_NEGOTIATED_FEATURES', 'u64'),
  attr('VDPA_ATTR_DEV_MGMTDEV_MAX_VQS', 'u32'),
  attr('VDPA_ATTR_DEV_SUPPORTED_FEATURES', 'u64'),
  attr('VDPA_ATTR_DEV_QUEUE_INDEX', 'u32'),
  attr('VDPA_ATTR_DEV_VENDOR_ATTR_NAME', 'string'),
  attr('VDPA_ATTR_DEV_VENDOR_ATTR_VALUE', 'u64'),
  attr('VDPA_ATTR_DEV_FEATURES', 'u64'),
  attr('VDPA_ATTR_DEV_BLK_CFG_CAPACITY', 'u64', UPSTREAM_ONLY),
  attr('VDPA_ATTR_DEV_BLK_CFG_SIZE_MAX', 'u32', UPSTREAM_ONLY),
  attr('VDPA_ATTR_DEV_BLK_CFG_BLK_SIZE', 'u32', UPSTREAM_ONLY),
  attr('VDPA_ATTR_DEV_BLK_CFG_SEG_MAX', 'u32', UPSTREAM_ONLY),
  attr('VDPA_ATTR_DEV_BLK_CFG_NUM_QUEUES', 'u16', UPSTREAM_ONLY),
  attr('VDPA_ATTR_DEV_BLK_CFG_PHY_BLK_EXP', 'u8', UPSTREAM_ONLY),
  attr('VDPA_ATTR_DEV_BLK_CFG_ALIGN_OFFSET', 'u8', UPSTREAM_ONLY),
  attr('VDPA_ATTR_DEV_BLK_CFG_MIN_IO_SIZE', 'u16', UPSTREAM_ONLY),
  attr('VDPA_ATTR_DEV_BLK_CFG_OPT_IO_SIZE', 'u32', UPSTREAM_ONLY),
  attr('VDPA_ATTR_DEV_BLK_CFG_MAX_DISCARD_SEC', 'u32', UPSTREAM_ONLY),
  attr('VDPA_ATTR_DEV_BLK_CFG_MAX_DISCARD_SEG', 'u32', UPSTREAM_ONLY),
  attr('VDPA_ATTR_DEV_BLK_CFG_DISCARD_SEC_ALIGN', 'u32', UPSTREAM_ONLY),
  attr('VDPA_ATTR_DEV_BLK_CFG_MAX_WRITE_ZEROES_SEC', 'u32', UPSTREAM_ONLY),
  attr('VDPA_ATTR_DEV_BLK_CFG_MAX_WRITE_ZEROES_SEG', 'u32', UPSTREAM_ONLY),
  attr('VDPA_ATTR_DEV_BLK_READ_ONLY', 'u8', UPSTREAM_ONLY),
  attr('VDPA_ATTR_DEV_BLK_FLUSH', 'u8', UPSTREAM_ONLY),
  attr('VDPA_ATTR_VDPA_DEV_SUPPORTED_FEATURES', 'u64', LINUX_6_1_ONLY),
  attr('VDPA_ATTR_MAX', 'binary'),
];

export const vdpaAttrEnum: EnumItem = {
  kind: 'enum',
  tag: 'vdpa_attr',
  members: ATTRS.map(({ type: _type, ...m }) => m),
};

/** Payload type of every attribute name (all profiles). */
export const VDPA_ATTR_TYPES: Readonly<Record<string, VdpaAttrType>> = Object.fromEntries(
  ATTRS.map((a) => [a.name, a.type]),
);

/** Command numbers as a profile's header defines them. */
export const vdpaCommands = (profile: UapiProfile): Record<string, number> => enumRecord(vdpaCommandEnum, profile);
/** Attribute numbers as a profile's header defines them. */
export const vdpaAttrs = (profile: UapiProfile): Record<string, number> => enumRecord(vdpaAttrEnum, profile);

/** A member's number; throws on a misspelt name so a typo cannot export undefined. */
function member(values: Record<string, number>, name: string): number {
  const v = values[name];
  if (v === undefined) throw new Error(`vdpa.h: no enumerator ${name}`);
  return v;
}

const up = vdpaCommands('upstream');
const cmd = (name: string): number => member(up, name);

export const VDPA_CMD_UNSPEC = cmd('VDPA_CMD_UNSPEC');
export const VDPA_CMD_MGMTDEV_NEW = cmd('VDPA_CMD_MGMTDEV_NEW');
export const VDPA_CMD_MGMTDEV_GET = cmd('VDPA_CMD_MGMTDEV_GET');
export const VDPA_CMD_DEV_NEW = cmd('VDPA_CMD_DEV_NEW');
export const VDPA_CMD_DEV_DEL = cmd('VDPA_CMD_DEV_DEL');
export const VDPA_CMD_DEV_GET = cmd('VDPA_CMD_DEV_GET');
export const VDPA_CMD_DEV_CONFIG_GET = cmd('VDPA_CMD_DEV_CONFIG_GET');
export const VDPA_CMD_DEV_VSTATS_GET = cmd('VDPA_CMD_DEV_VSTATS_GET');
export const VDPA_CMD_DEV_ATTR_SET = cmd('VDPA_CMD_DEV_ATTR_SET');

const upAttrs = vdpaAttrs('upstream');
const attrNo = (name: string): number => member(upAttrs, name);

export const VDPA_ATTR_UNSPEC = attrNo('VDPA_ATTR_UNSPEC');
export const VDPA_ATTR_PAD = attrNo('VDPA_ATTR_PAD');
export const VDPA_ATTR_MGMTDEV_BUS_NAME = attrNo('VDPA_ATTR_MGMTDEV_BUS_NAME');
export const VDPA_ATTR_MGMTDEV_DEV_NAME = attrNo('VDPA_ATTR_MGMTDEV_DEV_NAME');
export const VDPA_ATTR_MGMTDEV_SUPPORTED_CLASSES = attrNo('VDPA_ATTR_MGMTDEV_SUPPORTED_CLASSES');
export const VDPA_ATTR_DEV_NAME = attrNo('VDPA_ATTR_DEV_NAME');
export const VDPA_ATTR_DEV_ID = attrNo('VDPA_ATTR_DEV_ID');
export const VDPA_ATTR_DEV_VENDOR_ID = attrNo('VDPA_ATTR_DEV_VENDOR_ID');
export const VDPA_ATTR_DEV_MAX_VQS = attrNo('VDPA_ATTR_DEV_MAX_VQS');
export const VDPA_ATTR_DEV_MAX_VQ_SIZE = attrNo('VDPA_ATTR_DEV_MAX_VQ_SIZE');
export const VDPA_ATTR_DEV_MIN_VQ_SIZE = attrNo('VDPA_ATTR_DEV_MIN_VQ_SIZE');
export const VDPA_ATTR_DEV_NET_CFG_MACADDR = attrNo('VDPA_ATTR_DEV_NET_CFG_MACADDR');
export const VDPA_ATTR_DEV_NET_STATUS = attrNo('VDPA_ATTR_DEV_NET_STATUS');
export const VDPA_ATTR_DEV_NET_CFG_MAX_VQP = attrNo('VDPA_ATTR_DEV_NET_CFG_MAX_VQP');
export const VDPA_ATTR_DEV_NET_CFG_MTU = attrNo('VDPA_ATTR_DEV_NET_CFG_MTU');
export const VDPA_ATTR_DEV_NEGOTIATED_FEATURES = attrNo('VDPA_ATTR_DEV_NEGOTIATED_FEATURES');
export const VDPA_ATTR_DEV_MGMTDEV_MAX_VQS = attrNo('VDPA_ATTR_DEV_MGMTDEV_MAX_VQS');
export const VDPA_ATTR_DEV_SUPPORTED_FEATURES = attrNo('VDPA_ATTR_DEV_SUPPORTED_FEATURES');
export const VDPA_ATTR_DEV_QUEUE_INDEX = attrNo('VDPA_ATTR_DEV_QUEUE_INDEX');
export const VDPA_ATTR_DEV_VENDOR_ATTR_NAME = attrNo('VDPA_ATTR_DEV_VENDOR_ATTR_NAME');
export const VDPA_ATTR_DEV_VENDOR_ATTR_VALUE = attrNo('VDPA_ATTR_DEV_VENDOR_ATTR_VALUE');
export const VDPA_ATTR_DEV_FEATURES = attrNo('VDPA_ATTR_DEV_FEATURES');
export const VDPA_ATTR_DEV_BLK_CFG_CAPACITY = attrNo('VDPA_ATTR_DEV_BLK_CFG_CAPACITY');
export const VDPA_ATTR_DEV_BLK_CFG_SIZE_MAX = attrNo('VDPA_ATTR_DEV_BLK_CFG_SIZE_MAX');
export const VDPA_ATTR_DEV_BLK_CFG_BLK_SIZE = attrNo('VDPA_ATTR_DEV_BLK_CFG_BLK_SIZE');
export const VDPA_ATTR_DEV_BLK_CFG_SEG_MAX = attrNo('VDPA_ATTR_DEV_BLK_CFG_SEG_MAX');
export const VDPA_ATTR_DEV_BLK_CFG_NUM_QUEUES = attrNo('VDPA_ATTR_DEV_BLK_CFG_NUM_QUEUES');
export const VDPA_ATTR_DEV_BLK_CFG_PHY_BLK_EXP = attrNo('VDPA_ATTR_DEV_BLK_CFG_PHY_BLK_EXP');
export const VDPA_ATTR_DEV_BLK_CFG_ALIGN_OFFSET = attrNo('VDPA_ATTR_DEV_BLK_CFG_ALIGN_OFFSET');
export const VDPA_ATTR_DEV_BLK_CFG_MIN_IO_SIZE = attrNo('VDPA_ATTR_DEV_BLK_CFG_MIN_IO_SIZE');
export const VDPA_ATTR_DEV_BLK_CFG_OPT_IO_SIZE = attrNo('VDPA_ATTR_DEV_BLK_CFG_OPT_IO_SIZE');
export const VDPA_ATTR_DEV_BLK_CFG_MAX_DISCARD_SEC = attrNo('VDPA_ATTR_DEV_BLK_CFG_MAX_DISCARD_SEC');
export const VDPA_ATTR_DEV_BLK_CFG_MAX_DISCARD_SEG = attrNo('VDPA_ATTR_DEV_BLK_CFG_MAX_DISCARD_SEG');
export const VDPA_ATTR_DEV_BLK_CFG_DISCARD_SEC_ALIGN = attrNo('VDPA_ATTR_DEV_BLK_CFG_DISCARD_SEC_ALIGN');
export const VDPA_ATTR_DEV_BLK_CFG_MAX_WRITE_ZEROES_SEC = attrNo('VDPA_ATTR_DEV_BLK_CFG_MAX_WRITE_ZEROES_SEC');
export const VDPA_ATTR_DEV_BLK_CFG_MAX_WRITE_ZEROES_SEG = attrNo('VDPA_ATTR_DEV_BLK_CFG_MAX_WRITE_ZEROES_SEG');
export const VDPA_ATTR_DEV_BLK_READ_ONLY = attrNo('VDPA_ATTR_DEV_BLK_READ_ONLY');
export const VDPA_ATTR_DEV_BLK_FLUSH = attrNo('VDPA_ATTR_DEV_BLK_FLUSH');
export const VDPA_ATTR_MAX = attrNo('VDPA_ATTR_MAX');
/** Linux 6.1 only (removed upstream; its number is reused). */
export const VDPA_ATTR_VDPA_DEV_SUPPORTED_FEATURES = member(
  vdpaAttrs('linux-6.1'),
  'VDPA_ATTR_VDPA_DEV_SUPPORTED_FEATURES',
);

export const vdpaHeader = defineHeader('linux/vdpa.h', [
  consts({ VDPA_GENL_NAME }),
  consts({ VDPA_GENL_VERSION }, { hex: true }),
  vdpaCommandEnum,
  vdpaAttrEnum,
]);
