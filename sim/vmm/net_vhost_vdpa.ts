// Models: QEMU net/vhost-vdpa.c, the "-netdev vhost-vdpa" backend: netdev init (features,
// max_virtqueue_pairs, IOVA range, one client per queue pair plus a CVQ client, the CVQ isolation
// probe), the SVQ feature rules, the per-start CVQ decision (group moved to ASID 1 when isolated,
// bounce pages mapped), the CVQ avail handler (copy, forward, poll, replay into the device model,
// answer with the model's verdict; ANNOUNCE emulated; oversized MAC tables become PROMISC) and the
// state load at every start (commands a-i, batched, all acks checked, then the data vqs enabled).
// Deviations: no migration notifier yet (data queues are never shadowed unless x-svq); RSS/hash
// state is not replayed (no modelled device offers RSS or HASH_REPORT).

import {
  EINVAL,
  EIO,
  EOPNOTSUPP,
  ETH_ALEN,
  VHOST_BACKEND_F_IOTLB_ASID,
  VHOST_F_LOG_ALL,
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_F_ANY_LAYOUT,
  VIRTIO_ID_NET,
  VIRTIO_NET_CTRL_ANNOUNCE,
  VIRTIO_NET_CTRL_GUEST_OFFLOADS,
  VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET,
  VIRTIO_NET_CTRL_MAC,
  VIRTIO_NET_CTRL_MAC_ADDR_SET,
  VIRTIO_NET_CTRL_MAC_TABLE_SET,
  VIRTIO_NET_CTRL_MQ,
  VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
  VIRTIO_NET_CTRL_RX,
  VIRTIO_NET_CTRL_RX_ALLMULTI,
  VIRTIO_NET_CTRL_RX_ALLUNI,
  VIRTIO_NET_CTRL_RX_NOBCAST,
  VIRTIO_NET_CTRL_RX_NOMULTI,
  VIRTIO_NET_CTRL_RX_NOUNI,
  VIRTIO_NET_CTRL_RX_PROMISC,
  VIRTIO_NET_CTRL_VLAN,
  VIRTIO_NET_CTRL_VLAN_ADD,
  VIRTIO_NET_ERR,
  VIRTIO_NET_F_CSUM,
  VIRTIO_NET_F_CTRL_GUEST_OFFLOADS,
  VIRTIO_NET_F_CTRL_MAC_ADDR,
  VIRTIO_NET_F_CTRL_RX,
  VIRTIO_NET_F_CTRL_RX_EXTRA,
  VIRTIO_NET_F_CTRL_VLAN,
  VIRTIO_NET_F_CTRL_VQ,
  VIRTIO_NET_F_GUEST_CSUM,
  VIRTIO_NET_F_GUEST_ECN,
  VIRTIO_NET_F_GUEST_TSO4,
  VIRTIO_NET_F_GUEST_TSO6,
  VIRTIO_NET_F_GUEST_UFO,
  VIRTIO_NET_F_HASH_REPORT,
  VIRTIO_NET_F_HOST_ECN,
  VIRTIO_NET_F_HOST_TSO4,
  VIRTIO_NET_F_HOST_TSO6,
  VIRTIO_NET_F_HOST_UFO,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_MQ,
  VIRTIO_NET_F_MRG_RXBUF,
  VIRTIO_NET_F_MTU,
  VIRTIO_NET_F_RSC_EXT,
  VIRTIO_NET_F_RSS,
  VIRTIO_NET_F_SPEED_DUPLEX,
  VIRTIO_NET_F_STANDBY,
  VIRTIO_NET_F_STATUS,
  VIRTIO_NET_OK,
  virtioNetConfig,
} from '../../uapi/index.js';
import { MAC_TABLE_ENTRIES, MAX_VLAN, type VirtioNetState } from '../../lib/net/index.js';
import { VhostVdpa, type UserMemory } from '../../lib/vhost_vdpa/index.js';
import type { GuestRam } from './memory.js';
import type { VmmPlatform } from './platform.js';
import { type HostBuf, type SvqOps, VIRTIO_TRANSPORT_F_END, VIRTIO_TRANSPORT_F_START, type VhostShadowVirtqueue, svqTransportError } from './shadow_virtqueue.js';
import { VHOST_VDPA_GUEST_PA_ASID, type VhostFrontend, VhostVdpaDev, VhostVdpaShared, vhostCall } from './vhost_vdpa.js';
import type { VirtQueueElement } from './virtio.js';

