// The vhost-vdpa contract against the machine's real kernel: runs inside the reference lab's
// VM (npm run test:kernel: Linux 6.1 with vdpa_sim_net and vhost_vdpa, devices vdpa0 and vdpa1),
// through the native addon. Elsewhere it is skipped, saying why.

import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'vitest';
import { KernelUserSpace, nativeStatus } from '../../lib/host/index.js';
import { vhostVdpaContract } from './vhost_vdpa.contract.js';

const native = nativeStatus();
const reason = !process.env.KREF_GUEST
  ? 'not inside the kernel lab VM (run `npm run test:kernel`)'
  : !existsSync('/dev/vhost-vdpa-1')
    ? 'no /dev/vhost-vdpa-1 in this VM'
    : !native.available
      ? native.reason
      : undefined;

if (reason) {
  describe('vhost-vdpa contract: real kernel', () => {
    it.skip(`skipped: ${reason}`, () => {});
  });
} else {
  const release = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  const version = readFileSync('/proc/version', 'utf8');
  // Debian's release string hides the stable version ("6.1.0-50-amd64"); /proc/version has it.
  const stable = /Debian (\d+)\.(\d+)\.(\d+)-\S+ \(\d{4}-/.exec(version);
  const is61 = release.startsWith('6.1.');
  vhostVdpaContract({
    name: `kernel ${release}${stable ? ` (${stable.slice(1).join('.')})` : ''}`,
    profile: is61 ? 'linux-6.1' : 'upstream',
    groupBoundCheck: !is61 || (stable !== null && Number(stable[3]) >= 192),
    userSpace: () => new KernelUserSpace(`kernel ${release}`),
  });
}
