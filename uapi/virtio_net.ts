// Models: include/uapi/linux/virtio_net.h (upstream ~6.17; Linux 6.1 differences marked)
// Deviations: ETH_ALEN-sized arrays are spelled [6]. Feature bits above 63 are plain numbers;
// build masks with BigInt.

import { comment, consts, defineHeader, structs, structsIn, type HeaderItem } from './header_spec.js';
import {
  anonStruct,
  anonUnion,
  array,
  bytes,
  defineLayout,
  flex,
  inlineStruct,
  type Layout,
  struct,
  u16,
  u32,
  u64,
  u8,
} from './layout.js';
import { UPSTREAM_ONLY } from './profile.js';

export const ETH_ALEN = 6;

// ---- feature bits ---------------------------------------------------------------------------
export const VIRTIO_NET_F_CSUM = 0;
export const VIRTIO_NET_F_GUEST_CSUM = 1;
export const VIRTIO_NET_F_CTRL_GUEST_OFFLOADS = 2;
export const VIRTIO_NET_F_MTU = 3;
export const VIRTIO_NET_F_MAC = 5;
export const VIRTIO_NET_F_GUEST_TSO4 = 7;
export const VIRTIO_NET_F_GUEST_TSO6 = 8;
export const VIRTIO_NET_F_GUEST_ECN = 9;
export const VIRTIO_NET_F_GUEST_UFO = 10;
export const VIRTIO_NET_F_HOST_TSO4 = 11;
export const VIRTIO_NET_F_HOST_TSO6 = 12;
export const VIRTIO_NET_F_HOST_ECN = 13;
export const VIRTIO_NET_F_HOST_UFO = 14;
export const VIRTIO_NET_F_MRG_RXBUF = 15;
export const VIRTIO_NET_F_STATUS = 16;
export const VIRTIO_NET_F_CTRL_VQ = 17;
export const VIRTIO_NET_F_CTRL_RX = 18;
export const VIRTIO_NET_F_CTRL_VLAN = 19;
export const VIRTIO_NET_F_CTRL_RX_EXTRA = 20;
export const VIRTIO_NET_F_GUEST_ANNOUNCE = 21;
export const VIRTIO_NET_F_MQ = 22;
export const VIRTIO_NET_F_CTRL_MAC_ADDR = 23;
export const VIRTIO_NET_F_DEVICE_STATS = 50;
export const VIRTIO_NET_F_VQ_NOTF_COAL = 52;
export const VIRTIO_NET_F_NOTF_COAL = 53;
export const VIRTIO_NET_F_GUEST_USO4 = 54;
export const VIRTIO_NET_F_GUEST_USO6 = 55;
export const VIRTIO_NET_F_HOST_USO = 56;
export const VIRTIO_NET_F_HASH_REPORT = 57;
export const VIRTIO_NET_F_GUEST_HDRLEN = 59;
export const VIRTIO_NET_F_RSS = 60;
export const VIRTIO_NET_F_RSC_EXT = 61;
export const VIRTIO_NET_F_STANDBY = 62;
export const VIRTIO_NET_F_SPEED_DUPLEX = 63;
export const VIRTIO_NET_F_GUEST_UDP_TUNNEL_GSO = 65;
export const VIRTIO_NET_F_GUEST_UDP_TUNNEL_GSO_CSUM = 66;
export const VIRTIO_NET_F_HOST_UDP_TUNNEL_GSO = 67;
export const VIRTIO_NET_F_HOST_UDP_TUNNEL_GSO_CSUM = 68;
export const VIRTIO_NET_F_GUEST_UDP_TUNNEL_GSO_MAPPED = 46;
export const VIRTIO_NET_F_GUEST_UDP_TUNNEL_GSO_CSUM_MAPPED = 47;
/** Legacy. */
export const VIRTIO_NET_F_GSO = 6;

export const VIRTIO_NET_S_LINK_UP = 1;
export const VIRTIO_NET_S_ANNOUNCE = 2;

