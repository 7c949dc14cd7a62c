// Models: net/netlink/genetlink.c and the request loop of af_netlink.c (netlink_rcv_skb): family
// registration with dynamic ids, the nlctrl family (CTRL_CMD_GETFAMILY, do and dump), and the
// dispatch of a request: family lookup (ENOENT), command lookup (EOPNOTSUPP), GENL_ADMIN_PERM
// (EPERM), attribute parsing against the family policy (liberal below resv_start_op, strict
// from it), doit with replies then the ACK, or dumpit with NLM_F_MULTI parts and NLMSG_DONE.
// Deviations: a dump is produced in one pass (no resumption across 32 KiB skbs); no multicast
// groups, no CTRL_CMD_GETPOLICY; one network namespace.

import {
  CTRL_ATTR_FAMILY_ID,
  CTRL_ATTR_FAMILY_NAME,
  CTRL_ATTR_HDRSIZE,
  CTRL_ATTR_MAXATTR,
  CTRL_ATTR_OP_FLAGS,
  CTRL_ATTR_OP_ID,
  CTRL_ATTR_OPS,
  CTRL_ATTR_VERSION,
  CTRL_CMD_GETFAMILY,
  CTRL_CMD_NEWFAMILY,
  EEXIST,
  EINTR,
  EINVAL,
  ENOENT,
  EOPNOTSUPP,
  EPERM,
  GENL_ADMIN_PERM,
  GENL_CMD_CAP_DO,
  GENL_CMD_CAP_DUMP,
  GENL_CMD_CAP_HASPOL,
  GENL_HDRLEN,
  GENL_ID_CTRL,
  GENL_MAX_ID,
  GENL_NAMSIZ,
  GENL_START_ALLOC,
  NLMSG_DONE,
  NLMSG_HDRLEN,
  NLMSG_MIN_TYPE,
  NLM_F_ACK,
  NLM_F_ACK_TLVS,
  NLM_F_DUMP,
  NLM_F_MULTI,
  NLM_F_REQUEST,
  NLMSGERR_ATTR_MSG,
} from '../../uapi/index.js';
import type { Cred } from '../fs/index.js';
import { type ExtAck, buildAck } from './ack.js';
import { type NlMsg, NlAttrs, parseMessages } from './parser.js';
import { type NlaPolicy, type ParsedAttrs, nlaParse } from './policy.js';
import { NlMsgWriter } from './writer.js';

/** Who sent a request: the socket's port id, its options, and the sender's credentials. */
export interface GenlSender {
  portid: number;
  cred: Cred;
  /** NETLINK_EXT_ACK. */
  extAck: boolean;
  /** NETLINK_CAP_ACK. */
  capAck: boolean;
}

/** struct genl_info, plus the reply channel (genlmsg_reply). */
export interface GenlInfo {
  readonly nlh: NlMsg;
  readonly cmd: number;
  readonly attrs: ParsedAttrs;
  readonly extack: ExtAck;
  readonly sender: GenlSender;
  /** genlmsg_new + genlmsg_put + fill + genlmsg_reply; a non-zero fill result cancels the message. */
  reply(cmd: number, fill: (w: NlMsgWriter) => number): number;
}

/** struct netlink_callback for a dump: fill one NLM_F_MULTI part. */
export interface GenlDumpCallback {
  readonly nlh: NlMsg;
  readonly attrs: ParsedAttrs;
  readonly extack: ExtAck;
  readonly sender: GenlSender;
  put(cmd: number, fill: (w: NlMsgWriter) => number): number;
}

export interface GenlOp {
  cmd: number;
  doit?: (info: GenlInfo) => number;
  dumpit?: (cb: GenlDumpCallback) => number;
  /** GENL_ADMIN_PERM and friends. */
  flags?: number;
}

export interface GenlFamily {
  name: string;
  version: number;
  maxattr: number;
  hdrsize?: number;
  /** Indexed by attribute type. */
  policy: readonly (NlaPolicy | undefined)[];
  ops: readonly GenlOp[];
  /** Commands from this one on are validated strictly. */
  resvStartOp?: number;
}

interface Registered {
  family: GenlFamily;
  id: number;
}

