// Models: QEMU hw/net/virtio-net.c behind hw/virtio/virtio-net-pci.c (`-device
// virtio-net-pci,disable-legacy=on,iommu_platform=on[,page-per-vq=on][,vdpa=on]`): the offered
// features, virtio_net_get_config/set_config (config_len from the offered features; the MAC is
// writable through config space only without VERSION_1 and CTRL_MAC_ADDR), virtio_net_reset (the
// MAC returns to the configured one), virtio_net_set_features, virtio_net_set_link_status and
// virtio_net_announce (config interrupts), virtio_net_flush_tx (a burst of 256, then yield),
// virtio_net_receive_rcu (mergeable buffers with num_buffers patched last; without them a frame
// that does not fit is dropped and its buffer given back with virtqueue_unpop), the `vdpa=on`
// dirty marking of that receive path (lm.ts), and virtio_net_handle_ctrl with its "missing
// headers" virtio_error; MAC_ADDR_SET changes the config MAC with no config interrupt and no
// generation change (the driver asked for it). The RX filter and every control command are
// lib/net's VirtioNetState (one implementation with vdpasim_netx and the VMM's model). Queues:
// rx0 tx0 ... rx(N-1) tx(N-1) and the CVQ at 2N with MQ negotiated, else at 2 (QEMU's
// virtio_net_change_num_queue_pairs places it last of the queues in use; the layout follows the
// last features set, across resets); sizes 256, the CVQ's 64.
// Deviations: all 2N + 1 queues exist from the start and num_queues reads 2N + 1 (QEMU since
// 8c49756825da, 2024, realizes one pair and adds the rest when MQ is negotiated, so num_queues
// reads 3 until then — which a driver reading it at probe, as vp_vdpa does, would take for the
// device's size); when the CVQ moves (MQ negotiated or not), queues 2 and 2N get the sizes of
// their new roles. MQ is offered whatever the number of pairs (QEMU's mq property) and
// GUEST_ANNOUNCE and MRG_RXBUF only on request; no checksum or segmentation offloads. Frames are
// not held for later: with no room in the RX queue they are dropped (overrun) where QEMU's net
// queue would keep them; a mergeable frame that runs out of buffers part way is dropped with
// its buffers given back (QEMU checks virtqueue_avail_bytes first). TX frames longer than the
// MTU (plus an 802.1Q header) or shorter than an Ethernet header are dropped, and RX frames
// longer than that are filtered, as vdpasim_netx does; the medium is lib/net's NetBackend
// (loopback by default) rather than a QEMU net client. Nothing is processed before DRIVER_OK.

import {
  ETH_ALEN,
  VIRTIO_F_ACCESS_PLATFORM,
  VIRTIO_F_ANY_LAYOUT,
  VIRTIO_F_VERSION_1,
  VIRTIO_ID_NET,
  VIRTIO_NET_ERR,
  VIRTIO_NET_F_CTRL_MAC_ADDR,
  VIRTIO_NET_F_CTRL_RX,
  VIRTIO_NET_F_CTRL_RX_EXTRA,
  VIRTIO_NET_F_CTRL_VLAN,
  VIRTIO_NET_F_CTRL_VQ,
  VIRTIO_NET_F_GSO,
  VIRTIO_NET_F_GUEST_ANNOUNCE,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_MQ,
  VIRTIO_NET_F_MRG_RXBUF,
  VIRTIO_NET_F_MTU,
  VIRTIO_NET_F_STATUS,
  VIRTIO_NET_OK,
  VIRTIO_NET_S_LINK_UP,
  VIRTIO_RING_F_EVENT_IDX,
  VIRTIO_RING_F_INDIRECT_DESC,
  virtioNetConfig,
  virtioNetHdrMrgRxbuf,
} from '../../uapi/index.js';
import { type IotlbXlate, VHOST_MAP_WO } from '../../lib/iotlb/index.js';
import { newSpan } from '../../lib/mm/index.js';
import {
  NET_RX_DELIVERED,
  NET_RX_ERROR,
  NET_RX_FILTERED,
  NET_RX_NO_CARRIER,
  NET_RX_OVERRUN,
  type NetAttachment,
  type NetPort,
  type NetRxVerdict,
  VirtioNetState,
  loopbackBackend,
  parseMac,
  virtioNetHdrLen,
} from '../../lib/net/index.js';
import { VringhKiov } from '../../lib/virtio/index.js';
import { VIRTIO_LEGACY_FEATURES, VIRTQUEUE_MAX_SIZE, type VirtQueue, VirtioPciFunction, type VirtioPciOptions } from './virtio_pci_function.js';
import type { VirtioPciLm } from './lm.js';

