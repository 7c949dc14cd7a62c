// drivers/vdpa/virtio_pci: the vp_vdpa parent.
export * from './vp_vdpa.js';
export * from './vp_vdpa_lm.js';
