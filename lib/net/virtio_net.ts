// Models: QEMU hw/net/virtio-net.c: the VirtIONet receive-filter and control state
// (virtio_net_reset, virtio_net_set_features, virtio_net_handle_ctrl_iov and its class handlers,
// receive_filter, the first_multi recomputation of virtio_net_post_load_device).
// Kept exactly: payloads read with iov_to_buf (RX, VLAN, VQ_PAIRS_SET, GUEST_OFFLOADS) may carry
// trailing bytes; an RX-mode byte is stored as sent (2 is as "on" as 1); MAC_TABLE_SET multiplies
// each count by 6 in 32 bits and wraps as C's unsigned int does; GUEST_OFFLOADS_SET assigns
// rsc4/rsc6 before its supported-bits check, so a rejected SET still changes them; RX, MAC and
// VLAN commands need no negotiated feature.
// Deviations: no RSS or hash reporting: MQ RSS_CONFIG and HASH_CONFIG always answer ERR (QEMU
// parses them when RSS / HASH_REPORT is negotiated; our devices never offer either), so the
// "disable RSS" every MQ command starts with has nothing to do. An out part shorter than the
// 2-byte header answers ERR (QEMU calls virtio_error() and writes no ack). receiveFilter() drops
// non-promiscuous frames shorter than ETH_HLEN, or VLAN_ETH_HLEN when tagged (QEMU reads past
// them). Guest offloads outside `supportedGuestOffloads` never count as negotiated (QEMU strips
// them earlier, in virtio_net_get_features). The VLAN filter follows QEMU 6071d13c6a (2025-08):
// all-ones at realize, reset only when CTRL_VLAN is (un)negotiated. Command fields are
// little-endian (VERSION_1 or a little-endian legacy guest). No announce timer, no
// NIC_RX_FILTER_CHANGED events.

import {
  ETH_ALEN,
  VIRTIO_F_VERSION_1,
  VIRTIO_NET_CTRL_ANNOUNCE,
  VIRTIO_NET_CTRL_ANNOUNCE_ACK,
  VIRTIO_NET_CTRL_GUEST_OFFLOADS,
  VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET,
  VIRTIO_NET_CTRL_MAC,
  VIRTIO_NET_CTRL_MAC_ADDR_SET,
  VIRTIO_NET_CTRL_MAC_TABLE_SET,
  VIRTIO_NET_CTRL_MQ,
  VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MAX,
  VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN,
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
  VIRTIO_NET_CTRL_VLAN_DEL,
  VIRTIO_NET_ERR,
  VIRTIO_NET_F_CTRL_GUEST_OFFLOADS,
  VIRTIO_NET_F_CTRL_VLAN,
  VIRTIO_NET_F_CTRL_VQ,
  VIRTIO_NET_F_GUEST_ANNOUNCE,
  VIRTIO_NET_F_GUEST_CSUM,
  VIRTIO_NET_F_GUEST_ECN,
  VIRTIO_NET_F_GUEST_TSO4,
  VIRTIO_NET_F_GUEST_TSO6,
  VIRTIO_NET_F_GUEST_UFO,
  VIRTIO_NET_F_GUEST_USO4,
  VIRTIO_NET_F_GUEST_USO6,
  VIRTIO_NET_F_HASH_REPORT,
  VIRTIO_NET_F_MQ,
  VIRTIO_NET_F_MRG_RXBUF,
  VIRTIO_NET_F_RSC_EXT,
  VIRTIO_NET_F_RSS,
  VIRTIO_NET_OK,
  VIRTIO_NET_S_ANNOUNCE,
  VIRTIO_NET_S_LINK_UP,
  virtioNetCtrlHdr,
  virtioNetHdr,
  virtioNetHdrMrgRxbuf,
  virtioNetHdrV1Hash,
} from '../../uapi/index.js';
import { ETH_HLEN, ETH_P_8021Q, VLAN_ETH_HLEN, etherAddrEqual, isBroadcastEther, isMulticastEther } from './eth.js';

export const MAC_TABLE_ENTRIES = 64;
export const MAX_VLAN = 4096;

const HDR = virtioNetCtrlHdr.size;
const U32_RANGE = 2 ** 32;

const bit = (n: number): bigint => 1n << BigInt(n);
const has = (features: bigint, n: number): boolean => (features & bit(n)) !== 0n;

