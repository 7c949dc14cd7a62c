// `vdpasim demo` (npm start): the facts it reports hold, the text shows them, --json carries the
// same report, and bad arguments are usage errors.

import { describe, expect, it } from 'vitest';
import { vdpasimMain } from '../../bin/commands/vdpasim.js';
import { type DemoReport, runBlkDemo, runDemo } from '../../sim/scenarios/index.js';

function capture(): { io: { out: (t: string) => void; err: (t: string) => void }; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return { io: { out: (t) => (out += t), err: (t) => (err += t) }, out: () => out, err: () => err };
}

/** The net demos: whether the device isolates the CVQ (vp_vdpa: one group, one AS) and its queue pairs. */
const NET_DEMOS = [
  { device: 'vdpasim_netx', isolated: true, pairs: 2 },
  { device: 'vdpasim_net', isolated: true, pairs: 1 },
  { device: 'vp_vdpa', isolated: false, pairs: 2 },
] as const;

describe('vdpasim demo', () => {
  for (const { device, isolated, pairs } of NET_DEMOS) {
    it(`over ${device}: every check passes and the report says what happened`, () => {
      const r = runDemo({ device, loopbackPackets: 1000 });
      expect(r.summary.map((s) => [s.check, s.ok])).toEqual(r.summary.map((s) => [s.check, true]));
      expect(r.ping).toEqual({ from: 'vm0', to: 'vm1', sent: 4, received: 4 });
      expect(r.loopback).toMatchObject({ sent: 1000, received: 1000, lost: 0, duplicates: 0, reordered: 0 });
      expect(r.macChange).toMatchObject({
        oldMac: '02:aa:bb:cc:dd:02',
        newMac: '02:aa:bb:cc:dd:99',
        deviceMac: '02:aa:bb:cc:dd:99',
        // A passed-through CVQ never reaches the VMM: its device model keeps the old MAC.
        vmmModelMac: isolated ? '02:aa:bb:cc:dd:99' : '02:aa:bb:cc:dd:02',
        toOldMac: { sent: 100, delivered: 0, droppedByFilter: 100 },
        toNewMac: { sent: 100, delivered: 100, droppedByFilter: 0 },
      });
      for (const vm of r.vms) expect(vm.cvq).toBe(isolated ? 'shadowed by the VMM in ASID 1' : 'passthrough (not isolated)');
      for (const s of r.shapes) {
        const cvq = s.vq.find((q) => q.role === 'cvq');
        const data = s.vq.filter((q) => q.role !== 'cvq');
        if (isolated) {
          // The CVQ is alone in its group, bound to ASID 1; every data vq stays in ASID 0.
          expect(cvq).toMatchObject({ group: 1, asid: 1 });
          expect(data.every((q) => q.group === 0 && q.asid === 0)).toBe(true);
          expect(s.iotlbEntries).toEqual({ 0: 2, 1: 4 });
        } else {
          // One group that GET_VRING_GROUP cannot name, one address space: guest RAM only.
          expect(s).toMatchObject({ groups: 1, addressSpaces: 1 });
          expect(s.vq.every((q) => q.group === null && q.asid === 0)).toBe(true);
          expect(Object.keys(s.iotlbEntries)).toEqual(['0']);
        }
      }
      // vm2's loopback spreads over its TX queues and comes back on the matching RX queues.
      const rx = (q: number) => r.stats.find((s) => s.device === 'vdpa2' && s.queue === q)?.counters['rx packets'];
      expect([rx(0), rx(2)]).toEqual(pairs === 2 ? [500, 500] : [1000, undefined]);
    });
  }

  it('over vp_vdpa: plugs the functions, adds devices on their PCI addresses, and says the CVQ is passed through because it cannot be isolated', async () => {
    const c = capture();
    expect(await vdpasimMain(['demo', '--device', 'vp_vdpa'], c.io)).toBe(0);
    const text = c.out();
    expect(text).toContain('(plugged) virtio-net-pci at 0000:00:05.0: mac 02:aa:bb:cc:dd:02, 2 queue pairs, bound to vp-vdpa');
    expect(text).toContain('# vdpa dev add name vdpa0 mgmtdev pci/0000:00:04.0\n');
    expect(text).toMatch(/vdpa0: 5 vqs, 1 groups, 1 address spaces; 2 queue pair\(s\) in use; IOTLB ASID 0: \d+\n/);
    expect(text).toContain('control vq: vp_vdpa has 1 vq group and 1 address space, so the CVQ cannot be isolated');
    expect(text).toContain('the VMM passes it through to the device unshadowed, as QEMU does without shadow virtqueues');
    expect(text).toContain('vm0 -> vm1: 4 echo requests, 4 replies');
    expect(text).toMatch(/10000 UDP packets of 64\.\.1514 bytes sent, 10000 received \(\d+ bytes\), 0 lost, 0 duplicated, 0 reordered/);
    expect(text).toContain('VMM device model 02:aa:bb:cc:dd:02');
    expect(text).toContain('to the old MAC: 100 sent, 0 delivered, 100 dropped by the device filter');
    expect(text).toContain("per-queue statistics (the functions' counters: vp_vdpa has no vendor statistics)");
    expect(text).toMatch(/CVQ passed through \(one group, one address space\) +ok/);
    expect(text).toMatch(/MAC change followed by device and filter, not the VMM model +ok/);
  });

  it('prints the operator commands, the device shape, the traffic and a summary', async () => {
    const c = capture();
    expect(await vdpasimMain(['demo', '--device', 'vdpasim_net'], c.io)).toBe(0);
    const text = c.out();
    expect(text).toContain('# vdpa dev add name vdpa0 mgmtdev vdpasim_net mac 02:aa:bb:cc:dd:01');
    expect(text).toMatch(/vdpa0: 3 vqs, 2 groups, 2 address spaces/);
    expect(text).toContain('vm0 -> vm1: 4 echo requests, 4 replies');
    expect(text).toContain('to the old MAC: 100 sent, 0 delivered, 100 dropped by the device filter');
    expect(text).toMatch(/MAC change followed by device, VMM model and filter +ok/);
  });

  it('--json prints the same facts as one JSON object', async () => {
    const c = capture();
    expect(await vdpasimMain(['demo', '--json', '--profile', 'linux-6.1', '--device', 'vdpasim_net'], c.io)).toBe(0);
    const r = JSON.parse(c.out()) as DemoReport;
    expect(r.profile).toBe('linux-6.1');
    expect(r.device).toBe('vdpasim_net');
    expect(r.summary.every((s) => s.ok)).toBe(true);
    // 6.1 has no vstats.
    expect(r.stats).toEqual([]);
  });

  for (const profile of ['upstream', 'linux-6.1'] as const) {
    it(`over vdpasim_blk (${profile}): the guest's blocks are read back, and flush, zeroes, discard answer as the device can`, () => {
      const r = runBlkDemo({ profile });
      expect(r.summary.every((s) => s.ok)).toBe(true);
      expect(r.shape).toMatchObject({ vqs: 1, groups: 1, addressSpaces: 1 });
      expect(r.disk).toMatchObject({ id: 'vdpa_blk_sim', sectors: 262144 });
      // 6.1's vdpa_sim_blk has no FLUSH: the guest has no write cache to flush.
      expect(r.io[2]?.detail).toBe(profile === 'upstream' ? 'status 0' : 'no write cache: nothing sent');
    });
  }

  it('--device vdpasim_blk prints the disk demo', async () => {
    const c = capture();
    expect(await vdpasimMain(['demo', '--device', 'vdpasim_blk'], c.io)).toBe(0);
    expect(c.out()).toContain('read them back                 ok      every byte matches');
  });

  it('an unknown device or argument is a usage error (exit 2)', async () => {
    const c = capture();
    expect(await vdpasimMain(['demo', '--device', 'vdpasim_blk9'], c.io)).toBe(2);
    expect(c.err()).toMatch(/^vdpasim: unknown device 'vdpasim_blk9'/);
    expect(await vdpasimMain(['demo', 'extra'], capture().io)).toBe(2);
  });
});
