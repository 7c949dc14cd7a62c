// Models: the part of QEMU hw/virtio/virtio-pci.c every vhost frontend shares: the queue set up
// by the guest's common-config writes (size, ring addresses, MSI-X vector, enable), the notify
// register, host notifiers (virtio_pci_ioeventfd_assign() behind virtio_bus_set_host_notifier():
// the eventfd KVM signals on a notify write) and guest notifiers (virtio_pci_set_guest_notifiers()
// with KVM irqfds: a queue's eventfd injects its vector, the config notifier the config vector).
// Deviations: not register-level PCI (the guest calls these through VirtioConfigOps); one MSI-X
// vector per queue plus one for config; no vector masking (an irqfd is assigned for as long as
// its notifier exists).

import { EINVAL, VIRTIO_CONFIG_S_FEATURES_OK } from '../../uapi/index.js';
import type { UserEventFd } from '../../lib/vhost_vdpa/index.js';
import type { VirtioConfigOps, VringGpa } from '../guest/virtio.js';
import type { VmmPlatform } from './platform.js';
import type { VirtQueue } from './virtio.js';

/** An eventfd wired to the guest through an irqfd. */
interface GuestNotifier {
  fd: UserEventFd;
  deassign: () => void;
}

/** The transport of one virtio device: its queues as the guest indexes them, and their notifiers. */
export class VirtIOPCIProxy {
  private readonly guestNotifiers = new Map<VirtQueue, GuestNotifier>();
  private configNotifier: GuestNotifier | undefined;
  /** What the guest's notify of each queue rings (the host notifier's ioeventfd). */
  private readonly doorbells: ((() => void) | undefined)[] = [];

  constructor(
    private readonly platform: VmmPlatform,
    /** The device's queues as the guest indexes them (they may depend on negotiated features). */
    private readonly queues: () => readonly VirtQueue[],
  ) {}

  /** Queue `index` programmed by the guest: size, ring GPAs, vector; 0 or -EINVAL. */
  setupVq(index: number, ring: VringGpa, callback: () => void): number {
    const q = this.queues()[index];
    if (!q || ring.num > q.numMax || ring.num & (ring.num - 1)) return -EINVAL;
    q.num = ring.num;
    q.desc = ring.desc;
    q.avail = ring.avail;
    q.used = ring.used;
    q.vector = callback;
    q.enabled = true;
    return 0;
  }

  /** Every queue's vector released. */
  delVqs(): void {
    for (const q of this.queues()) q.vector = undefined;
  }

  /** The notify register: KVM signals the queue's host notifier; before one exists, nothing listens. */
  notify(index: number): void {
    this.doorbells[index]?.();
  }

  /** virtio_bus_set_host_notifier(idx, true): an eventfd for the queue and its ioeventfd; 0 or -errno. */
  setHostNotifier(idx: number): number {
    const q = this.queues()[idx] as VirtQueue;
    const fd = this.platform.us.eventfd(0, 0);
    if (typeof fd === 'number') return fd;
    q.hostNotifier = fd;
    const bell = this.platform.ioeventfd(fd.fd);
    if (typeof bell === 'number') return bell;
    this.doorbells[idx] = bell;
    return 0;
  }

  /** virtio_bus_set_host_notifier(idx, false): the doorbell silenced, the eventfd closed. */
  clearHostNotifier(idx: number): void {
    this.doorbells[idx] = undefined;
    const q = this.queues()[idx];
    q?.hostNotifier?.close();
    if (q) q.hostNotifier = undefined;
  }

  /** virtio_pci_set_guest_notifiers(true) for the queues: an irqfd each, routed to its vector. */
  setGuestNotifiers(): number {
    for (const q of this.queues()) {
      const n = this.irqfd(() => q.vector?.());
      if (typeof n === 'number') return n;
      q.guestNotifier = n.fd;
      this.guestNotifiers.set(q, n);
    }
    return 0;
  }

  /** The config notifier (vdev->config_notifier) with its irqfd to the config vector; its eventfd or -errno. */
  setConfigNotifier(inject: () => void): UserEventFd | number {
    const n = this.irqfd(inject);
    if (typeof n === 'number') return n;
    this.configNotifier = n;
    return n.fd;
  }

  /** virtio_pci_set_guest_notifiers(false): every irqfd deassigned and its eventfd closed, config's too. */
  clearGuestNotifiers(): void {
    for (const [q, n] of this.guestNotifiers) {
      n.deassign();
      n.fd.close();
      q.guestNotifier = undefined;
    }
    this.guestNotifiers.clear();
    if (this.configNotifier) {
      this.configNotifier.deassign();
      this.configNotifier.fd.close();
      this.configNotifier = undefined;
    }
  }

  private irqfd(inject: () => void): GuestNotifier | number {
    const fd = this.platform.us.eventfd(0, 0);
    if (typeof fd === 'number') return fd;
    const deassign = this.platform.irqfd(fd.fd, inject);
    if (typeof deassign === 'number') {
      fd.close();
      return deassign;
    }
    return { fd, deassign };
  }
}

/**
 * QEMU's VirtIODevice as the guest reaches it over virtio-pci: status, negotiated features, the
 * queues and notify register through the proxy, the config interrupt. A device class supplies
 * its config space, features, status handling and queues.
 */
export abstract class VirtioPciDevice implements VirtioConfigOps {
  guestFeatures = 0n;
  status = 0;
  protected readonly pci: VirtIOPCIProxy;
  protected configCallback: (() => void) | undefined;

  constructor(platform: VmmPlatform) {
    this.pci = new VirtIOPCIProxy(platform, () => this.guestQueues());
  }

  /** The queues as the guest indexes them. */
  protected abstract guestQueues(): readonly VirtQueue[];
  abstract get(offset: number, buf: Uint8Array): void;
  abstract set(offset: number, buf: Uint8Array): void;
  abstract getFeatures(): bigint;
  abstract setStatus(status: number): void;
  abstract reset(): void;

  /** virtio_set_features(): refused once FEATURES_OK is set; bits the device lacks are dropped. */
  finalizeFeatures(features: bigint): number {
    if (this.status & VIRTIO_CONFIG_S_FEATURES_OK) return -EINVAL;
    this.guestFeatures = features & this.getFeatures();
    this.featuresSet(this.guestFeatures);
    return 0;
  }

  /** The device class's set_features hook. */
  protected featuresSet(_features: bigint): void {}

  generation(): number {
    return 0;
  }

  getStatus(): number {
    return this.status;
  }

  queueMaxSize(index: number): number {
    return this.guestQueues()[index]?.numMax ?? 0;
  }

  setupVq(index: number, ring: VringGpa, callback: () => void): number {
    return this.pci.setupVq(index, ring, callback);
  }

  delVqs(): void {
    this.pci.delVqs();
  }

  /** The notify register: KVM signals the queue's host notifier; before vhost runs, nothing listens. */
  notify(index: number): void {
    this.pci.notify(index);
  }

  setConfigCallback(callback: (() => void) | undefined): void {
    this.configCallback = callback;
  }
}