const CTRL_POLICY: (NlaPolicy | undefined)[] = [];
CTRL_POLICY[CTRL_ATTR_FAMILY_ID] = { type: 'u16' };
CTRL_POLICY[CTRL_ATTR_FAMILY_NAME] = { type: 'nul-string', len: GENL_NAMSIZ - 1 };

export class Genetlink {
  private readonly byId = new Map<number, Registered>();

  constructor() {
    const ctrl: GenlFamily = {
      name: 'nlctrl',
      version: 0x2,
      maxattr: 10,
      policy: CTRL_POLICY,
      resvStartOp: 11,
      ops: [
        {
          cmd: CTRL_CMD_GETFAMILY,
          doit: (info) => this.ctrlGetfamily(info),
          dumpit: (cb) => this.ctrlDumpfamily(cb),
        },
      ],
    };
    this.byId.set(GENL_ID_CTRL, { family: ctrl, id: GENL_ID_CTRL });
  }

  /** genl_register_family(): the family id, or -EEXIST for a taken name. */
  register(family: GenlFamily): number {
    if (this.byName(family.name)) return -EEXIST;
    for (let id = GENL_START_ALLOC; id <= GENL_MAX_ID; id++) {
      if (!this.byId.has(id)) {
        this.byId.set(id, { family, id });
        return id;
      }
    }
    return -EEXIST;
  }

  unregister(family: GenlFamily): void {
    for (const [id, r] of this.byId) if (r.family === family) this.byId.delete(id);
  }

  familyId(name: string): number | undefined {
    return this.byName(name)?.id;
  }

  private byName(name: string): Registered | undefined {
    for (const r of this.byId.values()) if (r.family.name === name) return r;
    return undefined;
  }

  /**
   * netlink_rcv_skb() for NETLINK_GENERIC: handles every request in `buf` and returns what the
   * sender's socket receives, one datagram per element.
   */
  rcv(buf: Uint8Array, sender: GenlSender): Uint8Array[] {
    const out: Uint8Array[] = [];
    let msgs: NlMsg[];
    try {
      msgs = parseMessages(buf);
    } catch {
      return out;
    }
    for (const nlh of msgs) {
      const extack: ExtAck = {};
      let err = 0;
      if (nlh.flags & NLM_F_REQUEST && nlh.type >= NLMSG_MIN_TYPE) err = this.rcvMsg(nlh, sender, extack, out);
      if (err === -EINTR) continue;
      if (nlh.flags & NLM_F_ACK || err) {
        out.push(buildAck(nlh, err, extack, { capAck: sender.capAck, extAck: sender.extAck, pid: sender.portid }));
      }
    }
    return out;
  }

  /** genl_rcv_msg() / genl_family_rcv_msg(). */
  private rcvMsg(nlh: NlMsg, sender: GenlSender, extack: ExtAck, out: Uint8Array[]): number {
    const reg = this.byId.get(nlh.type);
    if (!reg) return -ENOENT;
    const { family, id } = reg;
    const hdrlen = GENL_HDRLEN + (family.hdrsize ?? 0);
    if (nlh.payload.length < hdrlen) return -EINVAL;
    const cmd = nlh.payload[0] as number;
    const op = family.ops.find((o) => o.cmd === cmd);
    if (!op || (!op.doit && !op.dumpit)) return -EOPNOTSUPP;
    if (op.flags && op.flags & GENL_ADMIN_PERM && !sender.cred.capNetAdmin) return -EPERM;
    const dump = (nlh.flags & NLM_F_DUMP) === NLM_F_DUMP;
    if (dump ? !op.dumpit : !op.doit) return -EOPNOTSUPP;

    const strict = cmd >= (family.resvStartOp ?? 0);
    const { attrs: list, leftover } = NlAttrs.parsePrefix(nlh.payload, hdrlen);
    if (strict && leftover > 0) {
      extack.msg = 'bytes leftover after parsing attributes';
      return -EINVAL;
    }
    // Liberal dumps are not validated at all (GENL_DONT_VALIDATE_DUMP).
    const attrs =
      dump && !strict
        ? nlaParse(list, family.maxattr, [], { strict: false, base: NLMSG_HDRLEN }, extack)
        : nlaParse(list, family.maxattr, family.policy, { strict, base: NLMSG_HDRLEN }, extack);
    if (typeof attrs === 'number') return attrs;

    const start = (w: NlMsgWriter, c: number, flags: number): void => {
      w.beginMsg(id, flags, nlh.seq, sender.portid).genl(c, family.version);
    };
    if (dump && op.dumpit) {
      const w = new NlMsgWriter();
      const cb: GenlDumpCallback = {
        nlh,
        attrs,
        extack,
        sender,
        put(c, fill) {
          start(w, c, NLM_F_MULTI);
          const r = fill(w);
          if (r) w.cancelMsg();
          else w.endMsg();
          return r;
        },
      };
      const r = op.dumpit(cb);
      appendDone(w, nlh, sender, r < 0 ? r : 0, extack);
      out.push(w.finish());
      return -EINTR;
    }
    const info: GenlInfo = {
      nlh,
      cmd,
      attrs,
      extack,
      sender,
      reply(c, fill) {
        const w = new NlMsgWriter();
        start(w, c, 0);
        const r = fill(w);
        if (r) return r;
        out.push(w.endMsg().finish());
        return 0;
      },
    };
    return (op.doit as (i: GenlInfo) => number)(info);
  }

