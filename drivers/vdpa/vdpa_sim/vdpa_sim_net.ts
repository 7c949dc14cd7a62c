// Models: drivers/vdpa/vdpa_sim/vdpa_sim_net.c: the net device class (3 vqs: RX, TX, CVQ; 2
// groups; 2 address spaces), its management device "vdpasim_net", config space (MAC and MTU
// from `vdpa dev add`, link always up), the loopback datapath with its receive filter, the
// control virtqueue (MAC_ADDR_SET only) and the per-queue statistics behind vstats.
// Kept exactly: the filter compares the MAC with strncmp (stops at a common NUL byte); at most
// PAGE_SIZE bytes of a frame are copied; the CVQ ack carries over between commands of a pass; a
// failed pull becomes a huge size_t that passes the length check.
// Profile differences: 6.1 counts only delivered packets toward the 5-per-pass budget, has no
// statistics and no dev_set_attr; upstream offers VIRTIO_NET_F_STATUS.
// Deviations: TX goes through a NetBackend (lib/net): `loopback`, the default, is the kernel's
// loop; `wire` hands frames to another NIC (a full peer ring drops the frame instead of ending
// the pass). Within one pass the RX used entry is written before the TX one (the kernel writes
// TX first; no reader can run in between). A negative pull reuses the stale buffer bounded by
// its PAGE_SIZE (the kernel would read past it).

import {
  EINVAL,
  EOPNOTSUPP,
  ETH_ALEN,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_F_VERSION_1,
  VIRTIO_ID_NET,
  VIRTIO_NET_CTRL_MAC,
  VIRTIO_NET_CTRL_MAC_ADDR_SET,
  VIRTIO_NET_ERR,
  VIRTIO_NET_F_CTRL_VQ,
  VIRTIO_NET_OK,
  VIRTIO_NET_S_LINK_UP,
  vdpaAttrs,
  virtioNetConfig,
  virtioNetHdr,
  virtioNetHdrV1,
} from '../../../uapi/index.js';
import {
  NET_RX_DELIVERED,
  NET_RX_ERROR,
  NET_RX_FILTERED,
  NET_RX_NO_CARRIER,
  NET_RX_OVERRUN,
  type NetAttachment,
  type NetPort,
  type NetRxVerdict,
  loopbackBackend,
} from '../../../lib/net/index.js';
import type { ExtAck, NlMsgWriter } from '../../../lib/netlink/index.js';
import { tracepoint } from '../../../lib/trace.js';
import type { KernelProfile } from '../../profile.js';
import type { VdpaDevice, VdpaMgmtDev } from '../vdpa.js';
import type { VdpaDevSetConfig } from '../vdpa_ops.js';
import { type VdpaSim, type VdpaSimDevAttr, type VdpaSimEnv, type VdpaSimVirtqueue, VdpaSim as Sim } from './vdpa_sim.js';

export const VDPASIM_NET_VQ_NUM = 3;
export const VDPASIM_NET_AS_NUM = 2;
export const VDPASIM_NET_GROUP_NUM = 2;
const PAGE_SIZE = 4096;
const tracePacket = tracepoint<{ dev: string; len: number; verdict: 'delivered' | 'dropped' | 'overrun' | 'rx error' }>('vdpa:sim_net:packet');
const MTU_OFF = virtioNetConfig.offsetOf('mtu');
const STATUS_OFF = virtioNetConfig.offsetOf('status');
const bit = (n: number): bigint => 1n << BigInt(n);
const VERSION_1 = bit(VIRTIO_F_VERSION_1);

/** struct vdpasim_dataq_stats / vdpasim_cq_stats (u64 counters, exact here up to 2^53). */
export interface VdpaSimNetStats {
  rx: { pkts: number; bytes: number; errors: number; overruns: number; drops: number };
  tx: { pkts: number; bytes: number; errors: number; drops: number };
  cq: { requests: number; successes: number; errors: number };
}

/** The per-device state of struct vdpasim_net beside the core; also its port on the medium. */
export class VdpaSimNet implements NetPort {
  /** net->buffer: one frame, PAGE_SIZE bytes. */
  readonly buffer = new Uint8Array(PAGE_SIZE);
  readonly stats: VdpaSimNetStats = {
    rx: { pkts: 0, bytes: 0, errors: 0, overruns: 0, drops: 0 },
    tx: { pkts: 0, bytes: 0, errors: 0, drops: 0 },
    cq: { requests: 0, successes: 0, errors: 0 },
  };
  private readonly ctrl = new Uint8Array(2);
  private readonly ack = new Uint8Array(1);

