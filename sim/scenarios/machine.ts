// A virtual machine on the simulated host, assembled as an operator would: a VMM process with
// one vhost-vdpa NIC, a guest that probed virtio-net on it, and the guest's IPv4 stack.
// Not a kernel or QEMU file.

import type { Host } from '../host/index.js';
import { Guest, type GuestRange, NetStack, type VirtnetInfo } from '../guest/index.js';
import { HIGH_RAM_START, LOW_RAM_END, Vmm, type VmmNetOptions, type VmmOptions, type VirtIONet } from '../vmm/index.js';

export interface VmSpec extends VmmNetOptions {
  name: string;
  wrapUserSpace?: VmmOptions['wrapUserSpace'];
  /** The guest's address, CIDR notation (e.g. 10.0.0.1/24). */
  ip: string;
  cpus?: number;
  ramSize?: number;
}

export interface Vm {
  readonly name: string;
  readonly vmm: Vmm;
  readonly guest: Guest;
  /** The virtio-net device as the VMM emulates it. */
  readonly device: VirtIONet;
  /** The guest's driver instance. */
  readonly nic: VirtnetInfo;
  readonly stack: NetStack;
  /** Guest shutdown and VMM exit. */
  destroy(): void;
}

/** The guest of a VMM, its memory as firmware describes it. */
export function bootGuest(host: Host, vmm: Vmm, name: string, cpus?: number): Guest {
  // Page 0 and the legacy hole stay out of the guest allocator, as a real kernel's e820 map does.
  const usable: GuestRange[] = [
    { start: 0x1000, end: LOW_RAM_END },
    { start: HIGH_RAM_START, end: vmm.ram.size },
  ];
  return new Guest(name, vmm.ram.bytes, usable, host.scheduler, cpus ? { cpus } : {});
}

/** Launches the VMM and boots the guest; an error message if either fails. */
export function launchVm(host: Host, spec: VmSpec): Vm | string {
  const vmm = Vmm.launch(host, {
    name: spec.name,
    nets: [spec],
    ...(spec.ramSize ? { ramSize: spec.ramSize } : {}),
    ...(spec.wrapUserSpace ? { wrapUserSpace: spec.wrapUserSpace } : {}),
  });
  if (typeof vmm === 'string') return vmm;
  const guest = bootGuest(host, vmm, spec.name, spec.cpus);
  const device = vmm.nics[0] as VirtIONet;
  const nic = guest.probeNet(device);
  if (typeof nic === 'number') {
    vmm.quit();
    return `${spec.name}: virtio_net: probe failed (${nic})`;
  }
  const [ip, prefix] = spec.ip.split('/');
  const stack = new NetStack(nic, { ip: ip as string, prefixLen: Number(prefix ?? 24) });
  return {
    name: spec.name,
    vmm,
    guest,
    device,
    nic,
    stack,
    destroy() {
      guest.shutdown();
      vmm.quit();
    },
  };
}
