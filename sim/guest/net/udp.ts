// UDP for the guest stack: sockets bound to ports, sending with the checksum, the echo service.
// Models: RFC 768 (header, checksum with the pseudo-header, 0 meaning none and 0xffff sent for
// a computed 0); net/ipv4/udp.c (__udp4_lib_rcv's length and checksum checks, drop reasons and
// SNMP counters; ephemeral ports from ip_local_port_range's 32768).
// Deviations: delivery is a synchronous callback, no receive queue; one socket per port (no
// SO_REUSEPORT), bound to every address; ephemeral ports are handed out in order, not at
// random; no ICMP port unreachable; the echo service (RFC 862) runs inside the stack instead of
// inetd.

import { BE, ETH_HLEN, IPPROTO_UDP, copyBytes, inetChecksum, pseudoHeaderSum, toIpv4 } from './inet.js';
import { IPV4_HLEN, type InetProtocol, type Ipv4 } from './ipv4.js';
import type { Link } from './netdev.js';

export const UDP_HLEN = 8;
export const UDP_ECHO_PORT = 7;
const EPHEMERAL_LOW = 32768;
const EPHEMERAL_HIGH = 60999;
/** Where the UDP header starts in the link's frame. */
const AT = ETH_HLEN + IPV4_HLEN;

/** A datagram's payload buf[off, off + len) (valid only during the call) and where it came from. */
export type UdpRecv = (buf: Uint8Array, off: number, len: number, srcIp: number, srcPort: number) => void;

/** The Udp group of /proc/net/snmp, the rows this stack moves. */
export interface UdpStats {
  inDatagrams: number;
  noPorts: number;
  /** Bad length or checksum (each also a drop). */
  inErrors: number;
  inCsumErrors: number;
  outDatagrams: number;
}

const isPort = (p: number): boolean => Number.isInteger(p) && p >= 0 && p <= 0xffff;

/** A bound UDP socket. */
export class UdpSocket {
  private closed = false;
  /** SO_NO_CHECK: datagrams go out with checksum 0 ("none", RFC 768). */
  noCheck = false;

  constructor(
    private readonly udp: Udp,
    readonly port: number,
    readonly onRecv: UdpRecv | undefined,
  ) {}

  /** The payload area of the stack's transmit frame (shared by every socket): fill it, then sendPrepared(). */
  get txPayload(): Uint8Array {
    return this.udp.txPayload;
  }

  /** Sends buf[off, off + len) to dst:dstPort (copied into txPayload first). True when sent or queued for resolution. */
  sendto(buf: Uint8Array, off: number, len: number, dst: number | string, dstPort: number): boolean {
    if (!(off >= 0 && len >= 0 && off + len <= buf.length)) throw new RangeError(`udp: [${off}, ${off + len}) is not inside a ${buf.length}-byte buffer`);
    copyBytes(this.udp.txPayload, 0, buf, off, len);
    return this.sendPrepared(len, dst, dstPort);
  }

  /** Sends txPayload[0, len) to dst:dstPort without copying. True when sent or queued for resolution. */
  sendPrepared(len: number, dst: number | string, dstPort: number): boolean {
    if (this.closed) throw new Error(`udp: socket on port ${this.port} is closed`);
    return this.udp.send(this.port, len, toIpv4(dst), dstPort, this.noCheck);
  }

  close(): void {
    if (!this.closed) this.udp.unbind(this);
    this.closed = true;
  }
}

export class Udp implements InetProtocol {
  readonly stats: UdpStats = { inDatagrams: 0, noPorts: 0, inErrors: 0, inCsumErrors: 0, outDatagrams: 0 };
  /** The payload area of the link's frame, behind the IPv4 and UDP headers. */
  readonly txPayload: Uint8Array;
  private readonly sockets = new Map<number, UdpSocket>();
  private nextEphemeral = EPHEMERAL_LOW;
  private echoSocket: UdpSocket | undefined;

  constructor(
    private readonly link: Link,
    private readonly ip: Ipv4,
  ) {
    this.txPayload = link.tx.subarray(AT + UDP_HLEN);
    ip.addProtocol(IPPROTO_UDP, this);
  }

  /** The largest payload one datagram can carry on this device. */
  maxPayload(): number {
    return this.ip.maxPayload() - UDP_HLEN;
  }

