// QEMU's virtio-net device model (hw/net/virtio-net.c): reset and feature defaults, every control
// command's accepted and rejected forms, the receive filter under every RX mode, and the
// first_multi recomputation done after migration. The expected values are QEMU's answers.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  GUEST_OFFLOADS_MASK,
  MAC_TABLE_ENTRIES,
  MAX_VLAN,
  VirtioNetState,
  type VirtioNetStateOptions,
  ctrlMacTableSet,
  formatMac,
  guestOffloadsByFeatures,
  parseMac,
  virtioNetHdrLen,
} from '../../../lib/net/index.js';
import {
  VIRTIO_F_VERSION_1,
  VIRTIO_NET_CTRL_ANNOUNCE,
  VIRTIO_NET_CTRL_ANNOUNCE_ACK,
  VIRTIO_NET_CTRL_GUEST_OFFLOADS,
  VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET,
  VIRTIO_NET_CTRL_MAC,
  VIRTIO_NET_CTRL_MAC_ADDR_SET,
  VIRTIO_NET_CTRL_MAC_TABLE_SET,
  VIRTIO_NET_CTRL_MQ,
  VIRTIO_NET_CTRL_MQ_HASH_CONFIG,
  VIRTIO_NET_CTRL_MQ_RSS_CONFIG,
  VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
  VIRTIO_NET_CTRL_NOTF_COAL,
  VIRTIO_NET_CTRL_RX,
  VIRTIO_NET_CTRL_RX_ALLMULTI,
  VIRTIO_NET_CTRL_RX_ALLUNI,
  VIRTIO_NET_CTRL_RX_NOBCAST,
  VIRTIO_NET_CTRL_RX_NOMULTI,
  VIRTIO_NET_CTRL_RX_NOUNI,
  VIRTIO_NET_CTRL_RX_PROMISC,
  VIRTIO_NET_CTRL_STATS,
  VIRTIO_NET_CTRL_VLAN,
  VIRTIO_NET_CTRL_VLAN_ADD,
  VIRTIO_NET_CTRL_VLAN_DEL,
  VIRTIO_NET_ERR,
  VIRTIO_NET_F_CSUM,
  VIRTIO_NET_F_CTRL_GUEST_OFFLOADS,
  VIRTIO_NET_F_CTRL_RX,
  VIRTIO_NET_F_CTRL_VLAN,
  VIRTIO_NET_F_CTRL_VQ,
  VIRTIO_NET_F_GUEST_ANNOUNCE,
  VIRTIO_NET_F_GUEST_CSUM,
  VIRTIO_NET_F_GUEST_ECN,
  VIRTIO_NET_F_GUEST_TSO4,
  VIRTIO_NET_F_GUEST_TSO6,
  VIRTIO_NET_F_GUEST_UFO,
  VIRTIO_NET_F_GUEST_USO4,
  VIRTIO_NET_F_GUEST_USO6,
  VIRTIO_NET_F_HASH_REPORT,
  VIRTIO_NET_F_HOST_TSO4,
  VIRTIO_NET_F_MQ,
  VIRTIO_NET_F_MRG_RXBUF,
  VIRTIO_NET_F_RSC_EXT,
  VIRTIO_NET_F_RSS,
  VIRTIO_NET_OK,
  VIRTIO_NET_S_ANNOUNCE,
  VIRTIO_NET_S_LINK_UP,
} from '../../../uapi/index.js';

const OK = VIRTIO_NET_OK;
const ERR = VIRTIO_NET_ERR;
const bit = (n: number): bigint => 1n << BigInt(n);
const mac = (s: string): Uint8Array => parseMac(s) as Uint8Array;

const CONF_MAC = mac('52:54:00:12:34:56');
const OTHER_UNI = mac('52:54:00:aa:bb:cc');
const TABLE_UNI = mac('02:00:00:00:00:01');
const TABLE_MULTI = mac('01:00:5e:00:00:fb');
const OTHER_MULTI = mac('33:33:00:00:00:01');
const BCAST = mac('ff:ff:ff:ff:ff:ff');
const SRC = mac('02:00:00:00:00:99');

const BASE_FEATURES = bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_NET_F_CTRL_VQ) | bit(VIRTIO_NET_F_CTRL_RX);

function device(opts: Partial<VirtioNetStateOptions> = {}, features = BASE_FEATURES): VirtioNetState {
  const s = new VirtioNetState({ mac: CONF_MAC, maxQueuePairs: 4, ...opts });
  s.setFeatures(features);
  return s;
}

function cmd(cls: number, c: number, ...payload: (number | Uint8Array)[]): Uint8Array {
  const bytes: number[] = [cls, c];
  for (const p of payload) bytes.push(...(typeof p === 'number' ? [p] : p));
  return Uint8Array.from(bytes);
}

const ctrl = (s: VirtioNetState, c: Uint8Array): number => s.handleCtrl(c, c.length);

function le16(v: number): Uint8Array {
  const b = new Uint8Array(2);
  new DataView(b.buffer).setUint16(0, v, true);
  return b;
}
function le32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  return b;
}
function le64(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return b;
}

const rx = (c: number, on: number) => cmd(VIRTIO_NET_CTRL_RX, c, on);
const vlan = (c: number, vid: number) => cmd(VIRTIO_NET_CTRL_VLAN, c, le16(vid));
const pairsSet = (n: number) => cmd(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, le16(n));
const offloadsSet = (o: bigint) => cmd(VIRTIO_NET_CTRL_GUEST_OFFLOADS, VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET, le64(o));

/** A minimal frame: dst, src, optionally an 802.1Q tag (TCI), then IPv4's ethertype, padded to `size`. */
function frame(dst: Uint8Array, o: { tci?: number; size?: number } = {}): Uint8Array {
  const tagged = o.tci !== undefined;
  const f = new Uint8Array(o.size ?? 60);
  const head = new Uint8Array(tagged ? 18 : 14);
  const v = new DataView(head.buffer);
  head.set(dst, 0);
  head.set(SRC, 6);
  if (tagged) {
    v.setUint16(12, 0x8100);
    v.setUint16(14, o.tci as number);
    v.setUint16(16, 0x0800);
  } else {
    v.setUint16(12, 0x0800);
  }
  f.set(head.subarray(0, Math.min(head.length, f.length)));
  return f;
}

const accepts = (s: VirtioNetState, f: Uint8Array): boolean => s.receiveFilter(f, 0, f.length);

/** Promiscuous mode off, table = [TABLE_UNI | TABLE_MULTI]; without CTRL_VLAN unless asked. */
function filtering(features = BASE_FEATURES): VirtioNetState {
  const s = device({}, features);
  expect(ctrl(s, rx(VIRTIO_NET_CTRL_RX_PROMISC, 0))).toBe(OK);
  expect(ctrl(s, ctrlMacTableSet([TABLE_UNI], [TABLE_MULTI]))).toBe(OK);
  return s;
}

function snapshot(s: VirtioNetState) {
  return {
    mac: formatMac(s.mac),
    modes: [s.promisc, s.allmulti, s.alluni, s.nomulti, s.nouni, s.nobcast],
    table: { ...s.macTable, macs: Array.from(s.macTable.macs) },
    vlans: Array.from(s.vlans),
    currQueuePairs: s.currQueuePairs,
    multiqueue: s.multiqueue,
    status: s.status,
    features: s.features,
    currGuestOffloads: s.currGuestOffloads,
    rsc4Enabled: s.rsc4Enabled,
    rsc6Enabled: s.rsc6Enabled,
  };
}

const vlanBit = (s: VirtioNetState, vid: number): boolean => (((s.vlans[vid >>> 5] as number) >>> (vid & 31)) & 1) === 1;

