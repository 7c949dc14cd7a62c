// vdpasim_netx on the Wire backend (two NICs on one cable: each one's TX reaches the other's RX
// through the receiver's filter): first driven through vhost-vdpa with driver-side rings
// (filtering, queue mapping, MTU and header layout across the cable, link state at the far end,
// unplugging either end with dev del), then the whole stack: two VMs (QEMU-like VMM, guest
// virtio-net driver, guest IPv4 stack) on a wired pair with max_vqp 4 and 4 vCPUs each.
// The VMs' devices are added without CTRL_VLAN: with it, the VMM's CVQ state load at DRIVER_OK
// replays one VLAN_ADD per set bit of its VLAN table, which lib/net leaves all-ones after a reset
// (4096 commands, ~0.5 s per VM). VLAN filtering is covered in netx_device.

import { describe, expect, it } from 'vitest';
import { VDPASIM_NETX_DEFAULT_FEATURES } from '../../drivers/vdpa/vdpa_sim/index.js';
import { type VirtioNetState, Wire } from '../../lib/net/index.js';
import { type Vm, launchVm } from '../../sim/scenarios/machine.js';
import {
  VIRTIO_F_VERSION_1,
  VIRTIO_NET_CTRL_MQ,
  VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
  VIRTIO_NET_CTRL_RX,
  VIRTIO_NET_CTRL_RX_PROMISC,
  VIRTIO_NET_F_CTRL_VLAN,
  VIRTIO_NET_OK,
} from '../../uapi/index.js';
import { HDR_LEN, NetxDriver, addNetx, bit, frame, netxHost, netxOf, simOf, vstats, wire } from '../helpers/netx.js';
import { devAdd, devDel } from '../helpers/vdpa_nl.js';

const MAC_A = [0x02, 0xaa, 0, 0, 0, 0x01];
const MAC_B = [0x02, 0xaa, 0, 0, 0, 0x02];
const OTHER = [0x02, 0xaa, 0, 0, 0, 0x77];
const u16 = (n: number): Uint8Array => Uint8Array.of(n & 0xff, n >> 8);

/** vdpa0 (A) and vdpa1 (B) on one wire, each with a driver; B's promisc off. */
function pair(o: { a?: { maxVqp?: number; mtu?: number }; b?: { maxVqp?: number; mtu?: number }; aFeatures?: bigint } = {}): { a: NetxDriver; b: NetxDriver } {
  const host = netxHost();
  addNetx(host, { name: 'vdpa0', mac: Uint8Array.from(MAC_A), ...o.a });
  addNetx(host, { name: 'vdpa1', mac: Uint8Array.from(MAC_B), ...o.b });
  wire(host, 'vdpa0', 'vdpa1');
  const a = new NetxDriver(host, { name: 'vdpa0', ...(o.aFeatures !== undefined ? { features: o.aFeatures } : {}) });
  const b = new NetxDriver(host, { name: 'vdpa1' });
  expect(b.ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, Uint8Array.of(0))).toBe(VIRTIO_NET_OK);
  return { a, b };
}

const st = (d: NetxDriver, name: string, q: number): Record<string, bigint> => vstats(d.host, name, q) as Record<string, bigint>;

const MACS = ['02:aa:00:00:00:01', '02:aa:00:00:00:02'];
const STRANGER = Uint8Array.of(0x02, 0xaa, 0, 0, 0, 0x77);

function twoVms(): { a: Vm; b: Vm; host: ReturnType<typeof netxHost> } {
  const host = netxHost();
  const features = VDPASIM_NETX_DEFAULT_FEATURES & ~bit(VIRTIO_NET_F_CTRL_VLAN);
  for (const [i, mac] of MACS.entries()) {
    addNetx(host, { name: `vdpa${i}`, mac: Uint8Array.from(mac.split(':').map((h) => parseInt(h, 16))), maxVqp: 4, features });
  }
  wire(host, 'vdpa0', 'vdpa1');
  const vms = MACS.map((mac, i) => {
    const vm = launchVm(host, { name: `vm${i}`, vhostdev: `/dev/vhost-vdpa-${i}`, mac, ip: `10.0.0.${i + 1}/24`, cpus: 4 });
    if (typeof vm === 'string') throw new Error(vm);
    return vm;
  });
  host.settleSync();
  return { a: vms[0] as Vm, b: vms[1] as Vm, host };
}

