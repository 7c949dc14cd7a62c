// Models: drivers/vdpa/virtio_pci/vp_vdpa.c: the vDPA parent over a modern virtio-pci function.
// Every config op as upstream has it: features read once at dev_add (provisioned down with
// VDPA_ATTR_DEV_FEATURES), status straight to the function with MSI-X vectors requested on the
// 0 -> DRIVER_OK edge (1 + one per vq with a callback; on failure a WARN and the status is not
// written), reset freeing them, get_vq_state -EOPNOTSUPP and set_vq_state accepting only the
// initial state, VP_VDPA_QUEUE_MAX 256, doorbells by 16-bit (or 32-bit with data) writes,
// config reads retried until config_generation holds still, ngroups 1 / nas 1 / no set_map or
// dma_map (vhost-vdpa goes through the platform IOMMU), its management device named after the
// PCI function, and the PCI driver "vp-vdpa" with no id table (bind through driver_override).
// Profile differences: feature provisioning (6.3≈); under proposal-lm-log only, and only when
// the function carries the LM block (vp_vdpa_lm.ts), vq state and the dirty log go through it.
// Deviations: a second `vdpa dev add` on a function that has a device is -EBUSY (the kernel
// overwrites its pointer and lets two vdpa devices drive one function); the generation retry
// loop gives up after VP_VDPA_CONFIG_RETRIES changes with a kernel-log line instead of spinning.

import {
  EBUSY,
  EINVAL,
  EOPNOTSUPP,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_F_RING_PACKED,
  VIRTIO_MSI_NO_VECTOR,
  vdpaAttrs,
} from '../../../uapi/index.js';
import { LM_LAYOUTS, type LmLayoutName, lmEncodeSplitState } from '../../../uapi/proposed/index.js';
import type { KernelLog } from '../../../lib/printk.js';
import { PCI_IRQ_MSIX, type Mmio, type PciDev, type PciDriver } from '../../pci/pci.js';
import type { KernelProfile } from '../../profile.js';
import { VirtioPciModernDevice } from '../../virtio/virtio_pci_modern_dev.js';
import type { VdpaBus, VdpaDevice, VdpaMgmtDev, VdpaMgmtDevOps } from '../vdpa.js';
import {
  NO_CALLBACK,
  type VdpaCallback,
  type VdpaConfigOps,
  type VdpaDevSetConfig,
  type VdpaNotificationArea,
  type VdpaVqState,
} from '../vdpa_ops.js';
import { type VpVdpaLm, vpVdpaLmProbe } from './vp_vdpa_lm.js';

export const VP_VDPA_QUEUE_MAX = 256;
/** The PCI driver's name (what driver_override names). */
export const VP_VDPA_PCI_DRIVER_NAME = 'vp-vdpa';
const VP_VDPA_CONFIG_RETRIES = 1000;
const PAGE_SIZE = 4096;

export interface VpVdpaParams {
  /** proposal-lm-log: which of the seed's LM layouts the functions use (no register tells). */
  lmLayout: LmLayoutName;
}

export const DEFAULT_VP_VDPA_PARAMS: VpVdpaParams = { lmLayout: 'code' };

export interface VpVdpaEnv {
  bus: VdpaBus;
  klog: KernelLog;
  profile: KernelProfile;
  params: VpVdpaParams;
}

/** struct vp_vring. */
interface VpVring {
  notify: Mmio | undefined;
  cb: VdpaCallback;
  notifyPa: number;
  irq: number;
}

const bit = (n: number): bigint => 1n << BigInt(n);

/** struct vp_vdpa. */
export class VpVdpa {
  vdpa!: VdpaDevice;
  readonly vring: VpVring[];
  configCb: VdpaCallback = NO_CALLBACK;
  configIrq = VIRTIO_MSI_NO_VECTOR;
  vectors = 0;
  readonly queues: number;
  readonly ops: VdpaConfigOps;

  constructor(
    readonly mdev: VirtioPciModernDevice,
    readonly deviceFeatures: bigint,
    private readonly klog: KernelLog,
    /** The LM block, only when the profile uses it. */
    readonly lm: VpVdpaLm | undefined,
  ) {
    this.queues = mdev.getNumQueues();
    this.vring = Array.from({ length: this.queues }, () => ({ notify: undefined, cb: NO_CALLBACK, notifyPa: 0, irq: VIRTIO_MSI_NO_VECTOR }));
    this.ops = this.buildOps();
  }

  private get pdev(): PciDev {
    return this.mdev.pciDev;
  }

