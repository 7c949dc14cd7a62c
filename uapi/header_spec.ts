// The uAPI as data: each uapi module describes the kernel header it models as an ordered list
// of items (constants, enums, typedefs, structs, ioctls). The C header generator, the uAPI
// summary and the layout test against the machine's real headers all read these lists.
// Not a kernel file.

import type { IoctlDecl } from './ioctl.js';
import type { Layout } from './layout.js';
import { type Availability, type UapiProfile, availableIn } from './profile.js';

export type ConstValue = number | bigint | string;

export interface ConstItem {
  readonly kind: 'const';
  readonly name: string;
  readonly value: ConstValue;
  /** C text for the value when it is not the plain number (`(1 << 3)`, `VIRTIO_F_ACCESS_PLATFORM`). */
  readonly expr?: string;
  /** Print numbers in hex. */
  readonly hex?: boolean;
  readonly availability?: Availability;
  /** Where a profile's header has another value. */
  readonly values?: Partial<Record<UapiProfile, number | bigint>>;
  readonly comment?: string;
}

export interface EnumMember {
  readonly name: string;
  /** C text of an explicit initializer that aliases another member (`VDPA_ATTR_UNSPEC`). */
  readonly alias?: string;
  readonly availability?: Availability;
}

/** A C enum whose values follow C's implicit numbering over the members a profile has. */
export interface EnumItem {
  readonly kind: 'enum';
  readonly tag: string;
  readonly members: readonly EnumMember[];
}

export interface TypedefItem {
  readonly kind: 'typedef';
  readonly name: string;
  readonly ctype: string;
}

export interface StructItem {
  readonly kind: 'struct';
  readonly layout: Layout<unknown>;
  readonly availability?: Availability;
  readonly comment?: string;
}

export interface IoctlItem {
  readonly kind: 'ioctl';
  readonly decl: IoctlDecl;
}

export interface CommentItem {
  readonly kind: 'comment';
  readonly text: string;
}

export type HeaderItem = ConstItem | EnumItem | TypedefItem | StructItem | IoctlItem | CommentItem;

export interface HeaderSpec {
  /** The kernel header modelled, as included: `linux/vhost.h`. */
  readonly file: string;
  readonly items: readonly HeaderItem[];
}

export interface ConstOptions {
  hex?: boolean;
  availability?: Availability;
  /** C expressions for some of the names. */
  expr?: Record<string, string>;
  /** Per-profile values for some of the names. */
  values?: Record<string, Partial<Record<UapiProfile, number | bigint>>>;
  comment?: string;
}

/** Items for a group of constants, in the order given: `consts({ VHOST_VIRTIO, VHOST_FILE_UNBIND })`. */
export function consts(record: Record<string, ConstValue>, opts: ConstOptions = {}): ConstItem[] {
  return Object.entries(record).map(([name, value], i) => ({
    kind: 'const',
    name,
    value,
    ...(opts.expr?.[name] !== undefined ? { expr: opts.expr[name] } : {}),
    ...(opts.hex ? { hex: true } : {}),
    ...(opts.availability ? { availability: opts.availability } : {}),
    ...(opts.values?.[name] ? { values: opts.values[name] } : {}),
    ...(i === 0 && opts.comment ? { comment: opts.comment } : {}),
  }));
}

export function structs(...layouts: Layout<unknown>[]): StructItem[] {
  return layouts.map((layout) => ({ kind: 'struct', layout }));
}

/** Struct items present only in the given profiles. */
export function structsIn(availability: Availability, ...layouts: Layout<unknown>[]): StructItem[] {
  return layouts.map((layout) => ({ kind: 'struct', layout, availability }));
}

export function ioctls(decls: Record<string, IoctlDecl>): IoctlItem[] {
  return Object.values(decls).map((decl) => ({ kind: 'ioctl', decl }));
}

export function comment(text: string): CommentItem {
  return { kind: 'comment', text };
}

export function defineHeader(file: string, items: readonly (HeaderItem | readonly HeaderItem[])[]): HeaderSpec {
  return { file, items: items.flat() as HeaderItem[] };
}

/** The value a constant has in a profile, or undefined where the profile lacks it. */
export function constValueIn(item: ConstItem, profile: UapiProfile): ConstValue | undefined {
  if (!availableIn(item.availability, profile)) return undefined;
  return item.values?.[profile] ?? item.value;
}

/** Enum members present in a profile, with the values C's implicit numbering gives them. */
export function enumValuesIn(item: EnumItem, profile: UapiProfile): { name: string; value: number; alias?: string }[] {
  const out: { name: string; value: number; alias?: string }[] = [];
  let next = 0;
  for (const m of item.members) {
    if (!availableIn(m.availability, profile)) continue;
    if (m.alias !== undefined) {
      const target = out.find((o) => o.name === m.alias);
      if (!target) throw new Error(`enum ${item.tag}: ${m.name} aliases unknown ${m.alias}`);
      out.push({ name: m.name, value: target.value, alias: m.alias });
      next = target.value + 1;
      continue;
    }
    out.push({ name: m.name, value: next++ });
  }
  return out;
}

/**
 * An enum with the same members in every profile, from its member names in order:
 * `defineEnum('', ['CTRL_CMD_UNSPEC', 'CTRL_CMD_NEWFAMILY'])`. `values` types each name.
 */
export function defineEnum<const K extends string>(tag: string, names: readonly K[]): { item: EnumItem; values: Record<K, number> } {
  const item: EnumItem = { kind: 'enum', tag, members: names.map((name) => ({ name })) };
  return { item, values: Object.fromEntries(names.map((n, i) => [n, i])) as Record<K, number> };
}

/** The enum's values in one profile as a name -> number record. */
export function enumRecord(item: EnumItem, profile: UapiProfile): Record<string, number> {
  return Object.fromEntries(enumValuesIn(item, profile).map((m) => [m.name, m.value]));
}
