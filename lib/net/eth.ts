// Models: include/linux/etherdevice.h (is_multicast_ether_addr, is_broadcast_ether_addr,
// ether_addr_equal) and the constants of include/uapi/linux/if_ether.h and if_vlan.h.
// Deviations: addresses are (buffer, offset) pairs so a frame is never sliced; parseMac/formatMac
// stand in for the kernel's %pM and iproute2's ll_addr_a2n (colon form only).

import { ETH_ALEN } from '../../uapi/index.js';

export const ETH_HLEN = 14;
/** An Ethernet header with one 802.1Q tag (include/linux/if_vlan.h). */
export const VLAN_ETH_HLEN = 18;
export const ETH_P_IP = 0x0800;
export const ETH_P_ARP = 0x0806;
export const ETH_P_8021Q = 0x8100;

/** is_multicast_ether_addr(): the I/G bit, so broadcast counts too. */
export function isMulticastEther(buf: Uint8Array, off: number): boolean {
  return ((buf[off] as number) & 1) !== 0;
}

/** is_broadcast_ether_addr(): ff:ff:ff:ff:ff:ff. */
export function isBroadcastEther(buf: Uint8Array, off: number): boolean {
  for (let i = 0; i < ETH_ALEN; i++) if (buf[off + i] !== 0xff) return false;
  return true;
}

/** ether_addr_equal(): the six bytes at a[aOff] and b[bOff] are the same. */
export function etherAddrEqual(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number): boolean {
  for (let i = 0; i < ETH_ALEN; i++) if (a[aOff + i] !== b[bOff + i]) return false;
  return true;
}

const MAC_RE = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/i;

/** `aa:bb:cc:dd:ee:ff` (any case) to 6 bytes; undefined for anything else. */
export function parseMac(str: string): Uint8Array | undefined {
  if (!MAC_RE.test(str)) return undefined;
  const mac = new Uint8Array(ETH_ALEN);
  for (let i = 0; i < ETH_ALEN; i++) mac[i] = parseInt(str.slice(3 * i, 3 * i + 2), 16);
  return mac;
}

/** Six bytes from buf[off] as lowercase `aa:bb:cc:dd:ee:ff`. */
export function formatMac(buf: Uint8Array, off = 0): string {
  let s = '';
  for (let i = 0; i < ETH_ALEN; i++) {
    if (i) s += ':';
    s += (buf[off + i] ?? 0).toString(16).padStart(2, '0');
  }
  return s;
}
