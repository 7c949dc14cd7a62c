// Scenarios: VMs assembled on the simulated host (a NIC, a disk), and the main demo.
export * from './blk_machine.js';
export * from './blk_demo.js';
export * from './demo.js';
export * from './demo_text.js';
export * from './machine.js';
export * from './net_counters.js';
export * from './serve.js';
export * from './pci.js';
