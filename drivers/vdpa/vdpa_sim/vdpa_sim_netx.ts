// Not a kernel device: "vdpasim_netx", an extended net simulator on the vdpa_sim core for VMM
// developers, who need what no kernel simulator offers: multiqueue (max_vqp 1..16; the CVQ is
// the last vq: index 2 * max_vqp with MQ negotiated, else 2, as the spec and mlx5_vdpa place it;
// data vqs in group 0, the CVQ alone in group 1, two address spaces), STATUS with link state and
// ANNOUNCE raised through config interrupts, QEMU's whole control set (lib/net VirtioNetState:
// RX modes, MAC table, VLAN filter, VQ_PAIRS_SET, GUEST_OFFLOADS, ANNOUNCE ack) with a receive
// filter that obeys it, MTU up to 9000 without vdpa_sim_net's PAGE_SIZE truncation, EVENT_IDX
// and indirect descriptors, and per-queue statistics (vstats names as vdpa_sim_net's).
// A MAC set through the CVQ becomes the device's MAC (config space), and survives reset. A
// frame the driver's RX buffer cannot hold is completed empty (rx errors), not left pending.
// The default offer leaves GUEST_ANNOUNCE out so that QEMU can shadow the CVQ (its SVQ rejects
// that bit); `vdpa dev add ... device_features` can ask for it.

import {
  EINVAL,
  EOPNOTSUPP,
  ETH_ALEN,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_ID_NET,
  VIRTIO_NET_ERR,
  VIRTIO_NET_F_CTRL_GUEST_OFFLOADS,
  VIRTIO_NET_F_CTRL_MAC_ADDR,
  VIRTIO_NET_F_CTRL_RX,
  VIRTIO_NET_F_CTRL_RX_EXTRA,
  VIRTIO_NET_F_CTRL_VLAN,
  VIRTIO_NET_F_CTRL_VQ,
  VIRTIO_NET_F_GUEST_ANNOUNCE,
  VIRTIO_NET_F_GUEST_CSUM,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_MQ,
  VIRTIO_NET_F_MTU,
  VIRTIO_NET_F_STATUS,
  VIRTIO_NET_OK,
  VIRTIO_NET_S_ANNOUNCE,
  VIRTIO_NET_S_LINK_UP,
  VIRTIO_RING_F_EVENT_IDX,
  VIRTIO_RING_F_INDIRECT_DESC,
  vdpaAttrs,
  virtioNetConfig,
} from '../../../uapi/index.js';
import {
  NET_RX_DELIVERED,
  NET_RX_ERROR,
  NET_RX_FILTERED,
  NET_RX_NO_CARRIER,
  NET_RX_OVERRUN,
  type NetAttachment,
  type NetRxVerdict,
  type NetPort,
  VirtioNetState,
  loopbackBackend,
  virtioNetHdrLen,
} from '../../../lib/net/index.js';
import type { ExtAck, NlMsgWriter } from '../../../lib/netlink/index.js';
import type { VdpaMgmtDev } from '../vdpa.js';
import type { VdpaDevSetConfig } from '../vdpa_ops.js';
import { VDPASIM_FEATURES, type VdpaSim, type VdpaSimEnv, type VdpaSimVirtqueue, VdpaSim as Sim } from './vdpa_sim.js';
import { cvqStatPairs, putVendorStats, rxStatPairs, txStatPairs, vdpasimNetDevDel } from './vdpa_sim_net.js';

export const VDPASIM_NETX_MAX_VQP = 16;
export const VDPASIM_NETX_MAX_MTU = 9000;
export const VDPASIM_NETX_MIN_MTU = 68;
export const VDPASIM_NETX_GROUP_NUM = 2;
export const VDPASIM_NETX_AS_NUM = 2;
/** Chains one TX queue may move per pass before the work yields (NAPI's weight). */
export const VDPASIM_NETX_BUDGET = 64;
/** The largest control command accepted (a full MAC table is 2 + 8 + 64 * 6 bytes). */
const CVQ_CMD_MAX = 4096;
const ETH_HLEN = 14;
const VLAN_HLEN = 4;
/** Header (at most 20 bytes with hash reports), Ethernet + VLAN header, the largest MTU. */
const FRAME_MAX = 20 + ETH_HLEN + VLAN_HLEN + VDPASIM_NETX_MAX_MTU;
const CFG_MAC = virtioNetConfig.offsetOf('mac');
const CFG_STATUS = virtioNetConfig.offsetOf('status');
const CFG_MAX_VQP = virtioNetConfig.offsetOf('max_virtqueue_pairs');
const CFG_MTU = virtioNetConfig.offsetOf('mtu');