const bit = (n: number): bigint => 1n << BigInt(n);
export const VHOST_VDPA_NET_CVQ_ASID = 1;
/** vhost_vdpa_net_cvq_cmd_len(): header, two MAC-table headers, 64 MACs. */
export const CVQ_CMD_LEN = 2 + 2 * 4 + MAC_TABLE_ENTRIES * ETH_ALEN;
/** vhost_vdpa_net_cvq_cmd_page_len(). */
export const CVQ_CMD_PAGE_LEN = Math.ceil(CVQ_CMD_LEN / 4096) * 4096;

/** vdpa_svq_device_features: device bits SVQ can shadow. */
export const VDPA_SVQ_DEVICE_FEATURES = [
  VIRTIO_NET_F_CSUM,
  VIRTIO_NET_F_GUEST_CSUM,
  VIRTIO_NET_F_CTRL_GUEST_OFFLOADS,
  VIRTIO_NET_F_MTU,
  VIRTIO_NET_F_MAC,
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
  VIRTIO_NET_F_MQ,
  VIRTIO_F_ANY_LAYOUT,
  VIRTIO_NET_F_CTRL_MAC_ADDR,
  VHOST_F_LOG_ALL,
  VIRTIO_NET_F_HASH_REPORT,
  VIRTIO_NET_F_RSS,
  VIRTIO_NET_F_RSC_EXT,
  VIRTIO_NET_F_STANDBY,
  VIRTIO_NET_F_SPEED_DUPLEX,
].reduce((m, b) => m | bit(b), 0n);

const TRANSPORT_MASK = ((1n << BigInt(VIRTIO_TRANSPORT_F_END - VIRTIO_TRANSPORT_F_START)) - 1n) << BigInt(VIRTIO_TRANSPORT_F_START);

/** vhost_vdpa_net_valid_svq_features(): undefined when valid, else QEMU's error text. */
export function svqFeaturesError(features: bigint): string | undefined {
  const invalidDev = features & ~VDPA_SVQ_DEVICE_FEATURES & ~TRANSPORT_MASK;
  if (invalidDev) return `vdpa svq does not work with features 0x${invalidDev.toString(16)}`;
  return svqTransportError(features);
}

/** The net frontend a client serves: the vhost view plus QEMU's device model. */
export interface NetFrontend extends VhostFrontend {
  readonly n: VirtioNetState;
  /** The guest-negotiated features include `fbit`. */
  hasFeature(fbit: number): boolean;
}

/** VhostVDPAState: one net client (a queue pair, or the CVQ). */
export class VhostVdpaState {
  cvqIsolated = false;
  /** The bounce pages of a CVQ client (out: the command; status: the device's acks). */
  cvqCmdOutBuffer: UserMemory | undefined;
  status: UserMemory | undefined;
  frontend: NetFrontend | undefined;

  constructor(
    readonly netdev: NetVhostVdpa,
    readonly dev: VhostVdpaDev,
    readonly isDatapath: boolean,
    readonly alwaysSvq: boolean,
  ) {}

  // ---- data clients ----------------------------------------------------------------------------

  /** vhost_vdpa_net_data_start(). */
  private dataStart(): number {
    // Shadowing for migration arrives with the migration notifier.
    this.dev.shadowVqsEnabled = this.alwaysSvq;
    if (this.dev.index === 0) this.dev.shared.shadowData = this.dev.shadowVqsEnabled;
    return 0;
  }

  /** vhost_vdpa_net_data_load(): without a CVQ each pair enables its own vqs. */
  private dataLoad(): number {
    if (this.dev.vqIndexEnd % 2) return 0;
    for (let i = 0; i < this.dev.nvqs; i++) {
      const r = this.dev.setVringReady(this.dev.vqIndex + i);
      if (r < 0) return r;
    }
    return 0;
  }

