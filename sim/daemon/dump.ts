// `vdpasim dump`: the state of a simulated host's vDPA devices that iproute2 cannot show:
// status, device/driver/negotiated and backend features, every vq (size, ring addresses, ready,
// last_avail/last_used, in flight, eventfds), group -> ASID bindings, every address space's
// IOTLB entries (vhost-vdpa's and the device's own), and per-queue counters. Plain data (u64
// values as hex strings) so it travels as JSON; the text form is rendered from the same data.
// Not a kernel file: it reads driver state the way a debugfs file would.

import { NlAttrs, NlMsgWriter } from '../../lib/netlink/index.js';
import { bitNames, constNames } from '../../lib/uapi/index.js';
import { VdpaSim } from '../../drivers/vdpa/vdpa_sim/vdpa_sim.js';
import type { VdpaDevice } from '../../drivers/vdpa/vdpa.js';
import type { VdpaVqState } from '../../drivers/vdpa/vdpa_ops.js';
import { VhostVdpa } from '../../drivers/vhost/vdpa.js';
import type { VhostIotlb } from '../../lib/iotlb/index.js';
import {
  type UapiProfile,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_ID_BLOCK,
  VIRTIO_ID_NET,
  dataView,
  vdpaAttrs,
} from '../../uapi/index.js';
import type { Host } from '../host/index.js';

export interface BitsDump {
  /** The value, hex. */
  value: string;
  names: string[];
}

export interface IotlbEntryDump {
  start: string;
  last: string;
  addr: string;
  perm: string;
}

export interface VqDump {
  index: number;
  /** Undefined where the parent has no groups. */
  group?: number;
  ready: boolean;
  lastAvail: number;
  /** vdpa_sim only from here on: the device's view of the ring. */
  size?: number;
  desc?: string;
  driver?: string;
  device?: string;
  /** The used index the device has written up to (vringh's last_used_idx). */
  lastUsed?: number;
  /** Buffers taken from the avail ring and not yet used. */
  inFlight?: number;
  /** Whether vhost-vdpa holds a kick / call eventfd for it (open vhost-vdpa devices). */
  kick?: boolean;
  call?: boolean;
  /** The device's per-queue counters (vstats names), where the class keeps any. */
  counters: Record<string, number>;
}

export interface AddressSpaceDump {
  asid: number;
  /** The groups bound to it. */
  groups: number[];
  /** What vhost-vdpa mapped for user space; undefined when it has not allocated this ASID. */
  vhost?: IotlbEntryDump[];
  /** The device's own IOTLB (vdpa_sim): its entries, or "passthrough" before any map. */
  device?: IotlbEntryDump[] | 'passthrough';
}

export interface DeviceDump {
  name: string;
  type: string;
  mgmtdev?: string;
  /** The bound vdpa bus driver. */
  driver?: string;
  /** vhost-vdpa's character device and whether it is open. */
  chardev?: string;
  open?: boolean;
  status: BitsDump;
  features: {
    device: BitsDump;
    /** As the driver set them and the device kept them. */
    driver: BitsDump;
    /** Once FEATURES_OK is set. */
    negotiated?: BitsDump;
  };
  /** vhost-vdpa's backend features: what GET_BACKEND_FEATURES offers and what was acked. */
  backendFeatures?: { offered: BitsDump; acked: BitsDump };
  ngroups: number;
  nas: number;
  vqs: VqDump[];
  addressSpaces: AddressSpaceDump[];
}

const hex = (v: bigint | number): string => `0x${v.toString(16)}`;
const utf8 = new TextDecoder();

/** The names a profile's headers give to values, for one device class. */
class Names {
  readonly status: Map<number, string>;
  readonly backend: Map<number, string>;
  readonly access: Map<number, string>;
  readonly ids: Map<number, string>;
  private readonly transport: Map<number, string>;
  private readonly classes = new Map<number, Map<number, string>>();

  constructor(readonly profile: UapiProfile) {
    this.status = constNames(profile, 'VIRTIO_CONFIG_S_');
    this.backend = constNames(profile, 'VHOST_BACKEND_F_');
    this.access = constNames(profile, 'VHOST_ACCESS_');
    this.ids = constNames(profile, 'VIRTIO_ID_');
    const ring = [...constNames(profile, 'VIRTIO_RING_F_')].map(([bit, n]): [number, string] => [bit, `RING_${n}`]);
    this.transport = new Map([...constNames(profile, 'VIRTIO_F_'), ...ring]);
  }

