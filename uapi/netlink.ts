// Models: include/uapi/linux/netlink.h and genetlink.h (identical in Linux 6.1 and upstream for
// the names modelled): message and attribute headers, flags, control messages, extended ACK
// attributes, and the generic netlink controller's commands and attributes.
// Deviations: the NLMSG_*/NLA_* helper macros are functions in lib/netlink.

import { comment, consts, defineEnum, defineHeader, structs } from './header_spec.js';
import { defineLayout, s32, struct, u16, u32, u8 } from './layout.js';

export const NETLINK_GENERIC = 16;
export const SOL_NETLINK = 270;
export const NETLINK_CAP_ACK = 10;
export const NETLINK_EXT_ACK = 11;
export const NETLINK_GET_STRICT_CHK = 12;

export const nlmsghdr = defineLayout('nlmsghdr', 16, {
  nlmsg_len: u32(0),
  nlmsg_type: u16(4),
  nlmsg_flags: u16(6),
  nlmsg_seq: u32(8),
  nlmsg_pid: u32(12),
});

export const NLM_F_REQUEST = 0x01;
export const NLM_F_MULTI = 0x02;
export const NLM_F_ACK = 0x04;
export const NLM_F_ECHO = 0x08;
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_DUMP_FILTERED = 0x20;
export const NLM_F_ROOT = 0x100;
export const NLM_F_MATCH = 0x200;
export const NLM_F_ATOMIC = 0x400;
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;
export const NLM_F_NONREC = 0x100;
export const NLM_F_BULK = 0x200;
export const NLM_F_CAPPED = 0x100;
export const NLM_F_ACK_TLVS = 0x200;

export const NLMSG_ALIGNTO = 4;
export const NLMSG_HDRLEN = 16;
export const NLMSG_NOOP = 0x1;
export const NLMSG_ERROR = 0x2;
export const NLMSG_DONE = 0x3;
export const NLMSG_OVERRUN = 0x4;
export const NLMSG_MIN_TYPE = 0x10;

export const nlmsgerr = defineLayout('nlmsgerr', 20, { error: s32(0, 'int'), msg: struct(4, nlmsghdr) });

export const nlmsgerrAttrs = defineEnum('nlmsgerr_attrs', [
  'NLMSGERR_ATTR_UNUSED',
  'NLMSGERR_ATTR_MSG',
  'NLMSGERR_ATTR_OFFS',
  'NLMSGERR_ATTR_COOKIE',
  'NLMSGERR_ATTR_POLICY',
  'NLMSGERR_ATTR_MISS_TYPE',
  'NLMSGERR_ATTR_MISS_NEST',
  '__NLMSGERR_ATTR_MAX',
]);
export const {
  NLMSGERR_ATTR_UNUSED,
  NLMSGERR_ATTR_MSG,
  NLMSGERR_ATTR_OFFS,
  NLMSGERR_ATTR_COOKIE,
  NLMSGERR_ATTR_POLICY,
  NLMSGERR_ATTR_MISS_TYPE,
  NLMSGERR_ATTR_MISS_NEST,
} = nlmsgerrAttrs.values;

export const nlattr = defineLayout('nlattr', 4, { nla_len: u16(0), nla_type: u16(2) });

export const NLA_F_NESTED = 1 << 15;
export const NLA_F_NET_BYTEORDER = 1 << 14;
export const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER);
export const NLA_ALIGNTO = 4;
export const NLA_HDRLEN = 4;

// ---- genetlink.h -----------------------------------------------------------------------------

export const GENL_NAMSIZ = 16;
export const GENL_MIN_ID = NLMSG_MIN_TYPE;
export const GENL_MAX_ID = 1023;

export const genlmsghdr = defineLayout('genlmsghdr', 4, { cmd: u8(0), version: u8(1), reserved: u16(2) });
export const GENL_HDRLEN = 4;

