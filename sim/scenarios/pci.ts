// An emulated virtio-net-pci function put in a simulated host the way an operator does on real
// hardware: plugged at a PCI address (enumeration places its BARs), then bound to vp_vdpa through
// driver_override and drivers_probe, after which `vdpa mgmtdev show` lists it as pci/<slot>.
// Not a kernel file.

import { strerror } from '../../uapi/index.js';
import type { PciDev } from '../../drivers/pci/pci.js';
import type { ModuleName } from '../../drivers/profile.js';
import type { Host } from '../host/index.js';
import { VirtioNetPci, type VirtioNetPciOptions } from '../pci/index.js';

/** Where the first function goes unless told: QEMU's first free slot on a q35 root bus. */
export const DEFAULT_PCI_SLOT = '0000:00:04.0';
/** The PCI driver vp_vdpa registers. */
export const VP_VDPA_DRIVER = 'vp-vdpa';
/** What a host needs to put vhost-vdpa on such a function (no simulator modules). */
export const VP_VDPA_MODULES: readonly ModuleName[] = ['vdpa', 'vhost_vdpa', 'vp_vdpa'];

/** The address of the n-th function a scenario plugs: slots 4, 5, ... of bus 0, as QEMU fills them. */
export function pciSlot(n: number): string {
  const slot = 4 + n;
  if (!Number.isInteger(n) || n < 0 || slot > 0x1f) throw new RangeError(`pciSlot: no slot for function ${n} on bus 0`);
  return `0000:00:${slot.toString(16).padStart(2, '0')}.0`;
}

export interface PlugNetOptions extends Omit<VirtioNetPciOptions, 'schedule'> {
  /** PCI address (domain:bus:slot.function); default DEFAULT_PCI_SLOT. */
  slot?: string;
  /** Behind an IOMMU without cache coherency (vhost-vdpa then refuses to open the device). */
  coherentDma?: boolean;
  /** Bind it to vp_vdpa (the module must be loaded); default true. */
  bind?: boolean;
}

export interface PluggedNet {
  readonly fn: VirtioNetPci;
  readonly pdev: PciDev;
  /** The management device name: the PCI address. */
  readonly slot: string;
}

/** Plugs a virtio-net-pci function whose device work runs on the host's scheduler; throws Error naming the step that failed. */
export function plugVirtioNetPci(host: Host, opts: PlugNetOptions = {}): PluggedNet {
  const { slot = DEFAULT_PCI_SLOT, coherentDma = true, bind = true, ...fnOpts } = opts;
  const fn = new VirtioNetPci({ ...fnOpts, schedule: (work) => host.scheduler.queue(work) });
  const pdev = host.pci.plug(slot, fn, { coherentDma });
  if (typeof pdev === 'number') throw new Error(`cannot plug a virtio-net-pci function at ${slot}: ${strerror(-pdev)}`);
  if (bind) {
    const r = host.pci.bindOverride(slot, VP_VDPA_DRIVER);
    if (r < 0) {
      host.pci.unplug(slot);
      throw new Error(`${slot}: binding to ${VP_VDPA_DRIVER} failed: ${strerror(-r)}${host.modules().includes('vp_vdpa') ? '' : ' (module vp_vdpa is not loaded)'}`);
    }
  }
  return { fn, pdev, slot };
}