export const VIRTIO_NET_RSS_HASH_TYPE_IPv4 = 1 << 0;
export const VIRTIO_NET_RSS_HASH_TYPE_TCPv4 = 1 << 1;
export const VIRTIO_NET_RSS_HASH_TYPE_UDPv4 = 1 << 2;
export const VIRTIO_NET_RSS_HASH_TYPE_IPv6 = 1 << 3;
export const VIRTIO_NET_RSS_HASH_TYPE_TCPv6 = 1 << 4;
export const VIRTIO_NET_RSS_HASH_TYPE_UDPv6 = 1 << 5;
export const VIRTIO_NET_RSS_HASH_TYPE_IP_EX = 1 << 6;
export const VIRTIO_NET_RSS_HASH_TYPE_TCP_EX = 1 << 7;
export const VIRTIO_NET_RSS_HASH_TYPE_UDP_EX = 1 << 8;

// ---- config space and headers -----------------------------------------------------------------
export const virtioNetConfig = defineLayout(
  'virtio_net_config',
  24,
  {
    mac: bytes(0, ETH_ALEN),
    status: u16(6, '__virtio16'),
    max_virtqueue_pairs: u16(8, '__virtio16'),
    mtu: u16(10, '__virtio16'),
    speed: u32(12, '__le32'),
    duplex: u8(16),
    rss_max_key_size: u8(17),
    rss_max_indirection_table_length: u16(18, '__le16'),
    supported_hash_types: u32(20, '__le32'),
  },
  { packed: true },
);

export const VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
export const VIRTIO_NET_HDR_F_DATA_VALID = 2;
export const VIRTIO_NET_HDR_F_RSC_INFO = 4;
export const VIRTIO_NET_HDR_F_UDP_TUNNEL_CSUM = 8;
export const VIRTIO_NET_HDR_GSO_NONE = 0;
export const VIRTIO_NET_HDR_GSO_TCPV4 = 1;
export const VIRTIO_NET_HDR_GSO_UDP = 3;
export const VIRTIO_NET_HDR_GSO_TCPV6 = 4;
export const VIRTIO_NET_HDR_GSO_UDP_L4 = 5;
export const VIRTIO_NET_HDR_GSO_UDP_TUNNEL_IPV4 = 0x20;
export const VIRTIO_NET_HDR_GSO_UDP_TUNNEL_IPV6 = 0x40;
export const VIRTIO_NET_HDR_GSO_UDP_TUNNEL = VIRTIO_NET_HDR_GSO_UDP_TUNNEL_IPV4 | VIRTIO_NET_HDR_GSO_UDP_TUNNEL_IPV6;
export const VIRTIO_NET_HDR_GSO_ECN = 0x80;

/** The header every VERSION_1 packet starts with (12 bytes). */
export const virtioNetHdrV1 = defineLayout('virtio_net_hdr_v1', 12, {
  flags: u8(0),
  gso_type: u8(1),
  hdr_len: u16(2, '__virtio16'),
  gso_size: u16(4, '__virtio16'),
  _u: anonUnion(6, 4, {
    _s: anonStruct(0, { csum_start: u16(0, '__virtio16'), csum_offset: u16(2, '__virtio16') }),
    csum: inlineStruct(0, { start: u16(0, '__virtio16'), offset: u16(2, '__virtio16') }),
    rsc: inlineStruct(0, { segments: u16(0, '__le16'), dup_acks: u16(2, '__le16') }),
  }),
  num_buffers: u16(10, '__virtio16'),
});

export const VIRTIO_NET_HASH_REPORT_NONE = 0;
export const VIRTIO_NET_HASH_REPORT_IPv4 = 1;
export const VIRTIO_NET_HASH_REPORT_TCPv4 = 2;
export const VIRTIO_NET_HASH_REPORT_UDPv4 = 3;
export const VIRTIO_NET_HASH_REPORT_IPv6 = 4;
export const VIRTIO_NET_HASH_REPORT_TCPv6 = 5;
export const VIRTIO_NET_HASH_REPORT_UDPv6 = 6;
export const VIRTIO_NET_HASH_REPORT_IPv6_EX = 7;
export const VIRTIO_NET_HASH_REPORT_TCPv6_EX = 8;
export const VIRTIO_NET_HASH_REPORT_UDPv6_EX = 9;