  start(): number {
    return this.isDatapath ? this.dataStart() : this.cvqStart();
  }

  load(): number {
    return this.isDatapath ? this.dataLoad() : this.cvqLoad();
  }

  stop(): void {
    if (!this.isDatapath) this.cvqStop();
  }

  // ---- the CVQ client --------------------------------------------------------------------------

  /** vhost_vdpa_net_cvq_start(): decide shadowing, move the CVQ group to ASID 1, map the bounce pages. */
  private cvqStart(): number {
    const v = this.dev;
    const s0 = this.netdev.clients[0] as VhostVdpaState;
    v.shadowVqsEnabled = s0.dev.shadowVqsEnabled;
    v.addressSpaceId = VHOST_VDPA_GUEST_PA_ASID;
    if (!v.shared.shadowData) {
      if (svqFeaturesError(this.netdev.features) !== undefined || !this.cvqIsolated) return 0;
      let group = 0;
      const fd = v.shared.fd;
      let r = vhostCall(() => (group = fd.getVringGroup(v.vqIndexEnd - 1)));
      if (r) return r;
      r = vhostCall(() => fd.setGroupAsid(group, VHOST_VDPA_NET_CVQ_ASID));
      if (r) return r;
      v.shadowVqsEnabled = true;
      v.addressSpaceId = VHOST_VDPA_NET_CVQ_ASID;
    }
    if (!v.shadowVqsEnabled) return 0;
    const out = v.mapBuf((this.cvqCmdOutBuffer as UserMemory).addr, CVQ_CMD_PAGE_LEN, true);
    if (typeof out === 'number') return out;
    const st = v.mapBuf((this.status as UserMemory).addr, CVQ_CMD_PAGE_LEN, false);
    if (typeof st === 'number') {
      v.unmapBuf((this.cvqCmdOutBuffer as UserMemory).addr);
      return st;
    }
    return 0;
  }

  /** vhost_vdpa_net_cvq_stop(). */
  private cvqStop(): void {
    if (!this.dev.shadowVqsEnabled) return;
    this.dev.unmapBuf((this.cvqCmdOutBuffer as UserMemory).addr);
    this.dev.unmapBuf((this.status as UserMemory).addr);
  }

  private get svq(): VhostShadowVirtqueue {
    return this.dev.shadowVqs[0] as VhostShadowVirtqueue;
  }

  /** vhost_vdpa_net_cvq_add(): one out buffer and one in buffer into the shadow CVQ. */
  private cvqAdd(out: HostBuf, inb: HostBuf): number {
    return this.svq.add([out], [inb]);
  }

  /** vhost_vdpa_net_handle_ctrl_avail(): the avail handler of the shadow CVQ. */
  handleCtrlAvail(svq: VhostShadowVirtqueue, elem: VirtQueueElement): number {
    const outBuf = this.cvqCmdOutBuffer as UserMemory;
    const statusBuf = this.status as UserMemory;
    const vq = svq.vq;
    if (!vq) return -EINVAL;
    const guestSize = vq.outSize(elem);
    // The copy every later reader (device and model) sees: no TOCTOU on guest memory.
    const outLen = vq.readOut(elem, outBuf.bytes.subarray(0, CVQ_CMD_PAGE_LEN));
    this.modelLen = outLen;
    const cls = outBuf.bytes[0] as number;
    const cmd = outBuf.bytes[1] as number;
    let status = VIRTIO_NET_ERR;
    let devWritten: number;
    if (outLen >= 2 && cls === VIRTIO_NET_CTRL_ANNOUNCE) {
      // Guest announce is emulated by QEMU: the device never sees it.
      devWritten = 1;
      statusBuf.bytes[0] = VIRTIO_NET_OK;
    } else if (outLen >= 2 && cls === VIRTIO_NET_CTRL_MAC && cmd === VIRTIO_NET_CTRL_MAC_TABLE_SET && guestSize > outLen) {
      devWritten = this.excessiveMacFilterCvqAdd(svq, elem, guestSize);
    } else {
      const r = this.cvqAdd({ hva: outBuf.addr, len: outLen }, { hva: statusBuf.addr, len: 1 });
      devWritten = r < 0 ? r : svq.poll(1);
    }
    if (devWritten >= 1 && statusBuf.bytes[0] === VIRTIO_NET_OK) {
      const n = (this.frontend as NetFrontend).n;
      status = n.handleCtrl(outBuf.bytes, this.modelLen);
      // "Bad CVQ processing in model": the guest still gets the model's answer.
      if (status !== VIRTIO_NET_OK) this.netdev.log.push('Bad CVQ processing in model');
    }
    svq.pushElem(elem, Uint8Array.of(status));
    return devWritten < 0 ? devWritten : 0;
  }