/** PCI_CLASS_NETWORK_ETHERNET, as a 24-bit class code. */
export const PCI_CLASS_NETWORK_ETHERNET = 0x020000;
export const VIRTIO_NET_PCI_MAX_QUEUE_PAIRS = 16;
export const VIRTIO_NET_PCI_MIN_MTU = 68;
export const VIRTIO_NET_PCI_MAX_MTU = 9000;
/** rx_queue_size / tx_queue_size defaults (VIRTIO_NET_RX_QUEUE_DEFAULT_SIZE). */
export const VIRTIO_NET_QUEUE_DEFAULT_SIZE = 256;
/** The control queue's size (virtio_add_queue(vdev, 64, virtio_net_handle_ctrl)). */
export const VIRTIO_NET_CTRL_QUEUE_SIZE = 64;
/** x-txburst's default: TX chains per pass before the work yields. */
export const VIRTIO_NET_TX_BURST = 256;
/** The first NIC's MAC when none is given (qemu_macaddr_default_if_unset). */
export const QEMU_DEFAULT_MAC = '52:54:00:12:34:56';

const ETH_HLEN = 14;
const VLAN_HLEN = 4;
/** The largest command taken from the CVQ (a full MAC table is 2 + 8 + 64 * 6 bytes). */
const CVQ_CMD_MAX = 4096;
/** Header (at most 20 bytes), Ethernet and 802.1Q headers, the largest MTU. */
const FRAME_MAX = 20 + ETH_HLEN + VLAN_HLEN + VIRTIO_NET_PCI_MAX_MTU;
/** num_buffers in virtio_net_hdr_mrg_rxbuf (and v1). */
const NUM_BUFFERS_OFF = virtioNetHdrMrgRxbuf.offsetOf('num_buffers');
const CFG_MAC = virtioNetConfig.offsetOf('mac');
const CFG_STATUS = virtioNetConfig.offsetOf('status');
const CFG_MAX_VQP = virtioNetConfig.offsetOf('max_virtqueue_pairs');
const CFG_MTU = virtioNetConfig.offsetOf('mtu');

const bit = (n: number): bigint => 1n << BigInt(n);
const has = (features: bigint, n: number): boolean => (features & bit(n)) !== 0n;

/** What the function offers by default (QEMU's virtio-net-pci with iommu_platform=on, mq=on). */
export const VIRTIO_NET_PCI_FEATURES =
  bit(VIRTIO_F_VERSION_1) |
  bit(VIRTIO_F_ACCESS_PLATFORM) |
  bit(VIRTIO_F_ANY_LAYOUT) |
  bit(VIRTIO_RING_F_EVENT_IDX) |
  bit(VIRTIO_RING_F_INDIRECT_DESC) |
  bit(VIRTIO_NET_F_MAC) |
  bit(VIRTIO_NET_F_MTU) |
  bit(VIRTIO_NET_F_STATUS) |
  bit(VIRTIO_NET_F_CTRL_VQ) |
  bit(VIRTIO_NET_F_CTRL_RX) |
  bit(VIRTIO_NET_F_CTRL_VLAN) |
  bit(VIRTIO_NET_F_CTRL_RX_EXTRA) |
  bit(VIRTIO_NET_F_MQ) |
  bit(VIRTIO_NET_F_CTRL_MAC_ADDR);

