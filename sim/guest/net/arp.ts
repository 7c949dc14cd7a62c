// ARP for IPv4 over Ethernet and the neighbour cache behind it.
// Models: RFC 826; net/ipv4/arp.c (arp_rcv's checks, arp_process, arp_solicit) and the parts of
// net/core/neighbour.c that ARP drives (__neigh_event_send's queue, neigh_update, the probe
// timer), with the default sysctls: arp_accept=0 (unsolicited replies create nothing),
// mcast_solicit=3, unres_qlen=101.
// Deviations: tick() stands for one retrans_time (1 s) of the probe timer and there is no other
// clock, so valid entries never age (no REACHABLE -> STALE -> DELAY -> PROBE) and every probe is
// a broadcast; the pending queue is bounded in packets, not bytes; a reply always overrides (no
// locktime); a reply marks the entry REACHABLE even when it was broadcast; ARP from our own
// address (a looped-back request or a conflict) is ignored; entries are never removed.

import { ETH_ALEN } from '../../../uapi/index.js';
import { formatMac } from '../../../lib/net/index.js';
import { BE, ETH_HLEN, ETH_P_ARP, ETH_P_IP, formatIpv4, toIpv4 } from './inet.js';
import { BROADCAST_MAC, type Link } from './netdev.js';

export const ARPHRD_ETHER = 1;
export const ARPOP_REQUEST = 1;
export const ARPOP_REPLY = 2;
/** An ARP packet for IPv4 over Ethernet (RFC 826). */
export const ARP_LEN = 28;

// Neighbour states (include/uapi/linux/neighbour.h).
const NUD_NONE = 0x00;
const NUD_INCOMPLETE = 0x01;
const NUD_REACHABLE = 0x02;
const NUD_STALE = 0x04;
const NUD_FAILED = 0x20;
const NUD_VALID = NUD_REACHABLE | NUD_STALE;

const STATE_NAMES: Record<number, NeighState> = {
  [NUD_INCOMPLETE]: 'INCOMPLETE',
  [NUD_REACHABLE]: 'REACHABLE',
  [NUD_STALE]: 'STALE',
  [NUD_FAILED]: 'FAILED',
};

const ZERO_MAC = new Uint8Array(ETH_ALEN);

export interface ArpOptions {
  /** Packets queued per unresolved destination; the oldest is dropped beyond it (unres_qlen, default 101). */
  unresQlen?: number;
  /** Requests sent before a destination is declared FAILED (mcast_solicit, default 3). */
  mcastSolicit?: number;
}

export interface ArpStats {
  inRequests: number;
  inReplies: number;
  /** Well-formed ARP that asked nothing of us and changed no entry (a request for another address from an unknown sender, an unsolicited reply, our own address). */
  inIgnored: number;
  /** Truncated or malformed ARP (each also a drop). */
  inErrors: number;
  outRequests: number;
  outReplies: number;
}

export type NeighState = 'INCOMPLETE' | 'REACHABLE' | 'STALE' | 'FAILED';

/** One neighbour as `ip neigh` shows it. */
export interface NeighInfo {
  ip: string;
  /** Undefined until resolved. */
  mac: string | undefined;
  state: NeighState;
  /** Packets waiting for resolution. */
  queued: number;
  /** Requests sent in the current resolution. */
  probes: number;
}

/** struct neighbour, reduced. */
class Neighbour {
  readonly mac = new Uint8Array(ETH_ALEN);
  state = NUD_NONE;
  probes = 0;
  /** Whole frames (the Ethernet header filled in when they are sent). */
  queue: Uint8Array[] = [];
  constructor(readonly ip: number) {}
}

export class Arp {
  readonly stats: ArpStats = { inRequests: 0, inReplies: 0, inIgnored: 0, inErrors: 0, outRequests: 0, outReplies: 0 };
  readonly unresQlen: number;
  readonly mcastSolicit: number;
  private readonly table = new Map<number, Neighbour>();
  /** The last neighbour output() used: a stream to one destination skips the table lookup. */
  private last: Neighbour | undefined;
  /** ARP frames are built here, not in the link's frame, which may hold a packet being resolved. */
  private readonly frame = new Uint8Array(ETH_HLEN + ARP_LEN);
  private readonly fv = new DataView(this.frame.buffer, this.frame.byteOffset, this.frame.byteLength);