  /** Length of the command the model replays (the fabricated table when one was built). */
  private modelLen = 0;

  /**
   * vhost_vdpa_net_excessive_mac_filter_cvq_add(): a MAC table that does not fit the bounce page
   * becomes RX PROMISC=1 for the device and a fabricated 65+65-entry table for the model.
   */
  private excessiveMacFilterCvqAdd(svq: VhostShadowVirtqueue, elem: VirtQueueElement, guestSize: number): number {
    const outBuf = this.cvqCmdOutBuffer as UserMemory;
    const statusBuf = this.status as UserMemory;
    const vq = svq.vq;
    if (!vq) return -EINVAL;
    // The guest's whole command is needed to validate both list headers.
    const entries = new Uint8Array(4);
    const ev = new DataView(entries.buffer);
    // cursor is a uint32_t in QEMU: the arithmetic wraps.
    const step = (cursor: number): number => (cursor + 4 + Math.imul(ev.getUint32(0, true), ETH_ALEN)) >>> 0;
    let cursor = 2;
    let valid = vq.readOut(elem, entries, cursor) === 4;
    if (valid) cursor = step(cursor);
    valid = valid && vq.readOut(elem, entries, cursor) === 4;
    if (valid) cursor = step(cursor);
    if (!valid || cursor !== guestSize) {
      statusBuf.bytes[0] = VIRTIO_NET_ERR;
      return 1;
    }
    outBuf.bytes[0] = VIRTIO_NET_CTRL_RX;
    outBuf.bytes[1] = VIRTIO_NET_CTRL_RX_PROMISC;
    outBuf.bytes[2] = 1;
    const r = this.cvqAdd({ hva: outBuf.addr, len: 3 }, { hva: statusBuf.addr, len: 1 });
    if (r < 0) return r;
    const written = svq.poll(1);
    if (written < 1 || statusBuf.bytes[0] !== VIRTIO_NET_OK) return written;
    // The fake TABLE_SET: 65 unicast and 65 multicast entries (contents irrelevant to the model).
    const fake = 2 + 4 + (MAC_TABLE_ENTRIES + 1) * ETH_ALEN + 4 + (MAC_TABLE_ENTRIES + 1) * ETH_ALEN;
    outBuf.bytes.fill(0, 0, fake);
    outBuf.bytes[0] = VIRTIO_NET_CTRL_MAC;
    outBuf.bytes[1] = VIRTIO_NET_CTRL_MAC_TABLE_SET;
    const ov = new DataView(outBuf.bytes.buffer, outBuf.bytes.byteOffset, outBuf.bytes.byteLength);
    ov.setUint32(2, MAC_TABLE_ENTRIES + 1, true);
    ov.setUint32(2 + 4 + (MAC_TABLE_ENTRIES + 1) * ETH_ALEN, MAC_TABLE_ENTRIES + 1, true);
    this.modelLen = fake;
    return 1;
  }

  /** vhost_vdpa_net_cvq_load(): enable the CVQ, replay the model, check every ack, enable data vqs. */
  private cvqLoad(): number {
    const v = this.dev;
    let r = v.setVringReady(v.vqIndex);
    if (r < 0) return r;
    if (v.shadowVqsEnabled) {
      r = new CvqLoader(this).load();
      if (r < 0) return r;
    }
    for (let i = 0; i < v.vqIndex; i++) {
      r = v.setVringReady(i);
      if (r < 0) return r;
    }
    return 0;
  }

}

