// Netlink messages and attributes: building, parsing, and (extended) ACKs.
export * from './ack.js';
export * from './align.js';
export * from './parser.js';
export * from './writer.js';