  private devErr(msg: string): void {
    this.klog.printk(`vp-vdpa ${this.pdev.slot}: ${msg}`);
  }

  /** vp_vdpa_free_irq(). */
  freeIrq(): void {
    const { mdev, pdev } = this;
    for (let i = 0; i < this.queues; i++) {
      const v = this.vring[i] as VpVring;
      if (v.irq !== VIRTIO_MSI_NO_VECTOR) {
        mdev.queueVector(i, VIRTIO_MSI_NO_VECTOR);
        pdev.freeIrq(v.irq);
        v.irq = VIRTIO_MSI_NO_VECTOR;
      }
    }
    if (this.configIrq !== VIRTIO_MSI_NO_VECTOR) {
      mdev.configVector(VIRTIO_MSI_NO_VECTOR);
      pdev.freeIrq(this.configIrq);
      this.configIrq = VIRTIO_MSI_NO_VECTOR;
    }
    if (this.vectors) {
      pdev.freeIrqVectors();
      this.vectors = 0;
    }
  }

  /** vp_vdpa_request_irq(): one vector per vq with a callback, then one for config changes. */
  private requestIrq(): number {
    const { mdev, pdev } = this;
    let vectors = 1;
    for (const v of this.vring) if (v.cb.callback) vectors++;
    const got = pdev.allocIrqVectors(vectors, vectors, PCI_IRQ_MSIX);
    if (got !== vectors) {
      this.devErr(`vp_vdpa: fail to allocate irq vectors want ${vectors} but ${got}`);
      return got;
    }
    this.vectors = vectors;
    let msixVec = 0;
    for (let i = 0; i < this.queues; i++) {
      const v = this.vring[i] as VpVring;
      if (!v.cb.callback) continue;
      const irq = pdev.irqVector(msixVec);
      // The handler reads the callback when the interrupt fires: set_vq_cb may change it later.
      const r = pdev.requestIrq(irq, () => v.cb.callback?.(v.cb.private));
      if (r) {
        this.devErr(`vp_vdpa: fail to request irq for vq ${i}`);
        this.freeIrq();
        return r;
      }
      mdev.queueVector(i, msixVec);
      v.irq = irq;
      msixVec++;
    }
    const irq = pdev.irqVector(msixVec);
    const r = pdev.requestIrq(irq, () => this.configCb.callback?.(this.configCb.private));
    if (r) {
      this.devErr(`vp_vdpa: fail to request irq for config: ${r}`);
      this.freeIrq();
      return r;
    }
    mdev.configVector(msixVec);
    this.configIrq = irq;
    return 0;
  }

  /** Whether the state is the device's initial one (vp_vdpa_set_vq_state_split/_packed). */
  private initialState(state: VdpaVqState): boolean {
    if (this.isPacked()) {
      // Wrap counters 1, indexes 0: vhost's packed encoding puts each counter in bit 15.
      return state.availIndex === 0x8000 && state.usedIndex === 0x8000;
    }
    return state.availIndex === 0;
  }

  private isPacked(): boolean {
    return (this.mdev.getDriverFeatures() & bit(VIRTIO_F_RING_PACKED)) !== 0n;
  }

