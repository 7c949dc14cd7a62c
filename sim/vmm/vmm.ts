// A QEMU-like VMM process on the simulated host: guest RAM, one virtio-net-pci device per
// "-netdev vhost-vdpa,vhostdev=..." it was launched with, each a VirtIONet frontend over a
// NetVhostVdpa backend, and one generic VhostVdpaDevice per "-device
// vhost-vdpa-device-pci,vhostdev=...". Not a QEMU file (vl.c's role, reduced to what a vDPA guest
// needs).
// The process gets a memlock limit covering guest RAM, as libvirt raises it for vDPA.

import { parseMac } from '../../lib/net/index.js';
import type { UserSpace } from '../../lib/vhost_vdpa/index.js';
import type { Host, Process } from '../host/index.js';
import { GuestRam } from './memory.js';
import { NetVhostVdpa } from './net_vhost_vdpa.js';
import { modelPlatform, type VmmPlatform } from './platform.js';
import { VhostVdpaDevice, type VhostVdpaDeviceOptions } from './vdpa_dev.js';
import { VirtIONet } from './virtio_net.js';

export interface VmmNetOptions {
  /** vhostdev=/dev/vhost-vdpa-N. */
  vhostdev: string;
  /** mac= (default 52:54:00:12:34:56 + NIC number, as qemu_macaddr_default_if_unset). */
  mac?: string;
  /** mq=on (default: on when the device has more than one queue pair, as libvirt does). */
  mq?: boolean;
  /** host_mtu=. */
  hostMtu?: number;
  /** x-svq=on. */
  xSvq?: boolean;
}

export interface VmmOptions {
  name?: string;
  /** Wraps the process's system-call face (to trace or fault-inject what the VMM does). */
  wrapUserSpace?: (us: UserSpace) => UserSpace;
  /** Guest RAM in bytes (default 32 MiB). */
  ramSize?: number;
  nets: readonly VmmNetOptions[];
  /** -device vhost-vdpa-device-pci, realized after the NICs. */
  vdpaDevices?: readonly VhostVdpaDeviceOptions[];
}

export const DEFAULT_GUEST_RAM = 32 * 1024 * 1024;
const DEFAULT_MAC = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

export class Vmm {
  readonly nics: VirtIONet[] = [];
  readonly devices: VhostVdpaDevice[] = [];

  private constructor(
    readonly name: string,
    readonly proc: Process,
    readonly platform: VmmPlatform,
    readonly ram: GuestRam,
  ) {}

  /** Starts the VMM process and realizes its devices; an error message when QEMU would exit. */
  static launch(host: Host, opts: VmmOptions): Vmm | string {
    const name = opts.name ?? 'qemu';
    const ramSize = opts.ramSize ?? DEFAULT_GUEST_RAM;
    const proc = host.spawn({ comm: name, rlimitMemlock: ramSize + 16 * 1024 * 1024 });
    const base = modelPlatform(host, proc);
    const platform = opts.wrapUserSpace ? { ...base, us: opts.wrapUserSpace(base.us) } : base;
    const ram = GuestRam.create(platform.us, ramSize);
    if (typeof ram === 'number') {
      proc.exit();
      return `${name}: cannot allocate guest RAM (${ramSize} bytes): ${-ram}`;
    }
    const vmm = new Vmm(name, proc, platform, ram);
    for (const [i, net] of opts.nets.entries()) {
      const err = vmm.addNic(i, net);
      if (err) {
        vmm.quit();
        return `${name}: -netdev vhost-vdpa,vhostdev=${net.vhostdev}: ${err}`;
      }
    }
    for (const d of opts.vdpaDevices ?? []) {
      const dev = VhostVdpaDevice.realize(platform, ram, d);
      if (typeof dev === 'string') {
        vmm.quit();
        return `${name}: -device vhost-vdpa-device-pci,vhostdev=${d.vhostdev}: ${dev}`;
      }
      vmm.devices.push(dev);
    }
    return vmm;
  }

  private addNic(i: number, net: VmmNetOptions): string | undefined {
    const mac = net.mac === undefined ? Uint8Array.from(DEFAULT_MAC.map((b, k) => (k === 5 ? (b + i) & 0xff : b))) : parseMac(net.mac);
    if (!mac) return `Property 'virtio-net-device.mac' doesn't take value '${net.mac}'`;
    const netdev = NetVhostVdpa.init(this.platform, this.ram, { vhostdev: net.vhostdev, ...(net.xSvq ? { xSvq: true } : {}) });
    if (typeof netdev === 'string') return netdev;
    const mq = net.mq ?? netdev.maxQueuePairs > 1;
    this.nics.push(new VirtIONet(this.platform, this.ram, netdev, { mac, mq, ...(net.hostMtu !== undefined ? { hostMtu: net.hostMtu } : {}) }));
    return undefined;
  }

  /** Powers off: every device reset (vhost stopped), netdevs cleaned up, the process gone. */
  quit(): void {
    for (const nic of this.nics) {
      nic.reset();
      nic.netdev.cleanup();
    }
    this.nics.length = 0;
    for (const dev of this.devices) dev.unrealize();
    this.devices.length = 0;
    this.proc.exit();
  }
}
