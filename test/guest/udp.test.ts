// UDP (RFC 768, __udp4_lib_rcv's checks): datagrams byte for byte, the checksum rules, the bad
// paths, sockets and ports, the echo service.

import { describe, expect, it } from 'vitest';
import { udpFrame } from '../helpers/frames.js';
import { NetStack, UDP_ECHO_PORT, formatIpv4, inetChecksum, pseudoHeaderSum } from '../../sim/guest/net/index.js';
import { IP_A, IP_B, MAC_A, MAC_B, cable, hex, setChecksum, toHex, totalDrops, twoStacks } from './helpers.js';

/** Two stacks with A's neighbour entry for B already resolved. */
function resolved() {
  const t = twoStacks();
  t.A.arp.resolve(IP_B);
  t.settle();
  return t;
}

/** Stack A alone with a socket on port 9; frames from B's side are fed in by hand. */
function receiver() {
  const c = cable();
  const A = new NetStack(c.a, { ip: IP_A, prefixLen: 24 });
  const got: { data: string; from: string; port: number }[] = [];
  A.udp.bind(9, (buf, off, len, srcIp, srcPort) => got.push({ data: toHex(buf.subarray(off, off + len)), from: formatIpv4(srcIp), port: srcPort }));
  const feed = (f: Uint8Array) => {
    c.ba.inject(f);
    c.ba.deliver();
  };
  return { ...c, A, got, feed };
}

/** B:5000 -> A:9 with `payload`, UDP checksum filled in unless `csum` says otherwise. */
function datagram(payload: Uint8Array, csum: 'good' | 'none' = 'good'): Uint8Array {
  const f = udpFrame({ dstMac: MAC_A, srcMac: MAC_B, srcIp: IP_B, dstIp: IP_A, srcPort: 5000, dstPort: 9, payload });
  if (csum === 'good') setChecksum(f, 40, 34, 8 + payload.length, pseudoHeaderSum(0x0a000002, 0x0a000001, 17, 8 + payload.length));
  return f;
}

describe('UDP send', () => {
  it('sendto builds the datagram byte for byte (UDP checksum 0x27f8, IP 0x66ca, worked out independently)', () => {
    const { A, ab } = resolved();
    expect(A.udp.bind(0).sendto(hex('68 65 6c 6c 6f'), 0, 5, IP_B, 7)).toBe(true);
    expect(ab.frames().map(toHex)).toEqual([
      toHex(hex(`02 00 00 00 00 0b 02 00 00 00 00 0a 08 00
        45 00 00 21 00 00 00 00 40 11 66 ca 0a 00 00 01 0a 00 00 02
        80 00 00 07 00 0d 27 f8 68 65 6c 6c 6f`)),
    ]);
    expect(A.stats().udp.outDatagrams).toBe(1);
  });

  it('a computed checksum of 0 goes out as 0xffff (0 would mean none), and the receiver accepts it', () => {
    const { A, B, ab, settle } = resolved();
    const got: string[] = [];
    B.udp.bind(7, (buf, off, len) => got.push(toHex(buf.subarray(off, off + len))));
    // Payload 6b d0 from 10.0.0.1:32768 to 10.0.0.2:7 sums to 0xffff with its pseudo-header.
    A.udp.bind(0).sendto(hex('6b d0'), 0, 2, IP_B, 7);
    expect(toHex(ab.at(0).subarray(40, 42))).toBe('ff ff');
    settle();
    expect(got).toEqual(['6b d0']);
  });

  it('a SO_NO_CHECK socket sends checksum 0 ("none"), which the receiver accepts unchecked', () => {
    const { A, B, ab, settle } = resolved();
    const got: string[] = [];
    B.udp.bind(7, (buf, off, len) => got.push(toHex(buf.subarray(off, off + len))));
    const s = A.udp.bind(0);
    s.noCheck = true;
    s.sendto(hex('68 65 6c 6c 6f'), 0, 5, IP_B, 7);
    expect(toHex(ab.at(0).subarray(40, 42))).toBe('00 00');
    settle();
    expect(got).toEqual(['68 65 6c 6c 6f']);
  });

  it('sendPrepared() sends what was written into txPayload, without a copy', () => {
    const { A, B, settle } = resolved();
    const got: string[] = [];
    B.udp.bind(9, (buf, off, len) => got.push(toHex(buf.subarray(off, off + len))));
    const s = A.udp.bind(0);
    s.txPayload.set([1, 2, 3]);
    expect(s.sendPrepared(3, IP_B, 9)).toBe(true);
    settle();
    expect(got).toEqual(['01 02 03']);
  });

  it('refuses a payload over the MTU, a range outside the buffer and a bad port', () => {
    const { A } = resolved();
    const s = A.udp.bind(0);
    expect(() => s.sendto(new Uint8Array(1473), 0, 1473, IP_B, 9)).toThrow(RangeError);
    expect(() => s.sendto(new Uint8Array(4), 2, 3, IP_B, 9)).toThrow(RangeError);
    expect(() => s.sendto(new Uint8Array(4), 0, 4, IP_B, 65536)).toThrow(RangeError);
    expect(s.sendto(new Uint8Array(1472), 0, 1472, IP_B, 9)).toBe(true);
  });
});

