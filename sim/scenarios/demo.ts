// The main scenario (`npm start`, `vdpasim demo`): a host boots, an operator adds vDPA net
// devices with the vdpa tool, a QEMU-like VMM and a guest start on each; the demo shows the
// device shape, pings across a wire between two guests, pushes loopback traffic, changes a MAC
// through the control virtqueue (shadowed in its own address space when the device isolates it)
// and shows the receive filter follow, then per-queue statistics and a summary. Over vp_vdpa the
// operator first plugs three emulated virtio-net-pci functions (MAC and queue pairs are theirs:
// vp_vdpa takes neither at `vdpa dev add`); with one vq group and one address space their CVQ
// cannot be isolated, so the VMM passes it through unshadowed, as QEMU does.
// Not a kernel or QEMU file.

import type { UapiProfile } from '../../uapi/index.js';
import { EOPNOTSUPP, VIRTIO_NET_F_CTRL_VQ, strerror } from '../../uapi/index.js';
import { type NetAttachment, type NetPort, Wire, formatMac, parseMac } from '../../lib/net/index.js';
import type { VdpaSim } from '../../drivers/vdpa/vdpa_sim/index.js';
import type { VhostVdpa as VhostVdpaDriver } from '../../drivers/vhost/vdpa.js';
import { Host } from '../host/index.js';
import { TrafficGen, TrafficSink } from '../guest/index.js';
import { VirtioNetPci } from '../pci/index.js';
import { runShell } from '../tools/index.js';
import { vhostCall } from '../vmm/index.js';
import { launchVm, type Vm } from './machine.js';
import { VP_VDPA_DRIVER, VP_VDPA_MODULES, pciSlot, plugVirtioNetPci } from './pci.js';
import { netPortCounters, netPortTotal } from './net_counters.js';

export const DEMO_NET_DEVICES = ['vdpasim_netx', 'vdpasim_net', 'vp_vdpa'] as const;
export type DemoNetDevice = (typeof DEMO_NET_DEVICES)[number];

export interface DemoOptions {
  profile?: UapiProfile;
  device?: DemoNetDevice;
  /** Loopback packets (default 10000). */
  loopbackPackets?: number;
}

export interface VqShape {
  vq: number;
  role: string;
  /** null: GET_VRING_GROUP is not supported (a parent without get_vq_group has one group). */
  group: number | null;
  asid: number;
}

export interface DeviceShape {
  name: string;
  vqs: number;
  groups: number;
  addressSpaces: number;
  queuePairs: number;
  vq: VqShape[];
  /** IOTLB entries per address space, as vhost-vdpa holds them. */
  iotlbEntries: Record<number, number>;
}

export interface DemoReport {
  profile: string;
  device: DemoNetDevice;
  /** The virtio-net-pci functions plugged for vp_vdpa (none for the simulators). */
  pci: { slot: string; mac: string; queuePairs: number; driver: string }[];
  commands: { line: string; output: string }[];
  shapes: DeviceShape[];
  /** Why the VMM runs the CVQ the way it does on this device. */
  cvqNote: string;
  vms: { name: string; device: string; ip: string; mac: string; queuePairs: number; cvq: string }[];
  ping: { from: string; to: string; sent: number; received: number };
  loopback: { vm: string; sent: number; received: number; lost: number; duplicates: number; reordered: number; bytes: number };
  macChange: {
    vm: string;
    oldMac: string;
    newMac: string;
    deviceMac: string;
    vmmModelMac: string;
    toOldMac: { sent: number; delivered: number; droppedByFilter: number };
    toNewMac: { sent: number; delivered: number; droppedByFilter: number };
  };
  stats: { device: string; queue: number; counters: Record<string, number> }[];
  summary: { check: string; ok: boolean; detail: string }[];
  elapsedMs: number;
}

// No zero byte: vdpa_sim_net's filter compares MACs with strncmp, which stops at a shared NUL.
const MACS = ['02:aa:bb:cc:dd:01', '02:aa:bb:cc:dd:02', '02:aa:bb:cc:dd:03'];
const NEW_MAC = '02:aa:bb:cc:dd:99';
const UDP_PORT = 9;
const BATCH = 128;


/** Sends `n` packets from `gen`, settling after every batch so the receiver keeps up; how many went. */
export function pump(host: Host, gen: TrafficGen, n: number): number {
  let sent = 0;
  while (sent < n) {
    const k = gen.send(Math.min(BATCH, n - sent));
    sent += k;
    host.settleSync();
    if (k === 0) break;
  }
  return sent;
}

