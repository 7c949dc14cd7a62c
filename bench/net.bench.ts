// Packets per second through the whole stack: a guest's virtio-net driver transmits raw Ethernet
// frames, the VMM-configured vDPA device moves them (loopback: back to the same guest; wire: to
// a second guest on another device), and the receiving guest's driver takes them off its RX
// ring. No IP stack: the figure is driver -> device -> driver. One op is one packet.
// For scale: a C model of the same split-ring loopback does ~15 M packets/s on this machine.

import { Host } from '../sim/host/index.js';
import { type Vm, launchVm } from '../sim/scenarios/index.js';
import { runShell } from '../sim/tools/index.js';
import { Wire, type NetAttachment } from '../lib/net/index.js';
import type { VdpaSim } from '../drivers/vdpa/vdpa_sim/index.js';
import type { BenchCase, BenchDef } from './harness.js';

const BATCH = 128;
const MACS = ['02:aa:bb:cc:dd:01', '02:aa:bb:cc:dd:02'];

interface Rig {
  host: Host;
  from: Vm;
  to: Vm;
  received: number;
}

function rig(device: string, wired: boolean): Rig {
  const host = Host.boot({ profile: 'upstream', modules: ['vdpa', 'vhost_vdpa', 'vdpa_sim', 'vdpa_sim_net', 'vdpa_sim_netx'] });
  const sh = host.spawn({ comm: 'sh' });
  const n = wired ? 2 : 1;
  const vms: Vm[] = [];
  for (let i = 0; i < n; i++) {
    const r = runShell(host, sh, `vdpa dev add name vdpa${i} mgmtdev ${device} mac ${MACS[i]}`);
    if (r.exit) throw new Error(r.stderr);
  }
  if (wired) {
    const sim = (i: number) => (host.bus.findDevice(`vdpa${i}`)?.parent as VdpaSim).net as NetAttachment;
    new Wire(sim(0), sim(1));
  }
  for (let i = 0; i < n; i++) {
    const vm = launchVm(host, { name: `vm${i}`, vhostdev: `/dev/vhost-vdpa-${i}`, mac: MACS[i] as string, ip: `10.0.0.${i + 1}/24` });
    if (typeof vm === 'string') throw new Error(vm);
    vms.push(vm);
  }
  host.settleSync();
  const r: Rig = { host, from: vms[0] as Vm, to: vms[n - 1] as Vm, received: 0 };
  r.to.nic.rxHandler = () => {
    r.received++;
  };
  return r;
}

/** An Ethernet frame of `size` bytes to `dst` (a UDP-like payload; no IP checksum needed). */
function frame(size: number, dst: string): Uint8Array {
  const f = new Uint8Array(size);
  f.set(dst.split(':').map((h) => parseInt(h, 16)), 0);
  f.set([0x02, 0, 0, 0, 0, 0xfe], 6);
  f[12] = 0x88;
  f[13] = 0xb5;
  return f;
}

function cases(device: string, wired: boolean, label: string): BenchCase[] {
  return [64, 1500].map((size) => {
    let r: Rig | undefined;
    let f: Uint8Array = new Uint8Array(0);
    return {
      name: `size=${size}${label}`,
      ops: BATCH,
      extra: { device },
      setup: () => {
        r = rig(device, wired);
        f = frame(size, MACS[wired ? 1 : 0] as string);
      },
      fn: () => {
        const x = r as Rig;
        const before = x.received;
        for (let i = 0; i < BATCH; i++) if (!x.from.nic.xmit(f, 0, size, i < BATCH - 1)) throw new Error('TX ring full');
        x.host.settleSync();
        if (x.received - before !== BATCH) throw new Error(`lost ${BATCH - (x.received - before)} packets`);
      },
    };
  });
}

export const netBenches: BenchDef[] = [
  { bench: 'net.loopback', unit: 'pkts/s', cases: () => [...cases('vdpasim_netx', false, ''), ...cases('vdpasim_net', false, ',vdpasim_net')] },
  { bench: 'net.wire', unit: 'pkts/s', cases: () => cases('vdpasim_netx', true, '') },
];