/** vdc->legacy_features of virtio-net: the common legacy bits and GSO. */
export const VIRTIO_NET_LEGACY_FEATURES = VIRTIO_LEGACY_FEATURES | bit(VIRTIO_NET_F_GSO);

/** virtio_net_get_config_size(): the end of the last field an offered feature needs. */
export function virtioNetConfigSize(features: bigint): number {
  let end = CFG_MAC + ETH_ALEN;
  if (has(features, VIRTIO_NET_F_STATUS)) end = Math.max(end, CFG_STATUS + 2);
  if (has(features, VIRTIO_NET_F_MQ)) end = Math.max(end, CFG_MAX_VQP + 2);
  if (has(features, VIRTIO_NET_F_MTU)) end = Math.max(end, CFG_MTU + 2);
  return end;
}

export interface VirtioNetPciOptions extends VirtioPciOptions {
  /** The configured MAC (nic_conf.macaddr), bytes or `aa:bb:...`; default 52:54:00:12:34:56. */
  mac?: Uint8Array | string;
  /** host_mtu: 68..9000, default 1500. */
  mtu?: number;
  /** queues: 1..16 pairs, default 1. */
  maxQueuePairs?: number;
  /** Offer GUEST_ANNOUNCE (default no: QEMU's shadow CVQ refuses it). */
  guestAnnounce?: boolean;
  /** Offer MRG_RXBUF (default no). */
  mrgRxbuf?: boolean;
  /** Name in traces and as a NetPort (default virtio-net-pci). */
  name?: string;
}

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

/** Per-queue counters, named as vdpasim_netx's (exact up to 2^53). */
export interface VirtioNetPciStats {
  rx: RxStats[];
  tx: TxStats[];
  cq: { requests: number; successes: number; errors: number };
}

/** What the seed's elem->in_addr[i] reads, for one RX element (see lm.ts). */
const SEED_ADDR = 0;
const SEED_LEN = 1;
const SEED_HOST_POINTER = 2;
const SEED_HEAP = 3;

function resolveMac(mac: Uint8Array | string | undefined): Uint8Array {
  if (mac === undefined) return parseMac(QEMU_DEFAULT_MAC) as Uint8Array;
  const m = typeof mac === 'string' ? parseMac(mac) : mac;
  if (!m || m.length !== ETH_ALEN) throw new RangeError(`VirtioNetPci: mac must be ${ETH_ALEN} bytes or aa:bb:cc:dd:ee:ff`);
  return Uint8Array.from(m);
}

/** A virtio-net PCI function; also its own port on the medium it transmits into (`net`). */
export class VirtioNetPci extends VirtioPciFunction implements NetPort {
  readonly n: VirtioNetState;
  readonly net: NetAttachment;
  readonly stats: VirtioNetPciStats;
  readonly maxQueuePairs: number;
  readonly mtu: number;
  private hdrLen = virtioNetHdrLen(0n);
  private mergeable = false;
  private nextTx = 0;
  /** Where the CVQ is (n->multiqueue's queue layout). */
  private ctrlQueue = 2;
  private readonly txBuf = new Uint8Array(FRAME_MAX);
  /** An RX frame as the guest gets it (header then frame), when it cannot go straight. */
  private readonly rxStream = new Uint8Array(FRAME_MAX);
  private readonly cmd = new Uint8Array(CVQ_CMD_MAX);
  private readonly ack = new Uint8Array(1);
  private readonly numBuffers = new Uint8Array(2);
  /** mhdr_sg: where num_buffers of the first RX element lies. */
  private readonly mhdr = new VringhKiov(2);
  /** Writable segments of RX elements 1.. of a merged frame (grown on demand, kept). */
  private readonly rxIovs: VringhKiov[] = [];
  private readonly rxHeads = new Uint16Array(VIRTQUEUE_MAX_SIZE);
  private readonly rxLens = new Uint32Array(VIRTQUEUE_MAX_SIZE);
  // The seed's in_addr[i] of each element: kind, and the value's 32-bit halves.
  private readonly seedKind = new Uint8Array(VIRTQUEUE_MAX_SIZE);
  private readonly seedHi = new Uint32Array(VIRTQUEUE_MAX_SIZE);
  private readonly seedLo = new Uint32Array(VIRTQUEUE_MAX_SIZE);
  // Host-contiguous pieces of one element (QEMU's in_sg / in_addr entries).
  private readonly pieceHi = new Uint32Array(VIRTQUEUE_MAX_SIZE);
  private readonly pieceLo = new Uint32Array(VIRTQUEUE_MAX_SIZE);
  private readonly pieceLen = new Float64Array(VIRTQUEUE_MAX_SIZE);
  private readonly xlate: IotlbXlate = { addr: 0, len: 0 };
  private readonly span = newSpan();

