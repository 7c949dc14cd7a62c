// A virtual machine with a vDPA disk, assembled as an operator would: a VMM process with one
// "-device vhost-vdpa-device-pci,vhostdev=..." and a guest that probed virtio-blk on it.
// Not a kernel or QEMU file.

import { VIRTIO_ID_BLOCK } from '../../uapi/index.js';
import type { Host } from '../host/index.js';
import type { Guest, VirtioBlk } from '../guest/index.js';
import { type VhostVdpaDevice, type VhostVdpaDeviceOptions, Vmm, type VmmOptions } from '../vmm/index.js';
import { bootGuest } from './machine.js';

export interface BlkVmSpec extends VhostVdpaDeviceOptions {
  name: string;
  wrapUserSpace?: VmmOptions['wrapUserSpace'];
  cpus?: number;
  ramSize?: number;
}

export interface BlkVm {
  readonly name: string;
  readonly vmm: Vmm;
  readonly guest: Guest;
  /** The generic vhost-vdpa device as the VMM emulates it. */
  readonly device: VhostVdpaDevice;
  /** The guest's virtio-blk driver instance. */
  readonly disk: VirtioBlk;
  /** Guest shutdown and VMM exit. */
  destroy(): void;
}

/** Launches the VMM and boots the guest on its disk; an error message if either fails. */
export function launchBlkVm(host: Host, spec: BlkVmSpec): BlkVm | string {
  const { name, wrapUserSpace, cpus, ramSize, ...dev } = spec;
  const vmm = Vmm.launch(host, {
    name,
    nets: [],
    vdpaDevices: [dev],
    ...(ramSize ? { ramSize } : {}),
    ...(wrapUserSpace ? { wrapUserSpace } : {}),
  });
  if (typeof vmm === 'string') return vmm;
  const device = vmm.devices[0] as VhostVdpaDevice;
  if (device.deviceId !== VIRTIO_ID_BLOCK) {
    vmm.quit();
    return `${name}: no guest driver for virtio device id ${device.deviceId}`;
  }
  const guest = bootGuest(host, vmm, name, cpus);
  const disk = guest.probeBlk(device);
  if (typeof disk === 'number') {
    vmm.quit();
    return `${name}: virtio_blk: probe failed (${disk})`;
  }
  return {
    name,
    vmm,
    guest,
    device,
    disk,
    destroy() {
      guest.shutdown();
      vmm.quit();
    },
  };
}
