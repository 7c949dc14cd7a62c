// The stack's receive path under random input (fast-check): it never throws, and every frame
// ends exactly one way: dropped under exactly one receive-side reason (then nothing is sent and
// the neighbour table is unchanged), or taken by exactly one protocol. Frames are random bytes, or
// random bytes behind headers valid enough to get past the earlier checks, and sit at a random
// offset inside a larger buffer, as frames in guest RAM do.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DROP_REASONS, NetStack, inetChecksum, pseudoHeaderSum, type DropReason, type NetStats } from '../../sim/guest/net/index.js';
import { IP_A, cable, totalDrops } from './helpers.js';

const OUR_MAC = [2, 0, 0, 0, 0, 0x0a];
const OUR_IP = [10, 0, 0, 1];

/** Mostly `likely`, sometimes anything `other` gives: deep enough to reach every check, wrong often enough to fail each. */
const mostly = <T>(likely: fc.Arbitrary<T>, other: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: likely }, { weight: 1, arbitrary: other });
const mac = mostly(fc.constantFrom(OUR_MAC, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 6, maxLength: 6 }));
const ipAddr = mostly(fc.constantFrom(OUR_IP, [10, 0, 0, 2], [10, 0, 0, 255], [255, 255, 255, 255]), fc.oneof(fc.constant([0, 0, 0, 0]), fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 })));
const bytes = (max: number) => fc.uint8Array({ maxLength: max });

const setU16 = (f: Uint8Array, at: number, v: number) => {
  f[at] = v >>> 8;
  f[at + 1] = v & 0xff;
};

/** Fully random bytes. */
const raw = bytes(100);

/** An Ethernet header (our MAC, broadcast or random; a chosen or random EtherType) and random bytes. */
const eth = fc.tuple(mac, fc.oneof(fc.constantFrom(0x0800, 0x0806, 0x8100, 0x86dd), fc.integer({ min: 0, max: 0xffff })), bytes(100)).map(([dst, type, body]) => {
  const f = new Uint8Array(14 + body.length);
  f.set(dst);
  f.set([2, 0, 0, 0, 0, 0x0b], 6);
  setU16(f, 12, type);
  f.set(body, 14);
  return f;
});

/** ARP for IPv4 with random opcode, addresses and padding. */
const arp = fc.tuple(mac, fc.constantFrom(1, 2, 3), mac, ipAddr, ipAddr, bytes(20)).map(([dst, op, sha, sip, tip, pad]) => {
  const f = new Uint8Array(42 + pad.length);
  f.set(dst);
  f.set(sha, 6);
  f.set([0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, op], 12);
  f.set(sha, 22);
  f.set(sip, 28);
  f.set(tip, 38);
  f.set(pad, 42);
  return f;
});

/** IPv4 with a mostly sane header (checksum right or not), any protocol, a transport checksum right or not. */
const ipv4 = fc
  .record({
    dst: mac,
    vihl: mostly(fc.constantFrom(0x45, 0x46), fc.integer({ min: 0, max: 255 })),
    totDelta: mostly(fc.constant(0), fc.integer({ min: -30, max: 30 })),
    frag: mostly(fc.constantFrom(0, 0x4000), fc.integer({ min: 0, max: 0xffff })),
    proto: mostly(fc.constantFrom(1, 17), fc.integer({ min: 0, max: 255 })),
    src: ipAddr,
    daddr: ipAddr,
    payload: mostly(fc.uint8Array({ minLength: 8, maxLength: 80 }), bytes(8)),
    ipCsum: mostly(fc.constant(true), fc.constant(false)),
    l4Csum: mostly(fc.constant('right'), fc.constantFrom('zero', 'random')),
    icmpType: fc.constantFrom(0, 8, 3),
    udpPort: fc.constantFrom(7, 9, 53),
  })
  .map((o) => {
    const hlen = Math.max(20, (o.vihl & 0xf) * 4);
    const f = new Uint8Array(14 + hlen + o.payload.length);
    f.set(o.dst);
    f.set([2, 0, 0, 0, 0, 0x0b], 6);
    setU16(f, 12, 0x0800);
    const ip = 14;
    f[ip] = o.vihl;
    setU16(f, ip + 2, Math.max(0, hlen + o.payload.length + o.totDelta));
    setU16(f, ip + 6, o.frag);
    f[ip + 8] = 64;
    f[ip + 9] = o.proto;
    f.set(o.src, ip + 12);
    f.set(o.daddr, ip + 16);
    const l4 = ip + hlen;
    f.set(o.payload, l4);
    const len = o.payload.length;
    if (o.proto === 1 && len >= 8) {
      f[l4] = o.icmpType;
      if (o.l4Csum === 'right') setU16(f, l4 + 2, inetChecksum((setU16(f, l4 + 2, 0), f), l4, len));
    } else if (o.proto === 17 && len >= 8) {
      setU16(f, l4 + 2, o.udpPort);
      setU16(f, l4 + 4, len);
      const ph = pseudoHeaderSum((o.src[0]! << 24) + (o.src[1]! << 16) + (o.src[2]! << 8) + o.src[3]!, (o.daddr[0]! << 24) + (o.daddr[1]! << 16) + (o.daddr[2]! << 8) + o.daddr[3]!, 17, len);
      setU16(f, l4 + 6, 0);
      if (o.l4Csum === 'right') setU16(f, l4 + 6, inetChecksum(f, l4, len, ph) || 0xffff);
      else if (o.l4Csum === 'random') setU16(f, l4 + 6, (len * 7919) & 0xffff);
    }
    if (o.ipCsum) setU16(f, ip + 10, inetChecksum(f, ip, hlen));
    return f;
  });