export function runDemo(opts: DemoOptions = {}): DemoReport {
  const started = performance.now();
  const profile = opts.profile ?? 'upstream';
  const device = opts.device ?? 'vdpasim_netx';
  const isPci = device === 'vp_vdpa';
  const host = Host.boot({ profile, modules: isPci ? VP_VDPA_MODULES : ['vdpa', 'vhost_vdpa', 'vdpa_sim', 'vdpa_sim_net', 'vdpa_sim_netx'] });
  const shell = host.spawn({ comm: 'sh' });
  const commands: DemoReport['commands'] = [];
  const sh = (line: string, record = true): string => {
    const r = runShell(host, shell, line);
    if (r.exit) throw new Error(`demo: ${line}: ${r.stderr.trim()}`);
    if (record) commands.push({ line, output: r.stdout });
    return r.stdout;
  };

  // vp_vdpa's functions: plugged with their MAC and two queue pairs (netx gets max_vqp 2).
  const fns = isPci ? MACS.map((mac, i) => plugVirtioNetPci(host, { slot: pciSlot(i), mac, maxQueuePairs: 2 })) : [];
  const pci = fns.map(({ fn, slot }) => ({ slot, mac: formatMac(fn.n.mac), queuePairs: fn.maxQueuePairs, driver: VP_VDPA_DRIVER }));
  sh('vdpa mgmtdev show');
  const extra = device === 'vdpasim_netx' ? ' max_vqp 2' : '';
  for (const [i, mac] of MACS.entries()) {
    const fn = fns[i];
    sh(`vdpa dev add name vdpa${i} mgmtdev ${fn ? `pci/${fn.slot}` : `${device} mac ${mac}${extra}`}`);
  }
  sh('vdpa dev show');
  const nets = MACS.map((_, i) => (fns[i]?.fn ?? (host.bus.findDevice(`vdpa${i}`)?.parent as VdpaSim)).net as NetAttachment);
  const ports = nets.map((n) => n.port);
  new Wire(nets[0] as NetAttachment, nets[1] as NetAttachment);

  const vms: Vm[] = MACS.map((mac, i) => {
    const vm = launchVm(host, { name: `vm${i}`, vhostdev: `/dev/vhost-vdpa-${i}`, mac, ip: `10.0.0.${i + 1}/24`, cpus: 2 });
    if (typeof vm === 'string') throw new Error(`demo: ${vm}`);
    return vm;
  });
  host.settleSync();
  const [vm0, vm1, vm2] = vms as [Vm, Vm, Vm];

  const shapes = vms.map((vm, i) => deviceShape(host, `vdpa${i}`, vm));

  // A ping across the wire.
  const ping = vm0.stack.ping('10.0.0.2', { count: 4 });
  host.settleSync();

  // Loopback: vm2 sends to itself through its device, spread over its TX queues.
  const sink2 = new TrafficSink(vm2.stack.udp, UDP_PORT);
  const gen2 = new TrafficGen(vm2.stack.udp, { dst: '10.0.0.3', port: UDP_PORT, frameLen: { min: 64, max: 1514 } });
  const total = opts.loopbackPackets ?? 10000;
  const pairs = vm2.nic.currQueuePairs;
  let loopSent = 0;
  for (let q = 0; q < pairs; q++) {
    vm2.nic.selectQueue(q);
    loopSent += pump(host, gen2, Math.floor(total / pairs) + (q < total % pairs ? 1 : 0));
  }
  vm2.nic.selectQueue(0);
  const loop = sink2.stream();

  // A new MAC through the CVQ; vm0 still has the old one in its neighbour table.
  const sink1 = new TrafficSink(vm1.stack.udp, UDP_PORT);
  const oldMac = formatMac(vm1.nic.mac);
  const r = vm1.nic.setMacAddress(parseMac(NEW_MAC) as Uint8Array);
  if (r) throw new Error(`demo: set MAC on vm1 failed (${r})`);
  host.settleSync();
  const gen0 = new TrafficGen(vm0.stack.udp, { dst: '10.0.0.2', port: UDP_PORT, frameLen: 128 });
  const port1 = ports[1] as NetPort;
  const drops0 = netPortTotal(port1, 'rx drops');
  const oldSent = pump(host, gen0, 100);
  const oldDelivered = sink1.stream().received;
  const oldDropped = netPortTotal(port1, 'rx drops') - drops0;
  // Gratuitous ARP from vm1: vm0 learns the new MAC.
  vm1.stack.arp.announce();
  host.settleSync();
  const drops1 = netPortTotal(port1, 'rx drops');
  const newSent = pump(host, gen0, 100);
  const newDelivered = sink1.stream().received - oldDelivered;
  const newDropped = netPortTotal(port1, 'rx drops') - drops1;
  const deviceMac = configMac(sh('vdpa -j dev config show vdpa1', false), 'vdpa1');

  const stats = collectStats(sh, shapes, profile, ports);

  const report: DemoReport = {
    profile,
    device,
    pci,
    commands,
    shapes,
    cvqNote: cvqNote(device, shapes, vms),
    vms: vms.map((vm, i) => ({
      name: vm.name,
      device: `vdpa${i}`,
      ip: `10.0.0.${i + 1}`,
      mac: formatMac(vm.nic.mac),
      queuePairs: vm.nic.currQueuePairs,
      cvq: cvqMode(vm),
    })),
    ping: { from: 'vm0', to: 'vm1', sent: ping.sent, received: ping.received },
    loopback: { vm: 'vm2', sent: loopSent, received: loop.received, lost: loop.lost, duplicates: loop.duplicates, reordered: loop.reordered, bytes: loop.bytes },
    macChange: {
      vm: 'vm1',
      oldMac,
      newMac: NEW_MAC,
      deviceMac,
      vmmModelMac: formatMac(vm1.device.n.mac),
      toOldMac: { sent: oldSent, delivered: oldDelivered, droppedByFilter: oldDropped },
      toNewMac: { sent: newSent, delivered: newDelivered, droppedByFilter: newDropped },
    },
    stats,
    summary: [],
    elapsedMs: 0,
  };
  report.summary = summarize(report);
  for (const vm of vms) vm.destroy();
  for (let i = 0; i < MACS.length; i++) sh(`vdpa dev del vdpa${i}`, false);
  report.elapsedMs = Math.round(performance.now() - started);
  return report;
}

