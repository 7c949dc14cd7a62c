// The VMM's netdev init and the CVQ isolation probe (vmm-svq-cvq-migration-facts.md §3.2, §8
// items 1-8), observed as QEMU would be under strace: the ioctls it issues on
// /dev/vhost-vdpa-N, in order.

import { describe, expect, it } from 'vitest';
import { EOPNOTSUPP, VHOST_F_LOG_ALL, VIRTIO_NET_F_GUEST_ANNOUNCE } from '../../uapi/index.js';
import { VDPASIM_NETX_DEFAULT_FEATURES } from '../../drivers/vdpa/vdpa_sim/index.js';
import { Vmm, svqFeaturesError } from '../../sim/vmm/index.js';
import { type Inject, strace } from '../helpers/strace.js';
import { PROFILES } from '../helpers/model_target.js';
import { bootVmmHost, mac } from '../helpers/vmm.js';

const bit = (n: number): bigint => 1n << BigInt(n);

function launch(host: ReturnType<typeof bootVmmHost>, dev = 0, o: { inject?: Inject; xSvq?: boolean } = {}) {
  let t: ReturnType<typeof strace> | undefined;
  const vmm = Vmm.launch(host, {
    nets: [{ vhostdev: `/dev/vhost-vdpa-${dev}`, mac: mac(dev), ...(o.xSvq ? { xSvq: true } : {}) }],
    wrapUserSpace: (us) => (t = strace(us, o.inject)).us,
  });
  return { vmm, t: t as ReturnType<typeof strace> };
}

describe('netdev init', () => {
  it('refuses a device that is not net (item 1)', () => {
    const host = bootVmmHost('upstream', [{ mgmtdev: 'vdpasim_blk' }]);
    const { vmm } = launch(host);
    expect(vmm).toMatch(/vhostdev=\/dev\/vhost-vdpa-0: failed to init vhost_net/);
  });

  it('fails when GET_IOVA_RANGE fails (item 1)', () => {
    const host = bootVmmHost('upstream', [{ mgmtdev: 'vdpasim_net' }]);
    const { vmm } = launch(host, 0, { inject: (n) => (n === 'VHOST_VDPA_GET_IOVA_RANGE' ? -EOPNOTSUPP : undefined) });
    expect(vmm).toMatch(/get iova range failed/);
  });

  it('creates one data client per max_virtqueue_pairs when MQ is offered, plus a CVQ client (item 2)', () => {
    const host = bootVmmHost('upstream', [{ mgmtdev: 'vdpasim_netx', maxVqp: 4 }]);
    const { vmm, t } = launch(host);
    if (typeof vmm === 'string') throw new Error(vmm);
    const nd = (vmm.nics[0] as (typeof vmm.nics)[number]).netdev;
    expect(nd.clients.map((c) => c.dev.index)).toEqual([0, 1, 2, 3]);
    expect(nd.cvq?.dev.index).toBe(4);
    // The pair count comes from the config space, read once at init.
    expect(t.grep('VHOST_VDPA_GET_CONFIG')[0]).toBe('VHOST_VDPA_GET_CONFIG = 0');
  });

  it('has one data client and no CVQ client when neither MQ nor CTRL_VQ is offered (item 2)', () => {
    const features = VDPASIM_NETX_DEFAULT_FEATURES & ~bit(22) & ~bit(17) & ~bit(18) & ~bit(19) & ~bit(20) & ~bit(23) & ~bit(2);
    const host = bootVmmHost('upstream', [{ mgmtdev: 'vdpasim_netx', features }]);
    const { vmm, t } = launch(host);
    if (typeof vmm === 'string') throw new Error(vmm);
    const nd = (vmm.nics[0] as (typeof vmm.nics)[number]).netdev;
    expect(nd.clients).toHaveLength(1);
    expect(nd.cvq).toBeUndefined();
    expect(t.grep('GET_VRING_GROUP')).toEqual([]);
  });

  for (const profile of PROFILES) {
    it(`reports VHOST_F_LOG_ALL on top of the device features (${profile}, item 4)`, () => {
      const host = bootVmmHost(profile, [{ mgmtdev: 'vdpasim_net' }]);
      const { vmm } = launch(host);
      if (typeof vmm === 'string') throw new Error(vmm);
      const nd = (vmm.nics[0] as (typeof vmm.nics)[number]).netdev;
      const dev = nd.clients[0]?.dev;
      expect(dev?.features).toBe(nd.features | bit(VHOST_F_LOG_ALL));
      expect(nd.features & bit(VHOST_F_LOG_ALL)).toBe(0n);
    });
  }
});

describe('SVQ feature validity (items 5-6)', () => {
  it('accepts what vdpa_sim_net offers and refuses GUEST_ANNOUNCE, which QEMU emulates', () => {
    expect(svqFeaturesError(0x308830028n)).toBeUndefined();
    expect(svqFeaturesError(0x308830028n | bit(VIRTIO_NET_F_GUEST_ANNOUNCE))).toBe('vdpa svq does not work with features 0x200000');
  });

  it('needs VERSION_1 and ACCESS_PLATFORM and refuses transport bits it cannot shadow', () => {
    expect(svqFeaturesError(0x8830028n)).toMatch(/^SVQ Invalid device feature flags, offer: 0x8830028, ok: 0x308830028$/);
    // RING_PACKED (34) is dropped from "ok".
    expect(svqFeaturesError(0x708830028n)).toBe('SVQ Invalid device feature flags, offer: 0x708830028, ok: 0x308830028');
  });

  it('x-svq=on with invalid features fails the netdev', () => {
    const host = bootVmmHost('upstream', [{ mgmtdev: 'vdpasim_netx', features: VDPASIM_NETX_DEFAULT_FEATURES | bit(VIRTIO_NET_F_GUEST_ANNOUNCE) }]);
    const { vmm } = launch(host, 0, { xSvq: true });
    expect(vmm).toMatch(/vdpa svq does not work with features 0x200000/);
  });

  it('x-svq=off with invalid features installs a migration blocker', () => {
    const host = bootVmmHost('upstream', [{ mgmtdev: 'vdpasim_netx', features: VDPASIM_NETX_DEFAULT_FEATURES | bit(VIRTIO_NET_F_GUEST_ANNOUNCE) }]);
    const { vmm } = launch(host);
    if (typeof vmm === 'string') throw new Error(vmm);
    expect(vmm.nics[0]?.netdev.clients[0]?.dev.migrationBlocker).toBe('vdpa svq does not work with features 0x200000');
  });
});

