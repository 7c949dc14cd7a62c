// The VMM (QEMU's role): guest RAM and its listener, the vhost-vdpa backend, shadow virtqueues,
// the vhost-vdpa net client with CVQ shadowing, the virtio-net device the guest sees, and the
// generic vhost-vdpa-device-pci over the shared virtio-pci transport.
export * from './memory.js';
export * from './net_vhost_vdpa.js';
export * from './platform.js';
export * from './shadow_virtqueue.js';
export * from './vdpa_dev.js';
export * from './vhost_vdpa.js';
export * from './virtio.js';
export * from './virtio_net.js';
export * from './virtio_pci.js';
export * from './vmm.js';
