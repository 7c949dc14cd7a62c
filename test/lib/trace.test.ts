// Trace events: published on diagnostics_channel when subscribed, free otherwise; printed with
// NODE_DEBUG=vdpa.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../lib/package_root.js';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import { tracepoint, tracepoints } from '../../lib/trace.js';
import { modelTarget } from '../helpers/model_target.js';

describe('tracepoints', () => {
  it('is active only while subscribed, and publishes to the subscribers', () => {
    const tp = tracepoint<{ n: number }>('vdpa:test:event');
    expect(tp.active).toBe(false);
    const seen: unknown[] = [];
    const fn = (m: unknown) => seen.push(m);
    subscribe('vdpa:test:event', fn);
    expect(tp.active).toBe(true);
    tp.publish({ n: 1 });
    unsubscribe('vdpa:test:event', fn);
    expect(tp.active).toBe(false);
    expect(seen).toEqual([{ n: 1 }]);
  });

  it('vhost-vdpa reports ioctls, IOTLB messages, kicks and calls', () => {
    const t = modelTarget('linux-6.1');
    const seen: [string, unknown][] = [];
    const subs = ['vdpa:vhost:ioctl', 'vdpa:vhost:iotlb_msg', 'vdpa:vhost:kick'].map((name) => {
      const fn = (m: unknown) => seen.push([name, m]);
      subscribe(name, fn);
      return () => unsubscribe(name, fn);
    });
    t.v.setOwner();
    expect(() => t.v.iotlbUpdate({ iova: 0x1000n, size: 0x1000n, uaddr: 0x1000n, perm: 3 })).toThrow();
    for (const off of subs) off();
    expect(seen[0]).toEqual(['vdpa:vhost:ioctl', { dev: 'vhost-vdpa-0', cmd: 0xaf01, ret: 0 }]);
    expect(seen[1]?.[0]).toBe('vdpa:vhost:iotlb_msg');
    expect(seen[1]?.[1]).toMatchObject({ asid: 0, type: 2, iova: 0x1000n, ret: -14 });
    expect(tracepoints()).toEqual(expect.arrayContaining(['vdpa:vhost:ioctl', 'vdpa:vhost:iotlb_msg', 'vdpa:vhost:kick', 'vdpa:vhost:call', 'vdpa:sim_net:packet']));
  });

  const built = join(packageRoot(), 'dist', 'lib', 'trace.js');
  it.skipIf(!existsSync(built))('NODE_DEBUG=vdpa prints every event to stderr (needs the build in dist/)', () => {
    const r = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', `import(${JSON.stringify(built)}).then(({ tracepoint }) => tracepoint('vdpa:x:y').publish({ a: 1n }))`],
      { env: { ...process.env, NODE_DEBUG: 'vdpa' }, encoding: 'utf8' },
    );
    expect(r.stderr).toMatch(/^VDPA \d+: vdpa:x:y \{"a":"0x1"\}$/m);
  });
});
