// Reads pcap and pcapng files back (both byte orders for pcap; little-endian pcapng), so tests
// can check captures without tshark.

import { PCAP_MAGIC_NSEC, PCAP_MAGIC_USEC } from './pcap_writer.js';
import { EPB_FLAGS, IF_DESCRIPTION, IF_NAME, IF_TSRESOL, OPT_COMMENT, PCAPNG_BYTE_ORDER_MAGIC, PCAPNG_EPB, PCAPNG_IDB, PCAPNG_SHB } from './pcapng_writer.js';

export class CaptureFormatError extends Error {
  override readonly name = 'CaptureFormatError';
}

export interface CapturedPacket {
  /** Nanoseconds since the epoch. */
  timestampNs: bigint;
  data: Uint8Array;
  origLen: number;
  interfaceId: number;
  comment?: string;
  /** pcapng epb_flags. */
  flags?: number;
}

export interface CaptureInterface {
  linktype: number;
  snaplen: number;
  name?: string;
  description?: string;
}

export interface Capture {
  format: 'pcap' | 'pcapng';
  interfaces: CaptureInterface[];
  packets: CapturedPacket[];
}

const utf8 = new TextDecoder();

function need(b: Uint8Array, at: number, n: number, what: string): void {
  if (at + n > b.length) throw new CaptureFormatError(`${what}: needs ${n} bytes at ${at}, file has ${b.length}`);
}

function readPcap(b: Uint8Array): Capture {
  need(b, 0, 24, 'pcap header');
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const magicLe = v.getUint32(0, true);
  const le = magicLe === PCAP_MAGIC_USEC || magicLe === PCAP_MAGIC_NSEC;
  const magic = v.getUint32(0, le);
  const nano = magic === PCAP_MAGIC_NSEC;
  const iface: CaptureInterface = { snaplen: v.getUint32(16, le), linktype: v.getUint32(20, le) };
  const packets: CapturedPacket[] = [];
  for (let at = 24; at < b.length; ) {
    need(b, at, 16, 'pcap record header');
    const sec = BigInt(v.getUint32(at, le));
    const frac = BigInt(v.getUint32(at + 4, le));
    const incl = v.getUint32(at + 8, le);
    need(b, at + 16, incl, 'pcap record');
    packets.push({
      timestampNs: sec * 1_000_000_000n + (nano ? frac : frac * 1000n),
      data: b.subarray(at + 16, at + 16 + incl),
      origLen: v.getUint32(at + 12, le),
      interfaceId: 0,
    });
    at += 16 + incl;
  }
  return { format: 'pcap', interfaces: [iface], packets };
}

function options(v: DataView, b: Uint8Array, at: number, end: number): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  while (at + 4 <= end) {
    const code = v.getUint16(at, true);
    const len = v.getUint16(at + 2, true);
    if (code === 0) break;
    need(b, at + 4, len, 'pcapng option');
    out.set(code, b.subarray(at + 4, at + 4 + len));
    at += 4 + ((len + 3) & ~3);
  }
  return out;
}

function readPcapng(b: Uint8Array): Capture {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const interfaces: (CaptureInterface & { tsresol: number })[] = [];
  const packets: CapturedPacket[] = [];
  for (let at = 0; at < b.length; ) {
    need(b, at, 12, 'pcapng block header');
    const type = v.getUint32(at, true);
    const total = v.getUint32(at + 4, true);
    if (total < 12 || total % 4 !== 0) throw new CaptureFormatError(`pcapng: block at ${at} has length ${total}`);
    need(b, at, total, 'pcapng block');
    if (v.getUint32(at + total - 4, true) !== total) throw new CaptureFormatError(`pcapng: block at ${at} has mismatched trailing length`);
    if (type === PCAPNG_SHB) {
      if (v.getUint32(at + 8, true) !== PCAPNG_BYTE_ORDER_MAGIC) throw new CaptureFormatError('pcapng: only little-endian sections are read');
    } else if (type === PCAPNG_IDB) {
      const opts = options(v, b, at + 16, at + total - 4);
      const res = opts.get(IF_TSRESOL)?.[0] ?? 6;
      const name = opts.get(IF_NAME);
      const desc = opts.get(IF_DESCRIPTION);
      interfaces.push({
        linktype: v.getUint16(at + 8, true),
        snaplen: v.getUint32(at + 12, true),
        tsresol: res,
        ...(name ? { name: utf8.decode(name) } : {}),
        ...(desc ? { description: utf8.decode(desc) } : {}),
      });
    } else if (type === PCAPNG_EPB) {
      const id = v.getUint32(at + 8, true);
      const iface = interfaces[id];
      if (!iface) throw new CaptureFormatError(`pcapng: packet on undeclared interface ${id}`);
      const ts = (BigInt(v.getUint32(at + 12, true)) << 32n) | BigInt(v.getUint32(at + 16, true));
      const captured = v.getUint32(at + 20, true);
      need(b, at + 28, captured, 'pcapng packet data');
      const opts = options(v, b, at + 28 + ((captured + 3) & ~3), at + total - 4);
      const comment = opts.get(OPT_COMMENT);
      const flags = opts.get(EPB_FLAGS);
      // if_tsresol 9 means nanoseconds; 6 (the default) microseconds.
      const scale = 10n ** BigInt(9 - (iface.tsresol & 0x7f));
      packets.push({
        timestampNs: ts * scale,
        data: b.subarray(at + 28, at + 28 + captured),
        origLen: v.getUint32(at + 24, true),
        interfaceId: id,
        ...(comment ? { comment: utf8.decode(comment) } : {}),
        ...(flags && flags.length >= 4 ? { flags: new DataView(flags.buffer, flags.byteOffset, 4).getUint32(0, true) } : {}),
      });
    }
    at += total;
  }
  return { format: 'pcapng', interfaces: interfaces.map(({ tsresol: _tsresol, ...i }) => i), packets };
}

/** Reads a pcap or pcapng capture. */
export function readCapture(bytes: Uint8Array): Capture {
  need(bytes, 0, 4, 'capture');
  const first = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);
  if (first === PCAPNG_SHB) return readPcapng(bytes);
  if ([PCAP_MAGIC_USEC, PCAP_MAGIC_NSEC].includes(first) || [PCAP_MAGIC_USEC, PCAP_MAGIC_NSEC].includes(new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, false))) {
    return readPcap(bytes);
  }
  throw new CaptureFormatError(`not a pcap or pcapng file (magic 0x${first.toString(16)})`);
}
