// The guest's tiny IPv4 network stack (ARP, ICMP echo, UDP, a traffic generator and sink) over
// the NetDevice a guest driver implements.
export * from './arp.js';
export * from './icmp.js';
export * from './inet.js';
export * from './ipv4.js';
export * from './netdev.js';
export * from './stack.js';
export * from './traffic.js';
export * from './udp.js';