/** guest_offloads_mask of virtio_net_guest_offloads_by_features(). */
export const GUEST_OFFLOADS_MASK =
  bit(VIRTIO_NET_F_GUEST_CSUM) |
  bit(VIRTIO_NET_F_GUEST_TSO4) |
  bit(VIRTIO_NET_F_GUEST_TSO6) |
  bit(VIRTIO_NET_F_GUEST_ECN) |
  bit(VIRTIO_NET_F_GUEST_UFO) |
  bit(VIRTIO_NET_F_GUEST_USO4) |
  bit(VIRTIO_NET_F_GUEST_USO6);

/** virtio_net_guest_offloads_by_features(): the guest offload bits among `features`. */
export function guestOffloadsByFeatures(features: bigint): bigint {
  return features & GUEST_OFFLOADS_MASK;
}

/** guest_hdr_len as virtio_net_set_mrg_rx_bufs() sets it from the negotiated features. */
export function virtioNetHdrLen(features: bigint): number {
  if (has(features, VIRTIO_F_VERSION_1)) {
    return has(features, VIRTIO_NET_F_HASH_REPORT) ? virtioNetHdrV1Hash.size : virtioNetHdrMrgRxbuf.size;
  }
  return has(features, VIRTIO_NET_F_MRG_RXBUF) ? virtioNetHdrMrgRxbuf.size : virtioNetHdr.size;
}

/** A MAC / TABLE_SET command: header, then each list as a __le32 count and its addresses. */
export function ctrlMacTableSet(unicast: readonly Uint8Array[], multicast: readonly Uint8Array[]): Uint8Array {
  const cmd = new Uint8Array(HDR + 8 + ETH_ALEN * (unicast.length + multicast.length));
  const v = new DataView(cmd.buffer, cmd.byteOffset, cmd.byteLength);
  cmd[0] = VIRTIO_NET_CTRL_MAC;
  cmd[1] = VIRTIO_NET_CTRL_MAC_TABLE_SET;
  let pos = HDR;
  for (const list of [unicast, multicast]) {
    v.setUint32(pos, list.length, true);
    pos += 4;
    for (const mac of list) {
      if (mac.length !== ETH_ALEN) throw new RangeError(`ctrlMacTableSet: a MAC address is ${ETH_ALEN} bytes, got ${mac.length}`);
      cmd.set(mac, pos);
      pos += ETH_ALEN;
    }
  }
  return cmd;
}

/** VirtIONet.mac_table. */
export interface VirtioNetMacTable {
  inUse: number;
  /** Entries [0, firstMulti) are the unicast list, [firstMulti, inUse) the multicast one. */
  firstMulti: number;
  uniOverflow: number;
  multiOverflow: number;
  readonly macs: Uint8Array;
}

export interface VirtioNetStateOptions {
  /** nic_conf.macaddr: the MAC at realize and after every reset. */
  mac: Uint8Array;
  maxQueuePairs: number;
  /** Guest offloads the backend can do; default all of GUEST_OFFLOADS_MASK. */
  supportedGuestOffloads?: bigint;
  /** The peer takes a virtio-net header (has_vnet_hdr); default true, as for vhost-vdpa. */
  hasVnetHdr?: boolean;
}

/**
 * The part of QEMU's VirtIONet that filters RX frames and answers control-virtqueue commands.
 * Fields are public so a VMM can load migrated state into them (then call recomputeFirstMulti()).
 */
export class VirtioNetState {
  readonly mac = new Uint8Array(ETH_ALEN);
  /** Stored as the guest sent them: 0 is off, any other byte is on. */
  promisc = 1;
  allmulti = 0;
  alluni = 0;
  nomulti = 0;
  nouni = 0;
  nobcast = 0;
  readonly macTable: VirtioNetMacTable = {
    inUse: 0,
    firstMulti: 0,
    uniOverflow: 0,
    multiOverflow: 0,
    macs: new Uint8Array(MAC_TABLE_ENTRIES * ETH_ALEN),
  };
  /** VLAN filter, bit vid % 32 of word vid / 32; all-ones at realize. */
  readonly vlans = new Uint32Array(MAX_VLAN >> 5).fill(0xffffffff);
  readonly maxQueuePairs: number;
  currQueuePairs = 1;
  /** MQ or RSS negotiated. */
  multiqueue = false;
  /** VIRTIO_NET_S_LINK_UP | VIRTIO_NET_S_ANNOUNCE. */
  status = VIRTIO_NET_S_LINK_UP;
  /** The negotiated features (vdev->guest_features). */
  features = 0n;
  readonly supportedGuestOffloads: bigint;
  readonly hasVnetHdr: boolean;
  currGuestOffloads = 0n;
  rsc4Enabled = false;
  rsc6Enabled = false;
  private readonly confMac: Uint8Array;
  /** MAC_TABLE_SET builds the new table here so a rejected command leaves the old one. */
  private readonly newMacs = new Uint8Array(MAC_TABLE_ENTRIES * ETH_ALEN);