  constructor(opts: VirtioNetPciOptions) {
    const pairs = opts.maxQueuePairs ?? 1;
    if (!Number.isInteger(pairs) || pairs < 1 || pairs > VIRTIO_NET_PCI_MAX_QUEUE_PAIRS) {
      throw new RangeError(`VirtioNetPci: maxQueuePairs must be an integer in 1..${VIRTIO_NET_PCI_MAX_QUEUE_PAIRS}, got ${pairs}`);
    }
    const mtu = opts.mtu ?? 1500;
    if (!Number.isInteger(mtu) || mtu < VIRTIO_NET_PCI_MIN_MTU || mtu > VIRTIO_NET_PCI_MAX_MTU) {
      throw new RangeError(`VirtioNetPci: mtu must be an integer in ${VIRTIO_NET_PCI_MIN_MTU}..${VIRTIO_NET_PCI_MAX_MTU}, got ${mtu}`);
    }
    const mac = resolveMac(opts.mac);
    const host =
      VIRTIO_NET_PCI_FEATURES | (opts.guestAnnounce ? bit(VIRTIO_NET_F_GUEST_ANNOUNCE) : 0n) | (opts.mrgRxbuf ? bit(VIRTIO_NET_F_MRG_RXBUF) : 0n);
    super(
      {
        name: opts.name ?? 'virtio-net-pci',
        virtioId: VIRTIO_ID_NET,
        classCode: PCI_CLASS_NETWORK_ETHERNET,
        hostFeatures: host,
        legacyFeatures: VIRTIO_NET_LEGACY_FEATURES,
        configLen: virtioNetConfigSize(host),
        nvqs: 2 * pairs + 1,
        // virtio_net_pci_realize(): a vector per queue, one for the CVQ, one for config.
        nvectors: 2 * pairs + 2,
      },
      opts,
    );
    this.maxQueuePairs = pairs;
    this.mtu = mtu;
    this.n = new VirtioNetState({ mac, maxQueuePairs: pairs, supportedGuestOffloads: 0n });
    this.net = { port: this, backend: loopbackBackend };
    const zero = () => ({ pkts: 0, bytes: 0, errors: 0, drops: 0 });
    this.stats = {
      rx: Array.from({ length: pairs }, () => ({ ...zero(), overruns: 0 })),
      tx: Array.from({ length: pairs }, zero),
      cq: { requests: 0, successes: 0, errors: 0 },
    };
    for (const vq of this.vqs) vq.num = vq.numDefault = this.queueDefaultSize(vq.index);
  }

  /**
   * The CVQ's index: 2N once MQ was negotiated, else 2. Like QEMU's ctrl_vq it follows the last
   * features set, so it survives a reset until the driver sets features again.
   */
  cvqIndex(): number {
    return this.ctrlQueue;
  }

  private queueDefaultSize(q: number): number {
    return q === this.ctrlQueue ? VIRTIO_NET_CTRL_QUEUE_SIZE : VIRTIO_NET_QUEUE_DEFAULT_SIZE;
  }

  get linkUp(): boolean {
    return (this.n.status & VIRTIO_NET_S_LINK_UP) !== 0;
  }

