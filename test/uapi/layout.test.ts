import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  anonUnion,
  array,
  bytes,
  defineLayout,
  flex,
  s32,
  struct,
  u16,
  u32,
  u64,
  u8,
  vhostIotlbMsg,
  vhostMsgV2,
  vhostVringAddr,
  vhostVringState,
  virtioNetHdrV1,
  VHOST_IOTLB_UPDATE,
  VHOST_ACCESS_RW,
} from '../../uapi/index.js';

describe('defineLayout() codecs', () => {
  it('decode() honours the byteOffset of a subarray view', () => {
    const backing = new Uint8Array(64);
    const view = backing.subarray(16, 32);
    new DataView(backing.buffer).setUint32(16 + 4, 0x1234, true);
    expect(vhostVringState.decode(view)).toEqual({ index: 0, num: 0x1234 });
  });

  it('encode() writes little-endian at the given offset and leaves other bytes alone', () => {
    const buf = new Uint8Array(12).fill(0xee);
    vhostVringState.encode({ index: 1, num: 0x01020304 }, buf, 2);
    expect([...buf]).toEqual([0xee, 0xee, 1, 0, 0, 0, 4, 3, 2, 1, 0xee, 0xee]);
  });

  it('u64 fields are bigint and round-trip the full range', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (v) => {
        const buf = vhostVringAddr.pack({ desc_user_addr: v, log_guest_addr: v });
        const back = vhostVringAddr.decode(buf);
        expect(back.desc_user_addr).toBe(v);
        expect(back.log_guest_addr).toBe(v);
      }),
    );
  });

  it('signed fields read back negative', () => {
    const L = defineLayout('t_signed', 4, { fd: s32(0, 'int') });
    expect(L.decode(L.pack({ fd: -1 }))).toEqual({ fd: -1 });
  });

  it('rejects a short buffer with a message naming the struct and sizes', () => {
    expect(() => vhostVringAddr.decode(new Uint8Array(39))).toThrow(
      'vhost_vring_addr: needs 40 bytes at offset 0, buffer holds 39',
    );
    expect(() => vhostVringState.decode(new Uint8Array(16), 9)).toThrow(/needs 8 bytes at offset 9, buffer holds 16/);
    expect(() => vhostVringState.encode({ index: 1 }, new Uint8Array(7))).toThrow(RangeError);
    expect(() => vhostVringState.decode(new Uint8Array(16), -1)).toThrow(RangeError);
  });

  it('rejects values of the wrong type', () => {
    expect(() => vhostVringAddr.pack({ desc_user_addr: 5 as unknown as bigint })).toThrow(
      'vhost_vring_addr.desc_user_addr: expected a bigint, got 5',
    );
    expect(() => vhostVringState.pack({ num: 1.5 })).toThrow(/expected an integer/);
  });

  it('anonymous unions flatten into the parent; named nested structs stay nested', () => {
    const msg = vhostMsgV2.pack({
      type: 2,
      asid: 1,
      iotlb: { iova: 0x1000n, size: 0x2000n, uaddr: 0x7f00_0000_0000n, perm: VHOST_ACCESS_RW, type: VHOST_IOTLB_UPDATE },
    });
    const d = vhostMsgV2.decode(msg);
    expect(d.iotlb).toEqual({ iova: 0x1000n, size: 0x2000n, uaddr: 0x7f00_0000_0000n, perm: 3, type: 2 });
    expect(d.padding.length).toBe(64);
    expect(d.padding[0]).toBe(0x00);
    expect(d.padding[1]).toBe(0x10);
    expect(vhostMsgV2.offsetOf('iotlb.type')).toBe(8 + 25);
  });

  it('union members alias the same bytes (virtio_net_hdr_v1 csum_start == csum.start)', () => {
    const h = virtioNetHdrV1.decode(virtioNetHdrV1.pack({ csum_start: 14, csum_offset: 16, num_buffers: 1 }));
    expect(h.csum).toEqual({ start: 14, offset: 16 });
    expect(h.rsc).toEqual({ segments: 14, dup_acks: 16 });
    expect(h.num_buffers).toBe(1);
  });

  it('paths() lists C member paths with offsets and sizes', () => {
    expect(vhostIotlbMsg.paths()).toEqual([
      { path: 'iova', offset: 0, size: 8 },
      { path: 'size', offset: 8, size: 8 },
      { path: 'uaddr', offset: 16, size: 8 },
      { path: 'perm', offset: 24, size: 1 },
      { path: 'type', offset: 25, size: 1 },
    ]);
    expect(() => vhostIotlbMsg.offsetOf('nope')).toThrow('vhost_iotlb_msg: no member nope');
  });

  it('arrays decode element by element', () => {
    const L = defineLayout('t_arr', 8, { a: array(0, 3, u16(0)), b: u16(6) });
    expect(L.decode(L.pack({ a: [1, 2, 3], b: 4 }))).toEqual({ a: [1, 2, 3], b: 4 });
    expect(() => L.pack({ a: [1, 2, 3, 4] })).toThrow(/t_arr.a: expected at most 3 items/);
  });

  it('bytes fields decode to a copy, not a view of the source', () => {
    const L = defineLayout('t_bytes', 6, { mac: bytes(0, 6) });
    const src = new Uint8Array([1, 2, 3, 4, 5, 6]);
    const d = L.decode(src);
    src[0] = 9;
    expect([...d.mac]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => L.pack({ mac: new Uint8Array(7) })).toThrow(/at most 6 bytes/);
  });

  it('refuses overlapping members, members past the end, and a flexible array that is not last', () => {
    expect(() => defineLayout('t1', 8, { a: u32(0), b: u32(2) })).toThrow('t1.b: overlaps a');
    expect(() => defineLayout('t2', 4, { a: u64(0) })).toThrow('t2.a: ends at 8, past the size 4');
    expect(() => defineLayout('t3', 8, { f: flex(0, 1, '__u8'), a: u8(4) })).toThrow('t3.f: flexible array must be last');
    expect(() => anonUnion(0, 4, { a: u64(0) })).toThrow(/past the size 4/);
    expect(() => defineLayout('t4', 8, { x: struct(4, vhostVringState) })).toThrow(/past the size 8/);
  });
});