export const GENL_ADMIN_PERM = 0x01;
export const GENL_CMD_CAP_DO = 0x02;
export const GENL_CMD_CAP_DUMP = 0x04;
export const GENL_CMD_CAP_HASPOL = 0x08;
export const GENL_UNS_ADMIN_PERM = 0x10;

export const GENL_ID_CTRL = NLMSG_MIN_TYPE;
export const GENL_ID_VFS_DQUOT = NLMSG_MIN_TYPE + 1;
export const GENL_ID_PMCRAID = NLMSG_MIN_TYPE + 2;
export const GENL_START_ALLOC = NLMSG_MIN_TYPE + 3;

export const ctrlCmd = defineEnum('', [
  'CTRL_CMD_UNSPEC',
  'CTRL_CMD_NEWFAMILY',
  'CTRL_CMD_DELFAMILY',
  'CTRL_CMD_GETFAMILY',
  'CTRL_CMD_NEWOPS',
  'CTRL_CMD_DELOPS',
  'CTRL_CMD_GETOPS',
  'CTRL_CMD_NEWMCAST_GRP',
  'CTRL_CMD_DELMCAST_GRP',
  'CTRL_CMD_GETMCAST_GRP',
  'CTRL_CMD_GETPOLICY',
  '__CTRL_CMD_MAX',
]);
export const {
  CTRL_CMD_UNSPEC,
  CTRL_CMD_NEWFAMILY,
  CTRL_CMD_DELFAMILY,
  CTRL_CMD_GETFAMILY,
  CTRL_CMD_NEWOPS,
  CTRL_CMD_DELOPS,
  CTRL_CMD_GETOPS,
  CTRL_CMD_NEWMCAST_GRP,
  CTRL_CMD_DELMCAST_GRP,
  CTRL_CMD_GETMCAST_GRP,
  CTRL_CMD_GETPOLICY,
} = ctrlCmd.values;

export const ctrlAttr = defineEnum('', [
  'CTRL_ATTR_UNSPEC',
  'CTRL_ATTR_FAMILY_ID',
  'CTRL_ATTR_FAMILY_NAME',
  'CTRL_ATTR_VERSION',
  'CTRL_ATTR_HDRSIZE',
  'CTRL_ATTR_MAXATTR',
  'CTRL_ATTR_OPS',
  'CTRL_ATTR_MCAST_GROUPS',
  'CTRL_ATTR_POLICY',
  'CTRL_ATTR_OP_POLICY',
  'CTRL_ATTR_OP',
  '__CTRL_ATTR_MAX',
]);
export const {
  CTRL_ATTR_UNSPEC,
  CTRL_ATTR_FAMILY_ID,
  CTRL_ATTR_FAMILY_NAME,
  CTRL_ATTR_VERSION,
  CTRL_ATTR_HDRSIZE,
  CTRL_ATTR_MAXATTR,
  CTRL_ATTR_OPS,
  CTRL_ATTR_MCAST_GROUPS,
  CTRL_ATTR_POLICY,
  CTRL_ATTR_OP_POLICY,
  CTRL_ATTR_OP,
} = ctrlAttr.values;

export const ctrlAttrOp = defineEnum('', ['CTRL_ATTR_OP_UNSPEC', 'CTRL_ATTR_OP_ID', 'CTRL_ATTR_OP_FLAGS', '__CTRL_ATTR_OP_MAX']);
export const { CTRL_ATTR_OP_UNSPEC, CTRL_ATTR_OP_ID, CTRL_ATTR_OP_FLAGS } = ctrlAttrOp.values;

export const ctrlAttrMcastGrp = defineEnum('', [
  'CTRL_ATTR_MCAST_GRP_UNSPEC',
  'CTRL_ATTR_MCAST_GRP_NAME',
  'CTRL_ATTR_MCAST_GRP_ID',
  '__CTRL_ATTR_MCAST_GRP_MAX',
]);
export const { CTRL_ATTR_MCAST_GRP_UNSPEC, CTRL_ATTR_MCAST_GRP_NAME, CTRL_ATTR_MCAST_GRP_ID } = ctrlAttrMcastGrp.values;

