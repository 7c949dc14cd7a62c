// The guest and VMM traffic tests over every net parent behind /dev/vhost-vdpa-N: the simulators,
// whose CVQ is alone in its vq group (the VMM shadows it in ASID 1), and vp_vdpa over an emulated
// virtio-net-pci function, which has one group and one address space: QEMU's isolation probe
// (net/vhost-vdpa.c vhost_vdpa_probe_cvq_isolation) gets EOPNOTSUPP from GET_VRING_GROUP, so
// vhost_vdpa_net_cvq_start passes the CVQ through unshadowed (no x-svq needed) and the guest's
// control commands go straight to the device (vmm-svq-cvq-migration-facts.md §3.2-3.3, §4.5).
// One table of devices; every check is written once and run over each device that has the
// feature it needs. Filter commands are judged by what the device then does with frames.

import { describe, expect, it } from 'vitest';
import type { VhostVdpa as VhostVdpaDriver } from '../../drivers/vhost/vdpa.js';
import type { VdpaSim } from '../../drivers/vdpa/vdpa_sim/index.js';
import { type NetAttachment, type NetPort, Wire, formatMac, parseMac } from '../../lib/net/index.js';
import { TRAFFIC_MIN_FRAME, TrafficGen, TrafficSink } from '../../sim/guest/index.js';
import { Host } from '../../sim/host/index.js';
import { VP_VDPA_MODULES, netPortCounters, netPortTotal, pciSlot, plugVirtioNetPci, pump } from '../../sim/scenarios/index.js';
import { runShell } from '../../sim/tools/index.js';
import { type TracedVm, bootVmmHost, mac, tracedVm } from '../helpers/vmm.js';

interface NetCase {
  mgmtdev: string;
  /** A host with devices vdpa0..n-1 (MAC mac(i), up to `pairs` queue pairs); their media. */
  boot(n: number, pairs: number): { host: Host; nets: NetAttachment[] };
  /** Queue pairs the device offers at most. */
  maxPairs: number;
  /** Filters by RX mode, MAC table and VLAN (vdpa_sim_net answers only MAC_ADDR_SET). */
  fullFilter: boolean;
  /** The CVQ has a group of its own the VMM can move to ASID 1. */
  isolated: boolean;
}

const simNets = (host: Host, n: number): NetAttachment[] =>
  Array.from({ length: n }, (_, i) => (host.bus.findDevice(`vdpa${i}`)?.parent as VdpaSim).net as NetAttachment);

const simCase = (mgmtdev: string, maxPairs: number, fullFilter: boolean): NetCase => ({
  mgmtdev,
  maxPairs,
  fullFilter,
  isolated: true,
  boot(n, pairs) {
    const host = bootVmmHost('upstream', Array.from({ length: n }, () => ({ mgmtdev, ...(maxPairs > 1 ? { maxVqp: pairs } : {}) })));
    return { host, nets: simNets(host, n) };
  },
});

const CASES: readonly NetCase[] = [
  simCase('vdpasim_net', 1, false),
  simCase('vdpasim_netx', 4, true),
  {
    mgmtdev: 'vp_vdpa',
    maxPairs: 4,
    fullFilter: true,
    isolated: false,
    // As an operator does it: plug the functions (MAC and pairs are theirs), then `vdpa dev add`.
    boot(n, pairs) {
      const host = Host.boot({ profile: 'upstream', modules: VP_VDPA_MODULES });
      const sh = host.spawn({ comm: 'sh' });
      const nets = Array.from({ length: n }, (_, i) => {
        const { fn, slot } = plugVirtioNetPci(host, { slot: pciSlot(i), mac: mac(i), maxQueuePairs: pairs });
        const r = runShell(host, sh, `vdpa dev add name vdpa${i} mgmtdev pci/${slot}`);
        if (r.exit) throw new Error(r.stderr);
        return fn.net;
      });
      return { host, nets };
    },
  },
];

interface World {
  host: Host;
  ports: NetPort[];
  vms: TracedVm[];
}

/** `n` VMs on their own devices, the first two on one wire when `wired`. */
function world(c: NetCase, o: { vms: number; pairs?: number; cpus?: number; wired?: boolean }): World {
  const { host, nets } = c.boot(o.vms, o.pairs ?? 1);
  if (o.wired) new Wire(nets[0] as NetAttachment, nets[1] as NetAttachment);
  const vms = nets.map((_, i) => tracedVm(host, i, o.cpus ? { cpus: o.cpus } : {}));
  return { host, ports: nets.map((n) => n.port), vms };
}

const macBytes = (m: string): Uint8Array => parseMac(m) as Uint8Array;
const OTHER_MAC = '02:aa:bb:cc:dd:77';
const MCAST_MAC = '01:00:5e:00:00:fb';

/**
 * A raw frame from vm0 across the wire to vm1's device, optionally 802.1Q-tagged: 'delivered' when
 * vm1's driver got it, 'filtered' when vm1's device dropped it (its rx drops), 'lost' for anything else.
 */
