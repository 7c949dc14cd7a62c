// The numeric facts a profile's uAPI declarations state (every constant, enumerator, ioctl
// number, struct size, member offset and member size), and the C program that prints the same
// facts as a compiler sees them through a given set of includes.

import {
  type UapiProfile,
  UAPI_HEADERS,
  availableIn,
  constValueIn,
  enumValuesIn,
  type HeaderSpec,
} from '../../uapi/index.js';

/** The machine's real uAPI headers for every header the model describes. */
export const REAL_INCLUDES: readonly string[] = [
  '<errno.h>',
  '<fcntl.h>',
  '<sys/eventfd.h>',
  '<linux/mman.h>',
  '<linux/memfd.h>',
  '<poll.h>',
  '<asm/resource.h>',
  '<string.h>',
  '<sys/socket.h>',
  '<sys/ioctl.h>',
  '<linux/version.h>',
  '<linux/if.h>',
  '<linux/netlink.h>',
  '<linux/genetlink.h>',
  '<linux/if_tun.h>',
  '<linux/vhost.h>',
  '<linux/vdpa.h>',
  '<linux/virtio_blk.h>',
  '<linux/virtio_config.h>',
  '<linux/virtio_ids.h>',
  '<linux/virtio_net.h>',
  '<linux/virtio_pci.h>',
  '<linux/pci_regs.h>',
  '<linux/virtio_ring.h>',
];

export interface Fact {
  key: string;
  /** Expected value: unsigned 64-bit decimal for numbers, the text for strings. */
  value: string;
  /** C expression that prints it. */
  cexpr: string;
  string?: boolean;
}

const u64 = (v: number | bigint): string => BigInt.asUintN(64, BigInt(v)).toString();

export function uapiFacts(profile: UapiProfile, headers: readonly HeaderSpec[] = UAPI_HEADERS): Fact[] {
  const facts: Fact[] = [];
  for (const h of headers) {
    for (const item of h.items) {
      if (item.kind === 'const') {
        const v = constValueIn(item, profile);
        if (v === undefined) continue;
        if (typeof v === 'string') facts.push({ key: item.name, value: v, cexpr: item.name, string: true });
        else facts.push({ key: item.name, value: u64(v), cexpr: item.name });
      } else if (item.kind === 'enum') {
        for (const m of enumValuesIn(item, profile)) facts.push({ key: m.name, value: u64(m.value), cexpr: m.name });
      } else if (item.kind === 'ioctl') {
        if (!availableIn(item.decl.availability, profile)) continue;
        facts.push({ key: item.decl.name, value: u64(item.decl.request), cexpr: item.decl.name });
      } else if (item.kind === 'struct') {
        if (!availableIn(item.availability, profile)) continue;
        const t = `struct ${item.layout.name}`;
        facts.push({ key: `sizeof(${t})`, value: u64(item.layout.size), cexpr: `sizeof(${t})` });
        for (const p of item.layout.paths()) {
          facts.push({ key: `offsetof(${t}, ${p.path})`, value: u64(p.offset), cexpr: `offsetof(${t}, ${p.path})` });
          // Flexible array members have no size.
          if (p.size > 0) {
            facts.push({ key: `sizeof(${t}.${p.path})`, value: u64(p.size), cexpr: `sizeof(((${t} *)0)->${p.path})` });
          }
        }
      }
    }
  }
  return facts;
}

/** A C program printing `key=value` for every fact, compiled against `includes`. */
export function factProgram(facts: readonly Fact[], includes: readonly string[]): string {
  const lines = facts.map((f) =>
    f.string
      ? `\tprintf("%s=%s\\n", ${JSON.stringify(f.key)}, ${f.cexpr});`
      : `\tprintf("%s=%llu\\n", ${JSON.stringify(f.key)}, (unsigned long long)(${f.cexpr}));`,
  );
  return [
    '#include <stddef.h>',
    '#include <stdio.h>',
    ...includes.map((i) => `#include ${i}`),
    '',
    'int main(void)',
    '{',
    ...lines,
    '\treturn 0;',
    '}',
    '',
  ].join('\n');
}

export function parseFactOutput(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return out;
}
