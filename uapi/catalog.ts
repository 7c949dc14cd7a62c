// Every modelled uAPI header, in the order a C compiler needs them (types before users).
// Not a kernel file.

import { errnoHeader } from './errno.js';
import { fcntlHeader } from './fcntl.js';
import type { HeaderSpec } from './header_spec.js';
import { ifTunHeader, linuxIfHeader } from './if_tun.js';
import { ioctlsHeader } from './ioctls.js';
import { memfdHeader } from './memfd.js';
import { mmanHeader } from './mman.js';
import { genetlinkHeader, netlinkHeader } from './netlink.js';
import { pciRegsHeader } from './pci_regs.js';
import { pollHeader } from './poll.js';
import { vdpaHeader } from './vdpa.js';
import { vhostHeader } from './vhost.js';
import { vhostTypesHeader } from './vhost_types.js';
import { virtioBlkHeader } from './virtio_blk.js';
import { virtioConfigHeader } from './virtio_config.js';
import { virtioIdsHeader } from './virtio_ids.js';
import { virtioNetHeader } from './virtio_net.js';
import { virtioPciHeader } from './virtio_pci.js';
import { virtioRingHeader } from './virtio_ring.js';
import { virtioTypesHeader } from './virtio_types.js';

export const UAPI_HEADERS: readonly HeaderSpec[] = [
  virtioTypesHeader,
  virtioConfigHeader,
  virtioIdsHeader,
  virtioRingHeader,
  vhostTypesHeader,
  vhostHeader,
  virtioNetHeader,
  virtioBlkHeader,
  virtioPciHeader,
  pciRegsHeader,
  vdpaHeader,
  linuxIfHeader,
  ifTunHeader,
  errnoHeader,
  fcntlHeader,
  ioctlsHeader,
  mmanHeader,
  memfdHeader,
  pollHeader,
  netlinkHeader,
  genetlinkHeader,
];