function offer(w: World, dst: string, vid?: number): 'delivered' | 'filtered' | 'lost' {
  const [vm0, vm1] = w.vms as [TracedVm, TracedVm];
  const f = new Uint8Array(64);
  f.set(macBytes(dst), 0);
  f.set(vm0.nic.mac, 6);
  const v = new DataView(f.buffer);
  let at = 12;
  if (vid !== undefined) {
    v.setUint16(at, 0x8100);
    v.setUint16(at + 2, vid);
    at += 4;
  }
  v.setUint16(at, 0x88b5);
  let got = 0;
  const inner = vm1.nic.rxHandler;
  vm1.nic.rxHandler = (buf, off, len) => {
    if (len === f.length && f.every((b, k) => buf[off + k] === b)) got++;
    else inner?.(buf, off, len);
  };
  const drops = netPortTotal(w.ports[1] as NetPort, 'rx drops');
  expect(vm0.nic.xmit(f, 0, f.length)).toBe(true);
  w.host.settleSync();
  vm1.nic.rxHandler = inner;
  const dropped = netPortTotal(w.ports[1] as NetPort, 'rx drops') - drops;
  return got === 1 && dropped === 0 ? 'delivered' : got === 0 && dropped === 1 ? 'filtered' : 'lost';
}

const clean = { lost: 0, duplicates: 0, reordered: 0, late: 0, corrupted: 0 };
const UDP_PORT = 9;