describe('virtioNetHdrLen (guest_hdr_len)', () => {
  it('is 10 (virtio_net_hdr) for a legacy device without MRG_RXBUF', () => {
    expect(virtioNetHdrLen(0n)).toBe(10);
  });

  it('is 12 (virtio_net_hdr_mrg_rxbuf) for a legacy device with MRG_RXBUF', () => {
    expect(virtioNetHdrLen(bit(VIRTIO_NET_F_MRG_RXBUF))).toBe(12);
  });

  it('is 12 with VERSION_1, MRG_RXBUF or not', () => {
    expect(virtioNetHdrLen(bit(VIRTIO_F_VERSION_1))).toBe(12);
    expect(virtioNetHdrLen(bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_NET_F_MRG_RXBUF))).toBe(12);
  });

  it('is 20 (virtio_net_hdr_v1_hash) with VERSION_1 and HASH_REPORT', () => {
    expect(virtioNetHdrLen(bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_NET_F_HASH_REPORT))).toBe(20);
  });

  it('ignores HASH_REPORT without VERSION_1, as virtio_net_set_mrg_rx_bufs does', () => {
    expect(virtioNetHdrLen(bit(VIRTIO_NET_F_HASH_REPORT))).toBe(10);
  });
});

describe('realize defaults', () => {
  it('start promiscuous, other RX modes off, one queue pair, link up, the configured MAC, every VLAN passing', () => {
    const s = new VirtioNetState({ mac: CONF_MAC, maxQueuePairs: 4 });
    expect([s.promisc, s.allmulti, s.alluni, s.nomulti, s.nouni, s.nobcast]).toEqual([1, 0, 0, 0, 0, 0]);
    expect(s.currQueuePairs).toBe(1);
    expect(s.status).toBe(VIRTIO_NET_S_LINK_UP);
    expect(s.mac).toEqual(CONF_MAC);
    expect(s.macTable.inUse).toBe(0);
    expect(s.vlans.every((w) => w === 0xffffffff)).toBe(true);
  });

  it('copies the configured MAC rather than aliasing it', () => {
    const conf = Uint8Array.from(CONF_MAC);
    const s = new VirtioNetState({ mac: conf, maxQueuePairs: 1 });
    conf[5] = 0;
    s.reset();
    expect(s.mac).toEqual(CONF_MAC);
  });

  it('rejects a MAC that is not 6 bytes', () => {
    expect(() => new VirtioNetState({ mac: new Uint8Array(5), maxQueuePairs: 1 })).toThrow(RangeError);
  });

  it('rejects maxQueuePairs outside 1..0x8000', () => {
    expect(() => new VirtioNetState({ mac: CONF_MAC, maxQueuePairs: 0 })).toThrow(RangeError);
    expect(() => new VirtioNetState({ mac: CONF_MAC, maxQueuePairs: 0x8001 })).toThrow(RangeError);
    expect(() => new VirtioNetState({ mac: CONF_MAC, maxQueuePairs: 1.5 })).toThrow(RangeError);
  });
});

describe('reset (virtio_net_reset)', () => {
  it('turns promiscuous mode back on and every other RX mode off', () => {
    const s = device();
    for (const c of [0, 1, 2, 3, 4, 5]) ctrl(s, rx(c, c === 0 ? 0 : 1));
    s.reset();
    expect([s.promisc, s.allmulti, s.alluni, s.nomulti, s.nouni, s.nobcast]).toEqual([1, 0, 0, 0, 0, 0]);
  });

  it('flushes the MAC table, its overflow flags and its bytes', () => {
    const s = device();
    ctrl(s, ctrlMacTableSet([TABLE_UNI], [TABLE_MULTI]));
    // Both flags set, as a migrated table may have them.
    s.macTable.uniOverflow = 1;
    s.macTable.multiOverflow = 1;
    s.reset();
    const t = s.macTable;
    expect([t.inUse, t.firstMulti, t.uniOverflow, t.multiOverflow]).toEqual([0, 0, 0, 0]);
    expect(t.macs.every((b) => b === 0)).toBe(true);
  });

  it('puts the configured MAC back after MAC_ADDR_SET', () => {
    const s = device();
    ctrl(s, cmd(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, OTHER_UNI));
    s.reset();
    expect(s.mac).toEqual(CONF_MAC);
  });

  it('leaves the VLAN filter alone (QEMU 6071d13c6a moved its reset to setFeatures)', () => {
    const s = device({}, BASE_FEATURES | bit(VIRTIO_NET_F_CTRL_VLAN));
    ctrl(s, vlan(VIRTIO_NET_CTRL_VLAN_ADD, 7));
    s.reset();
    expect(vlanBit(s, 7)).toBe(true);
    expect(s.vlans.reduce((n, w) => n + (w === 0 ? 0 : 1), 0)).toBe(1);
  });

  it('keeps LINK_UP and clears ANNOUNCE', () => {
    const s = device();
    s.status |= VIRTIO_NET_S_ANNOUNCE;
    s.reset();
    expect(s.status).toBe(VIRTIO_NET_S_LINK_UP);
  });

  it('goes back to one queue pair', () => {
    const s = device({}, BASE_FEATURES | bit(VIRTIO_NET_F_MQ));
    ctrl(s, pairsSet(3));
    s.reset();
    expect(s.currQueuePairs).toBe(1);
  });

  it('leaves features, multiqueue and guest offloads to setFeatures', () => {
    const f = BASE_FEATURES | bit(VIRTIO_NET_F_MQ) | bit(VIRTIO_NET_F_GUEST_CSUM);
    const s = device({}, f);
    s.reset();
    expect([s.features, s.multiqueue, s.currGuestOffloads]).toEqual([f, true, bit(VIRTIO_NET_F_GUEST_CSUM)]);
  });

  it('followed by setFeatures(0) and a CTRL_VLAN renegotiation, as virtio_reset and a guest do, starts with an empty VLAN filter', () => {
    const s = device({}, BASE_FEATURES | bit(VIRTIO_NET_F_CTRL_VLAN));
    ctrl(s, vlan(VIRTIO_NET_CTRL_VLAN_ADD, 7));
    s.reset();
    s.setFeatures(0n);
    expect(s.vlans.every((w) => w === 0xffffffff)).toBe(true);
    expect([s.multiqueue, s.currGuestOffloads]).toEqual([false, 0n]);
    s.setFeatures(BASE_FEATURES | bit(VIRTIO_NET_F_CTRL_VLAN));
    expect(s.vlans.every((w) => w === 0)).toBe(true);
  });
});

