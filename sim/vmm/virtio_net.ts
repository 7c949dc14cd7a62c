// Models: QEMU hw/net/virtio-net.c (the virtio-net device a guest sees, with a vhost-vdpa peer:
// features as the backend allows them, config read from the device with the emulated ANNOUNCE
// bit, the VirtIONet model kept for migration, start/stop of vhost on DRIVER_OK and reset) and
// hw/net/vhost_net.c (vhost_net_start/stop over the clients: vq indexes, guest and host
// notifiers, start -> vhost_dev_start -> load per client), with the virtio-pci transport
// (VirtIOPCIProxy) reduced to virtio_config_ops for the guest.
// Deviations: the transport is not register-level PCI (the guest calls config ops directly);
// one MSI-X vector per queue plus one for config; the config interrupt reaches the guest through
// VHOST_VDPA_SET_CONFIG_CALL set once at start; no announce timer (announce() is QMP's
// announce-self, one round).

import {
  ETH_ALEN,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_F_ANY_LAYOUT,
  VIRTIO_F_IN_ORDER,
  VIRTIO_F_IOMMU_PLATFORM,
  VIRTIO_F_NOTIFICATION_DATA,
  VIRTIO_F_NOTIFY_ON_EMPTY,
  VIRTIO_F_RING_PACKED,
  VIRTIO_F_RING_RESET,
  VIRTIO_F_VERSION_1,
  VIRTIO_NET_F_CSUM,
  VIRTIO_NET_F_CTRL_GUEST_OFFLOADS,
  VIRTIO_NET_F_CTRL_MAC_ADDR,
  VIRTIO_NET_F_CTRL_RX,
  VIRTIO_NET_F_CTRL_RX_EXTRA,
  VIRTIO_NET_F_CTRL_VLAN,
  VIRTIO_NET_F_CTRL_VQ,
  VIRTIO_NET_F_GSO,
  VIRTIO_NET_F_GUEST_ANNOUNCE,
  VIRTIO_NET_F_GUEST_CSUM,
  VIRTIO_NET_F_GUEST_ECN,
  VIRTIO_NET_F_GUEST_TSO4,
  VIRTIO_NET_F_GUEST_TSO6,
  VIRTIO_NET_F_GUEST_UFO,
  VIRTIO_NET_F_GUEST_USO4,
  VIRTIO_NET_F_GUEST_USO6,
  VIRTIO_NET_F_HASH_REPORT,
  VIRTIO_NET_F_HOST_ECN,
  VIRTIO_NET_F_HOST_TSO4,
  VIRTIO_NET_F_HOST_TSO6,
  VIRTIO_NET_F_HOST_UFO,
  VIRTIO_NET_F_HOST_USO,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_MQ,
  VIRTIO_NET_F_MRG_RXBUF,
  VIRTIO_NET_F_MTU,
  VIRTIO_NET_F_RSC_EXT,
  VIRTIO_NET_F_RSS,
  VIRTIO_NET_F_SPEED_DUPLEX,
  VIRTIO_NET_F_STATUS,
  VIRTIO_NET_S_ANNOUNCE,
  VIRTIO_RING_F_EVENT_IDX,
  VIRTIO_RING_F_INDIRECT_DESC,
  virtioNetConfig,
} from '../../uapi/index.js';
import { GUEST_OFFLOADS_MASK, VirtioNetState } from '../../lib/net/index.js';
import type { GuestRam } from './memory.js';
import type { NetFrontend, NetVhostVdpa, VhostVdpaState } from './net_vhost_vdpa.js';
import type { VmmPlatform } from './platform.js';
import { vhostCall } from './vhost_vdpa.js';
import { GuestRamSpace, VirtQueue } from './virtio.js';
import { VirtioPciDevice } from './virtio_pci.js';

const bit = (n: number): bigint => 1n << BigInt(n);

