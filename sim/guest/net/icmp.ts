// ICMP echo for the guest stack: answers echo requests and runs ping sessions.
// Models: RFC 792 (echo and echo reply); net/ipv4/icmp.c (icmp_rcv's checks, icmp_echo with the
// default icmp_echo_ignore_broadcasts=1: the reply keeps the request's code, id, sequence and
// data) and iputils ping's packets (sequence numbers from 1, 56 data bytes by default).
// Deviations: a ping sends its whole burst at once and measures no time; ICMP types other than
// echo are counted and ignored; no ICMP errors are sent.

import { BE, ETH_HLEN, IPPROTO_ICMP, copyBytes, inetChecksum, toIpv4 } from './inet.js';
import { IPV4_HLEN, type InetProtocol, type Ipv4 } from './ipv4.js';
import type { Link } from './netdev.js';

export const ICMP_ECHOREPLY = 0;
export const ICMP_ECHO = 8;
export const ICMP_HLEN = 8;
/** Where the ICMP message starts in the link's frame. */
const AT = ETH_HLEN + IPV4_HLEN;

/** The Icmp group of /proc/net/snmp, the rows this stack moves. */
export interface IcmpStats {
  /** Every message received, errors included (as the MIB counts). */
  inMsgs: number;
  inErrors: number;
  inCsumErrors: number;
  inEchos: number;
  inEchoReps: number;
  outMsgs: number;
  outEchos: number;
  outEchoReps: number;
}

export interface PingOptions {
  /** Echo requests to send, 1..65535 (default 1). */
  count?: number;
  /** Data bytes after the ICMP header, as `ping -s` (default 56). */
  size?: number;
  /** The echo identifier (default: the next one this stack hands out). */
  id?: number;
}

/** The data byte at `i`: what ping sends and expects back. */
const pattern = (i: number): number => i & 0xff;

/** One `ping -c count -s size` run: which sequence numbers came back, how often, and intact or not. */
export class PingSession {
  /** Requests the stack accepted (sent, or queued while the destination resolves). */
  sent = 0;
  /** Distinct sequence numbers answered with the data sent. */
  received = 0;
  /** Intact replies for a sequence number already answered. */
  duplicates = 0;
  /** Replies whose length or data differ from the request's (ping's "wrong data byte"). */
  corrupted = 0;
  /** Replies with a sequence number this session never sent. */
  stray = 0;
  /** Intact replies per sequence number (index 0 unused: sequences start at 1). */
  private readonly replies: Uint32Array;

  constructor(
    readonly dst: number,
    readonly id: number,
    readonly count: number,
    readonly size: number,
  ) {
    this.replies = new Uint32Array(count + 1);
  }

  /** Every sequence number was answered. */
  get done(): boolean {
    return this.received === this.count;
  }

  /** Intact replies seen for `seq`. */
  repliesFor(seq: number): number {
    return this.replies[seq] ?? 0;
  }

  /** Sequence numbers sent and not answered. */
  missing(): number[] {
    const out: number[] = [];
    for (let seq = 1; seq <= this.sent; seq++) if (this.replies[seq] === 0) out.push(seq);
    return out;
  }

  /** An echo reply from `dst` for this id: buf[off, off + len) is the whole ICMP message. */
  reply(buf: Uint8Array, off: number, len: number, seq: number): void {
    if (seq < 1 || seq > this.sent) {
      this.stray++;
      return;
    }
    let intact = len === ICMP_HLEN + this.size;
    for (let i = 0; intact && i < this.size; i++) intact = buf[off + ICMP_HLEN + i] === pattern(i);
    if (!intact) {
      this.corrupted++;
      return;
    }
    const n = (this.replies[seq] as number) + 1;
    this.replies[seq] = n;
    if (n === 1) this.received++;
    else this.duplicates++;
  }
}

export class Icmp implements InetProtocol {
  readonly stats: IcmpStats = { inMsgs: 0, inErrors: 0, inCsumErrors: 0, inEchos: 0, inEchoReps: 0, outMsgs: 0, outEchos: 0, outEchoReps: 0 };
  /** Sessions by echo id; a new ping with the same id replaces the old one. */
  private readonly sessions = new Map<number, PingSession>();
  private nextId = 1;