describe('setFeatures (virtio_net_set_features)', () => {
  it('without CTRL_VLAN sets every bit of the VLAN filter', () => {
    const s = new VirtioNetState({ mac: CONF_MAC, maxQueuePairs: 1 });
    s.setFeatures(BASE_FEATURES);
    expect(s.vlans.length).toBe(MAX_VLAN / 32);
    expect(s.vlans.every((w) => w === 0xffffffff)).toBe(true);
  });

  it('starts all-ones at realize, so every VLAN passes before features are set', () => {
    const s = new VirtioNetState({ mac: CONF_MAC, maxQueuePairs: 1 });
    expect(s.vlans.every((w) => w === 0xffffffff)).toBe(true);
  });

  it('empties the VLAN filter when CTRL_VLAN is newly negotiated', () => {
    expect(device({}, BASE_FEATURES | bit(VIRTIO_NET_F_CTRL_VLAN)).vlans.every((w) => w === 0)).toBe(true);
  });

  it('with CTRL_VLAN unchanged leaves the VLAN filter as it is (a migration restores it first)', () => {
    const s = device({}, BASE_FEATURES | bit(VIRTIO_NET_F_CTRL_VLAN));
    ctrl(s, vlan(VIRTIO_NET_CTRL_VLAN_ADD, 100));
    s.setFeatures(BASE_FEATURES | bit(VIRTIO_NET_F_CTRL_VLAN) | bit(VIRTIO_NET_F_MQ));
    expect(vlanBit(s, 100)).toBe(true);
    expect(s.vlans.reduce((n, w) => n + (w === 0 ? 0 : 1), 0)).toBe(1);
  });

  it('fills the VLAN filter when CTRL_VLAN is dropped', () => {
    const s = device({}, BASE_FEATURES | bit(VIRTIO_NET_F_CTRL_VLAN));
    s.setFeatures(BASE_FEATURES);
    expect(s.vlans.every((w) => w === 0xffffffff)).toBe(true);
  });

  it('turns multiqueue on with MQ', () => {
    expect(device({}, BASE_FEATURES | bit(VIRTIO_NET_F_MQ)).multiqueue).toBe(true);
    expect(device({}, BASE_FEATURES).multiqueue).toBe(false);
  });

  it('turns multiqueue on with RSS alone', () => {
    expect(device({}, BASE_FEATURES | bit(VIRTIO_NET_F_RSS)).multiqueue).toBe(true);
  });

  it('sets the current guest offloads to the negotiated GUEST_* offload bits only', () => {
    const guest = bit(VIRTIO_NET_F_GUEST_CSUM) | bit(VIRTIO_NET_F_GUEST_TSO4) | bit(VIRTIO_NET_F_GUEST_USO6);
    const s = device({}, BASE_FEATURES | guest | bit(VIRTIO_NET_F_CSUM) | bit(VIRTIO_NET_F_HOST_TSO4));
    expect(s.currGuestOffloads).toBe(guest);
  });

  it('counts GUEST_CSUM, TSO4, TSO6, ECN, UFO, USO4 and USO6 as guest offloads', () => {
    const all = [
      VIRTIO_NET_F_GUEST_CSUM,
      VIRTIO_NET_F_GUEST_TSO4,
      VIRTIO_NET_F_GUEST_TSO6,
      VIRTIO_NET_F_GUEST_ECN,
      VIRTIO_NET_F_GUEST_UFO,
      VIRTIO_NET_F_GUEST_USO4,
      VIRTIO_NET_F_GUEST_USO6,
    ].reduce((m, b) => m | bit(b), 0n);
    expect(GUEST_OFFLOADS_MASK).toBe(all);
    expect(guestOffloadsByFeatures((1n << 64n) - 1n)).toBe(all);
  });

  it('does not count negotiated offloads outside supportedGuestOffloads', () => {
    const s = device({ supportedGuestOffloads: bit(VIRTIO_NET_F_GUEST_CSUM) }, BASE_FEATURES | GUEST_OFFLOADS_MASK);
    expect(s.currGuestOffloads).toBe(bit(VIRTIO_NET_F_GUEST_CSUM));
  });

  it('leaves the current guest offloads alone when the peer has no vnet header', () => {
    const s = device({ hasVnetHdr: false }, BASE_FEATURES | bit(VIRTIO_NET_F_GUEST_CSUM));
    expect(s.currGuestOffloads).toBe(0n);
  });

  it('enables RSC for IPv4 / IPv6 when RSC_EXT comes with GUEST_TSO4 / GUEST_TSO6', () => {
    const s = device({}, BASE_FEATURES | bit(VIRTIO_NET_F_RSC_EXT) | bit(VIRTIO_NET_F_GUEST_TSO4));
    expect([s.rsc4Enabled, s.rsc6Enabled]).toEqual([true, false]);
    s.setFeatures(BASE_FEATURES | bit(VIRTIO_NET_F_GUEST_TSO4) | bit(VIRTIO_NET_F_GUEST_TSO6));
    expect([s.rsc4Enabled, s.rsc6Enabled]).toEqual([false, false]);
  });
});

describe('handleCtrl framing (virtio_net_handle_ctrl_iov)', () => {
  it('answers ERR to an out part shorter than the 2-byte header', () => {
    const s = device();
    const before = snapshot(s);
    expect(s.handleCtrl(new Uint8Array(0), 0)).toBe(ERR);
    expect(s.handleCtrl(Uint8Array.of(VIRTIO_NET_CTRL_RX), 1)).toBe(ERR);
    expect(snapshot(s)).toEqual(before);
  });

  it.each([
    ['NOTF_COAL', VIRTIO_NET_CTRL_NOTF_COAL],
    ['7', 7],
    ['STATS', VIRTIO_NET_CTRL_STATS],
    ['255', 255],
  ])('answers ERR to class %s, which the model does not handle', (_name, cls) => {
    expect(ctrl(device(), cmd(cls, 0, 0, 0, 0, 0, 0, 0, 0, 0))).toBe(ERR);
  });

  it('reads only outLen bytes of the buffer', () => {
    const s = device();
    const c = cmd(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, OTHER_UNI, 0xee);
    expect(s.handleCtrl(c, 8)).toBe(OK);
    expect(s.mac).toEqual(OTHER_UNI);
  });

  it('bounds an outLen larger than the buffer by the buffer', () => {
    const s = device();
    expect(s.handleCtrl(cmd(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, OTHER_UNI), 4096)).toBe(OK);
    expect(s.mac).toEqual(OTHER_UNI);
  });

  it('treats a negative or NaN outLen as empty: ERR', () => {
    const s = device();
    const c = rx(VIRTIO_NET_CTRL_RX_PROMISC, 0);
    expect(s.handleCtrl(c, -1)).toBe(ERR);
    expect(s.handleCtrl(c, Number.NaN)).toBe(ERR);
    expect(s.promisc).toBe(1);
  });

  it('reads a command that sits at a byteOffset inside a larger buffer', () => {
    const s = device({}, BASE_FEATURES | bit(VIRTIO_NET_F_MQ));
    const page = new Uint8Array(64).fill(0xaa);
    page.set(pairsSet(3), 17);
    expect(s.handleCtrl(page.subarray(17), 4)).toBe(OK);
    expect(s.currQueuePairs).toBe(3);
  });
});

describe('RX class (virtio_net_handle_rx_mode)', () => {
  const modes = [
    ['PROMISC', VIRTIO_NET_CTRL_RX_PROMISC, 'promisc'],
    ['ALLMULTI', VIRTIO_NET_CTRL_RX_ALLMULTI, 'allmulti'],
    ['ALLUNI', VIRTIO_NET_CTRL_RX_ALLUNI, 'alluni'],
    ['NOMULTI', VIRTIO_NET_CTRL_RX_NOMULTI, 'nomulti'],
    ['NOUNI', VIRTIO_NET_CTRL_RX_NOUNI, 'nouni'],
    ['NOBCAST', VIRTIO_NET_CTRL_RX_NOBCAST, 'nobcast'],
  ] as const;

  it.each(modes)('%s sets its flag to the byte sent, on and off', (_name, c, field) => {
    const s = device();
    expect(ctrl(s, rx(c, 1))).toBe(OK);
    expect(s[field]).toBe(1);
    expect(ctrl(s, rx(c, 0))).toBe(OK);
    expect(s[field]).toBe(0);
  });

  it('stores the byte as sent: 2 is kept as 2', () => {
    const s = device();
    expect(ctrl(s, rx(VIRTIO_NET_CTRL_RX_ALLMULTI, 2))).toBe(OK);
    expect(s.allmulti).toBe(2);
  });

  it('answers ERR to a command without the on/off byte', () => {
    const s = device();
    expect(ctrl(s, cmd(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC))).toBe(ERR);
    expect(s.promisc).toBe(1);
  });

  it('ignores bytes after the first (iov_to_buf reads one)', () => {
    const s = device();
    expect(ctrl(s, cmd(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 0, 1, 1))).toBe(OK);
    expect(s.promisc).toBe(0);
  });

  it('answers ERR to an unknown RX command and changes nothing', () => {
    const s = device();
    const before = snapshot(s);
    expect(ctrl(s, rx(6, 1))).toBe(ERR);
    expect(snapshot(s)).toEqual(before);
  });

  it('needs no negotiated CTRL_RX', () => {
    const s = device({}, bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_NET_F_CTRL_VQ));
    expect(ctrl(s, rx(VIRTIO_NET_CTRL_RX_PROMISC, 0))).toBe(OK);
    expect(s.promisc).toBe(0);
  });
});

