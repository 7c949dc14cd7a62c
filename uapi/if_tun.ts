// Models: include/uapi/linux/if_tun.h (upstream ~6.17; Linux 6.1 differences marked) and the
// part of include/uapi/linux/if.h a tap needs (IFNAMSIZ, struct ifreq).
// Deviations: struct sock_fprog (linux/filter.h) is not modelled, so the filter ioctls are
// spelled _IOC(dir, 'T', nr, 16) in the generated header; struct ifreq omits the sockaddr
// and if_settings members of its union (same size and offsets, fewer names).

import { consts, defineHeader, ioctls, structs } from './header_spec.js';
import { ARG_INT, ARG_UINT, defineIoctls, type IoctlArg, ioc, requestNumbers } from './ioctl.js';
import { bytes, defineLayout, flex, s16, s32, struct, u16, u64, u8, union } from './layout.js';
import { UPSTREAM_ONLY } from './profile.js';

const T = { value: 0x54, name: "'T'" };
/** struct sock_fprog { unsigned short len; struct sock_filter *filter; } on x86-64. */
const SOCK_FPROG: IoctlArg = { ctype: 'struct sock_fprog', size: 16, opaque: true };

export const TUN_READQ_SIZE = 500;
export const TUN_TYPE_MASK = 0x000f;

export const tunIoctls = defineIoctls({
  TUNSETNOCSUM: ioc('_IOW', T, 200, ARG_INT),
  TUNSETDEBUG: ioc('_IOW', T, 201, ARG_INT),
  TUNSETIFF: ioc('_IOW', T, 202, ARG_INT, { note: 'takes a struct ifreq *' }),
  TUNSETPERSIST: ioc('_IOW', T, 203, ARG_INT),
  TUNSETOWNER: ioc('_IOW', T, 204, ARG_INT),
  TUNSETLINK: ioc('_IOW', T, 205, ARG_INT),
  TUNSETGROUP: ioc('_IOW', T, 206, ARG_INT),
  TUNGETFEATURES: ioc('_IOR', T, 207, ARG_UINT),
  TUNSETOFFLOAD: ioc('_IOW', T, 208, ARG_UINT),
  TUNSETTXFILTER: ioc('_IOW', T, 209, ARG_UINT),
  TUNGETIFF: ioc('_IOR', T, 210, ARG_UINT),
  TUNGETSNDBUF: ioc('_IOR', T, 211, ARG_INT),
  TUNSETSNDBUF: ioc('_IOW', T, 212, ARG_INT),
  TUNATTACHFILTER: ioc('_IOW', T, 213, SOCK_FPROG),
  TUNDETACHFILTER: ioc('_IOW', T, 214, SOCK_FPROG),
  TUNGETVNETHDRSZ: ioc('_IOR', T, 215, ARG_INT),
  TUNSETVNETHDRSZ: ioc('_IOW', T, 216, ARG_INT),
  TUNSETQUEUE: ioc('_IOW', T, 217, ARG_INT),
  TUNSETIFINDEX: ioc('_IOW', T, 218, ARG_UINT),
  TUNGETFILTER: ioc('_IOR', T, 219, SOCK_FPROG),
  TUNSETVNETLE: ioc('_IOW', T, 220, ARG_INT),
  TUNGETVNETLE: ioc('_IOR', T, 221, ARG_INT),
  TUNSETVNETBE: ioc('_IOW', T, 222, ARG_INT),
  TUNGETVNETBE: ioc('_IOR', T, 223, ARG_INT),
  TUNSETSTEERINGEBPF: ioc('_IOR', T, 224, ARG_INT),
  TUNSETFILTEREBPF: ioc('_IOR', T, 225, ARG_INT),
  TUNSETCARRIER: ioc('_IOW', T, 226, ARG_INT),
  TUNGETDEVNETNS: ioc('_IO', T, 227),
});

export const {
  TUNSETNOCSUM,
  TUNSETDEBUG,
  TUNSETIFF,
  TUNSETPERSIST,
  TUNSETOWNER,
  TUNSETLINK,
  TUNSETGROUP,
  TUNGETFEATURES,
  TUNSETOFFLOAD,
  TUNSETTXFILTER,
  TUNGETIFF,
  TUNGETSNDBUF,
  TUNSETSNDBUF,
  TUNATTACHFILTER,
  TUNDETACHFILTER,
  TUNGETVNETHDRSZ,
  TUNSETVNETHDRSZ,
  TUNSETQUEUE,
  TUNSETIFINDEX,
  TUNGETFILTER,
  TUNSETVNETLE,
  TUNGETVNETLE,
  TUNSETVNETBE,
  TUNGETVNETBE,
  TUNSETSTEERINGEBPF,
  TUNSETFILTEREBPF,
  TUNSETCARRIER,
  TUNGETDEVNETNS,
} = requestNumbers(tunIoctls);

