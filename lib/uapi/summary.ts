// A readable summary of the uAPI a profile has: per-header counts, the vhost request table
// and what the other profile lacks. What `vdpasim uapi` prints. Not a kernel file.

import {
  type HeaderItem,
  type HeaderSpec,
  type IoctlDecl,
  type UapiProfile,
  UAPI_HEADERS,
  UAPI_PROFILES,
  availableIn,
  constValueIn,
  enumValuesIn,
} from '../../uapi/index.js';

export interface HeaderCounts {
  file: string;
  consts: number;
  enumerators: number;
  structs: number;
  ioctls: number;
}

function present(item: HeaderItem, profile: UapiProfile): boolean {
  switch (item.kind) {
    case 'const':
      return constValueIn(item, profile) !== undefined;
    case 'struct':
      return availableIn(item.availability, profile);
    case 'ioctl':
      return availableIn(item.decl.availability, profile);
    default:
      return true;
  }
}

export function countHeader(spec: HeaderSpec, profile: UapiProfile): HeaderCounts {
  const c: HeaderCounts = { file: spec.file, consts: 0, enumerators: 0, structs: 0, ioctls: 0 };
  for (const item of spec.items) {
    if (!present(item, profile)) continue;
    if (item.kind === 'const') c.consts++;
    if (item.kind === 'enum') c.enumerators += enumValuesIn(item, profile).length;
    if (item.kind === 'struct') c.structs++;
    if (item.kind === 'ioctl') c.ioctls++;
  }
  return c;
}

/** Every ioctl declaration of the modelled headers. */
export function allIoctls(headers: readonly HeaderSpec[] = UAPI_HEADERS): IoctlDecl[] {
  return headers.flatMap((h) => h.items.flatMap((i) => (i.kind === 'ioctl' ? [i.decl] : [])));
}

/** Every name (constant, enumerator, struct, ioctl) a profile's headers define. */
export function namesIn(profile: UapiProfile, headers = UAPI_HEADERS): Set<string> {
  const names = new Set<string>();
  for (const h of headers) {
    for (const item of h.items) {
      if (!present(item, profile)) continue;
      if (item.kind === 'const') names.add(item.name);
      if (item.kind === 'enum') for (const m of enumValuesIn(item, profile)) names.add(m.name);
      if (item.kind === 'struct') names.add(`struct ${item.layout.name}`);
      if (item.kind === 'ioctl') names.add(item.decl.name);
    }
  }
  return names;
}

/** Names `from` defines that `profile` lacks. */
export function missingIn(profile: UapiProfile, from: UapiProfile, headers = UAPI_HEADERS): string[] {
  const have = namesIn(profile, headers);
  return [...namesIn(from, headers)].filter((n) => !have.has(n));
}

const hex = (n: number, width: number): string => `0x${n.toString(16).padStart(width, '0')}`;

export function summarizeUapi(profile: UapiProfile): string {
  const out: string[] = [];
  const counts = UAPI_HEADERS.map((h) => countHeader(h, profile));
  out.push(`vdpa-model uAPI, profile ${profile}: ${UAPI_HEADERS.length} headers`);
  out.push('');
  out.push(`${'header'.padEnd(24)}${'consts'.padStart(8)}${'enums'.padStart(8)}${'structs'.padStart(9)}${'ioctls'.padStart(8)}`);
  for (const c of counts) {
    out.push(
      `${c.file.padEnd(24)}${String(c.consts).padStart(8)}${String(c.enumerators).padStart(8)}${String(c.structs).padStart(9)}${String(c.ioctls).padStart(8)}`,
    );
  }
  const total = (k: keyof Omit<HeaderCounts, 'file'>): string => String(counts.reduce((s, c) => s + c[k], 0));
  out.push(`${'total'.padEnd(24)}${total('consts').padStart(8)}${total('enumerators').padStart(8)}${total('structs').padStart(9)}${total('ioctls').padStart(8)}`);
  out.push('');
  out.push('vhost requests (VHOST_VIRTIO 0xaf)');
  for (const d of allIoctls().filter((i) => i.typeName === 'VHOST_VIRTIO')) {
    const here = availableIn(d.availability, profile);
    const arg = d.arg ? `${d.arg.ctype} (${d.arg.size})` : '-';
    const flag = here ? '' : `  absent in ${profile}`;
    const since = d.since ? `  since ${d.since}` : '';
    out.push(`  ${d.name.padEnd(34)}${hex(d.request, 8)}  ${d.macro.padEnd(6)}nr ${hex(d.nr, 2)}  ${arg}${since}${flag}`);
  }
  for (const other of UAPI_PROFILES) {
    if (other === profile) continue;
    const lacks = missingIn(profile, other);
    const extra = missingIn(other, profile);
    out.push('');
    out.push(`${profile} lacks ${lacks.length} names that ${other} has; ${other} lacks ${extra.length} that ${profile} has.`);
  }
  return `${out.join('\n')}\n`;
}