  constructor(
    private readonly link: Link,
    /** Our IPv4 address. */
    readonly addr: number,
    opts: ArpOptions = {},
  ) {
    this.unresQlen = opts.unresQlen ?? 101;
    this.mcastSolicit = opts.mcastSolicit ?? 3;
    if (!Number.isInteger(this.unresQlen) || this.unresQlen < 1) throw new RangeError(`arp: unresQlen ${this.unresQlen} must be a positive integer`);
    if (!Number.isInteger(this.mcastSolicit) || this.mcastSolicit < 1) throw new RangeError(`arp: mcastSolicit ${this.mcastSolicit} must be a positive integer`);
  }

  /**
   * neigh_resolve_output(): sends the frame buf[0, len) (an IPv4 packet behind room for the
   * Ethernet header) to `nexthop`, or queues a copy while `nexthop` resolves. False only when
   * the driver refused it.
   */
  output(nexthop: number, buf: Uint8Array, len: number): boolean {
    let n = this.last;
    if (n === undefined || n.ip !== nexthop) this.last = n = this.neigh(nexthop);
    if (n.state & NUD_VALID) return this.link.output(buf, len, ETH_P_IP, n.mac);
    // __neigh_event_send(): queue first, then probe, so a reply that arrives during the probe
    // already finds the packet.
    if (n.queue.length >= this.unresQlen) {
      n.queue.shift();
      this.link.drops.NEIGH_QUEUEFULL++;
    }
    n.queue.push(buf.slice(0, len));
    if (n.state !== NUD_INCOMPLETE) this.startResolution(n);
    return true;
  }

  /** Starts resolving `ip` unless it is resolved or resolving; true when it is resolved already. */
  resolve(ip: number | string): boolean {
    const n = this.neigh(toIpv4(ip));
    if (n.state & NUD_VALID) return true;
    if (n.state !== NUD_INCOMPLETE) this.startResolution(n);
    return false;
  }

  /** The MAC `ip` resolves to, or undefined. */
  lookup(ip: number | string): string | undefined {
    const n = this.table.get(toIpv4(ip));
    return n && n.state & NUD_VALID ? formatMac(n.mac) : undefined;
  }

  /** The neighbour table, in creation order. */
  entries(): NeighInfo[] {
    return [...this.table.values()].map((n) => ({
      ip: formatIpv4(n.ip),
      mac: n.state & NUD_VALID ? formatMac(n.mac) : undefined,
      state: STATE_NAMES[n.state] as NeighState,
      queued: n.queue.length,
      probes: n.probes,
    }));
  }

  /** Gratuitous ARP (what NETDEV_NOTIFY_PEERS sends): a broadcast request for our own address from our current MAC. */
  announce(): void {
    this.send(ARPOP_REQUEST, BROADCAST_MAC, 0, ZERO_MAC, 0, this.addr);
  }

  /**
   * One retrans_time of the probe timer: every resolving neighbour gets another request, or,
   * after mcastSolicit of them, becomes FAILED and its queued packets are dropped (NEIGH_FAILED).
   * The next packet to a FAILED neighbour starts over.
   */
  tick(): void {
    for (const n of this.table.values()) {
      if (n.state !== NUD_INCOMPLETE) continue;
      if (n.probes < this.mcastSolicit) {
        this.solicit(n);
        continue;
      }
      n.state = NUD_FAILED;
      this.link.drops.NEIGH_FAILED += n.queue.length;
      n.queue = [];
    }
  }