  /** ctrl_fill_info(). */
  private fillFamily(w: NlMsgWriter, reg: Registered): number {
    const f = reg.family;
    w.putString(CTRL_ATTR_FAMILY_NAME, f.name)
      .putU16(CTRL_ATTR_FAMILY_ID, reg.id)
      .putU32(CTRL_ATTR_VERSION, f.version)
      .putU32(CTRL_ATTR_HDRSIZE, f.hdrsize ?? 0)
      .putU32(CTRL_ATTR_MAXATTR, f.maxattr);
    if (f.ops.length) {
      const ops = w.beginNested(CTRL_ATTR_OPS, false);
      f.ops.forEach((op, i) => {
        let flags = op.flags ?? 0;
        if (op.dumpit) flags |= GENL_CMD_CAP_DUMP;
        if (op.doit) flags |= GENL_CMD_CAP_DO;
        if (f.policy.length) flags |= GENL_CMD_CAP_HASPOL;
        const nest = w.beginNested(i + 1, false);
        w.putU32(CTRL_ATTR_OP_ID, op.cmd).putU32(CTRL_ATTR_OP_FLAGS, flags);
        w.endNested(nest);
      });
      w.endNested(ops);
    }
    return 0;
  }

  /** ctrl_getfamily(). */
  private ctrlGetfamily(info: GenlInfo): number {
    let reg: Registered | undefined;
    let err = -EINVAL;
    const idAttr = info.attrs[CTRL_ATTR_FAMILY_ID];
    if (idAttr) {
      reg = this.byId.get(new DataView(idAttr.payload.buffer, idAttr.payload.byteOffset).getUint16(0, true));
      err = -ENOENT;
    }
    const nameAttr = info.attrs[CTRL_ATTR_FAMILY_NAME];
    if (nameAttr) {
      const nul = nameAttr.payload.indexOf(0);
      reg = this.byName(new TextDecoder().decode(nameAttr.payload.subarray(0, nul < 0 ? undefined : nul)));
      err = -ENOENT;
    }
    if (!reg) return err;
    const found = reg;
    return info.reply(CTRL_CMD_NEWFAMILY, (w) => this.fillFamily(w, found));
  }

  /** ctrl_dumpfamily(). */
  private ctrlDumpfamily(cb: GenlDumpCallback): number {
    for (const reg of [...this.byId.values()].sort((a, b) => a.id - b.id)) {
      cb.put(CTRL_CMD_NEWFAMILY, (w) => this.fillFamily(w, reg));
    }
    return 0;
  }
}

/** The NLMSG_DONE that ends a dump: its int is the dump's status; extack text rides along. */
function appendDone(w: NlMsgWriter, nlh: NlMsg, sender: GenlSender, status: number, extack: ExtAck): void {
  const tlv = sender.extAck && extack.msg !== undefined;
  w.beginMsg(NLMSG_DONE, NLM_F_MULTI | (tlv ? NLM_F_ACK_TLVS : 0), nlh.seq, sender.portid);
  const v = new Uint8Array(4);
  new DataView(v.buffer).setInt32(0, status, true);
  w.raw(v);
  if (tlv) w.putString(NLMSGERR_ATTR_MSG, extack.msg as string);
  w.endMsg();
}
