// Models: drivers/net/virtio_net.c, the guest's virtio-net driver: probe (features, MAC, MTU,
// max_virtqueue_pairs, queues rx0 tx0 rx1 tx1 ... cvq), RX refill and NAPI polling with
// callbacks disabled while polling, TX with reclaim of completed buffers and a stopped queue
// when the ring is full, the control virtqueue (virtnet_send_command spins for the answer),
// set_mac_address, rx mode (PROMISC/ALLMULTI and the MAC filter table), VLAN filter, queue
// pairs, and the config-change work (link state, ANNOUNCE -> gratuitous ARP + ANNOUNCE_ACK).
// Deviations: no offloads (CSUM/GSO are not negotiated), no mergeable or big-packet RX: every RX
// buffer is one descriptor big enough for the MTU; the TX queue is chosen by the caller
// (selectQueue) instead of XPS; the header is pushed in front of the frame in one descriptor
// (what Linux does when it can push it into the skb headroom).

import {
  EINVAL,
  ENOMEM,
  ENOSPC,
  EOPNOTSUPP,
  ETH_ALEN,
  VIRTIO_F_ANY_LAYOUT,
  VIRTIO_F_VERSION_1,
  VIRTIO_ID_NET,
  VIRTIO_NET_CTRL_ANNOUNCE,
  VIRTIO_NET_CTRL_ANNOUNCE_ACK,
  VIRTIO_NET_CTRL_MAC,
  VIRTIO_NET_CTRL_MAC_ADDR_SET,
  VIRTIO_NET_CTRL_MAC_TABLE_SET,
  VIRTIO_NET_CTRL_MQ,
  VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
  VIRTIO_NET_CTRL_RX,
  VIRTIO_NET_CTRL_RX_ALLMULTI,
  VIRTIO_NET_CTRL_RX_PROMISC,
  VIRTIO_NET_CTRL_VLAN,
  VIRTIO_NET_CTRL_VLAN_ADD,
  VIRTIO_NET_CTRL_VLAN_DEL,
  VIRTIO_NET_F_CTRL_MAC_ADDR,
  VIRTIO_NET_F_CTRL_RX,
  VIRTIO_NET_F_CTRL_RX_EXTRA,
  VIRTIO_NET_F_CTRL_VLAN,
  VIRTIO_NET_F_CTRL_VQ,
  VIRTIO_NET_F_GUEST_ANNOUNCE,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_MQ,
  VIRTIO_NET_F_MTU,
  VIRTIO_NET_F_STATUS,
  VIRTIO_NET_OK,
  VIRTIO_NET_S_ANNOUNCE,
  VIRTIO_NET_S_LINK_UP,
  VIRTIO_RING_F_EVENT_IDX,
  VIRTIO_RING_F_INDIRECT_DESC,
  virtioNetConfig,
} from '../../uapi/index.js';
import { ctrlMacTableSet, virtioNetHdrLen } from '../../lib/net/index.js';
import { Work } from '../../lib/sched/index.js';
import { VirtqueueSplit } from '../../lib/virtio/index.js';
import type { GuestCpu } from './cpu.js';
import type { GuestMemory } from './memory.js';
import type { NetDevice } from './net/index.js';
import type { VirtioDevice } from './virtio.js';

const bit = (n: number): bigint => 1n << BigInt(n);

/** What this driver implements (its feature table). */
export const VIRTNET_FEATURES =
  bit(VIRTIO_F_VERSION_1) |
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
  bit(VIRTIO_NET_F_GUEST_ANNOUNCE) |
  bit(VIRTIO_NET_F_MQ) |
  bit(VIRTIO_NET_F_CTRL_MAC_ADDR);

