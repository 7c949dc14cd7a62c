// uAPI proposals that are not in any Linux tree. Each file says where it comes from.
export * from './virtio_pci_lm.js';
