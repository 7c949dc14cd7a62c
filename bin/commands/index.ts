export * from './io.js';
export * from './uapi.js';
export * from './vdpasim.js';