/** The batched state replay of vhost_vdpa_net_cvq_load (commands a-i, §5.2). */
class CvqLoader {
  private outCursor = 0;
  private inCursor = 0;

  constructor(private readonly s: VhostVdpaState) {}

  private get out(): UserMemory {
    return this.s.cvqCmdOutBuffer as UserMemory;
  }

  private get st(): UserMemory {
    return this.s.status as UserMemory;
  }

  /** vhost_vdpa_net_svq_flush(): every queued command answered, each with OK; else -EIO. */
  private flush(): number {
    const len = this.inCursor;
    const svq = this.s.dev.shadowVqs[0] as VhostShadowVirtqueue;
    if (svq.poll(len) !== len) return -EIO;
    for (let i = 0; i < len; i++) if (this.st.bytes[i] !== VIRTIO_NET_OK) return -EIO;
    this.outCursor = this.inCursor = 0;
    return 0;
  }

  /** vhost_vdpa_net_load_cmd(): queues one command, flushing first when SVQ or the page is full. */
  private cmd(cls: number, cmd: number, data: Uint8Array): number {
    const size = 2 + data.length;
    const svq = this.s.dev.shadowVqs[0] as VhostShadowVirtqueue;
    if (svq.availableSlots < 2 || CVQ_CMD_PAGE_LEN - this.outCursor < size) {
      const r = this.flush();
      if (r < 0) return r;
    }
    const at = this.outCursor;
    this.out.bytes[at] = cls;
    this.out.bytes[at + 1] = cmd;
    this.out.bytes.set(data, at + 2);
    const r = svq.add([{ hva: this.out.addr + at, len: size }], [{ hva: this.st.addr + this.inCursor, len: 1 }]);
    if (r < 0) return r;
    this.outCursor += size;
    this.inCursor++;
    return 0;
  }

  load(): number {
    const fe = this.s.frontend as NetFrontend;
    const n = fe.n;
    const steps: (() => number)[] = [];
    const u8 = (v: number) => Uint8Array.of(v);
    const le = (v: number | bigint, size: 2 | 8) => {
      const b = new Uint8Array(size);
      const dv = new DataView(b.buffer);
      if (size === 2) dv.setUint16(0, Number(v), true);
      else dv.setBigUint64(0, BigInt(v), true);
      return b;
    };
    if (fe.hasFeature(VIRTIO_NET_F_CTRL_MAC_ADDR)) steps.push(() => this.cmd(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, n.mac));
    if (fe.hasFeature(VIRTIO_NET_F_CTRL_RX) && n.macTable.inUse > 0) steps.push(() => this.cmd(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, macTablePayload(n)));
    if (fe.hasFeature(VIRTIO_NET_F_MQ)) steps.push(() => this.cmd(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, le(n.currQueuePairs, 2)));
    if (fe.hasFeature(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) && n.currGuestOffloads !== n.negotiatedGuestOffloads()) {
      steps.push(() => this.cmd(VIRTIO_NET_CTRL_GUEST_OFFLOADS, VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET, le(n.currGuestOffloads, 8)));
    }
    if (fe.hasFeature(VIRTIO_NET_F_CTRL_RX)) {
      if (!n.macTable.uniOverflow && !n.promisc) steps.push(() => this.cmd(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, u8(0)));
      if (n.macTable.multiOverflow || n.allmulti) steps.push(() => this.cmd(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, u8(1)));
      if (fe.hasFeature(VIRTIO_NET_F_CTRL_RX_EXTRA)) {
        const extra: [boolean, number][] = [
          [!!n.alluni, VIRTIO_NET_CTRL_RX_ALLUNI],
          [!!n.nomulti, VIRTIO_NET_CTRL_RX_NOMULTI],
          [!!n.nouni, VIRTIO_NET_CTRL_RX_NOUNI],
          [!!n.nobcast, VIRTIO_NET_CTRL_RX_NOBCAST],
        ];
        for (const [on, c] of extra) if (on) steps.push(() => this.cmd(VIRTIO_NET_CTRL_RX, c, u8(1)));
      }
    }
    if (fe.hasFeature(VIRTIO_NET_F_CTRL_VLAN)) {
      for (let vid = 0; vid < MAX_VLAN; vid++) {
        if ((n.vlans[vid >> 5] as number) & (1 << (vid & 31))) steps.push(() => this.cmd(VIRTIO_NET_CTRL_VLAN, VIRTIO_NET_CTRL_VLAN_ADD, le(vid, 2)));
      }
    }
    for (const step of steps) {
      const r = step();
      if (r < 0) return r;
    }
    return this.flush();
  }
}