/** Frames up to this many bytes are copied byte by byte (cheaper than a subarray view). */
const SMALL_FRAME = 128;
/** NAPI_POLL_WEIGHT. */
export const NAPI_BUDGET = 64;
const ETH_HLEN = 14;
const VLAN_HLEN = 4;
const ETH_DATA_LEN = 1500;
/** Room for one control command's header, status and payload (a full MAC table fits). */
const CTRL_BUF = 4 * 4096;
/** Indirect tables: one per head, enough for the largest chain this driver builds (CVQ: 3). */
const INDIRECT_ENTRIES = 4;
const CFG_MAC = virtioNetConfig.offsetOf('mac');
const CFG_STATUS = virtioNetConfig.offsetOf('status');
const CFG_MAX_VQP = virtioNetConfig.offsetOf('max_virtqueue_pairs');
const CFG_MTU = virtioNetConfig.offsetOf('mtu');

export interface VirtnetOptions {
  cpu: GuestCpu;
  memory: GuestMemory;
  name?: string;
  /** Online CPUs: the driver uses min(max_virtqueue_pairs, cpus) pairs (default 1). */
  cpus?: number;
  /** Feature bits the driver may negotiate (default VIRTNET_FEATURES). */
  features?: bigint;
  /** The MAC to use when the device offers none (eth_hw_addr_random). */
  fallbackMac?: Uint8Array;
}

export interface QueueStats {
  packets: number;
  bytes: number;
  /** RX: frames too short to carry a header; TX: frames refused because the ring was full. */
  drops: number;
  /** Interrupts taken. */
  interrupts: number;
}

const newStats = (): QueueStats => ({ packets: 0, bytes: 0, drops: 0, interrupts: 0 });

interface Queue {
  vq: VirtqueueSplit<number>;
  index: number;
  /** GPA of the ring memory and of the buffer pool, returned on remove. */
  allocations: number[];
  /** Free buffer GPAs (a stack). */
  free: number[];
  stats: QueueStats;
}

interface ReceiveQueue extends Queue {
  bufLen: number;
  napi: Work;
}

interface SendQueue extends Queue {
  stopped: boolean;
}

/** struct virtnet_info. */
export class VirtnetInfo implements NetDevice {
  readonly name: string;
  readonly mac = new Uint8Array(ETH_ALEN);
  readonly mtu: number;
  rxHandler: ((buf: Uint8Array, off: number, len: number) => void) | undefined;
  /** Called when a stopped TX queue has room again (netif_wake_subqueue). */
  txWake: (() => void) | undefined;
  readonly hdrLen: number;
  /** The largest frame a TX buffer holds, header included. */
  private readonly txLen: number;
  readonly maxQueuePairs: number;
  currQueuePairs = 1;
  carrier = true;
  readonly rq: ReceiveQueue[] = [];
  readonly sq: SendQueue[] = [];
  cvq: VirtqueueSplit<number> | undefined;
  /** CVQ commands sent and the ones the device answered with an error. */
  readonly ctrlStats = { commands: 0, errors: 0 };
  /** Called for ANNOUNCE (netdev_notify_peers): the stack sends gratuitous ARP. */
  notifyPeers: (() => void) | undefined;
  private txq = 0;
  private ctrlBuf = 0;
  private readonly bytes: Uint8Array;
  private readonly configWork: Work;

  private constructor(
    readonly vdev: VirtioDevice,
    private readonly o: VirtnetOptions,
  ) {
    this.name = o.name ?? 'eth0';
    this.bytes = o.memory.bytes;
    this.hdrLen = virtioNetHdrLen(vdev.features);
    this.maxQueuePairs = vdev.hasFeature(VIRTIO_NET_F_MQ) ? Math.max(1, vdev.cread(CFG_MAX_VQP, 2)) : 1;
    this.mtu = vdev.hasFeature(VIRTIO_NET_F_MTU) ? vdev.cread(CFG_MTU, 2) : ETH_DATA_LEN;
    this.txLen = this.hdrLen + ETH_HLEN + VLAN_HLEN + this.mtu;
    this.configWork = new Work(() => this.configChangedWork(), `${this.name}: config`);
  }

