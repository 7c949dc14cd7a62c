// vdpasim_netx driven through /dev/vhost-vdpa-N with driver-side split rings (test/helpers/netx.ts):
// management (`vdpa dev add` validation, the device's shape, offered features, config space), the
// CVQ's placement and group, the receive filter against every RX mode, the control commands the
// device answers (lib/net VirtioNetState), MTU handling, link state and announce through config
// interrupts, per-queue vendor statistics, EVENT_IDX and indirect descriptors. The medium is the
// default loopback: a device's TX pair k is received on its own RX pair k.
// One file rather than one per topic: each test file pays for importing the whole stack.

import { describe, expect, it } from 'vitest';
import { VDPASIM_NETX_DEFAULT_FEATURES, VDPASIM_NETX_FEATURES } from '../../drivers/vdpa/vdpa_sim/index.js';
import { ctrlMacTableSet } from '../../lib/net/index.js';
import { VhostVdpa } from '../../lib/vhost_vdpa/index.js';
import { type Host, ModelUserSpace } from '../../sim/host/index.js';
import { runShell } from '../../sim/tools/index.js';
import {
  VIRTIO_NET_CTRL_ANNOUNCE,
  VIRTIO_NET_CTRL_ANNOUNCE_ACK,
  VIRTIO_NET_CTRL_GUEST_OFFLOADS,
  VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET,
  VIRTIO_NET_CTRL_MAC,
  VIRTIO_NET_CTRL_MAC_ADDR_SET,
  VIRTIO_NET_CTRL_MAC_TABLE_SET,
  VIRTIO_NET_CTRL_MQ,
  VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
  VIRTIO_NET_CTRL_NOTF_COAL,
  VIRTIO_NET_CTRL_RX,
  VIRTIO_NET_CTRL_RX_ALLMULTI,
  VIRTIO_NET_CTRL_RX_ALLUNI,
  VIRTIO_NET_CTRL_RX_NOBCAST,
  VIRTIO_NET_CTRL_RX_NOMULTI,
  VIRTIO_NET_CTRL_RX_NOUNI,
  VIRTIO_NET_CTRL_RX_PROMISC,
  VIRTIO_NET_CTRL_VLAN,
  VIRTIO_NET_CTRL_VLAN_ADD,
  VIRTIO_NET_CTRL_VLAN_DEL,
  VIRTIO_NET_ERR,
  VIRTIO_NET_F_CTRL_GUEST_OFFLOADS,
  VIRTIO_NET_F_CTRL_VQ,
  VIRTIO_NET_F_GUEST_ANNOUNCE,
  VIRTIO_NET_F_GUEST_CSUM,
  VIRTIO_NET_F_GUEST_TSO4,
  VIRTIO_NET_F_MQ,
  VIRTIO_NET_F_STATUS,
  VIRTIO_NET_OK,
  VIRTIO_NET_S_ANNOUNCE,
  VIRTIO_NET_S_LINK_UP,
  VIRTIO_RING_F_EVENT_IDX,
  VIRTIO_RING_F_INDIRECT_DESC,
  VRING_DESC_F_INDIRECT,
} from '../../uapi/index.js';
import { HDR_LEN, NetxDriver, type NetxDriverOptions, addNetx, bit, diff, frame, netxHost, netxOf, simOf, vstats } from '../helpers/netx.js';
import { devAdd, devDel } from '../helpers/vdpa_nl.js';

const EINVAL = -22;
const ERANGE = -34;
const MAC = [0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x01];
const NEW_MAC = [0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x99];
const BCAST = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
const u16 = (n: number): Uint8Array => Uint8Array.of(n & 0xff, n >> 8);
const u64 = (n: bigint): Uint8Array => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, n, true);
  return b;
};

/** A host with one netx device (vdpa0, MAC above) and a driver on it. */
function netx(dev: { maxVqp?: number; mtu?: number; features?: bigint } = {}, drv: NetxDriverOptions = {}): NetxDriver {
  const host = netxHost();
  addNetx(host, { name: 'vdpa0', mac: Uint8Array.from(MAC), ...dev });
  return new NetxDriver(host, drv);
}

const stats = (d: NetxDriver, qidx: number): Record<string, bigint> => vstats(d.host, 'vdpa0', qidx) as Record<string, bigint>;

function configJson(host: Host): Record<string, unknown> {
  const r = runShell(host, host.spawn({ comm: 'vdpa' }), 'vdpa -j dev config show vdpa0');
  return (JSON.parse(r.stdout) as { config: Record<string, Record<string, unknown>> }).config.vdpa0 ?? {};
}

