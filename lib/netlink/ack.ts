// Models: netlink_ack() of net/netlink/af_netlink.c: the NLMSG_ERROR reply (error 0 is an ACK)
// with the request's header, its payload unless NETLINK_CAP_ACK (then NLM_F_CAPPED), and the
// extended ACK TLVs when NETLINK_EXT_ACK is on (NLM_F_ACK_TLVS): the message string (also on
// success, as a warning) and, for errors, the offset of the offending attribute.

import {
  NLMSG_ERROR,
  NLMSG_HDRLEN,
  NLMSGERR_ATTR_MSG,
  NLMSGERR_ATTR_OFFS,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
} from '../../uapi/index.js';
import { dataView } from '../../uapi/layout.js';
import { NlAttrs, type NlMsg, NetlinkParseError } from './parser.js';
import { NlMsgWriter } from './writer.js';

/** struct netlink_ext_ack, the parts a reply carries. */
export interface ExtAck {
  msg?: string;
  /** Offset of the offending attribute from the start of the request message. */
  badAttrOffset?: number;
}

export interface AckOptions {
  /** NETLINK_CAP_ACK set on the requesting socket. */
  capAck: boolean;
  /** NETLINK_EXT_ACK set on the requesting socket. */
  extAck: boolean;
  /** Port id of the receiver. */
  pid?: number;
}

/** Builds the NLMSG_ERROR reply to `req` for `err` (0 or -errno). */
export function buildAck(req: NlMsg, err: number, ext: ExtAck, opts: AckOptions): Uint8Array {
  const capped = err === 0 || opts.capAck;
  const tlvMsg = opts.extAck && ext.msg !== undefined;
  const tlvOffs = opts.extAck && err !== 0 && ext.badAttrOffset !== undefined;
  const flags = (capped ? NLM_F_CAPPED : 0) | (tlvMsg || tlvOffs ? NLM_F_ACK_TLVS : 0);
  const w = new NlMsgWriter(64 + (capped ? NLMSG_HDRLEN : req.bytes.length));
  w.beginMsg(NLMSG_ERROR, flags, req.seq, opts.pid ?? req.pid);
  const errBytes = new Uint8Array(4);
  dataView(errBytes).setInt32(0, err, true);
  w.raw(errBytes);
  w.raw(capped ? req.bytes.subarray(0, NLMSG_HDRLEN) : req.bytes);
  if (tlvMsg) w.putString(NLMSGERR_ATTR_MSG, ext.msg as string);
  if (tlvOffs) w.putU32(NLMSGERR_ATTR_OFFS, ext.badAttrOffset as number);
  return w.endMsg().finish();
}

export interface AckInfo {
  /** 0 for an ACK, else -errno. */
  error: number;
  capped: boolean;
  /** The echoed request header fields. */
  request: { type: number; flags: number; seq: number; pid: number };
  msg?: string;
  offs?: number;
}

/** Reads an NLMSG_ERROR message. */
export function parseAck(msg: NlMsg): AckInfo {
  if (msg.type !== NLMSG_ERROR) throw new NetlinkParseError(`netlink: type ${msg.type} is not NLMSG_ERROR`);
  if (msg.payload.length < 4 + NLMSG_HDRLEN) throw new NetlinkParseError('netlink: NLMSG_ERROR too short');
  const v = dataView(msg.payload);
  const capped = (msg.flags & NLM_F_CAPPED) !== 0;
  const info: AckInfo = {
    error: v.getInt32(0, true),
    capped,
    request: {
      type: v.getUint16(8, true),
      flags: v.getUint16(10, true),
      seq: v.getUint32(12, true),
      pid: v.getUint32(16, true),
    },
  };
  if (msg.flags & NLM_F_ACK_TLVS) {
    const echoed = capped ? NLMSG_HDRLEN : v.getUint32(4, true);
    const tlvs = NlAttrs.parse(msg.payload, 4 + ((echoed + 3) & ~3));
    const text = tlvs.string(NLMSGERR_ATTR_MSG);
    const offs = tlvs.u32(NLMSGERR_ATTR_OFFS);
    if (text !== undefined) info.msg = text;
    if (offs !== undefined) info.offs = offs;
  }
  return info;
}