export const netlinkHeader = defineHeader('linux/netlink.h', [
  consts({ NETLINK_GENERIC }),
  consts({ SOL_NETLINK }, { comment: 'SOL_NETLINK is from linux/socket.h.' }),
  structs(nlmsghdr),
  consts(
    {
      NLM_F_REQUEST,
      NLM_F_MULTI,
      NLM_F_ACK,
      NLM_F_ECHO,
      NLM_F_DUMP_INTR,
      NLM_F_DUMP_FILTERED,
      NLM_F_ROOT,
      NLM_F_MATCH,
      NLM_F_ATOMIC,
      NLM_F_DUMP,
      NLM_F_REPLACE,
      NLM_F_EXCL,
      NLM_F_CREATE,
      NLM_F_APPEND,
      NLM_F_NONREC,
      NLM_F_BULK,
      NLM_F_CAPPED,
      NLM_F_ACK_TLVS,
    },
    { hex: true, expr: { NLM_F_DUMP: '(NLM_F_ROOT|NLM_F_MATCH)' } },
  ),
  consts({ NLMSG_ALIGNTO }, { expr: { NLMSG_ALIGNTO: '4U' } }),
  consts({ NLMSG_HDRLEN }, { expr: { NLMSG_HDRLEN: '((int) sizeof(struct nlmsghdr))' } }),
  consts({ NLMSG_NOOP, NLMSG_ERROR, NLMSG_DONE, NLMSG_OVERRUN, NLMSG_MIN_TYPE }, { hex: true }),
  structs(nlmsgerr),
  nlmsgerrAttrs.item,
  consts({ NETLINK_CAP_ACK, NETLINK_EXT_ACK, NETLINK_GET_STRICT_CHK }),
  structs(nlattr),
  consts(
    { NLA_F_NESTED, NLA_F_NET_BYTEORDER, NLA_TYPE_MASK },
    { expr: { NLA_F_NESTED: '(1 << 15)', NLA_F_NET_BYTEORDER: '(1 << 14)', NLA_TYPE_MASK: '~(NLA_F_NESTED | NLA_F_NET_BYTEORDER)' } },
  ),
  consts({ NLA_ALIGNTO, NLA_HDRLEN }, { expr: { NLA_HDRLEN: '((int) sizeof(struct nlattr))' } }),
]);

export const genetlinkHeader = defineHeader('linux/genetlink.h', [
  consts({ GENL_NAMSIZ }),
  consts({ GENL_MIN_ID }, { expr: { GENL_MIN_ID: 'NLMSG_MIN_TYPE' } }),
  consts({ GENL_MAX_ID }),
  structs(genlmsghdr),
  consts({ GENL_HDRLEN }, { expr: { GENL_HDRLEN: '((int) sizeof(struct genlmsghdr))' } }),
  consts({ GENL_ADMIN_PERM, GENL_CMD_CAP_DO, GENL_CMD_CAP_DUMP, GENL_CMD_CAP_HASPOL, GENL_UNS_ADMIN_PERM }, { hex: true }),
  consts(
    { GENL_ID_CTRL, GENL_ID_VFS_DQUOT, GENL_ID_PMCRAID, GENL_START_ALLOC },
    {
      expr: {
        GENL_ID_CTRL: 'NLMSG_MIN_TYPE',
        GENL_ID_VFS_DQUOT: '(NLMSG_MIN_TYPE + 1)',
        GENL_ID_PMCRAID: '(NLMSG_MIN_TYPE + 2)',
        GENL_START_ALLOC: '(NLMSG_MIN_TYPE + 3)',
      },
    },
  ),
  comment('Generic netlink controller.'),
  ctrlCmd.item,
  ctrlAttr.item,
  ctrlAttrOp.item,
  ctrlAttrMcastGrp.item,
]);