  constructor(opts: VirtioNetStateOptions) {
    if (opts.mac.length !== ETH_ALEN) {
      throw new RangeError(`VirtioNetState: mac must be ${ETH_ALEN} bytes, got ${opts.mac.length}`);
    }
    const pairs = opts.maxQueuePairs;
    if (!Number.isInteger(pairs) || pairs < VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN || pairs > VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MAX) {
      const max = VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MAX;
      throw new RangeError(`VirtioNetState: maxQueuePairs must be an integer in 1..${max}, got ${pairs}`);
    }
    this.confMac = Uint8Array.from(opts.mac);
    this.mac.set(this.confMac);
    this.maxQueuePairs = pairs;
    this.supportedGuestOffloads = opts.supportedGuestOffloads ?? GUEST_OFFLOADS_MASK;
    this.hasVnetHdr = opts.hasVnetHdr ?? true;
  }

  /**
   * virtio_net_reset(). QEMU's virtio_reset() then calls set_features(0). The VLAN filter is not
   * touched: it follows the CTRL_VLAN bit in setFeatures() (QEMU 6071d13c6a, 2025-08).
   */
  reset(): void {
    this.promisc = 1;
    this.allmulti = 0;
    this.alluni = 0;
    this.nomulti = 0;
    this.nouni = 0;
    this.nobcast = 0;
    this.currQueuePairs = 1;
    this.status &= ~VIRTIO_NET_S_ANNOUNCE;
    const t = this.macTable;
    t.inUse = 0;
    t.firstMulti = 0;
    t.multiOverflow = 0;
    t.uniOverflow = 0;
    t.macs.fill(0);
    this.mac.set(this.confMac);
  }

  /** virtio_net_set_features(), for the state modelled here. */
  setFeatures(features: bigint): void {
    // The filter starts over when CTRL_VLAN comes or goes: empty with it (the guest programs
    // it), all-ones without (every VLAN passes). Unchanged otherwise, so migration keeps it.
    if (has(this.features ^ features, VIRTIO_NET_F_CTRL_VLAN)) this.vlans.fill(has(features, VIRTIO_NET_F_CTRL_VLAN) ? 0 : 0xffffffff);
    this.features = features;
    this.multiqueue = has(features, VIRTIO_NET_F_RSS) || has(features, VIRTIO_NET_F_MQ);
    const rscExt = has(features, VIRTIO_NET_F_RSC_EXT);
    this.rsc4Enabled = rscExt && has(features, VIRTIO_NET_F_GUEST_TSO4);
    this.rsc6Enabled = rscExt && has(features, VIRTIO_NET_F_GUEST_TSO6);
    if (this.hasVnetHdr) this.currGuestOffloads = this.negotiatedGuestOffloads();
  }

  /**
   * virtio_net_supported_guest_offloads(): the guest offloads the negotiated features allow:
   * what GUEST_OFFLOADS_SET may enable, and the default a VMM compares currGuestOffloads with.
   */
  negotiatedGuestOffloads(): bigint {
    return guestOffloadsByFeatures(this.features) & this.supportedGuestOffloads;
  }

  /**
   * virtio_net_announce(): with GUEST_ANNOUNCE and CTRL_VQ negotiated, raise
   * VIRTIO_NET_S_ANNOUNCE. True when it did; the device then signals a config change.
   */
  announce(): boolean {
    if (!has(this.features, VIRTIO_NET_F_GUEST_ANNOUNCE) || !has(this.features, VIRTIO_NET_F_CTRL_VQ)) return false;
    this.status |= VIRTIO_NET_S_ANNOUNCE;
    return true;
  }

  /**
   * virtio_net_handle_ctrl_iov(): runs one command, the out part of a CVQ element gathered into
   * out[0, outLen), and returns the ack, VIRTIO_NET_OK or VIRTIO_NET_ERR. Never throws.
   */
  handleCtrl(out: Uint8Array, outLen: number): number {
    // Bounded by the buffer whatever the caller claims; NaN and negative lengths are empty.
    const n = Math.min(Math.max(Math.trunc(outLen) || 0, 0), out.length);
    if (n < HDR) return VIRTIO_NET_ERR;
    const cmd = out[1] as number;
    const payload = out.subarray(HDR, n);
    switch (out[0]) {
      case VIRTIO_NET_CTRL_RX:
        return this.handleRxMode(cmd, payload);
      case VIRTIO_NET_CTRL_MAC:
        return this.handleMac(cmd, payload);
      case VIRTIO_NET_CTRL_VLAN:
        return this.handleVlanTable(cmd, payload);
      case VIRTIO_NET_CTRL_ANNOUNCE:
        return this.handleAnnounce(cmd);
      case VIRTIO_NET_CTRL_MQ:
        return this.handleMq(cmd, payload);
      case VIRTIO_NET_CTRL_GUEST_OFFLOADS:
        return this.handleOffloads(cmd, payload);
      default:
        return VIRTIO_NET_ERR;
    }
  }

