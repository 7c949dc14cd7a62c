// IPv4 receive and send (RFC 791, ip_rcv_core's checks and drop reasons): what is delivered, what
// is dropped under which reason and counter, and the header we build.

import { describe, expect, it } from 'vitest';
import { udpFrame } from '../helpers/frames.js';
import { NetStack, inetChecksum } from '../../sim/guest/net/index.js';
import { IP_A, IP_B, MAC_A, MAC_B, cable, setChecksum, toHex, totalDrops, twoStacks } from './helpers.js';

/** Stack A alone on a cable with a UDP socket on port 9 recording payloads. */
function receiver() {
  const c = cable();
  const A = new NetStack(c.a, { ip: IP_A, prefixLen: 24 });
  const got: string[] = [];
  A.udp.bind(9, (buf, off, len) => got.push(toHex(buf.subarray(off, off + len))));
  /** Delivers one frame to A. */
  const feed = (f: Uint8Array) => {
    c.ba.inject(f);
    c.ba.deliver();
  };
  return { ...c, A, got, feed };
}

/** B -> A, UDP 5000 -> 9 carrying 'abc' (UDP checksum 0: none), after `edit` with the IP checksum redone unless told not to. */
function packet(edit: (f: Uint8Array) => void = () => {}, fixChecksum = true, dstIp = IP_A): Uint8Array {
  const f = udpFrame({ dstMac: MAC_A, srcMac: MAC_B, srcIp: IP_B, dstIp, srcPort: 5000, dstPort: 9, payload: Uint8Array.of(0x61, 0x62, 0x63) });
  edit(f);
  if (fixChecksum) setChecksum(f, 24, 14, ((f[14] as number) & 0xf) * 4);
  return f;
}

describe('IPv4 receive', () => {
  it('a valid packet is delivered to its protocol (inReceives, inDelivers)', () => {
    const { A, got, feed } = receiver();
    feed(packet());
    expect(got).toEqual(['61 62 63']);
    expect(A.stats().ip).toMatchObject({ inReceives: 1, inDelivers: 1 });
    expect(totalDrops(A.stats())).toBe(0);
  });

  it.each([
    ['shorter than 20 bytes', () => packet().subarray(0, 14 + 19), 'IP_INHDR', 'inHdrErrors'],
    ['version 6', () => packet((f) => (f[14] = 0x65)), 'IP_INHDR', 'inHdrErrors'],
    ['IHL 4 (a header shorter than 20 bytes)', () => packet((f) => (f[14] = 0x44), false), 'IP_INHDR', 'inHdrErrors'],
    ['IHL 15, longer than the packet', () => packet((f) => (f[14] = 0x4f), false).subarray(0, 14 + 40), 'IP_INHDR', 'inHdrErrors'],
    ['a bad header checksum', () => packet((f) => (f[25] = (f[25] as number) ^ 1), false), 'IP_CSUM', 'inCsumErrors'],
    ['a total length one byte beyond the frame', () => packet((f) => (f[17] = 20 + 8 + 3 + 1)), 'PKT_TOO_SMALL', 'inTruncatedPkts'],
    ['a total length below the header length', () => packet((f) => (f[17] = 19)), 'IP_INHDR', 'inHdrErrors'],
    ['a destination that is not ours', () => packet(() => {}, true, '10.0.0.3'), 'IP_INADDRERRORS', 'inAddrErrors'],
    ['the More Fragments flag (no reassembly)', () => packet((f) => (f[20] = 0x20)), 'UNHANDLED_PROTO', 'reasmFails'],
    ['a fragment offset (no reassembly)', () => packet((f) => (f[21] = 0x01)), 'UNHANDLED_PROTO', 'reasmFails'],
    ['protocol 6 (TCP, not implemented)', () => packet((f) => (f[23] = 6)), 'IP_NOPROTO', 'inUnknownProtos'],
  ] as const)('%s: dropped as %s, counted %s, never delivered', (_what, make, reason, counter) => {
    const { A, got, feed } = receiver();
    feed(make());
    const s = A.stats();
    expect(got).toEqual([]);
    expect(s.drops[reason]).toBe(1);
    expect(totalDrops(s)).toBe(1);
    expect(s.ip[counter]).toBe(1);
    expect(s.ip.inDelivers).toBe(0);
  });

  it('a bad checksum counts in inHdrErrors too, as the kernel counts it', () => {
    const { A, feed } = receiver();
    feed(packet((f) => (f[25] = (f[25] as number) ^ 1), false));
    expect(A.stats().ip).toMatchObject({ inCsumErrors: 1, inHdrErrors: 1 });
  });

  it('Ethernet padding past the total length is trimmed off (a 60-byte frame with 3 bytes of data)', () => {
    const { got, feed } = receiver();
    const f = new Uint8Array(60).fill(0xee);
    f.set(packet());
    feed(f);
    expect(got).toEqual(['61 62 63']);
  });

  it('options (IHL 6) are skipped: the payload starts after them', () => {
    const { got, feed } = receiver();
    const plain = packet();
    const f = new Uint8Array(plain.length + 4);
    f.set(plain.subarray(0, 34));
    f.set([0x01, 0x01, 0x01, 0x00], 34); // NOP NOP NOP EOL
    f.set(plain.subarray(34), 38);
    f[14] = 0x46;
    f[17] = (f[17] as number) + 4;
    setChecksum(f, 24, 14, 24);
    feed(f);
    expect(got).toEqual(['61 62 63']);
  });

  it('the limited (255.255.255.255) and directed (10.0.0.255) broadcasts are delivered', () => {
    const { A, got, feed } = receiver();
    feed(packet(() => {}, true, '255.255.255.255'));
    feed(packet(() => {}, true, '10.0.0.255'));
    expect(got).toEqual(['61 62 63', '61 62 63']);
    expect(A.ip.broadcast).toBe(0x0a0000ff);
  });

  it('a /31 or /32 has no directed broadcast', () => {
    const c = cable();
    expect(new NetStack(c.a, { ip: IP_A, prefixLen: 32 }).ip.broadcast).toBe(0xffffffff);
    expect(() => new NetStack(c.b, { ip: IP_B, prefixLen: 33 })).toThrow(RangeError);
  });
});

