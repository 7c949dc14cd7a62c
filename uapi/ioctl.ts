// Models: include/uapi/asm-generic/ioctl.h (x86-64 layout: 8 nr bits, 8 type bits, 14 size bits, 2 dir bits)
// Deviations: none; requests are plain unsigned 32-bit numbers.

import type { Layout } from './layout.js';
import type { Availability } from './profile.js';

export const _IOC_NRBITS = 8;
export const _IOC_TYPEBITS = 8;
export const _IOC_SIZEBITS = 14;
export const _IOC_DIRBITS = 2;

export const _IOC_NRSHIFT = 0;
export const _IOC_TYPESHIFT = _IOC_NRSHIFT + _IOC_NRBITS;
export const _IOC_SIZESHIFT = _IOC_TYPESHIFT + _IOC_TYPEBITS;
export const _IOC_DIRSHIFT = _IOC_SIZESHIFT + _IOC_SIZEBITS;

export const _IOC_NONE = 0;
export const _IOC_WRITE = 1;
export const _IOC_READ = 2;

const NR_MASK = (1 << _IOC_NRBITS) - 1;
const TYPE_MASK = (1 << _IOC_TYPEBITS) - 1;
const SIZE_MASK = (1 << _IOC_SIZEBITS) - 1;
const DIR_MASK = (1 << _IOC_DIRBITS) - 1;

function assertField(what: string, value: number, mask: number): void {
  if (!Number.isInteger(value) || value < 0 || value > mask) {
    throw new RangeError(`_IOC: ${what} ${value} does not fit in ${Math.log2(mask + 1)} bits`);
  }
}

/** _IOC(dir, type, nr, size) as an unsigned 32-bit request number. */
export function _IOC(dir: number, type: number, nr: number, size: number): number {
  assertField('dir', dir, DIR_MASK);
  assertField('type', type, TYPE_MASK);
  assertField('nr', nr, NR_MASK);
  assertField('size', size, SIZE_MASK);
  return ((dir << _IOC_DIRSHIFT) | (size << _IOC_SIZESHIFT) | (type << _IOC_TYPESHIFT) | (nr << _IOC_NRSHIFT)) >>> 0;
}

export const _IO = (type: number, nr: number): number => _IOC(_IOC_NONE, type, nr, 0);
export const _IOR = (type: number, nr: number, size: number): number => _IOC(_IOC_READ, type, nr, size);
export const _IOW = (type: number, nr: number, size: number): number => _IOC(_IOC_WRITE, type, nr, size);
export const _IOWR = (type: number, nr: number, size: number): number =>
  _IOC(_IOC_READ | _IOC_WRITE, type, nr, size);

export const _IOC_DIR = (req: number): number => (req >>> _IOC_DIRSHIFT) & DIR_MASK;
export const _IOC_TYPE = (req: number): number => (req >>> _IOC_TYPESHIFT) & TYPE_MASK;
export const _IOC_NR = (req: number): number => (req >>> _IOC_NRSHIFT) & NR_MASK;
export const _IOC_SIZE = (req: number): number => (req >>> _IOC_SIZESHIFT) & SIZE_MASK;

export interface IoctlFields {
  dir: number;
  type: number;
  nr: number;
  size: number;
}

export function decodeIoctl(req: number): IoctlFields {
  return { dir: _IOC_DIR(req), type: _IOC_TYPE(req), nr: _IOC_NR(req), size: _IOC_SIZE(req) };
}

/** The macro a header spells a request with. */
export type IoctlMacro = '_IO' | '_IOR' | '_IOW' | '_IOWR';

const MACRO_DIR: Record<IoctlMacro, number> = {
  _IO: _IOC_NONE,
  _IOR: _IOC_READ,
  _IOW: _IOC_WRITE,
  _IOWR: _IOC_READ | _IOC_WRITE,
};

/** The argument an ioctl takes, as the header names it: a C type and its size. */
export interface IoctlArg {
  /** C spelling, e.g. `__u64`, `int`, `struct vhost_vring_state`. */
  ctype: string;
  size: number;
  /** True when the generated header cannot spell `ctype` (type lives in a header we do not model). */
  opaque?: boolean;
}

/** The argument a struct makes: `struct <tag>` of the struct's (header) size. */
export function structArg(layout: Layout<unknown>): IoctlArg {
  return { ctype: `struct ${layout.name}`, size: layout.size };
}

export const ARG_U8: IoctlArg = { ctype: '__u8', size: 1 };
export const ARG_U16: IoctlArg = { ctype: '__u16', size: 2 };
export const ARG_U32: IoctlArg = { ctype: '__u32', size: 4 };
export const ARG_U64: IoctlArg = { ctype: '__u64', size: 8 };
export const ARG_INT: IoctlArg = { ctype: 'int', size: 4 };
export const ARG_UINT: IoctlArg = { ctype: 'unsigned int', size: 4 };

/** One ioctl, declared once; `request` is computed from the other fields. */
export interface IoctlDecl extends IoctlFields {
  name: string;
  macro: IoctlMacro;
  /** Spelling of the type argument in the header, e.g. `VHOST_VIRTIO` or `'T'`. */
  typeName: string;
  arg: IoctlArg | undefined;
  request: number;
  availability: Availability;
  /** First kernel release that has it (informational). */
  since?: string;
  note?: string;
}

export interface IoctlSpec {
  macro: IoctlMacro;
  type: number;
  typeName: string;
  nr: number;
  arg?: IoctlArg;
  availability?: Availability;
  since?: string;
  note?: string;
}

/** Builds the spec table entries: `ioc('_IOW', VHOST, 0x10, vhostVringStateArg)`. */
export function ioc(
  macro: IoctlMacro,
  type: { value: number; name: string },
  nr: number,
  arg?: IoctlArg,
  extra: Pick<IoctlSpec, 'availability' | 'since' | 'note'> = {},
): IoctlSpec {
  return { macro, type: type.value, typeName: type.name, nr, ...(arg ? { arg } : {}), ...extra };
}

/**
 * Turns a table of specs into declarations with computed request numbers.
 * Throws if an `_IO` takes an argument or another macro lacks one.
 */
export function defineIoctls<K extends string>(specs: Record<K, IoctlSpec>): Record<K, IoctlDecl> {
  const out = {} as Record<K, IoctlDecl>;
  for (const name of Object.keys(specs) as K[]) {
    const s = specs[name];
    if ((s.macro === '_IO') !== (s.arg === undefined)) {
      throw new TypeError(`${name}: ${s.macro} ${s.arg ? 'takes no' : 'needs an'} argument type`);
    }
    const dir = MACRO_DIR[s.macro];
    const size = s.arg?.size ?? 0;
    out[name] = {
      name,
      macro: s.macro,
      dir,
      type: s.type,
      typeName: s.typeName,
      nr: s.nr,
      size,
      arg: s.arg,
      request: _IOC(dir, s.type, s.nr, size),
      availability: s.availability,
      ...(s.since !== undefined ? { since: s.since } : {}),
      ...(s.note !== undefined ? { note: s.note } : {}),
    };
  }
  return out;
}

/** The request numbers of a declaration table, keyed by name. */
export function requestNumbers<K extends string>(decls: Record<K, IoctlDecl>): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const name of Object.keys(decls) as K[]) out[name] = decls[name].request;
  return out;
}
