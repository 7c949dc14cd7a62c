// Models: include/uapi/linux/vhost.h (upstream ~6.17; Linux 6.1 differences marked)
// Deviations: none. Every request is declared once in `vhostIoctls`; its number is computed.
// GET_VRING_ENDIAN and GET_VRING_BUSYLOOP_TIMEOUT are _IOW although they write back (sic, as
// in the kernel). GET_VRING_SIZE was nr 0x80 in v6.9-rc and fixed to 0x82 before v6.9.
// LOG_START/LOG_STOP (0x86/0x87) exist only in the proposal-lm-log profile (not in any tree).

import { comment, consts, defineHeader, ioctls } from './header_spec.js';
import {
  ARG_INT,
  ARG_U16,
  ARG_U32,
  ARG_U64,
  ARG_U8,
  ARG_UINT,
  defineIoctls,
  ioc,
  requestNumbers,
  structArg,
} from './ioctl.js';
import { PROPOSAL_LM_LOG_ONLY, UPSTREAM_ONLY } from './profile.js';
import {
  vhostFeaturesArray,
  vhostMemory,
  vhostScsiTarget,
  vhostVdpaConfig,
  vhostVdpaDirtyLog,
  vhostVdpaIovaRange,
  vhostVringAddr,
  vhostVringFile,
  vhostVringState,
  vhostVringWorker,
  vhostWorkerState,
} from './vhost_types.js';

export const VHOST_FILE_UNBIND = -1;
export const VHOST_VIRTIO = 0xaf;

export const VHOST_VRING_LITTLE_ENDIAN = 0;
export const VHOST_VRING_BIG_ENDIAN = 1;

export const VHOST_FORK_OWNER_KTHREAD = 0;
export const VHOST_FORK_OWNER_TASK = 1;

const V = { value: VHOST_VIRTIO, name: 'VHOST_VIRTIO' };
const STATE = structArg(vhostVringState);
const FILE = structArg(vhostVringFile);
const UP = { availability: UPSTREAM_ONLY };

