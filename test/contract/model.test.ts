// The vhost-vdpa contract against the model: the linux-6.1 profile (the same suite passes
// against the real 6.1 kernel under npm run test:kernel) and upstream.

import { Host, ModelUserSpace } from '../../sim/host/index.js';
import { labDevices } from '../helpers/vdpa_nl.js';
import { vhostVdpaContract } from './vhost_vdpa.contract.js';

for (const profile of ['linux-6.1', 'upstream'] as const) {
  const host = Host.boot({ profile });
  labDevices(host);
  vhostVdpaContract({
    name: `model ${profile}`,
    profile,
    groupBoundCheck: host.profile.vhostVdpa.groupBoundCheck,
    userSpace: () => new ModelUserSpace(host, host.spawn()),
  });
}
