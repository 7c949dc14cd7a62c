// ARP and the neighbour cache (RFC 826, net/ipv4/arp.c with the default sysctls): replies,
// learning, resolution with a bounded queue and retries, gratuitous ARP, malformed packets.

import { describe, expect, it } from 'vitest';
import { NetStack } from '../../sim/guest/net/index.js';
import { IP_A, IP_B, MAC_A, MAC_B, cable, hex, loopback, toHex, twoStacks } from './helpers.js';

const BCAST = 'ff ff ff ff ff ff';
const mac = (m: string) => m.replace(/:/g, ' ');
const ip = (a: string) =>
  a
    .split('.')
    .map((x) => Number(x).toString(16).padStart(2, '0'))
    .join(' ');

/** An Ethernet frame with an ARP packet for IPv4 (RFC 826 layout), as hex. */
function arp(o: { dst: string; src: string; op: 1 | 2; sha: string; sip: string; tha: string; tip: string }): string {
  return `${o.dst} ${o.src} 08 06  00 01 08 00 06 04 00 0${o.op}  ${o.sha} ${ip(o.sip)} ${o.tha} ${ip(o.tip)}`;
}

const HOST_MAC = '02:00:00:00:00:99';
const HOST_IP = '10.0.0.99';
const ZERO = '00 00 00 00 00 00';

/** Stack A alone on a cable: the test plays the far side. */
function alone(opts: { unresQlen?: number; mcastSolicit?: number } = {}) {
  const c = cable();
  const A = new NetStack(c.a, { ip: IP_A, prefixLen: 24, ...opts });
  return { ...c, A };
}

const requestFromHost = (tip = IP_A) => hex(arp({ dst: BCAST, src: mac(HOST_MAC), op: 1, sha: mac(HOST_MAC), sip: HOST_IP, tha: ZERO, tip }));

describe('ARP replies', () => {
  it('a request for our address gets a unicast reply from our MAC to the asker, byte for byte', () => {
    const { A, ab, ba } = alone();
    ba.inject(requestFromHost());
    ba.deliver();
    expect(ab.frames().map(toHex)).toEqual([toHex(hex(arp({ dst: mac(HOST_MAC), src: mac(MAC_A), op: 2, sha: mac(MAC_A), sip: IP_A, tha: mac(HOST_MAC), tip: HOST_IP })))]);
    expect(A.stats().arp).toMatchObject({ inRequests: 1, outReplies: 1 });
  });

  it('a request for our address teaches us the asker (STALE) without a request of our own', () => {
    const { A, ab, ba } = alone();
    ba.inject(requestFromHost());
    ba.deliver();
    expect(A.arp.entries()).toEqual([{ ip: HOST_IP, mac: HOST_MAC, state: 'STALE', queued: 0, probes: 0 }]);
    ab.drop(1);
    A.udp.bind(5000).sendto(hex('01'), 0, 1, HOST_IP, 9);
    expect(ab.length).toBe(1);
    expect(toHex(ab.at(0).subarray(0, 14))).toBe(`${mac(HOST_MAC)} ${mac(MAC_A)} 08 00`);
  });

  it('a request for another address gets no reply and creates no entry (counted inIgnored)', () => {
    const { A, ab, ba } = alone();
    ba.inject(requestFromHost('10.0.0.77'));
    ba.deliver();
    expect(ab.length).toBe(0);
    expect(A.arp.entries()).toEqual([]);
    expect(A.stats().arp).toMatchObject({ inRequests: 1, inIgnored: 1, outReplies: 0 });
  });

  it('a request for another address refreshes an entry we already have', () => {
    const { A, ba } = alone();
    ba.inject(requestFromHost());
    ba.inject(hex(arp({ dst: BCAST, src: '02 00 00 00 00 98', op: 1, sha: '02 00 00 00 00 98', sip: HOST_IP, tha: ZERO, tip: '10.0.0.77' })));
    ba.deliver();
    expect(A.arp.lookup(HOST_IP)).toBe('02:00:00:00:00:98');
    expect(A.stats().arp.inIgnored).toBe(0);
  });

  it('a DAD probe (sender 0.0.0.0) for our address is answered with target 0.0.0.0 and teaches nothing', () => {
    const { A, ab, ba } = alone();
    ba.inject(hex(arp({ dst: BCAST, src: mac(HOST_MAC), op: 1, sha: mac(HOST_MAC), sip: '0.0.0.0', tha: ZERO, tip: IP_A })));
    ba.deliver();
    expect(ab.frames().map(toHex)).toEqual([toHex(hex(arp({ dst: mac(HOST_MAC), src: mac(MAC_A), op: 2, sha: mac(MAC_A), sip: IP_A, tha: mac(HOST_MAC), tip: '0.0.0.0' })))]);
    expect(A.arp.entries()).toEqual([]);
  });

  it('Ethernet padding behind the ARP packet (a 60-byte frame) is ignored', () => {
    const { A, ab, ba } = alone();
    const frame = new Uint8Array(60);
    frame.set(requestFromHost());
    ba.inject(frame);
    ba.deliver();
    expect(ab.length).toBe(1);
    expect(A.stats().arp.inErrors).toBe(0);
  });
});