  /** virtnet_probe(): negotiated, queues up, DRIVER_OK, queue pairs and rx mode set; or -errno. */
  static probe(vdev: VirtioDevice, o: VirtnetOptions): VirtnetInfo | number {
    if (vdev.id !== VIRTIO_ID_NET) return -EINVAL;
    const r = vdev.negotiate(o.features ?? VIRTNET_FEATURES);
    if (r) return r;
    const vi = new VirtnetInfo(vdev, o);
    if (vdev.hasFeature(VIRTIO_NET_F_MAC)) vdev.config.get(CFG_MAC, vi.mac);
    else vi.mac.set(o.fallbackMac ?? [0x02, 0, 0, 0, 0, 1]);
    const err = vi.initVqs();
    if (err) {
      vi.remove();
      return err;
    }
    vdev.config.setConfigCallback(() => o.cpu.queueWork(vi.configWork));
    vdev.ready();
    vi.carrier = vdev.hasFeature(VIRTIO_NET_F_STATUS) ? (vdev.cread(CFG_STATUS, 2) & VIRTIO_NET_S_LINK_UP) !== 0 : true;
    const pairs = Math.min(vi.maxQueuePairs, o.cpus ?? 1);
    if (pairs > 1 && vi.setQueues(pairs) < 0) return vi.failProbe(-EINVAL);
    vi.currQueuePairs = pairs;
    for (const rq of vi.rq.slice(0, pairs)) vi.tryFillRecv(rq);
    vi.setRxMode({ promisc: false, allmulti: false, uc: [], mc: [] });
    return vi;
  }

  private failProbe(err: number): number {
    this.remove();
    return err;
  }

  private allocQueue(index: number, bufLen: number, pool: number): Queue | number {
    const num = this.vdev.config.queueMaxSize(index);
    if (!num) return -ENOSPC;
    const memory = this.o.memory;
    const indirect = this.vdev.hasFeature(VIRTIO_RING_F_INDIRECT_DESC);
    const ringBytes = 16 * num + 6 + 2 * num;
    const usedOff = Math.ceil(ringBytes / 4096) * 4096;
    const indOff = usedOff + Math.ceil((6 + 8 * num) / 4096) * 4096;
    const ring = memory.alloc(indOff + (indirect ? num * INDIRECT_ENTRIES * 16 : 0));
    // Buffers start on cache lines (as skb data does), which also keeps copies aligned.
    const stride = Math.ceil(bufLen / 64) * 64;
    const bufs = pool ? memory.alloc(pool * stride) : 0;
    if (ring < 0 || bufs < 0) return -ENOMEM;
    const gpa = { num, desc: ring, avail: ring + 16 * num, used: ring + usedOff };
    const vq = new VirtqueueSplit<number>({
      mem: this.bytes,
      num,
      desc: gpa.desc,
      avail: gpa.avail,
      used: gpa.used,
      eventIdx: this.vdev.hasFeature(VIRTIO_RING_F_EVENT_IDX),
      ...(indirect ? { indirect: { base: ring + indOff, entries: INDIRECT_ENTRIES } } : {}),
      notify: () => this.vdev.config.notify(index),
    });
    const free: number[] = [];
    for (let i = pool - 1; i >= 0; i--) free.push(bufs + i * stride);
    const q: Queue = { vq, index, allocations: pool ? [ring, bufs] : [ring], free, stats: newStats() };
    const r = this.vdev.config.setupVq(index, gpa, () => this.interrupt(index));
    return r < 0 ? r : q;
  }

