// The UDP traffic generator and sink: the wire format, and the sink's counts when the cable
// loses, duplicates, reorders or damages packets; the sequence window's edges; a million-packet soak.

import { describe, expect, it } from 'vitest';
import { SEQ_WINDOW, TRAFFIC_MIN_FRAME, TrafficGen, TrafficSink, type TrafficGenOptions } from '../../sim/guest/net/index.js';
import { IP_B, toHex, twoStacks, type CableOptions } from './helpers.js';

const PORT = 9000;

/** A -> B over the cable with B's MAC resolved; a sink on B. */
function setup(o: { gen?: Partial<TrafficGenOptions>; window?: number; cable?: CableOptions } = {}) {
  const t = twoStacks(o.cable);
  t.A.arp.resolve(IP_B);
  t.settle();
  const sink = new TrafficSink(t.B.udp, PORT, o.window === undefined ? {} : { window: o.window });
  const gen = new TrafficGen(t.A.udp, { dst: IP_B, port: PORT, ...o.gen });
  return { ...t, sink, gen };
}

const clean = { lost: 0, duplicates: 0, reordered: 0, late: 0, corrupted: 0 };

describe('TrafficGen wire format', () => {
  it('a 64-byte frame carries magic 0x7664, the stream, the 64-bit sequence, the payload length and the check', () => {
    const { gen, ab } = setup({ gen: { stream: 3 } });
    expect(gen.send(1)).toBe(1);
    const f = ab.at(0);
    expect(f.length).toBe(64);
    expect(toHex(f.subarray(42, 56))).toBe('76 64 00 03 00 00 00 00 00 00 00 00 00 16');
  });

  it('a sequence number past 2^32 is carried in the high half', () => {
    const { gen, ab, sink, settle } = setup();
    gen.sent = 2 ** 32 + 5; // as if 4 billion packets had gone before
    gen.send(1);
    expect(toHex(ab.at(0).subarray(46, 54))).toBe('00 00 00 01 00 00 00 05');
    settle();
    expect(sink.stream(0)).toMatchObject({ received: 1, highest: 2 ** 32 + 5 });
  });

  it('frame lengths are drawn from [min, max], the same ones for the same seed and other ones for another seed', () => {
    const range = { min: TRAFFIC_MIN_FRAME, max: 1514 };
    const lengths = (seed: number) => {
      const { gen, ab } = setup({ gen: { frameLen: range, seed } });
      gen.send(200);
      return ab.frames().map((f) => f.length);
    };
    const a = lengths(1);
    expect(Math.min(...a)).toBeGreaterThanOrEqual(range.min);
    expect(Math.max(...a)).toBeLessThanOrEqual(range.max);
    expect(new Set(a).size).toBeGreaterThan(150);
    expect(lengths(1)).toEqual(a);
    expect(lengths(2)).not.toEqual(a);
  });

  it('refuses frame lengths below the smallest traffic frame (58) or above the MTU, and bad stream ids', () => {
    const { A } = setup();
    expect(() => new TrafficGen(A.udp, { dst: IP_B, port: PORT, frameLen: TRAFFIC_MIN_FRAME - 1 })).toThrow(RangeError);
    expect(() => new TrafficGen(A.udp, { dst: IP_B, port: PORT, frameLen: 1515 })).toThrow(RangeError);
    expect(() => new TrafficGen(A.udp, { dst: IP_B, port: PORT, frameLen: { min: 100, max: 99 } })).toThrow(RangeError);
    expect(() => new TrafficGen(A.udp, { dst: IP_B, port: PORT, stream: 65536 })).toThrow(RangeError);
    expect(() => new TrafficSink(A.udp, PORT + 1, { window: 1000 })).toThrow(RangeError);
  });
});