describe('ARP resolution', () => {
  it('broadcasts a request with a zero target hardware address, byte for byte', () => {
    const { A, ab } = alone();
    expect(A.arp.resolve(IP_B)).toBe(false);
    expect(ab.frames().map(toHex)).toEqual([toHex(hex(arp({ dst: BCAST, src: mac(MAC_A), op: 1, sha: mac(MAC_A), sip: IP_A, tha: ZERO, tip: IP_B })))]);
    expect(A.arp.entries()).toEqual([{ ip: IP_B, mac: undefined, state: 'INCOMPLETE', queued: 0, probes: 1 }]);
  });

  it('a reply resolves the neighbour (REACHABLE) and sends the packets that waited, in order', () => {
    const { A, B, ab, ba, settle } = twoStacks();
    const got: number[] = [];
    B.udp.bind(9, (buf, off) => got.push(buf[off] as number));
    const s = A.udp.bind(5000);
    for (let i = 0; i < 3; i++) expect(s.sendto(Uint8Array.of(i), 0, 1, IP_B, 9)).toBe(true);
    expect(ab.length).toBe(1); // only the request: the datagrams wait
    expect(A.arp.entries()[0]).toMatchObject({ state: 'INCOMPLETE', queued: 3 });
    ab.deliver();
    expect(ba.length).toBe(1);
    ba.deliver();
    expect(A.arp.entries()).toEqual([{ ip: IP_B, mac: MAC_B, state: 'REACHABLE', queued: 0, probes: 0 }]);
    settle();
    expect(got).toEqual([0, 1, 2]);
  });

  it('resolve() is true for a resolved neighbour and sends no second request while one is resolving', () => {
    const { A, ab, ba, settle } = twoStacks();
    expect(A.arp.resolve(IP_B)).toBe(false);
    expect(A.arp.resolve(IP_B)).toBe(false);
    expect(ab.length).toBe(1);
    settle();
    expect(ba.length).toBe(0);
    expect(A.arp.resolve(IP_B)).toBe(true);
    expect(ab.length).toBe(0);
  });

  it('the pending queue keeps the newest unresQlen packets; older ones are NEIGH_QUEUEFULL drops', () => {
    const { A, B, settle } = twoStacks({ stackA: { unresQlen: 2 } });
    const got: number[] = [];
    B.udp.bind(9, (buf, off) => got.push(buf[off] as number));
    const s = A.udp.bind(5000);
    for (let i = 0; i < 5; i++) s.sendto(Uint8Array.of(i), 0, 1, IP_B, 9);
    expect(A.stats().drops.NEIGH_QUEUEFULL).toBe(3);
    settle();
    expect(got).toEqual([3, 4]);
  });

  it('each tick() sends another request; after mcastSolicit of them the neighbour FAILS and its packets are NEIGH_FAILED drops', () => {
    const { A, ab } = alone({ mcastSolicit: 3 });
    const s = A.udp.bind(5000);
    s.sendto(hex('01'), 0, 1, IP_B, 9);
    s.sendto(hex('02'), 0, 1, IP_B, 9);
    A.tick();
    A.tick();
    expect(ab.length).toBe(3);
    expect(A.stats().drops.NEIGH_FAILED).toBe(0);
    A.tick();
    expect(ab.length).toBe(3);
    expect(A.arp.entries()).toEqual([{ ip: IP_B, mac: undefined, state: 'FAILED', queued: 0, probes: 3 }]);
    expect(A.stats().drops.NEIGH_FAILED).toBe(2);
  });

  it('a packet to a FAILED neighbour starts resolution over', () => {
    const { A, ab } = alone({ mcastSolicit: 1 });
    const s = A.udp.bind(5000);
    s.sendto(hex('01'), 0, 1, IP_B, 9);
    A.tick();
    expect(A.arp.entries()[0]?.state).toBe('FAILED');
    ab.drop(ab.length);
    s.sendto(hex('02'), 0, 1, IP_B, 9);
    expect(ab.length).toBe(1);
    expect(A.arp.entries()[0]).toMatchObject({ state: 'INCOMPLETE', queued: 1, probes: 1 });
  });

  it('an unsolicited reply creates no entry (arp_accept=0)', () => {
    const { A, ba } = alone();
    ba.inject(hex(arp({ dst: mac(MAC_A), src: mac(HOST_MAC), op: 2, sha: mac(HOST_MAC), sip: HOST_IP, tha: mac(MAC_A), tip: IP_A })));
    ba.deliver();
    expect(A.arp.entries()).toEqual([]);
    expect(A.stats().arp).toMatchObject({ inReplies: 1, inIgnored: 1 });
  });
});

