// The real host: the native addon and thin wrappers over it (tap, eventfd, netns, fd polling).
export * from './eventfd.js';
export * from './host_error.js';
export * from './kernel_user_space.js';
export * from './native.js';
export * from './netns.js';
export * from './poll.js';
export * from './tap.js';