  /** Feature names of a device class: its own bits, then the transport's (which win a clash). */
  features(deviceId: number): Map<number, string> {
    let m = this.classes.get(deviceId);
    if (!m) {
      const prefix = deviceId === VIRTIO_ID_NET ? 'VIRTIO_NET_F_' : deviceId === VIRTIO_ID_BLOCK ? 'VIRTIO_BLK_F_' : undefined;
      m = new Map([...(prefix ? constNames(this.profile, prefix) : []), ...this.transport]);
      this.classes.set(deviceId, m);
    }
    return m;
  }
}

const bits = (value: bigint, names: ReadonlyMap<number, string>): BitsDump => ({ value: hex(value), names: bitNames(value, names) });

function statusBits(status: number, names: ReadonlyMap<number, string>): BitsDump {
  const out: string[] = [];
  for (let i = 0; i < 8; i++) if (status & (1 << i)) out.push(names.get(1 << i) ?? `bit_${i}`);
  return { value: hex(status), names: out };
}

function entries(tlb: VhostIotlb, names: Names): IotlbEntryDump[] {
  return [...tlb.overlapping()].map((m) => ({ start: hex(m.start), last: hex(m.last), addr: hex(m.addr), perm: names.access.get(m.perm) ?? hex(m.perm) }));
}

/** The class's vstats of queue `idx`, read through its own vstats writer. */
function counters(sim: VdpaSim, idx: number, profile: UapiProfile): Record<string, number> {
  const w = new NlMsgWriter();
  if (!sim.attr.getStats || sim.attr.getStats(sim, idx, w, {}) !== 0) return {};
  const A = vdpaAttrs(profile);
  const out: Record<string, number> = {};
  let name: string | undefined;
  for (const a of NlAttrs.parse(w.finish()).list) {
    if (a.type === A.VDPA_ATTR_DEV_VENDOR_ATTR_NAME) name = utf8.decode(a.payload).replace(/\0.*$/s, '');
    else if (a.type === A.VDPA_ATTR_DEV_VENDOR_ATTR_VALUE && name !== undefined) out[name] = Number(dataView(a.payload).getBigUint64(0, true));
  }
  return out;
}

/** What the parent's ops say of vq `idx`; the ring as vdpa_sim sees it; vhost-vdpa's eventfds. */
function dumpVq(vdev: VdpaDevice, idx: number, sim: VdpaSim | undefined, v: VhostVdpa | undefined, profile: UapiProfile): VqDump {
  const state: VdpaVqState = { availIndex: 0, usedIndex: 0 };
  vdev.config.getVqState(idx, state);
  const q: VqDump = { index: idx, ready: vdev.config.getVqReady(idx), lastAvail: state.availIndex, counters: {} };
  const group = vdev.config.getVqGroup?.(idx);
  if (group !== undefined) q.group = group;
  const sq = sim?.vqs[idx];
  if (sim && sq) {
    q.size = sq.num;
    q.desc = hex(sq.descAddr);
    q.driver = hex(sq.driverAddr);
    q.device = hex(sq.deviceAddr);
    q.lastUsed = (sq.vring.lastUsedIdx + sq.vring.completed) & 0xffff;
    q.inFlight = (sq.vring.lastAvailIdx - q.lastUsed) & 0xffff;
    q.counters = counters(sim, idx, profile);
  }
  const hq = v?.opened ? v.vqs[idx] : undefined;
  if (hq) {
    q.kick = hq.kick !== undefined;
    q.call = hq.callCtx !== undefined;
  }
  return q;
}

function dumpDevice(vdev: VdpaDevice, names: Names): DeviceDump {
  const ops = vdev.config;
  const id = ops.getDeviceId();
  const sim = vdev.parent instanceof VdpaSim ? vdev.parent : undefined;
  const v = vdev.drvdata instanceof VhostVdpa ? vdev.drvdata : undefined;
  const featureNames = names.features(id);
  const status = ops.getStatus();
  const driverFeatures = ops.getDriverFeatures();
  const d: DeviceDump = {
    name: vdev.name,
    type: names.ids.get(id)?.toLowerCase() ?? `id ${id}`,
    status: statusBits(status, names.status),
    features: { device: bits(ops.getDeviceFeatures(), featureNames), driver: bits(driverFeatures, featureNames) },
    ngroups: vdev.ngroups,
    nas: vdev.nas,
    vqs: [],
    addressSpaces: [],
  };
  if (vdev.mdev) d.mgmtdev = vdev.mdev.device.bus === undefined ? vdev.mdev.device.name : `${vdev.mdev.device.bus}/${vdev.mdev.device.name}`;
  if (vdev.driver) d.driver = vdev.driver.name;
  if (status & VIRTIO_CONFIG_S_FEATURES_OK) d.features.negotiated = bits(driverFeatures, featureNames);
  if (v) {
    d.chardev = `/dev/${v.name}`;
    d.open = v.opened;
    d.backendFeatures = { offered: bits(v.backendFeatures(), names.backend), acked: bits(v.vqs[0]?.ackedBackendFeatures ?? 0n, names.backend) };
  }
  for (let i = 0; i < vdev.nvqs; i++) d.vqs.push(dumpVq(vdev, i, sim, v, names.profile));
  for (let asid = 0; asid < vdev.nas; asid++) {
    const as: AddressSpaceDump = { asid, groups: [] };
    for (let g = 0; g < vdev.ngroups; g++) if ((sim?.asidOfGroup(g) ?? 0) === asid) as.groups.push(g);
    const vas = v?.as.get(asid);
    if (vas) as.vhost = entries(vas.iotlb, names);
    const tlb = sim?.iommu[asid];
    if (sim && tlb) as.device = sim.iommuPt[asid] ? 'passthrough' : entries(tlb, names);
    d.addressSpaces.push(as);
  }
  return d;
}

