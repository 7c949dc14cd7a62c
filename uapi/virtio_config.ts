// Models: include/uapi/linux/virtio_config.h (upstream ~6.17; Linux 6.1 differences marked)
// Deviations: none.

import { consts, defineHeader } from './header_spec.js';
import { UPSTREAM_ONLY } from './profile.js';

/** Device status bits (virtio 1.x §2.1). */
export const VIRTIO_CONFIG_S_ACKNOWLEDGE = 1;
export const VIRTIO_CONFIG_S_DRIVER = 2;
export const VIRTIO_CONFIG_S_DRIVER_OK = 4;
export const VIRTIO_CONFIG_S_FEATURES_OK = 8;
export const VIRTIO_CONFIG_S_NEEDS_RESET = 0x40;
export const VIRTIO_CONFIG_S_FAILED = 0x80;

/** Transport feature range; Linux 6.1 ends it at 41, upstream at 42 (ADMIN_VQ). */
export const VIRTIO_TRANSPORT_F_START = 28;
export const VIRTIO_TRANSPORT_F_END = 42;

export const VIRTIO_F_NOTIFY_ON_EMPTY = 24;
export const VIRTIO_F_ANY_LAYOUT = 27;
export const VIRTIO_F_VERSION_1 = 32;
export const VIRTIO_F_ACCESS_PLATFORM = 33;
export const VIRTIO_F_IOMMU_PLATFORM = VIRTIO_F_ACCESS_PLATFORM;
export const VIRTIO_F_RING_PACKED = 34;
export const VIRTIO_F_IN_ORDER = 35;
export const VIRTIO_F_ORDER_PLATFORM = 36;
export const VIRTIO_F_SR_IOV = 37;
export const VIRTIO_F_NOTIFICATION_DATA = 38;
export const VIRTIO_F_NOTIF_CONFIG_DATA = 39;
export const VIRTIO_F_RING_RESET = 40;
export const VIRTIO_F_ADMIN_VQ = 41;

export const virtioConfigHeader = defineHeader('linux/virtio_config.h', [
  consts(
    {
      VIRTIO_CONFIG_S_ACKNOWLEDGE,
      VIRTIO_CONFIG_S_DRIVER,
      VIRTIO_CONFIG_S_DRIVER_OK,
      VIRTIO_CONFIG_S_FEATURES_OK,
      VIRTIO_CONFIG_S_NEEDS_RESET,
      VIRTIO_CONFIG_S_FAILED,
    },
    { hex: true, comment: 'Status byte for guest to report progress, and synchronize features.' },
  ),
  consts(
    { VIRTIO_TRANSPORT_F_START, VIRTIO_TRANSPORT_F_END },
    { values: { VIRTIO_TRANSPORT_F_END: { 'linux-6.1': 41 } } },
  ),
  consts({
    VIRTIO_F_NOTIFY_ON_EMPTY,
    VIRTIO_F_ANY_LAYOUT,
    VIRTIO_F_VERSION_1,
    VIRTIO_F_ACCESS_PLATFORM,
    VIRTIO_F_IOMMU_PLATFORM,
    VIRTIO_F_RING_PACKED,
    VIRTIO_F_IN_ORDER,
    VIRTIO_F_ORDER_PLATFORM,
    VIRTIO_F_SR_IOV,
  }, { expr: { VIRTIO_F_IOMMU_PLATFORM: 'VIRTIO_F_ACCESS_PLATFORM' } }),
  consts({ VIRTIO_F_NOTIFICATION_DATA, VIRTIO_F_NOTIF_CONFIG_DATA }, { availability: UPSTREAM_ONLY }),
  consts({ VIRTIO_F_RING_RESET }),
  consts({ VIRTIO_F_ADMIN_VQ }, { availability: UPSTREAM_ONLY }),
]);
