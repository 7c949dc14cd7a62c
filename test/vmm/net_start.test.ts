// Device start and stop as the VMM drives them when the guest sets DRIVER_OK and resets
// (vmm-svq-cvq-migration-facts.md §3.3, §5.1-5.2, §4.2; §8 items 3, 9, 28-33, 35-38).

import { describe, expect, it } from 'vitest';
import { VIRTIO_NET_ERR, VIRTIO_NET_F_CTRL_VQ } from '../../uapi/index.js';
import { VDPASIM_NETX_DEFAULT_FEATURES, type VdpaSim, type VdpaSimNetx } from '../../drivers/vdpa/vdpa_sim/index.js';
import { PROFILES } from '../helpers/model_target.js';
import { bootVmmHost, tracedVm } from '../helpers/vmm.js';

const bit = (n: number): bigint => 1n << BigInt(n);
const idx = (log: readonly string[], line: string | RegExp): number => log.findIndex((l) => (typeof line === 'string' ? l === line : line.test(l)));

describe('start', () => {
  for (const profile of PROFILES) {
    it(`acks backend features 1-4 of what the device offers, set once from dev 0 (${profile}, item 3)`, () => {
      const vm = tracedVm(bootVmmHost(profile, [{ mgmtdev: 'vdpasim_net' }]), 0);
      const offered = BigInt(vm.trace.grep('VHOST_GET_BACKEND_FEATURES')[0]?.split(' -> ')[1] ?? 'x');
      expect(vm.trace.grep('VHOST_SET_BACKEND_FEATURES')).toEqual([`VHOST_SET_BACKEND_FEATURES 0x${(offered & 0x1en).toString(16)} = 0`]);
      // Every dev reads them (2 devs + the probe); only dev 0 sets them.
      expect(vm.trace.grep('VHOST_GET_BACKEND_FEATURES')).toHaveLength(3);
    });
  }

  it('binds the isolated CVQ group to ASID 1 at every start (item 9)', () => {
    const host = bootVmmHost('upstream', [{ mgmtdev: 'vdpasim_net' }]);
    const vm = tracedVm(host, 0);
    // The guest reboots its NIC: reset, then a fresh probe.
    vm.guest.shutdown();
    expect(vm.guest.probeNet(vm.device)).not.toBeTypeOf('number');
    host.settleSync();
    expect(vm.trace.grep('SET_GROUP_ASID')).toEqual(['VHOST_VDPA_SET_GROUP_ASID {1, 1} = 0', 'VHOST_VDPA_SET_GROUP_ASID {1, 1} = 0']);
    // GET_VRING_GROUP of vq_index_end - 1 precedes each.
    const log = vm.trace.log;
    const asid = idx(log, /SET_GROUP_ASID/);
    expect(log[asid - 1]).toBe('VHOST_VDPA_GET_VRING_GROUP {2} = 0 -> 1');
  });

  it('maps the bounce pages (out RO, status RW) and the shadow ring (driver RO, device RW) in ASID 1 only', () => {
    const vm = tracedVm(bootVmmHost('upstream', [{ mgmtdev: 'vdpasim_net' }]), 0);
    expect(vm.trace.grep(/IOTLB UPDATE asid 1/)).toEqual([
      'IOTLB UPDATE asid 1 iova 0x1000 size 0x1000 RO = 72',
      'IOTLB UPDATE asid 1 iova 0x2000 size 0x1000 RW = 72',
      'IOTLB UPDATE asid 1 iova 0x3000 size 0x1000 RO = 72',
      'IOTLB UPDATE asid 1 iova 0x4000 size 0x1000 RW = 72',
    ]);
    // Guest RAM is mapped at IOVA = GPA in ASID 0, batched, and never in ASID 1.
    expect(vm.trace.grep(/IOTLB (BATCH|UPDATE asid 0)/)).toEqual([
      'IOTLB BATCH_BEGIN = 72',
      'IOTLB UPDATE asid 0 iova 0x0 size 0xa0000 RW = 72',
      'IOTLB UPDATE asid 0 iova 0x100000 size 0x1f00000 RW = 72',
      'IOTLB BATCH_END = 72',
    ]);
  });

  it('starts the shadow CVQ with base 0, its own fds, then the ring IOVAs (§2.4)', () => {
    const log = tracedVm(bootVmmHost('upstream', [{ mgmtdev: 'vdpasim_net' }]), 0).trace.log;
    const from = idx(log, 'VHOST_SET_VRING_BASE {2, 0} = 0');
    expect(log.slice(from, from + 6)).toEqual([
      'VHOST_SET_VRING_BASE {2, 0} = 0',
      'VHOST_SET_VRING_KICK {2, fd} = 0',
      'VHOST_SET_VRING_CALL {2, fd} = 0',
      'IOTLB UPDATE asid 1 iova 0x3000 size 0x1000 RO = 72',
      'IOTLB UPDATE asid 1 iova 0x4000 size 0x1000 RW = 72',
      'VHOST_SET_VRING_ADDR = 0',
    ]);
  });

  it('sets DRIVER_OK from the last dev, after the listener maps guest RAM (item 32)', () => {
    const log = tracedVm(bootVmmHost('upstream', [{ mgmtdev: 'vdpasim_net' }]), 0).trace.log;
    expect(idx(log, 'VHOST_VDPA_SET_STATUS 0xc = 0')).toBeGreaterThan(idx(log, 'IOTLB BATCH_END = 72'));
    expect(idx(log, 'VHOST_VDPA_SET_STATUS 0xc = 0')).toBeGreaterThan(idx(log, 'VHOST_SET_VRING_ADDR = 0'));
  });

  it('enables the CVQ first, replays the state, and only then enables the data vqs (item 28)', () => {
    const host = bootVmmHost('upstream', [{ mgmtdev: 'vdpasim_net' }]);
    const vm = tracedVm(host, 0);
    const log = vm.trace.log;
    const enables = vm.trace.grep('SET_VRING_ENABLE');
    expect(enables).toEqual(['VHOST_VDPA_SET_VRING_ENABLE {2, 1} = 0', 'VHOST_VDPA_SET_VRING_ENABLE {0, 1} = 0', 'VHOST_VDPA_SET_VRING_ENABLE {1, 1} = 0']);
    // Between the CVQ enable and the data enables the device answered the replayed MAC_ADDR_SET.
    expect(idx(log, enables[0] as string)).toBeGreaterThan(idx(log, 'VHOST_VDPA_SET_STATUS 0xc = 0'));
    const net = host.bus.findDevice('vdpa0');
    expect(net).toBeDefined();
    expect(vm.device.netdev.cvq?.dev.shadowVqsEnabled).toBe(true);
  });

  it('without a CVQ each pair enables its own vqs in its load step (item 33)', () => {
    const features = VDPASIM_NETX_DEFAULT_FEATURES & ~(bit(VIRTIO_NET_F_CTRL_VQ) | bit(18) | bit(19) | bit(20) | bit(22) | bit(23) | bit(2));
    const vm = tracedVm(bootVmmHost('upstream', [{ mgmtdev: 'vdpasim_netx', features }]), 0);
    expect(vm.trace.grep('SET_VRING_ENABLE')).toEqual(['VHOST_VDPA_SET_VRING_ENABLE {0, 1} = 0', 'VHOST_VDPA_SET_VRING_ENABLE {1, 1} = 0']);
    expect(idx(vm.trace.log, 'VHOST_VDPA_SET_VRING_ENABLE {0, 1} = 0')).toBeGreaterThan(idx(vm.trace.log, 'VHOST_VDPA_SET_STATUS 0xc = 0'));
  });

  it('replays the model at every start, sending MAC and VQ_PAIRS always and nothing that equals a reset default (items 29-30)', () => {
    const host = bootVmmHost('upstream', [{ mgmtdev: 'vdpasim_netx', maxVqp: 2 }]);
    const netx = (host.bus.findDevice('vdpa0')?.parent as VdpaSim).net?.port as VdpaSimNetx;
    const booted = netx.stats.cq.requests;
    // Boot: MAC_ADDR_SET and VQ_PAIRS_SET(1) from the VMM (the VLAN table starts empty with
    // CTRL_VLAN), then the guest's VQ_PAIRS_SET(2), PROMISC 0, ALLMULTI 0 and MAC_TABLE_SET.
    const vm = tracedVm(host, 0, { cpus: 2 });
    expect(netx.stats.cq.requests - booted).toBe(2 + 4);
    expect(vm.nic.vlan(100, true)).toBe(0);
    // The guest's reboot resets the model (PROMISC back on, VLANs renegotiated empty): again just 2.
    const before = netx.stats.cq.requests;
    vm.guest.shutdown();
    vm.guest.probeNet(vm.device);
    host.settleSync();
    expect(netx.stats.cq.requests - before).toBe(2 + 4);
    expect(netx.stats.cq.errors).toBe(0);
  });

  it('fails the start when the device acks a replayed command with ERR (item 31)', () => {
    const host = bootVmmHost('upstream', [{ mgmtdev: 'vdpasim_netx' }]);
    const vm = tracedVm(host, 0);
    const netx = (host.bus.findDevice('vdpa0')?.parent as VdpaSim).net?.port as VdpaSimNetx;
    // From now on the device refuses every command.
    netx.n.handleCtrl = () => VIRTIO_NET_ERR;
    vm.guest.shutdown();
    vm.guest.probeNet(vm.device);
    expect(vm.device.log).toContain('unable to start vhost net: 5: falling back on userspace virtio');
    expect(vm.device.vhostStarted).toBe(false);
  });
});

