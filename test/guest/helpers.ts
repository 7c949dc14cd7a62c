// In-memory NetDevices for the guest stack's tests: a cable joining two devices and a loopback
// that hands a device's frames back to it. Each direction is a queue of frames the test delivers,
// drops, duplicates, reorders or edits one at a time. Frames live in one preallocated pool.

import { parseMac } from '../../lib/net/index.js';
import { NetStack, copyBytes, inetChecksum, type NetDevice, type NetStackOptions } from '../../sim/guest/net/index.js';

/** One direction of a cable: a bounded FIFO of frames on their way to `to`. */
export class Wire {
  /** The device whose rxHandler gets the frames. */
  to: NetDevice | undefined;
  readonly slotSize: number;
  private readonly pool: Uint8Array;
  private readonly lens: Uint32Array;
  /** Slot numbers in delivery order: a ring of `count` from `head`. */
  private readonly order: Int32Array;
  private head = 0;
  private count = 0;
  private readonly free: Int32Array;
  private nfree: number;

  constructor(
    readonly capacity: number,
    maxFrame: number,
  ) {
    this.slotSize = maxFrame;
    this.pool = new Uint8Array(capacity * maxFrame);
    this.lens = new Uint32Array(capacity);
    this.order = new Int32Array(capacity);
    this.free = Int32Array.from({ length: capacity }, (_, i) => capacity - 1 - i);
    this.nfree = capacity;
  }

  /** Frames waiting. */
  get length(): number {
    return this.count;
  }

  /** The xmit() side: copies buf[off, off + len) in; false when the wire is full. */
  push(buf: Uint8Array, off: number, len: number): boolean {
    if (len > this.slotSize) throw new RangeError(`wire: a ${len}-byte frame is over the ${this.slotSize}-byte maximum`);
    if (this.nfree === 0) return false;
    const slot = this.free[--this.nfree] as number;
    // Like a driver's memcpy; a loop for small frames, where the subarray would cost more.
    if (len < 128) copyBytes(this.pool, slot * this.slotSize, buf, off, len);
    else this.pool.set(buf.subarray(off, off + len), slot * this.slotSize);
    this.lens[slot] = len;
    this.order[(this.head + this.count) % this.capacity] = slot;
    this.count++;
    return true;
  }

  /** Puts a hand-made frame on the wire. */
  inject(frame: Uint8Array): boolean {
    return this.push(frame, 0, frame.length);
  }

  /** The queued frame at position i, live: edits change what will be delivered. */
  at(i = 0): Uint8Array {
    const slot = this.slotAt(i);
    return this.pool.subarray(slot * this.slotSize, slot * this.slotSize + (this.lens[slot] as number));
  }

  /** A copy of every queued frame, in order. */
  frames(): Uint8Array[] {
    return Array.from({ length: this.count }, (_, i) => this.at(i).slice());
  }

  /** Hands the first n frames (default: all queued now, not ones queued while delivering) to the far device. */
  deliver(n = this.count): number {
    let done = 0;
    for (; done < n && this.count > 0; done++) {
      const slot = this.pop();
      // The frame stays in its slot during the handler (it is a view, as guest RAM would be).
      this.to?.rxHandler?.(this.pool, slot * this.slotSize, this.lens[slot] as number);
      this.free[this.nfree++] = slot;
    }
    return done;
  }

  /** Loses the first n frames. */
  drop(n = 1): number {
    let done = 0;
    for (; done < n && this.count > 0; done++) this.free[this.nfree++] = this.pop();
    return done;
  }

  /** Queues a copy of frame i right behind it; false when the wire is full. */
  duplicate(i = 0): boolean {
    const src = this.slotAt(i);
    if (this.nfree === 0) return false;
    const slot = this.free[--this.nfree] as number;
    this.pool.copyWithin(slot * this.slotSize, src * this.slotSize, src * this.slotSize + (this.lens[src] as number));
    this.lens[slot] = this.lens[src] as number;
    for (let k = this.count; k > i + 1; k--) this.order[(this.head + k) % this.capacity] = this.order[(this.head + k - 1) % this.capacity] as number;
    this.order[(this.head + i + 1) % this.capacity] = slot;
    this.count++;
    return true;
  }

  /** Exchanges the frames at positions i and j. */
  swap(i: number, j: number): void {
    const a = this.slotAt(i);
    const b = this.slotAt(j);
    this.order[(this.head + i) % this.capacity] = b;
    this.order[(this.head + j) % this.capacity] = a;
  }

  private slotAt(i: number): number {
    if (!Number.isInteger(i) || i < 0 || i >= this.count) throw new RangeError(`wire: no frame at ${i} (${this.count} queued)`);
    return this.order[(this.head + i) % this.capacity] as number;
  }

  private pop(): number {
    const slot = this.order[this.head] as number;
    this.head = (this.head + 1) % this.capacity;
    this.count--;
    return slot;
  }
}