  /** init_vqs(): rx/tx per pair, then the CVQ; buffers sized for the MTU. */
  private initVqs(): number {
    const rxLen = this.hdrLen + ETH_HLEN + VLAN_HLEN + this.mtu;
    const txLen = rxLen;
    for (let i = 0; i < this.maxQueuePairs; i++) {
      const rxNum = this.vdev.config.queueMaxSize(2 * i);
      const rx = this.allocQueue(2 * i, rxLen, rxNum);
      if (typeof rx === 'number') return rx;
      const napi = new Work(() => this.poll(rq), `${this.name}: napi rx${i}`);
      const rq: ReceiveQueue = { ...rx, bufLen: rxLen, napi };
      this.rq.push(rq);
      const txNum = this.vdev.config.queueMaxSize(2 * i + 1);
      const tx = this.allocQueue(2 * i + 1, txLen, txNum);
      if (typeof tx === 'number') return tx;
      // TX completions are reaped on transmit; the interrupt only matters when the queue stopped.
      tx.vq.disableCb();
      this.sq.push({ ...tx, stopped: false });
    }
    if (this.vdev.hasFeature(VIRTIO_NET_F_CTRL_VQ)) {
      const cq = this.allocQueue(2 * this.maxQueuePairs, 0, 0);
      if (typeof cq === 'number') return cq;
      // The CVQ is polled by its sender, never interrupt driven.
      cq.vq.disableCb();
      this.cvq = cq.vq;
      const ctrl = this.o.memory.alloc(CTRL_BUF);
      if (ctrl < 0) return -ENOMEM;
      this.ctrlBuf = ctrl;
    }
    return 0;
  }

  /** remove(): reset, queues deleted, memory returned. */
  remove(): void {
    this.vdev.config.setConfigCallback(undefined);
    this.vdev.config.reset();
    this.vdev.config.delVqs();
    for (const q of [...this.rq, ...this.sq]) for (const gpa of q.allocations) this.o.memory.release(gpa);
    if (this.ctrlBuf) this.o.memory.release(this.ctrlBuf);
    this.rq.length = 0;
    this.sq.length = 0;
    this.cvq = undefined;
    this.ctrlBuf = 0;
  }

  // ---- interrupts and RX -------------------------------------------------------------------------

  /** vring_interrupt(): RX schedules NAPI, TX reaps; the CVQ is polled by its sender. */
  private interrupt(index: number): void {
    if (index === 2 * this.maxQueuePairs) return;
    if (index % 2 === 0) {
      const rq = this.rq[index >> 1];
      if (!rq) return;
      rq.stats.interrupts++;
      // skb_recv_done(): no more interrupts until the poll is over.
      rq.vq.disableCb();
      this.o.cpu.queueWork(rq.napi);
    } else {
      const sq = this.sq[index >> 1];
      if (!sq) return;
      sq.stats.interrupts++;
      this.reclaim(sq);
    }
  }

  /** try_fill_recv(): every free buffer posted; kick if the device wants it. */
  private tryFillRecv(rq: ReceiveQueue): void {
    let added = 0;
    while (rq.free.length) {
      const gpa = rq.free[rq.free.length - 1] as number;
      if (rq.vq.addInbuf(gpa, rq.bufLen, gpa) < 0) break;
      rq.free.pop();
      added++;
    }
    if (added && rq.vq.kickPrepare()) this.vdev.config.notify(rq.index);
  }

  /** virtnet_poll(): up to NAPI_BUDGET frames, refill, re-arm (or poll again). */
  private poll(rq: ReceiveQueue): void {
    const vq = rq.vq;
    let done = 0;
    while (done < NAPI_BUDGET) {
      const gpa = vq.getBuf();
      if (gpa === undefined) break;
      done++;
      this.receiveBuf(rq, gpa, vq.lastLen);
      rq.free.push(gpa);
    }
    if (rq.free.length > (vq.num >> 1) || done) this.tryFillRecv(rq);
    // virtqueue_napi_complete(): re-enable callbacks, poll again if buffers raced in.
    if (done < NAPI_BUDGET && vq.enableCb()) return;
    vq.disableCb();
    this.o.cpu.queueWork(rq.napi);
  }

  /** receive_buf(): drops runts, hands the frame (after the header) to the stack. */
  private receiveBuf(rq: ReceiveQueue, gpa: number, len: number): void {
    if (len < this.hdrLen + ETH_HLEN) {
      rq.stats.drops++;
      return;
    }
    rq.stats.packets++;
    rq.stats.bytes += len - this.hdrLen;
    this.rxHandler?.(this.bytes, gpa + this.hdrLen, len - this.hdrLen);
  }

  // ---- TX ----------------------------------------------------------------------------------------