const bit = (n: number): bigint => 1n << BigInt(n);

export const VDPASIM_NETX_FEATURES =
  VDPASIM_FEATURES |
  bit(VIRTIO_RING_F_INDIRECT_DESC) |
  bit(VIRTIO_RING_F_EVENT_IDX) |
  bit(VIRTIO_NET_F_GUEST_CSUM) |
  bit(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) |
  bit(VIRTIO_NET_F_MTU) |
  bit(VIRTIO_NET_F_MAC) |
  bit(VIRTIO_NET_F_STATUS) |
  bit(VIRTIO_NET_F_CTRL_VQ) |
  bit(VIRTIO_NET_F_CTRL_RX) |
  bit(VIRTIO_NET_F_CTRL_VLAN) |
  bit(VIRTIO_NET_F_CTRL_RX_EXTRA) |
  bit(VIRTIO_NET_F_GUEST_ANNOUNCE) |
  bit(VIRTIO_NET_F_MQ) |
  bit(VIRTIO_NET_F_CTRL_MAC_ADDR);

/** What a device offers when `vdpa dev add` names no features. */
export const VDPASIM_NETX_DEFAULT_FEATURES = VDPASIM_NETX_FEATURES & ~bit(VIRTIO_NET_F_GUEST_ANNOUNCE);

interface RxStats {
  pkts: number;
  bytes: number;
  errors: number;
  overruns: number;
  drops: number;
}

interface TxStats {
  pkts: number;
  bytes: number;
  errors: number;
  drops: number;
}

/** Per-queue counters (u64 in the vstats reply, exact here up to 2^53). */
export interface VdpaSimNetxStats {
  rx: RxStats[];
  tx: TxStats[];
  cq: { requests: number; successes: number; errors: number };
}

/** The device state beside the vdpa_sim core; it is also the device's port on its medium. */
export class VdpaSimNetx implements NetPort {
  readonly n: VirtioNetState;
  readonly stats: VdpaSimNetxStats;
  linkUp = true;
  private readonly buffer = new Uint8Array(FRAME_MAX);
  private readonly cmd = new Uint8Array(CVQ_CMD_MAX);
  private readonly ack = new Uint8Array(1);
  private nextTx = 0;
  private hdrLenCache = virtioNetHdrLen(0n);

  constructor(
    readonly sim: VdpaSim,
    readonly maxVqp: number,
    readonly mtu: number,
    mac: Uint8Array,
  ) {
    this.n = new VirtioNetState({ mac, maxQueuePairs: maxVqp, supportedGuestOffloads: bit(VIRTIO_NET_F_GUEST_CSUM) });
    const zero = () => ({ pkts: 0, bytes: 0, errors: 0, drops: 0 });
    this.stats = {
      rx: Array.from({ length: maxVqp }, () => ({ ...zero(), overruns: 0 })),
      tx: Array.from({ length: maxVqp }, zero),
      cq: { requests: 0, successes: 0, errors: 0 },
    };
  }

  get name(): string {
    return this.sim.vdpa.name;
  }

  /** The CVQ's index under the negotiated features. */
  cvqIndex(): number {
    return this.sim.features & bit(VIRTIO_NET_F_MQ) ? 2 * this.maxVqp : 2;
  }

  /** get_vq_group: the CVQ in group 1, data vqs in group 0. */
  vqGroup(idx: number): number {
    return idx === this.cvqIndex() ? 1 : 0;
  }

