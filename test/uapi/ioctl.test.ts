import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allIoctls } from '../../lib/uapi/index.js';
import {
  UAPI_PROFILES,
  _IO,
  _IOC,
  _IOR,
  _IOW,
  _IOWR,
  _IOC_NONE,
  _IOC_READ,
  _IOC_WRITE,
  availableIn,
  decodeIoctl,
  defineIoctls,
  ioc,
  ARG_U64,
} from '../../uapi/index.js';

describe('_IOC encoding (asm-generic/ioctl.h)', () => {
  it('packs dir<<30 | size<<16 | type<<8 | nr as an unsigned 32-bit number', () => {
    expect(_IOC(_IOC_READ | _IOC_WRITE, 0xaf, 0x7b, 8)).toBe(0xc008af7b);
    expect(_IOR(0xaf, 0x00, 8)).toBe(0x8008af00);
    expect(_IOW(0xaf, 0x11, 40)).toBe(0x4028af11);
    expect(_IOWR(0xaf, 0x82, 8)).toBe(0xc008af82);
    expect(_IO(0xaf, 0x7d)).toBe(0x0000af7d);
  });

  it('decodeIoctl() inverts _IOC() for every field value', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: (1 << 14) - 1 }),
        (dir, type, nr, size) => {
          expect(decodeIoctl(_IOC(dir, type, nr, size))).toEqual({ dir, type, nr, size });
        },
      ),
    );
  });

  it('rejects fields that do not fit their bits', () => {
    expect(() => _IOC(_IOC_NONE, 0x100, 0, 0)).toThrow(/type 256 does not fit in 8 bits/);
    expect(() => _IOC(_IOC_WRITE, 0xaf, 0, 1 << 14)).toThrow(/size 16384 does not fit in 14 bits/);
    expect(() => _IOC(4, 0xaf, 0, 0)).toThrow(/dir 4/);
    expect(() => _IOC(_IOC_NONE, 0xaf, 1.5, 0)).toThrow(/nr 1.5/);
  });

  it('defineIoctls() refuses an _IO with an argument and an _IOW without one', () => {
    const T = { value: 0xaf, name: 'VHOST_VIRTIO' };
    expect(() => defineIoctls({ BAD: ioc('_IO', T, 1, ARG_U64) })).toThrow(/BAD: _IO takes no argument type/);
    expect(() => defineIoctls({ BAD: ioc('_IOW', T, 1) })).toThrow(/BAD: _IOW needs an argument type/);
  });
});

describe('request numbers across every modelled header', () => {
  for (const profile of UAPI_PROFILES) {
    it(`no two requests share a number in ${profile}`, () => {
      const seen = new Map<number, string>();
      const dups: string[] = [];
      for (const d of allIoctls().filter((i) => availableIn(i.availability, profile))) {
        const prior = seen.get(d.request);
        if (prior) dups.push(`${prior} and ${d.name}: 0x${d.request.toString(16)}`);
        seen.set(d.request, d.name);
      }
      expect(dups).toEqual([]);
    });
  }

  it('every request carries the size of its argument type', () => {
    for (const d of allIoctls()) expect(decodeIoctl(d.request).size).toBe(d.arg?.size ?? 0);
  });
});