/**
 * Why the VMM treats the CVQ as it does, from what its probe could see (QEMU net/vhost-vdpa.c:
 * vhost_vdpa_probe_cvq_isolation at netdev init, vhost_vdpa_net_cvq_start at every start).
 */
function cvqNote(device: DemoNetDevice, shapes: readonly DeviceShape[], vms: readonly Vm[]): string {
  if (vms.every((vm) => cvqMode(vm).startsWith('shadowed'))) {
    return 'each CVQ is alone in its vq group: the VMM binds that group to ASID 1 and shadows the CVQ there, so it sees every control command and keeps its device model in step (QEMU vhost_vdpa_net_cvq_start)';
  }
  const s = shapes[0] as DeviceShape;
  const why = s.vq.some((q) => q.group === null) ? `its probe's GET_VRING_GROUP answers ${strerror(EOPNOTSUPP)}` : 'its probe finds the CVQ sharing a group with data vqs';
  return (
    `${device} has ${s.groups} vq group and ${s.addressSpaces} address space, so the CVQ cannot be isolated (${why}, QEMU vhost_vdpa_probe_cvq_isolation): ` +
    "the VMM passes it through to the device unshadowed, as QEMU does without shadow virtqueues; the guest's control commands reach the device's filter directly and the VMM's device model does not see them"
  );
}

/** How the VMM runs the CVQ of a VM. */
function cvqMode(vm: Vm): string {
  const cvq = vm.device.netdev.cvq;
  if (!cvq || !vm.device.hasFeature(VIRTIO_NET_F_CTRL_VQ)) return 'none';
  if (!cvq.dev.shadowVqsEnabled) return 'passthrough (not isolated)';
  return `shadowed by the VMM in ASID ${cvq.dev.addressSpaceId}`;
}