/** A vdpa tool command's JSON output. */
function vdpaJson(host: Host, line: string): Record<string, Record<string, Record<string, unknown>>> {
  const r = runShell(host, host.spawn({ comm: 'vdpa' }), `vdpa -j ${line}`);
  if (r.exit) throw new Error(`vdpa ${line}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, Record<string, Record<string, unknown>>>;
}

/** A process that opened the device's node, set FEATURES_OK with `features` and stopped there. */
function negotiated(host: Host, features: bigint): VhostVdpa {
  const v = VhostVdpa.open(new ModelUserSpace(host, host.spawn()), '/dev/vhost-vdpa-0');
  v.setOwner();
  v.setStatus(3);
  v.setFeatures(features);
  v.setStatus(0xb);
  return v;
}

// Receive filter cases: nine frames looped back through one device (TX0 -> RX0), and what came out
// compared with QEMU's receive_filter rules: promisc passes everything; then the VLAN table;
// broadcast -> !nobcast; multicast: nomulti drops, allmulti or multi_overflow pass, else the table;
// unicast: nouni drops, alluni or uni_overflow pass, else own MAC or the table. Each case also
// checks `rx drops` and `rx packets` (vstats of vq 0). The VLAN table is set explicitly (ADD 100,
// DEL 200) so that the cases do not depend on its state after negotiation.

const OWN = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
const TABLE_UC = [0x02, 0x00, 0x00, 0x00, 0x00, 0xaa];
const OTHER_UC = [0x02, 0x00, 0x00, 0x00, 0x00, 0xbb];
const TABLE_MC = [0x01, 0x00, 0x5e, 0x00, 0x00, 0x01];
const OTHER_MC = [0x01, 0x00, 0x5e, 0x00, 0x00, 0x02];
const VID_IN = 100;
const VID_OUT = 200;

/** The frames every case sends, in order. */
const FRAMES: { name: string; dst: number[]; vid?: number }[] = [
  { name: 'unicast to own MAC', dst: OWN },
  { name: 'unicast to a table MAC', dst: TABLE_UC },
  { name: 'unicast to another MAC', dst: OTHER_UC },
  { name: 'multicast in the table', dst: TABLE_MC },
  { name: 'multicast not in the table', dst: OTHER_MC },
  { name: 'broadcast', dst: BCAST },
  { name: 'own MAC, vid in the VLAN table', dst: OWN, vid: VID_IN },
  { name: 'own MAC, vid not in the VLAN table', dst: OWN, vid: VID_OUT },
  { name: 'broadcast, vid not in the VLAN table', dst: BCAST, vid: VID_OUT },
];

type Flags = Partial<Record<'promisc' | 'allmulti' | 'alluni' | 'nomulti' | 'nouni' | 'nobcast', number>>;
const CMD: Record<keyof Flags, number> = {
  promisc: VIRTIO_NET_CTRL_RX_PROMISC,
  allmulti: VIRTIO_NET_CTRL_RX_ALLMULTI,
  alluni: VIRTIO_NET_CTRL_RX_ALLUNI,
  nomulti: VIRTIO_NET_CTRL_RX_NOMULTI,
  nouni: VIRTIO_NET_CTRL_RX_NOUNI,
  nobcast: VIRTIO_NET_CTRL_RX_NOBCAST,
};

const tableMac = (last: number, first = 0x02): Uint8Array => Uint8Array.of(first, 0x10, 0x20, 0x30, (last >> 8) & 0xff, last & 0xff);
const STD_TABLE = { uc: [Uint8Array.from(TABLE_UC)], mc: [Uint8Array.from(TABLE_MC)] };
/** 65 unicast addresses: more than MAC_TABLE_ENTRIES, so uni_overflow (the unicast list is dropped). */
const UNI_OVERFLOW = { uc: Array.from({ length: 65 }, (_, i) => tableMac(i)), mc: [Uint8Array.from(TABLE_MC)] };
/** 1 unicast + 64 multicast: more than the 63 entries left, so multi_overflow. */
const MULTI_OVERFLOW = { uc: [Uint8Array.from(TABLE_UC)], mc: Array.from({ length: 64 }, (_, i) => tableMac(i, 0x01)) };

interface Case {
  mode: string;
  flags: Flags | undefined;
  table?: { uc: Uint8Array[]; mc: Uint8Array[] };
  /** 1 = received, 0 = dropped, per FRAMES entry. */
  expect: number[];
}

const NONE = { promisc: 0 };
const CASES: Case[] = [
  { mode: 'promisc on with nouni, nomulti and nobcast also on', flags: { promisc: 1, nouni: 1, nomulti: 1, nobcast: 1 }, expect: [1, 1, 1, 1, 1, 1, 1, 1, 1] },
  { mode: 'promisc off, every other mode off', flags: NONE, expect: [1, 1, 0, 1, 0, 1, 1, 0, 0] },
  { mode: 'allmulti', flags: { ...NONE, allmulti: 1 }, expect: [1, 1, 0, 1, 1, 1, 1, 0, 0] },
  { mode: 'alluni', flags: { ...NONE, alluni: 1 }, expect: [1, 1, 1, 1, 0, 1, 1, 0, 0] },
  { mode: 'nomulti (broadcast is not dropped by it)', flags: { ...NONE, nomulti: 1 }, expect: [1, 1, 0, 0, 0, 1, 1, 0, 0] },
  { mode: 'nomulti with allmulti (nomulti wins)', flags: { ...NONE, nomulti: 1, allmulti: 1 }, expect: [1, 1, 0, 0, 0, 1, 1, 0, 0] },
  { mode: 'nouni (own MAC dropped too)', flags: { ...NONE, nouni: 1 }, expect: [0, 0, 0, 1, 0, 1, 0, 0, 0] },
  { mode: 'nouni with alluni (nouni wins)', flags: { ...NONE, nouni: 1, alluni: 1 }, expect: [0, 0, 0, 1, 0, 1, 0, 0, 0] },
  { mode: 'nobcast', flags: { ...NONE, nobcast: 1 }, expect: [1, 1, 0, 1, 0, 0, 1, 0, 0] },
  { mode: 'empty MAC table (only own MAC and broadcast)', flags: NONE, table: { uc: [], mc: [] }, expect: [1, 0, 0, 0, 0, 1, 1, 0, 0] },
  { mode: 'uni_overflow (65 unicast entries): every unicast passes', flags: NONE, table: UNI_OVERFLOW, expect: [1, 1, 1, 1, 0, 1, 1, 0, 0] },
  { mode: 'multi_overflow (64 multicast entries after 1 unicast): every multicast passes', flags: NONE, table: MULTI_OVERFLOW, expect: [1, 1, 0, 1, 1, 1, 1, 0, 0] },
];

/** A device with OWN as its MAC, the RX modes, MAC table and VLAN table programmed through its CVQ. */
function programmed(flags: Flags | undefined, table: { uc: Uint8Array[]; mc: Uint8Array[] } = STD_TABLE): NetxDriver {
  const host = netxHost();
  addNetx(host, { name: 'vdpa0', mac: Uint8Array.from(OWN) });
  const d = new NetxDriver(host);
  const ok = (r: number) => expect(r).toBe(VIRTIO_NET_OK);
  if (flags) {
    for (const [k, cmd] of Object.entries(CMD) as [keyof Flags, number][]) ok(d.ctrl(VIRTIO_NET_CTRL_RX, cmd, Uint8Array.of(flags[k] ?? 0)));
  }
  ok(d.ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, ctrlMacTableSet(table.uc, table.mc).subarray(2)));
  ok(d.ctrl(VIRTIO_NET_CTRL_VLAN, VIRTIO_NET_CTRL_VLAN_ADD, Uint8Array.of(VID_IN, 0)));
  ok(d.ctrl(VIRTIO_NET_CTRL_VLAN, VIRTIO_NET_CTRL_VLAN_DEL, Uint8Array.of(VID_OUT, 0)));
  return d;
}

/** Sends FRAMES through TX0 (one marker byte each) and reports which came back on RX0, and the RX stats. */
function run(d: NetxDriver): { got: number[]; drops: bigint; packets: bigint } {
  d.postRx(0, FRAMES.length);
  for (const [i, f] of FRAMES.entries()) {
    const bytes = frame({ dst: f.dst, ...(f.vid !== undefined ? { vid: f.vid } : {}) });
    bytes[bytes.length - 1] = i;
    d.send(0, bytes, false);
  }
  d.kick(1);
  d.settle();
  expect(d.used(1)).toHaveLength(FRAMES.length);
  const got = FRAMES.map(() => 0);
  for (const f of d.received(0)) got[f[f.length - 1] as number] = 1;
  const s = vstats(d.host, 'vdpa0', 0) as Record<string, bigint>;
  return { got, drops: s['rx drops'] as bigint, packets: s['rx packets'] as bigint };
}

describe('vdpasim_netx management', () => {
  it('dev add accepts max_vqp 1..16 and the device has 2 * max_vqp + 1 vqs (dev show max_vqs, GET_VQS_COUNT)', () => {
    const host = netxHost();
    for (let vqp = 1; vqp <= 16; vqp++) {
      expect(devAdd(host, { name: 'vdpa0', mgmtdev: 'vdpasim_netx', maxVqp: vqp }).error).toBe(0);
      expect(vdpaJson(host, 'dev show vdpa0').dev?.vdpa0?.max_vqs).toBe(2 * vqp + 1);
      const v = VhostVdpa.open(new ModelUserSpace(host, host.spawn()), '/dev/vhost-vdpa-0');
      expect(v.getVqsCount()).toBe(2 * vqp + 1);
      v.close();
      expect(devDel(host, 'vdpa0').error).toBe(0);
    }
  });

  it('dev add with max_vqp 0 is EINVAL from the netlink layer, with the kernel\'s extack "At least one pair of VQs is required"', () => {
    const host = netxHost();
    expect(devAdd(host, { name: 'vdpa0', mgmtdev: 'vdpasim_netx', maxVqp: 0 })).toMatchObject({
      error: EINVAL,
      extack: 'vdpa: At least one pair of VQs is required',
    });
    expect(host.bus.findDevice('vdpa0')).toBeUndefined();
  });

  it('dev add with max_vqp 17 passes netlink validation and is EINVAL from the device\'s dev_add, with no extack', () => {
    const host = netxHost();
    const r = devAdd(host, { name: 'vdpa0', mgmtdev: 'vdpasim_netx', maxVqp: 17 });
    expect(r.error).toBe(EINVAL);
    expect(r.extack).toBeUndefined();
    expect(host.bus.findDevice('vdpa0')).toBeUndefined();
  });

  it('dev add accepts MTU 68, 1500 and 9000, and config space reports it', () => {
    const host = netxHost();
    for (const mtu of [68, 1500, 9000]) {
      expect(devAdd(host, { name: 'vdpa0', mgmtdev: 'vdpasim_netx', mtu }).error).toBe(0);
      expect(vdpaJson(host, 'dev config show vdpa0').config?.vdpa0?.mtu).toBe(mtu);
      expect(devDel(host, 'vdpa0').error).toBe(0);
    }
  });

  it('dev add with MTU 0 or 67 is ERANGE from the attribute policy (NLA_POLICY_MIN 68), extack "integer out of range"', () => {
    const host = netxHost();
    for (const mtu of [0, 67]) {
      expect(devAdd(host, { name: 'vdpa0', mgmtdev: 'vdpasim_netx', mtu })).toMatchObject({ error: ERANGE, extack: 'integer out of range' });
    }
    expect(host.bus.findDevice('vdpa0')).toBeUndefined();
  });

  it('dev add with MTU 9001 is EINVAL from the device\'s dev_add (no extack)', () => {
    const host = netxHost();
    const r = devAdd(host, { name: 'vdpa0', mgmtdev: 'vdpasim_netx', mtu: 9001 });
    expect(r.error).toBe(EINVAL);
    expect(r.extack).toBeUndefined();
  });

  it('dev add with max_vqp 4 and device_features without MQ is EINVAL: "Missing features 0x400000 for provided attributes"', () => {
    const host = netxHost();
    const features = VDPASIM_NETX_DEFAULT_FEATURES & ~bit(VIRTIO_NET_F_MQ);
    expect(devAdd(host, { name: 'vdpa0', mgmtdev: 'vdpasim_netx', maxVqp: 4, features })).toMatchObject({
      error: EINVAL,
      extack: 'vdpa: Missing features 0x400000 for provided attributes',
    });
  });

  it('dev add with device_features outside what vdpasim_netx supports is EINVAL', () => {
    const host = netxHost();
    expect(devAdd(host, { name: 'vdpa0', mgmtdev: 'vdpasim_netx', features: VDPASIM_NETX_FEATURES | (1n << 57n) }).error).toBe(EINVAL);
  });

  it('mgmtdev show: vdpasim_netx supports class net with max_supported_vqs 33 (16 pairs + CVQ)', () => {
    const host = netxHost();
    expect(vdpaJson(host, 'mgmtdev show').mgmtdev?.vdpasim_netx).toMatchObject({ supported_classes: ['net'], max_supported_vqs: 33 });
  });

  it('the device has 2 vq groups and 2 address spaces', () => {
    const host = netxHost();
    addNetx(host, { name: 'vdpa0', maxVqp: 4 });
    const v = VhostVdpa.open(new ModelUserSpace(host, host.spawn()), '/dev/vhost-vdpa-0');
    expect([v.getGroupNum(), v.getAsNum()]).toEqual([2, 2]);
  });

  it('the default offer leaves GUEST_ANNOUNCE out (QEMU\'s SVQ rejects it) and has everything else vdpasim_netx supports', () => {
    const host = netxHost();
    addNetx(host, { name: 'vdpa0' });
    const v = VhostVdpa.open(new ModelUserSpace(host, host.spawn()), '/dev/vhost-vdpa-0');
    const offered = v.getFeatures();
    expect(offered & bit(VIRTIO_NET_F_GUEST_ANNOUNCE)).toBe(0n);
    expect(offered).toBe(VDPASIM_NETX_FEATURES & ~bit(VIRTIO_NET_F_GUEST_ANNOUNCE));
  });

  it('device_features can ask for GUEST_ANNOUNCE: the device then offers exactly what was asked', () => {
    const host = netxHost();
    addNetx(host, { name: 'vdpa0', features: VDPASIM_NETX_FEATURES });
    const v = VhostVdpa.open(new ModelUserSpace(host, host.spawn()), '/dev/vhost-vdpa-0');
    expect(v.getFeatures()).toBe(VDPASIM_NETX_FEATURES);
    expect(v.getFeatures() & bit(VIRTIO_NET_F_GUEST_ANNOUNCE)).not.toBe(0n);
  });

  it('config space (GET_CONFIG) holds the MAC, LINK_UP, max_virtqueue_pairs and MTU from dev add', () => {
    const host = netxHost();
    addNetx(host, { name: 'vdpa0', mac: Uint8Array.from(MAC), maxVqp: 5, mtu: 4000 });
    const d = new NetxDriver(host, { noDriverOk: true });
    expect(d.config()).toEqual({ mac: MAC, status: VIRTIO_NET_S_LINK_UP, maxVqp: 5, mtu: 4000 });
  });

  it('dev config show reports mac, link up, link_announce false, max_vq_pairs and mtu', () => {
    const host = netxHost();
    addNetx(host, { name: 'vdpa0', mac: Uint8Array.from(MAC), maxVqp: 3, mtu: 9000 });
    expect(vdpaJson(host, 'dev config show vdpa0').config?.vdpa0).toMatchObject({
      mac: '02:aa:bb:cc:dd:01',
      'link ': 'up',
      'link_announce ': false,
      max_vq_pairs: 3,
      mtu: 9000,
    });
  });

  it('dev add without a MAC gives the all-zero MAC, max_vqp 1 and MTU 1500', () => {
    const host = netxHost();
    addNetx(host, { name: 'vdpa0' });
    const d = new NetxDriver(host, { noDriverOk: true });
    expect(d.config()).toEqual({ mac: [0, 0, 0, 0, 0, 0], status: VIRTIO_NET_S_LINK_UP, maxVqp: 1, mtu: 1500 });
  });

  it('under the linux-6.1 profile (PA mode) frames loop back and the CVQ answers; vstats is EOPNOTSUPP (the 6.1 core has no vendor stats op)', () => {
    const host = netxHost('linux-6.1');
    addNetx(host, { name: 'vdpa0', mac: Uint8Array.from(MAC), maxVqp: 2 });
    const d = new NetxDriver(host);
    d.postRx(0);
    const f = frame({ dst: MAC, fill: 6 });
    d.send(0, f);
    d.settle();
    expect(d.received(0)).toEqual([f]);
    expect(d.ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, u16(2))).toBe(VIRTIO_NET_OK);
    expect(vstats(host, 'vdpa0', 0)).toEqual({ error: -95 });
  });
});

describe('vdpasim_netx CVQ placement and vq groups', () => {
  it('SET_GROUP_ASID(1, 1) before SET_FEATURES: once MQ places the CVQ at vq 8 (group 1), vq 8 translates through ASID 1 and vq 2 through ASID 0', () => {
    const host = netxHost();
    addNetx(host, { name: 'vdpa0', maxVqp: 4 });
    const v = VhostVdpa.open(new ModelUserSpace(host, host.spawn()), '/dev/vhost-vdpa-0');
    v.setOwner();
    v.setStatus(3);
    v.setGroupAsid(1, 1);
    v.setFeatures(VDPASIM_NETX_DEFAULT_FEATURES);
    v.setStatus(0xb);
    expect([v.getVringGroup(2), v.getVringGroup(8)]).toEqual([0, 1]);
    const sim = simOf(host, 'vdpa0');
    expect(sim.vqs.map((q) => sim.iommu.indexOf(q.iotlb as never))).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 1]);
  });

  it('with MQ negotiated (max_vqp 4) GET_VRING_GROUP answers 1 for vq 8 (the CVQ) and 0 for vqs 0..7', () => {
    const host = netxHost();
    addNetx(host, { name: 'vdpa0', maxVqp: 4 });
    const v = negotiated(host, VDPASIM_NETX_DEFAULT_FEATURES);
    expect(Array.from({ length: 9 }, (_, i) => v.getVringGroup(i))).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 1]);
  });

  it('without MQ negotiated (max_vqp 4) the CVQ is vq 2: GET_VRING_GROUP answers 1 for vq 2 only', () => {
    const host = netxHost();
    addNetx(host, { name: 'vdpa0', maxVqp: 4 });
    const v = negotiated(host, VDPASIM_NETX_DEFAULT_FEATURES & ~bit(VIRTIO_NET_F_MQ));
    expect(Array.from({ length: 9 }, (_, i) => v.getVringGroup(i))).toEqual([0, 0, 1, 0, 0, 0, 0, 0, 0]);
  });

  it('with max_vqp 1 and MQ negotiated the CVQ is vq 2 (2 * max_vqp)', () => {
    const host = netxHost();
    addNetx(host, { name: 'vdpa0', maxVqp: 1 });
    const v = negotiated(host, VDPASIM_NETX_DEFAULT_FEATURES);
    expect([0, 1, 2].map((i) => v.getVringGroup(i))).toEqual([0, 0, 1]);
  });

  it('GET_VRING_GROUP of an index past the last vq is ENOBUFS', () => {
    const host = netxHost();
    addNetx(host, { name: 'vdpa0', maxVqp: 2 });
    const v = negotiated(host, VDPASIM_NETX_DEFAULT_FEATURES);
    expect(() => v.getVringGroup(5)).toThrow(/ENOBUFS/);
  });

  it('the CVQ answers at vq 2 * max_vqp with MQ negotiated (a VQ_PAIRS_SET there is acked OK)', () => {
    const host = netxHost();
    addNetx(host, { name: 'vdpa0', maxVqp: 4 });
    const d = new NetxDriver(host);
    expect(d.cvq).toBe(8);
    expect(d.ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, Uint8Array.of(2, 0))).toBe(VIRTIO_NET_OK);
    expect(d.sim.net?.port).toMatchObject({ n: { currQueuePairs: 2 } });
  });

  it('SET_GROUP_ASID(1, 1) after FEATURES_OK moves only the CVQ: its ring translates through ASID 1, every data vq stays in ASID 0', () => {
    const host = netxHost();
    addNetx(host, { name: 'vdpa0', maxVqp: 4 });
    const v = negotiated(host, VDPASIM_NETX_DEFAULT_FEATURES);
    v.setGroupAsid(1, 1);
    const sim = simOf(host, 'vdpa0');
    expect(sim.vqs.map((q) => sim.iommu.indexOf(q.iotlb as never))).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 1]);
  });

  it('with group 1 in an ASID that does not map the rings, data vqs of every pair still move frames and the CVQ answers nothing', () => {
    const host = netxHost();
    addNetx(host, { name: 'vdpa0', mac: Uint8Array.from(MAC), maxVqp: 2 });
    // ASID 1 holds one unrelated page: the passthrough map is gone and the CVQ ring is unreachable.
    const d = new NetxDriver(host, { cvqAsid: 0, noDriverOk: true });
    d.v.setGroupAsid(1, 1);
    d.v.iotlbUpdate({ asid: 1, iova: 0x1000n, size: 0x1000n, uaddr: BigInt(d.ram.addr), perm: 3 });
    d.v.setStatus(0xf);
    expect(d.ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, Uint8Array.of(2, 0))).toBe(-1);
    d.postRx(0);
    d.send(0, frame({ dst: MAC }));
    d.settle();
    expect(d.used(1)).toHaveLength(1);
    expect(d.received(0)).toHaveLength(1);
  });

  it('with group 1 in ASID 1 mapping the same RAM, CVQ commands are answered and data flows through ASID 0', () => {
    const host = netxHost();
    addNetx(host, { name: 'vdpa0', mac: Uint8Array.from(MAC), maxVqp: 2 });
    const d = new NetxDriver(host, { cvqAsid: 1 });
    expect(d.ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, Uint8Array.of(2, 0))).toBe(VIRTIO_NET_OK);
    d.postRx(1);
    d.send(1, frame({ dst: MAC }));
    d.settle();
    expect(d.received(1)).toHaveLength(1);
  });
});

describe('vdpasim_netx receive filter', () => {
  it('after a device reset, negotiating CTRL_VLAN starts with an empty VLAN table: a tagged frame whose vid was never added is dropped (promisc off)', () => {
    const host = netxHost();
    addNetx(host, { name: 'vdpa0', mac: Uint8Array.of(2, 0, 0, 0, 0, 1) });
    const d = new NetxDriver(host);
    expect(d.ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, Uint8Array.of(0))).toBe(VIRTIO_NET_OK);
    d.postRx(0);
    d.send(0, frame({ dst: [2, 0, 0, 0, 0, 1], vid: 300 }));
    d.settle();
    expect(d.received(0)).toHaveLength(0);
    expect(vstats(host, 'vdpa0', 0)).toMatchObject({ 'rx packets': 0n, 'rx drops': 1n });
  });

  it('after reset (no RX command sent) the filter is promiscuous: every frame is received, none dropped', () => {
    const d = programmed(undefined);
    const r = run(d);
    expect(r.got).toEqual(FRAMES.map(() => 1));
    expect([r.packets, r.drops]).toEqual([9n, 0n]);
  });

  for (const c of CASES) {
    const pass = FRAMES.filter((_, i) => c.expect[i]).map((f) => f.name);
    it(`RX mode ${c.mode}: receives only [${pass.join('; ')}], the rest count as rx drops`, () => {
      const d = programmed(c.flags, c.table);
      const r = run(d);
      expect(Object.fromEntries(FRAMES.map((f, i) => [f.name, r.got[i]]))).toEqual(Object.fromEntries(FRAMES.map((f, i) => [f.name, c.expect[i]])));
      const delivered = c.expect.reduce((a, b) => a + b, 0);
      expect([r.packets, r.drops]).toEqual([BigInt(delivered), BigInt(FRAMES.length - delivered)]);
    });
  }

  it('a received frame is byte-identical to the one sent (header included), tagged or not', () => {
    const d = programmed({ promisc: 0 });
    d.postRx(0, 2);
    const plain = frame({ dst: OWN, payload: 100, fill: 7 });
    const tagged = frame({ dst: OWN, vid: VID_IN, payload: 100, fill: 9 });
    d.send(0, plain);
    d.send(0, tagged);
    d.settle();
    expect(d.received(0)).toEqual([plain, tagged]);
    expect(plain.length).toBe(HDR_LEN + 14 + 100);
  });
});

describe('vdpasim_netx control commands', () => {
  it('a config write that does not touch the MAC (SET_CONFIG at offset 6) leaves a MAC set through the CVQ in place', () => {
    const host = netxHost();
    addNetx(host, { name: 'vdpa0', mac: Uint8Array.of(2, 0, 0, 0, 0, 1) });
    const d = new NetxDriver(host);
    expect(d.ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, Uint8Array.of(2, 0, 0, 0, 0, 0x99))).toBe(VIRTIO_NET_OK);
    d.v.setConfig(6, Uint8Array.of(1, 0));
    expect(d.config().mac).toEqual([2, 0, 0, 0, 0, 0x99]);
  });

  it('MAC_ADDR_SET is acked OK and becomes the config-space MAC (GET_CONFIG and dev config show)', () => {
    const d = netx();
    expect(d.ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, Uint8Array.from(NEW_MAC))).toBe(VIRTIO_NET_OK);
    expect(d.config().mac).toEqual(NEW_MAC);
    expect(configJson(d.host).mac).toBe('02:aa:bb:cc:dd:99');
  });

  it('a MAC set through the CVQ survives a device reset and a close/reopen of the node (which resets)', () => {
    const d = netx();
    d.ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, Uint8Array.from(NEW_MAC));
    d.v.setStatus(0);
    expect(d.config().mac).toEqual(NEW_MAC);
    d.v.close();
    const again = new NetxDriver(d.host, { noDriverOk: true });
    expect(again.config().mac).toEqual(NEW_MAC);
    expect([...netxOf(d.host, 'vdpa0').n.mac]).toEqual(NEW_MAC);
  });

  it('after MAC_ADDR_SET (promisc off) frames to the new MAC are received and frames to the old MAC dropped', () => {
    const d = netx();
    d.ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, Uint8Array.of(0));
    d.ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, Uint8Array.from(NEW_MAC));
    d.postRx(0, 2);
    const toOld = frame({ dst: MAC });
    const toNew = frame({ dst: NEW_MAC });
    d.send(0, toOld);
    d.send(0, toNew);
    d.settle();
    expect(d.received(0)).toEqual([toNew]);
    expect(stats(d, 0)['rx drops']).toBe(1n);
  });

  it('MAC_ADDR_SET with a 5- or 7-byte address is ERR and the MAC is unchanged (QEMU wants exactly 6 bytes)', () => {
    const d = netx();
    expect(d.ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, Uint8Array.from(NEW_MAC.slice(0, 5)))).toBe(VIRTIO_NET_ERR);
    expect(d.ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, Uint8Array.from([...NEW_MAC, 0]))).toBe(VIRTIO_NET_ERR);
    expect(d.config().mac).toEqual(MAC);
  });

  it('VQ_PAIRS_SET with MQ negotiated accepts 1..max_vqp (each acked OK and recorded)', () => {
    const d = netx({ maxVqp: 4 });
    const n = netxOf(d.host, 'vdpa0').n;
    for (const pairs of [4, 1, 3, 2]) {
      expect(d.ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, u16(pairs))).toBe(VIRTIO_NET_OK);
      expect(n.currQueuePairs).toBe(pairs);
    }
  });

  it('VQ_PAIRS_SET 0 and max_vqp + 1 are ERR and leave the pairs in use unchanged', () => {
    const d = netx({ maxVqp: 4 });
    d.ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, u16(2));
    expect(d.ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, u16(0))).toBe(VIRTIO_NET_ERR);
    expect(d.ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, u16(5))).toBe(VIRTIO_NET_ERR);
    expect(netxOf(d.host, 'vdpa0').n.currQueuePairs).toBe(2);
  });

  it('VQ_PAIRS_SET without MQ negotiated is ERR (the CVQ is vq 2 then)', () => {
    const d = netx({ maxVqp: 4 }, { features: VDPASIM_NETX_DEFAULT_FEATURES & ~bit(VIRTIO_NET_F_MQ) });
    expect(d.cvq).toBe(2);
    expect(d.ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, u16(1))).toBe(VIRTIO_NET_ERR);
  });

  it('after VQ_PAIRS_SET(3) a frame sent on TX queue k (k < 3) is received on RX queue k', () => {
    const d = netx({ maxVqp: 4 });
    d.ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, u16(3));
    for (let q = 0; q < 4; q++) d.postRx(q);
    for (let q = 0; q < 3; q++) {
      const f = frame({ dst: MAC });
      f[f.length - 1] = 0x70 + q;
      d.send(q, f);
    }
    d.settle();
    expect([0, 1, 2, 3].map((q) => d.received(q).map((f) => f[f.length - 1]))).toEqual([[0x70], [0x71], [0x72], []]);
  });

  it('with MQ negotiated only pair 0 is in use until VQ_PAIRS_SET: a frame on TX queue 1 waits, then goes once 2 pairs are set', () => {
    const d = netx({ maxVqp: 2 });
    d.postRx(1);
    d.send(1, frame({ dst: MAC }));
    d.settle();
    expect(d.used(3)).toEqual([]);
    expect(d.ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, u16(2))).toBe(VIRTIO_NET_OK);
    expect(d.used(3)).toHaveLength(1);
    expect(d.received(1)).toHaveLength(1);
  });

  it('GUEST_OFFLOADS_SET accepts GUEST_CSUM and 0, refuses GUEST_TSO4 (not negotiated) leaving the offloads as they were', () => {
    const d = netx();
    const n = netxOf(d.host, 'vdpa0').n;
    const set = (o: bigint) => d.ctrl(VIRTIO_NET_CTRL_GUEST_OFFLOADS, VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET, u64(o));
    expect(n.currGuestOffloads).toBe(bit(VIRTIO_NET_F_GUEST_CSUM));
    expect(set(0n)).toBe(VIRTIO_NET_OK);
    expect(n.currGuestOffloads).toBe(0n);
    expect(set(bit(VIRTIO_NET_F_GUEST_CSUM))).toBe(VIRTIO_NET_OK);
    expect(set(bit(VIRTIO_NET_F_GUEST_TSO4))).toBe(VIRTIO_NET_ERR);
    expect(n.currGuestOffloads).toBe(bit(VIRTIO_NET_F_GUEST_CSUM));
  });

  it('GUEST_OFFLOADS_SET without CTRL_GUEST_OFFLOADS negotiated is ERR', () => {
    const d = netx({}, { features: VDPASIM_NETX_DEFAULT_FEATURES & ~bit(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) });
    expect(d.ctrl(VIRTIO_NET_CTRL_GUEST_OFFLOADS, VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET, u64(0n))).toBe(VIRTIO_NET_ERR);
  });

  it('an unknown class (99) and an unmodelled one (NOTF_COAL) are answered ERR', () => {
    const d = netx();
    expect(d.ctrl(99, 0, Uint8Array.of(1))).toBe(VIRTIO_NET_ERR);
    expect(d.ctrl(VIRTIO_NET_CTRL_NOTF_COAL, 0, new Uint8Array(8))).toBe(VIRTIO_NET_ERR);
  });

  it('ANNOUNCE_ACK with no announcement pending is ERR', () => {
    const d = netx();
    expect(d.ctrl(VIRTIO_NET_CTRL_ANNOUNCE, VIRTIO_NET_CTRL_ANNOUNCE_ACK)).toBe(VIRTIO_NET_ERR);
  });

  it('a command of 4096 bytes is run (RX PROMISC with trailing bytes is OK, as in QEMU); 4097 bytes is ERR and changes nothing', () => {
    const d = netx();
    const n = netxOf(d.host, 'vdpa0').n;
    expect(d.ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, new Uint8Array(4094))).toBe(VIRTIO_NET_OK);
    expect(n.promisc).toBe(0);
    const big = new Uint8Array(4095);
    big[0] = 1;
    expect(d.ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, big)).toBe(VIRTIO_NET_ERR);
    expect(n.promisc).toBe(0);
  });

  it('a command split over header, payload and ack descriptors (no INDIRECT_DESC) is answered like a contiguous one', () => {
    const d = netx({ maxVqp: 2 }, { features: VDPASIM_NETX_DEFAULT_FEATURES & ~bit(VIRTIO_RING_F_INDIRECT_DESC) });
    expect(d.ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, u16(2), { split: true })).toBe(VIRTIO_NET_OK);
    expect(d.descFlags(d.cvq, 0) & VRING_DESC_F_INDIRECT).toBe(0);
    expect(d.ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, u16(3), { split: true })).toBe(VIRTIO_NET_ERR);
  });

  it('with INDIRECT_DESC negotiated a command whose chain is one indirect descriptor is answered', () => {
    const d = netx({ maxVqp: 2 });
    expect(d.has(VIRTIO_RING_F_INDIRECT_DESC)).toBe(true);
    expect(d.ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, u16(2), { split: true })).toBe(VIRTIO_NET_OK);
    expect(d.descFlags(d.cvq, 0) & VRING_DESC_F_INDIRECT).toBe(VRING_DESC_F_INDIRECT);
  });

  it('the CVQ vstats count every request, and successes and errors as acked (5 OK, 3 ERR)', () => {
    const d = netx({ maxVqp: 2 });
    const acks = [
      d.ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, Uint8Array.of(0)),
      d.ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, u16(2)),
      d.ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, u16(9)),
      d.ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, Uint8Array.from(NEW_MAC)),
      d.ctrl(99, 1),
      d.ctrl(VIRTIO_NET_CTRL_GUEST_OFFLOADS, VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET, u64(0n)),
      d.ctrl(VIRTIO_NET_CTRL_ANNOUNCE, VIRTIO_NET_CTRL_ANNOUNCE_ACK),
      d.ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, Uint8Array.of(1)),
    ];
    expect(acks).toEqual([0, 0, 1, 0, 1, 0, 1, 0]);
    expect(stats(d, 4)).toEqual({ 'cvq requests': 8n, 'cvq successes': 5n, 'cvq errors': 3n });
  });
});

describe('vdpasim_netx MTU', () => {
  it('with MTU 9000 a frame with a 9000-byte payload goes through loopback byte for byte', () => {
    const d = netx({ mtu: 9000 });
    d.postRx(0, 1, 9100);
    const f = frame({ dst: MAC, payload: 9000, fill: 3 });
    d.send(0, f);
    d.settle();
    const got = d.received(0);
    expect(got).toHaveLength(1);
    expect(diff(got[0], f)).toEqual({ len: HDR_LEN + 14 + 9000, firstDiff: -1 });
  });

  it('vdpasim_net (the kernel simulator) with MTU 9000 truncates the same frame to PAGE_SIZE (4096 bytes)', () => {
    const host = netxHost();
    expect(devAdd(host, { name: 'vdpa0', mgmtdev: 'vdpasim_net', mac: Uint8Array.from(MAC), mtu: 9000 }).error).toBe(0);
    const d = new NetxDriver(host);
    d.postRx(0, 1, 9100);
    const f = frame({ dst: MAC, payload: 9000, fill: 3 });
    d.send(0, f);
    d.settle();
    const got = d.received(0);
    expect(got).toHaveLength(1);
    expect(diff(got[0], f.subarray(0, 4096))).toEqual({ len: 4096, firstDiff: -1 });
  });

  it('the largest frame accepted is header + 14 + 4 (VLAN) + MTU; one byte more is dropped (tx drops), completed, not truncated', () => {
    const d = netx({ mtu: 1500 });
    d.postRx(0, 2, 1600);
    const max = frame({ dst: MAC, payload: 1500 + 4 });
    const over = frame({ dst: MAC, payload: 1500 + 5 });
    expect(max.length).toBe(HDR_LEN + 14 + 4 + 1500);
    d.send(0, max);
    d.send(0, over);
    d.settle();
    expect(d.used(1)).toHaveLength(2);
    expect(d.received(0)).toEqual([max]);
    expect(stats(d, 1)).toMatchObject({ 'tx packets': 1n, 'tx drops': 1n, 'tx errors': 0n });
  });

  it('a runt (shorter than header + Ethernet header) is dropped on TX (tx drops) and completed', () => {
    const d = netx();
    d.postRx(0);
    d.send(0, frame({ dst: MAC }).subarray(0, HDR_LEN + 13));
    d.settle();
    expect(d.used(1)).toHaveLength(1);
    expect(d.received(0)).toEqual([]);
    expect(stats(d, 1)['tx drops']).toBe(1n);
  });

  it('an RX buffer too small for the frame is completed empty (len 0) and counted as rx errors, not rx packets', () => {
    const d = netx();
    d.postRx(0, 1, 64);
    d.send(0, frame({ dst: MAC, payload: 100 }));
    d.settle();
    expect(d.used(1)).toHaveLength(1);
    expect(d.used(0).map(([, len]) => len)).toEqual([0]);
    expect(stats(d, 0)).toMatchObject({ 'rx packets': 0n, 'rx errors': 1n });
  });
});

describe('vdpasim_netx link state and announce', () => {
  it('with STATUS negotiated setLink(false) raises one config interrupt and config status loses LINK_UP (dev config show: link down)', () => {
    const d = netx();
    expect(d.has(VIRTIO_NET_F_STATUS)).toBe(true);
    netxOf(d.host, 'vdpa0').setLink(false);
    expect(d.configCalls()).toBe(1n);
    expect(d.config().status & VIRTIO_NET_S_LINK_UP).toBe(0);
    expect(configJson(d.host)['link ']).toBe('down');
  });

  it('setLink(true) after a link down raises another config interrupt and LINK_UP is back; setting the same state again raises none', () => {
    const d = netx();
    const port = netxOf(d.host, 'vdpa0');
    port.setLink(false);
    d.configCalls();
    port.setLink(true);
    expect(d.configCalls()).toBe(1n);
    expect(d.config().status & VIRTIO_NET_S_LINK_UP).toBe(VIRTIO_NET_S_LINK_UP);
    port.setLink(true);
    expect(d.configCalls()).toBe(0n);
  });

  it('without STATUS negotiated a link change raises no config interrupt', () => {
    const d = netx({}, { features: VDPASIM_NETX_DEFAULT_FEATURES & ~bit(VIRTIO_NET_F_STATUS) });
    netxOf(d.host, 'vdpa0').setLink(false);
    expect(d.configCalls()).toBe(0n);
  });

  it('while the link is down TX is completed and counted as tx drops, and nothing is received', () => {
    const d = netx();
    netxOf(d.host, 'vdpa0').setLink(false);
    d.postRx(0);
    d.send(0, frame({ dst: MAC }));
    d.send(0, frame({ dst: BCAST }));
    d.settle();
    expect(d.used(1)).toHaveLength(2);
    expect(d.used(0)).toEqual([]);
    expect(stats(d, 1)['tx drops']).toBe(2n);
    expect(stats(d, 0)).toMatchObject({ 'rx packets': 0n, 'rx drops': 0n });
  });

  it('when the link comes back up frames flow again', () => {
    const d = netx();
    const port = netxOf(d.host, 'vdpa0');
    port.setLink(false);
    d.postRx(0);
    d.send(0, frame({ dst: MAC }));
    d.settle();
    port.setLink(true);
    const f = frame({ dst: MAC, fill: 5 });
    d.send(0, f);
    d.settle();
    expect(d.received(0)).toEqual([f]);
  });

  it('announce() does nothing with the default features (no GUEST_ANNOUNCE offered): false, no interrupt, no ANNOUNCE bit', () => {
    const d = netx();
    expect(netxOf(d.host, 'vdpa0').announce()).toBe(false);
    expect(d.configCalls()).toBe(0n);
    expect(d.config().status & VIRTIO_NET_S_ANNOUNCE).toBe(0);
  });

  it('announce() with GUEST_ANNOUNCE and CTRL_VQ negotiated raises a config interrupt and sets VIRTIO_NET_S_ANNOUNCE (link_announce true)', () => {
    const d = netx({ features: VDPASIM_NETX_FEATURES });
    expect(netxOf(d.host, 'vdpa0').announce()).toBe(true);
    expect(d.configCalls()).toBe(1n);
    expect(d.config().status).toBe(VIRTIO_NET_S_LINK_UP | VIRTIO_NET_S_ANNOUNCE);
    expect(configJson(d.host)['link_announce ']).toBe(true);
  });

  it('ANNOUNCE_ACK through the CVQ clears VIRTIO_NET_S_ANNOUNCE; a second ACK is ERR', () => {
    const d = netx({ features: VDPASIM_NETX_FEATURES });
    netxOf(d.host, 'vdpa0').announce();
    expect(d.ctrl(VIRTIO_NET_CTRL_ANNOUNCE, VIRTIO_NET_CTRL_ANNOUNCE_ACK)).toBe(VIRTIO_NET_OK);
    expect(d.config().status).toBe(VIRTIO_NET_S_LINK_UP);
    expect(d.ctrl(VIRTIO_NET_CTRL_ANNOUNCE, VIRTIO_NET_CTRL_ANNOUNCE_ACK)).toBe(VIRTIO_NET_ERR);
  });

  it('announce() with GUEST_ANNOUNCE negotiated but no CTRL_VQ is refused (false, no ANNOUNCE bit)', () => {
    const d = netx({ features: VDPASIM_NETX_FEATURES }, { features: VDPASIM_NETX_FEATURES & ~bit(VIRTIO_NET_F_CTRL_VQ) });
    expect(netxOf(d.host, 'vdpa0').announce()).toBe(false);
    expect(d.config().status & VIRTIO_NET_S_ANNOUNCE).toBe(0);
  });

  it('a pending announcement is cleared by device reset', () => {
    const d = netx({ features: VDPASIM_NETX_FEATURES });
    netxOf(d.host, 'vdpa0').announce();
    d.v.setStatus(0);
    expect(d.config().status & VIRTIO_NET_S_ANNOUNCE).toBe(0);
  });
});

describe('vdpasim_netx per-queue statistics (vdpa dev vstats show)', () => {
  it('each data vq reports its own pair: rx/tx packets and bytes match what was sent on that pair', () => {
    const d = netx({ maxVqp: 3 });
    d.ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, u16(3));
    const sizes = [60, 100, 200];
    for (let q = 0; q < 3; q++) {
      d.postRx(q, q + 1);
      for (let i = 0; i <= q; i++) d.send(q, frame({ dst: MAC, payload: (sizes[q] as number) - HDR_LEN - 14 }));
    }
    d.settle();
    for (let q = 0; q < 3; q++) {
      const n = BigInt(q + 1);
      const bytes = n * BigInt(sizes[q] as number);
      expect(stats(d, 2 * q)).toEqual({ 'rx packets': n, 'rx bytes': bytes, 'rx errors': 0n, 'rx overruns': 0n, 'rx drops': 0n });
      expect(stats(d, 2 * q + 1)).toEqual({ 'tx packets': n, 'tx bytes': bytes, 'tx errors': 0n, 'tx drops': 0n });
    }
  });

  it('the vdpa tool names the queue types: rx for even vqs, tx for odd ones, control_vq for vq 2 * max_vqp', () => {
    const d = netx({ maxVqp: 2 });
    const type = (q: number) => {
      const r = runShell(d.host, d.host.spawn({ comm: 'vdpa' }), `vdpa -j dev vstats show vdpa0 qidx ${q}`);
      return (JSON.parse(r.stdout) as { vstats: Record<string, Record<string, unknown>> }).vstats.vdpa0?.queue_type;
    };
    expect([0, 1, 2, 3, 4].map(type)).toEqual(['rx', 'tx', 'rx', 'tx', 'control_vq']);
  });

  it('a frame with no RX buffer posted counts as rx overruns of that queue (and as a sent tx packet)', () => {
    const d = netx();
    d.send(0, frame({ dst: MAC }));
    d.settle();
    expect(stats(d, 0)).toMatchObject({ 'rx packets': 0n, 'rx overruns': 1n });
    expect(stats(d, 1)['tx packets']).toBe(1n);
  });

  it('without MQ negotiated vq 2 reports the CVQ counters', () => {
    const d = netx({ maxVqp: 4 }, { features: VDPASIM_NETX_DEFAULT_FEATURES & ~bit(VIRTIO_NET_F_MQ) });
    d.ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, Uint8Array.of(1));
    expect(stats(d, 2)).toEqual({ 'cvq requests': 1n, 'cvq successes': 1n, 'cvq errors': 0n });
  });

  it('a queue index past the last vq is EINVAL; one above 0x8000 is ERANGE "queue index exceeds max value"', () => {
    const d = netx({ maxVqp: 2 });
    expect(vstats(d.host, 'vdpa0', 5)).toEqual({ error: -22 });
    expect(vstats(d.host, 'vdpa0', 0x8001)).toEqual({ error: -34, extack: 'vdpa: queue index exceeds max value' });
  });

  it('before FEATURES_OK vstats is EAGAIN "feature negotiation not complete"', () => {
    const host = netxHost();
    addNetx(host, { name: 'vdpa0' });
    expect(vstats(host, 'vdpa0', 0)).toEqual({ error: -11, extack: 'vdpa: feature negotiation not complete' });
  });
});

describe('vdpasim_netx EVENT_IDX and indirect descriptors', () => {
  it('after draining a TX queue the device publishes avail_event = the next avail index it will read', () => {
    const d = netx();
    expect(d.has(VIRTIO_RING_F_EVENT_IDX)).toBe(true);
    d.postRx(0, 3);
    for (let i = 0; i < 3; i++) d.send(0, frame({ dst: MAC }), false);
    d.kick(1);
    d.settle();
    expect(d.used(1)).toHaveLength(3);
    expect(d.availEvent(1)).toBe(3);
  });

  it('a second batch after the first was drained: kickPrepare asks for a kick, and that one kick gets it processed', () => {
    const d = netx();
    d.postRx(0, 4);
    const tx = d.vqs[1]!;
    d.send(0, frame({ dst: MAC }), false);
    expect(tx.kickPrepare()).toBe(true);
    d.kick(1);
    d.settle();
    expect(d.used(1)).toHaveLength(1);
    for (let i = 0; i < 3; i++) d.send(0, frame({ dst: MAC }), false);
    expect(tx.kickPrepare()).toBe(true);
    d.kick(1);
    d.settle();
    expect(d.used(1)).toHaveLength(3);
    expect(d.received(0)).toHaveLength(4);
  });

  it('frames added after a kick but before the device ran need no kick (kickPrepare false) and go in the same pass', () => {
    const d = netx();
    d.postRx(0, 2);
    const tx = d.vqs[1]!;
    d.send(0, frame({ dst: MAC }), false);
    expect(tx.kickPrepare()).toBe(true);
    d.kick(1);
    d.send(0, frame({ dst: MAC }), false);
    expect(tx.kickPrepare()).toBe(false);
    d.settle();
    expect(d.used(1)).toHaveLength(2);
    expect(d.received(0)).toHaveLength(2);
  });

  it('more chains than the per-pass budget (64) after one kick are all sent: the device reschedules its own work', () => {
    const d = netx({}, { num: 256 });
    d.postRx(0, 150);
    for (let i = 0; i < 150; i++) d.send(0, frame({ dst: MAC }), false);
    d.kick(1);
    d.settle();
    expect(d.used(1)).toHaveLength(150);
    expect(d.received(0)).toHaveLength(150);
  });

  it('used_event suppresses RX interrupts: with used_event 5 only the completion that moves used idx past 5 interrupts', () => {
    const d = netx();
    d.postRx(0, 8);
    d.setUsedEvent(0, 5);
    d.callCount(0);
    const calls: bigint[] = [];
    for (let i = 0; i < 8; i++) {
      d.send(0, frame({ dst: MAC }));
      d.settle();
      calls.push(d.callCount(0));
    }
    expect(calls).toEqual([0n, 0n, 0n, 0n, 0n, 1n, 0n, 0n]);
  });

  it('without EVENT_IDX every RX completion interrupts unless VRING_AVAIL_F_NO_INTERRUPT is set', () => {
    const d = netx({}, { features: VDPASIM_NETX_DEFAULT_FEATURES & ~bit(VIRTIO_RING_F_EVENT_IDX) });
    d.postRx(0, 4);
    d.send(0, frame({ dst: MAC }), false);
    d.send(0, frame({ dst: MAC }));
    d.settle();
    expect(d.callCount(0)).toBe(2n);
    d.vqs[0]!.disableCb();
    d.send(0, frame({ dst: MAC }));
    d.settle();
    expect(d.callCount(0)).toBe(0n);
    expect(d.received(0)).toHaveLength(3);
  });

  it('a TX chain through an indirect table (header and frame in two descriptors) is received intact', () => {
    const d = netx();
    d.postRx(0);
    const f = frame({ dst: MAC, payload: 300, fill: 11 });
    d.chain(1, [f.subarray(0, HDR_LEN), f.subarray(HDR_LEN)]);
    d.kick(1);
    d.settle();
    expect(d.descFlags(1, 0) & VRING_DESC_F_INDIRECT).toBe(VRING_DESC_F_INDIRECT);
    expect(d.received(0)).toEqual([f]);
  });

  it('an RX buffer made of two writable descriptors in an indirect table receives the frame across both', () => {
    const d = netx();
    const [hdrAt, dataAt] = d.chain(0, [], [HDR_LEN, 2048]) as [number, number];
    d.kick(0);
    const f = frame({ dst: MAC, payload: 200, fill: 13 });
    d.send(0, f);
    d.settle();
    expect(d.descFlags(0, 0) & VRING_DESC_F_INDIRECT).toBe(VRING_DESC_F_INDIRECT);
    expect(d.used(0)).toEqual([[hdrAt, f.length]]);
    const hdr = d.at(hdrAt, HDR_LEN);
    const rest = d.at(dataAt, f.length - HDR_LEN);
    expect(Uint8Array.from([...hdr, ...rest])).toEqual(f);
  });
});
