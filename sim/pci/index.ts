// The emulated PCI world: a configuration space with BARs and MSI-X, the virtio 1.x PCI
// transport (QEMU's layout) with the `vdpa=on` live-migration registers, and virtio-net behind it.
export * from './bar.js';
export * from './config_space.js';
export * from './lm.js';
export * from './virtio_net_pci.js';
export * from './virtio_pci_function.js';
