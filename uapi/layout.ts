// Struct layouts as data: one declaration gives the codec (DataView, explicit little-endian,
// honours byteOffset, u64 as bigint), the offsets the datapath uses, the C text the header
// generator prints and the sizeof/offsetof list the layout test compares with the real headers.
// Not a kernel file. x86-64 is the only ABI modelled (all uAPI structs here are little-endian).

export type ScalarKind = 'u8' | 'u16' | 'u32' | 'u64' | 's8' | 's16' | 's32' | 's64';

const SCALAR_SIZE: Record<ScalarKind, number> = { u8: 1, u16: 2, u32: 4, u64: 8, s8: 1, s16: 2, s32: 4, s64: 8 };

export interface ScalarField<K extends ScalarKind = ScalarKind> {
  readonly kind: 'scalar';
  readonly scalar: K;
  readonly offset: number;
  readonly size: number;
  /** C spelling of the type: `__u32`, `unsigned int`, `__virtio16`, `int`. */
  readonly ctype: string;
}

/** A fixed array of bytes (`__u8 mac[6]`, `char name[16]`). Decodes to a copy. */
export interface BytesField {
  readonly kind: 'bytes';
  readonly offset: number;
  readonly size: number;
  readonly ctype: string;
}

export interface StructField<T = unknown, A extends boolean = boolean> {
  readonly kind: 'struct';
  readonly offset: number;
  readonly size: number;
  readonly layout: Layout<T>;
  /** Defined in place (`struct { ... } name;`) rather than by reference to a named struct. */
  readonly inline: boolean;
  /** An anonymous member: its fields appear directly in the parent. */
  readonly anonymous: A;
}

export interface UnionField<S extends FieldSpec = FieldSpec, A extends boolean = boolean> {
  readonly kind: 'union';
  readonly offset: number;
  readonly size: number;
  /** Members, offsets relative to the union. */
  readonly members: S;
  readonly anonymous: A;
}

/** A fixed array of scalars or of anonymous structs (`__le16 reserved[3]`, `struct {...} stats[1]`). */
export interface ArrayField<E extends ScalarField | StructField = ScalarField | StructField> {
  readonly kind: 'array';
  readonly offset: number;
  readonly size: number;
  readonly count: number;
  /** The element, at offset 0. */
  readonly elem: E;
}

/** A flexible array member (`__u8 buf[]`). Not decoded: the caller owns the tail. */
export interface FlexField {
  readonly kind: 'flex';
  readonly offset: number;
  readonly size: 0;
  readonly elemSize: number;
  /** C spelling of the element type. */
  readonly ctype: string;
  /** Array dimensions after the flexible one (`[6]` in `__u8 macs[][ETH_ALEN]`). */
  readonly dims: string;
}

export type Field = ScalarField | BytesField | ArrayField | StructField | UnionField | FlexField;
export type FieldSpec = { readonly [name: string]: Field };

type ValueOf<F> = F extends ScalarField<'u64' | 's64'>
  ? bigint
  : F extends ScalarField
    ? number
    : F extends BytesField
      ? Uint8Array
      : F extends ArrayField<infer E>
        ? ValueOf<E>[]
        : F extends StructField<infer T>
          ? T
          : F extends UnionField<infer S>
            ? Decoded<S>
            : never;

type NamedKeys<S> = {
  [K in keyof S]: S[K] extends { anonymous: true } ? never : S[K] extends FlexField ? never : K;
}[keyof S];
type AnonKeys<S> = { [K in keyof S]: S[K] extends { anonymous: true } ? K : never }[keyof S];
type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;

/** The plain object a layout decodes to: anonymous members are flattened as in C. */
export type Decoded<S> = { [K in NamedKeys<S>]: ValueOf<S[K]> } & UnionToIntersection<
  { [K in AnonKeys<S>]: ValueOf<S[K]> }[AnonKeys<S>]
>;

export type DeepPartial<T> = T extends bigint | number | Uint8Array | unknown[]
  ? T
  : { [K in keyof T]?: DeepPartial<T[K]> };

export type BinarySource = Uint8Array | DataView | ArrayBuffer;

/** A C member path with its offset and size, as `offsetof`/`sizeof` would report them. */
export interface FieldPath {
  readonly path: string;
  readonly offset: number;
  readonly size: number;
}

