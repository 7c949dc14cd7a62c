// virtio-net device semantics shared by every simulated net device and the VMM's device model:
// Ethernet helpers, the receive filter and the control-virtqueue commands, and the media a NIC
// transmits into (loopback, wire, tap), and a pcapng capture of the frames crossing a NIC.
export * from './backend.js';
export * from './capture.js';
export * from './eth.js';
export * from './tap.js';
export * from './virtio_net.js';