/** An Ethernet frame (no virtio header) from `src` to `dst`, a made-up EtherType. */
function eth(dst: Uint8Array, src: Uint8Array): Uint8Array {
  const f = new Uint8Array(60);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = 0x88;
  f[13] = 0xb5;
  return f;
}

/** Counts the frames the guest's driver hands its stack. */
function rxCounter(vm: Vm): { n: number } {
  const c = { n: 0 };
  const inner = vm.nic.rxHandler;
  vm.nic.rxHandler = (buf, off, len) => {
    c.n++;
    inner?.(buf, off, len);
  };
  return c;
}

/** The filter and control state both sides keep. */
function filterState(n: VirtioNetState): Record<string, unknown> {
  const t = n.macTable;
  return {
    mac: [...n.mac],
    modes: [n.promisc, n.allmulti, n.alluni, n.nomulti, n.nouni, n.nobcast],
    table: { inUse: t.inUse, firstMulti: t.firstMulti, uniOverflow: t.uniOverflow, multiOverflow: t.multiOverflow, macs: [...t.macs.subarray(0, 6 * t.inUse)] },
    currQueuePairs: n.currQueuePairs,
    multiqueue: n.multiqueue,
    currGuestOffloads: n.currGuestOffloads,
  };
}

describe('vdpasim_netx on a Wire', () => {
  it('a frame to the peer\'s MAC crosses the wire; one to another MAC is dropped by the peer\'s filter (peer rx drops); nothing loops back', () => {
    const { a, b } = pair();
    a.postRx(0, 2);
    b.postRx(0, 2);
    const toB = frame({ dst: MAC_B, fill: 1 });
    a.send(0, toB);
    a.send(0, frame({ dst: OTHER }));
    a.settle();
    expect(a.used(1)).toHaveLength(2);
    expect(b.received(0)).toEqual([toB]);
    expect(a.received(0)).toEqual([]);
    expect(st(b, 'vdpa1', 0)).toMatchObject({ 'rx packets': 1n, 'rx drops': 1n });
    expect(st(a, 'vdpa0', 1)).toMatchObject({ 'tx packets': 2n, 'tx drops': 0n });
  });

  it('the sender\'s TX pair k lands on the receiver\'s RX pair k % (receiver\'s pairs in use): 4 pairs into 2', () => {
    const { a, b } = pair({ a: { maxVqp: 4 }, b: { maxVqp: 4 } });
    expect(a.ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, u16(4))).toBe(VIRTIO_NET_OK);
    expect(b.ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, u16(2))).toBe(VIRTIO_NET_OK);
    for (let q = 0; q < 4; q++) b.postRx(q, 2);
    for (let q = 0; q < 4; q++) {
      const f = frame({ dst: MAC_B });
      f[f.length - 1] = q;
      a.send(q, f);
    }
    a.settle();
    expect([0, 1, 2, 3].map((q) => b.received(q).map((f) => f[f.length - 1]).sort())).toEqual([[0, 2], [1, 3], [], []]);
  });

  it('the receiver\'s MTU applies: a 2000-byte payload from an MTU 9000 sender is dropped by an MTU 1500 receiver (rx drops)', () => {
    const { a, b } = pair({ a: { mtu: 9000 }, b: { mtu: 1500 } });
    b.postRx(0, 1, 4096);
    a.send(0, frame({ dst: MAC_B, payload: 2000 }));
    a.settle();
    expect(b.used(0)).toEqual([]);
    expect(st(a, 'vdpa0', 1)['tx packets']).toBe(1n);
    expect(st(b, 'vdpa1', 0)['rx drops']).toBe(1n);
  });

  it('a legacy sender (no VERSION_1: 10-byte header) reaches a VERSION_1 receiver with the receiver\'s 12-byte header, zeroed', () => {
    const { a, b } = pair({ aFeatures: VDPASIM_NETX_DEFAULT_FEATURES & ~bit(VIRTIO_F_VERSION_1) });
    b.postRx(0);
    const modern = frame({ dst: MAC_B, fill: 4 });
    const legacy = modern.slice(2);
    legacy.set([1, 0, 0x22, 0x11, 0x44, 0x33, 0x0e, 0, 0x10, 0], 0);
    a.send(0, legacy);
    a.settle();
    expect(b.received(0)).toEqual([modern]);
    expect(modern.subarray(0, HDR_LEN).every((x) => x === 0)).toBe(true);
  });

  it('while the receiver\'s link is down nothing reaches it: its rx drops count the frames, the sender completes them', () => {
    const { a, b } = pair();
    netxOf(a.host, 'vdpa1').setLink(false);
    b.postRx(0);
    a.send(0, frame({ dst: MAC_B }));
    a.settle();
    expect(a.used(1)).toHaveLength(1);
    expect(b.used(0)).toEqual([]);
    expect(st(b, 'vdpa1', 0)).toMatchObject({ 'rx packets': 0n, 'rx drops': 1n });
  });

  it('after dev del of the peer the other end\'s TX is completed and counted as tx drops (no carrier), without error', () => {
    const { a, b } = pair();
    expect(devDel(a.host, 'vdpa1').error).toBe(0);
    for (let i = 0; i < 3; i++) a.send(0, frame({ dst: MAC_B }));
    a.settle();
    expect(a.used(1)).toHaveLength(3);
    expect(st(a, 'vdpa0', 1)).toMatchObject({ 'tx packets': 3n, 'tx drops': 3n });
    expect(() => b.v.close()).not.toThrow();
  });

  it('a device deleted while wired detaches cleanly: its port is never reached again, and a new device of the same name is not on the wire', () => {
    const { a } = pair();
    const oldB = netxOf(a.host, 'vdpa1');
    const rxBefore = structuredClone(oldB.stats.rx);
    expect(devDel(a.host, 'vdpa1').error).toBe(0);
    addNetx(a.host, { name: 'vdpa1', mac: Uint8Array.from(MAC_B) });
    const b2 = new NetxDriver(a.host, { name: 'vdpa1' });
    b2.postRx(0);
    a.send(0, frame({ dst: MAC_B }));
    a.settle();
    expect(oldB.stats.rx).toEqual(rxBefore);
    expect(b2.used(0)).toEqual([]);
    expect(st(a, 'vdpa0', 1)['tx drops']).toBe(1n);
    // The new device loops back, as every device does before it is wired.
    const own = frame({ dst: MAC_B, fill: 2 });
    b2.send(0, own);
    b2.settle();
    expect(b2.received(0)).toEqual([own]);
  });

  it('deleting the sender while wired leaves the peer unplugged too: wiring is not restored for anyone, and the peer keeps working alone', () => {
    const { a, b } = pair();
    expect(devDel(a.host, 'vdpa0').error).toBe(0);
    const w = simOf(b.host, 'vdpa1').net?.backend as Wire;
    expect(w.kind).toBe('wire');
    expect(w.peer(netxOf(b.host, 'vdpa1'))).toBeUndefined();
    b.send(0, frame({ dst: MAC_A }));
    b.settle();
    expect(b.used(1)).toHaveLength(1);
    expect(st(b, 'vdpa1', 1)['tx drops']).toBe(1n);
  });

  it('a device cannot be wired to itself', () => {
    const host = netxHost();
    addNetx(host, { name: 'vdpa0' });
    expect(() => wire(host, 'vdpa0', 'vdpa0')).toThrow(/cannot be wired to itself/);
  });

  it('a netx device and a vdpasim_net device (the kernel simulator) on one wire exchange frames both ways', () => {
    const host = netxHost();
    addNetx(host, { name: 'vdpa0', mac: Uint8Array.from(MAC_A) });
    expect(devAdd(host, { name: 'vdpa1', mgmtdev: 'vdpasim_net', mac: Uint8Array.from(MAC_B) }).error).toBe(0);
    wire(host, 'vdpa0', 'vdpa1');
    const a = new NetxDriver(host, { name: 'vdpa0' });
    const b = new NetxDriver(host, { name: 'vdpa1' });
    a.postRx(0);
    b.postRx(0);
    const ab = frame({ dst: MAC_B, fill: 1 });
    const ba = frame({ dst: MAC_A, fill: 2 });
    a.send(0, ab);
    b.send(0, ba);
    a.settle();
    expect(b.received(0)).toEqual([ab]);
    expect(a.received(0)).toEqual([ba]);
  });
});

