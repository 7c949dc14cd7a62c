// The vDPA device simulator: core, net and block classes.
export * from './vdpa_sim.js';
export * from './vdpa_sim_blk.js';
export * from './vdpa_sim_net.js';
