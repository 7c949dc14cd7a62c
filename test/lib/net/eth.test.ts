// Ethernet helpers: address classes and comparison as include/linux/etherdevice.h defines them,
// MAC text in the colon form iproute2 prints.

import { describe, expect, it } from 'vitest';
import {
  ETH_HLEN,
  ETH_P_8021Q,
  ETH_P_ARP,
  ETH_P_IP,
  VLAN_ETH_HLEN,
  etherAddrEqual,
  formatMac,
  isBroadcastEther,
  isMulticastEther,
  parseMac,
} from '../../../lib/net/index.js';

const bytes = (...b: number[]) => Uint8Array.from(b);

describe('constants', () => {
  it('are the if_ether.h / if_vlan.h values', () => {
    expect([ETH_HLEN, VLAN_ETH_HLEN, ETH_P_IP, ETH_P_ARP, ETH_P_8021Q]).toEqual([14, 18, 0x0800, 0x0806, 0x8100]);
  });
});

describe('isMulticastEther', () => {
  it('is the low bit of the first octet', () => {
    expect(isMulticastEther(bytes(0x01, 0, 0x5e, 0, 0, 1), 0)).toBe(true);
    expect(isMulticastEther(bytes(0x33, 0x33, 0, 0, 0, 1), 0)).toBe(true);
    expect(isMulticastEther(bytes(0x02, 0, 0, 0, 0, 1), 0)).toBe(false);
  });

  it('counts broadcast as multicast', () => {
    expect(isMulticastEther(new Uint8Array(6).fill(0xff), 0)).toBe(true);
  });

  it('reads at the offset it is given', () => {
    expect(isMulticastEther(bytes(0x00, 0x01), 1)).toBe(true);
    expect(isMulticastEther(bytes(0x01, 0x00), 1)).toBe(false);
  });
});

describe('isBroadcastEther', () => {
  it('is true only for ff:ff:ff:ff:ff:ff', () => {
    expect(isBroadcastEther(new Uint8Array(6).fill(0xff), 0)).toBe(true);
    expect(isBroadcastEther(bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0xfe), 0)).toBe(false);
    expect(isBroadcastEther(bytes(0x01, 0xff, 0xff, 0xff, 0xff, 0xff), 0)).toBe(false);
  });

  it('reads at the offset it is given', () => {
    expect(isBroadcastEther(bytes(0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), 1)).toBe(true);
  });

  it('is false when the buffer ends before six bytes', () => {
    expect(isBroadcastEther(bytes(0xff, 0xff, 0xff), 0)).toBe(false);
  });
});

describe('etherAddrEqual', () => {
  const a = bytes(9, 0x52, 0x54, 0, 0x12, 0x34, 0x56);
  it('compares six bytes at two offsets', () => {
    expect(etherAddrEqual(a, 1, bytes(0x52, 0x54, 0, 0x12, 0x34, 0x56), 0)).toBe(true);
  });

  it('is false when any byte differs, the last one included', () => {
    expect(etherAddrEqual(a, 1, bytes(0x52, 0x54, 0, 0x12, 0x34, 0x57), 0)).toBe(false);
    expect(etherAddrEqual(a, 1, bytes(0x53, 0x54, 0, 0x12, 0x34, 0x56), 0)).toBe(false);
  });

  it('ignores bytes after the sixth', () => {
    expect(etherAddrEqual(bytes(1, 2, 3, 4, 5, 6, 7), 0, bytes(1, 2, 3, 4, 5, 6, 8), 0)).toBe(true);
  });
});

describe('parseMac', () => {
  it('parses aa:bb:cc:dd:ee:ff', () => {
    expect(parseMac('52:54:00:12:34:56')).toEqual(bytes(0x52, 0x54, 0, 0x12, 0x34, 0x56));
  });

  it('accepts either case', () => {
    expect(parseMac('AA:bb:Cc:dD:EE:ff')).toEqual(bytes(0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff));
  });

  it.each([
    ['empty', ''],
    ['five octets', '52:54:00:12:34'],
    ['seven octets', '52:54:00:12:34:56:78'],
    ['one-digit octet', '2:54:00:12:34:56'],
    ['three-digit octet', '052:54:00:12:34:56'],
    ['dashes', '52-54-00-12-34-56'],
    ['no separators', '525400123456'],
    ['non-hex digit', '52:54:00:12:34:5g'],
    ['leading space', ' 52:54:00:12:34:56'],
    ['trailing newline', '52:54:00:12:34:56\n'],
  ])('rejects %s', (_name, text) => {
    expect(parseMac(text)).toBeUndefined();
  });
});

describe('formatMac', () => {
  it('prints lowercase, zero-padded, colon-separated', () => {
    expect(formatMac(bytes(0xaa, 0x0b, 0, 0x12, 0xcd, 0xef))).toBe('aa:0b:00:12:cd:ef');
  });

  it('reads six bytes at the offset it is given', () => {
    expect(formatMac(bytes(0xff, 1, 2, 3, 4, 5, 6, 0xff), 1)).toBe('01:02:03:04:05:06');
  });

  it('round-trips with parseMac', () => {
    const text = 'fe:dc:ba:98:76:54';
    expect(formatMac(parseMac(text) as Uint8Array)).toBe(text);
  });
});
