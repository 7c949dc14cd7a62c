// ICMP echo (RFC 792, net/ipv4/icmp.c): byte-exact replies to a Linux-style request, two stacks
// pinging each other over the cable with ARP, loss, duplicates and corruption seen by ping, and
// the bad paths.

import { describe, expect, it } from 'vitest';
import { NetStack, inetChecksum } from '../../sim/guest/net/index.js';
import { IP_A, IP_B, MAC_A, MAC_B, cable, hex, loopback, setChecksum, toHex, twoStacks } from './helpers.js';

/**
 * What Linux's ping sends from 10.0.0.2 (MAC_B) to 10.0.0.1 (MAC_A): IP ID 0x1c46 with DF, ICMP
 * id 0x0d2e, seq 1, 56 data bytes (a timeval, then 0x10..0x37). Checksums worked out
 * independently: IP 0x0a61, ICMP 0xd569.
 */
const LINUX_REQUEST = hex(`
  02 00 00 00 00 0a  02 00 00 00 00 0b  08 00
  45 00 00 54 1c 46 40 00 40 01 0a 61 0a 00 00 02 0a 00 00 01
  08 00 d5 69 0d 2e 00 01
  0b 6a 6c 65 00 00 00 00 d3 c4 0b 00 00 00 00 00
  10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f 20 21 22 23 24 25 26 27 28 29 2a 2b 2c 2d 2e 2f
  30 31 32 33 34 35 36 37`);

/**
 * Our answer: IP ID 0 (our first packet), DF clear, TTL 64, checksum 0x66a7; ICMP type 0 with
 * code, id, seq and data copied, checksum 0xdd69 (the request's plus 0x0800, RFC 1624).
 */
const OUR_REPLY = hex(`
  02 00 00 00 00 0b  02 00 00 00 00 0a  08 00
  45 00 00 54 00 00 00 00 40 01 66 a7 0a 00 00 01 0a 00 00 02
  00 00 dd 69 0d 2e 00 01
  0b 6a 6c 65 00 00 00 00 d3 c4 0b 00 00 00 00 00
  10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f 20 21 22 23 24 25 26 27 28 29 2a 2b 2c 2d 2e 2f
  30 31 32 33 34 35 36 37`);

function alone() {
  const c = cable();
  const A = new NetStack(c.a, { ip: IP_A, prefixLen: 24 });
  return { ...c, A };
}

/** A's stack after B's MAC is known to it, so replies go out at once. */
function aloneResolved() {
  const c = alone();
  c.ba.inject(hex(`ff ff ff ff ff ff 02 00 00 00 00 0b 08 06 00 01 08 00 06 04 00 01 02 00 00 00 00 0b 0a 00 00 02 00 00 00 00 00 00 0a 00 00 01`));
  c.ba.deliver();
  c.ab.drop(c.ab.length);
  return c;
}

describe('answering echo requests', () => {
  it("a Linux ping request gets our reply byte for byte (after ARP for the asker)", () => {
    const { A, ab, ba } = alone();
    ba.inject(LINUX_REQUEST);
    ba.deliver();
    // The asker is unknown: the reply waits behind an ARP request.
    expect(ab.length).toBe(1);
    expect(toHex(ab.at(0).subarray(12, 14))).toBe('08 06');
    ab.drop();
    ba.inject(hex(`02 00 00 00 00 0a 02 00 00 00 00 0b 08 06 00 01 08 00 06 04 00 02 02 00 00 00 00 0b 0a 00 00 02 02 00 00 00 00 0a 0a 00 00 01`));
    ba.deliver();
    expect(ab.frames().map(toHex)).toEqual([toHex(OUR_REPLY)]);
    expect(A.stats().icmp).toMatchObject({ inMsgs: 1, inEchos: 1, outMsgs: 1, outEchoReps: 1 });
  });

  it('the reply keeps the request code (icmp_echo copies the header) and has valid checksums', () => {
    const { ab, ba } = aloneResolved();
    const req = LINUX_REQUEST.slice();
    req[35] = 7; // code
    setChecksum(req, 36, 34, req.length - 34);
    ba.inject(req);
    ba.deliver();
    const r = ab.at(0);
    expect([r[34], r[35]]).toEqual([0, 7]);
    expect(inetChecksum(r, 14, 20)).toBe(0);
    expect(inetChecksum(r, 34, r.length - 34)).toBe(0);
  });

  it('an echo request to a broadcast address gets no answer (icmp_echo_ignore_broadcasts)', () => {
    const { A, ab, ba } = aloneResolved();
    const req = LINUX_REQUEST.slice();
    req.fill(0xff, 0, 6);
    req.set([0x0a, 0, 0, 0xff], 30); // 10.0.0.255
    setChecksum(req, 24, 14, 20);
    ba.inject(req);
    ba.deliver();
    expect(ab.length).toBe(0);
    expect(A.stats().icmp).toMatchObject({ inEchos: 1, outEchoReps: 0 });
  });

  it('a bad ICMP checksum is an ICMP_CSUM drop: no reply', () => {
    const { A, ab, ba } = aloneResolved();
    const req = LINUX_REQUEST.slice();
    req[req.length - 1] = (req[req.length - 1] as number) ^ 0x01;
    ba.inject(req);
    ba.deliver();
    expect(ab.length).toBe(0);
    expect(A.stats().drops.ICMP_CSUM).toBe(1);
    expect(A.stats().icmp).toMatchObject({ inMsgs: 1, inErrors: 1, inCsumErrors: 1 });
  });

  it('an ICMP message shorter than its 8-byte header is a PKT_TOO_SMALL drop', () => {
    const { A, ab, ba } = aloneResolved();
    // IP total length 24: four bytes of ICMP.
    const req = LINUX_REQUEST.slice(0, 14 + 24);
    req[17] = 24;
    setChecksum(req, 24, 14, 20);
    ba.inject(req);
    ba.deliver();
    expect(ab.length).toBe(0);
    expect(A.stats().drops.PKT_TOO_SMALL).toBe(1);
    expect(A.stats().icmp.inErrors).toBe(1);
  });

  it('a reply that would not fit our MTU is not sent (PKT_TOO_BIG, fragFails: no fragmentation)', () => {
    const { A, B, ab, settle } = twoStacks({ mtuA: 1500, mtuB: 9000 });
    B.ping(IP_A, { size: 2000 });
    settle();
    expect(A.stats().icmp.inEchos).toBe(1);
    expect(A.stats().drops.PKT_TOO_BIG).toBe(1);
    expect(A.stats().ip.fragFails).toBe(1);
    expect(ab.length).toBe(0);
  });
});

