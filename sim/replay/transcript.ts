// The kref-v2 transcript format (shared/reference/kernel-6.1/FORMAT.md): records, their
// fields, hex byte strings, handle names, and the expansion of loop bodies with `vary`.
// Not a kernel file.

export interface FdRef {
  offset: number;
  width: number;
  fd: string;
}

export interface VaryEntry {
  field: string;
  start: string;
  step: string;
  /** With offset/width: replace bytes of a hex field; otherwise the field's value modulo `mod`. */
  offset?: number;
  width?: number;
  mod?: string;
}

export interface TranscriptRecord {
  mode?: string;
  seq?: number;
  sec?: string;
  call: string;
  note?: string;
  args: Record<string, unknown>;
  ret: number | string;
  errno?: number;
  err?: string | null;
  out: Record<string, unknown>;
  vary?: VaryEntry[];
}

export class TranscriptError extends Error {
  override readonly name = 'TranscriptError';
}

/** Parses JSON Lines; throws TranscriptError naming the line of a malformed record. */
export function parseTranscript(text: string): TranscriptRecord[] {
  const out: TranscriptRecord[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let r: unknown;
    try {
      r = JSON.parse(line);
    } catch (e) {
      throw new TranscriptError(`line ${i + 1}: not JSON (${(e as Error).message})`);
    }
    if (!r || typeof r !== 'object' || typeof (r as TranscriptRecord).call !== 'string') {
      throw new TranscriptError(`line ${i + 1}: not a record (no "call")`);
    }
    const rec = r as TranscriptRecord;
    rec.args ??= {};
    rec.out ??= {};
    out.push(rec);
  });
  return out;
}

export function hexToBytes(hex: string): Uint8Array {
  if (hex.length % 2 || /[^0-9a-fA-F]/.test(hex)) throw new TranscriptError(`bad hex string "${hex.slice(0, 32)}"`);
  const b = new Uint8Array(hex.length / 2);
  for (let i = 0; i < b.length; i++) b[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return b;
}

export function bytesToHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

/** A "0x…" string or a JSON number as a bigint. */
export function big(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(v);
  if (typeof v === 'string') return BigInt(v);
  throw new TranscriptError(`expected a number, got ${JSON.stringify(v)}`);
}

/** A body record of a loop, instantiated for iteration `i`. */
export function instantiate(rec: TranscriptRecord, i: number): TranscriptRecord {
  if (!rec.vary?.length) return rec;
  const args = { ...rec.args };
  for (const v of rec.vary) {
    const raw = big(v.start) + big(v.step) * BigInt(i);
    if (v.offset !== undefined && v.width !== undefined) {
      const bytes = hexToBytes(String(args[v.field]));
      let x = BigInt.asUintN(8 * v.width, raw);
      for (let k = 0; k < v.width; k++) {
        bytes[v.offset + k] = Number(x & 0xffn);
        x >>= 8n;
      }
      args[v.field] = bytesToHex(bytes);
    } else {
      const mod = big(v.mod ?? '0x0');
      const value = mod === 0n ? BigInt.asUintN(64, raw) : ((raw % mod) + mod) % mod;
      args[v.field] = typeof args[v.field] === 'string' ? `0x${value.toString(16)}` : Number(value);
    }
  }
  return { ...rec, args };
}
