// Items newer than Linux 6.1 cannot be checked against this machine's headers; they are
// checked here against the numbers in shared/reference/linux-vdpa-facts.md (§1.1 ioctls,
// §1.4 backend bits, §1.5, §3.6 netlink) and upstream include/uapi/linux/vdpa.h.

import { describe, expect, it } from 'vitest';
import {
  UAPI_HEADERS,
  availableIn,
  vdpaAttrs,
  vdpaCommands,
  vhostIoctls,
  ENOTSUPP,
  ENOIOCTLCMD,
  VIRTIO_TRANSPORT_F_END,
  VIRTIO_F_NOTIFICATION_DATA,
  VIRTIO_F_NOTIF_CONFIG_DATA,
  VIRTIO_F_ADMIN_VQ,
  VHOST_BACKEND_F_IOTLB_MSG_V2,
  VHOST_BACKEND_F_IOTLB_BATCH,
  VHOST_BACKEND_F_IOTLB_ASID,
  VHOST_BACKEND_F_SUSPEND,
  VHOST_BACKEND_F_RESUME,
  VHOST_BACKEND_F_ENABLE_AFTER_DRIVER_OK,
  VHOST_BACKEND_F_DESC_ASID,
  VHOST_BACKEND_F_IOTLB_PERSIST,
  constValueIn,
} from '../../uapi/index.js';

/** linux-vdpa-facts.md §1.1, column "number", every row. */
const FACTS_IOCTLS: Record<string, number> = {
  VHOST_GET_FEATURES: 0x8008af00,
  VHOST_SET_FEATURES: 0x4008af00,
  VHOST_SET_OWNER: 0x0000af01,
  VHOST_RESET_OWNER: 0x0000af02,
  VHOST_SET_MEM_TABLE: 0x4008af03,
  VHOST_SET_LOG_BASE: 0x4008af04,
  VHOST_SET_LOG_FD: 0x4004af07,
  VHOST_NEW_WORKER: 0x8004af08,
  VHOST_FREE_WORKER: 0x4004af09,
  VHOST_SET_VRING_NUM: 0x4008af10,
  VHOST_SET_VRING_ADDR: 0x4028af11,
  VHOST_SET_VRING_BASE: 0x4008af12,
  VHOST_GET_VRING_BASE: 0xc008af12,
  VHOST_SET_VRING_ENDIAN: 0x4008af13,
  VHOST_GET_VRING_ENDIAN: 0x4008af14,
  VHOST_ATTACH_VRING_WORKER: 0x4008af15,
  VHOST_GET_VRING_WORKER: 0xc008af16,
  VHOST_SET_VRING_KICK: 0x4008af20,
  VHOST_SET_VRING_CALL: 0x4008af21,
  VHOST_SET_VRING_ERR: 0x4008af22,
  VHOST_SET_VRING_BUSYLOOP_TIMEOUT: 0x4008af23,
  VHOST_GET_VRING_BUSYLOOP_TIMEOUT: 0x4008af24,
  VHOST_SET_BACKEND_FEATURES: 0x4008af25,
  VHOST_GET_BACKEND_FEATURES: 0x8008af26,
  VHOST_VDPA_GET_DEVICE_ID: 0x8004af70,
  VHOST_VDPA_GET_STATUS: 0x8001af71,
  VHOST_VDPA_SET_STATUS: 0x4001af72,
  VHOST_VDPA_GET_CONFIG: 0x8008af73,
  VHOST_VDPA_SET_CONFIG: 0x4008af74,
  VHOST_VDPA_SET_VRING_ENABLE: 0x4008af75,
  VHOST_VDPA_GET_VRING_NUM: 0x8002af76,
  VHOST_VDPA_SET_CONFIG_CALL: 0x4004af77,
  VHOST_VDPA_GET_IOVA_RANGE: 0x8010af78,
  VHOST_VDPA_GET_CONFIG_SIZE: 0x8004af79,
  VHOST_VDPA_GET_AS_NUM: 0x8004af7a,
  VHOST_VDPA_GET_VRING_GROUP: 0xc008af7b,
  VHOST_VDPA_SET_GROUP_ASID: 0x4008af7c,
  VHOST_VDPA_SUSPEND: 0x0000af7d,
  VHOST_VDPA_RESUME: 0x0000af7e,
  VHOST_VDPA_GET_VRING_DESC_GROUP: 0xc008af7f,
  VHOST_VDPA_GET_VQS_COUNT: 0x8004af80,
  VHOST_VDPA_GET_GROUP_NUM: 0x8004af81,
  VHOST_VDPA_GET_VRING_SIZE: 0xc008af82,
  VHOST_GET_FEATURES_ARRAY: 0x8008af83,
  VHOST_SET_FEATURES_ARRAY: 0x4008af83,
  VHOST_SET_FORK_FROM_OWNER: 0x4001af84,
  VHOST_GET_FORK_FROM_OWNER: 0x8001af85,
};