export interface Layout<T> {
  /** C struct tag (`vhost_vring_state`), or '' for an anonymous inline struct. */
  readonly name: string;
  readonly size: number;
  readonly packed: boolean;
  readonly fields: FieldSpec;
  /** Reads the struct at `offset`. Throws RangeError if the buffer is short. */
  decode(src: BinarySource, offset?: number): T;
  /** Writes the given fields at `offset`; fields left out keep their bytes. */
  encode(value: DeepPartial<T>, dst: BinarySource, offset?: number): void;
  /** A fresh zeroed buffer of `size` bytes holding `value`. */
  pack(value: DeepPartial<T>): Uint8Array;
  /** Offset of a C member path (`iotlb.iova`, `csum.start`); throws for unknown paths. */
  offsetOf(path: string): number;
  /** Every member path, recursively, in declaration order. */
  paths(): readonly FieldPath[];
}

// ---- field builders -------------------------------------------------------------------------

function scalar<K extends ScalarKind>(scalarKind: K, offset: number, ctype: string): ScalarField<K> {
  return { kind: 'scalar', scalar: scalarKind, offset, size: SCALAR_SIZE[scalarKind], ctype };
}

export const u8 = (offset: number, ctype = '__u8'): ScalarField<'u8'> => scalar('u8', offset, ctype);
export const u16 = (offset: number, ctype = '__u16'): ScalarField<'u16'> => scalar('u16', offset, ctype);
export const u32 = (offset: number, ctype = '__u32'): ScalarField<'u32'> => scalar('u32', offset, ctype);
export const u64 = (offset: number, ctype = '__u64'): ScalarField<'u64'> => scalar('u64', offset, ctype);
export const s16 = (offset: number, ctype = '__s16'): ScalarField<'s16'> => scalar('s16', offset, ctype);
export const s32 = (offset: number, ctype = '__s32'): ScalarField<'s32'> => scalar('s32', offset, ctype);
export const s64 = (offset: number, ctype = '__s64'): ScalarField<'s64'> => scalar('s64', offset, ctype);

export function bytes(offset: number, count: number, ctype = '__u8'): BytesField {
  return { kind: 'bytes', offset, size: count, ctype };
}

/** A member of a named struct type declared elsewhere (`struct vhost_iotlb_msg iotlb`). */
export function struct<T>(offset: number, layout: Layout<T>): StructField<T, false> {
  return { kind: 'struct', offset, size: layout.size, layout, inline: false, anonymous: false };
}

/** A struct defined in place. With `tag` it is `struct tag {...} name;`, without, `struct {...} name;`. */
export function inlineStruct<S extends FieldSpec>(
  offset: number,
  members: S,
  opts: { tag?: string; size?: number } = {},
): StructField<Decoded<S>, false> {
  const layout = defineLayout(opts.tag ?? '', opts.size ?? extent(members), members);
  return { kind: 'struct', offset, size: layout.size, layout, inline: true, anonymous: false };
}

/** An anonymous struct member (`struct { ... };`), its fields flattened into the parent. */
export function anonStruct<S extends FieldSpec>(offset: number, members: S): StructField<Decoded<S>, true> {
  const layout = defineLayout('', extent(members), members);
  return { kind: 'struct', offset, size: layout.size, layout, inline: true, anonymous: true };
}

export function union<S extends FieldSpec>(offset: number, size: number, members: S): UnionField<S, false> {
  checkMembers('union', size, members, true);
  return { kind: 'union', offset, size, members, anonymous: false };
}

export function anonUnion<S extends FieldSpec>(offset: number, size: number, members: S): UnionField<S, true> {
  checkMembers('union', size, members, true);
  return { kind: 'union', offset, size, members, anonymous: true };
}

/** An array of `count` elements: `array(4, 3, u16(0, '__le16'))`, or of an anonymous struct. */
export function array<E extends ScalarField | StructField>(offset: number, count: number, elem: E): ArrayField<E> {
  if (elem.offset !== 0) throw new RangeError('array: the element must be declared at offset 0');
  return { kind: 'array', offset, size: count * elem.size, count, elem };
}

export function flex(offset: number, elemSize: number, ctype: string, dims = ''): FlexField {
  return { kind: 'flex', offset, size: 0, elemSize, ctype, dims };
}

// ---- binary access ------------------------------------------------------------------------

