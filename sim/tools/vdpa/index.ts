// The iproute2 `vdpa` tool, modelled.
export * from './host_transport.js';
export * from './mnl.js';
export * from './vdpa.js';
