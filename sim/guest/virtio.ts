// Models: include/linux/virtio_config.h (struct virtio_config_ops) and drivers/virtio/virtio.c
// (virtio_dev_probe's status and feature handshake), the guest kernel's view of a virtio device.
// The transport (virtio-pci in a real guest) is the VMM's business: it implements
// VirtioConfigOps, delivers queue interrupts to the callbacks given to setupVq, and config
// interrupts to the config callback.
// Deviations: one interrupt callback per queue (MSI-X style), no legacy interface, no
// virtio_device_freeze/restore.

import {
  ENODEV,
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FAILED,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_F_VERSION_1,
} from '../../uapi/index.js';

/** Guest-physical addresses of one split ring and its size. */
export interface VringGpa {
  num: number;
  desc: number;
  avail: number;
  used: number;
}

/** struct virtio_config_ops, as the transport offers it to drivers. */
export interface VirtioConfigOps {
  /** get(): reads device config space. */
  get(offset: number, buf: Uint8Array): void;
  /** set(): writes device config space. */
  set(offset: number, buf: Uint8Array): void;
  /** generation(): the config generation counter. */
  generation(): number;
  getStatus(): number;
  setStatus(status: number): void;
  /** reset(): the device is reset when this returns (status reads 0). */
  reset(): void;
  /** get_features(): every feature bit the device offers. */
  getFeatures(): bigint;
  /** finalize_features(): writes the driver's features; 0 or -errno. */
  finalizeFeatures(features: bigint): number;
  /** The largest size queue `index` accepts; 0 when the queue does not exist. */
  queueMaxSize(index: number): number;
  /** find_vqs() for one queue: size, ring addresses, enable; `callback` runs on its interrupt. */
  setupVq(index: number, ring: VringGpa, callback: () => void): number;
  /** del_vqs(): every queue disabled and its interrupt released. */
  delVqs(): void;
  /** The queue notification (vp_notify()). */
  notify(index: number): void;
  /** The config-change interrupt handler. */
  setConfigCallback(callback: (() => void) | undefined): void;
}

const bit = (n: number): bigint => 1n << BigInt(n);

/** struct virtio_device: a transport plus what the core keeps about the device. */
export class VirtioDevice {
  /** Negotiated features (vdev->features). */
  features = 0n;

  constructor(
    readonly id: number,
    readonly config: VirtioConfigOps,
  ) {}

  hasFeature(fbit: number): boolean {
    return (this.features & bit(fbit)) !== 0n;
  }

  addStatus(status: number): void {
    this.config.setStatus(this.config.getStatus() | status);
  }

  /**
   * virtio_dev_probe()'s handshake up to FEATURES_OK: reset, ACKNOWLEDGE, DRIVER, features =
   * device ∩ driver, FEATURES_OK and its read-back. 0, or -ENODEV with FAILED set when the device
   * refuses the features or offers no VERSION_1.
   */
  negotiate(driverFeatures: bigint): number {
    this.config.reset();
    this.addStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE);
    this.addStatus(VIRTIO_CONFIG_S_DRIVER);
    const device = this.config.getFeatures();
    this.features = device & driverFeatures;
    // This model has no legacy (transitional) path.
    if (!(device & bit(VIRTIO_F_VERSION_1))) return this.fail();
    if (this.config.finalizeFeatures(this.features) < 0) return this.fail();
    this.addStatus(VIRTIO_CONFIG_S_FEATURES_OK);
    if (!(this.config.getStatus() & VIRTIO_CONFIG_S_FEATURES_OK)) return this.fail();
    return 0;
  }

  /** virtio_device_ready(): DRIVER_OK. */
  ready(): void {
    this.addStatus(VIRTIO_CONFIG_S_DRIVER_OK);
  }

  private fail(): number {
    this.addStatus(VIRTIO_CONFIG_S_FAILED);
    return -ENODEV;
  }

  /** virtio_cread8/16/32 (little-endian: VERSION_1). */
  cread(offset: number, size: 1 | 2 | 4): number {
    const b = new Uint8Array(size);
    this.config.get(offset, b);
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    return size === 1 ? v.getUint8(0) : size === 2 ? v.getUint16(0, true) : v.getUint32(0, true);
  }
}