const frame = fc.oneof(raw, eth, arp, ipv4);
/** A frame at a random offset inside a larger buffer of junk. */
const placed = fc.tuple(frame, fc.nat({ max: 40 }), fc.nat({ max: 40 }), fc.integer({ min: 0, max: 255 })).map(([f, before, after, junk]) => {
  const buf = new Uint8Array(before + f.length + after).fill(junk);
  buf.set(f, before);
  return { buf, off: before, len: f.length };
});

/** Drops on the way out (a reply can be one); the rest happen on the way in. */
const TX_REASONS = new Set<DropReason>(['IP_OUTNOROUTES', 'PKT_TOO_BIG', 'FULL_RING', 'NEIGH_QUEUEFULL', 'NEIGH_FAILED']);
const rxDrops = (s: NetStats) => DROP_REASONS.filter((r) => !TX_REASONS.has(r)).reduce((n, r) => n + s.drops[r], 0);

/** Frames taken by a protocol: valid ARP, valid ICMP, UDP delivered to a socket. */
const consumed = (s: NetStats) => s.arp.inRequests + s.arp.inReplies + (s.icmp.inMsgs - s.icmp.inErrors) + s.udp.inDatagrams;

describe('receive path (fast-check)', () => {
  it('never throws; each frame is dropped under exactly one receive reason (sending nothing, learning nothing) or taken by exactly one protocol', () => {
    fc.assert(
      fc.property(fc.array(placed, { minLength: 1, maxLength: 30 }), (frames) => {
        const c = cable();
        const S = new NetStack(c.a, { ip: IP_A, prefixLen: 24 });
        S.udp.echo();
        S.udp.bind(9, () => {});
        for (const { buf, off, len } of frames) {
          const before = S.stats();
          const neigh = JSON.stringify(S.arp.entries());
          expect(() => c.a.rxHandler?.(buf, off, len)).not.toThrow();
          const after = S.stats();
          const dropped = rxDrops(after) - rxDrops(before);
          const taken = consumed(after) - consumed(before);
          expect(after.link.rxPackets - before.link.rxPackets).toBe(1);
          expect(dropped + taken).toBe(1);
          if (dropped === 1) {
            expect(totalDrops(after)).toBe(totalDrops(before) + 1);
            expect(after.link.txPackets + after.link.txDropped).toBe(before.link.txPackets + before.link.txDropped);
            expect(JSON.stringify(S.arp.entries())).toBe(neigh);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('pure random bytes are all dropped and move only receive, error and drop counters', () => {
    // Everything else (deliveries, replies, transmissions) must stay at zero.
    const mayMove = /^(drops\..*|link\.rx.*|ip\.(inReceives|inHdrErrors|inCsumErrors|inTruncatedPkts|inAddrErrors|inUnknownProtos|reasmFails)|arp\.inErrors|icmp\.(inMsgs|inErrors|inCsumErrors)|udp\.(inErrors|inCsumErrors|noPorts))$/;
    fc.assert(
      fc.property(fc.array(raw, { maxLength: 20 }), (frames) => {
        const c = cable();
        const S = new NetStack(c.a, { ip: IP_A, prefixLen: 24 });
        for (const f of frames) c.a.rxHandler?.(f, 0, f.length);
        const s = S.stats();
        expect(totalDrops(s)).toBe(frames.length);
        const moved = Object.entries(s).flatMap(([group, counters]) => Object.entries(counters as Record<string, number>).filter(([, v]) => v !== 0).map(([k]) => `${group}.${k}`));
        expect(moved.filter((name) => !mayMove.test(name))).toEqual([]);
        expect(c.ab.length).toBe(0);
        expect(S.arp.entries()).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
});