  private buildOps(): VdpaConfigOps {
    const { mdev } = this;
    const lm = this.lm;
    const ops: VdpaConfigOps = {
      getDeviceFeatures: () => this.deviceFeatures,
      setDriverFeatures: (features) => {
        mdev.setFeatures(features);
        return 0;
      },
      getDriverFeatures: () => mdev.getDriverFeatures(),
      getStatus: () => mdev.getStatus(),
      setStatus: (status) => {
        const s = mdev.getStatus();
        if (status & VIRTIO_CONFIG_S_DRIVER_OK && !(s & VIRTIO_CONFIG_S_DRIVER_OK)) {
          if (this.requestIrq()) {
            this.klog.printk(`WARNING: at drivers/vdpa/virtio_pci/vp_vdpa.c vp_vdpa_set_status`);
            return;
          }
        }
        mdev.setStatus(status);
      },
      reset: () => {
        const s = mdev.getStatus();
        mdev.setStatus(0);
        if (s & VIRTIO_CONFIG_S_DRIVER_OK) this.freeIrq();
        // The seed's function keeps logging across a reset: stop it so no later owner inherits a DMA target.
        if (lm?.isLogging) lm.logStop();
        return 0;
      },
      getVqNumMax: () => VP_VDPA_QUEUE_MAX,
      getVqState: (idx, state) => {
        // Not supported by the virtio spec: no live migration, no vhost stop/start (upstream).
        if (!lm) return -EOPNOTSUPP;
        // Packed rings read LM_PACKED_STATE and have no state here. The negotiated features say
        // which ring it is, not the word: 0xffffffff is also a split ring with avail = used = 0xffff.
        if (this.isPacked()) return -EOPNOTSUPP;
        state.availIndex = lm.readVqState(idx) & 0xffff;
        return 0;
      },
      setVqState: (idx, state) => {
        // Only when FEATURES_OK is set and the queue is not enabled (upstream's window).
        if (!(mdev.getStatus() & VIRTIO_CONFIG_S_FEATURES_OK) || mdev.getQueueEnable(idx)) return -EOPNOTSUPP;
        if (lm && !this.isPacked()) {
          // No in-flight buffers cross a migration (the source rewinds them), so used = avail.
          lm.writeVqState(idx, lmEncodeSplitState(state.availIndex, state.availIndex));
          return 0;
        }
        return this.initialState(state) ? 0 : -EOPNOTSUPP;
      },
      getVqNotification: (idx): VdpaNotificationArea => ({ addr: (this.vring[idx] as VpVring).notifyPa, size: mdev.notifyOffsetMultiplier }),
      setVqCb: (idx, cb) => {
        (this.vring[idx] as VpVring).cb = cb;
      },
      setVqReady: (idx, ready) => mdev.setQueueEnable(idx, ready),
      getVqReady: (idx) => mdev.getQueueEnable(idx),
      setVqNum: (idx, num) => mdev.setQueueSize(idx, num),
      getVqSize: (idx) => mdev.getQueueSize(idx),
      setVqAddress: (idx, desc, driver, device) => {
        mdev.queueAddress(idx, desc, driver, device);
        return 0;
      },
      kickVq: (idx) => (this.vring[idx] as VpVring).notify?.write16(0, idx),
      kickVqWithData: (data) => (this.vring[data & 0xffff] as VpVring | undefined)?.notify?.write32(0, data >>> 0),
      getGeneration: () => mdev.generation(),
      getDeviceId: () => mdev.id.device,
      getVendorId: () => mdev.id.vendor,
      getVqAlign: () => PAGE_SIZE,
      getConfigSize: () => mdev.deviceLen,
      getConfig: (offset, buf) => this.getConfig(offset, buf),
      setConfig: (offset, buf) => {
        for (let i = 0; i < buf.length; i++) mdev.device?.write8(offset + i, buf[i] as number);
      },
      setConfigCb: (cb) => {
        this.configCb = cb;
      },
      getVqIrq: (idx) => {
        const irq = (this.vring[idx] as VpVring).irq;
        return irq === VIRTIO_MSI_NO_VECTOR ? -EINVAL : irq;
      },
    };
    if (lm) {
      // NOT UPSTREAM (proposal-lm-log): the bitmap lives in the function's only address space.
      ops.logStart = (asid, iova, size) => {
        if (asid !== 0) return -EINVAL;
        lm.logStart(iova, iova + size);
        return 0;
      };
      ops.logStop = () => {
        lm.logStop();
        return 0;
      };
    }
    return ops;
  }

  /** vp_vdpa_get_config(): byte by byte, again while config_generation moves. */
  private getConfig(offset: number, buf: Uint8Array): void {
    const { mdev } = this;
    for (let tries = 0; tries < VP_VDPA_CONFIG_RETRIES; tries++) {
      const old = mdev.generation();
      for (let i = 0; i < buf.length; i++) buf[i] = mdev.device ? mdev.device.read8(offset + i) : 0xff;
      if (mdev.generation() === old) return;
    }
    this.devErr(`vp_vdpa: config generation still changing after ${VP_VDPA_CONFIG_RETRIES} reads`);
  }
}

/** struct vp_vdpa_mgmtdev. */
export class VpVdpaMgmtdev implements VdpaMgmtDev {
  readonly device: { readonly name: string; readonly bus: string };
  readonly ops: VdpaMgmtDevOps;
  readonly idTable: readonly number[];
  readonly configAttrMask: bigint;
  readonly supportedFeatures: bigint;
  readonly maxSupportedVqs: number;
  vpVdpa: VpVdpa | undefined;