/** The device as a vhost-vdpa user sees it (through the VMM's fd) and as vhost-vdpa maps it. */
function deviceShape(host: Host, name: string, vm: Vm): DeviceShape {
  const fd = vm.device.netdev.shared.fd;
  const vqs = fd.getVqsCount();
  const groups = fd.getGroupNum();
  const ases = fd.getAsNum();
  const pairs = vm.device.queuePairs;
  const cvqIndex = 2 * pairs;
  const cvqAsid = vm.device.netdev.cvq?.dev.shadowVqsEnabled ? vm.device.netdev.cvq.dev.addressSpaceId : 0;
  const used = vm.device.hasFeature(VIRTIO_NET_F_CTRL_VQ) ? cvqIndex + 1 : cvqIndex;
  const vq: VqShape[] = [];
  for (let i = 0; i < used; i++) {
    // vhost-vdpa answers EOPNOTSUPP for a parent without get_vq_group (vp_vdpa): one group, unnamed.
    let group: number | null = null;
    const r = vhostCall(() => (group = fd.getVringGroup(i)));
    if (r && r !== -EOPNOTSUPP) throw new Error(`demo: GET_VRING_GROUP ${i}: ${strerror(-r)}`);
    const role = i === cvqIndex ? 'cvq' : `${i % 2 ? 'tx' : 'rx'}${i >> 1}`;
    vq.push({ vq: i, role, group, asid: i === cvqIndex ? cvqAsid : 0 });
  }
  const v = host.bus.findDevice(name)?.drvdata as VhostVdpaDriver;
  const iotlbEntries: Record<number, number> = {};
  for (const [asid, as] of v.as) iotlbEntries[asid] = as.iotlb.nmaps;
  return { name, vqs, groups, addressSpaces: ases, queuePairs: pairs, vq, iotlbEntries };
}

function configMac(json: string, dev: string): string {
  const cfg = (JSON.parse(json) as { config: Record<string, { mac?: string }> }).config[dev];
  return cfg?.mac ?? '';
}

/**
 * Per-queue vendor statistics through `vdpa dev vstats show` (profiles that have it); vp_vdpa has
 * no vendor statistics, so its functions' own counters.
 */
function collectStats(sh: (line: string, record?: boolean) => string, shapes: readonly DeviceShape[], profile: UapiProfile, ports: readonly NetPort[]): DemoReport['stats'] {
  const out: DemoReport['stats'] = [];
  for (const [i, s] of shapes.entries()) {
    const port = ports[i];
    if (port instanceof VirtioNetPci) {
      const used = new Set(s.vq.map((q) => q.vq));
      for (const q of netPortCounters(port)) if (used.has(q.qidx)) out.push({ device: s.name, queue: q.qidx, counters: q.counters });
      continue;
    }
    if (profile === 'linux-6.1') continue;
    for (const q of s.vq) {
      const json = JSON.parse(sh(`vdpa -j dev vstats show ${s.name} qidx ${q.vq}`, false)) as { vstats: Record<string, Record<string, unknown>> };
      const counters: Record<string, number> = {};
      const v = json.vstats[s.name] ?? {};
      const names = (v.name_value_pairs ?? v) as Record<string, unknown>;
      for (const [k, val] of Object.entries(names)) if (typeof val === 'number') counters[k] = val;
      out.push({ device: s.name, queue: q.vq, counters });
    }
  }
  return out;
}

function summarize(r: DemoReport): DemoReport['summary'] {
  const m = r.macChange;
  // QEMU shadows the CVQ only where its group can get an address space of its own.
  const isolable = r.shapes.every((s) => s.groups > 1 && s.addressSpaces > 1);
  const cvqAsExpected = r.vms.every((v) => v.cvq.startsWith(isolable ? 'shadowed' : 'passthrough'));
  // A passed-through CVQ bypasses the VMM: its model keeps the MAC it was started with.
  const modelMac = isolable ? m.newMac : m.oldMac;
  return [
    { check: 'ping vm0 -> vm1 across the wire', ok: r.ping.received === r.ping.sent, detail: `${r.ping.received}/${r.ping.sent} replies` },
    {
      check: 'loopback traffic on vm2',
      ok: r.loopback.received === r.loopback.sent && r.loopback.lost === 0 && r.loopback.duplicates === 0,
      detail: `${r.loopback.received}/${r.loopback.sent} packets, ${r.loopback.lost} lost, ${r.loopback.duplicates} duplicated, ${r.loopback.reordered} reordered`,
    },
    {
      check: isolable ? 'CVQ isolated in its own ASID' : 'CVQ passed through (one group, one address space)',
      ok: cvqAsExpected,
      detail: r.vms.map((v) => `${v.name}: ${v.cvq}`).join('; '),
    },
    {
      check: isolable ? 'MAC change followed by device, VMM model and filter' : 'MAC change followed by device and filter, not the VMM model',
      ok:
        m.deviceMac === m.newMac &&
        m.vmmModelMac === modelMac &&
        m.toOldMac.delivered === 0 &&
        m.toOldMac.droppedByFilter === m.toOldMac.sent &&
        m.toNewMac.delivered === m.toNewMac.sent,
      detail: `to old MAC ${m.toOldMac.delivered}/${m.toOldMac.sent} delivered, to new MAC ${m.toNewMac.delivered}/${m.toNewMac.sent}`,
    },
  ];
}