export const virtioNetHdrV1Hash = defineLayout('virtio_net_hdr_v1_hash', 20, {
  hdr: struct(0, virtioNetHdrV1),
  hash_value: u32(12, '__le32'),
  hash_report: u16(16, '__le16'),
  padding: u16(18, '__le16'),
});

export const virtioNetHdrV1HashTunnel = defineLayout('virtio_net_hdr_v1_hash_tunnel', 24, {
  hash_hdr: struct(0, virtioNetHdrV1Hash),
  outer_th_offset: u16(20, '__le16'),
  inner_nh_offset: u16(22, '__le16'),
});

/** Legacy header (10 bytes): what a device without VERSION_1 uses. */
export const virtioNetHdr = defineLayout('virtio_net_hdr', 10, {
  flags: u8(0),
  gso_type: u8(1),
  hdr_len: u16(2, '__virtio16'),
  gso_size: u16(4, '__virtio16'),
  csum_start: u16(6, '__virtio16'),
  csum_offset: u16(8, '__virtio16'),
});

export const virtioNetHdrMrgRxbuf = defineLayout('virtio_net_hdr_mrg_rxbuf', 12, {
  hdr: struct(0, virtioNetHdr),
  num_buffers: u16(10, '__virtio16'),
});

// ---- control virtqueue ------------------------------------------------------------------------
export const virtioNetCtrlHdr = defineLayout('virtio_net_ctrl_hdr', 2, { class: u8(0), cmd: u8(1) }, { packed: true });

export const VIRTIO_NET_OK = 0;
export const VIRTIO_NET_ERR = 1;

export const VIRTIO_NET_CTRL_RX = 0;
export const VIRTIO_NET_CTRL_RX_PROMISC = 0;
export const VIRTIO_NET_CTRL_RX_ALLMULTI = 1;
export const VIRTIO_NET_CTRL_RX_ALLUNI = 2;
export const VIRTIO_NET_CTRL_RX_NOMULTI = 3;
export const VIRTIO_NET_CTRL_RX_NOUNI = 4;
export const VIRTIO_NET_CTRL_RX_NOBCAST = 5;

export const virtioNetCtrlMac = defineLayout(
  'virtio_net_ctrl_mac',
  4,
  { entries: u32(0, '__virtio32'), macs: flex(4, ETH_ALEN, '__u8', `[${ETH_ALEN}]`) },
  { packed: true },
);

export const VIRTIO_NET_CTRL_MAC = 1;
export const VIRTIO_NET_CTRL_MAC_TABLE_SET = 0;
export const VIRTIO_NET_CTRL_MAC_ADDR_SET = 1;

export const VIRTIO_NET_CTRL_VLAN = 2;
export const VIRTIO_NET_CTRL_VLAN_ADD = 0;
export const VIRTIO_NET_CTRL_VLAN_DEL = 1;

export const VIRTIO_NET_CTRL_ANNOUNCE = 3;
export const VIRTIO_NET_CTRL_ANNOUNCE_ACK = 0;

export const VIRTIO_NET_CTRL_MQ = 4;
export const virtioNetCtrlMq = defineLayout('virtio_net_ctrl_mq', 2, { virtqueue_pairs: u16(0, '__virtio16') });
export const VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET = 0;
export const VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN = 1;
export const VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MAX = 0x8000;

/** The kernel's historical layout with one indirection entry inline; size 16. */
export const virtioNetRssConfig = defineLayout('virtio_net_rss_config', 16, {
  hash_types: u32(0, '__le32'),
  indirection_table_mask: u16(4, '__le16'),
  unclassified_queue: u16(6, '__le16'),
  indirection_table: array(8, 1, u16(0, '__le16')),
  max_tx_vq: u16(10, '__le16'),
  hash_key_length: u8(12),
  hash_key_data: flex(13, 1, '__u8'),
});