  /** The TX queue the next frames go to (XPS stand-in). */
  selectQueue(q: number): void {
    if (!Number.isInteger(q) || q < 0 || q >= this.currQueuePairs) throw new RangeError(`${this.name}: no TX queue ${q}`);
    this.txq = q;
  }

  /** free_old_xmit_skbs(). */
  private reclaim(sq: SendQueue): void {
    const vq = sq.vq;
    for (let gpa = vq.getBuf(); gpa !== undefined; gpa = vq.getBuf()) sq.free.push(gpa);
    if (sq.stopped && sq.free.length) {
      sq.stopped = false;
      vq.disableCb();
      this.txWake?.();
    }
  }

  /**
   * start_xmit(): copies the frame behind a zero header and queues it; kicks unless `more`
   * frames follow at once (netdev_xmit_more()). False when the ring is full (queue stopped).
   */
  xmit(buf: Uint8Array, off: number, len: number, more = false): boolean {
    const sq = this.sq[this.txq] as SendQueue;
    const hdrLen = this.hdrLen;
    if (hdrLen + len > this.txLen || len < ETH_HLEN) {
      // Oversized or runt: dropped (tx_dropped), the queue keeps going.
      sq.stats.drops++;
      return false;
    }
    if (sq.vq.moreUsed()) this.reclaim(sq);
    const gpa = sq.free.pop();
    if (gpa === undefined) return this.stop(sq);
    const bytes = this.bytes;
    for (let i = 0; i < hdrLen; i++) bytes[gpa + i] = 0;
    // Short frames by hand: a subarray view per packet costs more than the loop.
    if (len <= SMALL_FRAME) for (let i = 0; i < len; i++) bytes[gpa + hdrLen + i] = buf[off + i] as number;
    else bytes.set(buf.subarray(off, off + len), gpa + hdrLen);
    if (sq.vq.addOutbuf(gpa, this.hdrLen + len, gpa) < 0) {
      sq.free.push(gpa);
      return this.stop(sq);
    }
    sq.stats.packets++;
    sq.stats.bytes += len;
    if (!more && sq.vq.kickPrepare()) this.vdev.config.notify(sq.index);
    return true;
  }


  /** netif_stop_subqueue() with the TX interrupt armed so the queue is woken. */
  private stop(sq: SendQueue): boolean {
    sq.stats.drops++;
    if (sq.vq.kickPrepare()) this.vdev.config.notify(sq.index);
    if (!sq.stopped) {
      sq.stopped = true;
      if (!sq.vq.enableCb()) this.reclaim(sq);
    }
    return false;
  }

  // ---- control virtqueue ---------------------------------------------------------------------------

  /**
   * virtnet_send_command(): header, data and status in one chain, kick, spin until the device
   * answers. True for VIRTIO_NET_OK; false for an error answer, a full or broken queue, or a
   * device that never answers.
   */
  sendCommand(cls: number, cmd: number, data: Uint8Array = new Uint8Array(0)): boolean {
    const cvq = this.cvq;
    if (!cvq || data.length > CTRL_BUF - 16) return false;
    const hdr = this.ctrlBuf;
    const status = hdr + 8;
    const payload = hdr + 16;
    this.bytes[hdr] = cls;
    this.bytes[hdr + 1] = cmd;
    this.bytes[status] = 0xff;
    this.bytes.set(data, payload);
    const sgs = [{ addr: hdr, len: 2 }, ...(data.length ? [{ addr: payload, len: data.length }] : []), { addr: status, len: 1 }];
    this.ctrlStats.commands++;
    if (cvq.addSgs(sgs, sgs.length - 1, hdr) < 0) return this.ctrlFailed();
    if (cvq.kickPrepare()) this.vdev.config.notify(2 * this.maxQueuePairs);
    const answered = this.o.cpu.spin(() => cvq.moreUsed() || cvq.broken !== undefined);
    if (!answered || cvq.getBuf() === undefined) return this.ctrlFailed();
    return this.bytes[status] === VIRTIO_NET_OK || this.ctrlFailed();
  }

  private ctrlFailed(): false {
    this.ctrlStats.errors++;
    return false;
  }

