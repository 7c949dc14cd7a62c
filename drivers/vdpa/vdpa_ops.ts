// Models: include/linux/vdpa.h: struct vdpa_config_ops (every op, optional ones optional), the
// callback, vq state and notification-area types, and the vdpa_dev_set_config a management
// device's dev_add receives.
// Proposal ops (not in any tree, used only under the proposal-lm-log profile): log_start/log_stop.
// Deviations: ops are closures over the parent device rather than functions taking the
// vdpa_device; a config buffer is a Uint8Array (its length is the C `len`).

import type { EventFdCtx } from '../../lib/eventfd.js';
import type { VhostIotlb } from '../../lib/iotlb/index.js';
import type { AddressSpace } from '../../lib/mm/index.js';
import type { ExtAck, NlMsgWriter } from '../../lib/netlink/index.js';

/** struct vdpa_callback: what the parent calls on a used-buffer or config notification. */
export interface VdpaCallback {
  callback: ((priv: unknown) => void) | undefined;
  private: unknown;
  /** An eventfd equivalent to calling callback (parents may signal it directly). */
  trigger: EventFdCtx | undefined;
}

export const NO_CALLBACK: VdpaCallback = Object.freeze({ callback: undefined, private: undefined, trigger: undefined });

/**
 * struct vdpa_vq_state. The kernel's union aliases split.avail_index with the packed ring's
 * {last_avail_idx:15, last_avail_counter:1}; both are kept here in vhost's packed encoding
 * (bit 15 = wrap counter), which makes the split view the same number.
 */
export interface VdpaVqState {
  availIndex: number;
  /** Packed rings only. */
  usedIndex: number;
}

/** struct vdpa_notification_area: the doorbell of a vq, at a physical address. */
export interface VdpaNotificationArea {
  addr: number;
  size: number;
}

/** struct vdpa_iova_range (inclusive). */
export interface VdpaIovaRange {
  first: bigint;
  last: bigint;
}

/** VDPA_RESET_F_CLEAN_MAP: the parent drops its mappings on (compat) reset. */
export const VDPA_RESET_F_CLEAN_MAP = 1;

export interface VdpaConfigOps {
  setVqAddress(idx: number, descArea: bigint, driverArea: bigint, deviceArea: bigint): number;
  setVqNum(idx: number, num: number): void;
  kickVq(idx: number): void;
  kickVqWithData?(data: number): void;
  setVqCb(idx: number, cb: VdpaCallback): void;
  setVqReady(idx: number, ready: boolean): void;
  getVqReady(idx: number): boolean;
  setVqState(idx: number, state: VdpaVqState): number;
  getVqState(idx: number, state: VdpaVqState): number;
  getVendorVqStats?(idx: number, msg: NlMsgWriter, extack: ExtAck): number;
  getVqNotification?(idx: number): VdpaNotificationArea;
  getVqIrq?(idx: number): number;
  getVqSize?(idx: number): number;
  getVqAlign(): number;
  getVqGroup?(idx: number): number;
  getVqDescGroup?(idx: number): number;
  getDeviceFeatures(): bigint;
  getBackendFeatures?(): bigint;
  setDriverFeatures(features: bigint): number;
  getDriverFeatures(): bigint;
  setConfigCb(cb: VdpaCallback): void;
  getVqNumMin?(): number;
  getVqNumMax(): number;
  getDeviceId(): number;
  getVendorId(): number;
  getStatus(): number;
  setStatus(status: number): void;
  reset(): number;
  compatReset?(flags: number): number;
  suspend?(): number;
  resume?(): number;
  getConfigSize(): number;
  getConfig(offset: number, buf: Uint8Array): void;
  setConfig(offset: number, buf: Uint8Array): void;
  getGeneration?(): number;
  getIovaRange?(): VdpaIovaRange;
  setMap?(asid: number, iotlb: VhostIotlb): number;
  dmaMap?(asid: number, iova: bigint, size: bigint, pa: bigint, perm: number, opaque: unknown): number;
  dmaUnmap?(asid: number, iova: bigint, size: bigint): number;
  resetMap?(asid: number): number;
  setGroupAsid?(group: number, asid: number): number;
  /**
   * NOT UPSTREAM (proposal-lm-log): start logging every device write to memory into the bitmap
   * of `size` bytes at `iova` of address space `asid` (vhost log layout: one bit per 4 KiB
   * page); a second call moves the bitmap. 0 or -errno.
   */
  logStart?(asid: number, iova: bigint, size: bigint): number;
  /** NOT UPSTREAM (proposal-lm-log): stop logging; the device no longer writes the bitmap. */
  logStop?(): number;
  bindMm?(mm: AddressSpace): number;
  unbindMm?(): void;
  free?(): void;
}

/** struct vdpa_dev_set_config: what `vdpa dev add` provisioned; mask has a bit per VDPA_ATTR_*. */
export interface VdpaDevSetConfig {
  deviceFeatures: bigint;
  net: { mac: Uint8Array; mtu: number; maxVqPairs: number };
  mask: bigint;
}

export const emptySetConfig = (): VdpaDevSetConfig => ({
  deviceFeatures: 0n,
  net: { mac: new Uint8Array(6), mtu: 0, maxVqPairs: 0 },
  mask: 0n,
});
