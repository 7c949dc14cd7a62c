// The classic libpcap file format (pcap-savefile(5)): a 24-byte global header, then a 16-byte
// record header before each packet. Little-endian, microsecond or nanosecond timestamps.

import type { ByteSink } from './sink.js';

export const PCAP_MAGIC_USEC = 0xa1b2c3d4;
export const PCAP_MAGIC_NSEC = 0xa1b23c4d;
export const LINKTYPE_ETHERNET = 1;

export interface PcapOptions {
  snaplen?: number;
  linktype?: number;
  /** Nanosecond timestamps (magic 0xa1b23c4d). Default microseconds. */
  nanosecond?: boolean;
}

export class PcapWriter {
  readonly snaplen: number;
  private readonly nanosecond: boolean;
  private readonly rec = new Uint8Array(16);
  private readonly recView = new DataView(this.rec.buffer);

  constructor(
    private readonly sink: ByteSink,
    opts: PcapOptions = {},
  ) {
    this.snaplen = opts.snaplen ?? 262144;
    this.nanosecond = opts.nanosecond ?? false;
    const hdr = new Uint8Array(24);
    const v = new DataView(hdr.buffer);
    v.setUint32(0, this.nanosecond ? PCAP_MAGIC_NSEC : PCAP_MAGIC_USEC, true);
    v.setUint16(4, 2, true);
    v.setUint16(6, 4, true);
    v.setUint32(16, this.snaplen, true);
    v.setUint32(20, opts.linktype ?? LINKTYPE_ETHERNET, true);
    sink.write(hdr);
  }

  /** Writes one packet, truncated to the snap length; the timestamp is in nanoseconds. */
  writePacket(data: Uint8Array, timestampNs: bigint, origLen = data.length): void {
    const captured = Math.min(data.length, this.snaplen);
    const sec = timestampNs / 1_000_000_000n;
    const frac = timestampNs % 1_000_000_000n;
    this.recView.setUint32(0, Number(sec & 0xffffffffn), true);
    this.recView.setUint32(4, Number(this.nanosecond ? frac : frac / 1000n), true);
    this.recView.setUint32(8, captured, true);
    this.recView.setUint32(12, origLen, true);
    this.sink.write(this.rec);
    this.sink.write(captured === data.length ? data : data.subarray(0, captured));
  }

  close(): void {
    this.sink.close();
  }
}
