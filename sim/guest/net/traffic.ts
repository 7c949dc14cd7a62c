// A UDP traffic generator and sink that count what a datapath loses, duplicates, reorders and
// corrupts, in the spirit of pktgen with a receiver that checks every packet.
//
// Each datagram's payload starts with a 16-byte header (big-endian), small enough that a
// minimum 60-byte frame (42 bytes of Ethernet, IPv4 and UDP headers) still carries all of it:
//    0  u16  magic 0x7664 ('vd')
//    2  u16  stream id
//    4  u32  sequence number, high half
//    8  u32  sequence number, low half
//   12  u16  payload length, this header included
//   14  u16  check: the top 16 bits of m = mix(stream, sequence, length)
//   16  ...  pattern: u32 word j is m + j * 0x9e3779b9 (mod 2^32); a last partial word is cut short
// The check catches a damaged header; the pattern, which depends on the whole header, catches
// damaged, shifted or stale payload bytes. It is made of words so that filling and checking
// a large packet take a quarter of the steps bytes would. The UDP checksum is not relied on: an offloading
// device could recompute it over corrupted data.

import { BE, ETH_HLEN, toIpv4 } from './inet.js';
import { IPV4_HLEN } from './ipv4.js';
import { ViewCache } from './netdev.js';
import { UDP_HLEN, type Udp, type UdpSocket } from './udp.js';

export const TRAFFIC_MAGIC = 0x7664;
export const TRAFFIC_HDR_LEN = 16;
/** Ethernet, IPv4 and UDP headers in front of the traffic header. */
export const TRAFFIC_OVERHEAD = ETH_HLEN + IPV4_HLEN + UDP_HLEN;
/** The smallest frame TrafficGen builds: the headers and a whole traffic header. */
export const TRAFFIC_MIN_FRAME = TRAFFIC_OVERHEAD + TRAFFIC_HDR_LEN;
/**
 * Default duplicate-detection window, in sequence numbers (8 KiB of bitmap per stream): twice the
 * largest virtqueue (32768), so a datapath that reorders within a full ring stays inside it. A
 * packet more than this far behind the highest sequence number seen cannot be told apart as a
 * duplicate or a first arrival: it counts as `late` and nothing else.
 */
export const SEQ_WINDOW = 65536;

const TWO_32 = 4294967296;

/** Three u32s mixed into one (murmur3's multiply-xorshift steps). */
function mix(a: number, b: number, c: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0xcc9e2d51) ^ b;
  h = Math.imul(h ^ (h >>> 15), 0x1b873593) ^ c;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const headerMix = (stream: number, seqHi: number, seqLo: number, len: number): number => mix(seqLo, seqHi, (stream << 16) | len);

/** Pattern word j of a packet whose header mixes to m. */
const patternWord = (m: number, j: number): number => (m + Math.imul(j, 0x9e3779b9)) >>> 0;

export interface TrafficGenOptions {
  dst: number | string;
  port: number;
  /** Source port (default: an ephemeral one). */
  srcPort?: number;
  /** Stream id, 0..65535 (default 0). */
  stream?: number;
  /**
   * Ethernet frame length as the driver sees it (no FCS; pktgen's pkt_size): fixed, or drawn
   * uniformly from [min, max] per sequence number. Default 64.
   */
  frameLen?: number | { min: number; max: number };
  /**
   * Seed for drawn lengths (default 1). The generator is counter-based (a hash of seed and
   * sequence number), so a length depends on nothing else: not on refusals, not on batch sizes.
   */
  seed?: number;
  /** Send without UDP checksums (SO_NO_CHECK); the payload pattern still catches corruption. */
  noCheck?: boolean;
}

/** Sends sequence-numbered datagrams of one stream, from 0 upwards. */
export class TrafficGen {
  readonly stream: number;
  readonly dst: number;
  readonly port: number;
  readonly minLen: number;
  readonly maxLen: number;
  readonly seed: number;
  /** Datagrams the stack accepted; also the next sequence number. */
  sent = 0;
  /** UDP payload bytes of those. */
  bytes = 0;
  private readonly sock: UdpSocket;
  private readonly payload: Uint8Array;
  private readonly pv: DataView;

