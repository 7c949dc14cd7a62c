// Models: attribute validation of lib/nlattr.c (validate_nla, nla_validate_int_range) for the
// policy types generic netlink families here use, in the kernel's two modes: liberal
// (NL_VALIDATE_LIBERAL, for commands older than a family's resv_start_op) and strict.
// Deviations: no NLMSGERR_ATTR_POLICY in the extended ACK; only the policy types listed.

import { EINVAL, ERANGE, NLA_HDRLEN } from '../../uapi/index.js';
import type { ExtAck } from './ack.js';
import type { NlAttr, NlAttrs } from './parser.js';

export type NlaType = 'u8' | 'u16' | 'u32' | 'u64' | 'string' | 'nul-string' | 'binary' | 'flag' | 'nested';

export interface NlaPolicy {
  type: NlaType;
  /** NLA_STRING / NLA_NUL_STRING / NLA_BINARY: maximum length (0 = none). */
  len?: number;
  /** NLA_POLICY_MIN / _MAX / _RANGE on the value (integers) or on the length (binary). */
  min?: number;
  max?: number;
}

/** NLA_POLICY_ETH_ADDR: exactly 6 bytes. */
export const NLA_POLICY_ETH_ADDR: NlaPolicy = { type: 'binary', min: 6, max: 6 };

const EXACT_LEN: Partial<Record<NlaType, number>> = { u8: 1, u16: 2, u32: 4, u64: 8, flag: 0 };

export interface ValidateOptions {
  /** NL_VALIDATE_STRICT: unknown types, exact lengths and trailing bytes are errors. */
  strict: boolean;
  /** Offset of the attribute buffer from the start of the message (for the ACK's bad-attribute offset). */
  base: number;
}

export type ParsedAttrs = (NlAttr | undefined)[];

function fail(extack: ExtAck, attr: NlAttr, base: number, msg: string, err: number): number {
  extack.msg = msg;
  extack.badAttrOffset = base + attr.offset;
  return err;
}

function intValue(a: NlAttr, type: NlaType): number | bigint {
  const v = new DataView(a.payload.buffer, a.payload.byteOffset, a.payload.byteLength);
  switch (type) {
    case 'u8':
      return v.getUint8(0);
    case 'u16':
      return v.getUint16(0, true);
    case 'u32':
      return v.getUint32(0, true);
    default:
      return v.getBigUint64(0, true);
  }
}

/** validate_nla(): 0 or -errno with extack set. */
function validateOne(a: NlAttr, pt: NlaPolicy, opts: ValidateOptions, extack: ExtAck): number {
  const len = a.payload.length;
  const exact = EXACT_LEN[pt.type];
  if (exact !== undefined && len !== exact && opts.strict) {
    return fail(extack, a, opts.base, 'invalid attribute length', -EINVAL);
  }
  const bad = (): number => fail(extack, a, opts.base, 'Attribute failed policy validation', -ERANGE);
  switch (pt.type) {
    case 'flag':
      if (len > 0) return bad();
      break;
    case 'nul-string': {
      const minlen = pt.len ? Math.min(len, pt.len + 1) : len;
      if (!minlen || !a.payload.subarray(0, minlen).includes(0)) {
        return fail(extack, a, opts.base, 'Attribute failed policy validation', -EINVAL);
      }
      if (pt.len && stringLen(a.payload) > pt.len) return bad();
      break;
    }
    case 'string':
      if (len < 1) return bad();
      if (pt.len && stringLen(a.payload) > pt.len) return bad();
      break;
    case 'binary':
      if (pt.len && len > pt.len) return bad();
      break;
    case 'nested':
      if (len > 0 && len < NLA_HDRLEN) return bad();
      break;
    default:
      if (len < (exact ?? 0)) return bad();
  }
  if (pt.min === undefined && pt.max === undefined) return 0;
  if (pt.type === 'binary') {
    if ((pt.min !== undefined && len < pt.min) || (pt.max !== undefined && len > pt.max)) {
      return fail(extack, a, opts.base, 'binary attribute size out of range', -EINVAL);
    }
    return 0;
  }
  const value = intValue(a, pt.type);
  if ((pt.min !== undefined && value < pt.min) || (pt.max !== undefined && value > pt.max)) {
    return fail(extack, a, opts.base, 'integer out of range', -ERANGE);
  }
  return 0;
}

/** A string attribute's length without one trailing NUL (what validate_nla compares with len). */
function stringLen(p: Uint8Array): number {
  return p.length > 0 && p[p.length - 1] === 0 ? p.length - 1 : p.length;
}

/**
 * __nla_parse(): validates `attrs` against `policy` (indexed by type, up to maxtype) and returns
 * the last attribute of each type, or -errno with extack set.
 */
export function nlaParse(
  attrs: NlAttrs,
  maxtype: number,
  policy: readonly (NlaPolicy | undefined)[],
  opts: ValidateOptions,
  extack: ExtAck,
): ParsedAttrs | number {
  const tb: ParsedAttrs = new Array<NlAttr | undefined>(maxtype + 1).fill(undefined);
  for (const a of attrs.list) {
    if (a.type === 0 || a.type > maxtype) {
      if (opts.strict) return fail(extack, a, opts.base, 'Unknown attribute type', -EINVAL);
      continue;
    }
    const pt = policy[a.type];
    if (pt) {
      const r = validateOne(a, pt, opts, extack);
      if (r < 0) return r;
    }
    tb[a.type] = a;
  }
  return tb;
}
