// The shadowed control virtqueue (vmm-svq-cvq-migration-facts.md §3.4-3.6; §8 items 23-27): the
// guest's commands are copied into a bounce page, forwarded to the device in ASID 1, and
// replayed into the VMM's device model only when the device says OK; the guest gets the model's
// verdict.

import { describe, expect, it } from 'vitest';
import {
  ETH_ALEN,
  VIRTIO_NET_CTRL_ANNOUNCE,
  VIRTIO_NET_CTRL_ANNOUNCE_ACK,
  VIRTIO_NET_CTRL_MAC,
  VIRTIO_NET_CTRL_MAC_ADDR_SET,
  VIRTIO_NET_CTRL_MAC_TABLE_SET,
  VIRTIO_NET_CTRL_RX,
  VIRTIO_NET_CTRL_RX_PROMISC,
  VIRTIO_NET_F_GUEST_ANNOUNCE,
  VIRTIO_NET_S_ANNOUNCE,
} from '../../uapi/index.js';
import { type VdpaSim, type VdpaSimNet, type VdpaSimNetx } from '../../drivers/vdpa/vdpa_sim/index.js';
import type { VhostVdpa } from '../../drivers/vhost/vdpa.js';
import { ctrlMacTableSet, formatMac } from '../../lib/net/index.js';
import { bootVmmHost, tracedVm } from '../helpers/vmm.js';

const bit = (n: number): bigint => 1n << BigInt(n);
const macOf = (s: string) => Uint8Array.from(s.split(':').map((h) => parseInt(h, 16)));
const port = (host: ReturnType<typeof bootVmmHost>, dev = 'vdpa0') => (host.bus.findDevice(dev)?.parent as VdpaSim).net?.port;

