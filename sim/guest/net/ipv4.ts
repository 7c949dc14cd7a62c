// IPv4 for the guest stack: receive (header checks, local delivery, protocol dispatch) and send
// (header, next hop, neighbour output).
// Models: RFC 791 and RFC 1122 §3.2.1; net/ipv4/ip_input.c (ip_rcv_core's checks with its drop
// reasons and SNMP counters, ip_local_deliver) and ip_output.c (the header of a packet sent
// with DF clear: TTL 64, an ID per packet).
// Deviations: one address on one connected subnet, no gateway; no fragmentation or reassembly
// (fragments are dropped, a packet over the MTU is not sent); options are accepted and ignored;
// no ICMP errors are generated; IDs count up from 0 instead of ip_select_ident()'s hash; a
// packet to our own address goes out through the device to our own MAC where Linux would use
// lo, which is what makes a looping device (vdpa_sim_net) useful to ping through, and for the
// same reason there are no martian-source checks (our own address comes back as a source).

import { BE, ETH_HLEN, ETH_P_IP, INADDR_BROADCAST, inetChecksum } from './inet.js';
import type { Arp } from './arp.js';
import { BROADCAST_MAC, type Link } from './netdev.js';

export const IPV4_HLEN = 20;
export const IPDEFTTL = 64;
const IP_MF = 0x2000;
const IP_OFFSET = 0x1fff;

/** A transport protocol's receive half (struct net_protocol). */
export interface InetProtocol {
  /** buf[off, off + len) is the payload of a packet from `saddr` to `daddr` (our address or a broadcast). */
  rcv(buf: Uint8Array, v: DataView, off: number, len: number, saddr: number, daddr: number): void;
}

/** The IP group of /proc/net/snmp, the rows this stack moves. */
export interface Ipv4Stats {
  inReceives: number;
  inHdrErrors: number;
  inCsumErrors: number;
  inTruncatedPkts: number;
  inAddrErrors: number;
  inUnknownProtos: number;
  /** Fragments, dropped: there is no reassembly. */
  reasmFails: number;
  inDelivers: number;
  outRequests: number;
  outNoRoutes: number;
  /** Packets over the MTU, not sent: there is no fragmentation. */
  fragFails: number;
}

export class Ipv4 {
  readonly stats: Ipv4Stats = {
    inReceives: 0,
    inHdrErrors: 0,
    inCsumErrors: 0,
    inTruncatedPkts: 0,
    inAddrErrors: 0,
    inUnknownProtos: 0,
    reasmFails: 0,
    inDelivers: 0,
    outRequests: 0,
    outNoRoutes: 0,
    fragFails: 0,
  };
  readonly mask: number;
  /** The subnet's directed broadcast address (255.255.255.255 for /31 and /32, which have none). */
  readonly broadcast: number;
  private readonly protocols: (InetProtocol | undefined)[] = [];
  private id = 0;

  constructor(
    private readonly link: Link,
    private readonly arp: Arp,
    readonly addr: number,
    readonly prefixLen: number,
  ) {
    if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > 32) throw new RangeError(`ipv4: prefix length ${prefixLen} is not 0..32`);
    this.mask = prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0;
    this.broadcast = prefixLen >= 31 ? INADDR_BROADCAST : (addr | ~this.mask) >>> 0;
  }

  /** inet_add_protocol(). */
  addProtocol(proto: number, handler: InetProtocol): void {
    this.protocols[proto] = handler;
  }

  /** The largest transport payload one packet can carry on this device. */
  maxPayload(): number {
    return Math.min(this.link.dev.mtu, 0xffff) - IPV4_HLEN;
  }

  /** ip_rcv() + ip_local_deliver(): the packet buf[off, off + len) (Ethernet padding allowed). */
  rcv(buf: Uint8Array, v: DataView, off: number, len: number): void {
    const st = this.stats;
    const drops = this.link.drops;
    st.inReceives++;
    const vihl = len >= IPV4_HLEN ? (buf[off] as number) : 0;
    const hlen = (vihl & 0xf) * 4;
    if (vihl >>> 4 !== 4 || hlen < IPV4_HLEN || hlen > len) {
      st.inHdrErrors++;
      drops.IP_INHDR++;
      return;
    }
    if (inetChecksum(buf, off, hlen) !== 0) {
      st.inCsumErrors++;
      st.inHdrErrors++;
      drops.IP_CSUM++;
      return;
    }
    const tot = v.getUint16(off + 2, BE);
    if (tot > len) {
      st.inTruncatedPkts++;
      drops.PKT_TOO_SMALL++;
      return;
    }
    if (tot < hlen) {
      st.inHdrErrors++;
      drops.IP_INHDR++;
      return;
    }
    const daddr = v.getUint32(off + 16, BE);
    if (daddr !== this.addr && daddr !== INADDR_BROADCAST && daddr !== this.broadcast) {
      st.inAddrErrors++;
      drops.IP_INADDRERRORS++;
      return;
    }
    if (v.getUint16(off + 6, BE) & (IP_MF | IP_OFFSET)) {
      st.reasmFails++;
      drops.UNHANDLED_PROTO++;
      return;
    }
    const handler = this.protocols[buf[off + 9] as number];
    if (handler === undefined) {
      st.inUnknownProtos++;
      drops.IP_NOPROTO++;
      return;
    }
    st.inDelivers++;
    handler.rcv(buf, v, off + hlen, tot - hlen, v.getUint32(off + 12, BE), daddr);
  }

  /**
   * ip_queue_xmit(): sends the `len`-byte `proto` payload already in the link's frame at
   * ETH_HLEN + IPV4_HLEN to `daddr`. True when sent or queued for address resolution; false
   * (counted) when there is no route, it is over the MTU, or the driver refused it.
   */
  output(daddr: number, proto: number, len: number): boolean {
    const st = this.stats;
    const onLink = ((daddr ^ this.addr) & this.mask) === 0;
    if (!onLink && daddr !== INADDR_BROADCAST) {
      st.outNoRoutes++;
      this.link.drops.IP_OUTNOROUTES++;
      return false;
    }
    st.outRequests++;
    const tot = IPV4_HLEN + len;
    if (len > this.maxPayload()) {
      st.fragFails++;
      this.link.drops.PKT_TOO_BIG++;
      return false;
    }
    const f = this.link.tx;
    const v = this.link.txView;
    const h = ETH_HLEN;
    v.setUint16(h, 0x4500, BE); // version 4, IHL 5, TOS 0
    v.setUint16(h + 2, tot, BE);
    v.setUint16(h + 4, this.id, BE);
    this.id = (this.id + 1) & 0xffff;
    v.setUint16(h + 6, 0, BE); // DF clear, not a fragment
    f[h + 8] = IPDEFTTL;
    f[h + 9] = proto;
    v.setUint16(h + 10, 0, BE);
    v.setUint32(h + 12, this.addr, BE);
    v.setUint32(h + 16, daddr, BE);
    v.setUint16(h + 10, inetChecksum(f, h, IPV4_HLEN), BE);
    const frameLen = ETH_HLEN + tot;
    if (daddr === INADDR_BROADCAST || daddr === this.broadcast) return this.link.output(f, frameLen, ETH_P_IP, BROADCAST_MAC);
    if (daddr === this.addr) return this.link.output(f, frameLen, ETH_P_IP, this.link.dev.mac);
    return this.arp.output(daddr, f, frameLen);
  }
}