export function dataView(src: BinarySource): DataView {
  if (src instanceof DataView) return src;
  if (src instanceof ArrayBuffer) return new DataView(src);
  return new DataView(src.buffer, src.byteOffset, src.byteLength);
}

function readScalar(v: DataView, f: ScalarField, base: number): number | bigint {
  const o = base + f.offset;
  switch (f.scalar) {
    case 'u8':
      return v.getUint8(o);
    case 's8':
      return v.getInt8(o);
    case 'u16':
      return v.getUint16(o, true);
    case 's16':
      return v.getInt16(o, true);
    case 'u32':
      return v.getUint32(o, true);
    case 's32':
      return v.getInt32(o, true);
    case 'u64':
      return v.getBigUint64(o, true);
    case 's64':
      return v.getBigInt64(o, true);
  }
}

function writeScalar(v: DataView, f: ScalarField, base: number, value: unknown, path: string): void {
  const o = base + f.offset;
  const is64 = f.scalar === 'u64' || f.scalar === 's64';
  if (is64 ? typeof value !== 'bigint' : typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`${path}: expected ${is64 ? 'a bigint' : 'an integer'}, got ${String(value)}`);
  }
  switch (f.scalar) {
    case 'u8':
    case 's8':
      v.setUint8(o, Number(value) & 0xff);
      return;
    case 'u16':
    case 's16':
      v.setUint16(o, Number(value) & 0xffff, true);
      return;
    case 'u32':
    case 's32':
      v.setUint32(o, Number(value) >>> 0, true);
      return;
    case 'u64':
    case 's64':
      v.setBigUint64(o, BigInt.asUintN(64, value as bigint), true);
      return;
  }
}

// Object.entries() of a spec, computed once: codecs walk the same specs on every call.
const entryCache = new WeakMap<FieldSpec, readonly (readonly [string, Field])[]>();
function entries(spec: FieldSpec): readonly (readonly [string, Field])[] {
  let e = entryCache.get(spec);
  if (!e) {
    e = Object.entries(spec);
    entryCache.set(spec, e);
  }
  return e;
}

function decodeSpec(spec: FieldSpec, v: DataView, base: number, into: Record<string, unknown>): void {
  for (const [name, f] of entries(spec)) {
    switch (f.kind) {
      case 'scalar':
        into[name] = readScalar(v, f, base);
        break;
      case 'bytes':
        into[name] = new Uint8Array(v.buffer.slice(v.byteOffset + base + f.offset, v.byteOffset + base + f.offset + f.size));
        break;
      case 'array': {
        const items: unknown[] = [];
        for (let i = 0; i < f.count; i++) {
          const at = base + f.offset + i * f.elem.size;
          if (f.elem.kind === 'scalar') {
            items.push(readScalar(v, f.elem, at));
          } else {
            const item: Record<string, unknown> = {};
            decodeSpec(f.elem.layout.fields, v, at, item);
            items.push(item);
          }
        }
        into[name] = items;
        break;
      }
      case 'struct': {
        const target = f.anonymous ? into : (into[name] = {} as Record<string, unknown>);
        decodeSpec(f.layout.fields, v, base + f.offset, target as Record<string, unknown>);
        break;
      }
      case 'union': {
        const target = f.anonymous ? into : (into[name] = {} as Record<string, unknown>);
        decodeSpec(f.members, v, base + f.offset, target as Record<string, unknown>);
        break;
      }
      case 'flex':
        break;
    }
  }
}

function encodeSpec(spec: FieldSpec, v: DataView, base: number, value: Record<string, unknown>, prefix: string): void {
  for (const [name, f] of entries(spec)) {
    switch (f.kind) {
      case 'scalar':
        if (name in value) writeScalar(v, f, base, value[name], prefix + name);
        break;
      case 'bytes': {
        if (!(name in value)) break;
        const b = value[name];
        if (!(b instanceof Uint8Array) || b.length > f.size) {
          throw new TypeError(`${prefix}${name}: expected at most ${f.size} bytes`);
        }
        new Uint8Array(v.buffer, v.byteOffset + base + f.offset, b.length).set(b);
        break;
      }
      case 'array': {
        if (!(name in value)) break;
        const items = value[name];
        const path = prefix + name;
        if (!Array.isArray(items) || items.length > f.count) throw new TypeError(`${path}: expected at most ${f.count} items`);
        items.forEach((item, i) => {
          const at = base + f.offset + i * f.elem.size;
          if (f.elem.kind === 'scalar') writeScalar(v, f.elem, at, item, `${path}[${i}]`);
          else encodeSpec(f.elem.layout.fields, v, at, item as Record<string, unknown>, `${path}[${i}].`);
        });
        break;
      }
      case 'struct':
      case 'union': {
        const inner = f.kind === 'struct' ? f.layout.fields : f.members;
        const sub = f.anonymous ? value : value[name];
        if (sub !== undefined) encodeSpec(inner, v, base + f.offset, sub as Record<string, unknown>, f.anonymous ? prefix : `${prefix}${name}.`);
        break;
      }
      case 'flex':
        break;
    }
  }
}

