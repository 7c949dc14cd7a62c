import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NetlinkParseError, NlAttrs, NlMsgWriter, buildAck, parseAck, parseMessages } from '../../lib/netlink/index.js';
import {
  CTRL_ATTR_FAMILY_NAME,
  CTRL_CMD_GETFAMILY,
  EINVAL,
  GENL_ID_CTRL,
  NLA_F_NESTED,
  NLMSG_ERROR,
  NLM_F_ACK,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLM_F_REQUEST,
  VDPA_ATTR_DEV_NAME,
  VDPA_ATTR_DEV_NET_CFG_MACADDR,
} from '../../uapi/index.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('NlMsgWriter', () => {
  it('builds CTRL_CMD_GETFAMILY "vdpa" byte for byte', () => {
    const bytes = new NlMsgWriter()
      .beginMsg(GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK, 1, 0)
      .genl(CTRL_CMD_GETFAMILY, 1)
      .putString(CTRL_ATTR_FAMILY_NAME, 'vdpa')
      .endMsg()
      .finish();
    // nlmsghdr (len 32 with the attribute's padding, type 0x10, flags 5, seq 1, pid 0) | genl (cmd 3, ver 1) | nla (len 9, type 2, "vdpa\0", 3 pad)
    expect(hex(bytes)).toBe('20000000100005000100000000000000' + '03010000' + '09000200' + '7664706100' + '000000');
  });

  it('pads every attribute to 4 bytes and counts the padding in nlmsg_len but not in nla_len', () => {
    const bytes = new NlMsgWriter().beginMsg(0x20, 0).putString(VDPA_ATTR_DEV_NAME, 'vdpa0').putU8(99, 7).endMsg().finish();
    const [m] = parseMessages(bytes);
    expect(m?.bytes.length).toBe(16 + 12 + 8);
    const attrs = NlAttrs.parse(m?.payload ?? new Uint8Array());
    expect(attrs.list.map((a) => [a.type, a.payload.length, a.offset])).toEqual([
      [VDPA_ATTR_DEV_NAME, 6, 0],
      [99, 1, 12],
    ]);
  });

  it('nests with or without NLA_F_NESTED', () => {
    const w = new NlMsgWriter().beginMsg(0x20, 0);
    const t = w.beginNested(5);
    w.putU32(1, 0xdeadbeef);
    w.endNested(t);
    const t2 = w.beginNested(6, false);
    w.endNested(t2);
    const attrs = NlAttrs.parse(parseMessages(w.endMsg().finish())[0]?.payload ?? new Uint8Array());
    expect(attrs.get(5)?.nested).toBe(true);
    expect(attrs.nested(5)?.u32(1)).toBe(0xdeadbeef);
    const raw = attrs.get(5);
    expect(raw && new DataView(raw.payload.buffer, raw.payload.byteOffset - 4).getUint16(2, true)).toBe(5 | NLA_F_NESTED);
    expect(attrs.get(6)?.nested).toBe(false);
  });

  it('refuses to end a message it did not begin, or to finish an open one', () => {
    expect(() => new NlMsgWriter().endMsg()).toThrow(/no message to end/);
    expect(() => new NlMsgWriter().beginMsg(1, 0).finish()).toThrow(/not ended/);
    expect(() => new NlMsgWriter().beginMsg(1, 0).beginMsg(1, 0)).toThrow(/not ended/);
  });
});

