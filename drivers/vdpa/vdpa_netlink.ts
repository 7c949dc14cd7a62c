// Models: the generic netlink family "vdpa" of drivers/vdpa/vdpa.c: MGMTDEV_GET, DEV_NEW,
// DEV_DEL, DEV_GET, DEV_CONFIG_GET, DEV_VSTATS_GET and (upstream) DEV_ATTR_SET, with the
// kernel's validation order, errnos and extack texts (NL_SET_ERR_MSG_MOD prefixes "vdpa: ").
// Profile differences (attribute numbering, 6.1's DEV_NEW checks and config reply) come from
// the kernel profile.
// Deviations: dumps come in one pass; net attributes need CAP_NET_ADMIN of the sender's
// credentials (the model has no user namespaces).

import {
  EAGAIN,
  EINVAL,
  ENODEV,
  EOPNOTSUPP,
  EPERM,
  ERANGE,
  GENL_ADMIN_PERM,
  VDPA_GENL_NAME,
  VDPA_GENL_VERSION,
  VIRTIO_BLK_F_BLK_SIZE,
  VIRTIO_BLK_F_DISCARD,
  VIRTIO_BLK_F_FLUSH,
  VIRTIO_BLK_F_MQ,
  VIRTIO_BLK_F_RO,
  VIRTIO_BLK_F_SEG_MAX,
  VIRTIO_BLK_F_SIZE_MAX,
  VIRTIO_BLK_F_TOPOLOGY,
  VIRTIO_BLK_F_WRITE_ZEROES,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_ID_BLOCK,
  VIRTIO_ID_NET,
  VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MAX,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_MQ,
  VIRTIO_NET_F_MTU,
  VIRTIO_NET_F_RSS,
  VIRTIO_NET_F_STATUS,
  VIRTIO_TRANSPORT_F_END,
  VIRTIO_TRANSPORT_F_START,
  dataView,
  vdpaAttrs,
  vdpaCommands,
  virtioBlkConfig,
  virtioNetConfig,
} from '../../uapi/index.js';
import type { GenlDumpCallback, GenlFamily, GenlInfo, GenlOp, NlAttr, NlaPolicy, NlMsgWriter, ParsedAttrs } from '../../lib/netlink/index.js';
import { NLA_POLICY_ETH_ADDR } from '../../lib/netlink/index.js';
import type { KernelProfile } from '../profile.js';
import { type VdpaBus, type VdpaDevice, type VdpaMgmtDev, mgmtdevClasses, vdpaGetConfig } from './vdpa.js';
import { type VdpaDevSetConfig, emptySetConfig } from './vdpa_ops.js';

const bit = (n: number): bigint => 1n << BigInt(n);
const MOD = 'vdpa: ';

/** Every bit but the transport range (VIRTIO_DEVICE_F_MASK). */
const VIRTIO_DEVICE_F_MASK = (((1n << 64n) - 1n) & ~((1n << BigInt(VIRTIO_TRANSPORT_F_END + 1)) - 1n)) | (bit(VIRTIO_TRANSPORT_F_START) - 1n);

const str = (a: NlAttr): string => {
  const nul = a.payload.indexOf(0);
  return new TextDecoder().decode(a.payload.subarray(0, nul < 0 ? undefined : nul));
};
const u16 = (a: NlAttr): number => dataView(a.payload).getUint16(0, true);
const u32 = (a: NlAttr): number => dataView(a.payload).getUint32(0, true);
const u64 = (a: NlAttr): bigint => dataView(a.payload).getBigUint64(0, true);

