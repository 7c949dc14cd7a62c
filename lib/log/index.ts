// The vhost dirty log and its harvest.
export * from './vhost_log.js';