  /** Config space as the driver reads it: MAC, link and announce, max_vqp, MTU. */
  fillConfig(cfg: Uint8Array): void {
    const v = new DataView(cfg.buffer, cfg.byteOffset, cfg.byteLength);
    cfg.set(this.n.mac, CFG_MAC);
    v.setUint16(CFG_STATUS, (this.linkUp ? VIRTIO_NET_S_LINK_UP : 0) | (this.n.status & VIRTIO_NET_S_ANNOUNCE), true);
    v.setUint16(CFG_MAX_VQP, this.maxVqp, true);
    v.setUint16(CFG_MTU, this.mtu, true);
  }

  /** A legacy driver writing the MAC into config space. */
  configWritten(cfg: Uint8Array): void {
    this.n.mac.set(cfg.subarray(CFG_MAC, CFG_MAC + ETH_ALEN));
  }

  /** Device reset: the control state goes back to defaults, the MAC stays. */
  reset(): void {
    const mac = Uint8Array.from(this.n.mac);
    this.n.reset();
    this.featuresSet(0n);
    this.n.mac.set(mac);
  }

  /** Link up or down, with a config interrupt if STATUS was negotiated. */
  setLink(up: boolean): void {
    if (this.linkUp === up) return;
    this.linkUp = up;
    if (this.sim.features & bit(VIRTIO_NET_F_STATUS)) this.sim.configChanged();
  }

  /** Asks the driver to announce itself; false unless GUEST_ANNOUNCE and CTRL_VQ were negotiated. */
  announce(): boolean {
    if (!this.n.announce()) return false;
    this.sim.configChanged();
    return true;
  }

  private hdrLen(): number {
    return this.hdrLenCache;
  }

  /** The driver set its features: the header length follows them. */
  featuresSet(features: bigint): void {
    this.n.setFeatures(features);
    this.hdrLenCache = virtioNetHdrLen(features);
  }

  private complete(vq: VdpaSimVirtqueue, len: number): void {
    vq.vring.complete(vq.head.head, len);
    if (vq.vring.needNotify() > 0) vq.notify();
  }

  /** A frame offered by the medium: filter, the RX queue of the pair, push, complete. */
  receive(buf: Uint8Array, off: number, hdrLen: number, len: number, queue: number): NetRxVerdict {
    const sim = this.sim;
    const pairs = this.n.multiqueue ? this.n.currQueuePairs : 1;
    const q = queue % pairs;
    const rxq = sim.vqs[2 * q] as VdpaSimVirtqueue;
    const rx = this.stats.rx[q] as RxStats;
    if (!sim.running || !(sim.status & VIRTIO_CONFIG_S_DRIVER_OK) || !rxq.ready || !this.linkUp) {
      rx.drops++;
      return NET_RX_OVERRUN;
    }
    const own = this.hdrLen();
    const frame = len - hdrLen;
    if (frame > ETH_HLEN + VLAN_HLEN + this.mtu || !this.n.receiveFilter(buf, off + hdrLen, frame)) {
      rx.drops++;
      return NET_RX_FILTERED;
    }
    if (rxq.vring.getdesc(undefined, rxq.inIov, rxq.head) <= 0) {
      rx.overruns++;
      return NET_RX_OVERRUN;
    }
    let write: number;
    if (hdrLen === own) {
      write = rxq.vring.push(rxq.inIov, buf, len, off);
    } else {
      // Another header layout: the driver gets its own, zeroed (no offload metadata to carry).
      this.buffer.fill(0, 0, own);
      write = rxq.vring.push(rxq.inIov, this.buffer, own);
      const rest = write === own ? rxq.vring.push(rxq.inIov, buf, len - hdrLen, off + hdrLen) : -1;
      write = rest < 0 ? -1 : own + rest;
    }
    if (write < len - hdrLen + own) {
      rx.errors++;
      // The buffer is returned empty: the driver sees a runt and drops it.
      this.complete(rxq, 0);
      return NET_RX_ERROR;
    }
    rx.pkts++;
    rx.bytes += write;
    this.complete(rxq, write);
    return NET_RX_DELIVERED;
  }

