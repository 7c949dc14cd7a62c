// Models: drivers/vdpa/vdpa.c, the vDPA bus: device allocation and registration with the
// registration-time checks, the bus match/probe/remove, driver registration, sysfs
// bind/unbind/driver_override, management devices, and the include/linux/vdpa.h helpers that
// wrap config ops (vdpa_reset, vdpa_set_features, vdpa_get_config, ...).
// Deviations: one bus per simulated host (the kernel's is global); device names are the bus
// keys; removal does not wait for users (a driver that must, like vhost_vdpa, finishes its own
// teardown when its last file closes). No cf_lock: the model is single-threaded.

import { EBUSY, EEXIST, EINVAL, ENODEV } from '../../uapi/index.js';
import { Ida } from '../../lib/ida.js';
import type { IommuDevice } from '../iommu/iommu.js';
import type { VdpaConfigOps, VdpaDevSetConfig } from './vdpa_ops.js';

export interface VdpaDriver {
  /** Driver name as in /sys/bus/vdpa/drivers (e.g. "vhost_vdpa"). */
  readonly name: string;
  probe(vdev: VdpaDevice): number;
  remove(vdev: VdpaDevice): void;
}

export interface VdpaMgmtDevOps {
  devAdd(mdev: VdpaMgmtDev, name: string, config: VdpaDevSetConfig): number;
  devDel(mdev: VdpaMgmtDev, vdev: VdpaDevice): void;
  devSetAttr?(mdev: VdpaMgmtDev, vdev: VdpaDevice, config: VdpaDevSetConfig): number;
}

/** struct vdpa_mgmt_dev. */
export interface VdpaMgmtDev {
  /** dev_name() of the management device and its bus, if it sits on one (e.g. "pci"). */
  readonly device: { readonly name: string; readonly bus?: string };
  readonly ops: VdpaMgmtDevOps;
  /** Virtio device ids it can create (id_table). */
  readonly idTable: readonly number[];
  /** Bit per VDPA_ATTR_* accepted by dev_add. */
  readonly configAttrMask: bigint;
  readonly supportedFeatures: bigint;
  readonly maxSupportedVqs: number;
}

export interface VdpaAllocOptions {
  ops: VdpaConfigOps;
  ngroups: number;
  nas: number;
  /** Device name; default vdpa<index>. */
  name?: string;
  useVa: boolean;
}

/** struct vdpa_device. */
export class VdpaDevice {
  nvqs = 0;
  featuresValid = false;
  mdev: VdpaMgmtDev | undefined;
  driverOverride: string | undefined;
  driver: VdpaDriver | undefined;
  /** vdpa_get_drvdata(): the bound driver's per-device state. */
  drvdata: unknown;
  /** The parent structure this device is embedded in (what container_of() finds). */
  parent: unknown;
  /** vdpa_get_dma_dev(): the device that does DMA, for parents that rely on the platform IOMMU. */
  dmaDev: IommuDevice | undefined;
  registered = false;
  private refs = 1;

  constructor(
    readonly bus: VdpaBus,
    readonly index: number,
    readonly name: string,
    readonly config: VdpaConfigOps,
    readonly ngroups: number,
    readonly nas: number,
    readonly useVa: boolean,
  ) {}

  /** get_device(). */
  get(): this {
    this.refs++;
    return this;
  }

  /** put_device(): the last reference releases the device (vdpa_release_dev). */
  put(): void {
    if (--this.refs > 0) return;
    this.config.free?.();
    this.bus.releaseIndex(this.index);
  }
}

/** The vdpa bus of one host. */
export class VdpaBus {
  /** In registration order (bus_for_each_dev order). */
  private readonly devices: VdpaDevice[] = [];
  private readonly drivers: VdpaDriver[] = [];
  private readonly mgmtdevs: VdpaMgmtDev[] = [];
  private readonly indexIda = new Ida();

  /** __vdpa_alloc_device(): a device ready to register, or -EINVAL/-ENOSPC. */
  allocDevice(opts: VdpaAllocOptions): VdpaDevice | number {
    const { ops } = opts;
    if (!ops) return -EINVAL;
    if (!!ops.dmaMap !== !!ops.dmaUnmap) return -EINVAL;
    // use_va only works for devices with an on-chip IOMMU.
    if (opts.useVa && !(ops.dmaMap || ops.setMap)) return -EINVAL;
    const index = this.indexIda.alloc();
    if (index < 0) return index;
    return new VdpaDevice(this, index, opts.name ?? `vdpa${index}`, ops, opts.ngroups, opts.nas, opts.useVa);
  }

  releaseIndex(index: number): void {
    this.indexIda.free(index);
  }

  /** __vdpa_register_device(): -EEXIST for a taken name; then binds a driver (device_add). */
  private add(vdev: VdpaDevice, nvqs: number): number {
    vdev.nvqs = nvqs;
    if (this.findDevice(vdev.name)) return -EEXIST;
    this.devices.push(vdev);
    vdev.registered = true;
    this.probeDevice(vdev);
    return 0;
  }

  /** _vdpa_register_device(): for management-device created devices; -EINVAL without mdev. */
  registerManagedDevice(vdev: VdpaDevice, nvqs: number): number {
    if (!vdev.mdev) return -EINVAL;
    return this.add(vdev, nvqs);
  }

  /** vdpa_register_device(): legacy, not manageable by netlink. */
  registerDevice(vdev: VdpaDevice, nvqs: number): number {
    return this.add(vdev, nvqs);
  }