describe('TrafficSink counts', () => {
  it('a clean run: every packet received once, in order, nothing lost', () => {
    const { gen, sink, settle } = setup({ gen: { frameLen: { min: 60, max: 1514 } } });
    expect(gen.send(1000)).toBe(1000);
    settle();
    expect(sink.stream(0)).toEqual({ received: 1000, bytes: gen.bytes, highest: 999, ...clean });
    expect(sink.malformed).toBe(0);
  });

  it('dropped packets are lost (every tenth of 1000: 100)', () => {
    const { gen, sink, ab } = setup();
    gen.send(1000);
    for (let i = 0; i < 1000; i++) {
      if (i % 10 === 5) ab.drop();
      else ab.deliver(1);
    }
    expect(sink.stream(0)).toMatchObject({ received: 900, lost: 100, duplicates: 0, reordered: 0, highest: 999 });
  });

  it('a duplicated packet is a duplicate, not a new arrival', () => {
    const { gen, sink, ab } = setup();
    gen.send(10);
    ab.duplicate(3);
    ab.duplicate(7);
    ab.deliver();
    expect(sink.stream(0)).toMatchObject({ received: 12, duplicates: 2, lost: 0, reordered: 0 });
  });

  it('a swapped pair: the lower sequence number arrives reordered, nothing lost', () => {
    const { gen, sink, ab } = setup();
    gen.send(10);
    ab.swap(2, 3);
    ab.swap(6, 7);
    ab.deliver();
    expect(sink.stream(0)).toMatchObject({ received: 10, reordered: 2, lost: 0, duplicates: 0 });
  });

  it('a number not yet arrived counts as lost until it comes; then it counts as reordered', () => {
    const { gen, sink, ab } = setup();
    gen.send(5);
    ab.swap(0, 4); // 4 1 2 3 0
    ab.deliver(4);
    expect(sink.stream(0)).toMatchObject({ lost: 1, reordered: 3, highest: 4 });
    ab.deliver();
    expect(sink.stream(0)).toMatchObject({ lost: 0, reordered: 4 });
  });

  it('a damaged payload byte, UDP checksum cleared as an offloading device could leave it, is corrupted and lost', () => {
    const { gen, sink, ab } = setup({ gen: { frameLen: 100 } });
    gen.send(3);
    const f = ab.at(1);
    f[42 + 30] = (f[42 + 30] as number) ^ 0x01;
    f.fill(0, 40, 42);
    ab.deliver();
    expect(sink.stream(0)).toMatchObject({ received: 2, corrupted: 1, lost: 1 });
  });

  it('a flipped bit anywhere in the payload, header or pattern, is noticed (corrupted or malformed)', () => {
    const { gen, sink, ab } = setup({ gen: { frameLen: 80 } });
    const payloadLen = 80 - 42;
    gen.send(payloadLen);
    for (let i = 0; i < payloadLen; i++) {
      const f = ab.at(i);
      f[42 + i] = (f[42 + i] as number) ^ (1 << i % 8);
      f.fill(0, 40, 42);
    }
    ab.deliver();
    const s = sink.stream(0);
    expect(s.corrupted + sink.malformed).toBe(payloadLen);
    expect(s.received).toBe(0);
  });

  it('a datagram cut short behind an intact header is corrupted', () => {
    const { A, gen, sink, ab, settle } = setup({ gen: { frameLen: 100 } });
    gen.send(1);
    const payload = ab.at(0).slice(42, 42 + 30);
    ab.drop();
    A.udp.bind(0).sendto(payload, 0, payload.length, IP_B, PORT);
    settle();
    expect(sink.stream(0)).toMatchObject({ received: 0, corrupted: 1 });
  });

  it('a damaged header, or a datagram that is not traffic at all, is malformed (its stream is unknown)', () => {
    const { A, gen, sink, ab, settle } = setup();
    gen.send(2);
    const f = ab.at(0);
    f[42 + 3] = 9; // stream 0 -> 9: the check no longer matches
    f.fill(0, 40, 42);
    ab.deliver();
    A.udp.bind(0).sendto(new Uint8Array(40), 0, 40, IP_B, PORT);
    settle();
    expect(sink.malformed).toBe(2);
    expect(sink.streamIds()).toEqual([0]);
    expect(sink.stream(0)).toMatchObject({ received: 1, corrupted: 0 });
    expect(sink.stream(9)).toEqual({ received: 0, bytes: 0, highest: -1, ...clean });
  });

  it('streams are counted apart', () => {
    const { A, sink, ab, settle } = setup();
    const g1 = new TrafficGen(A.udp, { dst: IP_B, port: PORT, stream: 1 });
    const g2 = new TrafficGen(A.udp, { dst: IP_B, port: PORT, stream: 2 });
    g1.send(5);
    g2.send(7);
    ab.drop(); // stream 1, seq 0
    settle();
    expect(sink.streamIds()).toEqual([1, 2]);
    expect(sink.stream(1)).toMatchObject({ received: 4, lost: 1, highest: 4 });
    expect(sink.stream(2)).toMatchObject({ received: 7, lost: 0, highest: 6 });
  });
});