/** TUNSETIFF ifr_flags. */
export const IFF_TUN = 0x0001;
export const IFF_TAP = 0x0002;
export const IFF_NAPI = 0x0010;
export const IFF_NAPI_FRAGS = 0x0020;
export const IFF_NO_CARRIER = 0x0040;
export const IFF_NO_PI = 0x1000;
export const IFF_ONE_QUEUE = 0x2000;
export const IFF_VNET_HDR = 0x4000;
export const IFF_TUN_EXCL = 0x8000;
export const IFF_MULTI_QUEUE = 0x0100;
export const IFF_ATTACH_QUEUE = 0x0200;
export const IFF_DETACH_QUEUE = 0x0400;
export const IFF_PERSIST = 0x0800;
export const IFF_NOFILTER = 0x1000;

export const TUN_TUN_DEV = IFF_TUN;
export const TUN_TAP_DEV = IFF_TAP;

export const TUN_TX_TIMESTAMP = 1;

/** TUNSETOFFLOAD feature bits. */
export const TUN_F_CSUM = 0x01;
export const TUN_F_TSO4 = 0x02;
export const TUN_F_TSO6 = 0x04;
export const TUN_F_TSO_ECN = 0x08;
export const TUN_F_UFO = 0x10;
export const TUN_F_USO4 = 0x20;
export const TUN_F_USO6 = 0x40;
export const TUN_F_UDP_TUNNEL_GSO = 0x080;
export const TUN_F_UDP_TUNNEL_GSO_CSUM = 0x100;

export const TUN_PKT_STRIP = 0x0001;

export const tunPi = defineLayout('tun_pi', 4, { flags: u16(0), proto: u16(2, '__be16') });

export const TUN_FLT_ALLMULTI = 0x0001;

export const tunFilter = defineLayout('tun_filter', 4, {
  flags: u16(0),
  count: u16(2),
  addr: flex(4, 6, '__u8', '[6]'),
});

export const ifTunHeader = defineHeader('linux/if_tun.h', [
  consts({ TUN_READQ_SIZE }),
  consts({ TUN_TUN_DEV, TUN_TAP_DEV }, { expr: { TUN_TUN_DEV: 'IFF_TUN', TUN_TAP_DEV: 'IFF_TAP' } }),
  consts({ TUN_TYPE_MASK }, { hex: true }),
  ioctls(tunIoctls),
  consts(
    {
      IFF_TUN,
      IFF_TAP,
      IFF_NAPI,
      IFF_NAPI_FRAGS,
      IFF_NO_CARRIER,
      IFF_NO_PI,
      IFF_ONE_QUEUE,
      IFF_VNET_HDR,
      IFF_TUN_EXCL,
      IFF_MULTI_QUEUE,
      IFF_ATTACH_QUEUE,
      IFF_DETACH_QUEUE,
      IFF_PERSIST,
      IFF_NOFILTER,
    },
    { hex: true, comment: 'TUNSETIFF ifr flags' },
  ),
  consts({ TUN_TX_TIMESTAMP }),
  consts({ TUN_F_CSUM, TUN_F_TSO4, TUN_F_TSO6, TUN_F_TSO_ECN, TUN_F_UFO }, { hex: true }),
  consts(
    { TUN_F_USO4, TUN_F_USO6, TUN_F_UDP_TUNNEL_GSO, TUN_F_UDP_TUNNEL_GSO_CSUM },
    { hex: true, availability: UPSTREAM_ONLY },
  ),
  consts({ TUN_PKT_STRIP }, { hex: true }),
  structs(tunPi),
  consts({ TUN_FLT_ALLMULTI }, { hex: true }),
  structs(tunFilter),
]);

// ---- linux/if.h (the part a tap needs) ------------------------------------------------------

export const IFNAMSIZ = 16;

export const ifmap = defineLayout('ifmap', 24, {
  mem_start: u64(0, 'unsigned long'),
  mem_end: u64(8, 'unsigned long'),
  base_addr: u16(16, 'unsigned short'),
  irq: u8(18, 'unsigned char'),
  dma: u8(19, 'unsigned char'),
  port: u8(20, 'unsigned char'),
});

/** struct ifreq: name, then a 24-byte union (TUNSETIFF uses ifru_flags). */
export const ifreq = defineLayout('ifreq', 40, {
  ifr_ifrn: union(0, IFNAMSIZ, { ifrn_name: bytes(0, IFNAMSIZ, 'char') }),
  ifr_ifru: union(16, 24, {
    ifru_flags: s16(0, 'short'),
    ifru_ivalue: s32(0, 'int'),
    ifru_mtu: s32(0, 'int'),
    ifru_map: struct(0, ifmap),
    ifru_slave: bytes(0, IFNAMSIZ, 'char'),
    ifru_newname: bytes(0, IFNAMSIZ, 'char'),
    ifru_data: u64(0, 'void *'),
  }),
});

export const linuxIfHeader = defineHeader('linux/if.h', [consts({ IFNAMSIZ }), structs(ifmap, ifreq)]);