  /** device_unregister(): unbinds, removes from the bus, drops the bus reference. */
  unregisterDevice(vdev: VdpaDevice): void {
    const i = this.devices.indexOf(vdev);
    if (i < 0) return;
    this.unbindDevice(vdev);
    this.devices.splice(i, 1);
    vdev.registered = false;
    vdev.put();
  }

  findDevice(name: string): VdpaDevice | undefined {
    return this.devices.find((d) => d.name === name);
  }

  allDevices(): readonly VdpaDevice[] {
    return this.devices;
  }

  /** vdpa_dev_match(): driver_override names the only driver; otherwise every driver matches. */
  private match(vdev: VdpaDevice, drv: VdpaDriver): boolean {
    return vdev.driverOverride === undefined || vdev.driverOverride === drv.name;
  }

  /** vdpa_dev_probe(): max vq size must be >= min, then the driver's probe. */
  private probeWith(vdev: VdpaDevice, drv: VdpaDriver): number {
    const max = vdev.config.getVqNumMax();
    const min = vdev.config.getVqNumMin?.() ?? 1;
    if (max < min) return -EINVAL;
    const r = drv.probe(vdev);
    if (r === 0) vdev.driver = drv;
    return r;
  }

  /** bus_probe_device(): the first matching driver whose probe succeeds binds. */
  private probeDevice(vdev: VdpaDevice): void {
    for (const drv of this.drivers) {
      if (this.match(vdev, drv) && this.probeWith(vdev, drv) === 0) return;
    }
  }

  /** device_release_driver(). */
  unbindDevice(vdev: VdpaDevice): void {
    const drv = vdev.driver;
    if (!drv) return;
    drv.remove(vdev);
    vdev.driver = undefined;
    vdev.drvdata = undefined;
  }

  /** sysfs bind: -ENODEV for an unknown device or driver, -EBUSY if bound, else the probe result. */
  bindDevice(vdev: VdpaDevice, driverName: string): number {
    const drv = this.drivers.find((d) => d.name === driverName);
    if (!drv || !this.match(vdev, drv)) return -ENODEV;
    if (vdev.driver) return -EBUSY;
    return this.probeWith(vdev, drv);
  }

  /** __vdpa_register_driver(): also binds every unbound device it matches. */
  registerDriver(drv: VdpaDriver): number {
    if (this.drivers.some((d) => d.name === drv.name)) return -EBUSY;
    this.drivers.push(drv);
    for (const vdev of this.devices) if (!vdev.driver && this.match(vdev, drv)) this.probeWith(vdev, drv);
    return 0;
  }

  unregisterDriver(drv: VdpaDriver): void {
    for (const vdev of this.devices) if (vdev.driver === drv) this.unbindDevice(vdev);
    const i = this.drivers.indexOf(drv);
    if (i >= 0) this.drivers.splice(i, 1);
  }

  driverNames(): string[] {
    return this.drivers.map((d) => d.name);
  }

  /** vdpa_mgmtdev_register(). */
  mgmtdevRegister(mdev: VdpaMgmtDev): number {
    if (!mdev.device || !mdev.ops || !mdev.ops.devAdd || !mdev.ops.devDel) return -EINVAL;
    this.mgmtdevs.push(mdev);
    return 0;
  }

  /** vdpa_mgmtdev_unregister(): deletes every device it created. */
  mgmtdevUnregister(mdev: VdpaMgmtDev): void {
    const i = this.mgmtdevs.indexOf(mdev);
    if (i >= 0) this.mgmtdevs.splice(i, 1);
    for (const vdev of [...this.devices]) if (vdev.mdev === mdev) mdev.ops.devDel(mdev, vdev);
  }

  allMgmtdevs(): readonly VdpaMgmtDev[] {
    return this.mgmtdevs;
  }
}

// ---- include/linux/vdpa.h helpers -----------------------------------------------------------

/** vdpa_reset(vdev, flags): compat_reset when the parent has it and flags are set. */
export function vdpaReset(vdev: VdpaDevice, flags: number): number {
  const ops = vdev.config;
  vdev.featuresValid = false;
  return ops.compatReset && flags ? ops.compatReset(flags) : ops.reset();
}

/** vdpa_set_features(): features count as set even when the parent refuses them. */
export function vdpaSetFeatures(vdev: VdpaDevice, features: bigint): number {
  vdev.featuresValid = true;
  return vdev.config.setDriverFeatures(features);
}

/** vdpa_get_config(): a config read before any SET_FEATURES assumes a legacy guest (features 0). */
export function vdpaGetConfig(vdev: VdpaDevice, offset: number, buf: Uint8Array): void {
  if (!vdev.featuresValid) vdpaSetFeatures(vdev, 0n);
  vdev.config.getConfig(offset, buf);
}

export function vdpaSetConfig(vdev: VdpaDevice, offset: number, buf: Uint8Array): void {
  vdev.config.setConfig(offset, buf);
}

export function vdpaSetStatus(vdev: VdpaDevice, status: number): void {
  vdev.config.setStatus(status);
}

/** Bits of a classes mask from an id table (vdpa_mgmtdev_get_classes); ids above 63 are skipped. */
export function mgmtdevClasses(mdev: VdpaMgmtDev): { classes: bigint; count: number } {
  let classes = 0n;
  let count = 0;
  for (const id of mdev.idTable) {
    if (id > 63) continue;
    classes |= 1n << BigInt(id);
    count++;
  }
  return { classes, count };
}
