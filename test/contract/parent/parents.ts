// The parents the vDPA parent contract (rules.ts) runs on, each created as an operator creates it:
// a host booted with the parent's module and without vhost_vdpa, so that nothing but the rules
// drives the config ops, then `vdpa dev add` over netlink (vp_vdpa: on the PCI management device
// of an emulated virtio-net-pci function bound to it, DMA through the platform IOMMU). A case
// declares what the ops cannot show (vq state support, whether a vq can be disabled, what reset
// does to vq callbacks and driver features), the smallest datapath the suite knows for it, and
// the rules it is known to break.

import { type VdpaSim, VdpaSimNetx } from '../../../drivers/vdpa/vdpa_sim/index.js';
import type { VdpaDevice } from '../../../drivers/vdpa/vdpa.js';
import type { VdpaConfigOps } from '../../../drivers/vdpa/vdpa_ops.js';
import type { ModuleName } from '../../../drivers/profile.js';
import { IOMMU_READ, IOMMU_WRITE } from '../../../drivers/iommu/iommu.js';
import type { PciDev } from '../../../drivers/pci/pci.js';
import { MemFile, PAGE_SIZE } from '../../../lib/mm/index.js';
import { VirtqueueSplit } from '../../../lib/virtio/index.js';
import { Host } from '../../../sim/host/index.js';
import type { LmOptions, VirtioNetPci } from '../../../sim/pci/index.js';
import { type UapiProfile, VIRTIO_BLK_T_FLUSH, VIRTIO_NET_F_STATUS, errnoName } from '../../../uapi/index.js';
import { type DevAddOptions, devAdd, devDel } from '../../helpers/vdpa_nl.js';
import { vpDevice, vpHost } from '../../helpers/vp_vdpa.js';

/** Memory the device reaches by DMA: the bytes, and the address the device uses for byte 0. */
export interface DmaBuffer {
  iova: number;
  bytes: Uint8Array;
}

/** A driver-side split ring of `num` entries with one 256-byte buffer slot per entry, in one DMA buffer. */
export class DriverRing {
  private static readonly SLOT = 256;
  readonly vq: VirtqueueSplit<number>;
  readonly desc: bigint;
  readonly avail: bigint;
  readonly used: bigint;
  private next = 0;

  /** Bytes a ring of `num` (at most 128) entries needs: descriptors and avail in page 0, used in page 1, slots after. */
  static size(num: number): number {
    return 2 * PAGE_SIZE + num * DriverRing.SLOT;
  }

  constructor(
    private readonly mem: DmaBuffer,
    readonly num: number,
  ) {
    const desc = mem.iova;
    const avail = desc + 16 * num;
    const used = desc + PAGE_SIZE;
    this.vq = new VirtqueueSplit<number>({ mem: mem.bytes, memBase: mem.iova, num, desc, avail, used });
    [this.desc, this.avail, this.used] = [BigInt(desc), BigInt(avail), BigInt(used)];
  }

  /** The next buffer slot: its device address and bytes. */
  slot(): { addr: number; bytes: Uint8Array } {
    const off = 2 * PAGE_SIZE + (this.next++ % this.num) * DriverRing.SLOT;
    return { addr: this.mem.iova + off, bytes: this.mem.bytes.subarray(off, off + DriverRing.SLOT) };
  }

  /** How many requests the device completed since the last call. */
  reap(): number {
    let n = 0;
    while (this.vq.getBuf() !== undefined) n++;
    return n;
  }
}

/** The smallest datapath of a parent: one request on one vq that the device consumes and completes. */
export interface Datapath {
  /** Queues that must be ready for the device to work on `vq`. */
  readonly queues: readonly number[];
  readonly vq: number;
  /** Makes one request available on `ring` (the caller kicks). */
  post(ring: DriverRing): void;
}