export const virtioNetRssConfigHdr = defineLayout('virtio_net_rss_config_hdr', 8, {
  hash_types: u32(0, '__le32'),
  indirection_table_mask: u16(4, '__le16'),
  unclassified_queue: u16(6, '__le16'),
  indirection_table: flex(8, 2, '__le16'),
});

export const virtioNetRssConfigTrailer = defineLayout('virtio_net_rss_config_trailer', 4, {
  max_tx_vq: u16(0, '__le16'),
  hash_key_length: u8(2),
  hash_key_data: flex(3, 1, '__u8'),
});

export const VIRTIO_NET_CTRL_MQ_RSS_CONFIG = 1;

export const virtioNetHashConfig = defineLayout('virtio_net_hash_config', 16, {
  hash_types: u32(0, '__le32'),
  reserved: array(4, 4, u16(0, '__le16')),
  hash_key_length: u8(12),
  hash_key_data: flex(13, 1, '__u8'),
});

export const VIRTIO_NET_CTRL_MQ_HASH_CONFIG = 2;

export const VIRTIO_NET_CTRL_GUEST_OFFLOADS = 5;
export const VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET = 0;

export const VIRTIO_NET_CTRL_NOTF_COAL = 6;
export const virtioNetCtrlCoalTx = defineLayout('virtio_net_ctrl_coal_tx', 8, {
  tx_max_packets: u32(0, '__le32'),
  tx_usecs: u32(4, '__le32'),
});
export const VIRTIO_NET_CTRL_NOTF_COAL_TX_SET = 0;
export const virtioNetCtrlCoalRx = defineLayout('virtio_net_ctrl_coal_rx', 8, {
  rx_max_packets: u32(0, '__le32'),
  rx_usecs: u32(4, '__le32'),
});
export const VIRTIO_NET_CTRL_NOTF_COAL_RX_SET = 1;
export const VIRTIO_NET_CTRL_NOTF_COAL_VQ_SET = 2;
export const VIRTIO_NET_CTRL_NOTF_COAL_VQ_GET = 3;

export const virtioNetCtrlCoal = defineLayout('virtio_net_ctrl_coal', 8, {
  max_packets: u32(0, '__le32'),
  max_usecs: u32(4, '__le32'),
});

export const virtioNetCtrlCoalVq = defineLayout('virtio_net_ctrl_coal_vq', 12, {
  vqn: u16(0, '__le16'),
  reserved: u16(2, '__le16'),
  coal: struct(4, virtioNetCtrlCoal),
});

// ---- device statistics (upstream) -------------------------------------------------------------
export const VIRTIO_NET_CTRL_STATS = 8;
export const VIRTIO_NET_CTRL_STATS_QUERY = 0;
export const VIRTIO_NET_CTRL_STATS_GET = 1;

export const VIRTIO_NET_STATS_TYPE_CVQ = 1n << 32n;
export const VIRTIO_NET_STATS_TYPE_RX_BASIC = 1n << 0n;
export const VIRTIO_NET_STATS_TYPE_RX_CSUM = 1n << 1n;
export const VIRTIO_NET_STATS_TYPE_RX_GSO = 1n << 2n;
export const VIRTIO_NET_STATS_TYPE_RX_SPEED = 1n << 3n;
export const VIRTIO_NET_STATS_TYPE_TX_BASIC = 1n << 16n;
export const VIRTIO_NET_STATS_TYPE_TX_CSUM = 1n << 17n;
export const VIRTIO_NET_STATS_TYPE_TX_GSO = 1n << 18n;
export const VIRTIO_NET_STATS_TYPE_TX_SPEED = 1n << 19n;

export const virtioNetStatsCapabilities = defineLayout('virtio_net_stats_capabilities', 8, {
  supported_stats_types: array(0, 1, u64(0, '__le64')),
});

export const virtioNetCtrlQueueStats = defineLayout('virtio_net_ctrl_queue_stats', 16, {
  stats: array(
    0,
    1,
    inlineStruct(0, {
      vq_index: u16(0, '__le16'),
      reserved: array(2, 3, u16(0, '__le16')),
      types_bitmap: array(8, 1, u64(0, '__le64')),
    }),
  ),
});

