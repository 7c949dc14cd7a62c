// Models: iproute2's lib/mnl_utils.c generic-netlink socket (mnlu_gen_socket_open /
// _cmd_prepare / _sndrcv) with libnetlink.c's extended-ACK printing: the family is resolved
// through nlctrl; replies go to a callback; an error prints "Error: <extack>." (a period added
// when missing) and then "kernel answers: <strerror>".
// Deviations: the socket is a transport function (in-process or through the simulated host's
// daemon); NETLINK_EXT_ACK and NETLINK_CAP_ACK are always on, as mnlu sets them.

import {
  CTRL_ATTR_FAMILY_ID,
  CTRL_ATTR_FAMILY_NAME,
  CTRL_CMD_GETFAMILY,
  GENL_ID_CTRL,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSGERR_ATTR_MSG,
  NLM_F_ACK,
  NLM_F_ACK_TLVS,
  NLM_F_REQUEST,
  dataView,
  strerror,
} from '../../../uapi/index.js';
import { type NlMsg, NlAttrs, NlMsgWriter, parseAck, parseMessages } from '../../../lib/netlink/index.js';

/** Sends one request (a whole datagram) and returns the datagrams received in answer. */
export type GenlTransport = (request: Uint8Array) => Uint8Array[];

export type ReplyCallback = (msg: NlMsg, attrs: NlAttrs) => void;

export class MnluGenSocket {
  private seq = 1;

  private constructor(
    private readonly transport: GenlTransport,
    private readonly familyId: number,
    private readonly version: number,
    private readonly err: (s: string) => void,
  ) {}

  /** mnlu_gen_socket_open(): undefined when the family cannot be resolved. */
  static open(transport: GenlTransport, name: string, version: number, err: (s: string) => void): MnluGenSocket | undefined {
    const w = new NlMsgWriter();
    w.beginMsg(GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK, 0).genl(CTRL_CMD_GETFAMILY, 1).putString(CTRL_ATTR_FAMILY_NAME, name).endMsg();
    for (const dg of transport(w.finish())) {
      for (const m of parseMessages(dg)) {
        if (m.type !== GENL_ID_CTRL) continue;
        const id = NlAttrs.ofGenl(m).u16(CTRL_ATTR_FAMILY_ID);
        if (id !== undefined) return new MnluGenSocket(transport, id, version, err);
      }
    }
    return undefined;
  }

  /** mnlu_gen_socket_cmd_prepare(): a request with the genl header; attributes follow. */
  prepare(cmd: number, flags: number): NlMsgWriter {
    const w = new NlMsgWriter();
    w.beginMsg(this.familyId, flags, this.seq++).genl(cmd, this.version);
    return w;
  }

  /** nl_dump_ext_ack(): prints the extack text; true if it was an error with a message. */
  private dumpExtAck(msg: string | undefined, isErr: boolean): boolean {
    if (!msg) return false;
    this.err(`${isErr ? 'Error' : 'Warning'}: ${msg}${msg.endsWith('.') ? '' : '.'}\n`);
    return isErr;
  }

  /**
   * mnlu_gen_socket_sndrcv(): 0, or -errno after printing the kernel's answer. `cb` sees each
   * reply message.
   */
  sndrcv(w: NlMsgWriter, cb?: ReplyCallback): number {
    const replies = this.transport(w.endMsg().finish());
    for (const dg of replies) {
      for (const m of parseMessages(dg)) {
        if (m.type === NLMSG_ERROR) {
          const ack = parseAck(m);
          if (ack.error === 0) {
            this.dumpExtAck(ack.msg, false);
            return 0;
          }
          this.dumpExtAck(ack.msg, true);
          return this.answer(-Math.abs(ack.error));
        }
        if (m.type === NLMSG_DONE) {
          const len = dataView(m.payload).getInt32(0, true);
          if (len < 0) {
            if (m.flags & NLM_F_ACK_TLVS) this.dumpExtAck(NlAttrs.parse(m.payload, 4).string(NLMSGERR_ATTR_MSG), true);
            return this.answer(len);
          }
          return 0;
        }
        cb?.(m, NlAttrs.ofGenl(m));
      }
    }
    return 0;
  }

  private answer(err: number): number {
    this.err(`kernel answers: ${strerror(-err)}\n`);
    return err;
  }
}