function collectPaths(spec: FieldSpec, base: number, prefix: string, out: FieldPath[]): void {
  for (const [name, f] of Object.entries(spec)) {
    const anonymous = (f.kind === 'struct' || f.kind === 'union') && f.anonymous;
    const path = prefix + name;
    if (!anonymous) out.push({ path, offset: base + f.offset, size: f.size });
    if (f.kind === 'struct') collectPaths(f.layout.fields, base + f.offset, anonymous ? prefix : `${path}.`, out);
    if (f.kind === 'union') collectPaths(f.members, base + f.offset, anonymous ? prefix : `${path}.`, out);
    if (f.kind === 'array' && f.elem.kind === 'struct') collectPaths(f.elem.layout.fields, base + f.offset, `${path}[0].`, out);
  }
}

function extent(spec: FieldSpec): number {
  let end = 0;
  for (const f of Object.values(spec)) end = Math.max(end, f.offset + f.size);
  return end;
}

function checkMembers(name: string, size: number, spec: FieldSpec, overlapAllowed: boolean): void {
  const sorted = Object.entries(spec).sort((a, b) => a[1].offset - b[1].offset);
  let prevEnd = 0;
  let prevName = '';
  sorted.forEach(([field, f], i) => {
    if (f.offset + f.size > size) {
      throw new RangeError(`${name}.${field}: ends at ${f.offset + f.size}, past the size ${size}`);
    }
    if (f.kind === 'flex' && i !== sorted.length - 1) throw new RangeError(`${name}.${field}: flexible array must be last`);
    if (!overlapAllowed && f.size > 0 && f.offset < prevEnd) {
      throw new RangeError(`${name}.${field}: overlaps ${prevName}`);
    }
    if (f.offset + f.size > prevEnd) {
      prevEnd = f.offset + f.size;
      prevName = field;
    }
  });
}

/**
 * Declares a struct: `defineLayout('vhost_vring_state', 8, { index: u32(0), num: u32(4) })`.
 * Offsets are explicit (they are the ABI); the layout test checks every one against gcc.
 */
export function defineLayout<S extends FieldSpec>(
  name: string,
  size: number,
  fields: S,
  opts: { packed?: boolean } = {},
): Layout<Decoded<S>> {
  checkMembers(name || '(anonymous)', size, fields, false);
  const label = name || '(anonymous struct)';
  const check = (v: DataView, offset: number): void => {
    if (!Number.isInteger(offset) || offset < 0 || offset + size > v.byteLength) {
      throw new RangeError(`${label}: needs ${size} bytes at offset ${offset}, buffer holds ${v.byteLength}`);
    }
  };
  let pathCache: FieldPath[] | undefined;
  const layout: Layout<Decoded<S>> = {
    name,
    size,
    packed: opts.packed ?? false,
    fields,
    decode(src, offset = 0) {
      const v = dataView(src);
      check(v, offset);
      const out: Record<string, unknown> = {};
      decodeSpec(fields, v, offset, out);
      return out as Decoded<S>;
    },
    encode(value, dst, offset = 0) {
      const v = dataView(dst);
      check(v, offset);
      encodeSpec(fields, v, offset, value as Record<string, unknown>, `${label}.`);
    },
    pack(value) {
      const buf = new Uint8Array(size);
      layout.encode(value, buf, 0);
      return buf;
    },
    offsetOf(path) {
      const hit = layout.paths().find((p) => p.path === path);
      if (!hit) throw new RangeError(`${label}: no member ${path}`);
      return hit.offset;
    },
    paths() {
      if (!pathCache) {
        pathCache = [];
        collectPaths(fields, 0, '', pathCache);
      }
      return pathCache;
    },
  };
  return layout;
}