  /** virtio_net_set_link_status(): a config interrupt when it changes. */
  setLink(up: boolean): void {
    const old = this.n.status;
    this.n.status = up ? old | VIRTIO_NET_S_LINK_UP : old & ~VIRTIO_NET_S_LINK_UP;
    if (this.n.status !== old) this.notifyConfig();
  }

  /** virtio_net_announce(): false unless GUEST_ANNOUNCE and CTRL_VQ were negotiated. */
  announce(): boolean {
    if (!this.n.announce()) return false;
    this.notifyConfig();
    return true;
  }

  // ---- VirtioDeviceClass hooks ----------------------------------------------------------------

  /** virtio_net_get_config(). */
  protected getConfig(config: Uint8Array): void {
    const v = new DataView(config.buffer, config.byteOffset, config.byteLength);
    config.set(this.n.mac, CFG_MAC);
    if (config.length >= CFG_STATUS + 2) v.setUint16(CFG_STATUS, this.n.status, true);
    if (config.length >= CFG_MAX_VQP + 2) v.setUint16(CFG_MAX_VQP, this.maxQueuePairs, true);
    if (config.length >= CFG_MTU + 2) v.setUint16(CFG_MTU, this.mtu, true);
  }

  /** virtio_net_set_config(): only a legacy-style driver may set the MAC this way. */
  protected setConfig(config: Uint8Array): void {
    const f = this.guestFeatures;
    if (has(f, VIRTIO_NET_F_CTRL_MAC_ADDR) || has(f, VIRTIO_F_VERSION_1)) return;
    this.n.mac.set(config.subarray(CFG_MAC, CFG_MAC + ETH_ALEN));
  }

  /** virtio_net_set_features(). */
  protected setFeatures(features: bigint): void {
    this.n.setFeatures(features);
    this.hdrLen = virtioNetHdrLen(features);
    this.mergeable = has(features, VIRTIO_NET_F_MRG_RXBUF);
    const oldCvq = this.ctrlQueue;
    this.ctrlQueue = has(features, VIRTIO_NET_F_MQ) ? 2 * this.maxQueuePairs : 2;
    if (this.ctrlQueue === oldCvq) return;
    // virtio_net_change_num_queue_pairs(): the queues whose role changed are made anew.
    for (const q of [oldCvq, this.ctrlQueue]) {
      const vq = this.vqs[q] as VirtQueue;
      vq.numDefault = this.queueDefaultSize(q);
      vq.num = vq.numDefault;
    }
  }

  /** virtio_net_reset(). */
  protected deviceReset(): void {
    this.n.reset();
    this.nextTx = 0;
  }

  // ---- the medium ----------------------------------------------------------------------------