describe('TrafficSink sequence window', () => {
  it(`defaults to ${SEQ_WINDOW} sequence numbers`, () => {
    expect(setup().sink.window).toBe(65536);
  });

  it('a packet more than the window behind the highest is late: not a duplicate, not reordered, still lost', () => {
    const { gen, sink, ab } = setup({ window: 32 });
    gen.send(100);
    const seq5 = ab.at(5).slice();
    ab.deliver(5);
    ab.drop();
    ab.deliver();
    ab.inject(seq5); // 94 behind the highest (99)
    ab.deliver();
    expect(sink.stream(0)).toMatchObject({ received: 100, late: 1, lost: 1, duplicates: 0, reordered: 0 });
  });

  it('a number that shares a bitmap slot with an older one is new, not a duplicate, after a gap within the window', () => {
    const { gen, sink, ab } = setup({ window: 32 });
    gen.send(60);
    ab.deliver(10); // 0..9
    ab.drop(20); // 10..29 lost
    ab.deliver(); // 30..59: 40..41 share slots with 8..9
    expect(sink.stream(0)).toMatchObject({ received: 40, lost: 20, duplicates: 0 });
  });

  it('the same after a gap longer than the window', () => {
    const { gen, sink, ab } = setup({ window: 32 });
    gen.send(200);
    ab.deliver(10);
    ab.drop(100);
    ab.deliver();
    expect(sink.stream(0)).toMatchObject({ received: 100, lost: 100, duplicates: 0, reordered: 0 });
  });

  it('a duplicate just inside the window is still caught', () => {
    const { gen, sink, ab } = setup({ window: 32 });
    gen.send(40);
    ab.duplicate(8); // copy of seq 8 arrives right after it ...
    ab.swap(9, 39); // ... then is moved behind seq 39, 31 numbers behind
    ab.deliver();
    expect(sink.stream(0)).toMatchObject({ duplicates: 1, late: 0, lost: 0 });
  });
});

describe('back-pressure and soak', () => {
  it('send(n) stops when the ring is full and the next send() resumes with the same sequence number', () => {
    const { A, gen, sink, ab } = setup({ cable: { capacity: 100 } });
    expect(gen.send(250)).toBe(100);
    ab.deliver();
    expect(gen.send(150)).toBe(100);
    ab.deliver();
    expect(gen.send(50)).toBe(50);
    ab.deliver();
    expect(gen.sent).toBe(250);
    expect(sink.stream(0)).toMatchObject({ received: 250, highest: 249, ...clean });
    expect(A.stats().drops.FULL_RING).toBe(2);
  });

  it('1,000,000 packets through the stacks and the cable: all received, none lost, duplicated, reordered or corrupted', () => {
    const { A, B, gen, sink, ab } = setup();
    const N = 1_000_000;
    while (gen.sent < N) {
      gen.send(Math.min(1000, N - gen.sent));
      ab.deliver();
    }
    expect(sink.stream(0)).toEqual({ received: N, bytes: N * 22, highest: N - 1, ...clean });
    expect(A.stats().link.txPackets).toBe(N + 1);
    expect(B.stats().udp.inDatagrams).toBe(N);
  }, 120_000);
});