  constructor(
    private readonly env: VpVdpaEnv,
    readonly mdev: VirtioPciModernDevice,
    private readonly lm: VpVdpaLm | undefined,
  ) {
    const pdev = mdev.pciDev;
    this.device = { name: pdev.slot, bus: 'pci' };
    this.idTable = [mdev.id.device];
    this.maxSupportedVqs = mdev.getNumQueues();
    this.supportedFeatures = mdev.getFeatures();
    const featuresAttr = vdpaAttrs(env.profile.name).VDPA_ATTR_DEV_FEATURES as number;
    this.configAttrMask = env.profile.vpVdpa.featureProvisioning ? bit(featuresAttr) : 0n;
    this.ops = {
      devAdd: (_m, name, config) => this.devAdd(name, config),
      devDel: (_m, vdev) => this.devDel(vdev),
    };
  }

  private devErr(msg: string): void {
    this.env.klog.printk(`vp-vdpa ${this.mdev.pciDev.slot}: ${msg}`);
  }

  /** vp_vdpa_dev_add(). */
  private devAdd(name: string, config: VdpaDevSetConfig): number {
    if (this.vpVdpa) return -EBUSY;
    const { mdev, env } = this;
    let deviceFeatures = mdev.getFeatures();
    const featuresBit = bit(vdpaAttrs(env.profile.name).VDPA_ATTR_DEV_FEATURES as number);
    if (config.mask & featuresBit) {
      if (config.deviceFeatures & ~deviceFeatures) {
        this.devErr(
          `Try to provision features that are not supported by the device: device_features 0x${deviceFeatures.toString(16)} provisioned 0x${config.deviceFeatures.toString(16)}`,
        );
        return -EINVAL;
      }
      deviceFeatures = config.deviceFeatures;
    }
    const vp = new VpVdpa(mdev, deviceFeatures, env.klog, this.lm);
    const vdpa = env.bus.allocDevice({ ops: vp.ops, ngroups: 1, nas: 1, name, useVa: false });
    if (typeof vdpa === 'number') {
      this.devErr('vp_vdpa: Failed to allocate vDPA structure');
      return vdpa;
    }
    vp.vdpa = vdpa;
    vdpa.parent = vp;
    vdpa.dmaDev = mdev.pciDev.iommu;
    for (let i = 0; i < vp.queues; i++) {
      const n = mdev.mapVqNotify(i);
      if (!n) {
        this.devErr(`Fail to map vq notify ${i}`);
        vdpa.put();
        return -EINVAL;
      }
      const v = vp.vring[i] as VpVring;
      v.notify = n.mmio;
      v.notifyPa = n.pa;
    }
    vdpa.mdev = this;
    const r = env.bus.registerManagedDevice(vdpa, vp.queues);
    if (r) {
      this.devErr('Failed to register to vdpa bus');
      vdpa.put();
      return r;
    }
    this.vpVdpa = vp;
    return 0;
  }

  /** vp_vdpa_dev_del(). */
  private devDel(vdev: VdpaDevice): void {
    this.env.bus.unregisterDevice(vdev);
    this.vpVdpa = undefined;
  }
}

/** The "vp-vdpa" PCI driver. */
export function vpVdpaPciDriver(env: VpVdpaEnv): PciDriver {
  return {
    name: VP_VDPA_PCI_DRIVER_NAME,
    /** vp_vdpa_probe(). */
    probe(pdev) {
      const r = pdev.enableDevice();
      if (r) return r;
      const mdev = new VirtioPciModernDevice(pdev, env.klog);
      const err = mdev.probe();
      if (err) {
        env.klog.printk(`vp-vdpa ${pdev.slot}: Failed to probe modern PCI device`);
        return err;
      }
      const lm = env.profile.vpVdpa.lmRegisters ? vpVdpaLmProbe(mdev, LM_LAYOUTS[env.params.lmLayout]) : undefined;
      const mgtdev = new VpVdpaMgmtdev(env, mdev, lm);
      pdev.setMaster();
      pdev.drvdata = mgtdev;
      const reg = env.bus.mgmtdevRegister(mgtdev);
      if (reg) {
        env.klog.printk(`vp-vdpa ${pdev.slot}: Failed to register vdpa mgmtdev device`);
        mdev.remove();
        return reg;
      }
      return 0;
    },
    /** vp_vdpa_remove(); the devres action frees the irq vectors. */
    remove(pdev) {
      const mgtdev = pdev.drvdata as VpVdpaMgmtdev;
      env.bus.mgmtdevUnregister(mgtdev);
      mgtdev.mdev.remove();
      pdev.freeIrqVectors();
    },
  };
}