  constructor(readonly sim: VdpaSim) {}

  get name(): string {
    return this.sim.vdpa.name;
  }

  /** vdpasim_net_complete(): publish, then notify as vringh decides. */
  private complete(vq: VdpaSimVirtqueue, len: number): void {
    vq.vring.complete(vq.head.head, len);
    if (vq.vring.needNotify() > 0) vq.notify();
  }

  /** receive_filter(). `len` is the pull result as the C size_t sees it. */
  private receiveFilter(len: number): boolean {
    const hdrLen = this.hdrLen();
    // A negative (error) length is a huge size_t: it passes.
    if (len >= 0 && len < ETH_ALEN + hdrLen) return false;
    const b = this.buffer;
    const dst0 = b[hdrLen] as number;
    // Broadcast is a multicast address too (low bit of the first octet).
    if (dst0 & 1) return true;
    // strncmp(dst, mac, ETH_ALEN): equal up to the first NUL both share.
    const mac = this.sim.config;
    for (let i = 0; i < ETH_ALEN; i++) {
      const x = b[hdrLen + i] as number;
      if (x !== mac[i]) return false;
      if (x === 0) return true;
    }
    return true;
  }

  /** vdpasim_handle_ctrl_mac(). */
  private handleCtrlMac(cvq: VdpaSimVirtqueue, cmd: number): number {
    if (cmd !== VIRTIO_NET_CTRL_MAC_ADDR_SET) return VIRTIO_NET_ERR;
    // Straight into the config space: a short read still overwrites the first bytes.
    const read = cvq.vring.pull(cvq.inIov, this.sim.config.subarray(0, ETH_ALEN));
    return read === ETH_ALEN ? VIRTIO_NET_OK : VIRTIO_NET_ERR;
  }

  /** vdpasim_handle_cvq(). */
  handleCvq(): void {
    const sim = this.sim;
    const cvq = sim.vqs[2] as VdpaSimVirtqueue;
    if (!(sim.features & (1n << BigInt(VIRTIO_NET_F_CTRL_VQ)))) return;
    if (!cvq.ready) return;
    // The ack is not reset per command: unknown classes answer with the previous one.
    let status = VIRTIO_NET_ERR;
    const cq = this.stats.cq;
    for (;;) {
      const err = cvq.vring.getdesc(cvq.inIov, cvq.outIov, cvq.head);
      if (err <= 0) break;
      cq.requests++;
      const read = cvq.vring.pull(cvq.inIov, this.ctrl);
      if (read !== this.ctrl.length) {
        cq.errors++;
        break;
      }
      if (this.ctrl[0] === VIRTIO_NET_CTRL_MAC) status = this.handleCtrlMac(cvq, this.ctrl[1] as number);
      if (status === VIRTIO_NET_OK) cq.successes++;
      else cq.errors++;
      this.ack[0] = status;
      const write = cvq.vring.push(cvq.outIov, this.ack);
      cvq.vring.complete(cvq.head.head, write);
      // The CVQ callback runs for every command, whatever vringh would decide.
      cvq.notify();
    }
  }

