// User-space tools of the simulated host and the shell that runs them.
export * from './io.js';
export * from './shell.js';
export * from './vdpa/index.js';