/** vdpa_feature_bits: what the device must offer for the guest to see it. */
export const VDPA_FEATURE_BITS = [
  VIRTIO_F_ANY_LAYOUT,
  VIRTIO_F_IOMMU_PLATFORM,
  VIRTIO_F_NOTIFY_ON_EMPTY,
  VIRTIO_F_RING_PACKED,
  VIRTIO_F_RING_RESET,
  VIRTIO_F_VERSION_1,
  VIRTIO_F_IN_ORDER,
  VIRTIO_F_NOTIFICATION_DATA,
  VIRTIO_NET_F_CSUM,
  VIRTIO_NET_F_CTRL_GUEST_OFFLOADS,
  VIRTIO_NET_F_CTRL_MAC_ADDR,
  VIRTIO_NET_F_CTRL_RX,
  VIRTIO_NET_F_CTRL_RX_EXTRA,
  VIRTIO_NET_F_CTRL_VLAN,
  VIRTIO_NET_F_CTRL_VQ,
  VIRTIO_NET_F_GSO,
  VIRTIO_NET_F_GUEST_CSUM,
  VIRTIO_NET_F_GUEST_ECN,
  VIRTIO_NET_F_GUEST_TSO4,
  VIRTIO_NET_F_GUEST_TSO6,
  VIRTIO_NET_F_GUEST_UFO,
  VIRTIO_NET_F_GUEST_USO4,
  VIRTIO_NET_F_GUEST_USO6,
  VIRTIO_NET_F_HASH_REPORT,
  VIRTIO_NET_F_HOST_ECN,
  VIRTIO_NET_F_HOST_TSO4,
  VIRTIO_NET_F_HOST_TSO6,
  VIRTIO_NET_F_HOST_UFO,
  VIRTIO_NET_F_HOST_USO,
  VIRTIO_NET_F_MQ,
  VIRTIO_NET_F_MRG_RXBUF,
  VIRTIO_NET_F_MTU,
  VIRTIO_NET_F_RSC_EXT,
  VIRTIO_NET_F_RSS,
  VIRTIO_NET_F_STATUS,
  VIRTIO_RING_F_EVENT_IDX,
  VIRTIO_RING_F_INDIRECT_DESC,
].reduce((m, b) => m | bit(b), 0n);

/** virtio-net-pci's default host features (properties left at their defaults). */
const DEFAULT_HOST_FEATURES = [
  VIRTIO_NET_F_CSUM,
  VIRTIO_NET_F_GUEST_CSUM,
  VIRTIO_NET_F_CTRL_GUEST_OFFLOADS,
  VIRTIO_NET_F_GSO,
  VIRTIO_NET_F_GUEST_TSO4,
  VIRTIO_NET_F_GUEST_TSO6,
  VIRTIO_NET_F_GUEST_ECN,
  VIRTIO_NET_F_GUEST_UFO,
  VIRTIO_NET_F_HOST_TSO4,
  VIRTIO_NET_F_HOST_TSO6,
  VIRTIO_NET_F_HOST_ECN,
  VIRTIO_NET_F_HOST_UFO,
  VIRTIO_NET_F_MRG_RXBUF,
  VIRTIO_NET_F_STATUS,
  VIRTIO_NET_F_CTRL_VQ,
  VIRTIO_NET_F_CTRL_RX,
  VIRTIO_NET_F_CTRL_VLAN,
  VIRTIO_NET_F_CTRL_RX_EXTRA,
  VIRTIO_NET_F_GUEST_ANNOUNCE,
  VIRTIO_NET_F_CTRL_MAC_ADDR,
  VIRTIO_NET_F_MAC,
  VIRTIO_F_NOTIFY_ON_EMPTY,
  VIRTIO_F_ANY_LAYOUT,
  VIRTIO_RING_F_INDIRECT_DESC,
  VIRTIO_RING_F_EVENT_IDX,
  VIRTIO_F_VERSION_1,
].reduce((m, b) => m | bit(b), 0n);

/** Queue sizes of virtio-net (rx_queue_size, tx_queue_size, the control queue). */
export const VIRTIO_NET_RX_QUEUE_SIZE = 256;
export const VIRTIO_NET_TX_QUEUE_SIZE = 256;
export const VIRTIO_NET_CTRL_QUEUE_SIZE = 64;

/** feature_sizes[]: the config bytes each feature needs. */
const CONFIG_SIZES: readonly [number, number][] = [
  [VIRTIO_NET_F_MAC, virtioNetConfig.offsetOf('status')],
  [VIRTIO_NET_F_STATUS, virtioNetConfig.offsetOf('max_virtqueue_pairs')],
  [VIRTIO_NET_F_MQ, virtioNetConfig.offsetOf('mtu')],
  [VIRTIO_NET_F_MTU, virtioNetConfig.offsetOf('speed')],
  [VIRTIO_NET_F_SPEED_DUPLEX, virtioNetConfig.offsetOf('rss_max_key_size')],
  [VIRTIO_NET_F_RSS, virtioNetConfig.size],
  [VIRTIO_NET_F_HASH_REPORT, virtioNetConfig.size],
];
const CFG_STATUS = virtioNetConfig.offsetOf('status');

export interface VirtioNetOptions {
  /** mac=: the command-line MAC, written into the device at realize. */
  mac: Uint8Array;
  /** mq=: offer multiqueue (libvirt sets it when queues > 1). */
  mq?: boolean;
  /** host_mtu=: offer VIRTIO_NET_F_MTU. */
  hostMtu?: number;
}