  /**
   * The receive half of the loop (receive_filter, then an RX buffer, push, complete): what the
   * medium calls with a frame. The frame is this device's own buffer when looped back.
   */
  receive(buf: Uint8Array, off: number, hdrLen: number, len: number): NetRxVerdict {
    const sim = this.sim;
    const rxq = sim.vqs[0] as VdpaSimVirtqueue;
    const rx = this.stats.rx;
    if (buf !== this.buffer) {
      // From another NIC: re-headered for this device, within its PAGE_SIZE buffer.
      if (!sim.running || !rxq.ready) return NET_RX_OVERRUN;
      const own = this.hdrLen();
      const n = Math.min(len - hdrLen, PAGE_SIZE - own);
      this.buffer.fill(0, 0, own);
      this.buffer.set(buf.subarray(off + hdrLen, off + hdrLen + n), own);
      len = own + n;
    }
    if (!this.receiveFilter(len)) {
      if (tracePacket.active) tracePacket.publish({ dev: sim.vdpa.name, len, verdict: 'dropped' });
      rx.drops++;
      return NET_RX_FILTERED;
    }
    const rerr = rxq.vring.getdesc(undefined, rxq.inIov, rxq.head);
    if (rerr <= 0) {
      if (tracePacket.active) tracePacket.publish({ dev: sim.vdpa.name, len, verdict: 'overrun' });
      rx.overruns++;
      return NET_RX_OVERRUN;
    }
    const write = rxq.vring.push(rxq.inIov, this.buffer, len < 0 ? PAGE_SIZE : len);
    if (write <= 0) {
      if (tracePacket.active) tracePacket.publish({ dev: sim.vdpa.name, len, verdict: 'rx error' });
      rx.errors++;
      return NET_RX_ERROR;
    }
    if (tracePacket.active) tracePacket.publish({ dev: sim.vdpa.name, len: write, verdict: 'delivered' });
    rx.pkts++;
    rx.bytes += write;
    this.complete(rxq, write);
    return NET_RX_DELIVERED;
  }

  /** The virtio-net header length the driver negotiated. */
  private hdrLen(): number {
    return (this.sim.features & VERSION_1) !== 0n ? virtioNetHdrV1.size : virtioNetHdr.size;
  }

  /** vdpasim_net_work(). */
  work(): void {
    const sim = this.sim;
    const txq = sim.vqs[1] as VdpaSimVirtqueue;
    const rxq = sim.vqs[0] as VdpaSimVirtqueue;
    const { tx } = this.stats;
    const countDrops = sim.env.profile.vdpaSim.txBudgetCountsDrops;
    if (!sim.running) return;
    if (!(sim.status & VIRTIO_CONFIG_S_DRIVER_OK)) return;
    this.handleCvq();
    if (!txq.ready || !rxq.ready) return;
    const net = sim.net as NetAttachment;
    let consumed = 0;
    let delivered = 0;
    for (;;) {
      const err = txq.vring.getdesc(txq.outIov, undefined, txq.head);
      if (err <= 0) {
        if (err) tx.errors++;
        break;
      }
      consumed++;
      tx.pkts++;
      const read = txq.vring.pull(txq.outIov, this.buffer, PAGE_SIZE);
      tx.bytes += read;
      const verdict = net.backend.transmit(net.port, this.buffer, this.hdrLen(), read, 0);
      // A failed RX write leaves the TX buffer uncompleted, as the kernel's loop does.
      if (verdict === NET_RX_ERROR) break;
      if (verdict === NET_RX_NO_CARRIER) tx.drops++;
      this.complete(txq, 0);
      // The kernel stops when its own RX ring is full; a peer's full ring does not stop us.
      if (verdict === NET_RX_OVERRUN && net.backend.loopsBack) break;
      if (verdict !== NET_RX_DELIVERED) continue;
      delivered++;
      if ((countDrops ? consumed : delivered) > 4) {
        sim.scheduleWork();
        return;
      }
    }
  }

  /** vdpasim_net_get_stats(): name/value pairs of one queue (0 RX, 1 TX, 2 CVQ). */
  getStats(idx: number, msg: NlMsgWriter): number {
    const { rx, tx, cq } = this.stats;
    const pairs = idx === 0 ? rxStatPairs(rx) : idx === 1 ? txStatPairs(tx) : idx === 2 ? cvqStatPairs(cq) : undefined;
    if (!pairs) return -EINVAL;
    putVendorStats(msg, this.sim.env.profile.name, pairs);
    return 0;
  }
}

type StatPairs = readonly (readonly [string, number])[];

/** The vstats names vdpa_sim_net gives a data RX queue. */
export const rxStatPairs = (rx: VdpaSimNetStats['rx']): StatPairs => [
  ['rx packets', rx.pkts],
  ['rx bytes', rx.bytes],
  ['rx errors', rx.errors],
  ['rx overruns', rx.overruns],
  ['rx drops', rx.drops],
];

/** ...a data TX queue. */
export const txStatPairs = (tx: VdpaSimNetStats['tx']): StatPairs => [
  ['tx packets', tx.pkts],
  ['tx bytes', tx.bytes],
  ['tx errors', tx.errors],
  ['tx drops', tx.drops],
];

