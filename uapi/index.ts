// include/uapi/linux as data. Kernel uAPI proposals are items of these headers available only
// in their proposal profile (e.g. PROPOSAL_LM_LOG_ONLY); device-side proposals that no kernel
// header carries (QEMU's LM registers) live in ./proposed/ and are not re-exported here.
export * from './catalog.js';
export * from './errno.js';
export * from './fcntl.js';
export * from './header_spec.js';
export * from './if_tun.js';
export * from './ioctl.js';
export * from './ioctls.js';
export * from './layout.js';
export * from './memfd.js';
export * from './mman.js';
export * from './netlink.js';
export * from './poll.js';
export * from './profile.js';
export * from './vdpa.js';
export * from './vhost.js';
export * from './vhost_types.js';
export * from './virtio_blk.js';
export * from './virtio_config.js';
export * from './virtio_ids.js';
export * from './virtio_net.js';
export * from './pci_regs.js';
export * from './virtio_pci.js';
export * from './virtio_ring.js';
export * from './virtio_types.js';