/** Every vhost request, in header order. */
export const vhostIoctls = defineIoctls({
  VHOST_GET_FEATURES: ioc('_IOR', V, 0x00, ARG_U64),
  VHOST_SET_FEATURES: ioc('_IOW', V, 0x00, ARG_U64),
  VHOST_SET_OWNER: ioc('_IO', V, 0x01),
  VHOST_RESET_OWNER: ioc('_IO', V, 0x02),
  VHOST_SET_MEM_TABLE: ioc('_IOW', V, 0x03, structArg(vhostMemory)),
  VHOST_SET_LOG_BASE: ioc('_IOW', V, 0x04, ARG_U64),
  VHOST_SET_LOG_FD: ioc('_IOW', V, 0x07, ARG_INT),
  VHOST_NEW_WORKER: ioc('_IOR', V, 0x8, structArg(vhostWorkerState), { ...UP, since: '6.5' }),
  VHOST_FREE_WORKER: ioc('_IOW', V, 0x9, structArg(vhostWorkerState), { ...UP, since: '6.5' }),
  VHOST_SET_VRING_NUM: ioc('_IOW', V, 0x10, STATE),
  VHOST_SET_VRING_ADDR: ioc('_IOW', V, 0x11, structArg(vhostVringAddr)),
  VHOST_SET_VRING_BASE: ioc('_IOW', V, 0x12, STATE),
  VHOST_GET_VRING_BASE: ioc('_IOWR', V, 0x12, STATE),
  VHOST_SET_VRING_ENDIAN: ioc('_IOW', V, 0x13, STATE),
  VHOST_GET_VRING_ENDIAN: ioc('_IOW', V, 0x14, STATE, { note: '_IOW but writes back' }),
  VHOST_ATTACH_VRING_WORKER: ioc('_IOW', V, 0x15, structArg(vhostVringWorker), { ...UP, since: '6.5' }),
  VHOST_GET_VRING_WORKER: ioc('_IOWR', V, 0x16, structArg(vhostVringWorker), { ...UP, since: '6.5' }),
  VHOST_SET_VRING_KICK: ioc('_IOW', V, 0x20, FILE),
  VHOST_SET_VRING_CALL: ioc('_IOW', V, 0x21, FILE),
  VHOST_SET_VRING_ERR: ioc('_IOW', V, 0x22, FILE),
  VHOST_SET_VRING_BUSYLOOP_TIMEOUT: ioc('_IOW', V, 0x23, STATE),
  VHOST_GET_VRING_BUSYLOOP_TIMEOUT: ioc('_IOW', V, 0x24, STATE, { note: '_IOW but writes back' }),
  VHOST_SET_BACKEND_FEATURES: ioc('_IOW', V, 0x25, ARG_U64, { since: '4.19' }),
  VHOST_GET_BACKEND_FEATURES: ioc('_IOR', V, 0x26, ARG_U64, { since: '4.19' }),
  VHOST_GET_FEATURES_ARRAY: ioc('_IOR', V, 0x83, structArg(vhostFeaturesArray), { ...UP, since: '6.17' }),
  VHOST_SET_FEATURES_ARRAY: ioc('_IOW', V, 0x83, structArg(vhostFeaturesArray), { ...UP, since: '6.17' }),
  VHOST_NET_SET_BACKEND: ioc('_IOW', V, 0x30, FILE),
  VHOST_SCSI_SET_ENDPOINT: ioc('_IOW', V, 0x40, structArg(vhostScsiTarget)),
  VHOST_SCSI_CLEAR_ENDPOINT: ioc('_IOW', V, 0x41, structArg(vhostScsiTarget)),
  VHOST_SCSI_GET_ABI_VERSION: ioc('_IOW', V, 0x42, ARG_INT),
  VHOST_SCSI_SET_EVENTS_MISSED: ioc('_IOW', V, 0x43, ARG_U32),
  VHOST_SCSI_GET_EVENTS_MISSED: ioc('_IOW', V, 0x44, ARG_U32),
  VHOST_VSOCK_SET_GUEST_CID: ioc('_IOW', V, 0x60, ARG_U64),
  VHOST_VSOCK_SET_RUNNING: ioc('_IOW', V, 0x61, ARG_INT),
  VHOST_VDPA_GET_DEVICE_ID: ioc('_IOR', V, 0x70, ARG_U32, { since: '5.7' }),
  VHOST_VDPA_GET_STATUS: ioc('_IOR', V, 0x71, ARG_U8, { since: '5.7' }),
  VHOST_VDPA_SET_STATUS: ioc('_IOW', V, 0x72, ARG_U8, { since: '5.7' }),
  VHOST_VDPA_GET_CONFIG: ioc('_IOR', V, 0x73, structArg(vhostVdpaConfig), { since: '5.7' }),
  VHOST_VDPA_SET_CONFIG: ioc('_IOW', V, 0x74, structArg(vhostVdpaConfig), { since: '5.7' }),
  VHOST_VDPA_SET_VRING_ENABLE: ioc('_IOW', V, 0x75, STATE, { since: '5.7' }),
  VHOST_VDPA_GET_VRING_NUM: ioc('_IOR', V, 0x76, ARG_U16, { since: '5.7' }),
  VHOST_VDPA_SET_CONFIG_CALL: ioc('_IOW', V, 0x77, ARG_INT, { since: '5.9' }),
  VHOST_VDPA_GET_IOVA_RANGE: ioc('_IOR', V, 0x78, structArg(vhostVdpaIovaRange), { since: '5.10' }),
  VHOST_VDPA_GET_CONFIG_SIZE: ioc('_IOR', V, 0x79, ARG_U32, { since: '5.18' }),
  VHOST_VDPA_GET_AS_NUM: ioc('_IOR', V, 0x7a, ARG_UINT, { since: '6.0' }),
  VHOST_VDPA_GET_VRING_GROUP: ioc('_IOWR', V, 0x7b, STATE, { since: '6.0' }),
  VHOST_VDPA_SET_GROUP_ASID: ioc('_IOW', V, 0x7c, STATE, { since: '6.0', note: 'index = group, num = asid' }),
  VHOST_VDPA_SUSPEND: ioc('_IO', V, 0x7d, undefined, { since: '6.1' }),
  VHOST_VDPA_RESUME: ioc('_IO', V, 0x7e, undefined, { ...UP, since: '6.3' }),
  VHOST_VDPA_GET_VRING_DESC_GROUP: ioc('_IOWR', V, 0x7f, STATE, { ...UP, since: '6.7' }),
  VHOST_VDPA_GET_VQS_COUNT: ioc('_IOR', V, 0x80, ARG_U32, { since: '5.18' }),
  VHOST_VDPA_GET_GROUP_NUM: ioc('_IOR', V, 0x81, ARG_U32, { since: '6.0' }),
  VHOST_VDPA_GET_VRING_SIZE: ioc('_IOWR', V, 0x82, STATE, { ...UP, since: '6.9' }),
  VHOST_SET_FORK_FROM_OWNER: ioc('_IOW', V, 0x84, ARG_U8, { ...UP, since: '6.17' }),
  VHOST_GET_FORK_FROM_OWNER: ioc('_IOR', V, 0x85, ARG_U8, { ...UP, since: '6.17' }),
  VHOST_VDPA_LOG_START: ioc('_IOW', V, 0x86, structArg(vhostVdpaDirtyLog), { availability: PROPOSAL_LM_LOG_ONLY, note: 'NOT UPSTREAM' }),
  VHOST_VDPA_LOG_STOP: ioc('_IO', V, 0x87, undefined, { availability: PROPOSAL_LM_LOG_ONLY, note: 'NOT UPSTREAM' }),
});

