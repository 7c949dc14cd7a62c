// A guest machine as its kernel sees itself: physical memory, a vCPU, and the virtio devices it
// probed on the transports the VMM exposes. Not a kernel file.

import type { Scheduler } from '../../lib/sched/index.js';
import { VIRTIO_ID_BLOCK, VIRTIO_ID_NET } from '../../uapi/index.js';
import { GuestCpu } from './cpu.js';
import { GuestMemory, type GuestRange } from './memory.js';
import { VirtioDevice, type VirtioConfigOps } from './virtio.js';
import { type VirtblkOptions, VirtioBlk } from './virtio_blk.js';
import { type VirtnetOptions, VirtnetInfo } from './virtio_net.js';

export interface GuestOptions {
  /** Online vCPUs (virtio-net uses min(max_virtqueue_pairs, cpus) queue pairs). */
  cpus?: number;
}

export class Guest {
  readonly memory: GuestMemory;
  readonly cpu: GuestCpu;
  readonly nets: VirtnetInfo[] = [];
  /** Probed disks not yet removed. */
  readonly disks: VirtioBlk[] = [];
  readonly cpus: number;

  /** `bytes[gpa]` is guest RAM; `usable` the ranges its kernel may allocate from. */
  constructor(
    readonly name: string,
    bytes: Uint8Array,
    usable: readonly GuestRange[],
    scheduler: Scheduler,
    opts: GuestOptions = {},
  ) {
    this.memory = new GuestMemory(bytes, usable);
    this.cpu = new GuestCpu(scheduler, `${name}/vcpu0`);
    this.cpus = opts.cpus ?? 1;
  }

  /** virtio_net probe on a transport: the driver, or -errno. */
  probeNet(transport: VirtioConfigOps, opts: Partial<VirtnetOptions> = {}): VirtnetInfo | number {
    const dev = new VirtioDevice(VIRTIO_ID_NET, transport);
    const vi = VirtnetInfo.probe(dev, { cpu: this.cpu, memory: this.memory, cpus: this.cpus, name: `eth${this.nets.length}`, ...opts });
    if (typeof vi !== 'number') this.nets.push(vi);
    return vi;
  }

  /** virtio_blk probe on a transport: the disk, named after the lowest free index (vda, vdb...), or -errno. */
  probeBlk(transport: VirtioConfigOps, opts: Partial<VirtblkOptions> = {}): VirtioBlk | number {
    for (let i = this.disks.length - 1; i >= 0; i--) if (this.disks[i]?.removed) this.disks.splice(i, 1);
    let index = 0;
    while (this.disks.some((d) => d.name === diskName(index))) index++;
    const dev = new VirtioDevice(VIRTIO_ID_BLOCK, transport);
    const vblk = VirtioBlk.probe(dev, { cpu: this.cpu, memory: this.memory, name: diskName(index), ...opts });
    if (typeof vblk !== 'number') this.disks.push(vblk);
    return vblk;
  }

  /** Power-off from the inside: every driver removed (each device reset). */
  shutdown(): void {
    for (const vi of this.nets) vi.remove();
    this.nets.length = 0;
    for (const d of this.disks) d.remove();
    this.disks.length = 0;
  }
}

/** virtblk_name_format("vd", index): vda ... vdz, vdaa ... */
function diskName(index: number): string {
  let s = '';
  for (let i = index; i >= 0; i = Math.floor(i / 26) - 1) s = String.fromCharCode(97 + (i % 26)) + s;
  return `vd${s}`;
}
