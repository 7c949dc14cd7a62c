// The "modules" a simulated host can load, with their dependencies and parameters, as modprobe
// sees them: vdpa (the bus and its netlink family), vhost_vdpa, vdpa_sim, vdpa_sim_net,
// vdpa_sim_blk, vp_vdpa (the "vp-vdpa" PCI driver), and the model's own vdpa_sim_netx (no such
// kernel module: it provides the vdpasim_netx management device). Loading runs the module's
// init; unloading its exit.

import { type ModuleName } from '../../drivers/profile.js';
import { vdpaNlFamily } from '../../drivers/vdpa/vdpa_netlink.js';
import {
  DEFAULT_VDPASIM_PARAMS,
  type VdpaSimBlkParams,
  type VdpaSimEnv,
  type VdpaSimParams,
  vdpasimBlkMgmtdev,
  vdpasimNetMgmtdev,
  vdpasimNetxMgmtdev,
} from '../../drivers/vdpa/vdpa_sim/index.js';
import { DEFAULT_VP_VDPA_PARAMS, type VpVdpaParams, vpVdpaPciDriver } from '../../drivers/vdpa/virtio_pci/index.js';
import { VhostVdpaDriver } from '../../drivers/vhost/vdpa.js';
import type { Host } from './host.js';

export interface ModuleParams {
  vdpa_sim?: Partial<VdpaSimParams>;
  vdpa_sim_blk?: Partial<VdpaSimBlkParams>;
  vp_vdpa?: Partial<VpVdpaParams>;
}

export interface LoadedModule {
  exit(): void;
}

interface ModuleDef {
  deps: readonly ModuleName[];
  init(host: Host, params: ModuleParams): LoadedModule;
}

function simEnv(host: Host, params: ModuleParams): VdpaSimEnv {
  return {
    bus: host.bus,
    worker: host.worker('vdpa_sim'),
    phys: host.phys,
    profile: host.profile,
    params: { ...DEFAULT_VDPASIM_PARAMS, ...params.vdpa_sim },
  };
}

function mgmtdevModule(host: Host, mdev: ReturnType<typeof vdpasimNetMgmtdev>): LoadedModule {
  const r = host.bus.mgmtdevRegister(mdev);
  if (r) throw new Error(`mgmtdev ${mdev.device.name}: registration failed (${r})`);
  return { exit: () => host.bus.mgmtdevUnregister(mdev) };
}

export const MODULES: Readonly<Record<ModuleName, ModuleDef>> = {
  vdpa: {
    deps: [],
    init(host) {
      const family = vdpaNlFamily(host.bus, host.profile);
      const id = host.genl.register(family);
      if (id < 0) throw new Error(`vdpa: genl family registration failed (${id})`);
      return { exit: () => host.genl.unregister(family) };
    },
  },
  vhost_vdpa: {
    deps: ['vdpa'],
    init(host) {
      const drv = new VhostVdpaDriver({ chrdev: host.chrdev, profile: host.profile, phys: host.phys, klog: host.klog });
      host.bus.registerDriver(drv);
      return {
        exit() {
          host.bus.unregisterDriver(drv);
          drv.unload();
        },
      };
    },
  },
  vdpa_sim: {
    deps: ['vdpa'],
    init: () => ({ exit() {} }),
  },
  vdpa_sim_net: {
    deps: ['vdpa', 'vdpa_sim'],
    init: (host, params) => mgmtdevModule(host, vdpasimNetMgmtdev(simEnv(host, params))),
  },
  vdpa_sim_netx: {
    deps: ['vdpa', 'vdpa_sim'],
    init: (host, params) => mgmtdevModule(host, vdpasimNetxMgmtdev(simEnv(host, params))),
  },
  vdpa_sim_blk: {
    deps: ['vdpa', 'vdpa_sim'],
    init: (host, params) => mgmtdevModule(host, vdpasimBlkMgmtdev(simEnv(host, params), { sharedBackend: false, ...params.vdpa_sim_blk })),
  },
  vp_vdpa: {
    deps: ['vdpa'],
    init(host, params) {
      const drv = vpVdpaPciDriver({ bus: host.bus, klog: host.klog, profile: host.profile, params: { ...DEFAULT_VP_VDPA_PARAMS, ...params.vp_vdpa } });
      host.pci.registerDriver(drv);
      return { exit: () => host.pci.unregisterDriver(drv) };
    },
  },
};

