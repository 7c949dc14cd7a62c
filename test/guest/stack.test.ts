// The stack's Ethernet receive (eth_type_trans and the EtherType dispatch), its counters as one
// plain object, and a MAC change at run time.

import { describe, expect, it } from 'vitest';
import { DROP_REASONS, NetStack } from '../../sim/guest/net/index.js';
import { IP_A, IP_B, MAC_A, cable, hex, toHex, totalDrops, twoStacks } from './helpers.js';

function alone() {
  const c = cable();
  const A = new NetStack(c.a, { ip: IP_A, prefixLen: 24 });
  const feed = (f: Uint8Array) => {
    c.ba.inject(f);
    c.ba.deliver();
  };
  return { ...c, A, feed };
}

/** A 60-byte frame to `dst` with EtherType `type` and zero payload. */
function frame(dst: string, type: number): Uint8Array {
  const f = new Uint8Array(60);
  f.set(hex(dst.replace(/:/g, '')));
  f.set(hex('02 00 00 00 00 99'), 6);
  f[12] = type >>> 8;
  f[13] = type & 0xff;
  return f;
}

describe('Ethernet receive', () => {
  it('a frame shorter than the 14-byte header is a PKT_TOO_SMALL drop, still counted received', () => {
    const { A, feed } = alone();
    feed(hex('02 00 00 00 00 0a 02 00 00 00 00 99 08'));
    expect(A.stats().drops.PKT_TOO_SMALL).toBe(1);
    expect(A.stats().link).toMatchObject({ rxPackets: 1, rxBytes: 13 });
  });

  it('a frame for another MAC is an OTHERHOST drop', () => {
    const { A, feed } = alone();
    feed(frame('02:00:00:00:00:0c', 0x0800));
    expect(A.stats().drops.OTHERHOST).toBe(1);
    expect(A.stats().ip.inReceives).toBe(0);
  });

  it('a multicast frame is an OTHERHOST drop (no groups joined)', () => {
    const { A, feed } = alone();
    feed(frame('01:00:5e:00:00:01', 0x0800));
    expect(A.stats().drops.OTHERHOST).toBe(1);
  });

  it('an 802.1Q-tagged frame is an UNHANDLED_PROTO drop, counted rxVlan', () => {
    const { A, feed } = alone();
    feed(frame(MAC_A, 0x8100));
    expect(A.stats().drops.UNHANDLED_PROTO).toBe(1);
    expect(A.stats().link.rxVlan).toBe(1);
  });

  it('an unknown EtherType (IPv6, 0x86dd) is an UNHANDLED_PROTO drop', () => {
    const { A, feed } = alone();
    feed(frame(MAC_A, 0x86dd));
    feed(frame('ff:ff:ff:ff:ff:ff', 0x0005)); // an 802.3 length field
    expect(A.stats().drops.UNHANDLED_PROTO).toBe(2);
    expect(A.stats().link.rxVlan).toBe(0);
  });

  it('broadcast and our own MAC reach the protocols', () => {
    const { A, feed } = alone();
    feed(frame(MAC_A, 0x0800));
    feed(frame('ff:ff:ff:ff:ff:ff', 0x0806));
    expect(A.stats().ip.inReceives).toBe(1);
    expect(A.stats().arp.inErrors).toBe(1);
  });

  it('after a MAC change, frames for the new MAC are ours, the old MAC is another host, and we send from the new one', () => {
    const { A, a, ab, feed } = alone();
    a.setMac('02:00:00:00:00:aa');
    feed(frame(MAC_A, 0x86dd));
    expect(A.stats().drops.OTHERHOST).toBe(1);
    feed(frame('02:00:00:00:00:aa', 0x86dd));
    expect(A.stats().drops.UNHANDLED_PROTO).toBe(1);
    A.arp.resolve(IP_B);
    expect(toHex(ab.at(0).subarray(6, 12))).toBe('02 00 00 00 00 aa');
  });
});

describe('counters', () => {
  it('stats() is a plain copy: every drop reason present, JSON round-trips, later traffic does not change it', () => {
    const { A, B, settle } = twoStacks();
    A.ping(IP_B, { count: 2 });
    settle();
    const s = A.stats();
    expect(Object.keys(s.drops).sort()).toEqual([...DROP_REASONS].sort());
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
    B.ping(IP_A);
    settle();
    expect(A.stats()).not.toEqual(s);
    expect(s.icmp.inEchos).toBe(0);
  });

  it('counts frames and bytes both ways: an ARP exchange and two pings', () => {
    const { A, B, settle } = twoStacks();
    A.ping(IP_B, { count: 2, size: 10 });
    settle();
    // A: ARP request (42) + 2 requests (14 + 20 + 8 + 10 = 52); B: ARP reply (42) + 2 replies.
    expect(A.stats().link).toMatchObject({ txPackets: 3, txBytes: 42 + 2 * 52, rxPackets: 3, rxBytes: 42 + 2 * 52, txDropped: 0 });
    expect(B.stats().link).toMatchObject({ txPackets: 3, rxPackets: 3 });
    expect(totalDrops(A.stats()) + totalDrops(B.stats())).toBe(0);
  });
});