describe('UDP receive', () => {
  it('delivers the payload, the source address and the source port', () => {
    const { A, got, feed } = receiver();
    feed(datagram(hex('de ad be ef')));
    expect(got).toEqual([{ data: 'de ad be ef', from: IP_B, port: 5000 }]);
    expect(A.stats().udp.inDatagrams).toBe(1);
  });

  it('a checksum of 0 means none: delivered unchecked', () => {
    const { got, feed } = receiver();
    feed(datagram(hex('01 02 03'), 'none'));
    expect(got.map((g) => g.data)).toEqual(['01 02 03']);
  });

  it('a bad checksum is a UDP_CSUM drop, counted inCsumErrors and inErrors', () => {
    const { A, got, feed } = receiver();
    const f = datagram(hex('01 02 03'));
    f[42] = (f[42] as number) ^ 0x40;
    feed(f);
    expect(got).toEqual([]);
    expect(A.stats().drops.UDP_CSUM).toBe(1);
    expect(A.stats().udp).toMatchObject({ inCsumErrors: 1, inErrors: 1, inDatagrams: 0 });
  });

  it('a UDP length beyond the IP payload is a PKT_TOO_SMALL drop (inErrors)', () => {
    const { A, got, feed } = receiver();
    const f = datagram(hex('01 02 03'), 'none');
    f[39] = 12;
    feed(f);
    expect(got).toEqual([]);
    expect(A.stats().drops.PKT_TOO_SMALL).toBe(1);
    expect(A.stats().udp.inErrors).toBe(1);
  });

  it('a UDP length under 8 is a PKT_TOO_SMALL drop', () => {
    const { A, got, feed } = receiver();
    const f = datagram(hex('01 02 03'), 'none');
    f[39] = 7;
    feed(f);
    expect(got).toEqual([]);
    expect(A.stats().drops.PKT_TOO_SMALL).toBe(1);
  });

  it('a UDP length under the IP payload: the bytes past it are not payload', () => {
    const { got, feed } = receiver();
    const f = datagram(hex('01 02 03'), 'none');
    f[39] = 10;
    feed(f);
    expect(got.map((g) => g.data)).toEqual(['01 02']);
  });

  it('a datagram for a port nobody bound is a NO_SOCKET drop (noPorts)', () => {
    const { A, got, feed } = receiver();
    const f = datagram(hex('01'), 'none');
    f[37] = 10; // port 10
    feed(f);
    expect(got).toEqual([]);
    expect(A.stats().drops.NO_SOCKET).toBe(1);
    expect(A.stats().udp.noPorts).toBe(1);
  });
});

describe('UDP sockets and the echo service', () => {
  it('bind refuses a port in use and hands out ephemeral ports from 32768, skipping taken ones', () => {
    const { A } = resolved();
    A.udp.bind(32769);
    expect(() => A.udp.bind(32769)).toThrow(/in use/);
    expect([A.udp.bind(0).port, A.udp.bind(0).port]).toEqual([32768, 32770]);
    expect(() => A.udp.bind(70000)).toThrow(RangeError);
  });

  it('a closed socket receives nothing (NO_SOCKET), cannot send, and frees its port', () => {
    const { A, got, feed } = receiver();
    const s = A.udp.bind(10, () => got.push({ data: 'x', from: '', port: 0 }));
    s.close();
    const f = datagram(hex('01'), 'none');
    f[37] = 10;
    feed(f);
    expect(got).toEqual([]);
    expect(A.stats().drops.NO_SOCKET).toBe(1);
    expect(() => s.sendto(hex('01'), 0, 1, IP_B, 9)).toThrow(/closed/);
    expect(A.udp.bind(10).port).toBe(10);
  });

  it('the echo service (port 7) sends each datagram back to its sender and port, from port 7', () => {
    const { A, B, settle } = resolved();
    B.udp.echo();
    const got: { data: string; port: number }[] = [];
    const s = A.udp.bind(4000, (buf, off, len, _ip, port) => got.push({ data: toHex(buf.subarray(off, off + len)), port }));
    s.sendto(hex('ca fe'), 0, 2, IP_B, UDP_ECHO_PORT);
    settle();
    expect(got).toEqual([{ data: 'ca fe', port: 7 }]);
    expect(B.stats().udp).toMatchObject({ inDatagrams: 1, outDatagrams: 1 });
    expect(totalDrops(A.stats()) + totalDrops(B.stats())).toBe(0);
  });

  it('with the echo service off again, port 7 is a NO_SOCKET drop', () => {
    const { A, B, settle } = resolved();
    B.udp.echo();
    B.udp.echo(false);
    A.udp.bind(4000).sendto(hex('ca fe'), 0, 2, IP_B, UDP_ECHO_PORT);
    settle();
    expect(B.stats().drops.NO_SOCKET).toBe(1);
  });

  it('echoed datagrams carry a valid checksum', () => {
    const { A, B, ba, ab } = resolved();
    B.udp.echo();
    A.udp.bind(4000).sendto(hex('01 02 03 04 05'), 0, 5, IP_B, UDP_ECHO_PORT);
    ab.deliver();
    const r = ba.at(0);
    expect(inetChecksum(r, 34, 13, pseudoHeaderSum(0x0a000002, 0x0a000001, 17, 13))).toBe(0);
  });
});