/** Builds the family for one bus under one profile. */
export function vdpaNlFamily(bus: VdpaBus, profile: KernelProfile): GenlFamily {
  const A = vdpaAttrs(profile.name) as Record<string, number>;
  const C = vdpaCommands(profile.name) as Record<string, number>;
  const at = (name: string): number => A[name] as number;
  const NET_ATTRS_MASK =
    bit(at('VDPA_ATTR_DEV_NET_CFG_MACADDR')) | bit(at('VDPA_ATTR_DEV_NET_CFG_MTU')) | bit(at('VDPA_ATTR_DEV_NET_CFG_MAX_VQP'));

  const policy: (NlaPolicy | undefined)[] = [];
  policy[at('VDPA_ATTR_MGMTDEV_BUS_NAME')] = { type: 'nul-string' };
  policy[at('VDPA_ATTR_MGMTDEV_DEV_NAME')] = { type: 'string' };
  policy[at('VDPA_ATTR_DEV_NAME')] = { type: 'string' };
  policy[at('VDPA_ATTR_DEV_NET_CFG_MACADDR')] = NLA_POLICY_ETH_ADDR;
  policy[at('VDPA_ATTR_DEV_NET_CFG_MAX_VQP')] = { type: 'u16' };
  // virtio spec 1.1 section 5.1.4.1: the smallest valid MTU.
  policy[at('VDPA_ATTR_DEV_NET_CFG_MTU')] = { type: 'u16', min: 68 };
  policy[at('VDPA_ATTR_DEV_QUEUE_INDEX')] = { type: 'u32' };
  policy[at('VDPA_ATTR_DEV_FEATURES')] = { type: 'u64' };

  const attr = (attrs: ParsedAttrs, name: string): NlAttr | undefined => attrs[at(name)];

  /** mgmtdev_handle_match() over vdpa_mgmtdev_get_from_attr(). */
  function mgmtdevFromAttrs(attrs: ParsedAttrs): VdpaMgmtDev | number {
    const dev = attr(attrs, 'VDPA_ATTR_MGMTDEV_DEV_NAME');
    if (!dev) return -EINVAL;
    const devname = str(dev);
    const busAttr = attr(attrs, 'VDPA_ATTR_MGMTDEV_BUS_NAME');
    const busname = busAttr ? str(busAttr) : undefined;
    for (const m of bus.allMgmtdevs()) {
      if ((busname !== undefined) !== (m.device.bus !== undefined)) continue;
      if (m.device.name === devname && (busname === undefined || m.device.bus === busname)) return m;
    }
    return -ENODEV;
  }

  function handleFill(w: NlMsgWriter, m: VdpaMgmtDev): void {
    if (m.device.bus !== undefined) w.putString(at('VDPA_ATTR_MGMTDEV_BUS_NAME'), m.device.bus);
    w.putString(at('VDPA_ATTR_MGMTDEV_DEV_NAME'), m.device.name);
  }

  function mgmtdevFill(w: NlMsgWriter, m: VdpaMgmtDev): number {
    handleFill(w, m);
    w.putU64(at('VDPA_ATTR_MGMTDEV_SUPPORTED_CLASSES'), mgmtdevClasses(m).classes);
    w.putU32(at('VDPA_ATTR_DEV_MGMTDEV_MAX_VQS'), m.maxSupportedVqs);
    w.putU64(at('VDPA_ATTR_DEV_SUPPORTED_FEATURES'), m.supportedFeatures);
    return 0;
  }

  function devFill(w: NlMsgWriter, vdev: VdpaDevice): number {
    const ops = vdev.config;
    handleFill(w, vdev.mdev as VdpaMgmtDev);
    w.putString(at('VDPA_ATTR_DEV_NAME'), vdev.name);
    w.putU32(at('VDPA_ATTR_DEV_ID'), ops.getDeviceId());
    w.putU32(at('VDPA_ATTR_DEV_VENDOR_ID'), ops.getVendorId());
    w.putU32(at('VDPA_ATTR_DEV_MAX_VQS'), vdev.nvqs);
    w.putU16(at('VDPA_ATTR_DEV_MAX_VQ_SIZE'), ops.getVqNumMax());
    w.putU16(at('VDPA_ATTR_DEV_MIN_VQ_SIZE'), ops.getVqNumMin?.() ?? 1);
    return 0;
  }

  function netMqFill(w: NlMsgWriter, features: bigint, cfg: DataView): void {
    if (!(features & bit(VIRTIO_NET_F_MQ)) && !(features & bit(VIRTIO_NET_F_RSS))) return;
    w.putU16(at('VDPA_ATTR_DEV_NET_CFG_MAX_VQP'), cfg.getUint16(virtioNetConfig.offsetOf('max_virtqueue_pairs'), true));
  }

  function netConfigFill(w: NlMsgWriter, vdev: VdpaDevice): number {
    const buf = new Uint8Array(virtioNetConfig.size);
    vdev.config.getConfig(0, buf);
    const cfg = dataView(buf);
    const features = vdev.config.getDeviceFeatures();
    const status = (): void => {
      w.putU16(at('VDPA_ATTR_DEV_NET_STATUS'), cfg.getUint16(virtioNetConfig.offsetOf('status'), true));
    };
    if (profile.netlink.netStatusUnconditional) {
      // 6.1: status always, then the device features under their 6.1 attribute.
      status();
      w.putU64(at('VDPA_ATTR_VDPA_DEV_SUPPORTED_FEATURES'), features);
    } else {
      w.putU64(at('VDPA_ATTR_DEV_FEATURES'), features);
    }
    if (features & bit(VIRTIO_NET_F_MTU)) w.putU16(at('VDPA_ATTR_DEV_NET_CFG_MTU'), cfg.getUint16(virtioNetConfig.offsetOf('mtu'), true));
    if (features & bit(VIRTIO_NET_F_MAC)) w.put(at('VDPA_ATTR_DEV_NET_CFG_MACADDR'), buf.subarray(0, 6));
    if (!profile.netlink.netStatusUnconditional && features & bit(VIRTIO_NET_F_STATUS)) status();
    netMqFill(w, features, cfg);
    return 0;
  }

  function blkConfigFill(w: NlMsgWriter, vdev: VdpaDevice): number {
    const buf = new Uint8Array(virtioBlkConfig.size);
    vdev.config.getConfig(0, buf.subarray(0, Math.min(buf.length, vdev.config.getConfigSize())));
    const c = virtioBlkConfig.decode(buf);
    const f = vdev.config.getDeviceFeatures();
    const has = (b: number): boolean => (f & bit(b)) !== 0n;
    w.putU64(at('VDPA_ATTR_DEV_FEATURES'), f);
    w.putU64(at('VDPA_ATTR_DEV_BLK_CFG_CAPACITY'), c.capacity);
    if (has(VIRTIO_BLK_F_SIZE_MAX)) w.putU32(at('VDPA_ATTR_DEV_BLK_CFG_SIZE_MAX'), c.size_max);
    if (has(VIRTIO_BLK_F_BLK_SIZE)) w.putU32(at('VDPA_ATTR_DEV_BLK_CFG_BLK_SIZE'), c.blk_size);
    if (has(VIRTIO_BLK_F_SEG_MAX)) w.putU32(at('VDPA_ATTR_DEV_BLK_CFG_SEG_MAX'), c.seg_max);
    if (has(VIRTIO_BLK_F_MQ)) w.putU16(at('VDPA_ATTR_DEV_BLK_CFG_NUM_QUEUES'), c.num_queues);
    if (has(VIRTIO_BLK_F_TOPOLOGY)) {
      w.putU8(at('VDPA_ATTR_DEV_BLK_CFG_PHY_BLK_EXP'), c.physical_block_exp);
      w.putU8(at('VDPA_ATTR_DEV_BLK_CFG_ALIGN_OFFSET'), c.alignment_offset);
      w.putU16(at('VDPA_ATTR_DEV_BLK_CFG_MIN_IO_SIZE'), c.min_io_size);
      w.putU32(at('VDPA_ATTR_DEV_BLK_CFG_OPT_IO_SIZE'), c.opt_io_size);
    }
    if (has(VIRTIO_BLK_F_DISCARD)) {
      w.putU32(at('VDPA_ATTR_DEV_BLK_CFG_MAX_DISCARD_SEC'), c.max_discard_sectors);
      w.putU32(at('VDPA_ATTR_DEV_BLK_CFG_MAX_DISCARD_SEG'), c.max_discard_seg);
      w.putU32(at('VDPA_ATTR_DEV_BLK_CFG_DISCARD_SEC_ALIGN'), c.discard_sector_alignment);
    }
    if (has(VIRTIO_BLK_F_WRITE_ZEROES)) {
      w.putU32(at('VDPA_ATTR_DEV_BLK_CFG_MAX_WRITE_ZEROES_SEC'), c.max_write_zeroes_sectors);
      w.putU32(at('VDPA_ATTR_DEV_BLK_CFG_MAX_WRITE_ZEROES_SEG'), c.max_write_zeroes_seg);
    }
    w.putU8(at('VDPA_ATTR_DEV_BLK_READ_ONLY'), has(VIRTIO_BLK_F_RO) ? 1 : 0);
    w.putU8(at('VDPA_ATTR_DEV_BLK_FLUSH'), has(VIRTIO_BLK_F_FLUSH) ? 1 : 0);
    return 0;
  }

  function devConfigFill(w: NlMsgWriter, vdev: VdpaDevice): number {
    const ops = vdev.config;
    const id = ops.getDeviceId();
    w.putString(at('VDPA_ATTR_DEV_NAME'), vdev.name);
    w.putU32(at('VDPA_ATTR_DEV_ID'), id);
    // Driver features only once negotiation is done.
    if (ops.getStatus() & VIRTIO_CONFIG_S_FEATURES_OK) w.putU64(at('VDPA_ATTR_DEV_NEGOTIATED_FEATURES'), ops.getDriverFeatures());
    if (id === VIRTIO_ID_NET) return netConfigFill(w, vdev);
    // 6.1 knows only net; the blk attributes do not exist there.
    if (id === VIRTIO_ID_BLOCK && A.VDPA_ATTR_DEV_BLK_CFG_CAPACITY !== undefined) return blkConfigFill(w, vdev);
    return -EOPNOTSUPP;
  }

  /** bus_find_device by name, plus the "unmanaged" check most commands make. */
  function managedDevice(info: GenlInfo, notFoundMsg = true): VdpaDevice | number {
    const name = str(attr(info.attrs, 'VDPA_ATTR_DEV_NAME') as NlAttr);
    const vdev = bus.findDevice(name);
    if (!vdev) {
      if (notFoundMsg) info.extack.msg = `${MOD}device not found`;
      return -ENODEV;
    }
    return vdev;
  }

  const mgmtdevGetDoit = (info: GenlInfo): number => {
    const m = mgmtdevFromAttrs(info.attrs);
    if (typeof m === 'number') {
      info.extack.msg = `${MOD}Fail to find the specified mgmt device`;
      return m;
    }
    return info.reply(C.VDPA_CMD_MGMTDEV_NEW as number, (w) => mgmtdevFill(w, m));
  };

  const mgmtdevGetDumpit = (cb: GenlDumpCallback): number => {
    for (const m of bus.allMgmtdevs()) cb.put(C.VDPA_CMD_MGMTDEV_NEW as number, (w) => mgmtdevFill(w, m));
    return 0;
  };

  const devAddDoit = (info: GenlInfo): number => {
    const nameAttr = attr(info.attrs, 'VDPA_ATTR_DEV_NAME');
    if (!nameAttr) return -EINVAL;
    const name = str(nameAttr);
    const config: VdpaDevSetConfig = emptySetConfig();
    const mac = attr(info.attrs, 'VDPA_ATTR_DEV_NET_CFG_MACADDR');
    if (mac) {
      config.net.mac.set(mac.payload.subarray(0, 6));
      config.mask |= bit(at('VDPA_ATTR_DEV_NET_CFG_MACADDR'));
    }
    const mtu = attr(info.attrs, 'VDPA_ATTR_DEV_NET_CFG_MTU');
    if (mtu) {
      config.net.mtu = u16(mtu);
      config.mask |= bit(at('VDPA_ATTR_DEV_NET_CFG_MTU'));
    }
    const vqp = attr(info.attrs, 'VDPA_ATTR_DEV_NET_CFG_MAX_VQP');
    if (vqp) {
      config.net.maxVqPairs = u16(vqp);
      if (!config.net.maxVqPairs) {
        info.extack.msg = `${MOD}At least one pair of VQs is required`;
        return -EINVAL;
      }
      config.mask |= bit(at('VDPA_ATTR_DEV_NET_CFG_MAX_VQP'));
    }
    const feat = attr(info.attrs, 'VDPA_ATTR_DEV_FEATURES');
    if (feat) {
      config.deviceFeatures = u64(feat);
      if (profile.netlink.devNewFeatureChecks) {
        let missing = 0n;
        if (mac && !(config.deviceFeatures & bit(VIRTIO_NET_F_MAC))) missing |= bit(VIRTIO_NET_F_MAC);
        if (mtu && !(config.deviceFeatures & bit(VIRTIO_NET_F_MTU))) missing |= bit(VIRTIO_NET_F_MTU);
        if (vqp && config.net.maxVqPairs > 1 && !(config.deviceFeatures & bit(VIRTIO_NET_F_MQ))) missing |= bit(VIRTIO_NET_F_MQ);
        if (missing) {
          info.extack.msg = `${MOD}Missing features 0x${missing.toString(16)} for provided attributes`;
          return -EINVAL;
        }
      }
      config.mask |= bit(at('VDPA_ATTR_DEV_FEATURES'));
    }
    // Configuring network attributes needs CAP_NET_ADMIN.
    if (config.mask & NET_ATTRS_MASK && !info.sender.cred.capNetAdmin) return -EPERM;

    const m = mgmtdevFromAttrs(info.attrs);
    if (typeof m === 'number') {
      info.extack.msg = `${MOD}Fail to find the specified management device`;
      return m;
    }
    if ((config.mask & m.configAttrMask) !== config.mask) {
      info.extack.msg =
        profile.netlink.unsupportedAttrsMsg === 'all'
          ? `${MOD}All provided attributes are not supported`
          : `${MOD}Some provided attributes are not supported: 0x${(config.mask & ~m.configAttrMask).toString(16)}`;
      return -EOPNOTSUPP;
    }
    if (profile.netlink.devNewFeatureChecks) {
      const { classes, count } = mgmtdevClasses(m);
      if (config.mask & NET_ATTRS_MASK && !(classes & bit(VIRTIO_ID_NET))) {
        info.extack.msg = `${MOD}Network class attributes provided on unsupported management device`;
        return -EINVAL;
      }
      if (
        !(config.mask & NET_ATTRS_MASK) &&
        config.mask & bit(at('VDPA_ATTR_DEV_FEATURES')) &&
        classes & bit(VIRTIO_ID_NET) &&
        count > 1 &&
        config.deviceFeatures & VIRTIO_DEVICE_F_MASK
      ) {
        info.extack.msg = `${MOD}Management device supports multi-class while device features specified are ambiguous`;
        return -EINVAL;
      }
    }
    return m.ops.devAdd(m, name, config);
  };

  const devDelDoit = (info: GenlInfo): number => {
    if (!attr(info.attrs, 'VDPA_ATTR_DEV_NAME')) return -EINVAL;
    const vdev = managedDevice(info);
    if (typeof vdev === 'number') return vdev;
    if (!vdev.mdev) {
      info.extack.msg = `${MOD}Only user created device can be deleted by user`;
      return -EINVAL;
    }
    vdev.mdev.ops.devDel(vdev.mdev, vdev);
    return 0;
  };

  const devGetDoit = (info: GenlInfo): number => {
    if (!attr(info.attrs, 'VDPA_ATTR_DEV_NAME')) return -EINVAL;
    const vdev = managedDevice(info);
    if (typeof vdev === 'number') return vdev;
    if (!vdev.mdev) return -EINVAL;
    return info.reply(C.VDPA_CMD_DEV_NEW as number, (w) => devFill(w, vdev));
  };

  const devGetDumpit = (cb: GenlDumpCallback): number => {
    for (const vdev of bus.allDevices()) {
      if (vdev.mdev) cb.put(C.VDPA_CMD_DEV_NEW as number, (w) => devFill(w, vdev));
    }
    return 0;
  };

  const devConfigGetDoit = (info: GenlInfo): number => {
    if (!attr(info.attrs, 'VDPA_ATTR_DEV_NAME')) return -EINVAL;
    const vdev = managedDevice(info);
    if (typeof vdev === 'number') return vdev;
    if (!vdev.mdev) {
      info.extack.msg = `${MOD}unmanaged vdpa device`;
      return -EINVAL;
    }
    return info.reply(C.VDPA_CMD_DEV_CONFIG_GET as number, (w) => devConfigFill(w, vdev));
  };

  const devConfigGetDumpit = (cb: GenlDumpCallback): number => {
    for (const vdev of bus.allDevices()) {
      if (!vdev.mdev) continue;
      const r = cb.put(C.VDPA_CMD_DEV_CONFIG_GET as number, (w) => devConfigFill(w, vdev));
      if (r) return r;
    }
    return 0;
  };

  /** vdpa_fill_stats_rec() behind vendor_stats_fill(). */
  function statsFill(w: NlMsgWriter, vdev: VdpaDevice, info: GenlInfo, index: number): number {
    const ops = vdev.config;
    if (!ops.getVendorVqStats) return -EOPNOTSUPP;
    if (!(ops.getStatus() & VIRTIO_CONFIG_S_FEATURES_OK)) {
      info.extack.msg = `${MOD}feature negotiation not complete`;
      return -EAGAIN;
    }
    const cfg = new Uint8Array(virtioNetConfig.size);
    vdpaGetConfig(vdev, 0, cfg);
    const features = ops.getDriverFeatures();
    w.putU64(at('VDPA_ATTR_DEV_NEGOTIATED_FEATURES'), features);
    netMqFill(w, features, dataView(cfg));
    w.putU32(at('VDPA_ATTR_DEV_QUEUE_INDEX'), index);
    return ops.getVendorVqStats(index, w, info.extack);
  }

  const devStatsGetDoit = (info: GenlInfo): number => {
    if (!attr(info.attrs, 'VDPA_ATTR_DEV_NAME')) return -EINVAL;
    const qidx = attr(info.attrs, 'VDPA_ATTR_DEV_QUEUE_INDEX');
    if (!qidx) return -EINVAL;
    const index = u32(qidx);
    const vdev = managedDevice(info);
    if (typeof vdev === 'number') return vdev;
    if (!vdev.mdev) {
      info.extack.msg = `${MOD}unmanaged vdpa device`;
      return -EINVAL;
    }
    return info.reply(C.VDPA_CMD_DEV_VSTATS_GET as number, (w) => {
      w.putString(at('VDPA_ATTR_DEV_NAME'), vdev.name);
      const id = vdev.config.getDeviceId();
      w.putU32(at('VDPA_ATTR_DEV_ID'), id);
      if (id !== VIRTIO_ID_NET) return -EOPNOTSUPP;
      if (index > VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MAX) {
        info.extack.msg = `${MOD}queue index exceeds max value`;
        return -ERANGE;
      }
      return statsFill(w, vdev, info, index);
    });
  };

  const devAttrSetDoit = (info: GenlInfo): number => {
    const nameAttr = attr(info.attrs, 'VDPA_ATTR_DEV_NAME');
    if (!nameAttr) return -EINVAL;
    const vdev = managedDevice(info);
    if (typeof vdev === 'number') return vdev;
    const m = vdev.mdev;
    if (!m) {
      info.extack.msg = `${MOD}unmanaged vdpa device`;
      return -EINVAL;
    }
    if (!(mgmtdevClasses(m).classes & bit(VIRTIO_ID_NET))) {
      info.extack.msg = `${MOD}${str(nameAttr)} device not supported`;
      return 0;
    }
    const mac = attr(info.attrs, 'VDPA_ATTR_DEV_NET_CFG_MACADDR');
    if (!mac) return -EOPNOTSUPP;
    if (!isValidEtherAddr(mac.payload)) {
      info.extack.msg = `${MOD}Invalid MAC address`;
      return -EOPNOTSUPP;
    }
    if (!m.ops.devSetAttr) {
      info.extack.msg = `${MOD}Operation not supported by the device.`;
      return -EOPNOTSUPP;
    }
    const config = emptySetConfig();
    config.net.mac.set(mac.payload.subarray(0, 6));
    config.mask = bit(at('VDPA_ATTR_DEV_NET_CFG_MACADDR'));
    return m.ops.devSetAttr(m, vdev, config);
  };

  const ops: GenlOp[] = [
    { cmd: C.VDPA_CMD_MGMTDEV_GET as number, doit: mgmtdevGetDoit, dumpit: mgmtdevGetDumpit },
    { cmd: C.VDPA_CMD_DEV_NEW as number, doit: devAddDoit, flags: GENL_ADMIN_PERM },
    { cmd: C.VDPA_CMD_DEV_DEL as number, doit: devDelDoit, flags: GENL_ADMIN_PERM },
    { cmd: C.VDPA_CMD_DEV_GET as number, doit: devGetDoit, dumpit: devGetDumpit },
    { cmd: C.VDPA_CMD_DEV_CONFIG_GET as number, doit: devConfigGetDoit, dumpit: devConfigGetDumpit },
    { cmd: C.VDPA_CMD_DEV_VSTATS_GET as number, doit: devStatsGetDoit, flags: GENL_ADMIN_PERM },
  ];
  if (profile.netlink.devAttrSet) ops.push({ cmd: C.VDPA_CMD_DEV_ATTR_SET as number, doit: devAttrSetDoit, flags: GENL_ADMIN_PERM });

  return {
    name: VDPA_GENL_NAME,
    version: VDPA_GENL_VERSION,
    maxattr: at('VDPA_ATTR_MAX'),
    policy,
    ops,
    resvStartOp: (C.VDPA_CMD_DEV_VSTATS_GET as number) + 1,
  };
}

/** is_valid_ether_addr(): not multicast, not all zeros. */
function isValidEtherAddr(mac: Uint8Array): boolean {
  if (mac.length < 6) return false;
  if ((mac[0] as number) & 1) return false;
  return mac.subarray(0, 6).some((b) => b !== 0);
}