describe('gratuitous ARP', () => {
  it('announce() broadcasts a request whose sender and target are our address, from our current MAC', () => {
    const { A, a, ab } = alone();
    a.setMac('02:00:00:00:00:aa');
    A.arp.announce();
    expect(ab.frames().map(toHex)).toEqual([toHex(hex(arp({ dst: BCAST, src: '02 00 00 00 00 aa', op: 1, sha: '02 00 00 00 00 aa', sip: IP_A, tha: ZERO, tip: IP_A })))]);
    expect(A.stats().arp.outRequests).toBe(1);
  });

  it("after a MAC change, the announcement updates the peer's entry and traffic follows the new MAC", () => {
    const { A, B, a, ab, ba, settle } = twoStacks();
    const got: number[] = [];
    A.udp.bind(9, (buf, off) => got.push(buf[off] as number));
    B.ping(IP_A);
    settle();
    expect(B.arp.lookup(IP_A)).toBe(MAC_A);
    a.setMac('02:00:00:00:00:aa');
    A.arp.announce();
    ab.deliver();
    expect(B.arp.lookup(IP_A)).toBe('02:00:00:00:00:aa');
    B.udp.bind(5000).sendto(hex('07'), 0, 1, IP_A, 9);
    expect(toHex(ba.at(0).subarray(0, 6))).toBe('02 00 00 00 00 aa');
    settle();
    expect(got).toEqual([7]);
  });

  it('an announcement from a host we do not know teaches nothing', () => {
    const { A, ba } = alone();
    ba.inject(hex(arp({ dst: BCAST, src: mac(HOST_MAC), op: 1, sha: mac(HOST_MAC), sip: HOST_IP, tha: ZERO, tip: HOST_IP })));
    ba.deliver();
    expect(A.arp.entries()).toEqual([]);
  });

  it('our own announcement looped back by the device is ignored, not answered', () => {
    const lo = loopback();
    const S = new NetStack(lo.dev, { ip: IP_A, prefixLen: 24 });
    S.arp.announce();
    lo.settle();
    expect(S.stats().arp).toMatchObject({ inRequests: 1, inIgnored: 1, outReplies: 0 });
    expect(S.arp.entries()).toEqual([]);
  });
});

describe('malformed ARP', () => {
  it('shorter than 28 bytes: a PKT_TOO_SMALL drop, counted inErrors', () => {
    const { A, ab, ba } = alone();
    ba.inject(requestFromHost().subarray(0, 14 + 27));
    ba.deliver();
    expect(ab.length).toBe(0);
    expect(A.stats().drops.PKT_TOO_SMALL).toBe(1);
    expect(A.stats().arp.inErrors).toBe(1);
  });

  it.each([
    ['hardware type 6 (IEEE 802)', 14, 0x00, 0x06],
    ['protocol 0x86dd', 16, 0x86, 0xdd],
    ['hardware address length 8', 18, 0x08, 0x04],
    ['protocol address length 16', 18, 0x06, 0x10],
    ['opcode 3 (RARP)', 20, 0x00, 0x03],
  ])('%s: dropped NOT_SPECIFIED, no reply, nothing learned', (_what, at, b0, b1) => {
    const { A, ab, ba } = alone();
    const f = requestFromHost();
    f[at] = b0;
    f[at + 1] = b1;
    ba.inject(f);
    ba.deliver();
    expect(ab.length).toBe(0);
    expect(A.arp.entries()).toEqual([]);
    expect(A.stats().drops.NOT_SPECIFIED).toBe(1);
    expect(A.stats().arp).toMatchObject({ inErrors: 1, inRequests: 0 });
  });
});