  /** virtnet_set_mac_address(): through the CVQ when CTRL_MAC_ADDR; 0 or -errno. */
  setMacAddress(mac: Uint8Array): number {
    if (mac.length !== ETH_ALEN || (mac[0] as number) & 1) return -EINVAL;
    if (this.vdev.hasFeature(VIRTIO_NET_F_CTRL_MAC_ADDR)) {
      if (!this.sendCommand(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, mac)) return -EINVAL;
    }
    // Without CTRL_MAC_ADDR a VERSION_1 device is not told: only the guest's address changes.
    this.mac.set(mac);
    return 0;
  }

  /** virtnet_rx_mode_work(): PROMISC, ALLMULTI, then the unicast and multicast filter table. */
  setRxMode(mode: { promisc: boolean; allmulti: boolean; uc: readonly Uint8Array[]; mc: readonly Uint8Array[] }): number {
    if (!this.vdev.hasFeature(VIRTIO_NET_F_CTRL_VQ) || !this.vdev.hasFeature(VIRTIO_NET_F_CTRL_RX)) return -EOPNOTSUPP;
    let ok = this.sendCommand(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, Uint8Array.of(mode.promisc ? 1 : 0));
    ok = this.sendCommand(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, Uint8Array.of(mode.allmulti ? 1 : 0)) && ok;
    const table = ctrlMacTableSet([...mode.uc], [...mode.mc]).subarray(2);
    ok = this.sendCommand(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, table) && ok;
    return ok ? 0 : -EINVAL;
  }

  /** virtnet_vlan_rx_add_vid()/kill_vid(). */
  vlan(vid: number, add: boolean): number {
    if (!this.vdev.hasFeature(VIRTIO_NET_F_CTRL_VLAN)) return -EOPNOTSUPP;
    const b = new Uint8Array(2);
    new DataView(b.buffer).setUint16(0, vid, true);
    return this.sendCommand(VIRTIO_NET_CTRL_VLAN, add ? VIRTIO_NET_CTRL_VLAN_ADD : VIRTIO_NET_CTRL_VLAN_DEL, b) ? 0 : -EINVAL;
  }

  /** _virtnet_set_queues(). */
  setQueues(pairs: number): number {
    if (!this.vdev.hasFeature(VIRTIO_NET_F_CTRL_VQ) || !this.vdev.hasFeature(VIRTIO_NET_F_MQ)) return -EOPNOTSUPP;
    if (pairs < 1 || pairs > this.maxQueuePairs) return -EINVAL;
    const b = new Uint8Array(2);
    new DataView(b.buffer).setUint16(0, pairs, true);
    if (!this.sendCommand(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, b)) return -EINVAL;
    for (let i = this.currQueuePairs; i < pairs; i++) this.tryFillRecv(this.rq[i] as ReceiveQueue);
    this.currQueuePairs = pairs;
    if (this.txq >= pairs) this.txq = 0;
    return 0;
  }

  /** virtnet_config_changed_work(): carrier from LINK_UP; ANNOUNCE acked after notifying peers. */
  private configChangedWork(): void {
    if (!this.vdev.hasFeature(VIRTIO_NET_F_STATUS)) return;
    const status = this.vdev.cread(CFG_STATUS, 2);
    if (status & VIRTIO_NET_S_ANNOUNCE && this.vdev.hasFeature(VIRTIO_NET_F_GUEST_ANNOUNCE)) {
      this.notifyPeers?.();
      this.sendCommand(VIRTIO_NET_CTRL_ANNOUNCE, VIRTIO_NET_CTRL_ANNOUNCE_ACK);
    }
    this.carrier = (status & VIRTIO_NET_S_LINK_UP) !== 0;
  }

  /** Every RX queue reaped and every completed TX buffer reclaimed: stats of all data queues. */
  queueStats(): { rx: QueueStats[]; tx: QueueStats[] } {
    return { rx: this.rq.map((q) => ({ ...q.stats })), tx: this.sq.map((q) => ({ ...q.stats })) };
  }
}