/** A way to change the device's config from outside (link, media), raising a config interrupt. */
export interface ConfigChange {
  /** Features the driver must accept for the device to raise it. */
  features: bigint;
  raise(): void;
}

/** Known kernel deviations a rule tolerates, each named after the kernel function that has it. */
export type Quirk =
  /** vdpasim_set_group_asid() refuses group > ngroups, so group == ngroups passes (facts §8.21). */
  'set-group-asid-accepts-ngroups';

/** What the ops cannot show, declared by the case. */
export interface DeclaredCapabilities {
  /** 'full': set/get_vq_state round-trip; 'initial-only': vp_vdpa without LM (state 0 only). */
  vqState: 'full' | 'initial-only';
  /** set_vq_ready(false) disables a vq (virtio-pci forbids writing 0 to queue_enable). */
  disableVq: boolean;
  /** reset() keeps the vq callbacks (vp_vdpa_reset) instead of clearing them (vdpasim_vq_reset). */
  resetKeepsVqCb: boolean;
  /**
   * get_driver_features() reads 0 after reset(). False for vp_vdpa over QEMU's virtio-net-pci:
   * vp_vdpa_reset() writes only device_status, and virtio_pci_reset() (before QEMU's 2025
   * extended-features series) keeps the driver_feature words vp_modern_get_driver_features() reads.
   */
  resetClearsDriverFeatures: boolean;
}

export interface Capabilities extends DeclaredCapabilities {
  suspend: boolean;
  resume: boolean;
  generation: boolean;
  vqGroup: boolean;
  groupAsid: boolean;
}

/** The optional ops a parent has, plus what it declares. */
export function capabilitiesOf(ops: VdpaConfigOps, declared: DeclaredCapabilities): Capabilities {
  const { vqState, disableVq, resetKeepsVqCb, resetClearsDriverFeatures } = declared;
  return {
    vqState,
    disableVq,
    resetKeepsVqCb,
    resetClearsDriverFeatures,
    suspend: ops.suspend !== undefined,
    resume: ops.resume !== undefined,
    generation: ops.getGeneration !== undefined,
    vqGroup: ops.getVqGroup !== undefined,
    groupAsid: ops.setGroupAsid !== undefined,
  };
}

/** What a rule sees. */
export interface ParentUnderTest {
  readonly name: string;
  /** The simulated host the parent lives on (for the case's teardown; rules use settle()). */
  readonly host: Host;
  readonly vdev: VdpaDevice;
  readonly ops: VdpaConfigOps;
  readonly nvqs: number;
  readonly ngroups: number;
  readonly nas: number;
  readonly caps: Capabilities;
  readonly quirks: ReadonlySet<Quirk>;
  /** Runs device work until idle. */
  settle(): void;
  /** `size` bytes of DMA memory the device reaches. */
  dmaAlloc(size: number): DmaBuffer;
  readonly datapath?: Datapath;
  readonly configChange?: ConfigChange;
}

export interface ParentCase {
  readonly name: string;
  create(): ParentUnderTest;
  destroy(p: ParentUnderTest): void;
}

/**
 * Host physical memory, populated: the simulator's address spaces start as identity passthrough
 * and, with no vhost_vdpa bound, no mm is bound either, so the device reaches it 1:1 (PA mode).
 */
function physDma(host: Host): (size: number) => DmaBuffer {
  return (size) => {
    const file = MemFile.create(host.phys, 'contract-dma', Math.ceil(size / PAGE_SIZE) * PAGE_SIZE);
    if (!file.obj.populate(0, file.obj.pages)) throw new Error('contract: no memory for DMA');
    return { iova: (file.obj.pfn[0] as number) * PAGE_SIZE, bytes: file.obj.bytes };
  };
}

