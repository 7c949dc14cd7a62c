// A simulated host with the reference lab's devices and a process using /dev/vhost-vdpa-0
// through the typed client: the model side of the kernel tests.

import type { VdpaDevice } from '../../drivers/vdpa/vdpa.js';
import type { VdpaSim } from '../../drivers/vdpa/vdpa_sim/index.js';
import type { VhostVdpa as VhostVdpaDev } from '../../drivers/vhost/vdpa.js';
import { VhostVdpa } from '../../lib/vhost_vdpa/index.js';
import { Host, type HostOptions, ModelUserSpace } from '../../sim/host/index.js';
import type { UapiProfile } from '../../uapi/index.js';
import { labDevices } from './vdpa_nl.js';

export interface ModelTarget {
  host: Host;
  us: ModelUserSpace;
  v: VhostVdpa;
  /** The vdpa device behind /dev/vhost-vdpa-0 and its simulator. */
  vdev: VdpaDevice;
  sim: VdpaSim;
  /** The vhost-vdpa instance (driver state). */
  vhost: VhostVdpaDev;
  /** Another process of the same host. */
  other(): ModelUserSpace;
}

export function modelTarget(profile: UapiProfile, opts: Omit<HostOptions, 'profile'> = {}, dev = 'vdpa0'): ModelTarget {
  const host = Host.boot({ profile, ...opts });
  labDevices(host);
  const us = new ModelUserSpace(host, host.spawn({ comm: 'client' }));
  const vdev = host.bus.findDevice(dev) as VdpaDevice;
  const v = VhostVdpa.open(us, `/dev/vhost-vdpa-${dev === 'vdpa0' ? 0 : 1}`);
  return {
    host,
    us,
    v,
    vdev,
    sim: vdev.parent as VdpaSim,
    vhost: vdev.drvdata as VhostVdpaDev,
    other: () => new ModelUserSpace(host, host.spawn({ comm: 'other' })),
  };
}

export const PROFILES: readonly UapiProfile[] = ['upstream', 'linux-6.1'];
