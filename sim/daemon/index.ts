// The simulated host as a daemon: its socket protocol, the daemon, its clients, and `vdpasim dump`.
export * from './blocking_client.js';
export * from './client.js';
export * from './dump.js';
export * from './protocol.js';
export * from './server.js';