  /** virtio_net_receive_rcu(): a frame from the medium into the RX queue of its pair. */
  receive(buf: Uint8Array, off: number, hdrLen: number, len: number, queue: number): NetRxVerdict {
    const pairs = this.n.multiqueue ? this.n.currQueuePairs : 1;
    const q = queue % pairs;
    const rxq = this.vqs[2 * q] as VirtQueue;
    const rx = this.stats.rx[q] as RxStats;
    // virtio_net_can_receive().
    if (!this.canRun() || !rxq.live || !this.linkUp) {
      rx.drops++;
      return NET_RX_OVERRUN;
    }
    const frame = len - hdrLen;
    if (frame > ETH_HLEN + VLAN_HLEN + this.mtu || !this.n.receiveFilter(buf, off + hdrLen, frame)) {
      rx.drops++;
      return NET_RX_FILTERED;
    }
    const own = this.hdrLen;
    const total = own + frame;
    // The guest's bytes come straight from `buf` when its header is ours; otherwise (or when
    // they may span buffers) from rxStream, where each element's part is moved to the front.
    let src = buf;
    if (hdrLen !== own || this.mergeable) {
      src = this.rxStream;
      if (hdrLen === own) copyInto(src, 0, buf, off, total);
      else {
        src.fill(0, 0, own);
        copyInto(src, own, buf, off + hdrLen, frame);
      }
    }
    const seed = this.lm !== undefined && this.lm.dirty === 'seed' && this.lm.logging;
    const logWrites = this.logWrites;
    let offset = 0;
    let i = 0;
    while (offset < total) {
      if (i === VIRTQUEUE_MAX_SIZE) {
        this.virtioError('virtio-net unexpected long buffer chain');
        return NET_RX_ERROR;
      }
      const iov = i === 0 ? rxq.inIov : this.rxIov(i);
      const r = rxq.vring.getdesc(undefined, iov, rxq.head);
      if (r === 0) {
        // No room (QEMU's virtio_net_has_buffers would have held the frame back).
        this.unpop(rxq, i);
        rx.overruns++;
        return NET_RX_OVERRUN;
      }
      if (r < 0) {
        this.virtioError(`virtqueue_pop: rx ring, errno ${-r}`);
        return NET_RX_ERROR;
      }
      this.rxHeads[i] = rxq.head.head;
      if (seed) this.seedInAddr(iov, i);
      if (i === 0 && this.mergeable) this.locateNumBuffers(iov);
      const n = Math.min(total - offset, iov.remaining());
      if (logWrites) this.logIov(iov, n);
      const wrote = src === buf ? rxq.vring.push(iov, buf, total, off) : rxq.vring.push(iov, src, n);
      if (wrote < 0) {
        this.virtioError(`rx buffer write failed: errno ${-wrote}`);
        return NET_RX_ERROR;
      }
      offset += wrote;
      this.rxLens[i] = wrote;
      i++;
      if (offset < total) {
        if (!this.mergeable) {
          // The frame does not fit: dropped, the buffer goes back (virtqueue_unpop).
          this.unpop(rxq, 1);
          rx.errors++;
          return NET_RX_ERROR;
        }
        // Merged frames come from rxStream: the rest moves to the front for the next element.
        src.copyWithin(0, wrote, total - offset + wrote);
      }
    }
    if (this.mergeable) this.writeNumBuffers(rxq, i);
    if (seed) this.seedMark(i);
    for (let j = 0; j < i; j++) if (!this.completeBuf(rxq, this.rxHeads[j] as number, this.rxLens[j] as number)) return NET_RX_ERROR;
    this.notifyQueue(rxq);
    rx.pkts++;
    rx.bytes += total;
    return NET_RX_DELIVERED;
  }

  /** virtqueue_unpop() of the last `count` elements. */
  private unpop(vq: VirtQueue, count: number): void {
    vq.vring.lastAvailIdx = (vq.vring.lastAvailIdx - count) & 0xffff;
  }

  private rxIov(i: number): VringhKiov {
    while (this.rxIovs.length < i) this.rxIovs.push(new VringhKiov());
    return this.rxIovs[i - 1] as VringhKiov;
  }

  /** mhdr_sg: the two bytes of num_buffers in the first element (iov_copy of the header). */
  private locateNumBuffers(iov: VringhKiov): void {
    const m = this.mhdr;
    m.reset();
    let skip = NUM_BUFFERS_OFF;
    let want = 2;
    for (let k = 0; k < iov.used && want > 0; k++) {
      const len = iov.len[k] as number;
      if (skip >= len) {
        skip -= len;
        continue;
      }
      const take = Math.min(want, len - skip);
      const lo = (iov.lo[k] as number) + skip;
      const carry = lo >= 2 ** 32 ? 1 : 0;
      m.push(((iov.hi[k] as number) + carry) >>> 0, lo - carry * 2 ** 32, take);
      want -= take;
      skip = 0;
    }
  }

  /**
   * Patches num_buffers of a merged frame, as virtio_net_receive_rcu does after its loop. Not
   * logged again: those bytes are part of the header already written (and logged) in element 0.
   */
  private writeNumBuffers(rxq: VirtQueue, count: number): void {
    this.numBuffers[0] = count & 0xff;
    this.numBuffers[1] = count >>> 8;
    const m = this.mhdr;
    m.i = m.consumed = 0;
    rxq.vring.push(m, this.numBuffers);
  }

  // ---- the seed's dirty marking (lm.ts, `seed`) ---------------------------------------------

