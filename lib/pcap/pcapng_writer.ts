// The pcapng format (draft-ietf-opsawg-pcapng): a Section Header Block, one Interface
// Description Block per device queue, and Enhanced Packet Blocks carrying a comment
// (device, queue, direction, ASID) and the direction flags. Little-endian, nanosecond timestamps.

import type { ByteSink } from './sink.js';
import { LINKTYPE_ETHERNET } from './pcap_writer.js';

export const PCAPNG_SHB = 0x0a0d0d0a;
export const PCAPNG_IDB = 0x00000001;
export const PCAPNG_EPB = 0x00000006;
export const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;

export const OPT_ENDOFOPT = 0;
export const OPT_COMMENT = 1;
export const SHB_USERAPPL = 4;
export const IF_NAME = 2;
export const IF_DESCRIPTION = 3;
export const IF_TSRESOL = 9;
export const EPB_FLAGS = 2;

export type Direction = 'in' | 'out';
/** epb_flags bits 0-1: 01 inbound, 10 outbound. */
const DIRECTION_BITS: Record<Direction, number> = { in: 1, out: 2 };

const utf8 = new TextEncoder();
const pad4 = (n: number): number => (n + 3) & ~3;

interface Option {
  code: number;
  value: Uint8Array;
}

function optionsLength(opts: readonly Option[]): number {
  return opts.length === 0 ? 0 : opts.reduce((s, o) => s + 4 + pad4(o.value.length), 0) + 4;
}

function writeOptions(v: DataView, bytes: Uint8Array, at: number, opts: readonly Option[]): number {
  if (opts.length === 0) return at;
  for (const o of opts) {
    v.setUint16(at, o.code, true);
    v.setUint16(at + 2, o.value.length, true);
    bytes.set(o.value, at + 4);
    at += 4 + pad4(o.value.length);
  }
  v.setUint32(at, OPT_ENDOFOPT, true);
  return at + 4;
}

function block(type: number, body: number, opts: readonly Option[], fill: (v: DataView, b: Uint8Array) => void): Uint8Array {
  const total = 12 + body + optionsLength(opts);
  const b = new Uint8Array(total);
  const v = new DataView(b.buffer);
  v.setUint32(0, type, true);
  v.setUint32(4, total, true);
  fill(v, b);
  writeOptions(v, b, 8 + body, opts);
  v.setUint32(total - 4, total, true);
  return b;
}

export interface PcapngInterface {
  /** e.g. `vdpa0/q1`. */
  name: string;
  description?: string;
  snaplen?: number;
  linktype?: number;
}

export interface PacketMeta {
  timestampNs: bigint;
  direction?: Direction;
  comment?: string;
  origLen?: number;
}

export class PcapngWriter {
  private interfaces = 0;
  private readonly snaplens: number[] = [];
  private readonly hdr = new Uint8Array(28);
  private readonly hdrView = new DataView(this.hdr.buffer);
  private tail = new Uint8Array(256);
  private tailView = new DataView(this.tail.buffer);
  private readonly comments = new Map<string, Uint8Array>();

  constructor(
    private readonly sink: ByteSink,
    application = 'vdpa-model',
  ) {
    sink.write(
      block(PCAPNG_SHB, 16, [{ code: SHB_USERAPPL, value: utf8.encode(application) }], (v) => {
        v.setUint32(8, PCAPNG_BYTE_ORDER_MAGIC, true);
        v.setUint16(12, 1, true);
        v.setUint16(14, 0, true);
        v.setBigInt64(16, -1n, true);
      }),
    );
  }

  /** Declares an interface (IDB) and returns its id. */
  addInterface(iface: PcapngInterface): number {
    const opts: Option[] = [{ code: IF_NAME, value: utf8.encode(iface.name) }];
    if (iface.description) opts.push({ code: IF_DESCRIPTION, value: utf8.encode(iface.description) });
    opts.push({ code: IF_TSRESOL, value: Uint8Array.of(9) });
    const snaplen = iface.snaplen ?? 262144;
    this.sink.write(
      block(PCAPNG_IDB, 8, opts, (v) => {
        v.setUint16(8, iface.linktype ?? LINKTYPE_ETHERNET, true);
        v.setUint32(12, snaplen, true);
      }),
    );
    this.snaplens.push(snaplen);
    return this.interfaces++;
  }

  /** Writes one packet (EPB) on interface `id`. Repeated comments are encoded once. */
  writePacket(id: number, data: Uint8Array, meta: PacketMeta): void {
    const snaplen = this.snaplens[id];
    if (snaplen === undefined) throw new RangeError(`pcapng: no interface ${id}`);
    const captured = Math.min(data.length, snaplen);
    const comment = meta.comment === undefined ? undefined : this.encoded(meta.comment);
    const optLen =
      (comment ? 4 + pad4(comment.length) : 0) + (meta.direction ? 8 : 0) + (comment || meta.direction ? 4 : 0);
    const padded = pad4(captured);
    const total = 32 + padded + optLen;
    const v = this.hdrView;
    v.setUint32(0, PCAPNG_EPB, true);
    v.setUint32(4, total, true);
    v.setUint32(8, id, true);
    v.setUint32(12, Number(meta.timestampNs >> 32n), true);
    v.setUint32(16, Number(meta.timestampNs & 0xffffffffn), true);
    v.setUint32(20, captured, true);
    v.setUint32(24, meta.origLen ?? data.length, true);
    this.sink.write(this.hdr);
    this.sink.write(captured === data.length ? data : data.subarray(0, captured));
    // Padding, options and the trailing length, built in a reused buffer.
    const tailLen = padded - captured + optLen + 4;
    if (this.tail.length < tailLen) {
      this.tail = new Uint8Array(tailLen * 2);
      this.tailView = new DataView(this.tail.buffer);
    }
    const t = this.tail;
    const tv = this.tailView;
    t.fill(0, 0, tailLen);
    let at = padded - captured;
    if (comment) {
      tv.setUint16(at, OPT_COMMENT, true);
      tv.setUint16(at + 2, comment.length, true);
      t.set(comment, at + 4);
      at += 4 + pad4(comment.length);
    }
    if (meta.direction) {
      tv.setUint16(at, EPB_FLAGS, true);
      tv.setUint16(at + 2, 4, true);
      tv.setUint32(at + 4, DIRECTION_BITS[meta.direction], true);
      at += 8;
    }
    if (comment || meta.direction) at += 4; // opt_endofopt (zeros)
    tv.setUint32(at, total, true);
    this.sink.write(t.subarray(0, tailLen));
  }

  private encoded(comment: string): Uint8Array {
    let e = this.comments.get(comment);
    if (!e) {
      if (this.comments.size > 1024) this.comments.clear();
      e = utf8.encode(comment);
      this.comments.set(comment, e);
    }
    return e;
  }

  close(): void {
    this.sink.close();
  }
}