describe('parsing', () => {
  it('round-trips random attributes of every width (fast-check)', () => {
    const attr = fc.oneof(
      fc.record({ k: fc.constant('u8' as const), t: fc.integer({ min: 1, max: 200 }), v: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ k: fc.constant('u16' as const), t: fc.integer({ min: 1, max: 200 }), v: fc.integer({ min: 0, max: 0xffff }) }),
      fc.record({ k: fc.constant('u32' as const), t: fc.integer({ min: 1, max: 200 }), v: fc.nat() }),
      fc.record({ k: fc.constant('u64' as const), t: fc.integer({ min: 1, max: 200 }), v: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }),
      fc.record({ k: fc.constant('str' as const), t: fc.integer({ min: 1, max: 200 }), v: fc.string({ maxLength: 20 }).filter((s) => !s.includes('\0')) }),
      fc.record({ k: fc.constant('bin' as const), t: fc.integer({ min: 1, max: 200 }), v: fc.uint8Array({ maxLength: 13 }) }),
    );
    fc.assert(
      fc.property(fc.array(attr, { maxLength: 12 }), (attrs) => {
        const w = new NlMsgWriter(16).beginMsg(0x22, NLM_F_REQUEST, 9, 0).genl(1, 1);
        for (const a of attrs) {
          if (a.k === 'u8') w.putU8(a.t, a.v);
          else if (a.k === 'u16') w.putU16(a.t, a.v);
          else if (a.k === 'u32') w.putU32(a.t, a.v);
          else if (a.k === 'u64') w.putU64(a.t, a.v);
          else if (a.k === 'str') w.putString(a.t, a.v);
          else w.put(a.t, a.v);
        }
        const [m] = parseMessages(w.endMsg().finish());
        if (!m) throw new Error('no message');
        const parsed = NlAttrs.ofGenl(m).list;
        expect(parsed.length).toBe(attrs.length);
        attrs.forEach((a, i) => {
          const one = new NlAttrs([parsed[i] as NonNullable<(typeof parsed)[number]>]);
          if (a.k === 'u8') expect(one.u8(a.t)).toBe(a.v);
          else if (a.k === 'u16') expect(one.u16(a.t)).toBe(a.v);
          else if (a.k === 'u32') expect(one.u32(a.t)).toBe(a.v);
          else if (a.k === 'u64') expect(one.u64(a.t)).toBe(a.v);
          else if (a.k === 'str') expect(one.string(a.t)).toBe(a.v);
          else expect([...(one.binary(a.t) ?? [])]).toEqual([...a.v]);
        });
      }),
    );
  });

  it('rejects a message length past the buffer, under the header size, or trailing junk', () => {
    const good = new NlMsgWriter().beginMsg(0x20, 0).putU32(1, 1).endMsg().finish();
    const long = good.slice();
    new DataView(long.buffer).setUint32(0, 200, true);
    expect(() => parseMessages(long)).toThrow(NetlinkParseError);
    const short = good.slice();
    new DataView(short.buffer).setUint32(0, 8, true);
    expect(() => parseMessages(short)).toThrow(/nlmsg_len 8/);
    expect(() => parseMessages(new Uint8Array([...good, 1, 2, 3, 4]))).toThrow(/trailing bytes/);
  });

  it('rejects an attribute length under 4 or past its message, and short scalars', () => {
    expect(() => NlAttrs.parse(Uint8Array.from([2, 0, 1, 0]))).toThrow(/nla_len 2/);
    expect(() => NlAttrs.parse(Uint8Array.from([12, 0, 1, 0, 0, 0]))).toThrow(/nla_len 12/);
    const a = NlAttrs.parse(Uint8Array.from([5, 0, 1, 0, 9, 0, 0, 0]));
    expect(a.u8(1)).toBe(9);
    expect(() => a.u32(1)).toThrow(/holds 1 bytes, needs 4/);
    expect(a.u32(2)).toBeUndefined();
  });
});

describe('netlink_ack()', () => {
  const req = parseMessages(
    new NlMsgWriter().beginMsg(0x1b, NLM_F_REQUEST | NLM_F_ACK, 42, 77).genl(3, 1).put(VDPA_ATTR_DEV_NET_CFG_MACADDR, new Uint8Array(6)).endMsg().finish(),
  )[0];
  if (!req) throw new Error('no request');

  it('an error with EXT_ACK and CAP_ACK: capped header, message and offset TLVs', () => {
    const [m] = parseMessages(buildAck(req, -EINVAL, { msg: 'Invalid MAC address', badAttrOffset: 20 }, { capAck: true, extAck: true }));
    if (!m) throw new Error('no ack');
    expect(m.type).toBe(NLMSG_ERROR);
    expect(m.flags).toBe(NLM_F_CAPPED | NLM_F_ACK_TLVS);
    expect(parseAck(m)).toEqual({
      error: -EINVAL,
      capped: true,
      request: { type: 0x1b, flags: NLM_F_REQUEST | NLM_F_ACK, seq: 42, pid: 77 },
      msg: 'Invalid MAC address',
      offs: 20,
    });
  });

  it('without CAP_ACK the whole request is echoed; without EXT_ACK no TLVs', () => {
    const [m] = parseMessages(buildAck(req, -EINVAL, { msg: 'x', badAttrOffset: 20 }, { capAck: false, extAck: false }));
    if (!m) throw new Error('no ack');
    expect(m.flags).toBe(0);
    expect(m.bytes.length).toBe(16 + 4 + req.bytes.length);
    expect(parseAck(m).msg).toBeUndefined();
  });

  it('a success ACK is always capped and may carry a warning but no offset', () => {
    const [m] = parseMessages(buildAck(req, 0, { msg: 'warning', badAttrOffset: 20 }, { capAck: false, extAck: true }));
    if (!m) throw new Error('no ack');
    const info = parseAck(m);
    expect(info).toMatchObject({ error: 0, capped: true, msg: 'warning' });
    expect(info.offs).toBeUndefined();
  });
});
