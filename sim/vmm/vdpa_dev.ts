// Models: QEMU hw/virtio/vdpa-dev.c, the generic vhost-vdpa-device-pci: realize (open vhostdev,
// GET_DEVICE_ID, GET_VRING_NUM against queue-size, GET_VQS_COUNT, GET_IOVA_RANGE, vhost_dev_init
// of one vhost dev over every vq, GET_CONFIG_SIZE, one config read), the device's features and
// config space passed through to the guest, vhost started on DRIVER_OK and stopped when it goes
// away. The start uses the spec-normal order (VDUSE needs it): every vring enabled before
// DRIVER_OK, then the config call, then each queue's call fd unmasked.
// Deviations: the transport is VirtIOPCIProxy with iommu_platform=off (so IOMMU_PLATFORM is hidden
// from the guest, as vhost_vdpa_device_get_features() does); vhost_dev_init is VhostVdpaDev's (no
// masked notifiers: no call fd is set before the first start); the VM is always running.

import { VIRTIO_CONFIG_S_DRIVER_OK, VIRTIO_F_IOMMU_PLATFORM, strerror } from '../../uapi/index.js';
import { VhostVdpa } from '../../lib/vhost_vdpa/index.js';
import type { GuestRam } from './memory.js';
import type { VmmPlatform } from './platform.js';
import { type VhostFrontend, VhostVdpaDev, VhostVdpaShared, vhostCall } from './vhost_vdpa.js';
import { GuestRamSpace, VirtQueue } from './virtio.js';
import { VirtioPciDevice } from './virtio_pci.js';

const bit = (n: number): bigint => 1n << BigInt(n);
/** QEMU's VIRTIO_QUEUE_MAX. */
const VIRTIO_QUEUE_MAX = 1024;

export interface VhostVdpaDeviceOptions {
  /** vhostdev=/dev/vhost-vdpa-N. */
  vhostdev: string;
  /** queue-size= (default: the device's maximum, VHOST_VDPA_GET_VRING_NUM). */
  queueSize?: number;
}

/** vhost_vdpa_device_get_u32(): the value, or QEMU's error text. */
function getU32(name: string, get: () => number): number | string {
  let v = 0;
  const r = vhostCall(() => (v = get()));
  return r ? `vhost-vdpa-device: ${name} failed: ${strerror(-r)}` : v;
}

/** struct VhostVdpaDevice: the guest's virtio device, its vhost dev and the device fd. */
export class VhostVdpaDevice extends VirtioPciDevice implements VhostFrontend {
  /** virtio-pci has guest-notifier masking; vdpa-dev has no mask op, so it unmasks after start. */
  readonly useGuestNotifierMask = true;
  readonly ramSpace: GuestRamSpace;
  readonly queues: readonly VirtQueue[];
  /** What the guest may negotiate: the vhost dev's features (VHOST_F_LOG_ALL included) but IOMMU_PLATFORM. */
  readonly hostFeatures: bigint;
  /** s->started: vhost runs. */
  started = false;
  /** Messages QEMU would print (error_report). */
  readonly log: string[] = [];
  /** vdev->config: the guest's view of the config space. */
  private readonly vdevConfig: Uint8Array;

  private constructor(
    platform: VmmPlatform,
    ram: GuestRam,
    readonly shared: VhostVdpaShared,
    readonly dev: VhostVdpaDev,
    /** v->vdev_id: the virtio device id the guest sees. */
    readonly deviceId: number,
    readonly queueSize: number,
    readonly configSize: number,
    /** s->config: QEMU's last read of the device's config space. */
    private deviceConfig: Uint8Array,
  ) {
    super(platform);
    this.ramSpace = new GuestRamSpace(ram);
    this.queues = Array.from({ length: dev.nvqs }, (_, i) => new VirtQueue(i, queueSize));
    this.hostFeatures = dev.features & ~bit(VIRTIO_F_IOMMU_PLATFORM);
    this.vdevConfig = new Uint8Array(configSize);
  }

  protected guestQueues(): readonly VirtQueue[] {
    return this.queues;
  }

  /** vhost_vdpa_device_realize(): the device, or the error QEMU would exit with. */
  static realize(platform: VmmPlatform, ram: GuestRam, opts: VhostVdpaDeviceOptions): VhostVdpaDevice | string {
    let fd: VhostVdpa;
    try {
      fd = VhostVdpa.open(platform.us, opts.vhostdev);
    } catch (e) {
      return `vhost-vdpa-device: ${(e as Error).message}`;
    }
    const fail = (msg: string): string => {
      vhostCall(() => fd.close());
      return msg;
    };
    const id = getU32('VHOST_VDPA_GET_DEVICE_ID', () => fd.getDeviceId());
    if (typeof id === 'string') return fail(id);
    const max = getU32('VHOST_VDPA_GET_VRING_NUM', () => fd.getVringNum());
    if (typeof max === 'string') return fail(max);
    const queueSize = opts.queueSize ?? 0;
    if (queueSize > max) return fail(`vhost-vdpa-device: invalid queue_size: ${queueSize} (max:${max})`);
    const nvqs = getU32('VHOST_VDPA_GET_VQS_COUNT', () => fd.getVqsCount());
    if (typeof nvqs === 'string') return fail(nvqs);
    if (!nvqs || nvqs > VIRTIO_QUEUE_MAX) return fail(`invalid number of virtqueues: ${nvqs} (max:${VIRTIO_QUEUE_MAX})`);
    let range = { first: 0n, last: 0n };
    const rr = vhostCall(() => (range = fd.getIovaRange()));
    if (rr) return fail(`vhost-vdpa-device: get iova range failed: ${strerror(-rr)}`);
    const shared = new VhostVdpaShared(fd, range, ram);
    const dev = new VhostVdpaDev(shared, platform, 0, nvqs, false, undefined);
    dev.vqIndexEnd = nvqs;
    const ri = dev.init();
    if (ri) return fail(`vhost-vdpa-device: vhost initialization failed: ${strerror(-ri)}`);
    const configSize = getU32('VHOST_VDPA_GET_CONFIG_SIZE', () => fd.getConfigSize());
    if (typeof configSize === 'string') return fail(configSize);
    let config: Uint8Array = new Uint8Array(configSize);
    if (vhostCall(() => (config = fd.getConfig(0, configSize)))) return fail('vhost-vdpa-device: get config failed');
    return new VhostVdpaDevice(platform, ram, shared, dev, id, queueSize || max, configSize, config);
  }