describe('two VMs on a wired vdpasim_netx pair (max_vqp 4, 4 vCPUs)', () => {
  it('they ping each other both ways', () => {
    const { a, b, host } = twoVms();
    const ab = a.stack.ping('10.0.0.2', { count: 3 });
    const ba = b.stack.ping('10.0.0.1', { count: 3 });
    host.settleSync();
    expect([ab.sent, ab.received, ba.sent, ba.received]).toEqual([3, 3, 3, 3]);
  });

  it('the guest driver uses 4 queue pairs, and the VMM model and the device record 4 pairs in use', () => {
    const { a, host } = twoVms();
    expect(a.nic.currQueuePairs).toBe(4);
    expect(a.device.n.currQueuePairs).toBe(4);
    expect(netxOf(host, 'vdpa0').n.currQueuePairs).toBe(4);
  });

  it('what a guest sends on TX queue 3 arrives on the peer guest\'s RX queue 3', () => {
    const { a, b, host } = twoVms();
    a.nic.selectQueue(3);
    const p = a.stack.ping('10.0.0.2', { count: 2 });
    host.settleSync();
    expect(p.received).toBe(2);
    const rx = b.nic.queueStats().rx.map((q) => q.packets);
    // The ARP request and the two echo requests.
    expect(rx).toEqual([0, 0, 0, 3]);
    expect(Number(netxOf(host, 'vdpa1').stats.rx[3]?.pkts)).toBe(3);
  });

  it('the guest\'s rx mode decides what reaches it: promisc off (set at probe) drops unknown unicast at the device, setRxMode promisc on lets it in', () => {
    const { a, b, host } = twoVms();
    const seen = rxCounter(b);
    const dev = netxOf(host, 'vdpa1');
    const drops = () => dev.stats.rx.reduce((s, q) => s + Number(q.drops), 0);
    const f = eth(STRANGER, a.nic.mac);
    a.nic.xmit(f, 0, f.length);
    host.settleSync();
    expect([seen.n, drops()]).toEqual([0, 1]);
    expect(b.nic.setRxMode({ promisc: true, allmulti: false, uc: [], mc: [] })).toBe(0);
    a.nic.xmit(f, 0, f.length);
    host.settleSync();
    expect([seen.n, drops()]).toEqual([1, 1]);
  });

  it('a unicast address in the guest\'s filter table (promisc off) is let in by the device', () => {
    const { a, b, host } = twoVms();
    const seen = rxCounter(b);
    expect(b.nic.setRxMode({ promisc: false, allmulti: false, uc: [STRANGER], mc: [] })).toBe(0);
    const f = eth(STRANGER, a.nic.mac);
    a.nic.xmit(f, 0, f.length);
    host.settleSync();
    expect(seen.n).toBe(1);
  });

  it('after guest commands (rx mode, MAC table, MAC address, queue pairs) the VMM\'s model and the device\'s VirtioNetState agree', () => {
    const { b, host } = twoVms();
    expect(b.nic.setRxMode({ promisc: false, allmulti: true, uc: [STRANGER], mc: [Uint8Array.of(0x01, 0, 0x5e, 0, 0, 9)] })).toBe(0);
    expect(b.nic.setMacAddress(Uint8Array.of(0x02, 0xaa, 0, 0, 0, 0x99))).toBe(0);
    expect(b.nic.setQueues(2)).toBe(0);
    host.settleSync();
    const dev = netxOf(host, 'vdpa1').n;
    expect(filterState(b.device.n)).toEqual(filterState(dev));
    expect(filterState(dev)).toMatchObject({ mac: [0x02, 0xaa, 0, 0, 0, 0x99], modes: [0, 1, 0, 0, 0, 0], currQueuePairs: 2 });
  });

  it('the VMM shadows the CVQ in ASID 1: the device\'s CVQ (vq 8) translates through ASID 1, the data vqs through ASID 0', () => {
    const { a, host } = twoVms();
    expect(a.device.netdev.cvq?.dev.shadowVqsEnabled).toBe(true);
    expect(a.device.netdev.cvq?.dev.addressSpaceId).toBe(1);
    const sim = simOf(host, 'vdpa0');
    expect(sim.vqs.map((q) => sim.iommu.indexOf(q.iotlb as never))).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 1]);
  });

  it('a link down at the device reaches the guest as carrier off through the config interrupt, and link up as carrier on', () => {
    const { b, host } = twoVms();
    const dev = netxOf(host, 'vdpa1');
    dev.setLink(false);
    host.settleSync();
    expect(b.nic.carrier).toBe(false);
    dev.setLink(true);
    host.settleSync();
    expect(b.nic.carrier).toBe(true);
  });
});
