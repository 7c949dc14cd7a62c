// The guest: its memory and vCPU, the virtio core and drivers it runs (net, block), and its
// network stack.
export * from './cpu.js';
export * from './guest.js';
export * from './memory.js';
export * from './net/index.js';
export * from './virtio.js';
export * from './virtio_blk.js';
export * from './virtio_net.js';
