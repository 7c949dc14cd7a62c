// Builds netlink messages: nlmsghdr, an optional genlmsghdr, and attributes (nla_put_*), with
// nesting. Models the nlmsg_put/nla_put family of include/net/netlink.h (and libmnl's builders,
// which iproute2 uses), writing into one growable buffer.

import { GENL_HDRLEN, NLA_F_NESTED, NLA_HDRLEN, NLMSG_HDRLEN } from '../../uapi/index.js';
import { NLA_ALIGN, NLMSG_ALIGN } from './align.js';

const utf8 = new TextEncoder();

export class NlMsgWriter {
  private buf: Uint8Array;
  private view: DataView;
  private len = 0;
  private msgStart = -1;

  constructor(initial = 512) {
    this.buf = new Uint8Array(initial);
    this.view = new DataView(this.buf.buffer);
  }

  private reserve(n: number): number {
    const at = this.len;
    if (at + n > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, at + n));
      next.set(this.buf.subarray(0, this.len));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    this.buf.fill(0, at, at + n);
    this.len += n;
    return at;
  }

  /** Starts a message (nlmsg_put); close it with endMsg(). */
  beginMsg(type: number, flags: number, seq = 0, pid = 0): this {
    if (this.msgStart !== -1) throw new Error('netlink writer: previous message not ended');
    this.msgStart = this.reserve(NLMSG_HDRLEN);
    this.view.setUint16(this.msgStart + 4, type, true);
    this.view.setUint16(this.msgStart + 6, flags, true);
    this.view.setUint32(this.msgStart + 8, seq >>> 0, true);
    this.view.setUint32(this.msgStart + 12, pid >>> 0, true);
    return this;
  }

  /** Appends a generic netlink header (genlmsg_put). */
  genl(cmd: number, version: number): this {
    const at = this.reserve(GENL_HDRLEN);
    this.buf[at] = cmd;
    this.buf[at + 1] = version;
    return this;
  }

  /** Appends raw payload bytes, padded to 4. */
  raw(bytes: Uint8Array): this {
    const at = this.reserve(NLMSG_ALIGN(bytes.length));
    this.buf.set(bytes, at);
    return this;
  }

  /** Drops the message being written (nlmsg_cancel / genlmsg_cancel). */
  cancelMsg(): this {
    if (this.msgStart === -1) throw new Error('netlink writer: no message to cancel');
    this.len = this.msgStart;
    this.msgStart = -1;
    return this;
  }

  /** Bytes written so far. */
  get length(): number {
    return this.len;
  }

  /** Sets nlmsg_len of the current message and ends it. */
  endMsg(): this {
    if (this.msgStart === -1) throw new Error('netlink writer: no message to end');
    this.view.setUint32(this.msgStart, this.len - this.msgStart, true);
    this.msgStart = -1;
    return this;
  }

  /** nla_put(): an attribute with `data` as payload. */
  put(type: number, data: Uint8Array): this {
    const at = this.reserve(NLA_ALIGN(NLA_HDRLEN + data.length));
    this.view.setUint16(at, NLA_HDRLEN + data.length, true);
    this.view.setUint16(at + 2, type, true);
    this.buf.set(data, at + NLA_HDRLEN);
    return this;
  }

  private putScalar(type: number, size: number, write: (v: DataView, at: number) => void): this {
    const at = this.reserve(NLA_ALIGN(NLA_HDRLEN + size));
    this.view.setUint16(at, NLA_HDRLEN + size, true);
    this.view.setUint16(at + 2, type, true);
    write(this.view, at + NLA_HDRLEN);
    return this;
  }

  putU8(type: number, v: number): this {
    return this.putScalar(type, 1, (d, at) => d.setUint8(at, v));
  }

  putU16(type: number, v: number): this {
    return this.putScalar(type, 2, (d, at) => d.setUint16(at, v, true));
  }

  putU32(type: number, v: number): this {
    return this.putScalar(type, 4, (d, at) => d.setUint32(at, v >>> 0, true));
  }

  putU64(type: number, v: bigint): this {
    return this.putScalar(type, 8, (d, at) => d.setBigUint64(at, BigInt.asUintN(64, v), true));
  }

  /** nla_put_string(): NUL-terminated. */
  putString(type: number, s: string): this {
    const bytes = utf8.encode(s);
    const z = new Uint8Array(bytes.length + 1);
    z.set(bytes);
    return this.put(type, z);
  }

  /** nla_put_flag(): an attribute with no payload. */
  putFlag(type: number): this {
    return this.put(type, new Uint8Array(0));
  }

  /** nla_nest_start(); `flag` sets NLA_F_NESTED (the kernel's default, not iproute2's). */
  beginNested(type: number, flag = true): number {
    const at = this.reserve(NLA_HDRLEN);
    this.view.setUint16(at + 2, flag ? type | NLA_F_NESTED : type, true);
    return at;
  }

  /** nla_nest_end(). */
  endNested(token: number): this {
    this.view.setUint16(token, this.len - token, true);
    return this;
  }

  /** The messages written so far (a copy). */
  finish(): Uint8Array {
    if (this.msgStart !== -1) throw new Error('netlink writer: message not ended');
    return this.buf.slice(0, this.len);
  }
}