/** The MAC_TABLE_SET payload from the model: unicast [0, first_multi), multicast [first_multi, in_use). */
function macTablePayload(n: VirtioNetState): Uint8Array {
  const t = n.macTable;
  const uni = t.firstMulti;
  const mul = t.inUse - uni;
  const b = new Uint8Array(4 + uni * ETH_ALEN + 4 + mul * ETH_ALEN);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, uni, true);
  b.set(t.macs.subarray(0, uni * ETH_ALEN), 4);
  dv.setUint32(4 + uni * ETH_ALEN, mul, true);
  b.set(t.macs.subarray(uni * ETH_ALEN, t.inUse * ETH_ALEN), 8 + uni * ETH_ALEN);
  return b;
}

export interface NetdevVhostVdpaOptions {
  /** vhostdev=: the device node. */
  vhostdev: string;
  /** x-svq=: shadow every virtqueue from the start. */
  xSvq?: boolean;
}

/** The netdev: its clients (queue pairs, then the CVQ) over one device fd. */
export class NetVhostVdpa {
  readonly clients: VhostVdpaState[] = [];
  cvq: VhostVdpaState | undefined;
  /** Messages QEMU would print with error_report(). */
  readonly log: string[] = [];

  private constructor(
    readonly shared: VhostVdpaShared,
    readonly features: bigint,
    readonly maxQueuePairs: number,
  ) {}

  /**
   * net_init_vhost_vdpa(): GET_FEATURES, max_virtqueue_pairs (if MQ), GET_IOVA_RANGE, then the
   * clients (each one's vhost_dev_init), the CVQ client after the isolation probe. An error
   * message when QEMU would refuse to create the netdev.
   */
  static init(platform: VmmPlatform, ram: GuestRam, opts: NetdevVhostVdpaOptions): NetVhostVdpa | string {
    let fd: VhostVdpa;
    try {
      fd = VhostVdpa.open(platform.us, opts.vhostdev);
    } catch (e) {
      return `vhost-vdpa: ${(e as Error).message}`;
    }
    const fail = (msg: string): string => {
      vhostCall(() => fd.close());
      return msg;
    };
    let features = 0n;
    if (vhostCall(() => (features = fd.getFeatures()))) return fail('Fail to query features from vhost-vDPA device');
    const hasCvq = (features & bit(VIRTIO_NET_F_CTRL_VQ)) !== 0n;
    let pairs = 1;
    if (features & bit(VIRTIO_NET_F_MQ)) {
      let cfg: Uint8Array = new Uint8Array(2);
      if (vhostCall(() => (cfg = fd.getConfig(virtioNetConfig.offsetOf('max_virtqueue_pairs'), 2)))) return fail('Fail to get config from vhost-vDPA device');
      pairs = (cfg[0] as number) | ((cfg[1] as number) << 8);
    }
    let range = { first: 0n, last: 0n };
    const rr = vhostCall(() => (range = fd.getIovaRange()));
    if (rr) return fail(`vhost-vdpa: get iova range failed: ${-rr}`);
    const svqErr = svqFeaturesError(features);
    if (opts.xSvq && svqErr) return fail(svqErr);
    const netdev = new NetVhostVdpa(new VhostVdpaShared(fd, range, ram), features, pairs);
    for (let i = 0; i < pairs; i++) {
      const err = netdev.addClient(platform, i, true, opts.xSvq ?? false);
      if (err) return netdev.destroy(err);
    }
    if (hasCvq) {
      const err = netdev.addClient(platform, pairs, false, opts.xSvq ?? false);
      if (err) return netdev.destroy(err);
    }
    return netdev;
  }

