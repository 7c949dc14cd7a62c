// Models: the argument helpers of iproute2's lib/utils.c that vdpa uses: matches() (a
// non-empty prefix), get_u16/get_u32/get_u64 (strtoul rules), ll_addr_a2n (MAC text), and
// GNU getopt_long for vdpa's options "Vjpsh" (options may appear anywhere; "--" ends them).

/** matches(): true when `arg` is a non-empty prefix of `word`. */
export function matches(arg: string, word: string): boolean {
  return arg.length > 0 && word.startsWith(arg);
}

/** strtoul in `base` with iproute2's checks; undefined when it would fail. */
function strtoul(arg: string, base: number, max: bigint): bigint | undefined {
  const s = arg.replace(/^[ \t\n\v\f\r]+/, '');
  const m = /^([+-]?)(0[xX])?([0-9a-fA-F]*)$/.exec(s);
  if (!m) return undefined;
  const [, sign, prefix, digits] = m;
  if (prefix && base !== 16) return undefined;
  if (!digits) return undefined;
  const valid = base === 16 ? /^[0-9a-fA-F]+$/ : /^[0-9]+$/;
  if (!valid.test(digits)) return undefined;
  let v = BigInt(base === 16 ? `0x${digits}` : digits);
  if (v > (1n << 64n) - 1n) return undefined;
  if (sign === '-') v = BigInt.asUintN(64, -v);
  return v > max ? undefined : v;
}

export const getU16 = (arg: string): number | undefined => {
  const v = strtoul(arg, 10, 0xffffn);
  return v === undefined ? undefined : Number(v);
};

export const getU32 = (arg: string): number | undefined => {
  const v = strtoul(arg, 10, 0xffff_ffffn);
  return v === undefined ? undefined : Number(v);
};

export const getU64Hex = (arg: string): bigint | undefined => strtoul(arg, 16, (1n << 64n) - 1n);

/**
 * ll_addr_a2n() for a 6-byte address: colon-separated hex octets (fewer than six leave the rest
 * zero). An error prints `"<part>" is invalid lladdr.` and gives undefined.
 */
export function llAddrA2n(arg: string, err: (s: string) => void): Uint8Array | undefined {
  const out = new Uint8Array(6);
  const parts = arg.split(':');
  for (let i = 0; i < 6 && i < parts.length; i++) {
    const p = parts[i] as string;
    const m = /^\s*(?:0[xX])?([0-9a-fA-F]+)/.exec(p);
    const v = m ? parseInt(m[1] as string, 16) : NaN;
    if (!m || v > 255) {
      err(`"${p}" is invalid lladdr.\n`);
      return undefined;
    }
    out[i] = v;
  }
  return out;
}

export interface VdpaOptions {
  json: boolean;
  pretty: boolean;
  version: boolean;
  help: boolean;
  /** Set on an unknown option, after getopt's own message. */
  bad: boolean;
  args: string[];
}

const LONG = ['Version', 'json', 'pretty', 'help'] as const;
const SHORT: Record<string, keyof VdpaOptions> = { V: 'version', j: 'json', p: 'pretty', h: 'help' };

/** getopt_long(argc, argv, "Vjpsh", ...) with GNU permutation. */
export function parseOptions(argv: readonly string[], err: (s: string) => void): VdpaOptions {
  const o: VdpaOptions = { json: false, pretty: false, version: false, help: false, bad: false, args: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') {
      o.args.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const name = a.slice(2).split('=')[0] as string;
      const hits = LONG.filter((l) => l.startsWith(name));
      const hit = hits.length === 1 ? hits[0] : LONG.find((l) => l === name);
      if (!hit) {
        err(`vdpa: unrecognized option '${a}'\n`);
        o.bad = true;
        return o;
      }
      o[hit === 'Version' ? 'version' : hit] = true;
      // -V and -h act as soon as getopt returns them.
      if (hit === 'Version' || hit === 'help') return o;
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      for (const c of a.slice(1)) {
        if (c === 's') continue;
        const key = SHORT[c];
        if (!key) {
          err(`vdpa: invalid option -- '${c}'\n`);
          o.bad = true;
          return o;
        }
        (o as unknown as Record<string, boolean>)[key] = true;
        if (key === 'version' || key === 'help') return o;
      }
      continue;
    }
    o.args.push(a);
  }
  return o;
}
