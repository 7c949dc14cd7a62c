// The vDPA device simulator: core, net and block classes, and the model's extended net device.
export * from './vdpa_sim.js';
export * from './vdpa_sim_blk.js';
export * from './vdpa_sim_net.js';
export * from './vdpa_sim_netx.js';
