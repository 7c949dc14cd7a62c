// The header descriptions must hold every constant the uapi modules export, so that the layout
// test, the C header and the summary see the whole uAPI; and the vring helpers must agree with
// the inline functions of the real virtio_ring.h.

import { describe, expect, it } from 'vitest';
import * as errno from '../../uapi/errno.js';
import * as fcntl from '../../uapi/fcntl.js';
import * as ioctls from '../../uapi/ioctls.js';
import * as memfd from '../../uapi/memfd.js';
import * as mman from '../../uapi/mman.js';
import * as netlink from '../../uapi/netlink.js';
import * as poll from '../../uapi/poll.js';
import * as ifTun from '../../uapi/if_tun.js';
import * as vdpa from '../../uapi/vdpa.js';
import * as vhost from '../../uapi/vhost.js';
import * as vhostTypes from '../../uapi/vhost_types.js';
import * as virtioBlk from '../../uapi/virtio_blk.js';
import * as virtioConfig from '../../uapi/virtio_config.js';
import * as virtioIds from '../../uapi/virtio_ids.js';
import * as virtioNet from '../../uapi/virtio_net.js';
import * as virtioPci from '../../uapi/virtio_pci.js';
import * as virtioRing from '../../uapi/virtio_ring.js';
import { UAPI_HEADERS, UAPI_PROFILES, enumValuesIn, vring_init, vring_need_event, vring_size } from '../../uapi/index.js';
import { compileAndRun } from '../helpers/gcc.js';

const MODULES = { errno, fcntl, ioctls, memfd, mman, netlink, poll, ifTun, vdpa, vhost, vhostTypes, virtioBlk, virtioConfig, virtioIds, virtioNet, virtioPci, virtioRing };

function declaredNames(): Set<string> {
  const names = new Set<string>();
  for (const h of UAPI_HEADERS) {
    for (const item of h.items) {
      if (item.kind === 'const') names.add(item.name);
      if (item.kind === 'ioctl') names.add(item.decl.name);
      if (item.kind === 'enum') for (const p of UAPI_PROFILES) for (const m of enumValuesIn(item, p)) names.add(m.name);
    }
  }
  return names;
}

describe('header descriptions are complete', () => {
  const declared = declaredNames();
  for (const [mod, ns] of Object.entries(MODULES)) {
    it(`every SCREAMING_CASE constant exported by uapi/${mod} is in a header description`, () => {
      const missing = Object.entries(ns)
        .filter(([k, v]) => /^[A-Z_][A-Z0-9_]*[A-Za-z0-9]*$/.test(k) && ['number', 'bigint', 'string'].includes(typeof v))
        .filter(([k]) => k !== 'STRERROR' && k !== 'ERRNO_NAMES' && k !== 'VDPA_ATTR_TYPES')
        .map(([k]) => k)
        .filter((k) => !declared.has(k));
      expect(missing).toEqual([]);
    });
  }

  it('every exported enum constant of vdpa.ts equals its upstream enumerator', () => {
    const up = { ...vdpa.vdpaCommands('upstream'), ...vdpa.vdpaAttrs('upstream') };
    for (const [name, value] of Object.entries(up)) expect((vdpa as Record<string, unknown>)[name], name).toBe(value);
  });
});

describe('virtio_ring.h inline helpers', () => {
  it('vring_need_event() follows (u16)(new - event - 1) < (u16)(new - old) exhaustively for small windows', () => {
    for (let old = 65530; old < 65546; old++) {
      for (let n = old; n < old + 8; n++) {
        for (let ev = old - 3; ev < n + 3; ev++) {
          const o = old & 0xffff;
          const nn = n & 0xffff;
          const e = ev & 0xffff;
          // The event index lies in [old, new) exactly when the notification is due.
          const inWindow = ((e - o) & 0xffff) < ((nn - o) & 0xffff);
          expect(vring_need_event(e, nn, o)).toBe(inWindow);
        }
      }
    }
  });

  it('vring_size() and vring_init() agree with the real header for several sizes and alignments', () => {
    const cases = [1, 2, 4, 64, 256, 1024, 32768].flatMap((num) => [4, 64, 4096].map((align) => [num, align] as const));
    const body = cases
      .map(
        ([num, align]) =>
          `\t{ struct vring vr; vring_init(&vr, ${num}, (void *)0, ${align}); printf("%u %lu %lu\\n", vring_size(${num}, ${align}), (unsigned long)(uintptr_t)vr.avail, (unsigned long)(uintptr_t)vr.used); }`,
      )
      .join('\n');
    const c = `#include <stdio.h>\n#include <stdint.h>\n#include <linux/virtio_ring.h>\nint main(void)\n{\n${body}\n\treturn 0;\n}\n`;
    const lines = compileAndRun({ 'main.c': c }).trim().split('\n');
    cases.forEach(([num, align], i) => {
      const { avail, used } = vring_init(num, align);
      expect(lines[i]).toBe(`${vring_size(num, align)} ${avail} ${used}`);
    });
  });
});
