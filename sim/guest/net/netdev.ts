// What the guest stack needs from a network driver (a struct net_device, reduced), and the link
// layer the stack keeps over it: the Ethernet header on output, transmit accounting, and drop
// counters named after the kernel's skb drop reasons (include/net/dropreason-core.h).
// Deviations: no qdisc: a frame the driver refuses (ring full) is dropped as FULL_RING and the
// caller is told, instead of being requeued.

import { ETH_ALEN } from '../../../uapi/index.js';
import { ETH_HLEN } from './inet.js';

/** What the stack needs from a network driver (a struct net_device, reduced). */
export interface NetDevice {
  readonly name: string;
  /** The current MAC address (6 bytes; may change at run time, read it each time). */
  readonly mac: Uint8Array;
  readonly mtu: number;
  /** Queues one Ethernet frame (no virtio header): buf[off, off+len). Copies it; false when the TX ring is full (nothing queued). */
  xmit(buf: Uint8Array, off: number, len: number): boolean;
  /** Set by the stack: called for every received Ethernet frame buf[off, off+len) (a view into guest RAM, valid only during the call). */
  rxHandler: ((buf: Uint8Array, off: number, len: number) => void) | undefined;
}

/** The drop reasons this stack uses, with the kernel's names (SKB_DROP_REASON_*). */
export const DROP_REASONS = [
  'NOT_SPECIFIED',
  'PKT_TOO_SMALL',
  'OTHERHOST',
  'UNHANDLED_PROTO',
  'IP_INHDR',
  'IP_CSUM',
  'IP_INADDRERRORS',
  'IP_NOPROTO',
  'IP_OUTNOROUTES',
  'PKT_TOO_BIG',
  'ICMP_CSUM',
  'UDP_CSUM',
  'NO_SOCKET',
  'NEIGH_FAILED',
  'NEIGH_QUEUEFULL',
  'FULL_RING',
] as const;
export type DropReason = (typeof DROP_REASONS)[number];
export type DropCounts = Record<DropReason, number>;

/** Device-level counters, as `ip -s link` shows them, plus tagged frames seen. */
export interface LinkStats {
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  /** Frames the driver refused (ring full); each is also a FULL_RING drop. */
  txDropped: number;
  /** 802.1Q-tagged frames received (dropped: no VLAN devices); each is also an UNHANDLED_PROTO drop. */
  rxVlan: number;
}

export const BROADCAST_MAC: Uint8Array = new Uint8Array(ETH_ALEN).fill(0xff);

/** The largest frame the stack builds: a 65535-byte IPv4 packet behind an Ethernet header. */
export const MAX_FRAME = ETH_HLEN + 0xffff;

/** The stack's side of one device: the transmit frame, Ethernet output, counters. */
export class Link {
  readonly stats: LinkStats = { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, txDropped: 0, rxVlan: 0 };
  readonly drops = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as DropCounts;
  /**
   * The frame IPv4 senders build in, preallocated once. Free again once the driver has copied it
   * (xmit() copies), so a receive handler that answers from inside xmit() may reuse it; every
   * sender therefore writes a whole frame each time.
   */
  readonly tx = new Uint8Array(MAX_FRAME);
  readonly txView = new DataView(this.tx.buffer, this.tx.byteOffset, this.tx.byteLength);

  constructor(readonly dev: NetDevice) {}

  /**
   * dev_hard_header() + dev_queue_xmit(): writes the Ethernet header (destination from
   * dst[dstOff], our current MAC, `type`) into buf[0, ETH_HLEN) and hands buf[0, len) to the
   * driver. False, counted FULL_RING, when the driver refuses it.
   */
  output(buf: Uint8Array, len: number, type: number, dst: Uint8Array, dstOff = 0): boolean {
    const src = this.dev.mac;
    for (let i = 0; i < ETH_ALEN; i++) {
      buf[i] = dst[dstOff + i] as number;
      buf[ETH_ALEN + i] = src[i] as number;
    }
    buf[12] = type >>> 8;
    buf[13] = type & 0xff;
    const st = this.stats;
    if (this.dev.xmit(buf, 0, len)) {
      st.txPackets++;
      st.txBytes += len;
      return true;
    }
    st.txDropped++;
    this.drops.FULL_RING++;
    return false;
  }
}

/**
 * A DataView over the byte array a receive path was last handed. Drivers pass the same guest-RAM
 * array with a different offset for every frame, so this builds one view per array, not one per
 * frame.
 */
export class ViewCache {
  private buf: Uint8Array | undefined;
  private view: DataView = new DataView(new ArrayBuffer(0));

  of(buf: Uint8Array): DataView {
    if (buf !== this.buf) {
      this.buf = buf;
      this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    return this.view;
  }
}
