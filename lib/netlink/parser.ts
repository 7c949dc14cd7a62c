// Reads netlink messages and attributes (nlmsg_ok/nlmsg_next and nla_for_each_attr of the
// kernel and libmnl), rejecting malformed lengths instead of reading past the buffer.

import { GENL_HDRLEN, NLA_F_NESTED, NLA_HDRLEN, NLA_TYPE_MASK, NLMSG_HDRLEN } from '../../uapi/index.js';
import { dataView } from '../../uapi/layout.js';
import { NLA_ALIGN, NLMSG_ALIGN } from './align.js';

export class NetlinkParseError extends Error {
  override readonly name = 'NetlinkParseError';
}

export interface NlMsg {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** The whole message, header included. */
  bytes: Uint8Array;
  /** Everything after the nlmsghdr. */
  payload: Uint8Array;
}

/** Splits a buffer into messages; throws NetlinkParseError on a bad nlmsg_len. */
export function parseMessages(buf: Uint8Array): NlMsg[] {
  const v = dataView(buf);
  const out: NlMsg[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const len = v.getUint32(off, true);
    if (len < NLMSG_HDRLEN || off + len > buf.length) {
      throw new NetlinkParseError(`netlink: message at ${off} has nlmsg_len ${len}, ${buf.length - off} bytes remain`);
    }
    out.push({
      type: v.getUint16(off + 4, true),
      flags: v.getUint16(off + 6, true),
      seq: v.getUint32(off + 8, true),
      pid: v.getUint32(off + 12, true),
      bytes: buf.subarray(off, off + len),
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += NLMSG_ALIGN(len);
  }
  if (off < buf.length) {
    throw new NetlinkParseError(`netlink: ${buf.length - off} trailing bytes do not hold a message header`);
  }
  return out;
}

export interface NlAttr {
  /** Type without the NLA_F_* flags. */
  type: number;
  nested: boolean;
  payload: Uint8Array;
  /** Offset of the attribute header within the buffer parsed. */
  offset: number;
}

const utf8 = new TextDecoder();

/** Attributes of one level, in order, with typed getters. */
export class NlAttrs {
  readonly list: NlAttr[];

  constructor(list: NlAttr[]) {
    this.list = list;
  }

  /** Parses attributes from `buf` starting at `offset`; throws on a bad nla_len. */
  static parse(buf: Uint8Array, offset = 0): NlAttrs {
    const { attrs, leftover, at } = NlAttrs.parsePrefix(buf, offset);
    if (leftover >= NLA_HDRLEN) {
      const len = dataView(buf).getUint16(at, true);
      throw new NetlinkParseError(`netlink: attribute at ${at} has nla_len ${len}, ${leftover} bytes remain`);
    }
    return attrs;
  }

  /**
   * The well-formed attributes from `offset` up to the first malformed one (nla_for_each_attr
   * stops there), and how many bytes were left over from `at` on.
   */
  static parsePrefix(buf: Uint8Array, offset = 0): { attrs: NlAttrs; leftover: number; at: number } {
    const v = dataView(buf);
    const list: NlAttr[] = [];
    let off = offset;
    while (off + NLA_HDRLEN <= buf.length) {
      const len = v.getUint16(off, true);
      const rawType = v.getUint16(off + 2, true);
      if (len < NLA_HDRLEN || off + len > buf.length) break;
      list.push({
        type: rawType & NLA_TYPE_MASK,
        nested: (rawType & NLA_F_NESTED) !== 0,
        payload: buf.subarray(off + NLA_HDRLEN, off + len),
        offset: off,
      });
      off += NLA_ALIGN(len);
    }
    return { attrs: new NlAttrs(list), leftover: Math.max(0, buf.length - off), at: off };
  }

  /** The attributes of a generic netlink message's payload (after its genlmsghdr). */
  static ofGenl(msg: NlMsg): NlAttrs {
    if (msg.payload.length < GENL_HDRLEN) throw new NetlinkParseError('netlink: message too short for a genlmsghdr');
    return NlAttrs.parse(msg.payload, GENL_HDRLEN);
  }

  has(type: number): boolean {
    return this.list.some((a) => a.type === type);
  }

  /** The first attribute of a type. */
  get(type: number): NlAttr | undefined {
    return this.list.find((a) => a.type === type);
  }

  private scalar(type: number, size: number): DataView | undefined {
    const a = this.get(type);
    if (!a) return undefined;
    if (a.payload.length < size) throw new NetlinkParseError(`netlink: attribute ${type} holds ${a.payload.length} bytes, needs ${size}`);
    return dataView(a.payload);
  }

  u8(type: number): number | undefined {
    return this.scalar(type, 1)?.getUint8(0);
  }

  u16(type: number): number | undefined {
    return this.scalar(type, 2)?.getUint16(0, true);
  }

  u32(type: number): number | undefined {
    return this.scalar(type, 4)?.getUint32(0, true);
  }

  u64(type: number): bigint | undefined {
    return this.scalar(type, 8)?.getBigUint64(0, true);
  }

  /** A NUL-terminated string attribute (without its NUL). */
  string(type: number): string | undefined {
    const a = this.get(type);
    if (!a) return undefined;
    const nul = a.payload.indexOf(0);
    return utf8.decode(nul < 0 ? a.payload : a.payload.subarray(0, nul));
  }

  binary(type: number): Uint8Array | undefined {
    return this.get(type)?.payload;
  }

  nested(type: number): NlAttrs | undefined {
    const a = this.get(type);
    return a ? NlAttrs.parse(a.payload) : undefined;
  }
}