  /** virtio_net_handle_rx_mode(). */
  private handleRxMode(cmd: number, p: Uint8Array): number {
    if (p.length < 1) return VIRTIO_NET_ERR;
    const on = p[0] as number;
    switch (cmd) {
      case VIRTIO_NET_CTRL_RX_PROMISC:
        this.promisc = on;
        break;
      case VIRTIO_NET_CTRL_RX_ALLMULTI:
        this.allmulti = on;
        break;
      case VIRTIO_NET_CTRL_RX_ALLUNI:
        this.alluni = on;
        break;
      case VIRTIO_NET_CTRL_RX_NOMULTI:
        this.nomulti = on;
        break;
      case VIRTIO_NET_CTRL_RX_NOUNI:
        this.nouni = on;
        break;
      case VIRTIO_NET_CTRL_RX_NOBCAST:
        this.nobcast = on;
        break;
      default:
        return VIRTIO_NET_ERR;
    }
    return VIRTIO_NET_OK;
  }

  /** virtio_net_handle_mac(). */
  private handleMac(cmd: number, p: Uint8Array): number {
    if (cmd === VIRTIO_NET_CTRL_MAC_ADDR_SET) {
      if (p.length !== ETH_ALEN) return VIRTIO_NET_ERR;
      this.mac.set(p);
      return VIRTIO_NET_OK;
    }
    if (cmd !== VIRTIO_NET_CTRL_MAC_TABLE_SET) return VIRTIO_NET_ERR;
    const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
    const macs = this.newMacs.fill(0);
    let pos = 0;
    if (p.length - pos < 4) return VIRTIO_NET_ERR;
    const uni = v.getUint32(pos, true);
    pos += 4;
    // entries * ETH_ALEN is unsigned int arithmetic in QEMU: a huge count wraps to a small size.
    const uniBytes = (uni * ETH_ALEN) % U32_RANGE;
    // The first list may leave bytes over: they are the second list.
    if (uniBytes > p.length - pos) return VIRTIO_NET_ERR;
    let inUse = 0;
    let uniOverflow = 0;
    if (uni <= MAC_TABLE_ENTRIES) {
      macs.set(p.subarray(pos, pos + uniBytes));
      inUse = uni;
    } else {
      uniOverflow = 1;
    }
    pos += uniBytes;
    const firstMulti = inUse;
    if (p.length - pos < 4) return VIRTIO_NET_ERR;
    const multi = v.getUint32(pos, true);
    pos += 4;
    const multiBytes = (multi * ETH_ALEN) % U32_RANGE;
    // The second list must fill the rest of the command exactly.
    if (multiBytes !== p.length - pos) return VIRTIO_NET_ERR;
    let multiOverflow = 0;
    if (multi <= MAC_TABLE_ENTRIES - inUse) {
      macs.set(p.subarray(pos, pos + multiBytes), inUse * ETH_ALEN);
      inUse += multi;
    } else {
      multiOverflow = 1;
    }
    const t = this.macTable;
    t.inUse = inUse;
    t.firstMulti = firstMulti;
    t.uniOverflow = uniOverflow;
    t.multiOverflow = multiOverflow;
    t.macs.set(macs);
    return VIRTIO_NET_OK;
  }

  /** virtio_net_handle_vlan_table(). */
  private handleVlanTable(cmd: number, p: Uint8Array): number {
    if (p.length < 2) return VIRTIO_NET_ERR;
    const vid = new DataView(p.buffer, p.byteOffset, p.byteLength).getUint16(0, true);
    if (vid >= MAX_VLAN) return VIRTIO_NET_ERR;
    const w = vid >>> 5;
    const m = 1 << (vid & 0x1f);
    if (cmd === VIRTIO_NET_CTRL_VLAN_ADD) this.vlans[w] = (this.vlans[w] as number) | m;
    else if (cmd === VIRTIO_NET_CTRL_VLAN_DEL) this.vlans[w] = (this.vlans[w] as number) & ~m;
    else return VIRTIO_NET_ERR;
    return VIRTIO_NET_OK;
  }