function macOf(str: string): Uint8Array {
  const mac = parseMac(str);
  if (!mac) throw new RangeError(`bad MAC ${str}`);
  return mac;
}

/** A NetDevice whose xmit() puts frames on a Wire. */
export class TestNetDevice implements NetDevice {
  readonly mac: Uint8Array;
  rxHandler: ((buf: Uint8Array, off: number, len: number) => void) | undefined;

  constructor(
    readonly name: string,
    mac: string,
    readonly mtu: number,
    readonly out: Wire,
  ) {
    this.mac = macOf(mac);
  }

  xmit(buf: Uint8Array, off: number, len: number): boolean {
    return this.out.push(buf, off, len);
  }

  /** Changes the MAC in place, as a driver's set_mac_address does. */
  setMac(mac: string): void {
    this.mac.set(macOf(mac));
  }
}

export const MAC_A = '02:00:00:00:00:0a';
export const MAC_B = '02:00:00:00:00:0b';

export interface CableOptions {
  macA?: string;
  macB?: string;
  mtuA?: number;
  mtuB?: number;
  /** Frames each direction holds before xmit() says the ring is full (default 1024). */
  capacity?: number;
}

export interface Cable {
  a: TestNetDevice;
  b: TestNetDevice;
  /** Frames from a to b, and from b to a. */
  ab: Wire;
  ba: Wire;
  /** Delivers in both directions until both are empty; the number of frames delivered. */
  settle(): number;
}

/** Delivers on every wire until all are empty; throws on an endless exchange. */
function settleAll(wires: readonly Wire[]): number {
  let total = 0;
  for (let round = 0; wires.some((w) => w.length > 0); round++) {
    if (round === 10_000) throw new Error('settle: frames still flowing after 10000 rounds');
    for (const w of wires) total += w.deliver();
  }
  return total;
}

export function cable(o: CableOptions = {}): Cable {
  const mtuA = o.mtuA ?? 1500;
  const mtuB = o.mtuB ?? 1500;
  const cap = o.capacity ?? 1024;
  const maxFrame = 14 + Math.max(mtuA, mtuB);
  const ab = new Wire(cap, maxFrame);
  const ba = new Wire(cap, maxFrame);
  const a = new TestNetDevice('a0', o.macA ?? MAC_A, mtuA, ab);
  const b = new TestNetDevice('b0', o.macB ?? MAC_B, mtuB, ba);
  ab.to = b;
  ba.to = a;
  return { a, b, ab, ba, settle: () => settleAll([ab, ba]) };
}

export interface Loopback {
  dev: TestNetDevice;
  wire: Wire;
  settle(): number;
}

/** A device whose frames come back to itself (what vdpa_sim_net does). */
export function loopback(o: { mac?: string; mtu?: number; capacity?: number } = {}): Loopback {
  const mtu = o.mtu ?? 1500;
  const wire = new Wire(o.capacity ?? 1024, 14 + mtu);
  const dev = new TestNetDevice('lo0', o.mac ?? MAC_A, mtu, wire);
  wire.to = dev;
  return { dev, wire, settle: () => settleAll([wire]) };
}

export const IP_A = '10.0.0.1';
export const IP_B = '10.0.0.2';

/** Two stacks on a cable: A is 10.0.0.1/24 at MAC_A, B is 10.0.0.2/24 at MAC_B. */
export function twoStacks(o: CableOptions & { stackA?: Partial<NetStackOptions>; stackB?: Partial<NetStackOptions> } = {}) {
  const c = cable(o);
  const A = new NetStack(c.a, { ip: IP_A, prefixLen: 24, ...o.stackA });
  const B = new NetStack(c.b, { ip: IP_B, prefixLen: 24, ...o.stackB });
  return { ...c, A, B };
}

/** Bytes from hex, spaces and newlines ignored: hex('ff ff 08 06'). */
export function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  if (clean.length % 2 || /[^0-9a-f]/i.test(clean)) throw new RangeError(`hex: bad input '${s}'`);
  return Uint8Array.from({ length: clean.length / 2 }, (_, i) => parseInt(clean.slice(2 * i, 2 * i + 2), 16));
}

/** Bytes as spaced hex, for readable failures. */
export function toHex(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');
}

/** The sum of every drop counter. */
export function totalDrops(s: { drops: Record<string, number> }): number {
  return Object.values(s.drops).reduce((a, b) => a + b, 0);
}

/** Recomputes the 16-bit checksum field at f[at] over f[from, from + len) (after editing a test frame). */
export function setChecksum(f: Uint8Array, at: number, from: number, len: number, initial = 0): void {
  f[at] = 0;
  f[at + 1] = 0;
  const c = inetChecksum(f, from, len, initial);
  f[at] = c >>> 8;
  f[at + 1] = c & 0xff;
}
