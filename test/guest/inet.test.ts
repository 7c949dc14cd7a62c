// The guest stack's byte-level pieces: the Internet checksum against RFC 1071 and a well-known
// IPv4 header, the pseudo-header sum, IPv4 address parsing and formatting, the numbers.

import { describe, expect, it } from 'vitest';
import { ipv4Checksum } from '../helpers/frames.js';
import {
  ETH_P_ARP,
  ETH_P_IP,
  IPPROTO_ICMP,
  IPPROTO_UDP,
  formatIpv4,
  inetChecksum,
  parseIpv4,
  pseudoHeaderSum,
  toIpv4,
} from '../../sim/guest/net/index.js';
import { hex } from './helpers.js';

describe('inetChecksum (RFC 1071)', () => {
  it('gives 0x220d for the RFC 1071 §3 example bytes 00 01 f2 03 f4 f5 f6 f7 (sum 0xddf2)', () => {
    expect(inetChecksum(hex('00 01 f2 03 f4 f5 f6 f7'), 0, 8)).toBe(0x220d);
  });

  it('gives 0xb861 for the well-known header 4500 0073 0000 4000 4011 .... c0a8 0001 c0a8 00c7', () => {
    const h = hex('4500 0073 0000 4000 4011 0000 c0a8 0001 c0a8 00c7');
    expect(inetChecksum(h, 0, 20)).toBe(0xb861);
  });

  it('is 0 over data that carries its correct checksum', () => {
    expect(inetChecksum(hex('4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7'), 0, 20)).toBe(0);
  });

  it('covers only buf[off, off + len)', () => {
    const b = hex('ffff 00 01 f2 03 f4 f5 f6 f7 ffff');
    expect(inetChecksum(b, 2, 8)).toBe(0x220d);
  });

  it('pads an odd last byte with a zero low byte', () => {
    expect(inetChecksum(hex('01'), 0, 1)).toBe(0xfeff);
    expect(inetChecksum(hex('00 01 f2'), 0, 3)).toBe(~(0x0001 + 0xf200) & 0xffff);
  });

  it('adds the initial sum as if its words preceded the data', () => {
    const pseudo = hex('0a00 0001 0a00 0002 0011 000d');
    const data = hex('8000 0007 000d 0000 68 65 6c 6c 6f');
    const both = new Uint8Array([...pseudo, ...data]);
    const initial = pseudoHeaderSum(0x0a000001, 0x0a000002, 17, 13);
    expect(inetChecksum(data, 0, data.length, initial)).toBe(inetChecksum(both, 0, both.length));
    expect(inetChecksum(data, 0, data.length, initial)).toBe(ipv4Checksum(both));
  });

  it('folds a partial sum whose own fold carries again (0x2ffff -> 0x10001 -> 0x0002)', () => {
    expect(inetChecksum(new Uint8Array(0), 0, 0, 0x2ffff)).toBe(0xfffd);
  });

  it('folds carries of sums past 2^32 (140000 bytes of 0xff sum to 0xffff, checksum 0)', () => {
    expect(inetChecksum(new Uint8Array(140_000).fill(0xff), 0, 140_000)).toBe(0);
  });

  it('agrees with an independent implementation on random data', () => {
    let x = 12345;
    for (let n = 1; n < 300; n += 7) {
      const b = Uint8Array.from({ length: n }, () => (x = (x * 1103515245 + 12345) >>> 0) >>> 24);
      expect(inetChecksum(b, 0, n), `length ${n}`).toBe(ipv4Checksum(b));
    }
  });
});

describe('pseudoHeaderSum', () => {
  it('sums source, destination, protocol and length as 16-bit words', () => {
    expect(pseudoHeaderSum(0xc0a80001, 0xc0a800c7, 17, 0x1c)).toBe(0xc0a8 + 0x0001 + 0xc0a8 + 0x00c7 + 17 + 0x1c);
  });
});

describe('IPv4 addresses', () => {
  it('parse a dotted quad to a u32 in network order', () => {
    expect(parseIpv4('10.0.0.1')).toBe(0x0a000001);
    expect(parseIpv4('192.168.0.199')).toBe(0xc0a800c7);
    expect(parseIpv4('255.255.255.255')).toBe(0xffffffff);
    expect(parseIpv4('0.0.0.0')).toBe(0);
  });

  it('format a u32 as a dotted quad', () => {
    expect(formatIpv4(0x0a000001)).toBe('10.0.0.1');
    expect(formatIpv4(0xffffffff)).toBe('255.255.255.255');
    expect(formatIpv4(parseIpv4('172.16.254.3'))).toBe('172.16.254.3');
  });

  it('reject what inet_pton rejects: octets over 255, short forms, leading zeros, junk', () => {
    for (const bad of ['256.0.0.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.4 ', '', 'a.b.c.d', '-1.2.3.4', '1..2.3']) {
      expect(() => parseIpv4(bad), bad).toThrow(RangeError);
    }
  });

  it('toIpv4 takes a string or a u32 and refuses other numbers', () => {
    expect(toIpv4('10.0.0.2')).toBe(0x0a000002);
    expect(toIpv4(0xc0a80001)).toBe(0xc0a80001);
    for (const bad of [-1, 2 ** 32, 1.5, Number.NaN]) expect(() => toIpv4(bad), String(bad)).toThrow(RangeError);
  });
});

describe('protocol numbers', () => {
  it('are the kernel values (in.h, if_ether.h)', () => {
    expect([IPPROTO_ICMP, IPPROTO_UDP, ETH_P_IP, ETH_P_ARP]).toEqual([1, 17, 0x0800, 0x0806]);
  });
});
