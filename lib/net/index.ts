// virtio-net device semantics shared by every simulated net device and the VMM's device model:
// Ethernet helpers, the receive filter and the control-virtqueue commands, and the media a NIC
// transmits into (loopback, wire).
export * from './backend.js';
export * from './eth.js';
export * from './virtio_net.js';