/** vdpa_sim_net, vdpasim_netx: one broadcast frame on TX (vq 1); vdpa_sim_net moves TX only with RX (vq 0) ready. */
const netTx: Datapath = {
  queues: [0, 1],
  vq: 1,
  post(ring) {
    const s = ring.slot();
    // virtio_net_hdr_v1 (zero), a broadcast destination, a locally administered source.
    s.bytes.fill(0, 0, 12).fill(0xff, 12, 18).set([2, 0, 0, 0, 0, 1], 18);
    ring.vq.addOutbuf(s.addr, 12 + 60, 0);
  },
};

/** vdpa_sim_blk: a FLUSH (16-byte header out, status byte in) on its only vq. */
const blkFlush: Datapath = {
  queues: [0],
  vq: 0,
  post(ring) {
    const s = ring.slot();
    s.bytes.fill(0, 0, 16);
    new DataView(s.bytes.buffer, s.bytes.byteOffset).setUint32(0, VIRTIO_BLK_T_FLUSH, true);
    ring.vq.addSgs([{ addr: s.addr, len: 16 }, { addr: s.addr + 16, len: 1 }], 1, 0);
  },
};

/** vdpasim_netx: a link flap raises a config interrupt once STATUS is negotiated. */
function netxLinkFlap(vdev: VdpaDevice): ConfigChange {
  const netx = (vdev.parent as VdpaSim).net?.port;
  if (!(netx instanceof VdpaSimNetx)) throw new Error('contract: not a vdpasim_netx device');
  return { features: 1n << BigInt(VIRTIO_NET_F_STATUS), raise: () => netx.setLink(!netx.linkUp) };
}

const SIM_CAPS: DeclaredCapabilities = { vqState: 'full', disableVq: true, resetKeepsVqCb: false, resetClearsDriverFeatures: true };
const SIM_QUIRKS: ReadonlySet<Quirk> = new Set(['set-group-asid-accepts-ngroups']);
const DEV = 'contract0';

interface SimCase {
  name: string;
  profile?: UapiProfile;
  module: ModuleName;
  dev: Omit<DevAddOptions, 'name'>;
  datapath: Datapath;
  configChange?: (vdev: VdpaDevice) => ConfigChange;
}

/** A vdpa_sim class: `vdpa dev add` on a host without vhost_vdpa; `vdpa dev del` to destroy. */
function simCase(o: SimCase): ParentCase {
  return {
    name: o.name,
    create() {
      const host = Host.boot({ profile: o.profile ?? 'upstream', modules: [o.module] });
      const r = devAdd(host, { name: DEV, ...o.dev });
      if (r.error) throw new Error(`${o.name}: vdpa dev add: ${errnoName(r.error)} ${r.extack ?? ''}`);
      const vdev = host.bus.findDevice(DEV);
      if (!vdev || vdev.driver) throw new Error(`${o.name}: ${DEV} missing or bound to a driver`);
      const ops = vdev.config;
      return {
        name: o.name,
        host,
        vdev,
        ops,
        nvqs: vdev.nvqs,
        ngroups: vdev.ngroups,
        nas: vdev.nas,
        caps: capabilitiesOf(ops, SIM_CAPS),
        quirks: SIM_QUIRKS,
        settle: () => void host.settleSync(),
        dmaAlloc: physDma(host),
        datapath: o.datapath,
        ...(o.configChange ? { configChange: o.configChange(vdev) } : {}),
      };
    },
    destroy(p) {
      devDel(p.host, p.vdev.name);
    },
  };
}

/** virtio-net-pci: a link flap raises a config interrupt (virtio_net_set_link_status) once DRIVER_OK. */
function pciLinkFlap(fn: VirtioNetPci): ConfigChange {
  return { features: 1n << BigInt(VIRTIO_NET_F_STATUS), raise: () => fn.setLink(!fn.linkUp) };
}

/**
 * DMA through the platform IOMMU: a paging domain attached to the function (what vhost-vdpa does
 * at open), each buffer's pages mapped one by one at IOVAs that are not their physical addresses.
 */