export const {
  VHOST_GET_FEATURES,
  VHOST_SET_FEATURES,
  VHOST_SET_OWNER,
  VHOST_RESET_OWNER,
  VHOST_SET_MEM_TABLE,
  VHOST_SET_LOG_BASE,
  VHOST_SET_LOG_FD,
  VHOST_NEW_WORKER,
  VHOST_FREE_WORKER,
  VHOST_SET_VRING_NUM,
  VHOST_SET_VRING_ADDR,
  VHOST_SET_VRING_BASE,
  VHOST_GET_VRING_BASE,
  VHOST_SET_VRING_ENDIAN,
  VHOST_GET_VRING_ENDIAN,
  VHOST_ATTACH_VRING_WORKER,
  VHOST_GET_VRING_WORKER,
  VHOST_SET_VRING_KICK,
  VHOST_SET_VRING_CALL,
  VHOST_SET_VRING_ERR,
  VHOST_SET_VRING_BUSYLOOP_TIMEOUT,
  VHOST_GET_VRING_BUSYLOOP_TIMEOUT,
  VHOST_SET_BACKEND_FEATURES,
  VHOST_GET_BACKEND_FEATURES,
  VHOST_GET_FEATURES_ARRAY,
  VHOST_SET_FEATURES_ARRAY,
  VHOST_NET_SET_BACKEND,
  VHOST_SCSI_SET_ENDPOINT,
  VHOST_SCSI_CLEAR_ENDPOINT,
  VHOST_SCSI_GET_ABI_VERSION,
  VHOST_SCSI_SET_EVENTS_MISSED,
  VHOST_SCSI_GET_EVENTS_MISSED,
  VHOST_VSOCK_SET_GUEST_CID,
  VHOST_VSOCK_SET_RUNNING,
  VHOST_VDPA_GET_DEVICE_ID,
  VHOST_VDPA_GET_STATUS,
  VHOST_VDPA_SET_STATUS,
  VHOST_VDPA_GET_CONFIG,
  VHOST_VDPA_SET_CONFIG,
  VHOST_VDPA_SET_VRING_ENABLE,
  VHOST_VDPA_GET_VRING_NUM,
  VHOST_VDPA_SET_CONFIG_CALL,
  VHOST_VDPA_GET_IOVA_RANGE,
  VHOST_VDPA_GET_CONFIG_SIZE,
  VHOST_VDPA_GET_AS_NUM,
  VHOST_VDPA_GET_VRING_GROUP,
  VHOST_VDPA_SET_GROUP_ASID,
  VHOST_VDPA_SUSPEND,
  VHOST_VDPA_RESUME,
  VHOST_VDPA_GET_VRING_DESC_GROUP,
  VHOST_VDPA_GET_VQS_COUNT,
  VHOST_VDPA_GET_GROUP_NUM,
  VHOST_VDPA_GET_VRING_SIZE,
  VHOST_SET_FORK_FROM_OWNER,
  VHOST_GET_FORK_FROM_OWNER,
  VHOST_VDPA_LOG_START,
  VHOST_VDPA_LOG_STOP,
} = requestNumbers(vhostIoctls);

export const vhostHeader = defineHeader('linux/vhost.h', [
  consts({ VHOST_FILE_UNBIND }),
  consts({ VHOST_VIRTIO }, { hex: true }),
  consts({ VHOST_VRING_LITTLE_ENDIAN, VHOST_VRING_BIG_ENDIAN }),
  consts({ VHOST_FORK_OWNER_KTHREAD, VHOST_FORK_OWNER_TASK }, { availability: UPSTREAM_ONLY }),
  comment('ioctls'),
  ioctls(vhostIoctls),
]);