describe('MAC class: ADDR_SET', () => {
  const addrSet = (...p: (number | Uint8Array)[]) => cmd(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, ...p);

  it('sets the MAC from exactly 6 bytes', () => {
    const s = device();
    expect(ctrl(s, addrSet(OTHER_UNI))).toBe(OK);
    expect(s.mac).toEqual(OTHER_UNI);
  });

  it('answers ERR to 5 bytes and keeps the MAC', () => {
    const s = device();
    expect(ctrl(s, addrSet(OTHER_UNI.subarray(0, 5)))).toBe(ERR);
    expect(s.mac).toEqual(CONF_MAC);
  });

  it('answers ERR to 7 bytes (iov_size must be exactly 6) and keeps the MAC', () => {
    const s = device();
    expect(ctrl(s, addrSet(OTHER_UNI, 0))).toBe(ERR);
    expect(s.mac).toEqual(CONF_MAC);
  });

  it('answers ERR to an unknown MAC command', () => {
    const s = device();
    const before = snapshot(s);
    expect(ctrl(s, cmd(VIRTIO_NET_CTRL_MAC, 2, OTHER_UNI))).toBe(ERR);
    expect(snapshot(s)).toEqual(before);
  });
});

describe('MAC class: TABLE_SET', () => {
  const tableSet = (...p: (number | Uint8Array)[]) => cmd(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, ...p);
  const entry = (i: number, multicast: boolean) => Uint8Array.of(multicast ? 0x01 : 0x02, 0, 0, 0, i >> 8, i & 0xff);
  const entries = (n: number, multicast: boolean, from = 0) => Array.from({ length: n }, (_, i) => entry(from + i, multicast));
  const tableMacs = (s: VirtioNetState) =>
    Array.from({ length: s.macTable.inUse }, (_, i) => formatMac(s.macTable.macs, i * 6));

  it('stores the unicast list, then the multicast list, with firstMulti between them', () => {
    const s = device();
    expect(ctrl(s, ctrlMacTableSet([TABLE_UNI, OTHER_UNI], [TABLE_MULTI]))).toBe(OK);
    expect(tableMacs(s)).toEqual([formatMac(TABLE_UNI), formatMac(OTHER_UNI), formatMac(TABLE_MULTI)]);
    expect([s.macTable.inUse, s.macTable.firstMulti, s.macTable.uniOverflow, s.macTable.multiOverflow]).toEqual([3, 2, 0, 0]);
  });

  it('empties the table with two empty lists', () => {
    const s = device();
    ctrl(s, ctrlMacTableSet([TABLE_UNI], [TABLE_MULTI]));
    expect(ctrl(s, ctrlMacTableSet([], []))).toBe(OK);
    expect([s.macTable.inUse, s.macTable.firstMulti]).toEqual([0, 0]);
    expect(s.macTable.macs.every((b) => b === 0)).toBe(true);
  });

  it('holds 64 unicast entries without overflow', () => {
    const s = device();
    expect(ctrl(s, ctrlMacTableSet(entries(MAC_TABLE_ENTRIES, false), []))).toBe(OK);
    expect([s.macTable.inUse, s.macTable.firstMulti, s.macTable.uniOverflow]).toEqual([64, 64, 0]);
  });

  it('drops more than 64 unicast entries and sets uniOverflow; multicast then starts at entry 0', () => {
    const s = device();
    expect(ctrl(s, ctrlMacTableSet(entries(65, false), [TABLE_MULTI]))).toBe(OK);
    expect([s.macTable.inUse, s.macTable.firstMulti, s.macTable.uniOverflow, s.macTable.multiOverflow]).toEqual([1, 0, 1, 0]);
    expect(tableMacs(s)).toEqual([formatMac(TABLE_MULTI)]);
  });

  it('drops a multicast list larger than the space left and sets multiOverflow, keeping the unicast list', () => {
    const s = device();
    expect(ctrl(s, ctrlMacTableSet(entries(60, false), entries(5, true)))).toBe(OK);
    expect([s.macTable.inUse, s.macTable.firstMulti, s.macTable.uniOverflow, s.macTable.multiOverflow]).toEqual([60, 60, 0, 1]);
  });

  it('fills the table exactly with 60 unicast + 4 multicast', () => {
    const s = device();
    expect(ctrl(s, ctrlMacTableSet(entries(60, false), entries(4, true)))).toBe(OK);
    expect([s.macTable.inUse, s.macTable.multiOverflow]).toEqual([64, 0]);
  });

  it('sets both overflow flags when both lists are too long', () => {
    const s = device();
    expect(ctrl(s, ctrlMacTableSet(entries(65, false), entries(65, true)))).toBe(OK);
    expect([s.macTable.inUse, s.macTable.uniOverflow, s.macTable.multiOverflow]).toEqual([0, 1, 1]);
  });

  it('replaces the old table whole, zeroing the bytes past the new inUse', () => {
    const s = device();
    ctrl(s, ctrlMacTableSet(entries(10, false), entries(10, true)));
    ctrl(s, ctrlMacTableSet([TABLE_UNI], []));
    expect(s.macTable.inUse).toBe(1);
    expect(s.macTable.macs.subarray(6).every((b) => b === 0)).toBe(true);
  });

  it('clears an old overflow flag', () => {
    const s = device();
    ctrl(s, ctrlMacTableSet(entries(65, false), []));
    ctrl(s, ctrlMacTableSet([], []));
    expect(s.macTable.uniOverflow).toBe(0);
  });

  it('answers ERR when the first count needs more bytes than the command has', () => {
    const s = device();
    expect(ctrl(s, tableSet(le32(2), TABLE_UNI, le32(0)))).toBe(ERR);
  });

  it('answers ERR without the first count', () => {
    expect(ctrl(device(), tableSet())).toBe(ERR);
    expect(ctrl(device(), tableSet(0, 0, 0))).toBe(ERR);
  });

  it('answers ERR without the second count', () => {
    expect(ctrl(device(), tableSet(le32(1), TABLE_UNI))).toBe(ERR);
    expect(ctrl(device(), tableSet(le32(1), TABLE_UNI, 0, 0, 0))).toBe(ERR);
  });

  it('answers ERR when the second list is one byte longer than its count, leaving the table unchanged', () => {
    const s = device();
    ctrl(s, ctrlMacTableSet([OTHER_UNI], [OTHER_MULTI]));
    const before = snapshot(s);
    expect(ctrl(s, tableSet(le32(1), TABLE_UNI, le32(1), TABLE_MULTI, 0))).toBe(ERR);
    expect(snapshot(s)).toEqual(before);
  });

  it('answers ERR when the second list is one byte shorter than its count, leaving the table unchanged', () => {
    const s = device();
    ctrl(s, ctrlMacTableSet([OTHER_UNI], [OTHER_MULTI]));
    const before = snapshot(s);
    expect(ctrl(s, tableSet(le32(1), TABLE_UNI, le32(1), TABLE_MULTI.subarray(0, 5)))).toBe(ERR);
    expect(snapshot(s)).toEqual(before);
  });

  it('answers ERR when an overflowing second list does not fill the rest exactly', () => {
    const s = device();
    const before = snapshot(s);
    expect(ctrl(s, tableSet(le32(0), le32(65), new Uint8Array(6)))).toBe(ERR);
    expect(snapshot(s)).toEqual(before);
  });

  it('wraps the first count times 6 at 2^32: 0x2aaaaaab entries pass as 2 bytes and overflow', () => {
    // 0x2aaaaaab * 6 = 2^32 + 2: QEMU's unsigned int product is 2, so 2 filler bytes are skipped.
    const s = device();
    expect(ctrl(s, tableSet(le32(0x2aaaaaab), 0xee, 0xee, le32(1), TABLE_MULTI))).toBe(OK);
    expect([s.macTable.inUse, s.macTable.firstMulti, s.macTable.uniOverflow, s.macTable.multiOverflow]).toEqual([1, 0, 1, 0]);
    expect(formatMac(s.macTable.macs, 0)).toBe(formatMac(TABLE_MULTI));
  });

  it('wraps the second count times 6 at 2^32: 0x2aaaaaab entries match 2 remaining bytes and overflow', () => {
    const s = device();
    expect(ctrl(s, tableSet(le32(1), TABLE_UNI, le32(0x2aaaaaab), 0xee, 0xee))).toBe(OK);
    expect([s.macTable.inUse, s.macTable.firstMulti, s.macTable.multiOverflow]).toEqual([1, 1, 1]);
  });

  it('accepts multicast addresses in the unicast list as the guest sent them', () => {
    const s = device();
    expect(ctrl(s, ctrlMacTableSet([TABLE_MULTI], []))).toBe(OK);
    expect([s.macTable.inUse, s.macTable.firstMulti]).toEqual([1, 1]);
  });
});