  /** The control queue: every command through VirtioNetState, the ack pushed, the driver notified. */
  private handleCvq(): void {
    const sim = this.sim;
    const cvq = sim.vqs[this.cvqIndex()] as VdpaSimVirtqueue | undefined;
    if (!cvq?.ready || !(sim.features & bit(VIRTIO_NET_F_CTRL_VQ))) return;
    const cq = this.stats.cq;
    for (;;) {
      const err = cvq.vring.getdesc(cvq.outIov, cvq.inIov, cvq.head);
      if (err < 0) break;
      // Empty: ask for the next kick (avail_event with EVENT_IDX), then look once more.
      if (err === 0) {
        if (cvq.vring.notifyEnable()) break;
        continue;
      }
      cq.requests++;
      const len = cvq.outIov.remaining() > CVQ_CMD_MAX ? -1 : cvq.vring.pull(cvq.outIov, this.cmd);
      const status = len < 0 ? VIRTIO_NET_ERR : this.n.handleCtrl(this.cmd, len);
      if (status === VIRTIO_NET_OK) cq.successes++;
      else cq.errors++;
      this.ack[0] = status;
      const written = cvq.vring.push(cvq.inIov, this.ack);
      this.complete(cvq, written < 0 ? 0 : written);
    }
  }

  /** One TX queue: up to VDPASIM_NETX_BUDGET chains into the medium; true if it had more. */
  private txQueue(q: number): boolean {
    const txq = this.sim.vqs[2 * q + 1] as VdpaSimVirtqueue;
    const tx = this.stats.tx[q] as TxStats;
    const net = this.sim.net as NetAttachment;
    const hdrLen = this.hdrLen();
    const max = hdrLen + ETH_HLEN + VLAN_HLEN + this.mtu;
    if (!txq.ready) return false;
    for (let done = 0; done < VDPASIM_NETX_BUDGET; done++) {
      const err = txq.vring.getdesc(txq.outIov, undefined, txq.head);
      if (err < 0) {
        tx.errors++;
        return false;
      }
      if (err === 0) {
        if (txq.vring.notifyEnable()) return false;
        done--;
        continue;
      }
      const size = txq.outIov.remaining();
      if (size > max || size < hdrLen + ETH_HLEN) {
        // Oversized or runt: dropped, never truncated.
        tx.drops++;
        this.complete(txq, 0);
        continue;
      }
      const read = txq.vring.pull(txq.outIov, this.buffer, size);
      if (read !== size) {
        tx.errors++;
        this.complete(txq, 0);
        continue;
      }
      tx.pkts++;
      tx.bytes += read;
      const verdict = this.linkUp ? net.backend.transmit(net.port, this.buffer, hdrLen, read, q) : NET_RX_NO_CARRIER;
      if (verdict === NET_RX_NO_CARRIER) tx.drops++;
      this.complete(txq, 0);
    }
    return true;
  }

  /** The device work: the CVQ first, then the TX queues of the pairs in use, round-robin. */
  work(): void {
    const sim = this.sim;
    if (!sim.running || !(sim.status & VIRTIO_CONFIG_S_DRIVER_OK)) return;
    this.handleCvq();
    const pairs = this.n.multiqueue ? this.n.currQueuePairs : 1;
    let more = false;
    for (let i = 0; i < pairs; i++) {
      const q = (this.nextTx + i) % pairs;
      if (this.txQueue(q)) more = true;
    }
    this.nextTx = (this.nextTx + 1) % pairs;
    if (more) sim.scheduleWork();
  }

  /** Vendor statistics of vq `idx`: RX of pair idx/2, TX of pair idx/2, or the CVQ. */
  getStats(idx: number, msg: NlMsgWriter): number {
    const q = idx >> 1;
    const pairs =
      idx === this.cvqIndex()
        ? cvqStatPairs(this.stats.cq)
        : idx >= 2 * this.maxVqp
          ? undefined
          : idx % 2 === 0
            ? rxStatPairs(this.stats.rx[q] as RxStats)
            : txStatPairs(this.stats.tx[q] as TxStats);
    if (!pairs) return -EINVAL;
    putVendorStats(msg, this.sim.env.profile.name, pairs);
    return 0;
  }
}