/** ...the CVQ. */
export const cvqStatPairs = (cq: VdpaSimNetStats['cq']): StatPairs => [
  ['cvq requests', cq.requests],
  ['cvq successes', cq.successes],
  ['cvq errors', cq.errors],
];

/** The VDPA_ATTR_DEV_VENDOR_ATTR_NAME/VALUE pairs of a vstats reply. */
export function putVendorStats(msg: NlMsgWriter, profile: KernelProfile['name'], pairs: StatPairs): void {
  const A = vdpaAttrs(profile);
  for (const [name, value] of pairs) {
    msg.putString(A.VDPA_ATTR_DEV_VENDOR_ATTR_NAME as number, name);
    msg.putU64(A.VDPA_ATTR_DEV_VENDOR_ATTR_VALUE as number, BigInt(value));
  }
}


/** dev_del of a net class: off its medium, then _vdpa_unregister_device(). */
export function vdpasimNetDevDel(env: VdpaSimEnv, vdev: VdpaDevice): void {
  const sim = vdev.parent as VdpaSim;
  sim.net?.backend.detach(sim.net.port);
  env.bus.unregisterDevice(vdev);
}

/** The vdpasim_net management device and its dev_add/dev_del/dev_set_attr. */
export function vdpasimNetMgmtdev(env: VdpaSimEnv): VdpaMgmtDev {
  const A = vdpaAttrs(env.profile.name);
  const MAC = bit(A.VDPA_ATTR_DEV_NET_CFG_MACADDR as number);
  const MTU = bit(A.VDPA_ATTR_DEV_NET_CFG_MTU as number);
  const FEATURES = bit(A.VDPA_ATTR_DEV_FEATURES as number);
  const supported = env.profile.vdpaSim.netFeatures;
  const nets = new WeakMap<object, VdpaSimNet>();

  const mdev: VdpaMgmtDev = {
    device: { name: 'vdpasim_net' },
    idTable: [VIRTIO_ID_NET],
    configAttrMask: MAC | MTU | FEATURES,
    maxSupportedVqs: VDPASIM_NET_VQ_NUM,
    supportedFeatures: supported,
    ops: {
      devAdd(m, name, config: VdpaDevSetConfig) {
        let net: VdpaSimNet | undefined;
        const attr: VdpaSimDevAttr = {
          mgmtDev: m,
          name,
          id: VIRTIO_ID_NET,
          supportedFeatures: supported,
          nvqs: VDPASIM_NET_VQ_NUM,
          ngroups: VDPASIM_NET_GROUP_NUM,
          nas: VDPASIM_NET_AS_NUM,
          configSize: virtioNetConfig.size,
          // The link is always up, whatever was written.
          getConfig: (_sim, cfg) => new DataView(cfg.buffer, cfg.byteOffset).setUint16(STATUS_OFF, VIRTIO_NET_S_LINK_UP, true),
          workFn: () => net?.work(),
          getStats: (_sim, idx, msg: NlMsgWriter, _extack: ExtAck) => net?.getStats(idx, msg) ?? -EOPNOTSUPP,
        };
        const sim = Sim.create(env, attr, config, FEATURES);
        if (typeof sim === 'number') return sim;
        const n = new VdpaSimNet(sim);
        net = n;
        nets.set(sim.vdpa, n);
        sim.net = { port: n, backend: loopbackBackend };
        // vdpasim_net_setup_config(): MAC and MTU from the command, MTU 1500 by default.
        if (config.mask & MAC) sim.config.set(config.net.mac.subarray(0, ETH_ALEN), 0);
        new DataView(sim.config.buffer).setUint16(MTU_OFF, config.mask & MTU ? config.net.mtu : 1500, true);
        const r = env.bus.registerManagedDevice(sim.vdpa, VDPASIM_NET_VQ_NUM);
        if (r) sim.vdpa.put();
        return r;
      },
      devDel: (_m, vdev) => vdpasimNetDevDel(env, vdev),
    },
  };
  if (env.profile.netlink.devAttrSet) {
    mdev.ops.devSetAttr = (_m, vdev, config) => {
      const net = nets.get(vdev);
      if (!net || !(config.mask & MAC)) return -EOPNOTSUPP;
      net.sim.config.set(config.net.mac.subarray(0, ETH_ALEN), 0);
      return 0;
    };
  }
  return mdev;
}