export const VIRTIO_NET_STATS_TYPE_REPLY_CVQ = 32;
export const VIRTIO_NET_STATS_TYPE_REPLY_RX_BASIC = 0;
export const VIRTIO_NET_STATS_TYPE_REPLY_RX_CSUM = 1;
export const VIRTIO_NET_STATS_TYPE_REPLY_RX_GSO = 2;
export const VIRTIO_NET_STATS_TYPE_REPLY_RX_SPEED = 3;
export const VIRTIO_NET_STATS_TYPE_REPLY_TX_BASIC = 16;
export const VIRTIO_NET_STATS_TYPE_REPLY_TX_CSUM = 17;
export const VIRTIO_NET_STATS_TYPE_REPLY_TX_GSO = 18;
export const VIRTIO_NET_STATS_TYPE_REPLY_TX_SPEED = 19;

export const virtioNetStatsReplyHdr = defineLayout('virtio_net_stats_reply_hdr', 8, {
  type: u8(0),
  reserved: u8(1),
  vq_index: u16(2, '__le16'),
  reserved1: u16(4, '__le16'),
  size: u16(6, '__le16'),
});

/** A stats reply: the common header followed by `counters` __le64 fields. */
function statsReply(name: string, counters: readonly string[]): Layout<unknown> {
  const fields: Record<string, ReturnType<typeof u64> | ReturnType<typeof struct>> = { hdr: struct(0, virtioNetStatsReplyHdr) };
  counters.forEach((c, i) => (fields[c] = u64(8 + 8 * i, '__le64')));
  return defineLayout(name, 8 + 8 * counters.length, fields) as Layout<unknown>;
}

export const virtioNetStatsCvq = statsReply('virtio_net_stats_cvq', ['command_num', 'ok_num']);
export const virtioNetStatsRxBasic = statsReply('virtio_net_stats_rx_basic', [
  'rx_notifications',
  'rx_packets',
  'rx_bytes',
  'rx_interrupts',
  'rx_drops',
  'rx_drop_overruns',
]);
export const virtioNetStatsTxBasic = statsReply('virtio_net_stats_tx_basic', [
  'tx_notifications',
  'tx_packets',
  'tx_bytes',
  'tx_interrupts',
  'tx_drops',
  'tx_drop_malformed',
]);
export const virtioNetStatsRxCsum = statsReply('virtio_net_stats_rx_csum', [
  'rx_csum_valid',
  'rx_needs_csum',
  'rx_csum_none',
  'rx_csum_bad',
]);
export const virtioNetStatsTxCsum = statsReply('virtio_net_stats_tx_csum', ['tx_csum_none', 'tx_needs_csum']);
export const virtioNetStatsRxGso = statsReply('virtio_net_stats_rx_gso', [
  'rx_gso_packets',
  'rx_gso_bytes',
  'rx_gso_packets_coalesced',
  'rx_gso_bytes_coalesced',
]);
export const virtioNetStatsTxGso = statsReply('virtio_net_stats_tx_gso', [
  'tx_gso_packets',
  'tx_gso_bytes',
  'tx_gso_segments',
  'tx_gso_segments_bytes',
  'tx_gso_packets_noseg',
  'tx_gso_bytes_noseg',
]);
export const virtioNetStatsRxSpeed = statsReply('virtio_net_stats_rx_speed', ['rx_ratelimit_packets', 'rx_ratelimit_bytes']);
export const virtioNetStatsTxSpeed = statsReply('virtio_net_stats_tx_speed', ['tx_ratelimit_packets', 'tx_ratelimit_bytes']);

// ---- header description -----------------------------------------------------------------------
const UP = { availability: UPSTREAM_ONLY };