/** §1.5: what Linux 6.1 lacks. */
const ABSENT_IN_6_1 = [
  'VHOST_VDPA_RESUME',
  'VHOST_VDPA_GET_VRING_DESC_GROUP',
  'VHOST_VDPA_GET_VRING_SIZE',
  'VHOST_GET_FEATURES_ARRAY',
  'VHOST_SET_FEATURES_ARRAY',
  'VHOST_SET_FORK_FROM_OWNER',
  'VHOST_GET_FORK_FROM_OWNER',
  'VHOST_NEW_WORKER',
  'VHOST_FREE_WORKER',
  'VHOST_ATTACH_VRING_WORKER',
  'VHOST_GET_VRING_WORKER',
];

describe('vhost requests against linux-vdpa-facts.md §1.1', () => {
  for (const [name, number] of Object.entries(FACTS_IOCTLS)) {
    it(`${name} = 0x${number.toString(16).padStart(8, '0')}`, () => {
      expect(vhostIoctls[name as keyof typeof vhostIoctls].request).toBe(number);
    });
  }

  it('declares every vhost request of §1.1 (and the NET/SCSI/VSOCK ones on top)', () => {
    const declared = Object.keys(vhostIoctls);
    expect(Object.keys(FACTS_IOCTLS).filter((n) => !declared.includes(n))).toEqual([]);
  });

  it('GET_VRING_SIZE is nr 0x82, not the v6.9-rc 0x80 (which is GET_VQS_COUNT)', () => {
    expect(vhostIoctls.VHOST_VDPA_GET_VRING_SIZE.nr).toBe(0x82);
    expect(vhostIoctls.VHOST_VDPA_GET_VQS_COUNT.nr).toBe(0x80);
  });

  it('§1.5: Linux 6.1 lacks exactly the newer requests', () => {
    const absent = Object.values(vhostIoctls)
      .filter((d) => availableIn(d.availability, 'upstream') && !availableIn(d.availability, 'linux-6.1'))
      .map((d) => d.name)
      .sort();
    expect(absent).toEqual([...ABSENT_IN_6_1].sort());
  });

  it('the proposal-lm-log requests exist only in their profile, which has all of upstream', () => {
    const only = Object.values(vhostIoctls)
      .filter((d) => !availableIn(d.availability, 'upstream'))
      .map((d) => d.name);
    expect(only.sort()).toEqual(['VHOST_VDPA_LOG_START', 'VHOST_VDPA_LOG_STOP']);
    for (const d of Object.values(vhostIoctls)) {
      if (availableIn(d.availability, 'upstream')) expect(availableIn(d.availability, 'proposal-lm-log')).toBe(true);
      if (only.includes(d.name)) expect(availableIn(d.availability, 'linux-6.1')).toBe(false);
    }
  });
});

