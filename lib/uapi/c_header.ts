// Renders the uAPI declarations as one standalone C header (only <linux/types.h> and
// <linux/ioctl.h> are included), so a uAPI prototype in TypeScript becomes a header patch.
// Not a kernel file.

import {
  type ConstItem,
  type ConstValue,
  type EnumItem,
  type Field,
  type FieldSpec,
  type HeaderItem,
  type HeaderSpec,
  type IoctlDecl,
  type Layout,
  type UapiProfile,
  UAPI_HEADERS,
  availableIn,
  constValueIn,
  enumValuesIn,
} from '../../uapi/index.js';

const IOC_DIR_NAME = ['_IOC_NONE', '_IOC_WRITE', '_IOC_READ', '_IOC_READ|_IOC_WRITE'];

export function formatConst(value: ConstValue, hex = false): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `0x${value.toString(16)}ULL`;
  if (value < 0) return String(value);
  return hex ? `0x${value.toString(16)}` : String(value);
}

function renderConst(item: ConstItem, profile: UapiProfile): string | undefined {
  const value = constValueIn(item, profile);
  if (value === undefined) return undefined;
  // An expression only stands for the value it was written for; a profile override prints as a number.
  const overridden = item.values?.[profile] !== undefined;
  const text = item.expr !== undefined && !overridden ? item.expr : formatConst(value, item.hex);
  const define = `#define ${item.name}\t${text}`;
  return item.comment ? `/* ${item.comment} */\n${define}` : define;
}

function renderEnum(item: EnumItem, profile: UapiProfile): string {
  const lines = enumValuesIn(item, profile).map((m) => `\t${m.name} = ${m.alias ?? m.value},`);
  return `enum ${item.tag ? `${item.tag} ` : ''}{\n${lines.join('\n')}\n};`;
}

function renderMembers(spec: FieldSpec, depth: number): string[] {
  return Object.entries(spec).flatMap(([name, f]) => renderField(name, f, depth));
}

function block(keyword: 'struct' | 'union', tag: string, spec: FieldSpec, depth: number, tail: string): string[] {
  const pad = '\t'.repeat(depth);
  return [`${pad}${keyword} ${tag ? `${tag} ` : ''}{`, ...renderMembers(spec, depth + 1), `${pad}}${tail};`];
}

function renderField(name: string, f: Field, depth: number): string[] {
  const pad = '\t'.repeat(depth);
  const at = depth === 1 ? `\t/* ${f.offset} */` : '';
  switch (f.kind) {
    case 'scalar':
      return [`${pad}${f.ctype} ${name};${at}`];
    case 'bytes':
      return [`${pad}${f.ctype} ${name}[${f.size}];${at}`];
    case 'flex':
      return [`${pad}${f.ctype} ${name}[]${f.dims};${at}`];
    case 'array':
      if (f.elem.kind === 'scalar') return [`${pad}${f.elem.ctype} ${name}[${f.count}];${at}`];
      return block('struct', f.elem.layout.name, f.elem.layout.fields, depth, ` ${name}[${f.count}]`);
    case 'struct':
      if (!f.inline) return [`${pad}struct ${f.layout.name} ${name};${at}`];
      return block('struct', f.layout.name, f.layout.fields, depth, f.anonymous ? '' : ` ${name}`);
    case 'union':
      return block('union', '', f.members, depth, f.anonymous ? '' : ` ${name}`);
  }
}

export function renderStruct(layout: Layout<unknown>): string {
  const attr = layout.packed ? ' __attribute__((packed))' : '';
  const body = renderMembers(layout.fields, 1);
  return `struct ${layout.name} {\n${body.join('\n')}\n}${attr};\t/* sizeof ${layout.size} */`;
}

export function renderIoctl(d: IoctlDecl): string {
  const nr = d.typeName.startsWith("'") ? String(d.nr) : `0x${d.nr.toString(16).padStart(2, '0')}`;
  const num = `/* 0x${d.request.toString(16).padStart(8, '0')} */`;
  if (d.arg === undefined) return `#define ${d.name}\t_IO(${d.typeName}, ${nr})\t${num}`;
  if (d.arg.opaque) {
    const dir = IOC_DIR_NAME[d.dir];
    return `#define ${d.name}\t_IOC(${dir}, ${d.typeName}, ${nr}, ${d.size})\t/* ${d.macro}(..., ${d.arg.ctype}) = 0x${d.request.toString(16)} */`;
  }
  return `#define ${d.name}\t${d.macro}(${d.typeName}, ${nr}, ${d.arg.ctype})\t${num}`;
}

function renderItem(item: HeaderItem, profile: UapiProfile): string | undefined {
  switch (item.kind) {
    case 'const':
      return renderConst(item, profile);
    case 'enum':
      return renderEnum(item, profile);
    case 'typedef':
      return `typedef ${item.ctype} ${item.name};`;
    case 'struct':
      return availableIn(item.availability, profile) ? renderStruct(item.layout) : undefined;
    case 'ioctl':
      return availableIn(item.decl.availability, profile) ? renderIoctl(item.decl) : undefined;
    case 'comment':
      return `/* ${item.text} */`;
  }
}

function renderHeader(spec: HeaderSpec, profile: UapiProfile): string {
  const parts: string[] = [];
  for (const item of spec.items) {
    const text = renderItem(item, profile);
    if (text === undefined) continue;
    // Structs and enums stand apart; a comment opens a new group of defines.
    const standalone = item.kind === 'struct' || item.kind === 'enum';
    const opensGroup = standalone || item.kind === 'comment' || (item.kind === 'const' && item.comment !== undefined);
    if (opensGroup && parts.length > 0 && parts[parts.length - 1] !== '') parts.push('');
    parts.push(text);
    if (standalone) parts.push('');
  }
  return `/* ---- ${spec.file} ---- */\n${parts.join('\n').trim()}\n`;
}

export interface CHeaderOptions {
  profile: UapiProfile;
  /** Package version printed in the banner. */
  version?: string;
  headers?: readonly HeaderSpec[];
}

/** The whole uAPI of a profile as one C header. */
export function generateCHeader(opts: CHeaderOptions): string {
  const headers = opts.headers ?? UAPI_HEADERS;
  const guard = `_VDPA_MODEL_UAPI_${opts.profile.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_H`;
  const banner = [
    '/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */',
    `/* Generated by \`vdpasim uapi header --profile ${opts.profile}\`${opts.version ? ` (vdpa-model ${opts.version})` : ''}.`,
    ` * The vDPA/vhost/virtio uAPI of that profile, from the TypeScript declarations in uapi/.`,
    ' * Do not edit: change the declarations and regenerate. */',
  ].join('\n');
  const body = headers.map((h) => renderHeader(h, opts.profile)).join('\n');
  return `${banner}\n#ifndef ${guard}\n#define ${guard}\n\n#include <linux/types.h>\n#include <linux/ioctl.h>\n\n${body}\n#endif /* ${guard} */\n`;
}