  /** A socket on `port` (0: the next free ephemeral port); RangeError when the port is taken. */
  bind(port: number, onRecv?: UdpRecv): UdpSocket {
    if (!isPort(port)) throw new RangeError(`udp: port ${port} is not a u16`);
    const p = port === 0 ? this.ephemeral() : port;
    if (this.sockets.has(p)) throw new RangeError(`udp: port ${p} is in use (EADDRINUSE)`);
    const s = new UdpSocket(this, p, onRecv);
    this.sockets.set(p, s);
    return s;
  }

  /** Turns the echo service on port 7 on or off: every datagram goes back to its sender. */
  echo(enable = true): void {
    if (enable && !this.echoSocket) {
      this.echoSocket = this.bind(UDP_ECHO_PORT, (buf, off, len, srcIp, srcPort) => {
        copyBytes(this.txPayload, 0, buf, off, len);
        this.send(UDP_ECHO_PORT, len, srcIp, srcPort);
      });
    } else if (!enable && this.echoSocket) {
      this.echoSocket.close();
      this.echoSocket = undefined;
    }
  }

  /**
   * udp_send_skb(): sends txPayload[0, len) from `srcPort` to daddr:dstPort with the checksum
   * filled in (0 with `noCheck`). True when sent or queued for resolution; false (counted) when not.
   */
  send(srcPort: number, len: number, daddr: number, dstPort: number, noCheck = false): boolean {
    if (!(len >= 0 && len <= this.maxPayload())) throw new RangeError(`udp: payload of ${len} bytes does not fit the MTU (${this.link.dev.mtu})`);
    if (!isPort(dstPort)) throw new RangeError(`udp: port ${dstPort} is not a u16`);
    const f = this.link.tx;
    const v = this.link.txView;
    const ulen = UDP_HLEN + len;
    v.setUint16(AT, srcPort, BE);
    v.setUint16(AT + 2, dstPort, BE);
    v.setUint16(AT + 4, ulen, BE);
    v.setUint16(AT + 6, 0, BE);
    // A computed 0 goes out as 0xffff: 0 on the wire means "no checksum".
    if (!noCheck) v.setUint16(AT + 6, inetChecksum(f, AT, ulen, pseudoHeaderSum(this.ip.addr, daddr, IPPROTO_UDP, ulen)) || 0xffff, BE);
    if (!this.ip.output(daddr, IPPROTO_UDP, ulen)) return false;
    this.stats.outDatagrams++;
    return true;
  }

  /** __udp4_lib_rcv(): the datagram buf[off, off + len). */
  rcv(buf: Uint8Array, v: DataView, off: number, len: number, saddr: number, daddr: number): void {
    const st = this.stats;
    const ulen = len >= UDP_HLEN ? v.getUint16(off + 4, BE) : 0;
    if (ulen < UDP_HLEN || ulen > len) {
      st.inErrors++;
      this.link.drops.PKT_TOO_SMALL++;
      return;
    }
    if (v.getUint16(off + 6, BE) !== 0 && inetChecksum(buf, off, ulen, pseudoHeaderSum(saddr, daddr, IPPROTO_UDP, ulen)) !== 0) {
      st.inErrors++;
      st.inCsumErrors++;
      this.link.drops.UDP_CSUM++;
      return;
    }
    const sock = this.sockets.get(v.getUint16(off + 2, BE));
    if (sock === undefined) {
      st.noPorts++;
      this.link.drops.NO_SOCKET++;
      return;
    }
    st.inDatagrams++;
    sock.onRecv?.(buf, off + UDP_HLEN, ulen - UDP_HLEN, saddr, v.getUint16(off, BE));
  }

  /** Called by UdpSocket.close(). */
  unbind(s: UdpSocket): void {
    if (this.sockets.get(s.port) === s) this.sockets.delete(s.port);
  }

  private ephemeral(): number {
    const range = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1;
    for (let tries = 0; tries < range; tries++) {
      const p = this.nextEphemeral;
      this.nextEphemeral = p === EPHEMERAL_HIGH ? EPHEMERAL_LOW : p + 1;
      if (!this.sockets.has(p)) return p;
    }
    throw new RangeError('udp: no free ephemeral port (EADDRNOTAVAIL)');
  }
}
