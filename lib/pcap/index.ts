// Packet captures: pcap and pcapng writers, and a reader for both.
export * from './pcap_writer.js';
export * from './pcapng_writer.js';
export * from './reader.js';
export * from './sink.js';
