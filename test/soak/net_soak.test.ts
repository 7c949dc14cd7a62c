// Soak: a million sequence-numbered UDP packets of random sizes through the whole stack, over
// vdpa_sim_net's loopback and over a wire between two vdpasim_netx devices. Nothing may be lost,
// duplicated, reordered or corrupted, and the device counters must agree with what the guests
// saw.

import { describe, expect, it } from 'vitest';
import { type NetAttachment, Wire } from '../../lib/net/index.js';
import { type VdpaSim, VdpaSimNet, VdpaSimNetx } from '../../drivers/vdpa/vdpa_sim/index.js';
import { TRAFFIC_MIN_FRAME, TrafficGen, TrafficSink } from '../../sim/guest/index.js';
import type { Host } from '../../sim/host/index.js';
import { bootVmmHost, tracedVm } from '../helpers/vmm.js';

const PACKETS = 1_000_000;
/** What a guest keeps in flight: below its RX ring (256), so the receiver never overruns. */
const BATCH = 200;
const UDP_PORT = 9;
const HDR = 12;

/** Device-side RX/TX totals of a simulated NIC. */
function deviceCounters(host: Host, dev: string): { rxPkts: number; rxBytes: number; txPkts: number; txBytes: number; drops: number } {
  const port = (host.bus.findDevice(dev)?.parent as VdpaSim).net?.port;
  if (port instanceof VdpaSimNet) {
    const { rx, tx } = port.stats;
    return { rxPkts: rx.pkts, rxBytes: rx.bytes, txPkts: tx.pkts, txBytes: tx.bytes, drops: rx.drops + rx.overruns + rx.errors + tx.drops };
  }
  if (!(port instanceof VdpaSimNetx)) throw new Error(`${dev}: not a simulated NIC`);
  const sum = (xs: { pkts: number; bytes: number }[]) => xs.reduce((a, q) => ({ pkts: a.pkts + q.pkts, bytes: a.bytes + q.bytes }), { pkts: 0, bytes: 0 });
  const rx = sum(port.stats.rx);
  const tx = sum(port.stats.tx);
  const drops = port.stats.rx.reduce((n, q) => n + q.drops + q.overruns + q.errors, 0) + port.stats.tx.reduce((n, q) => n + q.drops, 0);
  return { rxPkts: rx.pkts, rxBytes: rx.bytes, txPkts: tx.pkts, txBytes: tx.bytes, drops };
}

function soak(host: Host, from: ReturnType<typeof tracedVm>, to: ReturnType<typeof tracedVm>, dstIp: string) {
  const sink = new TrafficSink(to.stack.udp, UDP_PORT);
  // No UDP checksum (SO_NO_CHECK): the sink still checks every payload byte against its pattern.
  const gen = new TrafficGen(from.stack.udp, { dst: dstIp, port: UDP_PORT, frameLen: { min: TRAFFIC_MIN_FRAME, max: 1514 }, seed: 7, noCheck: true });
  // Resolve the neighbour first, so no datagram waits (or dies) in the ARP queue.
  from.stack.ping(dstIp);
  host.settleSync();
  while (gen.sent < PACKETS) {
    const k = gen.send(Math.min(BATCH, PACKETS - gen.sent));
    host.settleSync();
    if (k === 0) throw new Error(`stalled at ${gen.sent}`);
  }
  return { gen, stream: sink.stream() };
}

describe('soak', { timeout: 120_000 }, () => {
  it(`${PACKETS} packets of random sizes through vdpa_sim_net's loopback: none lost, duplicated or damaged`, () => {
    const host = bootVmmHost('upstream', [{ mgmtdev: 'vdpasim_net' }]);
    const vm = tracedVm(host, 0);
    const before = deviceCounters(host, 'vdpa0');
    const guestBefore = vm.nic.queueStats();
    const { gen, stream } = soak(host, vm, vm, '10.0.0.1');
    expect(stream).toMatchObject({ received: PACKETS, lost: 0, duplicates: 0, reordered: 0, corrupted: 0, late: 0, highest: PACKETS - 1 });
    expect(stream.bytes).toBe(gen.bytes);
    const after = deviceCounters(host, 'vdpa0');
    const guest = vm.nic.queueStats();
    const txPkts = (guest.tx[0]?.packets ?? 0) - (guestBefore.tx[0]?.packets ?? 0);
    const rxPkts = (guest.rx[0]?.packets ?? 0) - (guestBefore.rx[0]?.packets ?? 0);
    // What the guest driver sent is what the device took; what it received is what the device delivered.
    expect(after.txPkts - before.txPkts).toBe(txPkts);
    expect(after.rxPkts - before.rxPkts).toBe(rxPkts);
    expect(rxPkts).toBe(txPkts);
    expect(after.rxBytes - before.rxBytes).toBe((guest.rx[0]?.bytes ?? 0) - (guestBefore.rx[0]?.bytes ?? 0) + HDR * rxPkts);
    expect(after.drops).toBe(before.drops);
  });

  it(`${PACKETS} packets of random sizes across a wire between two vdpasim_netx: none lost, duplicated or damaged`, () => {
    const host = bootVmmHost('upstream', [{ mgmtdev: 'vdpasim_netx' }, { mgmtdev: 'vdpasim_netx' }]);
    const nic = (i: number) => (host.bus.findDevice(`vdpa${i}`)?.parent as VdpaSim).net as NetAttachment;
    new Wire(nic(0), nic(1));
    const a = tracedVm(host, 0);
    const b = tracedVm(host, 1);
    const a0 = deviceCounters(host, 'vdpa0');
    const b0 = deviceCounters(host, 'vdpa1');
    const { gen, stream } = soak(host, a, b, '10.0.0.2');
    expect(stream).toMatchObject({ received: PACKETS, lost: 0, duplicates: 0, reordered: 0, corrupted: 0, late: 0 });
    expect(stream.bytes).toBe(gen.bytes);
    const a1 = deviceCounters(host, 'vdpa0');
    const b1 = deviceCounters(host, 'vdpa1');
    // Every frame vdpa0 transmitted reached vdpa1's guest (and the ARP replies went back).
    expect(b1.rxPkts - b0.rxPkts).toBe(a1.txPkts - a0.txPkts);
    expect(a1.rxPkts - a0.rxPkts).toBe(b1.txPkts - b0.txPkts);
    expect(b1.rxPkts - b0.rxPkts).toBeGreaterThanOrEqual(PACKETS);
    expect(a1.drops + b1.drops).toBe(a0.drops + b0.drops);
    expect(b.stack.stats().udp.inDatagrams).toBeGreaterThanOrEqual(PACKETS);
  });
});