describe('shadowed CVQ', () => {
  it('the device reaches only the bounce pages and the shadow ring: ASID 1 holds four maps, no guest RAM (item 23)', () => {
    const host = bootVmmHost('upstream', [{ mgmtdev: 'vdpasim_net' }]);
    const vm = tracedVm(host, 0);
    const v = host.bus.findDevice('vdpa0')?.drvdata as VhostVdpa;
    expect(v.as.get(1)?.iotlb.nmaps).toBe(4);
    // ...and commands still work: the device read them from the copy.
    expect(vm.nic.setMacAddress(macOf('02:aa:bb:cc:dd:77'))).toBe(0);
    host.settleSync();
    expect(formatMac((host.bus.findDevice('vdpa0')?.parent as VdpaSim).config)).toBe('02:aa:bb:cc:dd:77');
  });

  it('MAC_ADDR_SET acked by the device updates the VMM model, and the guest gets OK', () => {
    const host = bootVmmHost('upstream', [{ mgmtdev: 'vdpasim_net' }]);
    const vm = tracedVm(host, 0);
    const cq = (port(host) as VdpaSimNet).stats.cq;
    const before = cq.requests;
    expect(vm.nic.sendCommand(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, macOf('02:aa:bb:cc:dd:42'))).toBe(true);
    expect(cq.requests - before).toBe(1);
    expect(formatMac(vm.device.n.mac)).toBe('02:aa:bb:cc:dd:42');
  });

  it('a device ERR reaches the guest as ERR and leaves the model unchanged (item 26)', () => {
    const host = bootVmmHost('upstream', [{ mgmtdev: 'vdpasim_net' }]);
    const vm = tracedVm(host, 0);
    // vdpa_sim_net answers only MAC_ADDR_SET; RX PROMISC is an error (a fresh pass starts at ERR).
    expect(vm.nic.sendCommand(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, Uint8Array.of(0))).toBe(false);
    expect(vm.device.n.promisc).toBe(1);
    expect(vm.device.netdev.log).toEqual([]);
  });

  it('a device OK the model rejects reaches the guest as the model\'s ERR, logged (item 26)', () => {
    const host = bootVmmHost('upstream', [{ mgmtdev: 'vdpasim_net' }]);
    const vm = tracedVm(host, 0);
    // The kernel device reads 6 of 7 bytes and says OK; QEMU's model wants exactly 6.
    expect(vm.nic.sendCommand(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, macOf('02:aa:bb:cc:dd:43:44'))).toBe(false);
    expect(formatMac((host.bus.findDevice('vdpa0')?.parent as VdpaSim).config)).toBe('02:aa:bb:cc:dd:43');
    expect(formatMac(vm.device.n.mac)).toBe('02:aa:bb:cc:dd:00');
    expect(vm.device.netdev.log).toEqual(['Bad CVQ processing in model']);
  });

  it('ANNOUNCE never reaches the device; the guest gets the model\'s answer (item 24)', () => {
    const host = bootVmmHost('upstream', [{ mgmtdev: 'vdpasim_netx' }]);
    const vm = tracedVm(host, 0);
    const cq = (port(host) as VdpaSimNetx).stats.cq;
    const before = cq.requests;
    // Nothing pending: the model says ERR.
    expect(vm.nic.sendCommand(VIRTIO_NET_CTRL_ANNOUNCE, VIRTIO_NET_CTRL_ANNOUNCE_ACK)).toBe(false);
    expect(cq.requests).toBe(before);
  });

  it('announce-self raises ANNOUNCE for the guest, which answers with a gratuitous ARP and an ACK the VMM keeps (item 24)', () => {
    const host = bootVmmHost('upstream', [{ mgmtdev: 'vdpasim_netx' }, { mgmtdev: 'vdpasim_netx' }]);
    const vm = tracedVm(host, 0);
    expect(vm.device.hasFeature(VIRTIO_NET_F_GUEST_ANNOUNCE)).toBe(true);
    const cq = (port(host) as VdpaSimNetx).stats.cq;
    const before = cq.requests;
    let announced = 0;
    vm.nic.notifyPeers = () => announced++;
    expect(vm.device.announce()).toBe(true);
    expect(vm.device.n.status & VIRTIO_NET_S_ANNOUNCE).toBe(VIRTIO_NET_S_ANNOUNCE);
    host.settleSync();
    expect(announced).toBe(1);
    expect(vm.device.n.status & VIRTIO_NET_S_ANNOUNCE).toBe(0);
    expect(cq.requests).toBe(before);
  });

  it('GUEST_ANNOUNCE is offered to the guest only over a CVQ, even though the device lacks it', () => {
    const host = bootVmmHost('upstream', [{ mgmtdev: 'vdpasim_net' }]);
    const vm = tracedVm(host, 0);
    expect(vm.device.netdev.features & bit(VIRTIO_NET_F_GUEST_ANNOUNCE)).toBe(0n);
    expect(vm.device.features & bit(VIRTIO_NET_F_GUEST_ANNOUNCE)).toBe(bit(VIRTIO_NET_F_GUEST_ANNOUNCE));
  });

  it('a MAC table larger than the bounce page becomes RX PROMISC=1 for the device and overflow for the model (item 25)', () => {
    const host = bootVmmHost('upstream', [{ mgmtdev: 'vdpasim_netx' }]);
    const vm = tracedVm(host, 0);
    const netx = port(host) as VdpaSimNetx;
    expect(vm.nic.setRxMode({ promisc: false, allmulti: false, uc: [], mc: [] })).toBe(0);
    expect(netx.n.promisc).toBe(0);
    const uc = Array.from({ length: 700 }, (_, i) => Uint8Array.of(2, 0, 0, 0, i >> 8, i & 0xff));
    const table = ctrlMacTableSet(uc, []).subarray(2);
    expect(table.length + 2).toBeGreaterThan(4096);
    const cq = netx.stats.cq.requests;
    expect(vm.nic.sendCommand(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, table)).toBe(true);
    // The device got one command, RX PROMISC on.
    expect(netx.stats.cq.requests - cq).toBe(1);
    expect(netx.n.promisc).toBe(1);
    expect(netx.n.macTable.inUse).toBe(0);
    // The model: the fabricated 65 + 65 table, i.e. both overflow flags and nothing in use.
    const t = vm.device.n.macTable;
    expect([t.inUse, t.uniOverflow, t.multiOverflow]).toEqual([0, 1, 1]);
  });

  it('a malformed oversized MAC table is refused by the VMM itself', () => {
    const host = bootVmmHost('upstream', [{ mgmtdev: 'vdpasim_netx' }]);
    const vm = tracedVm(host, 0);
    const netx = port(host) as VdpaSimNetx;
    const table = ctrlMacTableSet(Array.from({ length: 700 }, () => Uint8Array.of(2, 0, 0, 0, 0, 1)), []).subarray(2);
    // One byte too many after the second list.
    const bad = new Uint8Array(table.length + 1);
    bad.set(table);
    const cq = netx.stats.cq.requests;
    expect(vm.nic.sendCommand(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, bad)).toBe(false);
    expect(netx.stats.cq.requests).toBe(cq);
  });
});

describe('bounded waits', () => {
  it('a device that never answers gives the guest ERR, without hanging (item 27)', () => {
    const host = bootVmmHost('upstream', [{ mgmtdev: 'vdpasim_net' }]);
    const vm = tracedVm(host, 0);
    // Suspended: the device work does nothing, so the forwarded command is never used.
    vm.device.netdev.shared.fd.suspend();
    expect(vm.nic.sendCommand(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, macOf('02:aa:bb:cc:dd:55'))).toBe(false);
    expect(formatMac(vm.device.n.mac)).toBe('02:aa:bb:cc:dd:00');
    expect(vm.nic.mac.length).toBe(ETH_ALEN);
  });
});
