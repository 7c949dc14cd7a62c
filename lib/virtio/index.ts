// Split virtqueues from both ends: vringh (device side, through an IOTLB) and the driver's
// virtqueue (guest side).
export * from './virtio_ring.js';
export * from './vringh.js';