  /** vhost_vdpa_device_unrealize(): vhost stopped, vhost_dev_cleanup(), the fd closed. */
  unrealize(): void {
    this.vhostStatus(0);
    this.status = 0;
    this.shared.ram.unregister(this.shared);
    vhostCall(() => this.shared.fd.close());
  }

  // ---- virtio_config_ops (the guest's view) ----------------------------------------------------

  /** virtio_config_modern_read*(): bytes past config_len read as all-ones. */
  get(offset: number, buf: Uint8Array): void {
    this.getConfig();
    const n = Math.max(0, Math.min(buf.length, this.configSize - offset));
    buf.set(this.vdevConfig.subarray(offset, offset + n));
    buf.fill(0xff, n);
  }

  /** vhost_vdpa_device_get_config(): the whole config read into s->config, then the guest's copy. */
  private getConfig(): void {
    if (vhostCall(() => (this.deviceConfig = this.shared.fd.getConfig(0, this.configSize)))) {
      this.log.push('get device config space failed');
      return;
    }
    this.vdevConfig.set(this.deviceConfig);
  }

  /**
   * virtio_config_modern_write*() + vhost_vdpa_device_set_config(): the guest's bytes land in
   * vdev->config, but what QEMU writes to the device is s->config, its last read of the device.
   */
  set(offset: number, buf: Uint8Array): void {
    if (offset + buf.length > this.configSize) return;
    this.vdevConfig.set(buf, offset);
    if (vhostCall(() => this.shared.fd.setConfig(0, this.deviceConfig))) this.log.push('set device config space failed');
  }

  /** virtio_set_status(): the device's set_status hook sees the new status first. */
  setStatus(status: number): void {
    if (status === 0) {
      this.reset();
      return;
    }
    this.vhostStatus(status);
    this.status = status;
  }

  /** virtio_reset(): vhost stopped, features and queues forgotten. */
  reset(): void {
    this.vhostStatus(0);
    this.status = 0;
    this.guestFeatures = 0n;
    for (const q of this.queues) q.reset();
  }

  getFeatures(): bigint {
    return this.hostFeatures;
  }

  // ---- vhost -----------------------------------------------------------------------------------

  /** vhost_vdpa_device_set_status(): start on DRIVER_OK, stop when it goes away. */
  private vhostStatus(status: number): void {
    const shouldStart = (status & VIRTIO_CONFIG_S_DRIVER_OK) !== 0;
    if (this.started === shouldStart) return;
    if (shouldStart) this.start();
    else this.stop();
  }

  /** vhost_vdpa_device_start(): notifiers, vhost_dev_start(vrings = true), the call fds unmasked. */
  private start(): void {
    const nvqs = this.dev.nvqs;
    let r = 0;
    for (let i = 0; i < nvqs && r >= 0; i++) r = this.pci.setHostNotifier(i);
    if (r < 0) return this.startFailed('Error enabling host notifiers', r);
    r = this.pci.setGuestNotifiers();
    const config = r < 0 ? r : this.pci.setConfigNotifier(() => this.configCallback?.());
    if (typeof config === 'number') return this.startFailed('Error binding guest notifier', config);
    this.dev.ackedFeatures = this.guestFeatures;
    r = this.dev.start(this, true);
    if (r < 0) return this.startFailed('Error starting vhost', r);
    // vhost_start_config_intr(): the config call, then one config interrupt for the guest.
    if (!vhostCall(() => this.shared.fd.setConfigCall(config.fd))) config.write(1n);
    this.started = true;
    for (let i = 0; i < nvqs; i++) {
      r = this.dev.virtqueueUnmask(i);
      if (r < 0) this.log.push(`vhost_set_vring_call failed ${-r}`);
    }
  }

  /** A failed start unwinds what it did; the guest is left with a device that never answers. */
  private startFailed(what: string, err: number): void {
    if (this.dev.started) this.dev.stop();
    this.clearNotifiers();
    this.log.push(`vhost-vdpa-device: start failed: ${what}: ${strerror(-err)}`);
  }

  /** vhost_vdpa_device_stop(): vhost_dev_stop(vrings = false), the config call dropped, notifiers gone. */
  private stop(): void {
    this.started = false;
    this.dev.stop();
    // vhost_stop_config_intr().
    vhostCall(() => this.shared.fd.setConfigCall(-1));
    this.clearNotifiers();
  }

  private clearNotifiers(): void {
    this.pci.clearGuestNotifiers();
    for (let i = 0; i < this.dev.nvqs; i++) this.pci.clearHostNotifier(i);
  }
}