function iommuDma(host: Host, pdev: PciDev): (size: number) => DmaBuffer {
  const domain = pdev.iommu.domainAlloc();
  if (pdev.iommu.attach(domain)) throw new Error(`contract: cannot attach an IOMMU domain to ${pdev.slot}`);
  let next = 0x4000_0000n;
  return (size) => {
    const file = MemFile.create(host.phys, 'contract-dma', Math.ceil(size / PAGE_SIZE) * PAGE_SIZE);
    if (!file.obj.populate(0, file.obj.pages)) throw new Error('contract: no memory for DMA');
    const iova = next;
    file.obj.pfn.forEach((pfn, i) => {
      const r = domain.map(iova + BigInt(i * PAGE_SIZE), BigInt(pfn * PAGE_SIZE), BigInt(PAGE_SIZE), IOMMU_READ | IOMMU_WRITE);
      if (r) throw new Error(`contract: iommu_map: ${errnoName(r)}`);
    });
    next += BigInt(file.obj.pages * PAGE_SIZE) + BigInt(PAGE_SIZE);
    return { iova: Number(iova), bytes: file.obj.bytes };
  };
}

interface VpCase {
  name: string;
  profile?: UapiProfile;
  lm?: LmOptions;
  vqState: DeclaredCapabilities['vqState'];
}

/**
 * vp_vdpa over an emulated virtio-net-pci function: `vdpa dev add` on pci/<slot>. Virtio-pci
 * forbids writing 0 to queue_enable (QEMU marks the device broken), and vp_vdpa_reset() keeps
 * vring[].cb; the LM variant reports and restores vq state through the ring-state words.
 */
function vpCase(o: VpCase): ParentCase {
  const declared: DeclaredCapabilities = { vqState: o.vqState, disableVq: false, resetKeepsVqCb: true, resetClearsDriverFeatures: false };
  return {
    name: o.name,
    create() {
      const vp = vpHost({ vhost: false, ...(o.profile ? { profile: o.profile } : {}), ...(o.lm ? { lm: o.lm } : {}) });
      const vdev = vpDevice(vp, { name: DEV });
      if (vdev.driver) throw new Error(`${o.name}: ${DEV} is bound to a driver`);
      const ops = vdev.config;
      return {
        name: o.name,
        host: vp.host,
        vdev,
        ops,
        nvqs: vdev.nvqs,
        ngroups: vdev.ngroups,
        nas: vdev.nas,
        caps: capabilitiesOf(ops, declared),
        quirks: new Set(),
        settle: () => void vp.host.settleSync(),
        dmaAlloc: iommuDma(vp.host, vp.pdev),
        datapath: netTx,
        configChange: pciLinkFlap(vp.fn),
      };
    },
    destroy(p) {
      devDel(p.host, p.vdev.name);
    },
  };
}

export const PARENTS: readonly ParentCase[] = [
  simCase({ name: 'vdpa_sim_net', module: 'vdpa_sim_net', dev: { mgmtdev: 'vdpasim_net' }, datapath: netTx }),
  simCase({ name: 'vdpa_sim_net (linux-6.1)', profile: 'linux-6.1', module: 'vdpa_sim_net', dev: { mgmtdev: 'vdpasim_net' }, datapath: netTx }),
  simCase({
    name: 'vdpasim_netx',
    module: 'vdpa_sim_netx',
    dev: { mgmtdev: 'vdpasim_netx', maxVqp: 2 },
    datapath: netTx,
    configChange: netxLinkFlap,
  }),
  simCase({ name: 'vdpa_sim_blk', module: 'vdpa_sim_blk', dev: { mgmtdev: 'vdpasim_blk' }, datapath: blkFlush }),
  vpCase({ name: 'vp_vdpa', vqState: 'initial-only' }),
  vpCase({ name: 'vp_vdpa with LM (proposal-lm-log)', profile: 'proposal-lm-log', lm: { layout: 'code', dirty: 'complete' }, vqState: 'full' }),
];