  /**
   * Records elem->in_addr[i] of element i before it is written: an in-address while i < in_num,
   * else what follows the array in QEMU's VirtQueueElement (see lm.ts).
   */
  private seedInAddr(iov: VringhKiov, i: number): void {
    if (i === 0) {
      // in_addr[0] is the first piece, which starts at the first descriptor.
      this.seedKind[0] = SEED_ADDR;
      this.seedHi[0] = iov.hi[0] as number;
      this.seedLo[0] = iov.lo[0] as number;
      return;
    }
    const n = this.pieces(iov);
    if (i < n) {
      this.seedKind[i] = SEED_ADDR;
      this.seedHi[i] = this.pieceHi[i] as number;
      this.seedLo[i] = this.pieceLo[i] as number;
    } else if (i < 3 * n) {
      const j = (i - n) >> 1;
      // in_sg[j].iov_base (a QEMU host pointer) or in_sg[j].iov_len.
      if ((i - n) % 2 === 0) this.seedKind[i] = SEED_HOST_POINTER;
      else {
        this.seedKind[i] = SEED_LEN;
        this.seedHi[i] = 0;
        this.seedLo[i] = this.pieceLen[j] as number;
      }
    } else {
      this.seedKind[i] = SEED_HEAP;
    }
  }

  /**
   * virtqueue_map_desc()'s split of the element's writable descriptors into host-contiguous
   * pieces (in_num of them): a descriptor is cut where its translation stops being one run of
   * memory. Fills piece* and returns in_num.
   */
  private pieces(iov: VringhKiov): number {
    const dma = this.dma;
    const span = this.span;
    let n = 0;
    for (let k = 0; k < iov.used && n < VIRTQUEUE_MAX_SIZE; k++) {
      let hi = iov.hi[k] as number;
      let lo = iov.lo[k] as number;
      let left = iov.len[k] as number;
      // Where the previous piece's bytes end in memory, to merge a contiguous continuation.
      let prevBuf: Uint8Array | undefined;
      let prevEnd = -1;
      while (left > 0 && n < VIRTQUEUE_MAX_SIZE) {
        const mapped = dma !== undefined && dma.iotlb.translate(hi, lo, left, VHOST_MAP_WO, this.xlate) === 0 && dma.mem.span(this.xlate.addr, this.xlate.len, true, span);
        // An address that does not translate: the rest of the descriptor as one piece.
        const len = mapped ? span.len : left;
        if (mapped && n > 0 && prevBuf === span.buf && prevEnd === span.off) this.pieceLen[n - 1] = (this.pieceLen[n - 1] as number) + len;
        else {
          this.pieceHi[n] = hi;
          this.pieceLo[n] = lo;
          this.pieceLen[n] = len;
          n++;
        }
        prevBuf = mapped ? span.buf : undefined;
        prevEnd = mapped ? span.off + len : -1;
        left -= len;
        const l = lo + len;
        const carry = Math.floor(l / 2 ** 32);
        lo = l - carry * 2 ** 32;
        hi = (hi + carry) >>> 0;
      }
    }
    return n;
  }

  /** The seed's mark, once per element of the frame just received. */
  private seedMark(count: number): void {
    const lm = this.lm as VirtioPciLm;
    for (let i = 0; i < count; i++) {
      const kind = this.seedKind[i];
      if (kind === SEED_ADDR || kind === SEED_LEN) lm.markSeed(this.seedHi[i] as number, this.seedLo[i] as number);
      else lm.markSeedUndefined(kind === SEED_HOST_POINTER ? 'in_sg[].iov_base, a host pointer: QEMU asserts' : 'past the element: heap');
    }
  }

  // ---- the device work --------------------------------------------------------------------

  /** The CVQ first, then the TX queues of the pairs in use, round-robin. */
  protected process(): void {
    this.handleCtrl();
    const pairs = this.n.multiqueue ? this.n.currQueuePairs : 1;
    let more = false;
    for (let k = 0; k < pairs && this.canRun(); k++) {
      const q = (this.nextTx + k) % pairs;
      if (this.flushTx(q)) more = true;
    }
    this.nextTx = (this.nextTx + 1) % pairs;
    if (more) this.scheduleWork();
  }