describe('ping', () => {
  it('two stacks ping each other, ARP first, every sequence number answered once', () => {
    const { A, B, settle } = twoStacks();
    const p = A.ping(IP_B, { count: 5 });
    expect(p.sent).toBe(5);
    expect(p.received).toBe(0);
    settle();
    expect(p).toMatchObject({ received: 5, duplicates: 0, corrupted: 0, stray: 0, done: true });
    expect(p.missing()).toEqual([]);
    const q = B.ping(IP_A, { count: 2, size: 0 });
    settle();
    expect(q.done).toBe(true);
    expect(A.arp.lookup(IP_B)).toBe(MAC_B);
    expect(B.arp.lookup(IP_A)).toBe(MAC_A);
    expect(B.stats().icmp).toMatchObject({ inEchos: 5, outEchoReps: 5, outEchos: 2, inEchoReps: 2 });
  });

  it('sends iputils-style requests: type 8, the id, seq from 1, data bytes 0, 1, 2, ...', () => {
    const { A, ab, settle } = twoStacks();
    A.arp.resolve(IP_B);
    settle();
    A.ping(IP_B, { count: 2, size: 4, id: 0x1234 });
    const frames = ab.frames();
    for (const f of frames) expect(inetChecksum(f, 34, f.length - 34)).toBe(0);
    const withoutChecksum = (f: Uint8Array) => toHex(f.slice(34).fill(0, 2, 4));
    expect(frames.map(withoutChecksum)).toEqual(['08 00 00 00 12 34 00 01 00 01 02 03', '08 00 00 00 12 34 00 02 00 01 02 03']);
  });

  it('a lost reply shows as missing; a duplicated one as a duplicate', () => {
    const { A, ab, ba, settle } = twoStacks();
    A.arp.resolve(IP_B);
    settle();
    const p = A.ping(IP_B, { count: 3 });
    ab.deliver();
    expect(ba.length).toBe(3);
    ba.drop(); // seq 1's reply
    ba.duplicate(0); // seq 2's reply, twice
    settle();
    expect(p).toMatchObject({ received: 2, duplicates: 1, done: false });
    expect(p.missing()).toEqual([1]);
    expect(p.repliesFor(2)).toBe(2);
    expect(p.repliesFor(3)).toBe(1);
  });

  it("a reply whose data differs from the request's counts as corrupted, not received", () => {
    const { A, ab, ba, settle } = twoStacks();
    A.arp.resolve(IP_B);
    settle();
    const p = A.ping(IP_B, { count: 1, size: 8 });
    ab.deliver();
    const r = ba.at(0);
    // Change a data byte and the ICMP checksum with it, so only ping's own check can notice.
    r[42 + 3] = 0xee;
    setChecksum(r, 36, 34, r.length - 34);
    settle();
    expect(p).toMatchObject({ received: 0, corrupted: 1 });
  });

  it('replies from another address or for another id are not counted', () => {
    const { A, B, settle } = twoStacks();
    const p = A.ping('10.0.0.3', { id: 7 });
    const q = B.ping(IP_A, { id: 7 });
    settle();
    expect(q.done).toBe(true);
    expect(p.received).toBe(0);
  });

  it('pings our own address through a looping device (as vdpa_sim_net loops TX to RX)', () => {
    const lo = loopback();
    const S = new NetStack(lo.dev, { ip: IP_A, prefixLen: 24 });
    const p = S.ping(IP_A, { count: 3 });
    lo.settle();
    expect(p.done).toBe(true);
    expect(S.arp.entries()).toEqual([]);
    expect(S.stats().link).toMatchObject({ txPackets: 6, rxPackets: 6 });
  });

  it('a destination outside our subnet has no route: nothing sent, IP_OUTNOROUTES', () => {
    const { A, ab } = alone();
    const p = A.ping('192.168.1.1', { count: 2 });
    expect(p.sent).toBe(0);
    expect(ab.length).toBe(0);
    expect(A.stats().drops.IP_OUTNOROUTES).toBe(1);
    expect(A.stats().ip.outNoRoutes).toBe(1);
  });

  it('refuses a size that does not fit the MTU, a count beyond the 16-bit sequence space and a bad id', () => {
    const { A } = alone();
    expect(() => A.ping(IP_B, { size: 1500 - 28 + 1 })).toThrow(RangeError);
    expect(() => A.ping(IP_B, { count: 0 })).toThrow(RangeError);
    expect(() => A.ping(IP_B, { count: 65536 })).toThrow(RangeError);
    expect(() => A.ping(IP_B, { id: 0x10000 })).toThrow(RangeError);
    expect(() => A.ping('10.0.0.256')).toThrow(RangeError);
  });
});
