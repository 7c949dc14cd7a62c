// Names for numbers, read from the uAPI declarations: which feature bit, status bit or backend
// feature a value holds, as a profile's headers spell it. What `vdpasim dump` decodes with.
// Not a kernel file.

import { type UapiProfile, UAPI_HEADERS, constValueIn } from '../../uapi/index.js';

/**
 * Value -> name (the prefix removed) of every numeric constant named `prefix`... that the
 * profile's headers define. Aliases (a constant defined as another one, like
 * VIRTIO_F_IOMMU_PLATFORM) are left out so each value keeps its primary name.
 */
export function constNames(profile: UapiProfile, prefix: string): Map<number, string> {
  const names = new Map<number, string>();
  for (const h of UAPI_HEADERS) {
    for (const item of h.items) {
      if (item.kind !== 'const' || !item.name.startsWith(prefix) || /^[A-Za-z_]\w*$/.test(item.expr ?? '')) continue;
      const v = constValueIn(item, profile);
      if (typeof v === 'number' && !names.has(v)) names.set(v, item.name.slice(prefix.length));
    }
  }
  return names;
}

/** The names of the set bits of `value` (bit numbers looked up in `names`; others as bit_N), low bit first. */
export function bitNames(value: bigint, names: ReadonlyMap<number, string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < 64; i++) if (value & (1n << BigInt(i))) out.push(names.get(i) ?? `bit_${i}`);
  return out;
}