describe('IPv4 send', () => {
  it('builds 45 00, the total length, an ID counting from 0, DF clear, TTL 64, the protocol, the addresses and a valid checksum', () => {
    const { A, ab, settle } = twoStacks();
    A.arp.resolve(IP_B);
    settle();
    const s = A.udp.bind(5000);
    s.sendto(Uint8Array.of(1, 2), 0, 2, IP_B, 9);
    s.sendto(Uint8Array.of(1, 2), 0, 2, IP_B, 9);
    const [f0, f1] = ab.frames() as [Uint8Array, Uint8Array];
    expect(toHex(f0.subarray(14, 34).fill(0, 10, 12))).toBe('45 00 00 1e 00 00 00 00 40 11 00 00 0a 00 00 01 0a 00 00 02');
    expect(toHex(f1.subarray(18, 20))).toBe('00 01');
    expect(inetChecksum(ab.at(0), 14, 20)).toBe(0);
    expect(inetChecksum(ab.at(1), 14, 20)).toBe(0);
  });

  it('a broadcast destination goes to ff:ff:ff:ff:ff:ff without ARP', () => {
    const { A, ab } = twoStacks();
    A.udp.bind(5000).sendto(Uint8Array.of(1), 0, 1, '10.0.0.255', 9);
    A.udp.bind(5001).sendto(Uint8Array.of(1), 0, 1, '255.255.255.255', 9);
    expect(ab.frames().map((f) => toHex(f.subarray(0, 6)))).toEqual(['ff ff ff ff ff ff', 'ff ff ff ff ff ff']);
    expect(A.arp.entries()).toEqual([]);
  });

  it('our own address goes to our own MAC without ARP (through the device)', () => {
    const { A, ab } = twoStacks();
    A.udp.bind(5000).sendto(Uint8Array.of(1), 0, 1, IP_A, 9);
    expect(toHex(ab.at(0).subarray(0, 12))).toBe('02 00 00 00 00 0a 02 00 00 00 00 0a');
    expect(A.arp.entries()).toEqual([]);
  });

  it('a frame the driver refuses (ring full) is a FULL_RING drop and txDropped, and the sender is told', () => {
    const { A, ab } = twoStacks({ capacity: 1 });
    const s = A.udp.bind(5000);
    expect(s.sendto(Uint8Array.of(1), 0, 1, IP_A, 9)).toBe(true);
    expect(s.sendto(Uint8Array.of(2), 0, 1, IP_A, 9)).toBe(false);
    expect(ab.length).toBe(1);
    expect(A.stats().drops.FULL_RING).toBe(1);
    expect(A.stats().link).toMatchObject({ txPackets: 1, txDropped: 1 });
    expect(A.stats().udp.outDatagrams).toBe(1);
  });
});
