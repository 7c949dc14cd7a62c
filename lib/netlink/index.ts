// Netlink messages and attributes: building, parsing, policy validation, (extended) ACKs, and
// the generic netlink family registry and request dispatch.
export * from './ack.js';
export * from './align.js';
export * from './genetlink.js';
export * from './parser.js';
export * from './policy.js';
export * from './writer.js';
