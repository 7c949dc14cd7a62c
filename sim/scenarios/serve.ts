// What `vdpasim serve` runs: a live simulated host (device work and the guest's NAPI on the Node
// event loop) with one vDPA net device added by the vdpa tool, a VMM and a guest on it whose
// stack answers ARP, ICMP echo and UDP echo (port 7), and the device's medium a real tap
// (lib/net TapBackend), optionally captured to pcapng. The caller opens the tap and owns it.
// Over vp_vdpa the device is an emulated virtio-net-pci function plugged first; its MAC and MTU
// are set there (QEMU's -device virtio-net-pci,mac=,host_mtu=), since vp_vdpa takes neither at
// `vdpa dev add`, and the tap is cabled to the function itself.
// Not a kernel or QEMU file.

import type { VdpaSim } from '../../drivers/vdpa/vdpa_sim/index.js';
import type { ModuleName } from '../../drivers/profile.js';
import { NetCapture, TapBackend, type TapBackendStats, type TapDevice, formatMac } from '../../lib/net/index.js';
import type { PcapngWriter } from '../../lib/pcap/index.js';
import type { UapiProfile } from '../../uapi/index.js';
import type { NetStats } from '../guest/index.js';
import { Host } from '../host/index.js';
import { runShell } from '../tools/index.js';
import { type Vm, launchVm } from './machine.js';
import { VP_VDPA_MODULES, pciSlot, plugVirtioNetPci } from './pci.js';
import { type QueueCounters, netPortCounters } from './net_counters.js';

/**
 * The management devices `serve` can put on a tap, and the module each needs (vp_vdpa: its
 * function's PCI address is the management device; the tap backend takes any NetPort).
 */
export const SERVE_DEVICES = {
  vdpasim_netx: 'vdpa_sim_netx',
  vdpasim_net: 'vdpa_sim_net',
  vp_vdpa: 'vp_vdpa',
} as const satisfies Record<string, ModuleName>;
export type ServeDevice = keyof typeof SERVE_DEVICES;

/** No zero byte: vdpa_sim_net's filter compares MACs with strncmp, which stops at a shared NUL. */
export const SERVE_DEFAULT_MAC = '02:76:64:70:61:02';
export const SERVE_DEFAULT_IP = '10.0.0.2/24';
const DEV = 'vdpa0';
/** How often the guest's ARP probe timer runs (retrans_time). */
const ARP_TICK_MS = 1000;

export interface ServeOptions {
  tap: TapDevice;
  device?: ServeDevice;
  profile?: UapiProfile;
  /** The guest's address, CIDR notation. */
  ip?: string;
  mac?: string;
  /** The device's MTU (`vdpa dev add ... mtu N`, or the function's host_mtu); the guest reads it. */
  mtu?: number;
  /** Every frame crossing the device goes here. */
  pcap?: PcapngWriter;
}

export interface ServeStats {
  tap: TapBackendStats;
  /** The device's counters per queue, with the names `vdpa dev vstats show` uses. */
  device: QueueCounters[];
  guest: NetStats;
  /** Frames written to the capture. */
  captured: number;
}

export interface Server {
  readonly host: Host;
  readonly vm: Vm;
  readonly backend: TapBackend;
  readonly device: ServeDevice;
  /** The device's name on the vdpa bus. */
  readonly name: string;
  readonly ip: string;
  readonly mac: string;
  stats(): ServeStats;
  /** Guest down, device deleted, tap no longer watched (the caller closes it). */
  stop(): void;
}

