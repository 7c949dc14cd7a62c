// Which kernel the model behaves as. Not a kernel file: the kernel is one version at a time;
// the model carries the behaviours that differ between versions as data, each named after what
// changed, so a uAPI prototype is a new profile plus its handlers.
// `upstream` is mainline as of ~6.17 plus the 2026 fixes known to the project; `linux-6.1` is
// Debian's 6.1.192 (the recorded reference), whose transcripts decide where sources and
// recordings disagree.

import { type UapiProfile, DEFAULT_UAPI_PROFILE } from '../uapi/index.js';

export interface VhostVdpaBehaviour {
  /** VHOST_BACKEND_F_* bits SET_BACKEND_FEATURES knows (others -> EOPNOTSUPP). */
  readonly knownBackendFeatures: bigint;
  /** VHOST_VDPA_RESUME is a command (6.3). Without it the request falls to the vring path. */
  readonly resumeIoctl: boolean;
  /** VHOST_VDPA_GET_VRING_DESC_GROUP is a command (6.7). */
  readonly descGroupIoctl: boolean;
  /** VHOST_VDPA_GET_VRING_SIZE is a command (6.9). */
  readonly vringSizeIoctl: boolean;
  /** SUSPEND/RESUME do nothing (return 0) unless DRIVER_OK, and keep a `suspended` flag (6.9). 6.1 always calls suspend. */
  readonly suspendNeedsDriverOk: boolean;
  /** SET_VRING_ADDR/BASE while DRIVER_OK and not suspended -> EINVAL (6.8). */
  readonly vringChangeNeedsSuspend: boolean;
  /** Reset asks the parent for compat_reset(CLEAN_MAP) unless IOTLB_PERSIST is acked (6.7). */
  readonly compatReset: boolean;
  /** SET_OWNER binds the owner's mm to use_va parents; close unbinds (6.7). */
  readonly bindMm: boolean;
  /** SET_GROUP_ASID with group >= ngroups -> EINVAL in vhost-vdpa (cd025c1e876b, Jan 2026; in 6.1.y). */
  readonly groupBoundCheck: boolean;
  /** mmap of a doorbell with vq index >= nvqs -> EINVAL (hardened trees; upstream maps it). */
  readonly mmapChecksVqIndex: boolean;
  /** NOT UPSTREAM (proposal-lm-log): VHOST_VDPA_LOG_START/STOP and VHOST_BACKEND_F_DIRTY_LOG. */
  readonly dirtyLog: boolean;
}

export interface VpVdpaBehaviour {
  /** dev_add takes VDPA_ATTR_DEV_FEATURES (6.3≈); before, the device keeps all its features. */
  readonly featureProvisioning: boolean;
  /** NOT UPSTREAM (proposal-lm-log): vq state and the dirty log through the function's LM registers. */
  readonly lmRegisters: boolean;
}

export interface VhostBehaviour {
  /** CONFIG_VHOST_ENABLE_FORK_OWNER_CONTROL (6.17, default y): SET/GET_FORK_FROM_OWNER. */
  readonly forkOwnerControl: boolean;
}

export interface VdpaNetlinkBehaviour {
  /** VDPA_CMD_DEV_ATTR_SET exists (6.10). */
  readonly devAttrSet: boolean;
  /** DEV_NEW checks provisioned features against mac/mtu/max_vqp and multi-class ambiguity (6.4). */
  readonly devNewFeatureChecks: boolean;
  /** Extack text for attributes outside the mgmtdev's config_attr_mask. */
  readonly unsupportedAttrsMsg: 'all' | 'some';
  /** DEV_CONFIG_GET reports net status whatever F_STATUS says (6.1) instead of only with it. */
  readonly netStatusUnconditional: boolean;
}

export interface VdpaSimBehaviour {
  /** The use_va module parameter exists (6.7); without it the device runs in PA mode. */
  readonly useVaParam: boolean;
  /** Ops 6.1's vdpa_sim lacks: resume, reset_map, bind_mm/unbind_mm, compat_reset, get_backend_features, get_vq_size. */
  readonly resume: boolean;
  readonly resetMap: boolean;
  readonly compatReset: boolean;
  /** get_backend_features returns ENABLE_AFTER_DRIVER_OK (6.6). */
  readonly backendFeatures: boolean;
  /** get_vq_size in the non-batch op set (6.9). */
  readonly vqSize: boolean;
  /** Per-queue statistics and get_vendor_vq_stats for net (6.2). */
  readonly netStats: boolean;
  /** The net work pass yields after >4 consumed TX chains, drops included (6.2); 6.1 counts deliveries. */
  readonly txBudgetCountsDrops: boolean;
  /** Net features: upstream adds VIRTIO_NET_F_STATUS. */
  readonly netFeatures: bigint;
  /** Block: FLUSH offered (6.3≈). */
  readonly blkFlush: boolean;
}