describe('backend features against §1.4 (bit numbers, not masks)', () => {
  it('bits 1..8 are MSG_V2, BATCH, ASID, SUSPEND, RESUME, ENABLE_AFTER_DRIVER_OK, DESC_ASID, IOTLB_PERSIST', () => {
    expect([
      VHOST_BACKEND_F_IOTLB_MSG_V2,
      VHOST_BACKEND_F_IOTLB_BATCH,
      VHOST_BACKEND_F_IOTLB_ASID,
      VHOST_BACKEND_F_SUSPEND,
      VHOST_BACKEND_F_RESUME,
      VHOST_BACKEND_F_ENABLE_AFTER_DRIVER_OK,
      VHOST_BACKEND_F_DESC_ASID,
      VHOST_BACKEND_F_IOTLB_PERSIST,
    ]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('Linux 6.1 defines bits 1..4 only', () => {
    const vhostTypes = UAPI_HEADERS.find((h) => h.file === 'linux/vhost_types.h');
    const bits = vhostTypes?.items.flatMap((i) =>
      i.kind === 'const' && i.name.startsWith('VHOST_BACKEND_F_') && constValueIn(i, 'linux-6.1') !== undefined ? [i.name] : [],
    );
    expect(bits).toEqual([
      'VHOST_BACKEND_F_IOTLB_MSG_V2',
      'VHOST_BACKEND_F_IOTLB_BATCH',
      'VHOST_BACKEND_F_IOTLB_ASID',
      'VHOST_BACKEND_F_SUSPEND',
    ]);
  });
});

describe('virtio_config.h upstream additions (§1.5)', () => {
  it('NOTIFICATION_DATA 38, NOTIF_CONFIG_DATA 39, ADMIN_VQ 41, TRANSPORT_F_END 42 (41 in 6.1)', () => {
    expect([VIRTIO_F_NOTIFICATION_DATA, VIRTIO_F_NOTIF_CONFIG_DATA, VIRTIO_F_ADMIN_VQ]).toEqual([38, 39, 41]);
    expect(VIRTIO_TRANSPORT_F_END).toBe(42);
    const item = UAPI_HEADERS.flatMap((h) => h.items).find((i) => i.kind === 'const' && i.name === 'VIRTIO_TRANSPORT_F_END');
    expect(item?.kind === 'const' && constValueIn(item, 'linux-6.1')).toBe(41);
  });
});

describe('vdpa generic netlink numbering (§3.6, upstream include/uapi/linux/vdpa.h)', () => {
  it('commands: MGMTDEV_NEW 1 … VSTATS_GET 7, DEV_ATTR_SET 8 upstream only', () => {
    expect(vdpaCommands('upstream')).toEqual({
      VDPA_CMD_UNSPEC: 0,
      VDPA_CMD_MGMTDEV_NEW: 1,
      VDPA_CMD_MGMTDEV_GET: 2,
      VDPA_CMD_DEV_NEW: 3,
      VDPA_CMD_DEV_DEL: 4,
      VDPA_CMD_DEV_GET: 5,
      VDPA_CMD_DEV_CONFIG_GET: 6,
      VDPA_CMD_DEV_VSTATS_GET: 7,
      VDPA_CMD_DEV_ATTR_SET: 8,
    });
    expect(vdpaCommands('linux-6.1').VDPA_CMD_DEV_ATTR_SET).toBeUndefined();
  });

  it('upstream attributes: DEV_FEATURES 20, BLK_CFG_CAPACITY 21 … BLK_FLUSH 36, MAX 37', () => {
    const a = vdpaAttrs('upstream');
    expect(a.VDPA_ATTR_DEV_NET_STATUS).toBe(11);
    expect(a.VDPA_ATTR_DEV_NET_CFG_MTU).toBe(13);
    expect(a.VDPA_ATTR_DEV_QUEUE_INDEX).toBe(17);
    expect(a.VDPA_ATTR_DEV_FEATURES).toBe(20);
    expect(a.VDPA_ATTR_DEV_BLK_CFG_CAPACITY).toBe(21);
    expect(a.VDPA_ATTR_DEV_BLK_CFG_SIZE_MAX).toBe(22);
    expect(a.VDPA_ATTR_DEV_BLK_CFG_NUM_QUEUES).toBe(25);
    expect(a.VDPA_ATTR_DEV_BLK_CFG_MAX_WRITE_ZEROES_SEG).toBe(34);
    expect(a.VDPA_ATTR_DEV_BLK_READ_ONLY).toBe(35);
    expect(a.VDPA_ATTR_DEV_BLK_FLUSH).toBe(36);
    expect(a.VDPA_ATTR_MAX).toBe(37);
    expect(a.VDPA_ATTR_VDPA_DEV_SUPPORTED_FEATURES).toBeUndefined();
  });

  it('Linux 6.1: 21 is VDPA_DEV_SUPPORTED_FEATURES, MAX 22, no blk attributes', () => {
    const a = vdpaAttrs('linux-6.1');
    expect(a.VDPA_ATTR_VDPA_DEV_SUPPORTED_FEATURES).toBe(21);
    expect(a.VDPA_ATTR_MAX).toBe(22);
    expect(Object.keys(a).filter((n) => n.includes('_BLK_'))).toEqual([]);
  });
});

describe('kernel-internal errnos (§0)', () => {
  it('ENOTSUPP is 524 and ENOIOCTLCMD 515', () => {
    expect(ENOTSUPP).toBe(524);
    expect(ENOIOCTLCMD).toBe(515);
  });
});