  constructor(udp: Udp, opts: TrafficGenOptions) {
    this.dst = toIpv4(opts.dst);
    this.port = opts.port;
    this.stream = opts.stream ?? 0;
    this.seed = opts.seed ?? 1;
    const fl = opts.frameLen ?? 64;
    this.minLen = typeof fl === 'number' ? fl : fl.min;
    this.maxLen = typeof fl === 'number' ? fl : fl.max;
    const largest = TRAFFIC_OVERHEAD + udp.maxPayload();
    if (!Number.isInteger(this.minLen) || !Number.isInteger(this.maxLen) || this.minLen < TRAFFIC_MIN_FRAME || this.maxLen < this.minLen || this.maxLen > largest) {
      throw new RangeError(`traffic: frame lengths [${this.minLen}, ${this.maxLen}] are not within [${TRAFFIC_MIN_FRAME}, ${largest}]`);
    }
    if (!Number.isInteger(this.stream) || this.stream < 0 || this.stream > 0xffff) throw new RangeError(`traffic: stream ${this.stream} is not a u16`);
    if (!Number.isInteger(this.port) || this.port < 0 || this.port > 0xffff) throw new RangeError(`traffic: port ${this.port} is not a u16`);
    this.sock = udp.bind(opts.srcPort ?? 0);
    this.sock.noCheck = opts.noCheck ?? false;
    this.payload = this.sock.txPayload;
    this.pv = new DataView(this.payload.buffer, this.payload.byteOffset, this.payload.byteLength);
  }

  /** The frame length of sequence number `seq`. */
  frameLenOf(seq: number): number {
    const range = this.maxLen - this.minLen + 1;
    if (range === 1) return this.minLen;
    return this.minLen + Math.floor((mix(seq >>> 0, Math.floor(seq / TWO_32), this.seed) / TWO_32) * range);
  }

  /**
   * Sends up to n datagrams; returns how many the stack took. Stops at the first one refused
   * (the ring is full, or there is no route; the stack counts the drop); the next send() starts
   * with the same sequence number.
   */
  send(n: number): number {
    const p = this.payload;
    const v = this.pv;
    const stream = this.stream;
    let i = 0;
    for (; i < n; i++) {
      const seq = this.sent;
      const len = this.frameLenOf(seq) - TRAFFIC_OVERHEAD;
      const hi = Math.floor(seq / TWO_32);
      const lo = seq >>> 0;
      const h = headerMix(stream, hi, lo, len);
      v.setUint16(0, TRAFFIC_MAGIC, BE);
      v.setUint16(2, stream, BE);
      v.setUint32(4, hi, BE);
      v.setUint32(8, lo, BE);
      v.setUint16(12, len, BE);
      v.setUint16(14, h >>> 16, BE);
      const words = (len - TRAFFIC_HDR_LEN) >>> 2;
      let at = TRAFFIC_HDR_LEN;
      for (let j = 0; j < words; j++, at += 4) v.setUint32(at, patternWord(h, j), BE);
      for (let t = 0; at < len; t++, at++) p[at] = patternWord(h, words) >>> (24 - 8 * t);
      if (!this.sock.sendPrepared(len, this.dst, this.port)) break;
      this.sent++;
      this.bytes += len;
    }
    return i;
  }

  close(): void {
    this.sock.close();
  }
}

/** What a sink saw of one stream. Sequence numbers are exact up to 2^53. */
export interface StreamStats {
  /** Intact datagrams, duplicates and late ones included. */
  received: number;
  /** Their UDP payload bytes. */
  bytes: number;
  /** Sequence numbers up to the highest seen that never arrived (intact, within the window). */
  lost: number;
  /** Arrived again, within the window. */
  duplicates: number;
  /** Arrived for the first time after a higher sequence number. */
  reordered: number;
  /**
   * Arrived more than `window` behind the highest seen: too old to tell a duplicate from a late
   * first arrival, so counted only here (and still in `lost`).
   */
  late: number;
  /** Intact header, wrong length or payload: counted only here (and in `lost` if no good copy came). */
  corrupted: number;
  /** The highest sequence number seen (-1 before the first). */
  highest: number;
}

/** Per-stream state: counters and a bitmap of the last `window` sequence numbers (bit seq % window). */
class StreamState {
  received = 0;
  bytes = 0;
  unique = 0;
  duplicates = 0;
  reordered = 0;
  late = 0;
  corrupted = 0;
  highest = -1;
  readonly bits: Uint32Array;

  constructor(readonly window: number) {
    this.bits = new Uint32Array(window / 32);
  }

