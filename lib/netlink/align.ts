// NLMSG_ALIGN / NLA_ALIGN (include/uapi/linux/netlink.h): everything is padded to 4 bytes.
import { NLA_ALIGNTO, NLMSG_ALIGNTO } from '../../uapi/index.js';

export const NLMSG_ALIGN = (len: number): number => (len + NLMSG_ALIGNTO - 1) & ~(NLMSG_ALIGNTO - 1);
export const NLA_ALIGN = (len: number): number => (len + NLA_ALIGNTO - 1) & ~(NLA_ALIGNTO - 1);