  /** virtio_net_handle_announce(): the ACK is OK only while an announcement is pending. */
  private handleAnnounce(cmd: number): number {
    if (cmd !== VIRTIO_NET_CTRL_ANNOUNCE_ACK || !(this.status & VIRTIO_NET_S_ANNOUNCE)) return VIRTIO_NET_ERR;
    this.status &= ~VIRTIO_NET_S_ANNOUNCE;
    return VIRTIO_NET_OK;
  }

  /** virtio_net_handle_mq(); RSS_CONFIG and HASH_CONFIG are not modelled (see the header). */
  private handleMq(cmd: number, p: Uint8Array): number {
    if (cmd !== VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET) return VIRTIO_NET_ERR;
    if (!has(this.features, VIRTIO_NET_F_MQ)) return VIRTIO_NET_ERR;
    if (p.length < 2) return VIRTIO_NET_ERR;
    const pairs = new DataView(p.buffer, p.byteOffset, p.byteLength).getUint16(0, true);
    if (
      pairs < VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN ||
      pairs > VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MAX ||
      pairs > this.maxQueuePairs ||
      !this.multiqueue
    ) {
      return VIRTIO_NET_ERR;
    }
    // For a vhost-vdpa peer QEMU only records the value; the backend is not reconfigured.
    this.currQueuePairs = pairs;
    return VIRTIO_NET_OK;
  }

  /** virtio_net_handle_offloads(). */
  private handleOffloads(cmd: number, p: Uint8Array): number {
    if (!has(this.features, VIRTIO_NET_F_CTRL_GUEST_OFFLOADS)) return VIRTIO_NET_ERR;
    if (p.length < 8) return VIRTIO_NET_ERR;
    if (cmd !== VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET) return VIRTIO_NET_ERR;
    if (!this.hasVnetHdr) return VIRTIO_NET_ERR;
    let offloads = new DataView(p.buffer, p.byteOffset, p.byteLength).getBigUint64(0, true);
    // RSC_EXT is a request for receive-segment coalescing, not an offload bit: split it out.
    const rscExt = has(offloads, VIRTIO_NET_F_RSC_EXT);
    this.rsc4Enabled = rscExt && has(offloads, VIRTIO_NET_F_GUEST_TSO4);
    this.rsc6Enabled = rscExt && has(offloads, VIRTIO_NET_F_GUEST_TSO6);
    offloads &= ~bit(VIRTIO_NET_F_RSC_EXT);
    if (offloads & ~this.negotiatedGuestOffloads()) return VIRTIO_NET_ERR;
    this.currGuestOffloads = offloads;
    return VIRTIO_NET_OK;
  }

  /**
   * receive_filter(): whether the frame at buf[off, off + len) reaches the guest. `off` is the
   * Ethernet header (after any virtio-net header). Allocates nothing.
   */
  receiveFilter(buf: Uint8Array, off: number, len: number): boolean {
    if (this.promisc) return true;
    const n = off >= 0 ? Math.min(len, buf.length - off) : 0;
    if (!(n >= ETH_HLEN)) return false;
    if ((((buf[off + 12] as number) << 8) | (buf[off + 13] as number)) === ETH_P_8021Q) {
      if (n < VLAN_ETH_HLEN) return false;
      const vid = (((buf[off + 14] as number) << 8) | (buf[off + 15] as number)) & 0xfff;
      if (!((this.vlans[vid >>> 5] as number) & (1 << (vid & 0x1f)))) return false;
    }
    const t = this.macTable;
    if (isMulticastEther(buf, off)) {
      if (isBroadcastEther(buf, off)) return !this.nobcast;
      if (this.nomulti) return false;
      if (this.allmulti || t.multiOverflow) return true;
      for (let i = t.firstMulti; i < t.inUse; i++) if (etherAddrEqual(buf, off, t.macs, i * ETH_ALEN)) return true;
    } else {
      if (this.nouni) return false;
      if (this.alluni || t.uniOverflow) return true;
      if (etherAddrEqual(buf, off, this.mac, 0)) return true;
      for (let i = 0; i < t.firstMulti; i++) if (etherAddrEqual(buf, off, t.macs, i * ETH_ALEN)) return true;
    }
    return false;
  }

  /**
   * The MAC-table part of virtio_net_post_load_device(): first_multi is not migrated, so it
   * becomes the index of the first entry with the multicast bit; a table claiming more than
   * MAC_TABLE_ENTRIES entries is emptied.
   */
  recomputeFirstMulti(): void {
    const t = this.macTable;
    if (t.inUse > MAC_TABLE_ENTRIES) t.inUse = 0;
    let i = 0;
    while (i < t.inUse && !isMulticastEther(t.macs, i * ETH_ALEN)) i++;
    t.firstMulti = i;
  }
}
