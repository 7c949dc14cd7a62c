// The simulated host: boot, modules, processes and their system calls.
export * from './host.js';
export * from './modules.js';
export * from './process.js';
export * from './user_space.js';
export * from './kvm.js';