/** The vdpasim_netx management device. */
export function vdpasimNetxMgmtdev(env: VdpaSimEnv): VdpaMgmtDev {
  const A = vdpaAttrs(env.profile.name);
  const MAC = bit(A.VDPA_ATTR_DEV_NET_CFG_MACADDR as number);
  const MTU = bit(A.VDPA_ATTR_DEV_NET_CFG_MTU as number);
  const MAX_VQP = bit(A.VDPA_ATTR_DEV_NET_CFG_MAX_VQP as number);
  const FEATURES = bit(A.VDPA_ATTR_DEV_FEATURES as number);
  const devices = new WeakMap<object, VdpaSimNetx>();

  const mdev: VdpaMgmtDev = {
    device: { name: 'vdpasim_netx' },
    idTable: [VIRTIO_ID_NET],
    configAttrMask: MAC | MTU | MAX_VQP | FEATURES,
    maxSupportedVqs: 2 * VDPASIM_NETX_MAX_VQP + 1,
    supportedFeatures: VDPASIM_NETX_FEATURES,
    ops: {
      devAdd(m, name, config: VdpaDevSetConfig) {
        const maxVqp = config.mask & MAX_VQP ? config.net.maxVqPairs : 1;
        if (maxVqp < 1 || maxVqp > VDPASIM_NETX_MAX_VQP) return -EINVAL;
        const mtu = config.mask & MTU ? config.net.mtu : 1500;
        if (mtu < VDPASIM_NETX_MIN_MTU || mtu > VDPASIM_NETX_MAX_MTU) return -EINVAL;
        const mac = config.mask & MAC ? config.net.mac.subarray(0, ETH_ALEN) : new Uint8Array(ETH_ALEN);
        const nvqs = 2 * maxVqp + 1;
        let dev: VdpaSimNetx | undefined;
        const features = config.mask & FEATURES ? config.deviceFeatures : VDPASIM_NETX_DEFAULT_FEATURES;
        const sim = Sim.create(
          env,
          {
            mgmtDev: m,
            name,
            id: VIRTIO_ID_NET,
            supportedFeatures: VDPASIM_NETX_FEATURES,
            nvqs,
            ngroups: VDPASIM_NETX_GROUP_NUM,
            nas: VDPASIM_NETX_AS_NUM,
            configSize: virtioNetConfig.size,
            configInterrupts: true,
            workFn: () => dev?.work(),
            getVqGroup: (_s, idx) => dev?.vqGroup(idx) ?? 0,
            setFeatures: (_s, f) => dev?.featuresSet(f),
            reset: () => dev?.reset(),
            getConfig: (_s, cfg) => dev?.fillConfig(cfg),
            setConfig: (_s, cfg) => dev?.configWritten(cfg),
            getStats: (_s, idx, msg: NlMsgWriter, _extack: ExtAck) => dev?.getStats(idx, msg) ?? -EOPNOTSUPP,
          },
          { ...config, deviceFeatures: features, mask: config.mask | FEATURES },
          FEATURES,
        );
        if (typeof sim === 'number') return sim;
        const d = new VdpaSimNetx(sim, maxVqp, mtu, mac);
        dev = d;
        devices.set(sim.vdpa, d);
        sim.net = { port: d, backend: loopbackBackend };
        d.fillConfig(sim.config);
        const r = env.bus.registerManagedDevice(sim.vdpa, nvqs);
        if (r) sim.vdpa.put();
        return r;
      },
      devDel: (_m, vdev) => vdpasimNetDevDel(env, vdev),
      devSetAttr(_m, vdev, config) {
        const d = devices.get(vdev);
        if (!d || !(config.mask & MAC)) return -EOPNOTSUPP;
        d.n.mac.set(config.net.mac.subarray(0, ETH_ALEN));
        d.fillConfig(d.sim.config);
        return 0;
      },
    },
  };
  return mdev;
}