  /** arp_rcv() + arp_process(): the ARP packet buf[off, off + len) (Ethernet padding allowed). */
  rcv(buf: Uint8Array, v: DataView, off: number, len: number): void {
    const st = this.stats;
    if (len < ARP_LEN) {
      st.inErrors++;
      this.link.drops.PKT_TOO_SMALL++;
      return;
    }
    const op = v.getUint16(off + 6, BE);
    if (v.getUint16(off, BE) !== ARPHRD_ETHER || v.getUint16(off + 2, BE) !== ETH_P_IP || buf[off + 4] !== ETH_ALEN || buf[off + 5] !== 4 || (op !== ARPOP_REQUEST && op !== ARPOP_REPLY)) {
      st.inErrors++;
      this.link.drops.NOT_SPECIFIED++;
      return;
    }
    if (op === ARPOP_REQUEST) st.inRequests++;
    else st.inReplies++;
    const sha = off + 8;
    const sip = v.getUint32(off + 14, BE);
    const tip = v.getUint32(off + 24, BE);
    // Duplicate address detection (RFC 5227): the prober has no address yet; answer, learn nothing.
    if (sip === 0) {
      if (op === ARPOP_REQUEST && tip === this.addr) this.send(ARPOP_REPLY, buf, sha, buf, sha, 0);
      else st.inIgnored++;
      return;
    }
    if (sip === this.addr) {
      st.inIgnored++;
      return;
    }
    if (op === ARPOP_REQUEST && tip === this.addr) {
      // neigh_event_ns(): the asker is worth knowing (STALE: a request proves nothing about reachability).
      this.update(this.neigh(sip), buf, sha, NUD_STALE);
      this.send(ARPOP_REPLY, buf, sha, buf, sha, sip);
      return;
    }
    // Replies, gratuitous ARP and requests for other addresses only refresh an entry we have.
    const n = this.table.get(sip);
    if (n === undefined) {
      st.inIgnored++;
      return;
    }
    this.update(n, buf, sha, op === ARPOP_REPLY ? NUD_REACHABLE : NUD_STALE);
  }

  /** __neigh_lookup(..., creat=1). */
  private neigh(ip: number): Neighbour {
    let n = this.table.get(ip);
    if (n === undefined) {
      n = new Neighbour(ip);
      this.table.set(ip, n);
    }
    return n;
  }

  private startResolution(n: Neighbour): void {
    n.state = NUD_INCOMPLETE;
    n.probes = 0;
    this.solicit(n);
  }

  /** arp_solicit(): a broadcast request for n.ip. */
  private solicit(n: Neighbour): void {
    n.probes++;
    this.send(ARPOP_REQUEST, BROADCAST_MAC, 0, ZERO_MAC, 0, n.ip);
  }

  /** neigh_update(): a new address and state; packets waiting for it are sent. */
  private update(n: Neighbour, buf: Uint8Array, shaOff: number, state: number): void {
    for (let i = 0; i < ETH_ALEN; i++) n.mac[i] = buf[shaOff + i] as number;
    n.state = state;
    n.probes = 0;
    if (n.queue.length === 0) return;
    // Detached first: sending may re-enter output() for this neighbour.
    const queued = n.queue;
    n.queue = [];
    for (const frame of queued) this.link.output(frame, frame.length, ETH_P_IP, n.mac);
  }

  /** arp_send(): from our MAC and address to `tip`; Ethernet destination at dst[dstOff], target hardware address at tha[thaOff]. */
  private send(op: number, dst: Uint8Array, dstOff: number, tha: Uint8Array, thaOff: number, tip: number): void {
    const f = this.frame;
    const v = this.fv;
    const mac = this.link.dev.mac;
    const a = ETH_HLEN;
    v.setUint16(a, ARPHRD_ETHER, BE);
    v.setUint16(a + 2, ETH_P_IP, BE);
    f[a + 4] = ETH_ALEN;
    f[a + 5] = 4;
    v.setUint16(a + 6, op, BE);
    for (let i = 0; i < ETH_ALEN; i++) {
      f[a + 8 + i] = mac[i] as number;
      f[a + 18 + i] = tha[thaOff + i] as number;
    }
    v.setUint32(a + 14, this.addr, BE);
    v.setUint32(a + 24, tip, BE);
    if (this.link.output(f, f.length, ETH_P_ARP, dst, dstOff)) {
      if (op === ARPOP_REQUEST) this.stats.outRequests++;
      else this.stats.outReplies++;
    }
  }
}