for (const c of CASES) {
  describe(`VMM and guest over ${c.mgmtdev}`, () => {
    it('ARP resolves both ways and ICMP echo across a wire answers 4 of 4', () => {
      const w = world(c, { vms: 2, wired: true });
      const [vm0, vm1] = w.vms as [TracedVm, TracedVm];
      const ping = vm0.stack.ping('10.0.0.2', { count: 4 });
      w.host.settleSync();
      expect(ping).toMatchObject({ sent: 4, received: 4, duplicates: 0, corrupted: 0, stray: 0 });
      expect(vm0.stack.arp.lookup('10.0.0.2')).toBe(mac(1));
      expect(vm1.stack.arp.lookup('10.0.0.1')).toBe(mac(0));
    });

    it('2000 sequence-numbered UDP datagrams of 58..1514 bytes cross the wire once, in order and intact; the receiving device counts each', () => {
      const w = world(c, { vms: 2, wired: true });
      const [vm0, vm1] = w.vms as [TracedVm, TracedVm];
      vm0.stack.arp.resolve('10.0.0.2');
      w.host.settleSync();
      const sink = new TrafficSink(vm1.stack.udp, UDP_PORT);
      const gen = new TrafficGen(vm0.stack.udp, { dst: '10.0.0.2', port: UDP_PORT, frameLen: { min: TRAFFIC_MIN_FRAME, max: 1514 }, seed: 3 });
      const rx = netPortTotal(w.ports[1] as NetPort, 'rx packets');
      expect(pump(w.host, gen, 2000)).toBe(2000);
      expect(sink.stream()).toEqual({ received: 2000, bytes: gen.bytes, highest: 1999, ...clean });
      expect(netPortTotal(w.ports[1] as NetPort, 'rx packets') - rx).toBe(2000);
      expect(netPortTotal(w.ports[1] as NetPort, 'rx drops')).toBe(0);
    });

    if (c.maxPairs > 1) {
      it('with 4 queue pairs the guest uses all 4 (VQ_PAIRS_SET); what TX queue k sends to itself comes back on RX queue k, none lost', () => {
        const w = world(c, { vms: 1, pairs: 4, cpus: 4 });
        const vm = w.vms[0] as TracedVm;
        expect(vm.nic.currQueuePairs).toBe(4);
        const sink = new TrafficSink(vm.stack.udp, UDP_PORT);
        const gen = new TrafficGen(vm.stack.udp, { dst: '10.0.0.1', port: UDP_PORT, frameLen: { min: TRAFFIC_MIN_FRAME, max: 1514 } });
        for (let q = 0; q < 4; q++) {
          vm.nic.selectQueue(q);
          expect(pump(w.host, gen, 250)).toBe(250);
        }
        expect(sink.stream()).toMatchObject({ received: 1000, ...clean });
        const rxq = netPortCounters(w.ports[0] as NetPort).filter((q) => q.queue.startsWith('rx'));
        expect(rxq.map((q) => q.counters['rx packets'])).toEqual([250, 250, 250, 250]);
        expect(vm.nic.queueStats().rx.map((q) => q.packets)).toEqual([250, 250, 250, 250]);
      });
    }

    it(
      c.isolated
        ? 'the isolation probe finds the CVQ alone in its group: the VMM binds it to ASID 1 and the device reads the shadow ring'
        : 'the isolation probe gets EOPNOTSUPP from GET_VRING_GROUP: no ASID change, the device reads the guest\'s own CVQ ring',
      () => {
        const w = world(c, { vms: 1 });
        const vm = w.vms[0] as TracedVm;
        const cvq = 2 * vm.device.queuePairs;
        // The probe (§8 item 7), values that differ by device left out.
        const log = vm.trace.log;
        const from = log.findIndex((l) => l.startsWith('VHOST_GET_BACKEND_FEATURES'));
        const probe = log.slice(from, log.indexOf('VHOST_VDPA_SET_STATUS 0x0 = 0', from) + 1).map((l) => l.replace(/^(VHOST_GET_BACKEND_FEATURES|VHOST_SET_FEATURES) .*$/, '$1'));
        const groups = c.isolated
          ? [`VHOST_VDPA_GET_VRING_GROUP {${cvq}} = 0 -> 1`, ...Array.from({ length: cvq }, (_, i) => `VHOST_VDPA_GET_VRING_GROUP {${i}} = 0 -> 0`)]
          : [`VHOST_VDPA_GET_VRING_GROUP {${cvq}} = -95`];
        expect(probe).toEqual(['VHOST_GET_BACKEND_FEATURES', 'VHOST_VDPA_SET_STATUS 0x3 = 0', 'VHOST_SET_FEATURES', 'VHOST_VDPA_SET_STATUS 0xb = 0', ...groups, 'VHOST_VDPA_SET_STATUS 0x0 = 0']);
        expect(vm.trace.grep('SET_GROUP_ASID')).toEqual(c.isolated ? ['VHOST_VDPA_SET_GROUP_ASID {1, 1} = 0'] : []);
        const state = vm.device.netdev.cvq;
        expect([state?.cvqIsolated, state?.dev.shadowVqsEnabled]).toEqual([c.isolated, c.isolated]);
        // Passthrough: IOVA = GPA, so vhost-vdpa holds the guest's ring address for the CVQ.
        const kernelVq = (w.host.bus.findDevice('vdpa0')?.drvdata as VhostVdpaDriver).vqs[cvq];
        expect(kernelVq?.used === BigInt(vm.device.queues[cvq]?.used ?? -1)).toBe(!c.isolated);
      },
    );

    it(`MAC_ADDR_SET through the CVQ moves the device's filter: frames to the old MAC are dropped, to the new delivered; the VMM model ${c.isolated ? 'follows' : 'is bypassed'}`, () => {
      const w = world(c, { vms: 2, wired: true });
      const vm1 = w.vms[1] as TracedVm;
      expect(offer(w, mac(1))).toBe('delivered');
      expect(vm1.nic.setMacAddress(macBytes(OTHER_MAC))).toBe(0);
      w.host.settleSync();
      expect([offer(w, mac(1)), offer(w, OTHER_MAC)]).toEqual(['filtered', 'delivered']);
      expect(formatMac(vm1.device.n.mac)).toBe(c.isolated ? OTHER_MAC : mac(1));
    });

    if (c.fullFilter) {
      it('RX mode and MAC table: PROMISC lets a stranger\'s frame through, a table entry lets it through with PROMISC off; multicast needs ALLMULTI or the table', () => {
        const w = world(c, { vms: 2, wired: true });
        const nic = (w.vms[1] as TracedVm).nic;
        const mode = (m: Partial<Parameters<typeof nic.setRxMode>[0]>) => expect(nic.setRxMode({ promisc: false, allmulti: false, uc: [], mc: [], ...m })).toBe(0);
        // The guest turned PROMISC off at probe.
        expect([offer(w, OTHER_MAC), offer(w, MCAST_MAC), offer(w, 'ff:ff:ff:ff:ff:ff')]).toEqual(['filtered', 'filtered', 'delivered']);
        mode({ promisc: true });
        expect(offer(w, OTHER_MAC)).toBe('delivered');
        mode({ uc: [macBytes(OTHER_MAC)] });
        expect([offer(w, OTHER_MAC), offer(w, '02:aa:bb:cc:dd:78')]).toEqual(['delivered', 'filtered']);
        mode({ allmulti: true });
        expect(offer(w, MCAST_MAC)).toBe('delivered');
        mode({ mc: [macBytes(MCAST_MAC)] });
        expect([offer(w, MCAST_MAC), offer(w, '01:00:5e:00:00:fc')]).toEqual(['delivered', 'filtered']);
      });

      it('VLAN filter: a frame tagged 100 is dropped until VLAN_ADD 100 and again after VLAN_DEL; untagged frames pass throughout', () => {
        const w = world(c, { vms: 2, wired: true });
        const nic = (w.vms[1] as TracedVm).nic;
        expect([offer(w, mac(1), 100), offer(w, mac(1))]).toEqual(['filtered', 'delivered']);
        expect(nic.vlan(100, true)).toBe(0);
        expect([offer(w, mac(1), 100), offer(w, mac(1), 101)]).toEqual(['delivered', 'filtered']);
        expect(nic.vlan(100, false)).toBe(0);
        expect([offer(w, mac(1), 100), offer(w, mac(1))]).toEqual(['filtered', 'delivered']);
      });
    }
  });
}