describe('stop', () => {
  it('suspends from dev 0 only, reads bases after a good suspend, resets from the last dev (items 35-38)', () => {
    const vm = tracedVm(bootVmmHost('upstream', [{ mgmtdev: 'vdpasim_net' }]), 0);
    const start = vm.trace.log.length;
    vm.guest.shutdown();
    const log = vm.trace.log.slice(start);
    expect(log.filter((l) => /SUSPEND|GET_VRING_BASE|SET_STATUS/.test(l))).toEqual([
      'VHOST_VDPA_SUSPEND = 0',
      'VHOST_GET_VRING_BASE {0} = 0 -> 0',
      'VHOST_GET_VRING_BASE {1} = 0 -> 0',
      'VHOST_VDPA_SET_STATUS 0x0 = 0',
      'VHOST_VDPA_SET_STATUS 0x3 = 0',
    ]);
    // The listener goes away with the reset: guest RAM unmapped in one batch.
    expect(log.filter((l) => /asid 0|BATCH/.test(l))).toEqual([
      'IOTLB BATCH_BEGIN = 72',
      'IOTLB INVALIDATE asid 0 iova 0x0 size 0xa0000 = 72',
      'IOTLB INVALIDATE asid 0 iova 0x100000 size 0x1f00000 = 72',
      'IOTLB BATCH_END = 72',
    ]);
  });

  it('without SUSPEND in the backend, resets at once and takes bases from the guest used idx (item 36)', () => {
    const vm = tracedVm(bootVmmHost('upstream', [{ mgmtdev: 'vdpasim_net' }]), 0, {
      inject: (n, a) => (n === 'VHOST_GET_BACKEND_FEATURES' && a instanceof Uint8Array ? (a.set([0x0e, 0, 0, 0, 0, 0, 0, 0]), 0) : undefined),
    });
    const start = vm.trace.log.length;
    vm.guest.shutdown();
    const log = vm.trace.log.slice(start);
    expect(log.some((l) => l.includes('SUSPEND'))).toBe(false);
    expect(log.some((l) => l.includes('GET_VRING_BASE'))).toBe(false);
    expect(log.filter((l) => l.includes('SET_STATUS 0x0'))).toHaveLength(2);
  });
});