/** Boots the host, adds the device, starts the guest and cables the device to the tap; throws Error naming what failed. */
export function startServe(opts: ServeOptions): Server {
  const device = opts.device ?? 'vdpasim_netx';
  const module = SERVE_DEVICES[device];
  const mac = opts.mac ?? SERVE_DEFAULT_MAC;
  const ip = opts.ip ?? SERVE_DEFAULT_IP;
  const host = Host.boot({ profile: opts.profile ?? 'upstream', modules: device === 'vp_vdpa' ? VP_VDPA_MODULES : ['vdpa', 'vhost_vdpa', 'vdpa_sim', module], live: true });
  const sh = host.spawn({ comm: 'sh' });
  const fn = device === 'vp_vdpa' ? plugFunction(host, mac, opts.mtu) : undefined;
  const mtu = opts.mtu !== undefined ? ` mtu ${opts.mtu}` : '';
  const line = fn ? `vdpa dev add name ${DEV} mgmtdev pci/${fn.slot}` : `vdpa dev add name ${DEV} mgmtdev ${device} mac ${mac}${mtu}`;
  const added = runShell(host, sh, line);
  if (added.exit) throw new Error(`${line}: ${added.stderr.trim()}`);
  const net = fn ? fn.fn.net : (host.bus.findDevice(DEV)?.parent as VdpaSim | undefined)?.net;
  if (!net) throw new Error(`${DEV}: not a net device`);
  // host_mtu= as an operator passes it to QEMU: without it the guest is not offered the MTU.
  const vm = launchVm(host, { name: 'vm0', vhostdev: '/dev/vhost-vdpa-0', mac, ip, ...(opts.mtu !== undefined ? { hostMtu: opts.mtu } : {}) });
  if (typeof vm === 'string') {
    runShell(host, sh, `vdpa dev del ${DEV}`);
    throw new Error(vm);
  }
  vm.stack.udp.echo();
  host.settleSync();
  const capture = opts.pcap ? new NetCapture(opts.pcap, DEV, `tap ${opts.tap.name}`) : undefined;
  let backend: TapBackend;
  try {
    backend = TapBackend.attach(net, opts.tap, capture ? { observe: (...f) => capture.frame(...f) } : {});
  } catch (e) {
    vm.destroy();
    runShell(host, sh, `vdpa dev del ${DEV}`);
    throw e;
  }
  const tick = setInterval(() => vm.stack.tick(), ARP_TICK_MS);
  // The tap's watch keeps the process alive; the timer need not.
  tick.unref();
  let stopped = false;
  return {
    host,
    vm,
    backend,
    device,
    name: DEV,
    ip,
    mac: formatMac(vm.nic.mac),
    stats: () => ({ tap: structuredClone(backend.stats), device: netPortCounters(net.port), guest: vm.stack.stats(), captured: capture?.frames ?? 0 }),
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(tick);
      backend.detach(net.port);
      vm.destroy();
      runShell(host, sh, `vdpa dev del ${DEV}`);
      host.settleSync();
    },
  };
}

/** The virtio-net-pci function vp_vdpa drives, with the operator's MAC and MTU; throws Error naming what failed. */
function plugFunction(host: Host, mac: string, mtu: number | undefined): ReturnType<typeof plugVirtioNetPci> {
  const slot = pciSlot(0);
  try {
    return plugVirtioNetPci(host, { slot, mac, ...(mtu !== undefined ? { mtu } : {}) });
  } catch (e) {
    // The function's own range checks (host_mtu 68..9000) are what an operator needs to see.
    throw new Error(`virtio-net-pci at ${slot}: ${(e as Error).message}`);
  }
}

/** The statistics as the lines `vdpasim serve` prints when it stops: `name value` pairs, iproute2 style. */
export function renderServeStats(s: ServeStats, tapName: string, guest: { name: string; ip: string }): string {
  const { rx, tx } = s.tap;
  const lines = [
    `tap ${tapName}: rx frames ${rx.frames} bytes ${rx.bytes} delivered ${rx.delivered} filtered ${rx.filtered} overruns ${rx.overruns} errors ${rx.errors} wakeups ${rx.wakeups}; ` +
      `tx frames ${tx.frames} bytes ${tx.bytes} link-down ${tx.linkDown} errors ${tx.errors}`,
  ];
  for (const q of s.device) lines.push(`device ${DEV} ${q.queue}: ${Object.entries(q.counters).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  const g = s.guest;
  const drops = Object.entries(g.drops).filter(([, n]) => n > 0);
  lines.push(
    `guest ${guest.name} ${guest.ip}: rx packets ${g.link.rxPackets} bytes ${g.link.rxBytes}; tx packets ${g.link.txPackets} bytes ${g.link.txBytes}; ` +
      `arp requests ${g.arp.inRequests} replies ${g.arp.outReplies}; icmp echo requests ${g.icmp.inEchos} replies ${g.icmp.outEchoReps}; ` +
      `udp in ${g.udp.inDatagrams} out ${g.udp.outDatagrams}; drops ${drops.length ? drops.map(([k, n]) => `${k} ${n}`).join(', ') : 'none'}`,
  );
  if (s.captured) lines.push(`pcap: frames ${s.captured}`);
  return `${lines.join('\n')}\n`;
}