describe('CVQ isolation probe (§3.2, items 7-8)', () => {
  for (const profile of PROFILES) {
    it(`issues exactly the probe sequence and finds vdpa_sim_net's CVQ isolated (${profile}, item 7)`, () => {
      const host = bootVmmHost(profile, [{ mgmtdev: 'vdpasim_net' }]);
      const { vmm, t } = launch(host);
      if (typeof vmm === 'string') throw new Error(vmm);
      const from = t.log.findIndex((l) => l.startsWith('VHOST_GET_BACKEND_FEATURES'));
      const probe = t.log.slice(from, from + 8).map((l) => l.replace(/ -> .*/, '').replace(/0x[0-9a-f]{6,}/, 'F'));
      expect(probe).toEqual([
        'VHOST_GET_BACKEND_FEATURES = 0',
        'VHOST_VDPA_SET_STATUS 0x3 = 0',
        'VHOST_SET_FEATURES F = 0',
        'VHOST_VDPA_SET_STATUS 0xb = 0',
        'VHOST_VDPA_GET_VRING_GROUP {2} = 0',
        'VHOST_VDPA_GET_VRING_GROUP {0} = 0',
        'VHOST_VDPA_GET_VRING_GROUP {1} = 0',
        'VHOST_VDPA_SET_STATUS 0x0 = 0',
      ]);
      expect(vmm.nics[0]?.netdev.cvq?.cvqIsolated).toBe(true);
    });
  }

  it('probes the CVQ index of the offered features: 2 * max_virtqueue_pairs', () => {
    const host = bootVmmHost('upstream', [{ mgmtdev: 'vdpasim_netx', maxVqp: 3 }]);
    const { t } = launch(host);
    expect(t.grep('GET_VRING_GROUP').slice(0, 2)).toEqual(['VHOST_VDPA_GET_VRING_GROUP {6} = 0 -> 1', 'VHOST_VDPA_GET_VRING_GROUP {0} = 0 -> 0']);
  });

  it('stops at the first data vq sharing the CVQ group: not isolated', () => {
    const host = bootVmmHost('upstream', [{ mgmtdev: 'vdpasim_net' }]);
    const { vmm, t } = launch(host, 0, { inject: (n, a) => (n === 'VHOST_VDPA_GET_VRING_GROUP' && a instanceof Uint8Array ? (a.set([0, 0, 0, 0], 4), 0) : undefined) });
    if (typeof vmm === 'string') throw new Error(vmm);
    expect(t.grep('GET_VRING_GROUP')).toHaveLength(2);
    expect(t.grep('VHOST_VDPA_SET_STATUS 0x0')).toHaveLength(1);
    expect(vmm.nics[0]?.netdev.cvq?.cvqIsolated).toBe(false);
  });

  it('reads -ENOTSUP from GET_VRING_GROUP as "not isolated", not as an error (item 8)', () => {
    const host = bootVmmHost('upstream', [{ mgmtdev: 'vdpasim_net' }]);
    const { vmm, t } = launch(host, 0, { inject: (n) => (n === 'VHOST_VDPA_GET_VRING_GROUP' ? -EOPNOTSUPP : undefined) });
    if (typeof vmm === 'string') throw new Error(vmm);
    expect(vmm.nics[0]?.netdev.cvq?.cvqIsolated).toBe(false);
    expect(t.log.filter((l) => l.includes('SET_STATUS')).at(-1)).toBe('VHOST_VDPA_SET_STATUS 0x0 = 0');
  });

  it('another GET_VRING_GROUP error fails the netdev, after resetting the device', () => {
    const host = bootVmmHost('upstream', [{ mgmtdev: 'vdpasim_net' }]);
    const { vmm, t } = launch(host, 0, { inject: (n) => (n === 'VHOST_VDPA_GET_VRING_GROUP' ? -22 : undefined) });
    expect(vmm).toMatch(/Cannot probe CVQ isolation/);
    expect(t.log.at(-1)).toBe('VHOST_VDPA_SET_STATUS 0x0 = 0');
  });

  it('skips the probe when the backend has no IOTLB_ASID', () => {
    const host = bootVmmHost('upstream', [{ mgmtdev: 'vdpasim_net' }]);
    const { vmm, t } = launch(host, 0, {
      inject: (n, a) => (n === 'VHOST_GET_BACKEND_FEATURES' && a instanceof Uint8Array ? (a.set([0x06, 0, 0, 0, 0, 0, 0, 0]), 0) : undefined),
    });
    if (typeof vmm === 'string') throw new Error(vmm);
    expect(t.grep('GET_VRING_GROUP')).toEqual([]);
    expect(vmm.nics[0]?.netdev.cvq?.cvqIsolated).toBe(false);
  });
});