/** Every vDPA device of the host (or the one named), keyed by name; undefined for an unknown name. */
export function dumpHost(host: Host, dev?: string): Record<string, DeviceDump> | undefined {
  const names = new Names(host.profile.name);
  const devs = dev === undefined ? host.bus.allDevices() : [host.bus.findDevice(dev)];
  if (devs.some((d) => d === undefined)) return undefined;
  return Object.fromEntries(devs.map((d) => [(d as VdpaDevice).name, dumpDevice(d as VdpaDevice, names)]));
}

const named = (b: BitsDump): string => [b.value, ...b.names].join(' ');

function renderEntries(out: string[], what: string, e: IotlbEntryDump[] | 'passthrough' | undefined): void {
  if (e === undefined) return;
  if (e === 'passthrough') {
    out.push(`    ${what}: passthrough`);
    return;
  }
  out.push(`    ${what}: ${e.length} ${e.length === 1 ? 'entry' : 'entries'}`);
  for (const m of e) out.push(`      ${m.start}-${m.last} -> ${m.addr} ${m.perm}`);
}

/** The text form of a dump: one block per device. */
export function renderDump(dump: Record<string, DeviceDump>): string {
  const out: string[] = [];
  for (const d of Object.values(dump)) {
    const head = [`${d.name}: type ${d.type}`];
    if (d.mgmtdev !== undefined) head.push(`mgmtdev ${d.mgmtdev}`);
    head.push(`driver ${d.driver ?? 'none'}`);
    if (d.chardev !== undefined) head.push(`${d.chardev} ${d.open ? 'open' : 'closed'}`);
    out.push(head.join(' '));
    out.push(`  status ${named(d.status)}`);
    out.push(`  device_features ${named(d.features.device)}`);
    out.push(`  driver_features ${named(d.features.driver)}`);
    out.push(`  negotiated_features ${d.features.negotiated ? named(d.features.negotiated) : 'none (FEATURES_OK not set)'}`);
    if (d.backendFeatures) {
      out.push(`  backend_features offered ${named(d.backendFeatures.offered)}`);
      out.push(`  backend_features acked ${named(d.backendFeatures.acked)}`);
    }
    out.push(`  groups ${d.ngroups} address_spaces ${d.nas}`);
    for (const q of d.vqs) {
      const f = [`  vq ${q.index}:`];
      if (q.group !== undefined) f.push(`group ${q.group}`);
      f.push(`ready ${q.ready ? 'yes' : 'no'}`);
      if (q.size !== undefined) f.push(`size ${q.size} desc ${q.desc} driver ${q.driver} device ${q.device}`);
      f.push(`last_avail ${q.lastAvail}`);
      if (q.lastUsed !== undefined) f.push(`last_used ${q.lastUsed} in_flight ${q.inFlight}`);
      if (q.kick !== undefined) f.push(`kick ${q.kick ? 'yes' : 'no'} call ${q.call ? 'yes' : 'no'}`);
      out.push(f.join(' '));
      const c = Object.entries(q.counters);
      if (c.length) out.push(`    ${c.map(([k, n]) => `${k} ${n}`).join(', ')}`);
    }
    for (const as of d.addressSpaces) {
      out.push(`  asid ${as.asid}: groups ${as.groups.length ? as.groups.join(' ') : 'none'}`);
      renderEntries(out, 'vhost-vdpa iotlb', as.vhost);
      renderEntries(out, 'device iotlb', as.device);
    }
  }
  return out.length ? `${out.join('\n')}\n` : '';
}