  /** virtio_net_handle_ctrl(): every command through VirtioNetState, the ack pushed. */
  private handleCtrl(): void {
    const cvq = this.vqs[this.cvqIndex()] as VirtQueue;
    if (!cvq.live || !has(this.guestFeatures, VIRTIO_NET_F_CTRL_VQ)) return;
    const cq = this.stats.cq;
    while (this.canRun()) {
      const err = cvq.vring.getdesc(cvq.outIov, cvq.inIov, cvq.head);
      if (err < 0) {
        this.virtioError(`virtqueue_pop: ctrl ring, errno ${-err}`);
        return;
      }
      if (err === 0) {
        // Empty: ask for the next kick, then look once more.
        if (this.notifyEnable(cvq)) return;
        continue;
      }
      const outLen = cvq.outIov.remaining();
      if (cvq.inIov.remaining() < 1 || outLen < 2) {
        this.virtioError('virtio-net ctrl missing headers');
        return;
      }
      cq.requests++;
      const len = outLen > CVQ_CMD_MAX ? -1 : cvq.vring.pull(cvq.outIov, this.cmd, outLen);
      const status = len < 0 ? VIRTIO_NET_ERR : this.n.handleCtrl(this.cmd, len);
      if (status === VIRTIO_NET_OK) cq.successes++;
      else cq.errors++;
      this.ack[0] = status;
      if (this.logWrites) this.logIov(cvq.inIov, 1);
      const written = cvq.vring.push(cvq.inIov, this.ack);
      if (!this.completeBuf(cvq, cvq.head.head, written < 0 ? 0 : written)) return;
      this.notifyQueue(cvq);
    }
  }

  /** virtio_net_flush_tx() of pair q: up to a burst of chains; true if it had more. */
  private flushTx(q: number): boolean {
    const txq = this.vqs[2 * q + 1] as VirtQueue;
    const tx = this.stats.tx[q] as TxStats;
    const net = this.net;
    const hdrLen = this.hdrLen;
    const max = hdrLen + ETH_HLEN + VLAN_HLEN + this.mtu;
    if (!txq.live) return false;
    for (let done = 0; done < VIRTIO_NET_TX_BURST; done++) {
      if (!this.canRun()) return false;
      const err = txq.vring.getdesc(txq.outIov, txq.inIov, txq.head);
      if (err < 0) {
        this.virtioError(`virtqueue_pop: tx ring, errno ${-err}`);
        return false;
      }
      if (err === 0) {
        if (this.notifyEnable(txq)) return false;
        done--;
        continue;
      }
      if (txq.outIov.used === 0) {
        this.virtioError('virtio-net header not in first element');
        return false;
      }
      const size = txq.outIov.remaining();
      if (size > max || size < hdrLen + ETH_HLEN) {
        // Oversized or runt: dropped, never truncated.
        tx.drops++;
      } else {
        const read = txq.vring.pull(txq.outIov, this.txBuf, size);
        if (read !== size) {
          this.virtioError(`tx buffer read failed: errno ${read < 0 ? -read : 0}`);
          return false;
        }
        tx.pkts++;
        tx.bytes += read;
        const verdict = this.linkUp ? net.backend.transmit(net.port, this.txBuf, hdrLen, read, q) : NET_RX_NO_CARRIER;
        if (verdict === NET_RX_NO_CARRIER) tx.drops++;
      }
      if (!this.completeBuf(txq, txq.head.head, 0)) return false;
      this.notifyQueue(txq);
    }
    return true;
  }
}

/** dst[dOff..] = src[sOff, sOff + n), without making a view per call. */
function copyInto(dst: Uint8Array, dOff: number, src: Uint8Array, sOff: number, n: number): void {
  for (let k = 0; k < n; k++) dst[dOff + k] = src[sOff + k] as number;
}