/** The virtio-net-pci device of one guest, backed by a vhost-vdpa netdev. */
export class VirtIONet extends VirtioPciDevice implements NetFrontend {
  readonly n: VirtioNetState;
  readonly ramSpace: GuestRamSpace;
  readonly hostFeatures: bigint;
  /** What the guest may negotiate: host features as the backend allows them. */
  readonly features: bigint;
  vhostStarted = false;
  readonly configSize: number;
  private readonly dataQueues: VirtQueue[];
  private readonly ctrlQueue: VirtQueue | undefined;
  /** Messages QEMU would print (error_report). */
  readonly log: string[] = [];

  constructor(
    readonly platform: VmmPlatform,
    readonly ram: GuestRam,
    readonly netdev: NetVhostVdpa,
    opts: VirtioNetOptions,
  ) {
    super(platform);
    const max = netdev.maxQueuePairs;
    let host = DEFAULT_HOST_FEATURES;
    if (opts.mq) host |= bit(VIRTIO_NET_F_MQ);
    if (opts.hostMtu !== undefined) host |= bit(VIRTIO_NET_F_MTU);
    this.hostFeatures = host;
    this.features = this.getFeatures0(host);
    this.configSize = CONFIG_SIZES.reduce((size, [f, end]) => (host & bit(f) ? Math.max(size, end) : size), 0);
    this.n = new VirtioNetState({ mac: opts.mac, maxQueuePairs: max, supportedGuestOffloads: GUEST_OFFLOADS_MASK });
    this.ramSpace = new GuestRamSpace(ram);
    this.dataQueues = [];
    for (let i = 0; i < max; i++) {
      this.dataQueues.push(new VirtQueue(2 * i, VIRTIO_NET_RX_QUEUE_SIZE), new VirtQueue(2 * i + 1, VIRTIO_NET_TX_QUEUE_SIZE));
    }
    this.ctrlQueue = netdev.cvq ? new VirtQueue(2 * max, VIRTIO_NET_CTRL_QUEUE_SIZE) : undefined;
    // virtio_net_device_realize(): the command-line MAC goes into the device.
    vhostCall(() => netdev.shared.fd.setConfig(0, opts.mac.subarray(0, ETH_ALEN)));
  }

  /** virtio_net_get_features() with a vhost-vdpa peer. */
  private getFeatures0(host: bigint): bigint {
    const backend = this.netdev.clients[0]?.dev.features ?? 0n;
    // vhost_net_get_features(): listed bits survive only if the device offers them.
    let f = host & ~(VDPA_FEATURE_BITS & ~backend);
    // GUEST_ANNOUNCE is emulated, but only over a CVQ.
    if (!(f & bit(VIRTIO_NET_F_CTRL_VQ))) f &= ~bit(VIRTIO_NET_F_GUEST_ANNOUNCE);
    return f;
  }

  hasFeature(fbit: number): boolean {
    return (this.guestFeatures & bit(fbit)) !== 0n;
  }

  /** Pairs in use: max when the guest negotiated MQ, else 1. */
  get queuePairs(): number {
    return this.n.multiqueue ? this.netdev.maxQueuePairs : 1;
  }

  protected guestQueues(): readonly VirtQueue[] {
    return this.queues;
  }

  /** The queues as the guest indexes them: pairs in use, then the CVQ. */
  get queues(): readonly VirtQueue[] {
    const data = this.dataQueues.slice(0, 2 * this.queuePairs);
    return this.ctrlQueue && this.hasFeature(VIRTIO_NET_F_CTRL_VQ) ? [...data, this.ctrlQueue] : data;
  }

  // ---- virtio_config_ops (the guest's view) ----------------------------------------------------

  get(offset: number, buf: Uint8Array): void {
    const cfg = this.readConfig();
    buf.fill(0);
    if (offset >= cfg.length) return;
    buf.set(cfg.subarray(offset, Math.min(cfg.length, offset + buf.length)));
  }

  /** virtio_net_get_config() for a vhost-vdpa peer. */
  private readConfig(): Uint8Array {
    let cfg = new Uint8Array(this.configSize);
    if (vhostCall(() => (cfg = new Uint8Array(this.netdev.shared.fd.getConfig(0, this.configSize)))) < 0) return new Uint8Array(this.configSize);
    // "Zero hardware mac address detected. Ignoring."
    if (cfg.subarray(0, ETH_ALEN).every((b) => b === 0)) cfg.set(this.n.mac, 0);
    if (cfg.length >= CFG_STATUS + 2) {
      const v = new DataView(cfg.buffer, cfg.byteOffset, cfg.byteLength);
      v.setUint16(CFG_STATUS, v.getUint16(CFG_STATUS, true) | (this.n.status & VIRTIO_NET_S_ANNOUNCE), true);
    }
    return cfg;
  }