  /** net_vhost_vdpa_init() + vhost_vdpa_add(): undefined or an error message. */
  private addClient(platform: VmmPlatform, index: number, isDatapath: boolean, svq: boolean): string | undefined {
    let isolated = false;
    if (!isDatapath) {
      const p = probeCvqIsolation(this.shared.fd, this.features, index * 2);
      if (p < 0) return `Cannot probe CVQ isolation: ${-p}`;
      isolated = p === 1;
    }
    let state: VhostVdpaState | undefined;
    const ops: SvqOps | undefined = isDatapath ? undefined : { availHandler: (q, e) => (state as VhostVdpaState).handleCtrlAvail(q, e) };
    const dev = new VhostVdpaDev(this.shared, platform, index, isDatapath ? 2 : 1, svq, ops);
    state = new VhostVdpaState(this, dev, isDatapath, svq);
    if (index === 0) dev.migrationBlocker = svqFeaturesError(this.features);
    if (!isDatapath) {
      const out = platform.us.mmap(CVQ_CMD_PAGE_LEN, { shared: true });
      const st = platform.us.mmap(CVQ_CMD_PAGE_LEN, { shared: true });
      if (typeof out === 'number' || typeof st === 'number') return 'Cannot allocate CVQ buffers';
      state.cvqCmdOutBuffer = out;
      state.status = st;
      state.cvqIsolated = isolated;
      this.cvq = state;
    } else {
      this.clients.push(state);
    }
    if (dev.init()) return 'failed to init vhost_net for queue';
    let id = 0;
    if (vhostCall(() => (id = this.shared.fd.getDeviceId())) || id !== VIRTIO_ID_NET) return 'failed to init vhost_net for queue';
    return undefined;
  }

  private destroy(err: string): string {
    vhostCall(() => this.shared.fd.close());
    return err;
  }

  /** Every client in vhost_net order: data pairs, then the CVQ. */
  get all(): VhostVdpaState[] {
    return this.cvq ? [...this.clients, this.cvq] : [...this.clients];
  }

  /** vhost_vdpa_cleanup() of every client: the fd closed, the listener gone. */
  cleanup(): void {
    this.shared.ram.unregister(this.shared);
    vhostCall(() => this.shared.fd.close());
  }
}

/**
 * vhost_vdpa_probe_cvq_isolation(): 1 isolated, 0 not, -errno on failure. Always ends with
 * SET_STATUS(0).
 */
export function probeCvqIsolation(fd: VhostVdpa, features: bigint, cvqIndex: number): number {
  let backend = 0n;
  let r = vhostCall(() => (backend = fd.getBackendFeatures()));
  if (r) return r;
  if (!(backend & bit(VHOST_BACKEND_F_IOTLB_ASID))) return 0;
  let status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
  const result = ((): number => {
    let e = vhostCall(() => fd.setStatus(status));
    if (e) return e;
    e = vhostCall(() => fd.setFeatures(features));
    if (e) return e;
    status |= VIRTIO_CONFIG_S_FEATURES_OK;
    e = vhostCall(() => fd.setStatus(status));
    if (e) return e;
    let cvqGroup = 0;
    e = vhostCall(() => (cvqGroup = fd.getVringGroup(cvqIndex)));
    // -ENOTSUP (EOPNOTSUPP on Linux): the kernel offers IOTLB_ASID even when the parent has no groups.
    if (e === -EOPNOTSUPP) return 0;
    if (e) return e;
    for (let i = 0; i < cvqIndex; i++) {
      let g = 0;
      e = vhostCall(() => (g = fd.getVringGroup(i)));
      if (e) return e;
      if (g === cvqGroup) return 0;
    }
    return 1;
  })();
  r = result;
  vhostCall(() => fd.setStatus(0));
  return r;
}
