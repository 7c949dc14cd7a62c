// Byte-level pieces every protocol of the guest stack shares: the Internet checksum, IPv4
// addresses as u32 and the protocol numbers.
// Models: RFC 1071 (the checksum, including deferred carries), RFC 768 (the pseudo-header sum),
// include/uapi/linux/in.h and if_ether.h (the numbers).

export { ETH_HLEN, ETH_P_ARP, ETH_P_IP } from '../../../lib/net/index.js';

/** DataView's littleEndian argument for network byte order: every wire access passes it. */
export const BE = false;

export const IPPROTO_ICMP = 1;
export const IPPROTO_UDP = 17;
export const INADDR_BROADCAST = 0xffffffff;

/** DataViews of the two buffers checksummed last (guest RAM and a stack's frame alternate). */
let bufA: Uint8Array | undefined;
let viewA: DataView = new DataView(new ArrayBuffer(0));
let bufB: Uint8Array | undefined;
let viewB: DataView = viewA;

function viewOf(buf: Uint8Array): DataView {
  if (buf === bufA) return viewA;
  if (buf !== bufB) {
    bufB = buf;
    viewB = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  // Most recent first.
  [bufA, bufB] = [bufB, bufA];
  [viewA, viewB] = [viewB, viewA];
  return viewA;
}

/**
 * The Internet checksum of buf[off, off + len): the one's complement of the one's complement sum
 * of its big-endian 16-bit words (an odd last byte counts as a word with a zero low byte), with
 * `sum`, a partial sum below 2^31 such as pseudoHeaderSum(), added in. This is the value that
 * goes into a checksum field; over data that already carries a correct checksum it is 0.
 */
export function inetChecksum(buf: Uint8Array, off: number, len: number, sum = 0): number {
  const v = viewOf(buf);
  // 32-bit words: since 2^16 = 1 (mod 2^16 - 1), summing them and folding at the end gives the
  // 16-bit one's complement sum (RFC 1071 §2(B), "parallel summation"). The float accumulator
  // is exact for any packet (2^32 * 2^16 words < 2^53).
  const end = off + (len & ~3);
  let acc = sum;
  let i = off;
  for (; i < end; i += 4) acc += v.getUint32(i, BE);
  if (len & 2) {
    acc += v.getUint16(i, BE);
    i += 2;
  }
  if (len & 1) acc += (buf[i] as number) << 8;
  // Folding: acc - hi * 2^16 is acc % 2^16, exactly (both below 2^53), without the float modulo
  // that V8 compiles to a call to fmod() (half of a 20-byte header's checksum time, bench tap.rx).
  while (acc > 0xffff) {
    const hi = Math.floor(acc / 0x10000);
    acc = acc - hi * 0x10000 + hi;
  }
  return ~acc & 0xffff;
}

/** The unfolded sum of the UDP/TCP pseudo-header (source, destination, protocol, length). */
export function pseudoHeaderSum(saddr: number, daddr: number, proto: number, len: number): number {
  return (saddr >>> 16) + (saddr & 0xffff) + (daddr >>> 16) + (daddr & 0xffff) + proto + len;
}

/**
 * Copies src[srcOff, srcOff + len) to dst[dstOff]. A loop rather than set(subarray()): the
 * receive and echo paths call it per packet and a subarray is an allocation.
 */
export function copyBytes(dst: Uint8Array, dstOff: number, src: Uint8Array, srcOff: number, len: number): void {
  for (let i = 0; i < len; i++) dst[dstOff + i] = src[srcOff + i] as number;
}

const DOTTED_QUAD = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;

/** `'10.0.0.1'` to 0x0a000001. Strict dotted quad, as inet_pton(): no leading zeros, no short forms. */
export function parseIpv4(str: string): number {
  const m = DOTTED_QUAD.exec(str);
  let addr = 0;
  for (let i = 1; m && i <= 4; i++) {
    const octet = Number(m[i]);
    if (octet > 255) break;
    addr = addr * 256 + octet;
    if (i === 4) return addr;
  }
  throw new RangeError(`parseIpv4: '${str}' is not a dotted-quad IPv4 address`);
}

/** 0x0a000001 to `'10.0.0.1'`. */
export function formatIpv4(addr: number): string {
  return `${addr >>> 24}.${(addr >>> 16) & 0xff}.${(addr >>> 8) & 0xff}.${addr & 0xff}`;
}

/** An address given either way, as a u32; RangeError for anything else. */
export function toIpv4(addr: number | string): number {
  if (typeof addr === 'string') return parseIpv4(addr);
  if (!Number.isInteger(addr) || addr < 0 || addr > 0xffffffff) throw new RangeError(`IPv4 address ${addr} is not a u32`);
  return addr;
}