  /** Sequence numbers need not fit 32 bits: `seq & mask` takes them modulo 2^32 first, and window divides 2^32. */
  track(seq: number): void {
    const mask = this.window - 1;
    const bits = this.bits;
    const hi = this.highest;
    if (seq > hi) {
      // The window slides to (seq - window, seq]: slots of the skipped numbers hold bits of
      // numbers now out of it. Each slot is cleared once per pass, so this is O(1) amortized.
      if (seq - hi > this.window) bits.fill(0);
      else for (let s = hi + 1; s < seq; s++) bits[(s & mask) >>> 5] = (bits[(s & mask) >>> 5] as number) & ~(1 << (s & 31));
      bits[(seq & mask) >>> 5] = (bits[(seq & mask) >>> 5] as number) | (1 << (seq & 31));
      this.highest = seq;
      this.unique++;
    } else if (hi - seq < this.window) {
      const w = (seq & mask) >>> 5;
      const b = 1 << (seq & 31);
      if ((bits[w] as number) & b) this.duplicates++;
      else {
        bits[w] = (bits[w] as number) | b;
        this.unique++;
        this.reordered++;
      }
    } else this.late++;
  }

  snapshot(): StreamStats {
    return {
      received: this.received,
      bytes: this.bytes,
      lost: this.highest + 1 - this.unique,
      duplicates: this.duplicates,
      reordered: this.reordered,
      late: this.late,
      corrupted: this.corrupted,
      highest: this.highest,
    };
  }
}

export interface TrafficSinkOptions {
  /** Duplicate-detection window in sequence numbers: a power of two, 32..2^24 (default SEQ_WINDOW). */
  window?: number;
}

/** Receives TrafficGen datagrams on a port and counts them per stream. Streams must start at sequence 0. */
export class TrafficSink {
  readonly window: number;
  /** Datagrams that are not traffic packets, or whose header is damaged (so the stream is unknown). */
  malformed = 0;
  private readonly sock: UdpSocket;
  private readonly streams = new Map<number, StreamState>();
  private readonly views = new ViewCache();
  private lastId = -1;
  private last: StreamState | undefined;

  constructor(udp: Udp, port: number, opts: TrafficSinkOptions = {}) {
    this.window = opts.window ?? SEQ_WINDOW;
    const w = this.window;
    if (!Number.isInteger(w) || w < 32 || w > 2 ** 24 || (w & (w - 1)) !== 0) throw new RangeError(`traffic: window ${w} is not a power of two in [32, 2^24]`);
    this.sock = udp.bind(port, (buf, off, len) => this.rcv(buf, off, len));
  }

  get port(): number {
    return this.sock.port;
  }

  /** Stream ids seen, in order of first arrival. */
  streamIds(): number[] {
    return [...this.streams.keys()];
  }

  /** A snapshot of one stream (all zero, highest -1, if nothing of it arrived). */
  stream(id = 0): StreamStats {
    return (this.streams.get(id) ?? new StreamState(32)).snapshot();
  }

  close(): void {
    this.sock.close();
  }

  private rcv(buf: Uint8Array, off: number, len: number): void {
    const v = this.views.of(buf);
    if (len < TRAFFIC_HDR_LEN || v.getUint16(off, BE) !== TRAFFIC_MAGIC) {
      this.malformed++;
      return;
    }
    const id = v.getUint16(off + 2, BE);
    const hi = v.getUint32(off + 4, BE);
    const lo = v.getUint32(off + 8, BE);
    const plen = v.getUint16(off + 12, BE);
    const h = headerMix(id, hi, lo, plen);
    if (v.getUint16(off + 14, BE) !== h >>> 16) {
      this.malformed++;
      return;
    }
    let s = this.last;
    if (id !== this.lastId || s === undefined) {
      s = this.streams.get(id);
      if (s === undefined) {
        s = new StreamState(this.window);
        this.streams.set(id, s);
      }
      this.lastId = id;
      this.last = s;
    }
    let intact = plen === len;
    const words = (len - TRAFFIC_HDR_LEN) >>> 2;
    let at = off + TRAFFIC_HDR_LEN;
    for (let j = 0; intact && j < words; j++, at += 4) intact = v.getUint32(at, BE) === patternWord(h, j);
    for (let t = 0; intact && at < off + len; t++, at++) intact = buf[at] === ((patternWord(h, words) >>> (24 - 8 * t)) & 0xff);
    if (!intact) {
      s.corrupted++;
      return;
    }
    s.received++;
    s.bytes += len;
    s.track(hi * TWO_32 + lo);
  }
}