export interface KernelProfile {
  readonly name: UapiProfile;
  readonly title: string;
  readonly vhost: VhostBehaviour;
  readonly vhostVdpa: VhostVdpaBehaviour;
  readonly netlink: VdpaNetlinkBehaviour;
  readonly vdpaSim: VdpaSimBehaviour;
  readonly vpVdpa: VpVdpaBehaviour;
  /** Modules Host.boot loads when the caller names none. */
  readonly defaultModules: readonly ModuleName[];
}

export const MODULE_NAMES = ['vdpa', 'vhost_vdpa', 'vdpa_sim', 'vdpa_sim_net', 'vdpa_sim_blk', 'vdpa_sim_netx', 'vp_vdpa'] as const;
export type ModuleName = (typeof MODULE_NAMES)[number];

const bits = (...b: number[]): bigint => b.reduce((m, n) => m | (1n << BigInt(n)), 0n);

/** VDPASIM_FEATURES | MTU | MAC | CTRL_VQ | CTRL_MAC_ADDR (6.1's vdpa_sim_net). */
const SIM_NET_61 = bits(27, 32, 33, 3, 5, 17, 23);

export const UPSTREAM: KernelProfile = {
  name: 'upstream',
  title: 'Linux mainline (~6.17, with the 2026 vhost-vdpa group bound fix)',
  vhost: { forkOwnerControl: true },
  vhostVdpa: {
    knownBackendFeatures: bits(1, 2, 3, 4, 5, 6, 7, 8),
    resumeIoctl: true,
    descGroupIoctl: true,
    vringSizeIoctl: true,
    suspendNeedsDriverOk: true,
    vringChangeNeedsSuspend: true,
    compatReset: true,
    bindMm: true,
    groupBoundCheck: true,
    mmapChecksVqIndex: false,
    dirtyLog: false,
  },
  netlink: {
    devAttrSet: true,
    devNewFeatureChecks: true,
    unsupportedAttrsMsg: 'some',
    netStatusUnconditional: false,
  },
  vdpaSim: {
    useVaParam: true,
    resume: true,
    resetMap: true,
    compatReset: true,
    backendFeatures: true,
    vqSize: true,
    netStats: true,
    txBudgetCountsDrops: true,
    netFeatures: SIM_NET_61 | bits(16),
    blkFlush: true,
  },
  vpVdpa: { featureProvisioning: true, lmRegisters: false },
  defaultModules: ['vdpa', 'vhost_vdpa', 'vdpa_sim', 'vdpa_sim_net', 'vdpa_sim_blk'],
};

export const LINUX_6_1: KernelProfile = {
  name: 'linux-6.1',
  title: 'Linux 6.1.192 (Debian 6.1.0-56), the recorded reference',
  vhost: { forkOwnerControl: false },
  vhostVdpa: {
    knownBackendFeatures: bits(1, 2, 3, 4),
    resumeIoctl: false,
    descGroupIoctl: false,
    vringSizeIoctl: false,
    suspendNeedsDriverOk: false,
    vringChangeNeedsSuspend: false,
    compatReset: false,
    bindMm: false,
    groupBoundCheck: true,
    mmapChecksVqIndex: true,
    dirtyLog: false,
  },
  netlink: {
    devAttrSet: false,
    devNewFeatureChecks: false,
    unsupportedAttrsMsg: 'all',
    netStatusUnconditional: true,
  },
  vdpaSim: {
    useVaParam: false,
    resume: false,
    resetMap: false,
    compatReset: false,
    backendFeatures: false,
    vqSize: false,
    netStats: false,
    txBudgetCountsDrops: false,
    netFeatures: SIM_NET_61,
    blkFlush: false,
  },
  vpVdpa: { featureProvisioning: false, lmRegisters: false },
  defaultModules: ['vdpa', 'vhost_vdpa', 'vdpa_sim', 'vdpa_sim_net'],
};

/**
 * NOT UPSTREAM. Upstream plus the device dirty-log proposal (docs/proposals/lm-log.md): the
 * backend bit and its two ioctls in vhost-vdpa, and vp_vdpa driving the LM registers.
 */
export const PROPOSAL_LM_LOG: KernelProfile = {
  ...UPSTREAM,
  name: 'proposal-lm-log',
  title: 'Upstream plus the device dirty-log proposal (not in any Linux tree)',
  vhostVdpa: { ...UPSTREAM.vhostVdpa, knownBackendFeatures: UPSTREAM.vhostVdpa.knownBackendFeatures | bits(9), dirtyLog: true },
  vpVdpa: { ...UPSTREAM.vpVdpa, lmRegisters: true },
};

export const KERNEL_PROFILES: Readonly<Record<UapiProfile, KernelProfile>> = {
  upstream: UPSTREAM,
  'linux-6.1': LINUX_6_1,
  'proposal-lm-log': PROPOSAL_LM_LOG,
};

export const kernelProfile = (name: UapiProfile = DEFAULT_UAPI_PROFILE): KernelProfile => KERNEL_PROFILES[name];
