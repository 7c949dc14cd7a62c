import { describe, expect, it } from 'vitest';
import {
  LM_LAYOUTS,
  LM_PACKED_STATE,
  LM_REGION_SIZE,
  lmDecodeSplitState,
  lmEncodeSplitState,
  lmVringStateOffset,
} from '../../uapi/proposed/index.js';
import * as uapi from '../../uapi/index.js';

describe('proposed live-migration registers (seeds 000/001, not upstream)', () => {
  it('records the code layout: CTRL 0x0, BASE 0x4/0x8, END 0xC/0x10, ring state 0x20 + 4·q', () => {
    const c = LM_LAYOUTS.code;
    expect([c.LM_LOGGING_CTRL, c.LM_BASE_ADDR_LOW, c.LM_BASE_ADDR_HIGH, c.LM_END_ADDR_LOW, c.LM_END_ADDR_HIGH]).toEqual([
      0x0, 0x4, 0x8, 0xc, 0x10,
    ]);
    expect(lmVringStateOffset(c, 2)).toBe(0x28);
  });

  it('records the documentation table, which disagrees: BASE 0x10/0x14, END 0x18/0x1C', () => {
    const d = LM_LAYOUTS.doc;
    expect([d.LM_LOGGING_CTRL, d.LM_BASE_ADDR_LOW, d.LM_BASE_ADDR_HIGH, d.LM_END_ADDR_LOW, d.LM_END_ADDR_HIGH]).toEqual([
      0x0, 0x10, 0x14, 0x18, 0x1c,
    ]);
    expect(lmVringStateOffset(d, 1023)).toBe(0x20 + 1023 * 4);
  });

  it('the region is 0x20 + 1024·4 bytes', () => {
    expect(LM_REGION_SIZE).toBe(0x1020);
  });

  it('split ring state is last_avail | used << 16; packed rings read all ones', () => {
    expect(lmEncodeSplitState(0x1234, 0xabcd)).toBe(0xabcd1234);
    expect(lmDecodeSplitState(0xabcd1234)).toEqual({ lastAvail: 0x1234, usedIdx: 0xabcd });
    expect(LM_PACKED_STATE).toBe(0xffffffff);
  });

  it('stays out of uapi/ proper', () => {
    expect(Object.keys(uapi).filter((k) => k.startsWith('LM_') || k.startsWith('lm'))).toEqual([]);
  });
});