const items: (HeaderItem | HeaderItem[])[] = [
  consts({ ETH_ALEN }, { comment: 'From linux/if_ether.h.' }),
  consts({
    VIRTIO_NET_F_CSUM,
    VIRTIO_NET_F_GUEST_CSUM,
    VIRTIO_NET_F_CTRL_GUEST_OFFLOADS,
    VIRTIO_NET_F_MTU,
    VIRTIO_NET_F_MAC,
    VIRTIO_NET_F_GUEST_TSO4,
    VIRTIO_NET_F_GUEST_TSO6,
    VIRTIO_NET_F_GUEST_ECN,
    VIRTIO_NET_F_GUEST_UFO,
    VIRTIO_NET_F_HOST_TSO4,
    VIRTIO_NET_F_HOST_TSO6,
    VIRTIO_NET_F_HOST_ECN,
    VIRTIO_NET_F_HOST_UFO,
    VIRTIO_NET_F_MRG_RXBUF,
    VIRTIO_NET_F_STATUS,
    VIRTIO_NET_F_CTRL_VQ,
    VIRTIO_NET_F_CTRL_RX,
    VIRTIO_NET_F_CTRL_VLAN,
    VIRTIO_NET_F_CTRL_RX_EXTRA,
    VIRTIO_NET_F_GUEST_ANNOUNCE,
    VIRTIO_NET_F_MQ,
    VIRTIO_NET_F_CTRL_MAC_ADDR,
  }),
  consts({ VIRTIO_NET_F_DEVICE_STATS, VIRTIO_NET_F_VQ_NOTF_COAL }, UP),
  consts({ VIRTIO_NET_F_NOTF_COAL }),
  consts({ VIRTIO_NET_F_GUEST_USO4, VIRTIO_NET_F_GUEST_USO6, VIRTIO_NET_F_HOST_USO }, UP),
  consts({ VIRTIO_NET_F_HASH_REPORT }),
  consts({ VIRTIO_NET_F_GUEST_HDRLEN }, UP),
  consts({ VIRTIO_NET_F_RSS, VIRTIO_NET_F_RSC_EXT, VIRTIO_NET_F_STANDBY, VIRTIO_NET_F_SPEED_DUPLEX }),
  consts(
    {
      VIRTIO_NET_F_GUEST_UDP_TUNNEL_GSO,
      VIRTIO_NET_F_GUEST_UDP_TUNNEL_GSO_CSUM,
      VIRTIO_NET_F_HOST_UDP_TUNNEL_GSO,
      VIRTIO_NET_F_HOST_UDP_TUNNEL_GSO_CSUM,
      VIRTIO_NET_F_GUEST_UDP_TUNNEL_GSO_MAPPED,
      VIRTIO_NET_F_GUEST_UDP_TUNNEL_GSO_CSUM_MAPPED,
    },
    UP,
  ),
  consts({ VIRTIO_NET_F_GSO }, { comment: 'Legacy.' }),
  consts({ VIRTIO_NET_S_LINK_UP, VIRTIO_NET_S_ANNOUNCE }),
  consts(
    {
      VIRTIO_NET_RSS_HASH_TYPE_IPv4,
      VIRTIO_NET_RSS_HASH_TYPE_TCPv4,
      VIRTIO_NET_RSS_HASH_TYPE_UDPv4,
      VIRTIO_NET_RSS_HASH_TYPE_IPv6,
      VIRTIO_NET_RSS_HASH_TYPE_TCPv6,
      VIRTIO_NET_RSS_HASH_TYPE_UDPv6,
      VIRTIO_NET_RSS_HASH_TYPE_IP_EX,
      VIRTIO_NET_RSS_HASH_TYPE_TCP_EX,
      VIRTIO_NET_RSS_HASH_TYPE_UDP_EX,
    },
    {
      expr: Object.fromEntries(
        ['IPv4', 'TCPv4', 'UDPv4', 'IPv6', 'TCPv6', 'UDPv6', 'IP_EX', 'TCP_EX', 'UDP_EX'].map((t, i) => [
          `VIRTIO_NET_RSS_HASH_TYPE_${t}`,
          `(1 << ${i})`,
        ]),
      ),
    },
  ),
  structs(virtioNetConfig),
  consts({ VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_F_DATA_VALID, VIRTIO_NET_HDR_F_RSC_INFO }),
  consts({ VIRTIO_NET_HDR_F_UDP_TUNNEL_CSUM }, UP),
  consts({ VIRTIO_NET_HDR_GSO_NONE, VIRTIO_NET_HDR_GSO_TCPV4, VIRTIO_NET_HDR_GSO_UDP, VIRTIO_NET_HDR_GSO_TCPV6 }),
  consts(
    {
      VIRTIO_NET_HDR_GSO_UDP_L4,
      VIRTIO_NET_HDR_GSO_UDP_TUNNEL_IPV4,
      VIRTIO_NET_HDR_GSO_UDP_TUNNEL_IPV6,
      VIRTIO_NET_HDR_GSO_UDP_TUNNEL,
    },
    {
      ...UP,
      hex: true,
      expr: { VIRTIO_NET_HDR_GSO_UDP_TUNNEL: '(VIRTIO_NET_HDR_GSO_UDP_TUNNEL_IPV4 | VIRTIO_NET_HDR_GSO_UDP_TUNNEL_IPV6)' },
    },
  ),
  consts({ VIRTIO_NET_HDR_GSO_ECN }, { hex: true }),
  structs(virtioNetHdrV1),
  consts({
    VIRTIO_NET_HASH_REPORT_NONE,
    VIRTIO_NET_HASH_REPORT_IPv4,
    VIRTIO_NET_HASH_REPORT_TCPv4,
    VIRTIO_NET_HASH_REPORT_UDPv4,
    VIRTIO_NET_HASH_REPORT_IPv6,
    VIRTIO_NET_HASH_REPORT_TCPv6,
    VIRTIO_NET_HASH_REPORT_UDPv6,
    VIRTIO_NET_HASH_REPORT_IPv6_EX,
    VIRTIO_NET_HASH_REPORT_TCPv6_EX,
    VIRTIO_NET_HASH_REPORT_UDPv6_EX,
  }),
  structs(virtioNetHdrV1Hash),
  structsIn(UPSTREAM_ONLY, virtioNetHdrV1HashTunnel),
  comment('Legacy headers.'),
  structs(virtioNetHdr, virtioNetHdrMrgRxbuf),
  comment('Control virtqueue: header, command data, then a 1-byte ack written by the device.'),
  structs(virtioNetCtrlHdr),
  consts({ VIRTIO_NET_OK, VIRTIO_NET_ERR }),
  consts({
    VIRTIO_NET_CTRL_RX,
    VIRTIO_NET_CTRL_RX_PROMISC,
    VIRTIO_NET_CTRL_RX_ALLMULTI,
    VIRTIO_NET_CTRL_RX_ALLUNI,
    VIRTIO_NET_CTRL_RX_NOMULTI,
    VIRTIO_NET_CTRL_RX_NOUNI,
    VIRTIO_NET_CTRL_RX_NOBCAST,
  }),
  structs(virtioNetCtrlMac),
  consts({ VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, VIRTIO_NET_CTRL_MAC_ADDR_SET }),
  consts({ VIRTIO_NET_CTRL_VLAN, VIRTIO_NET_CTRL_VLAN_ADD, VIRTIO_NET_CTRL_VLAN_DEL }),
  consts({ VIRTIO_NET_CTRL_ANNOUNCE, VIRTIO_NET_CTRL_ANNOUNCE_ACK }),
  consts({ VIRTIO_NET_CTRL_MQ }),
  structs(virtioNetCtrlMq),
  consts({ VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN }),
  consts({ VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MAX }, { hex: true }),
  structs(virtioNetRssConfig),
  structsIn(UPSTREAM_ONLY, virtioNetRssConfigHdr, virtioNetRssConfigTrailer),
  consts({ VIRTIO_NET_CTRL_MQ_RSS_CONFIG }),
  structs(virtioNetHashConfig),
  consts({ VIRTIO_NET_CTRL_MQ_HASH_CONFIG }),
  consts({ VIRTIO_NET_CTRL_GUEST_OFFLOADS, VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET }),
  consts({ VIRTIO_NET_CTRL_NOTF_COAL }),
  structs(virtioNetCtrlCoalTx),
  consts({ VIRTIO_NET_CTRL_NOTF_COAL_TX_SET }),
  structs(virtioNetCtrlCoalRx),
  consts({ VIRTIO_NET_CTRL_NOTF_COAL_RX_SET }),
  consts({ VIRTIO_NET_CTRL_NOTF_COAL_VQ_SET, VIRTIO_NET_CTRL_NOTF_COAL_VQ_GET }, UP),
  structsIn(UPSTREAM_ONLY, virtioNetCtrlCoal, virtioNetCtrlCoalVq),
  consts({ VIRTIO_NET_CTRL_STATS, VIRTIO_NET_CTRL_STATS_QUERY, VIRTIO_NET_CTRL_STATS_GET }, UP),
  consts(
    {
      VIRTIO_NET_STATS_TYPE_CVQ,
      VIRTIO_NET_STATS_TYPE_RX_BASIC,
      VIRTIO_NET_STATS_TYPE_RX_CSUM,
      VIRTIO_NET_STATS_TYPE_RX_GSO,
      VIRTIO_NET_STATS_TYPE_RX_SPEED,
      VIRTIO_NET_STATS_TYPE_TX_BASIC,
      VIRTIO_NET_STATS_TYPE_TX_CSUM,
      VIRTIO_NET_STATS_TYPE_TX_GSO,
      VIRTIO_NET_STATS_TYPE_TX_SPEED,
    },
    {
      ...UP,
      expr: {
        VIRTIO_NET_STATS_TYPE_CVQ: '(1ULL << 32)',
        VIRTIO_NET_STATS_TYPE_RX_BASIC: '(1ULL << 0)',
        VIRTIO_NET_STATS_TYPE_RX_CSUM: '(1ULL << 1)',
        VIRTIO_NET_STATS_TYPE_RX_GSO: '(1ULL << 2)',
        VIRTIO_NET_STATS_TYPE_RX_SPEED: '(1ULL << 3)',
        VIRTIO_NET_STATS_TYPE_TX_BASIC: '(1ULL << 16)',
        VIRTIO_NET_STATS_TYPE_TX_CSUM: '(1ULL << 17)',
        VIRTIO_NET_STATS_TYPE_TX_GSO: '(1ULL << 18)',
        VIRTIO_NET_STATS_TYPE_TX_SPEED: '(1ULL << 19)',
      },
    },
  ),
  structsIn(UPSTREAM_ONLY, virtioNetStatsCapabilities, virtioNetCtrlQueueStats),
  consts(
    {
      VIRTIO_NET_STATS_TYPE_REPLY_CVQ,
      VIRTIO_NET_STATS_TYPE_REPLY_RX_BASIC,
      VIRTIO_NET_STATS_TYPE_REPLY_RX_CSUM,
      VIRTIO_NET_STATS_TYPE_REPLY_RX_GSO,
      VIRTIO_NET_STATS_TYPE_REPLY_RX_SPEED,
      VIRTIO_NET_STATS_TYPE_REPLY_TX_BASIC,
      VIRTIO_NET_STATS_TYPE_REPLY_TX_CSUM,
      VIRTIO_NET_STATS_TYPE_REPLY_TX_GSO,
      VIRTIO_NET_STATS_TYPE_REPLY_TX_SPEED,
    },
    UP,
  ),
  structsIn(UPSTREAM_ONLY, 
    virtioNetStatsReplyHdr,
    virtioNetStatsCvq,
    virtioNetStatsRxBasic,
    virtioNetStatsTxBasic,
    virtioNetStatsRxCsum,
    virtioNetStatsTxCsum,
    virtioNetStatsRxGso,
    virtioNetStatsTxGso,
    virtioNetStatsRxSpeed,
    virtioNetStatsTxSpeed,
  ),
];

export const virtioNetHeader = defineHeader('linux/virtio_net.h', items);
