// Models: the bitmap helpers of include/linux/bitmap.h, lib/bitmap.c and lib/find_bit.c, over a
// byte array in the layout a little-endian machine gives unsigned longs: bit n is bit n % 8 of
// byte n / 8 (the vhost dirty log and QEMU's migration bitmap share it).

export class Bitmap {
  readonly bytes: Uint8Array;
  readonly nbits: number;

  constructor(nbitsOrBytes: number | Uint8Array) {
    this.bytes = typeof nbitsOrBytes === 'number' ? new Uint8Array(Math.ceil(nbitsOrBytes / 8)) : nbitsOrBytes;
    this.nbits = typeof nbitsOrBytes === 'number' ? nbitsOrBytes : nbitsOrBytes.length * 8;
  }

  /** test_bit() */
  test(n: number): boolean {
    return ((this.bytes[n >>> 3] as number) & (1 << (n & 7))) !== 0;
  }

  /** set_bit() */
  set(n: number): void {
    this.bytes[n >>> 3] = (this.bytes[n >>> 3] as number) | (1 << (n & 7));
  }

  /** clear_bit() */
  clear(n: number): void {
    this.bytes[n >>> 3] = (this.bytes[n >>> 3] as number) & ~(1 << (n & 7));
  }

  /** bitmap_set(): sets bits [start, start + len). */
  setRange(start: number, len: number): void {
    let n = start;
    const end = start + len;
    while (n < end && n & 7) this.set(n++);
    for (; n + 8 <= end; n += 8) this.bytes[n >>> 3] = 0xff;
    while (n < end) this.set(n++);
  }

  /** bitmap_clear(): clears bits [start, start + len). */
  clearRange(start: number, len: number): void {
    let n = start;
    const end = start + len;
    while (n < end && n & 7) this.clear(n++);
    for (; n + 8 <= end; n += 8) this.bytes[n >>> 3] = 0;
    while (n < end) this.clear(n++);
  }

  /** find_next_bit(): the first set bit >= from, or -1 (the kernel returns nbits). */
  findNextBit(from = 0): number {
    let n = from;
    const bytes = this.bytes;
    while (n < this.nbits) {
      const b = bytes[n >>> 3] as number;
      if (b === 0) {
        n = (n | 7) + 1;
        continue;
      }
      if (b & (1 << (n & 7))) return n;
      n++;
    }
    return -1;
  }

  /** bitmap_weight(): the number of set bits. */
  weight(): number {
    let w = 0;
    for (const b of this.bytes) {
      let x = b;
      while (x) {
        x &= x - 1;
        w++;
      }
    }
    return w;
  }

  /** Every set bit, ascending. */
  *setBits(): Generator<number> {
    for (let n = this.findNextBit(0); n >= 0; n = this.findNextBit(n + 1)) yield n;
  }

  clearAll(): void {
    this.bytes.fill(0);
  }
}
