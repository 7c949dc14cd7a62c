// The user side of vhost-vdpa: a typed client over any user space (model or real kernel).
export * from './client.js';
export * from './user_space.js';