  /** virtio_net_set_config(): forwarded to the device. */
  set(offset: number, buf: Uint8Array): void {
    if (offset + buf.length > this.configSize) return;
    vhostCall(() => this.netdev.shared.fd.setConfig(offset, buf));
  }

  /** virtio_set_status(): 0 resets; DRIVER_OK starts vhost, its loss stops it. */
  setStatus(status: number): void {
    if (status === 0) {
      this.reset();
      return;
    }
    this.status = status;
    this.vhostStatus();
  }

  /** virtio_reset(): vhost stopped, the model reset, queues forgotten. */
  reset(): void {
    this.status = 0;
    this.vhostStatus();
    this.n.reset();
    this.guestFeatures = 0n;
    this.n.setFeatures(0n);
    for (const q of [...this.dataQueues, ...(this.ctrlQueue ? [this.ctrlQueue] : [])]) q.reset();
  }

  getFeatures(): bigint {
    return this.features;
  }

  /** virtio_net_set_features(): the model follows, and each data client acks what its feature bits allow. */
  protected override featuresSet(features: bigint): void {
    this.n.setFeatures(features);
    for (const c of this.netdev.clients) c.dev.ackedFeatures = features & VDPA_FEATURE_BITS;
  }

  /** announce-self: the guest is asked to announce itself (config interrupt with ANNOUNCE set). */
  announce(): boolean {
    if (!this.n.announce()) return false;
    this.configCallback?.();
    return true;
  }

  // ---- vhost_net -------------------------------------------------------------------------------

  /** virtio_net_vhost_status(): start on DRIVER_OK, stop when it goes away. */
  private vhostStatus(): void {
    const started = (this.status & VIRTIO_CONFIG_S_DRIVER_OK) !== 0;
    if (started === this.vhostStarted) return;
    if (started) {
      this.vhostStarted = true;
      const r = this.vhostNetStart();
      if (r < 0) {
        this.log.push(`unable to start vhost net: ${-r}: falling back on userspace virtio`);
        this.vhostStarted = false;
      }
    } else {
      this.vhostNetStop();
      this.vhostStarted = false;
    }
  }

  /** The clients vhost_net drives: the pairs in use, then the CVQ if negotiated. */
  private activeClients(): VhostVdpaState[] {
    const data = this.netdev.clients.slice(0, this.queuePairs);
    return this.netdev.cvq && this.hasFeature(VIRTIO_NET_F_CTRL_VQ) ? [...data, this.netdev.cvq] : data;
  }

  /** vhost_net_start(). */
  private vhostNetStart(): number {
    const clients = this.activeClients();
    const queues = this.queues;
    clients.forEach((c, i) => {
      c.dev.vqIndex = 2 * i;
      c.dev.vqIndexEnd = queues.length;
      c.frontend = this;
    });
    let r = this.pci.setGuestNotifiers();
    if (r < 0) return r;
    const started: VhostVdpaState[] = [];
    for (const c of clients) {
      r = this.enableHostNotifiers(c);
      if (r >= 0) r = c.start();
      if (r >= 0) {
        started.push(c);
        r = c.dev.start(this);
      }
      if (r >= 0) r = c.load();
      if (r < 0) {
        for (const s of started.reverse()) this.stopClient(s);
        this.pci.clearGuestNotifiers();
        return r;
      }
    }
    return this.setConfigCall();
  }

  /** vhost_net_stop(). */
  private vhostNetStop(): void {
    for (const c of this.activeClients()) this.stopClient(c);
    this.pci.clearGuestNotifiers();
  }

  /** vhost_net_stop_one(). */
  private stopClient(c: VhostVdpaState): void {
    if (c.dev.started) c.dev.stop();
    c.stop();
    for (let i = 0; i < c.dev.nvqs; i++) this.pci.clearHostNotifier(c.dev.vqIndex + i);
  }

  /** vhost_dev_enable_notifiers(): an ioeventfd per queue of the client. */
  private enableHostNotifiers(c: VhostVdpaState): number {
    // Shadowed queues are polled by QEMU; the guest still rings the same eventfd.
    for (let i = 0; i < c.dev.nvqs; i++) {
      const r = this.pci.setHostNotifier(c.dev.vqIndex + i);
      if (r < 0) return r;
    }
    return 0;
  }

  /** VHOST_VDPA_SET_CONFIG_CALL with an irqfd to the guest's config vector. */
  private setConfigCall(): number {
    const fd = this.pci.setConfigNotifier(() => this.configCallback?.());
    if (typeof fd === 'number') return fd;
    return vhostCall(() => this.netdev.shared.fd.setConfigCall(fd.fd));
  }
}
