// Minimal Ethernet/IPv4/UDP framing for host-side tests (the guest network stack is elsewhere).

export function macBytes(mac: string): Uint8Array {
  return Uint8Array.from(mac.split(':').map((h) => parseInt(h, 16)));
}

export function ipBytes(ip: string): Uint8Array {
  return Uint8Array.from(ip.split('.').map(Number));
}

export function ipv4Checksum(hdr: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < hdr.length; i += 2) sum += ((hdr[i] ?? 0) << 8) | (hdr[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** An Ethernet II frame carrying IPv4/UDP (UDP checksum 0: none). */
export function udpFrame(o: {
  dstMac: string;
  srcMac: string;
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}): Uint8Array {
  const f = new Uint8Array(14 + 20 + 8 + o.payload.length);
  const v = new DataView(f.buffer);
  f.set(macBytes(o.dstMac), 0);
  f.set(macBytes(o.srcMac), 6);
  v.setUint16(12, 0x0800);
  const ip = f.subarray(14, 34);
  ip[0] = 0x45;
  v.setUint16(16, 20 + 8 + o.payload.length);
  ip[8] = 64;
  ip[9] = 17;
  ip.set(ipBytes(o.srcIp), 12);
  ip.set(ipBytes(o.dstIp), 16);
  v.setUint16(24, ipv4Checksum(ip));
  v.setUint16(34, o.srcPort);
  v.setUint16(36, o.dstPort);
  v.setUint16(38, 8 + o.payload.length);
  f.set(o.payload, 42);
  return f;
}

export interface ParsedUdp {
  dstMac: string;
  srcMac: string;
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}

const mac = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');

/** Parses an Ethernet/IPv4/UDP frame; undefined for anything else. */
export function parseUdp(f: Uint8Array): ParsedUdp | undefined {
  if (f.length < 42) return undefined;
  const v = new DataView(f.buffer, f.byteOffset, f.byteLength);
  if (v.getUint16(12) !== 0x0800 || f[23] !== 17) return undefined;
  const ihl = ((f[14] ?? 0) & 0xf) * 4;
  const udp = 14 + ihl;
  const len = v.getUint16(udp + 4);
  return {
    dstMac: mac(f.subarray(0, 6)),
    srcMac: mac(f.subarray(6, 12)),
    srcIp: [...f.subarray(26, 30)].join('.'),
    dstIp: [...f.subarray(30, 34)].join('.'),
    srcPort: v.getUint16(udp),
    dstPort: v.getUint16(udp + 2),
    payload: f.subarray(udp + 8, udp + len),
  };
}
