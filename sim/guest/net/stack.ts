// The guest's IPv4 stack on one network device: Ethernet receive, the protocol modules wired
// together, and all counters as one plain object.
// Models: the receive half of net/ethernet/eth.c (eth_type_trans: frames for our MAC or
// broadcast, anything else OTHERHOST) and net/core/dev.c's dispatch by EtherType.
// Deviations: one device and one IPv4 address; 802.1Q-tagged frames are dropped (no VLAN
// devices); multicast frames are dropped as OTHERHOST (no groups are joined).

import { ETH_P_8021Q, etherAddrEqual, isBroadcastEther } from '../../../lib/net/index.js';
import { Arp, type ArpOptions, type ArpStats } from './arp.js';
import { Icmp, type IcmpStats, type PingOptions, type PingSession } from './icmp.js';
import { BE, ETH_HLEN, ETH_P_ARP, ETH_P_IP, toIpv4 } from './inet.js';
import { Ipv4, type Ipv4Stats } from './ipv4.js';
import { Link, ViewCache, type DropCounts, type LinkStats, type NetDevice } from './netdev.js';
import { Udp, type UdpStats } from './udp.js';

export interface NetStackOptions extends ArpOptions {
  ip: number | string;
  prefixLen: number;
}

/** Every counter of the stack, copied out. */
export interface NetStats {
  link: LinkStats;
  /** Dropped packets by the kernel's drop reason. */
  drops: DropCounts;
  arp: ArpStats;
  ip: Ipv4Stats;
  icmp: IcmpStats;
  udp: UdpStats;
}

export class NetStack {
  readonly link: Link;
  readonly arp: Arp;
  readonly ip: Ipv4;
  readonly icmp: Icmp;
  readonly udp: Udp;
  private readonly views = new ViewCache();

  /** Takes over dev.rxHandler. */
  constructor(
    readonly dev: NetDevice,
    opts: NetStackOptions,
  ) {
    const addr = toIpv4(opts.ip);
    this.link = new Link(dev);
    this.arp = new Arp(this.link, addr, opts);
    this.ip = new Ipv4(this.link, this.arp, addr, opts.prefixLen);
    this.icmp = new Icmp(this.link, this.ip);
    this.udp = new Udp(this.link, this.ip);
    dev.rxHandler = (buf, off, len) => this.rcv(buf, off, len);
  }

  /** Sends echo requests to `dst` (see Icmp.ping()). */
  ping(dst: number | string, opts?: PingOptions): PingSession {
    return this.icmp.ping(dst, opts);
  }

  /** One retrans_time passes: ARP retries or gives up on unresolved neighbours. */
  tick(): void {
    this.arp.tick();
  }

  stats(): NetStats {
    return {
      link: { ...this.link.stats },
      drops: { ...this.link.drops },
      arp: { ...this.arp.stats },
      ip: { ...this.ip.stats },
      icmp: { ...this.icmp.stats },
      udp: { ...this.udp.stats },
    };
  }

  /** eth_type_trans() and the EtherType dispatch for the frame buf[off, off + len). */
  private rcv(buf: Uint8Array, off: number, len: number): void {
    const link = this.link;
    link.stats.rxPackets++;
    link.stats.rxBytes += len;
    if (len < ETH_HLEN) {
      link.drops.PKT_TOO_SMALL++;
      return;
    }
    if (!etherAddrEqual(buf, off, this.dev.mac, 0) && !isBroadcastEther(buf, off)) {
      link.drops.OTHERHOST++;
      return;
    }
    const v = this.views.of(buf);
    const type = v.getUint16(off + 12, BE);
    if (type === ETH_P_IP) this.ip.rcv(buf, v, off + ETH_HLEN, len - ETH_HLEN);
    else if (type === ETH_P_ARP) this.arp.rcv(buf, v, off + ETH_HLEN, len - ETH_HLEN);
    else {
      if (type === ETH_P_8021Q) link.stats.rxVlan++;
      link.drops.UNHANDLED_PROTO++;
    }
  }
}