describe('ctrlMacTableSet', () => {
  it('encodes the header, then each list as a little-endian u32 count and its addresses', () => {
    const c = ctrlMacTableSet([TABLE_UNI], [TABLE_MULTI, BCAST]);
    expect(Buffer.from(c).toString('hex')).toBe(
      '0100' + '01000000' + '020000000001' + '02000000' + '01005e0000fb' + 'ffffffffffff',
    );
  });

  it('encodes two empty lists as 10 bytes', () => {
    expect(Array.from(ctrlMacTableSet([], []))).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('throws a RangeError for an address that is not 6 bytes', () => {
    expect(() => ctrlMacTableSet([new Uint8Array(5)], [])).toThrow(RangeError);
  });
});

describe('VLAN class (virtio_net_handle_vlan_table)', () => {
  const vlanDevice = () => device({}, BASE_FEATURES | bit(VIRTIO_NET_F_CTRL_VLAN));

  it('ADD sets the bit of the vid and DEL clears it', () => {
    const s = vlanDevice();
    expect(ctrl(s, vlan(VIRTIO_NET_CTRL_VLAN_ADD, 100))).toBe(OK);
    expect(s.vlans[3]).toBe(1 << 4);
    expect(ctrl(s, vlan(VIRTIO_NET_CTRL_VLAN_DEL, 100))).toBe(OK);
    expect(s.vlans[3]).toBe(0);
  });

  it('accepts vid 4095 and sets the top bit of the last word', () => {
    const s = vlanDevice();
    expect(ctrl(s, vlan(VIRTIO_NET_CTRL_VLAN_ADD, 4095))).toBe(OK);
    expect(s.vlans[127]).toBe(0x80000000);
  });

  it('answers ERR to vid 4096 and changes nothing', () => {
    const s = vlanDevice();
    const before = snapshot(s);
    expect(ctrl(s, vlan(VIRTIO_NET_CTRL_VLAN_ADD, MAX_VLAN))).toBe(ERR);
    expect(ctrl(s, vlan(VIRTIO_NET_CTRL_VLAN_ADD, 0xffff))).toBe(ERR);
    expect(snapshot(s)).toEqual(before);
  });

  it('answers ERR to a 1-byte vid', () => {
    const s = vlanDevice();
    expect(ctrl(s, cmd(VIRTIO_NET_CTRL_VLAN, VIRTIO_NET_CTRL_VLAN_ADD, 5))).toBe(ERR);
    expect(vlanBit(s, 5)).toBe(false);
  });

  it('ignores bytes after the 2-byte vid', () => {
    const s = vlanDevice();
    expect(ctrl(s, cmd(VIRTIO_NET_CTRL_VLAN, VIRTIO_NET_CTRL_VLAN_ADD, le16(5), 0xff))).toBe(OK);
    expect(vlanBit(s, 5)).toBe(true);
  });

  it('answers ERR to an unknown VLAN command with a good vid and changes nothing', () => {
    const s = vlanDevice();
    const before = snapshot(s);
    expect(ctrl(s, vlan(2, 5))).toBe(ERR);
    expect(snapshot(s)).toEqual(before);
  });

  it('needs no negotiated CTRL_VLAN: DEL punches a hole in the all-ones filter', () => {
    const s = device();
    expect(ctrl(s, vlan(VIRTIO_NET_CTRL_VLAN_DEL, 5))).toBe(OK);
    expect([vlanBit(s, 5), vlanBit(s, 6)]).toEqual([false, true]);
  });
});

describe('ANNOUNCE class (virtio_net_handle_announce)', () => {
  const ack = cmd(VIRTIO_NET_CTRL_ANNOUNCE, VIRTIO_NET_CTRL_ANNOUNCE_ACK);

  it('ACK with an announcement pending clears ANNOUNCE, keeps LINK_UP and answers OK', () => {
    const s = device();
    s.status |= VIRTIO_NET_S_ANNOUNCE;
    expect(ctrl(s, ack)).toBe(OK);
    expect(s.status).toBe(VIRTIO_NET_S_LINK_UP);
  });

  it('ACK with nothing pending answers ERR', () => {
    const s = device();
    expect(ctrl(s, ack)).toBe(ERR);
    expect(s.status).toBe(VIRTIO_NET_S_LINK_UP);
  });

  it('an unknown ANNOUNCE command answers ERR and leaves the bit pending', () => {
    const s = device();
    s.status |= VIRTIO_NET_S_ANNOUNCE;
    expect(ctrl(s, cmd(VIRTIO_NET_CTRL_ANNOUNCE, 1))).toBe(ERR);
    expect(s.status & VIRTIO_NET_S_ANNOUNCE).toBe(VIRTIO_NET_S_ANNOUNCE);
  });

  it('announce() raises ANNOUNCE when GUEST_ANNOUNCE and CTRL_VQ are negotiated', () => {
    const s = device({}, BASE_FEATURES | bit(VIRTIO_NET_F_GUEST_ANNOUNCE));
    expect(s.announce()).toBe(true);
    expect(s.status).toBe(VIRTIO_NET_S_LINK_UP | VIRTIO_NET_S_ANNOUNCE);
  });

  it('announce() does nothing without GUEST_ANNOUNCE or without CTRL_VQ', () => {
    const a = device();
    const b = device({}, bit(VIRTIO_NET_F_GUEST_ANNOUNCE));
    expect([a.announce(), b.announce()]).toEqual([false, false]);
    expect([a.status, b.status]).toEqual([VIRTIO_NET_S_LINK_UP, VIRTIO_NET_S_LINK_UP]);
  });
});

describe('MQ class (virtio_net_handle_mq)', () => {
  const mq = BASE_FEATURES | bit(VIRTIO_NET_F_MQ);

  it('VQ_PAIRS_SET sets the current queue pairs', () => {
    const s = device({}, mq);
    expect(ctrl(s, pairsSet(3))).toBe(OK);
    expect(s.currQueuePairs).toBe(3);
  });

  it('VQ_PAIRS_SET accepts maxQueuePairs', () => {
    const s = device({}, mq);
    expect(ctrl(s, pairsSet(4))).toBe(OK);
    expect(s.currQueuePairs).toBe(4);
  });

  it('VQ_PAIRS_SET answers ERR to 0 pairs', () => {
    const s = device({}, mq);
    expect(ctrl(s, pairsSet(0))).toBe(ERR);
    expect(s.currQueuePairs).toBe(1);
  });

  it('VQ_PAIRS_SET answers ERR to more than maxQueuePairs', () => {
    const s = device({}, mq);
    expect(ctrl(s, pairsSet(5))).toBe(ERR);
    expect(s.currQueuePairs).toBe(1);
  });

  it('VQ_PAIRS_SET accepts 0x8000 and answers ERR to 0x8001 even when maxQueuePairs allows it', () => {
    const s = device({ maxQueuePairs: 0x8000 }, mq);
    expect(ctrl(s, pairsSet(0x8001))).toBe(ERR);
    expect(ctrl(s, pairsSet(0x8000))).toBe(OK);
    expect(s.currQueuePairs).toBe(0x8000);
  });

  it('VQ_PAIRS_SET answers ERR without MQ negotiated, even with RSS making the device multiqueue', () => {
    const s = device({}, BASE_FEATURES | bit(VIRTIO_NET_F_RSS));
    expect(s.multiqueue).toBe(true);
    expect(ctrl(s, pairsSet(2))).toBe(ERR);
    expect(s.currQueuePairs).toBe(1);
  });

  it('VQ_PAIRS_SET answers ERR when the device is not multiqueue', () => {
    const s = device({}, mq);
    s.multiqueue = false;
    expect(ctrl(s, pairsSet(2))).toBe(ERR);
  });

  it('VQ_PAIRS_SET answers ERR to a 1-byte count', () => {
    const s = device({}, mq);
    expect(ctrl(s, cmd(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 2))).toBe(ERR);
    expect(s.currQueuePairs).toBe(1);
  });

  it('VQ_PAIRS_SET ignores bytes after the 2-byte count', () => {
    const s = device({}, mq);
    expect(ctrl(s, cmd(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, le16(2), 9))).toBe(OK);
    expect(s.currQueuePairs).toBe(2);
  });

  it('RSS_CONFIG answers ERR without RSS negotiated', () => {
    const rss = cmd(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_RSS_CONFIG, new Uint8Array(16));
    expect(ctrl(device({}, mq), rss)).toBe(ERR);
  });

  it('RSS_CONFIG answers ERR with RSS negotiated too (not modelled) and changes nothing', () => {
    const s = device({}, mq | bit(VIRTIO_NET_F_RSS));
    const before = snapshot(s);
    const cfg = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...le16(2), 0);
    expect(ctrl(s, cmd(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_RSS_CONFIG, cfg))).toBe(ERR);
    expect(snapshot(s)).toEqual(before);
  });

  it('HASH_CONFIG answers ERR with or without HASH_REPORT (not modelled)', () => {
    const hash = cmd(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_HASH_CONFIG, new Uint8Array(16));
    expect(ctrl(device({}, mq), hash)).toBe(ERR);
    expect(ctrl(device({}, mq | bit(VIRTIO_NET_F_HASH_REPORT)), hash)).toBe(ERR);
  });

  it('answers ERR to an unknown MQ command', () => {
    expect(ctrl(device({}, mq), cmd(VIRTIO_NET_CTRL_MQ, 3, le16(2)))).toBe(ERR);
  });
});

describe('GUEST_OFFLOADS class (virtio_net_handle_offloads)', () => {
  const guest = bit(VIRTIO_NET_F_GUEST_CSUM) | bit(VIRTIO_NET_F_GUEST_TSO4) | bit(VIRTIO_NET_F_GUEST_TSO6);
  const feats = BASE_FEATURES | bit(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) | guest;

  it('SET with negotiated offloads makes them current', () => {
    const s = device({}, feats);
    expect(ctrl(s, offloadsSet(bit(VIRTIO_NET_F_GUEST_CSUM)))).toBe(OK);
    expect(s.currGuestOffloads).toBe(bit(VIRTIO_NET_F_GUEST_CSUM));
  });

  it('SET 0 turns every guest offload off', () => {
    const s = device({}, feats);
    expect(ctrl(s, offloadsSet(0n))).toBe(OK);
    expect(s.currGuestOffloads).toBe(0n);
  });

  it('answers ERR without CTRL_GUEST_OFFLOADS negotiated', () => {
    const s = device({}, feats & ~bit(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS));
    expect(ctrl(s, offloadsSet(0n))).toBe(ERR);
    expect(s.currGuestOffloads).toBe(guest);
  });

  it('answers ERR to a 7-byte payload', () => {
    const s = device({}, feats);
    expect(ctrl(s, cmd(VIRTIO_NET_CTRL_GUEST_OFFLOADS, VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET, new Uint8Array(7)))).toBe(ERR);
    expect(s.currGuestOffloads).toBe(guest);
  });

  it('ignores bytes after the 8-byte payload', () => {
    const s = device({}, feats);
    expect(ctrl(s, cmd(VIRTIO_NET_CTRL_GUEST_OFFLOADS, VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET, le64(0n), 0xff))).toBe(OK);
    expect(s.currGuestOffloads).toBe(0n);
  });

  it('answers ERR to an offload that was not negotiated', () => {
    const s = device({}, feats);
    expect(ctrl(s, offloadsSet(bit(VIRTIO_NET_F_GUEST_UFO)))).toBe(ERR);
    expect(s.currGuestOffloads).toBe(guest);
  });

  it('answers ERR to a bit that is not a guest offload (CSUM)', () => {
    const s = device({}, feats | bit(VIRTIO_NET_F_CSUM));
    expect(ctrl(s, offloadsSet(bit(VIRTIO_NET_F_CSUM)))).toBe(ERR);
  });

  it('answers ERR to a negotiated offload outside supportedGuestOffloads', () => {
    const s = device({ supportedGuestOffloads: bit(VIRTIO_NET_F_GUEST_CSUM) }, feats);
    expect(ctrl(s, offloadsSet(bit(VIRTIO_NET_F_GUEST_TSO4)))).toBe(ERR);
  });

  it('splits RSC_EXT into rsc4/rsc6 and clears it from the current offloads', () => {
    const s = device({}, feats);
    const tso = bit(VIRTIO_NET_F_GUEST_TSO4) | bit(VIRTIO_NET_F_GUEST_TSO6);
    expect(ctrl(s, offloadsSet(tso | bit(VIRTIO_NET_F_RSC_EXT)))).toBe(OK);
    expect([s.rsc4Enabled, s.rsc6Enabled, s.currGuestOffloads]).toEqual([true, true, tso]);
  });

  it('sets rsc4/rsc6 even when the SET is then rejected for an unsupported bit', () => {
    const s = device({}, feats);
    const bad = bit(VIRTIO_NET_F_GUEST_TSO4) | bit(VIRTIO_NET_F_RSC_EXT) | bit(VIRTIO_NET_F_GUEST_UFO);
    expect(ctrl(s, offloadsSet(bad))).toBe(ERR);
    expect([s.rsc4Enabled, s.rsc6Enabled, s.currGuestOffloads]).toEqual([true, false, guest]);
  });

  it('answers ERR to an unknown GUEST_OFFLOADS command', () => {
    const s = device({}, feats);
    expect(ctrl(s, cmd(VIRTIO_NET_CTRL_GUEST_OFFLOADS, 1, le64(0n)))).toBe(ERR);
    expect(s.currGuestOffloads).toBe(guest);
  });

  it('answers ERR when the peer has no vnet header', () => {
    const s = device({ hasVnetHdr: false }, feats);
    expect(ctrl(s, offloadsSet(0n))).toBe(ERR);
  });
});

describe('receiveFilter (receive_filter)', () => {
  describe('promiscuous mode', () => {
    it('accepts a unicast frame for another MAC', () => {
      expect(accepts(device(), frame(OTHER_UNI))).toBe(true);
    });

    it('accepts a tagged frame whose VLAN is not in the filter', () => {
      const s = device({}, BASE_FEATURES | bit(VIRTIO_NET_F_CTRL_VLAN));
      expect(accepts(s, frame(CONF_MAC, { tci: 5 }))).toBe(true);
    });

    it('accepts a frame too short to hold a header (it looks at nothing)', () => {
      expect(device().receiveFilter(Uint8Array.of(1), 0, 1)).toBe(true);
    });

    it('wins over NOUNI and NOBCAST', () => {
      const s = device();
      ctrl(s, rx(VIRTIO_NET_CTRL_RX_NOUNI, 1));
      ctrl(s, rx(VIRTIO_NET_CTRL_RX_NOBCAST, 1));
      expect([accepts(s, frame(CONF_MAC)), accepts(s, frame(BCAST))]).toEqual([true, true]);
    });
  });

  describe('unicast', () => {
    it('accepts the device MAC', () => {
      expect(accepts(filtering(), frame(CONF_MAC))).toBe(true);
    });

    it('accepts the MAC set by MAC_ADDR_SET and no longer the configured one', () => {
      const s = filtering();
      ctrl(s, cmd(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, OTHER_UNI));
      expect([accepts(s, frame(OTHER_UNI)), accepts(s, frame(CONF_MAC))]).toEqual([true, false]);
    });

    it('accepts a unicast entry of the MAC table', () => {
      expect(accepts(filtering(), frame(TABLE_UNI))).toBe(true);
    });

    it('drops another MAC', () => {
      expect(accepts(filtering(), frame(OTHER_UNI))).toBe(false);
    });

    it('NOUNI drops even the device MAC', () => {
      const s = filtering();
      ctrl(s, rx(VIRTIO_NET_CTRL_RX_NOUNI, 1));
      expect([accepts(s, frame(CONF_MAC)), accepts(s, frame(TABLE_UNI))]).toEqual([false, false]);
    });

    it('ALLUNI accepts another MAC', () => {
      const s = filtering();
      ctrl(s, rx(VIRTIO_NET_CTRL_RX_ALLUNI, 1));
      expect(accepts(s, frame(OTHER_UNI))).toBe(true);
    });

    it('NOUNI wins over ALLUNI', () => {
      const s = filtering();
      ctrl(s, rx(VIRTIO_NET_CTRL_RX_ALLUNI, 1));
      ctrl(s, rx(VIRTIO_NET_CTRL_RX_NOUNI, 1));
      expect(accepts(s, frame(OTHER_UNI))).toBe(false);
    });

    it('uniOverflow accepts another MAC', () => {
      const s = filtering();
      ctrl(s, ctrlMacTableSet(Array.from({ length: 65 }, () => TABLE_UNI), []));
      expect(accepts(s, frame(OTHER_UNI))).toBe(true);
    });

    it('ALLMULTI does not accept another unicast MAC', () => {
      const s = filtering();
      ctrl(s, rx(VIRTIO_NET_CTRL_RX_ALLMULTI, 1));
      expect(accepts(s, frame(OTHER_UNI))).toBe(false);
    });

    it('NOMULTI does not drop the device MAC', () => {
      const s = filtering();
      ctrl(s, rx(VIRTIO_NET_CTRL_RX_NOMULTI, 1));
      expect(accepts(s, frame(CONF_MAC))).toBe(true);
    });

    it('does not match a unicast address the guest put in the multicast list', () => {
      const s = filtering();
      ctrl(s, ctrlMacTableSet([], [OTHER_UNI]));
      expect(accepts(s, frame(OTHER_UNI))).toBe(false);
    });
  });

  describe('multicast', () => {
    it('accepts a multicast entry of the MAC table', () => {
      expect(accepts(filtering(), frame(TABLE_MULTI))).toBe(true);
    });

    it('drops a multicast address that is not in the table', () => {
      expect(accepts(filtering(), frame(OTHER_MULTI))).toBe(false);
    });

    it('ALLMULTI accepts any multicast address', () => {
      const s = filtering();
      ctrl(s, rx(VIRTIO_NET_CTRL_RX_ALLMULTI, 1));
      expect(accepts(s, frame(OTHER_MULTI))).toBe(true);
    });

    it('multiOverflow accepts any multicast address', () => {
      const s = filtering();
      ctrl(s, ctrlMacTableSet([], Array.from({ length: 65 }, () => TABLE_MULTI)));
      expect(accepts(s, frame(OTHER_MULTI))).toBe(true);
    });

    it('NOMULTI drops a multicast entry of the table', () => {
      const s = filtering();
      ctrl(s, rx(VIRTIO_NET_CTRL_RX_NOMULTI, 1));
      expect(accepts(s, frame(TABLE_MULTI))).toBe(false);
    });

    it('NOMULTI wins over ALLMULTI', () => {
      const s = filtering();
      ctrl(s, rx(VIRTIO_NET_CTRL_RX_ALLMULTI, 1));
      ctrl(s, rx(VIRTIO_NET_CTRL_RX_NOMULTI, 1));
      expect(accepts(s, frame(OTHER_MULTI))).toBe(false);
    });

    it('ALLUNI does not accept a multicast address outside the table', () => {
      const s = filtering();
      ctrl(s, rx(VIRTIO_NET_CTRL_RX_ALLUNI, 1));
      expect(accepts(s, frame(OTHER_MULTI))).toBe(false);
    });

    it('NOUNI does not drop a multicast entry of the table', () => {
      const s = filtering();
      ctrl(s, rx(VIRTIO_NET_CTRL_RX_NOUNI, 1));
      expect(accepts(s, frame(TABLE_MULTI))).toBe(true);
    });

    it('does not match a multicast address the guest put in the unicast list', () => {
      const s = filtering();
      ctrl(s, ctrlMacTableSet([OTHER_MULTI], []));
      expect(accepts(s, frame(OTHER_MULTI))).toBe(false);
    });
  });

  describe('broadcast', () => {
    it('is accepted by default', () => {
      expect(accepts(filtering(), frame(BCAST))).toBe(true);
    });

    it('NOBCAST drops it', () => {
      const s = filtering();
      ctrl(s, rx(VIRTIO_NET_CTRL_RX_NOBCAST, 1));
      expect(accepts(s, frame(BCAST))).toBe(false);
    });

    it('NOMULTI does not drop it', () => {
      const s = filtering();
      ctrl(s, rx(VIRTIO_NET_CTRL_RX_NOMULTI, 1));
      expect(accepts(s, frame(BCAST))).toBe(true);
    });

    it('ALLMULTI does not override NOBCAST', () => {
      const s = filtering();
      ctrl(s, rx(VIRTIO_NET_CTRL_RX_ALLMULTI, 1));
      ctrl(s, rx(VIRTIO_NET_CTRL_RX_NOBCAST, 1));
      expect(accepts(s, frame(BCAST))).toBe(false);
    });
  });

  describe('802.1Q tagged frames', () => {
    const vlanFiltering = () => {
      const s = filtering(BASE_FEATURES | bit(VIRTIO_NET_F_CTRL_VLAN));
      ctrl(s, vlan(VIRTIO_NET_CTRL_VLAN_ADD, 5));
      return s;
    };

    it('accepts the device MAC on a VLAN in the filter', () => {
      expect(accepts(vlanFiltering(), frame(CONF_MAC, { tci: 5 }))).toBe(true);
    });

    it('drops the device MAC on a VLAN not in the filter', () => {
      expect(accepts(vlanFiltering(), frame(CONF_MAC, { tci: 6 }))).toBe(false);
    });

    it('drops broadcast on a VLAN not in the filter (the VLAN check comes first)', () => {
      expect(accepts(vlanFiltering(), frame(BCAST, { tci: 6 }))).toBe(false);
    });

    it('takes the vid from the low 12 bits of the TCI (priority and DEI ignored)', () => {
      expect(accepts(vlanFiltering(), frame(CONF_MAC, { tci: 0xf005 }))).toBe(true);
    });

    it('still applies the MAC filter on an allowed VLAN', () => {
      expect(accepts(vlanFiltering(), frame(OTHER_UNI, { tci: 5 }))).toBe(false);
    });

    it('accepts every VLAN without CTRL_VLAN negotiated', () => {
      expect(accepts(filtering(), frame(CONF_MAC, { tci: 4094 }))).toBe(true);
    });

    it('leaves untagged frames to the MAC filter whatever the VLAN filter holds', () => {
      expect(accepts(filtering(BASE_FEATURES | bit(VIRTIO_NET_F_CTRL_VLAN)), frame(CONF_MAC))).toBe(true);
    });
  });

  describe('short frames and bounds', () => {
    it('drops a 13-byte frame for the device MAC', () => {
      expect(accepts(filtering(), frame(CONF_MAC, { size: 13 }))).toBe(false);
    });

    it('accepts a 14-byte frame for the device MAC', () => {
      expect(accepts(filtering(), frame(CONF_MAC, { size: 14 }))).toBe(true);
    });

    it('drops a tagged frame shorter than 18 bytes', () => {
      expect(accepts(filtering(), frame(CONF_MAC, { tci: 5, size: 17 }))).toBe(false);
    });

    it('accepts an 18-byte tagged frame on an allowed VLAN', () => {
      expect(accepts(filtering(), frame(CONF_MAC, { tci: 5, size: 18 }))).toBe(true);
    });

    it('goes by len, not by the buffer size', () => {
      expect(filtering().receiveFilter(frame(CONF_MAC), 0, 13)).toBe(false);
    });

    it('bounds len by the buffer', () => {
      expect(filtering().receiveFilter(frame(CONF_MAC, { size: 10 }), 0, 1500)).toBe(false);
    });

    it('drops when off is past the end or negative', () => {
      const s = filtering();
      const f = frame(CONF_MAC);
      expect(s.receiveFilter(f, 60, 60)).toBe(false);
      expect(s.receiveFilter(f, 100, 60)).toBe(false);
      expect(s.receiveFilter(f, -1, 60)).toBe(false);
    });

    it('reads the Ethernet header at off, after a virtio-net header', () => {
      const s = filtering();
      const buf = new Uint8Array(12 + 60).fill(0xff, 0, 12);
      buf.set(frame(CONF_MAC), 12);
      expect(s.receiveFilter(buf, 12, 60)).toBe(true);
      expect(s.receiveFilter(buf.subarray(12), 0, 60)).toBe(true);
    });
  });
});

describe('recomputeFirstMulti (virtio_net_post_load_device)', () => {
  it('finds the first entry with the multicast bit', () => {
    const s = device();
    ctrl(s, ctrlMacTableSet([TABLE_UNI, OTHER_UNI], [TABLE_MULTI]));
    s.macTable.firstMulti = 0;
    s.recomputeFirstMulti();
    expect(s.macTable.firstMulti).toBe(2);
  });

  it('is inUse when every entry is unicast', () => {
    const s = device();
    ctrl(s, ctrlMacTableSet([TABLE_UNI, OTHER_UNI], []));
    s.macTable.firstMulti = 0;
    s.recomputeFirstMulti();
    expect(s.macTable.firstMulti).toBe(2);
  });

  it('is 0 for an empty table', () => {
    const s = device();
    s.macTable.firstMulti = 5;
    s.recomputeFirstMulti();
    expect(s.macTable.firstMulti).toBe(0);
  });

  it('moves the boundary to a multicast address the guest put in its unicast list', () => {
    const s = device();
    ctrl(s, ctrlMacTableSet([TABLE_UNI, OTHER_MULTI], [TABLE_MULTI]));
    expect(s.macTable.firstMulti).toBe(2);
    s.recomputeFirstMulti();
    expect(s.macTable.firstMulti).toBe(1);
  });

  it('empties a table that claims more than 64 entries', () => {
    const s = device();
    s.macTable.inUse = MAC_TABLE_ENTRIES + 1;
    s.recomputeFirstMulti();
    expect([s.macTable.inUse, s.macTable.firstMulti]).toEqual([0, 0]);
  });
});

describe('properties', () => {
  const featureBits = [
    VIRTIO_F_VERSION_1,
    VIRTIO_NET_F_CTRL_VQ,
    VIRTIO_NET_F_CTRL_RX,
    VIRTIO_NET_F_CTRL_VLAN,
    VIRTIO_NET_F_MQ,
    VIRTIO_NET_F_RSS,
    VIRTIO_NET_F_HASH_REPORT,
    VIRTIO_NET_F_CTRL_GUEST_OFFLOADS,
    VIRTIO_NET_F_GUEST_ANNOUNCE,
    VIRTIO_NET_F_GUEST_CSUM,
    VIRTIO_NET_F_GUEST_TSO4,
    VIRTIO_NET_F_GUEST_TSO6,
    VIRTIO_NET_F_GUEST_UFO,
    VIRTIO_NET_F_RSC_EXT,
  ];
  const features = fc.subarray(featureBits).map((bs) => bs.reduce((m, b) => m | bit(b), 0n));

  /** MAC_TABLE_SET with counts that fit, overflow, wrap at 2^32 or lie about the bytes that follow. */
  const macTable = fc
    .record({
      uni: fc.oneof(fc.integer({ min: 0, max: 70 }), fc.constantFrom(0x2aaaaaab, 0x2aaaaaac, 0xffffffff)),
      uniBytes: fc.integer({ min: 0, max: 70 * 6 }),
      multi: fc.oneof(fc.integer({ min: 0, max: 70 }), fc.constantFrom(0x2aaaaaab, 0xffffffff)),
      multiBytes: fc.integer({ min: 0, max: 70 * 6 }),
      exact: fc.boolean(),
      fill: fc.integer({ min: 0, max: 255 }),
    })
    .map(({ uni, uniBytes, multi, multiBytes, exact, fill }) => {
      const ub = exact && uni <= 70 ? uni * 6 : uniBytes;
      const mb = exact && multi <= 70 ? multi * 6 : multiBytes;
      const c = new Uint8Array(2 + 4 + ub + 4 + mb).fill(fill);
      const v = new DataView(c.buffer);
      c[0] = VIRTIO_NET_CTRL_MAC;
      c[1] = VIRTIO_NET_CTRL_MAC_TABLE_SET;
      v.setUint32(2, uni, true);
      v.setUint32(6 + ub, multi, true);
      return c;
    });

  const command = fc.oneof(
    fc.uint8Array({ maxLength: 24 }),
    fc
      .tuple(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 3 }), fc.uint8Array({ maxLength: 16 }))
      .map(([cls, c, p]) => Uint8Array.of(cls, c, ...p)),
    macTable,
  );
  const outLen = fc.option(fc.oneof(fc.integer({ min: -4, max: 600 }), fc.constant(Number.NaN)), { nil: undefined });

  const world = fc.record({
    maxQueuePairs: fc.integer({ min: 1, max: 8 }),
    hasVnetHdr: fc.boolean(),
    features,
    announcePending: fc.boolean(),
    history: fc.array(command, { maxLength: 6 }),
  });

  type World = typeof world extends fc.Arbitrary<infer W> ? W : never;

  function build(w: World): VirtioNetState {
    const s = new VirtioNetState({ mac: CONF_MAC, maxQueuePairs: w.maxQueuePairs, hasVnetHdr: w.hasVnetHdr });
    s.setFeatures(w.features);
    if (w.announcePending) s.status |= VIRTIO_NET_S_ANNOUNCE;
    for (const c of w.history) s.handleCtrl(c, c.length);
    return s;
  }

  it('handleCtrl never throws, answers OK or ERR, and a rejected command changes nothing (but QEMU\'s rsc flags)', () => {
    fc.assert(
      fc.property(world, command, outLen, (w, c, len) => {
        const s = build(w);
        const before = snapshot(s);
        const status = s.handleCtrl(c, len ?? c.length);
        expect([OK, ERR]).toContain(status);
        if (status === ERR) {
          const after = snapshot(s);
          // GUEST_OFFLOADS_SET assigns rsc4/rsc6 before it checks the offloads (kept from QEMU).
          if (c[0] === VIRTIO_NET_CTRL_GUEST_OFFLOADS && c[1] === VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET) {
            after.rsc4Enabled = before.rsc4Enabled;
            after.rsc6Enabled = before.rsc6Enabled;
          }
          expect(after).toEqual(before);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('a MAC table set through ctrlMacTableSet reads back as the lists sent, or as overflow', () => {
    const addr = fc.uint8Array({ minLength: 6, maxLength: 6 });
    fc.assert(
      fc.property(fc.array(addr, { maxLength: 70 }), fc.array(addr, { maxLength: 70 }), (uni, multi) => {
        const s = device();
        expect(ctrl(s, ctrlMacTableSet(uni, multi))).toBe(OK);
        const uniKept = uni.length <= MAC_TABLE_ENTRIES ? uni : [];
        const multiKept = multi.length <= MAC_TABLE_ENTRIES - uniKept.length ? multi : [];
        const t = s.macTable;
        expect([t.uniOverflow, t.multiOverflow]).toEqual([uni === uniKept ? 0 : 1, multi === multiKept ? 0 : 1]);
        expect(t.firstMulti).toBe(uniKept.length);
        const table = Array.from({ length: t.inUse }, (_, i) => formatMac(t.macs, i * 6));
        expect(table).toEqual([...uniKept, ...multiKept].map((m) => formatMac(m)));
      }),
    );
  });

  it('receiveFilter never throws and answers a boolean for any frame, offset and length', () => {
    // Random bytes, and frames starting with a 0x8100 tag so the VLAN branch is reached.
    const frameBytes = fc.oneof(
      fc.uint8Array({ maxLength: 40 }),
      fc.uint8Array({ maxLength: 28 }).map((tail) => Uint8Array.of(...CONF_MAC, ...SRC, 0x81, 0x00, ...tail)),
    );
    fc.assert(
      fc.property(world, frameBytes, fc.integer({ min: -2, max: 44 }), fc.integer({ min: -2, max: 100 }), (w, buf, off, len) => {
        const s = build(w);
        s.promisc = 0;
        expect(typeof s.receiveFilter(buf, off, len)).toBe('boolean');
      }),
      { numRuns: 1000 },
    );
  });
});