  constructor(
    private readonly link: Link,
    private readonly ip: Ipv4,
  ) {
    ip.addProtocol(IPPROTO_ICMP, this);
  }

  /** Sends `count` echo requests of `size` data bytes to `dst` at once; replies are recorded as they arrive. */
  ping(dst: number | string, opts: PingOptions = {}): PingSession {
    const daddr = toIpv4(dst);
    const count = opts.count ?? 1;
    const size = opts.size ?? 56;
    const id = opts.id ?? this.nextId;
    // Sequence numbers are 16 bits on the wire; more would make replies ambiguous.
    if (!Number.isInteger(count) || count < 1 || count > 0xffff) throw new RangeError(`ping: count ${count} is not 1..65535`);
    if (!Number.isInteger(size) || size < 0 || ICMP_HLEN + size > this.ip.maxPayload()) throw new RangeError(`ping: size ${size} does not fit the MTU (${this.link.dev.mtu})`);
    if (!Number.isInteger(id) || id < 0 || id > 0xffff) throw new RangeError(`ping: id ${id} is not a u16`);
    if (opts.id === undefined) this.nextId = (this.nextId + 1) & 0xffff;
    const s = new PingSession(daddr, id, count, size);
    this.sessions.set(id, s);
    const f = this.link.tx;
    const v = this.link.txView;
    for (let seq = 1; seq <= count; seq++) {
      // Rebuilt every time: a reply sent from inside the previous xmit() may have used the frame.
      f[AT] = ICMP_ECHO;
      f[AT + 1] = 0;
      v.setUint16(AT + 2, 0, BE);
      v.setUint16(AT + 4, id, BE);
      v.setUint16(AT + 6, seq, BE);
      for (let i = 0; i < size; i++) f[AT + ICMP_HLEN + i] = pattern(i);
      v.setUint16(AT + 2, inetChecksum(f, AT, ICMP_HLEN + size), BE);
      if (!this.ip.output(daddr, IPPROTO_ICMP, ICMP_HLEN + size)) break;
      s.sent++;
      this.stats.outMsgs++;
      this.stats.outEchos++;
    }
    return s;
  }

  /** icmp_rcv(): the message buf[off, off + len). */
  rcv(buf: Uint8Array, v: DataView, off: number, len: number, saddr: number, daddr: number): void {
    const st = this.stats;
    st.inMsgs++;
    if (len < ICMP_HLEN) {
      st.inErrors++;
      this.link.drops.PKT_TOO_SMALL++;
      return;
    }
    if (inetChecksum(buf, off, len) !== 0) {
      st.inErrors++;
      st.inCsumErrors++;
      this.link.drops.ICMP_CSUM++;
      return;
    }
    const type = buf[off] as number;
    if (type === ICMP_ECHO) {
      st.inEchos++;
      // icmp_echo_ignore_broadcasts: a request to a broadcast address gets no answer.
      if (daddr === this.ip.addr) this.echoReply(buf, off, len, saddr);
    } else if (type === ICMP_ECHOREPLY) {
      st.inEchoReps++;
      const s = this.sessions.get(v.getUint16(off + 4, BE));
      if (s !== undefined && s.dst === saddr) s.reply(buf, off, len, v.getUint16(off + 6, BE));
    }
  }

  /** icmp_echo() + icmp_reply(): the request back to its sender, type changed, checksum redone. */
  private echoReply(buf: Uint8Array, off: number, len: number, saddr: number): void {
    const f = this.link.tx;
    copyBytes(f, AT, buf, off, len);
    f[AT] = ICMP_ECHOREPLY;
    this.link.txView.setUint16(AT + 2, 0, BE);
    this.link.txView.setUint16(AT + 2, inetChecksum(f, AT, len), BE);
    if (this.ip.output(saddr, IPPROTO_ICMP, len)) {
      this.stats.outMsgs++;
      this.stats.outEchoReps++;
    }
  }
}
