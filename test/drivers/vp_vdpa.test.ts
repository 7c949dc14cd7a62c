// vp_vdpa (drivers/vdpa/virtio_pci/vp_vdpa.c) over the emulated virtio-net-pci function, as an
// operator and a VMM see it: its management device over netlink and the `vdpa` tool, and
// /dev/vhost-vdpa-N on top (drivers/vhost/vdpa.c) with the platform IOMMU path. One test per
// behaviour, the kernel function that has it in the name; profiles upstream and linux-6.1 where
// they differ (feature provisioning, the DRIVER_OK rules, backend bits, SUSPEND, GET_VRING_SIZE).

import { describe, expect, it } from 'vitest';
import { IOMMU_APERTURE_END } from '../../drivers/iommu/iommu.js';
import { VP_VDPA_QUEUE_MAX } from '../../drivers/vdpa/virtio_pci/index.js';
import { newSpan } from '../../lib/mm/index.js';
import { VhostVdpa } from '../../lib/vhost_vdpa/index.js';
import type { PciDev } from '../../drivers/pci/pci.js';
import { VIRTIO_NET_PCI_FEATURES } from '../../sim/pci/index.js';
import { runShell } from '../../sim/tools/index.js';
import {
  EINVAL,
  EOPNOTSUPP,
  MAP_SHARED,
  PROT_WRITE,
  VHOST_ACCESS_RO,
  VHOST_ACCESS_RW,
  VHOST_BACKEND_F_IOTLB_ASID,
  VHOST_BACKEND_F_IOTLB_BATCH,
  VHOST_BACKEND_F_IOTLB_MSG_V2,
  VHOST_BACKEND_F_IOTLB_PERSIST,
  VHOST_BACKEND_F_SUSPEND,
  VIRTIO_CONFIG_S_NEEDS_RESET,
  VIRTIO_F_ANY_LAYOUT,
  VIRTIO_ID_NET,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_STATUS,
  type UapiProfile,
  vdpaAttrs,
} from '../../uapi/index.js';
import { errOf } from '../helpers/errno_of.js';
import { vdpaNodes, vdpaRequest } from '../helpers/vdpa_nl.js';
import {
  ACK_DRIVER,
  BASE_FEATURES,
  BROADCAST,
  DRIVER_OK,
  FEATURES_OK,
  NET_HDR_LEN,
  NetRig,
  PAGE,
  allocatedVectors,
  bit,
  ethFrame,
  guestRing,
  mapGuestRam,
  negotiate,
  putPacket,
  setVring,
  userMem,
  vpDevAdd,
  vpDevice,
  vpHost,
  vpOf,
  vpOpen,
} from '../helpers/vp_vdpa.js';

const SLOT = '0000:00:04.0';
const PROFILES: readonly UapiProfile[] = ['upstream', 'linux-6.1'];
const MAC = Uint8Array.of(0x02, 0, 0, 0, 0, 0x09);

/** The byte the function's DMA reads at `iova` (through its IOMMU view), or undefined on a fault. */
function deviceByte(pdev: PciDev, iova: bigint): number | undefined {
  const m = pdev.iommu.view.iotlb.itreeFirst(iova, iova);
  const span = newSpan();
  if (!m || !pdev.iommu.view.mem.span(Number(m.addr + (iova - m.start)), 1, false, span)) return undefined;
  return span.buf[span.off];
}

const popcount = (x: bigint): number => x.toString(2).replaceAll('0', '').length;

describe('management device (vp_vdpa_probe, vp_vdpa_dev_add)', () => {
  for (const profile of PROFILES) {
    it(`(${profile}) vdpa mgmtdev show: pci/<slot>, class net, max_supported_vqs = num_queues, dev_features = the function's`, () => {
      const vp = vpHost({ profile, maxQueuePairs: 4, vhost: false });
      const r = runShell(vp.host, vp.host.spawn(), 'vdpa -j mgmtdev show');
      expect(r.exit).toBe(0);
      const shown = JSON.parse(r.stdout).mgmtdev[`pci/${SLOT}`];
      expect(shown.supported_classes).toEqual(['net']);
      expect(shown.max_supported_vqs).toBe(9);
      // What the function offers: its host features without the legacy-only ones (ANY_LAYOUT).
      expect(vp.fn.offeredFeatures).toBe(VIRTIO_NET_PCI_FEATURES & ~bit(VIRTIO_F_ANY_LAYOUT));
      expect(shown.dev_features).toHaveLength(popcount(vp.fn.offeredFeatures));
      expect(shown.dev_features).toEqual(expect.arrayContaining(['MAC', 'MQ', 'CTRL_VQ', 'VERSION_1', 'ACCESS_PLATFORM']));
      // The raw attributes: bus "pci", name = pci_name(), classes = BIT(device id).
      const A = vdpaAttrs(profile) as Record<string, number>;
      const get = vdpaRequest(vp.host, 'VDPA_CMD_MGMTDEV_GET', (w) => {
        w.putString(A.VDPA_ATTR_MGMTDEV_BUS_NAME as number, 'pci');
        w.putString(A.VDPA_ATTR_MGMTDEV_DEV_NAME as number, SLOT);
      });
      expect(get.error).toBe(0);
      const attrs = get.replies[0]?.attrs;
      expect(attrs?.string(A.VDPA_ATTR_MGMTDEV_BUS_NAME as number)).toBe('pci');
      expect(attrs?.u64(A.VDPA_ATTR_MGMTDEV_SUPPORTED_CLASSES as number)).toBe(bit(VIRTIO_ID_NET));
      expect(attrs?.u64(A.VDPA_ATTR_DEV_SUPPORTED_FEATURES as number)).toBe(vp.fn.offeredFeatures);
    });

    it(`(${profile}) the mgmtdev sits on bus "pci": without VDPA_ATTR_MGMTDEV_BUS_NAME dev add is ENODEV`, () => {
      const vp = vpHost({ profile, vhost: false });
      expect(vpDevAdd(vp.host, { bus: null })).toMatchObject({ error: -19, extack: 'vdpa: Fail to find the specified management device' });
      expect(vp.host.bus.findDevice('vdpa0')).toBeUndefined();
    });

    for (const [attr, opts, mask] of [
      ['mac', { mac: MAC }, '0x400'],
      ['mtu', { mtu: 1500 }, '0x2000'],
      ['max_vqp', { maxVqp: 1 }, '0x1000'],
    ] as const) {
      it(`(${profile}) dev add with ${attr} is EOPNOTSUPP: config_attr_mask has FEATURES only${profile === 'linux-6.1' ? ' (6.1: nothing)' : ''}`, () => {
        const vp = vpHost({ profile, maxQueuePairs: 2, vhost: false });
        const extack = profile === 'upstream' ? `vdpa: Some provided attributes are not supported: ${mask}` : 'vdpa: All provided attributes are not supported';
        expect(vpDevAdd(vp.host, opts)).toMatchObject({ error: -EOPNOTSUPP, extack });
        expect(vp.host.bus.findDevice('vdpa0')).toBeUndefined();
      });
    }
  }

  it('(upstream) FEATURES provisioning: the device offers exactly the provisioned subset; the mgmtdev still shows all', () => {
    const vp = vpHost({ vhost: true });
    const provisioned = BASE_FEATURES | bit(VIRTIO_NET_F_MAC);
    expect(vpDevAdd(vp.host, { features: provisioned }).error).toBe(0);
    const vdev = vp.host.bus.findDevice('vdpa0');
    expect(vdev?.config.getDeviceFeatures()).toBe(provisioned);
    const sh = vp.host.spawn();
    const r = runShell(vp.host, sh, 'vdpa -j dev config show vdpa0');
    // Only MAC of the net attributes is gated in: no status, mtu or max_vq_pairs.
    expect(Object.keys(JSON.parse(r.stdout).config.vdpa0).sort()).toEqual(['mac']);
    const m = runShell(vp.host, sh, 'vdpa -j mgmtdev show');
    expect(JSON.parse(m.stdout).mgmtdev[`pci/${SLOT}`].dev_features).toHaveLength(popcount(vp.fn.offeredFeatures));
  });

  it('(upstream) provisioning is advisory: SET_FEATURES with a bit outside it still reaches the function (vp_vdpa_set_driver_features writes what it gets)', () => {
    const t = vpOpen({ dev: { features: BASE_FEATURES } });
    expect(t.v.getFeatures()).toBe(BASE_FEATURES);
    negotiate(t.v, BASE_FEATURES | bit(VIRTIO_NET_F_STATUS));
    expect(t.fn.guestFeatures).toBe(BASE_FEATURES | bit(VIRTIO_NET_F_STATUS));
  });

  it('(linux-6.1) FEATURES provisioning does not exist: EOPNOTSUPP, the device offers everything the function does', () => {
    const vp = vpHost({ profile: 'linux-6.1', vhost: false });
    expect(vpDevAdd(vp.host, { features: BASE_FEATURES })).toMatchObject({ error: -EOPNOTSUPP, extack: 'vdpa: All provided attributes are not supported' });
    expect(vpDevice(vp).config.getDeviceFeatures()).toBe(vp.fn.offeredFeatures);
  });

  it('(upstream) provisioning a feature the function lacks is EINVAL with the kernel log line and no device (vp_vdpa_dev_add)', () => {
    const vp = vpHost({ vhost: false });
    const lacking = BASE_FEATURES | bit(34); // RING_PACKED: not offered
    const r = vpDevAdd(vp.host, { features: lacking });
    expect(r.error).toBe(-EINVAL);
    expect(r.extack).toBeUndefined();
    const log = vp.host.klog.read().map((l) => l.text);
    expect(log).toContain(
      `vp-vdpa ${SLOT}: Try to provision features that are not supported by the device: device_features 0x${vp.fn.offeredFeatures.toString(16)} provisioned 0x${lacking.toString(16)}`,
    );
    expect(vp.host.bus.findDevice('vdpa0')).toBeUndefined();
    // Nothing half-made: a correct request succeeds afterwards.
    expect(vpDevAdd(vp.host).error).toBe(0);
  });

  it('(upstream) MAC without VIRTIO_NET_F_MAC in the provisioned features is EINVAL before the mask check (vdpa_nl_cmd_dev_add_set_doit)', () => {
    const vp = vpHost({ vhost: false });
    expect(vpDevAdd(vp.host, { mac: MAC, features: BASE_FEATURES })).toMatchObject({ error: -EINVAL, extack: 'vdpa: Missing features 0x20 for provided attributes' });
  });

  for (const profile of PROFILES) {
    it(`(${profile}) a second dev add on the same function is EBUSY (deviation: the kernel overwrites vp_vdpa_mgtdev->vp_vdpa)`, () => {
      const vp = vpHost({ profile });
      vpDevice(vp);
      for (const name of ['vdpa0', 'vdpa1']) expect(vpDevAdd(vp.host, { name }).error).toBe(-16);
      expect(vdpaNodes(vp.host)).toEqual(['vhost-vdpa-0']);
    });

    it(`(${profile}) dev del then dev add again: a new device on the function, its vhost-vdpa node back (vp_vdpa_dev_del clears vp_vdpa)`, () => {
      const vp = vpHost({ profile });
      vpDevice(vp);
      const del = vdpaRequest(vp.host, 'VDPA_CMD_DEV_DEL', (w, A) => w.putString(A.VDPA_ATTR_DEV_NAME as number, 'vdpa0'));
      expect(del.error).toBe(0);
      expect(vdpaNodes(vp.host)).toEqual([]);
      const again = vpDevice(vp, { name: 'vdpa7' });
      expect(again.nvqs).toBe(3);
      expect(vdpaNodes(vp.host)).toEqual(['vhost-vdpa-0']);
    });
  }
});

describe('vhost-vdpa over vp_vdpa: device queries', () => {
  for (const profile of [...PROFILES, 'proposal-lm-log'] as const) {
    it(`(${profile}) GET_VRING_BASE is EOPNOTSUPP: vp_vdpa_get_vq_state() (no LM block on the function)`, () => {
      const t = vpOpen({ profile });
      negotiate(t.v);
      for (const q of [0, 1, 2]) expect(errOf(() => t.v.getVringBase(q))).toBe('EOPNOTSUPP');
    });
  }

  for (const profile of PROFILES) {
    it(`(${profile}) SET_VRING_BASE: only 0, only after FEATURES_OK on a disabled queue (vp_vdpa_set_vq_state); > 0xffff EINVAL in vhost_vring_ioctl`, () => {
      const t = vpOpen({ profile });
      expect(errOf(() => t.v.setVringBase(0, 0))).toBe('EOPNOTSUPP');
      negotiate(t.v);
      expect(errOf(() => t.v.setVringBase(0, 0))).toBe('ok');
      expect(errOf(() => t.v.setVringBase(0, 1))).toBe('EOPNOTSUPP');
      expect(errOf(() => t.v.setVringBase(0, 0x8000))).toBe('EOPNOTSUPP');
      expect(errOf(() => t.v.setVringBase(0, 0x10000))).toBe('EINVAL');
      const ram = mapGuestRam(t, 16 * PAGE);
      setVring(t.v, 0, guestRing(ram, PAGE, 64));
      t.v.setVringEnable(0, true);
      expect(errOf(() => t.v.setVringBase(0, 0))).toBe('EOPNOTSUPP');
      t.v.setStatus(DRIVER_OK);
      // Upstream refuses it in vhost_vdpa_vring_ioctl() (DRIVER_OK, not suspended); 6.1 asks the parent.
      expect(errOf(() => t.v.setVringBase(0, 0))).toBe(profile === 'upstream' ? 'EINVAL' : 'EOPNOTSUPP');
    });

    it(`(${profile}) the device's numbers: GET_VRING_NUM 256 (VP_VDPA_QUEUE_MAX), GET_IOVA_RANGE = the IOMMU aperture, one group, one address space`, () => {
      const t = vpOpen({ profile, maxQueuePairs: 2 });
      expect(t.v.getVringNum()).toBe(VP_VDPA_QUEUE_MAX);
      expect(t.v.getIovaRange()).toEqual({ first: 0n, last: IOMMU_APERTURE_END });
      expect(t.v.getIovaRange().last).toBe((1n << 48n) - 1n);
      expect([t.v.getGroupNum(), t.v.getAsNum()]).toEqual([1, 1]);
      // get_config_size() is device_len, the DEVICE capability's length: QEMU's whole 0x1000 region.
      expect([t.v.getVqsCount(), t.v.getDeviceId(), t.v.getConfigSize()]).toEqual([5, VIRTIO_ID_NET, 0x1000]);
      expect(t.v.getFeatures()).toBe(t.fn.offeredFeatures);
    });

    it(`(${profile}) no group ops: GET_VRING_GROUP and SET_GROUP_ASID are EOPNOTSUPP, an asid >= nas (1) EINVAL first`, () => {
      const t = vpOpen({ profile });
      expect(errOf(() => t.v.getVringGroup(0))).toBe('EOPNOTSUPP');
      expect(errOf(() => t.v.setGroupAsid(0, 0))).toBe('EOPNOTSUPP');
      expect(errOf(() => t.v.setGroupAsid(0, 1))).toBe('EINVAL');
    });
  }

  it('(upstream) backend features: MSG_V2, BATCH, ASID and IOTLB_PERSIST (platform-IOMMU maps persist); SUSPEND is refused', () => {
    const t = vpOpen();
    const want = bit(VHOST_BACKEND_F_IOTLB_MSG_V2) | bit(VHOST_BACKEND_F_IOTLB_BATCH) | bit(VHOST_BACKEND_F_IOTLB_ASID) | bit(VHOST_BACKEND_F_IOTLB_PERSIST);
    expect(t.v.getBackendFeatures()).toBe(want);
    expect(errOf(() => t.v.setBackendFeatures(want))).toBe('ok');
    expect(errOf(() => t.v.setBackendFeatures(bit(VHOST_BACKEND_F_SUSPEND)))).toBe('EOPNOTSUPP');
  });

  it('(linux-6.1) backend features: MSG_V2, BATCH, ASID; IOTLB_PERSIST is unknown there', () => {
    const t = vpOpen({ profile: 'linux-6.1' });
    expect(t.v.getBackendFeatures()).toBe(bit(VHOST_BACKEND_F_IOTLB_MSG_V2) | bit(VHOST_BACKEND_F_IOTLB_BATCH) | bit(VHOST_BACKEND_F_IOTLB_ASID));
    expect(errOf(() => t.v.setBackendFeatures(bit(VHOST_BACKEND_F_IOTLB_PERSIST)))).toBe('EOPNOTSUPP');
  });

  it('(upstream) SUSPEND: 0 with no effect before DRIVER_OK, EOPNOTSUPP after (no suspend op)', () => {
    const rig = new NetRig({ noDriverOk: true });
    expect(errOf(() => rig.v.suspend())).toBe('ok');
    rig.v.setStatus(DRIVER_OK);
    expect(errOf(() => rig.v.suspend())).toBe('EOPNOTSUPP');
  });

  it('(linux-6.1) SUSPEND always asks the parent: EOPNOTSUPP even before DRIVER_OK', () => {
    const t = vpOpen({ profile: 'linux-6.1' });
    expect(errOf(() => t.v.suspend())).toBe('EOPNOTSUPP');
  });

  it('(upstream) GET_VRING_SIZE reads queue_size (vp_vdpa_get_vq_size): 256 for RX/TX, 64 for the CVQ; (linux-6.1) ENOTTY', () => {
    const t = vpOpen();
    expect([0, 1, 2].map((q) => t.v.getVringSize(q))).toEqual([256, 256, 64]);
    t.v.setVringNum(1, 128);
    expect(t.v.getVringSize(1)).toBe(128);
    const old = vpOpen({ profile: 'linux-6.1' });
    expect(errOf(() => old.v.getVringSize(0))).toBe('ENOTTY');
  });
});

describe('vhost-vdpa over vp_vdpa: the platform IOMMU (vhost_vdpa_alloc_domain, vhost_vdpa_pa_map)', () => {
  it('IOTLB_UPDATE pins the pages and maps them into the domain attached to the function; INVALIDATE unmaps and unpins', () => {
    const t = vpOpen();
    const mem = userMem(t.us, 4 * PAGE);
    expect(t.pdev.iommu.domain).toBe(t.vhost.domain);
    const iova = 0x1234_5000n;
    t.v.iotlbUpdate({ iova, size: BigInt(4 * PAGE), uaddr: BigInt(mem.addr), perm: VHOST_ACCESS_RW });
    expect(t.us.proc.mm.pinnedVm).toBe(4);
    // What the function reads at each IOVA (its DMA view) is the process's byte there.
    for (let p = 0; p < 4; p++) {
      mem.bytes[p * PAGE + 7] = 0xa0 + p;
      expect(deviceByte(t.pdev, iova + BigInt(p * PAGE) + 7n)).toBe(0xa0 + p);
    }
    t.v.iotlbInvalidate({ iova, size: BigInt(PAGE) });
    expect(t.vhost.domain?.iovaToPhys(iova + 3n * BigInt(PAGE))).toBeUndefined();
    expect(deviceByte(t.pdev, iova + 7n)).toBeUndefined();
    expect(t.us.proc.mm.pinnedVm).toBe(0);
  });

  it('the device DMAs through it: a frame sent on TX comes back on RX (loopback) into the process memory, and both call eventfds fire', () => {
    const rig = new NetRig();
    const rx = rig.alloc(2048);
    rig.postRx(rx, 2048);
    const frame = ethFrame(BROADCAST, Uint8Array.from({ length: 100 }, (_, i) => i));
    rig.send(rig.alloc(2048), frame);
    rig.settle();
    expect(rig.reap(rig.rx)).toEqual([[rx, NET_HDR_LEN + frame.length]]);
    expect(rig.bytes.subarray(rx + NET_HDR_LEN, rx + NET_HDR_LEN + frame.length)).toEqual(frame);
    expect(rig.reap(rig.tx)).toHaveLength(1);
    expect([rig.calls(0), rig.calls(1)]).toEqual([1, 1]);
  });

  it('after INVALIDATE of guest RAM the device cannot reach its rings: the next kick breaks it (NEEDS_RESET, config interrupt)', () => {
    const rig = new NetRig();
    const cfg = rig.t.us.eventfd();
    if (typeof cfg === 'number') throw new Error('eventfd');
    rig.v.setConfigCall(cfg.fd);
    rig.v.iotlbInvalidate({ iova: 0n, size: BigInt(rig.ram.mem.length) });
    rig.send(rig.alloc(2048), ethFrame(BROADCAST, Uint8Array.of(1)));
    rig.settle();
    expect(rig.t.fn.stats.tx[0]?.pkts).toBe(0);
    expect(rig.v.getStatus() & VIRTIO_CONFIG_S_NEEDS_RESET).toBe(VIRTIO_CONFIG_S_NEEDS_RESET);
    expect(cfg.read()).toBe(1n);
  });

  it('an UPDATE past the aperture (2^48 - 1) is refused (EINVAL in the handler, EFAULT from write) and maps nothing', () => {
    const t = vpOpen();
    const mem = userMem(t.us, 2 * PAGE);
    const iova = IOMMU_APERTURE_END - BigInt(PAGE) + 1n;
    expect(errOf(() => t.v.iotlbUpdate({ iova, size: BigInt(2 * PAGE), uaddr: BigInt(mem.addr), perm: VHOST_ACCESS_RW }))).toBe('EFAULT');
    expect(t.vhost.domain?.iovaToPhys(iova)).toBeUndefined();
    expect(errOf(() => t.v.iotlbUpdate({ iova, size: BigInt(PAGE), uaddr: BigInt(mem.addr), perm: VHOST_ACCESS_RO }))).toBe('ok');
  });

  it('an UPDATE beyond RLIMIT_MEMLOCK (8 MiB) fails whole (ENOMEM, EFAULT from write): nothing pinned, nothing mapped', () => {
    const t = vpOpen();
    const mem = userMem(t.us, 9 << 20);
    expect(errOf(() => t.v.iotlbUpdate({ iova: 0n, size: BigInt(mem.length), uaddr: BigInt(mem.addr), perm: VHOST_ACCESS_RW }))).toBe('EFAULT');
    expect(t.us.proc.mm.pinnedVm).toBe(0);
    expect(t.vhost.domain?.iovaToPhys(0n)).toBeUndefined();
  });

  it('open() of a function behind a non-coherent IOMMU fails ENOTSUPP (524) with the kernel log line, and again (not EBUSY)', () => {
    const vp = vpHost({ coherentDma: false });
    vpDevice(vp);
    const us = vp.host.spawn();
    expect(us.open('/dev/vhost-vdpa-0', 2)).toBe(-524);
    expect(us.open('/dev/vhost-vdpa-0', 2)).toBe(-524);
    expect(vp.host.klog.read().map((l) => l.text)).toContain(' vhost-vdpa-0: Failed to allocate domain, device is not IOMMU cache coherent capable');
    expect(vp.pdev.iommu.domain).toBeUndefined();
  });
});

describe('vhost-vdpa over vp_vdpa: interrupts (vp_vdpa_request_irq, vp_vdpa_free_irq)', () => {
  it('no MSI-X vectors before DRIVER_OK; at DRIVER_OK 1 + one per vq with a call eventfd, in vq order, config last', () => {
    const rig = new NetRig({ noDriverOk: true });
    expect(allocatedVectors(rig.t.pdev)).toBe(0);
    rig.v.setStatus(DRIVER_OK);
    expect(allocatedVectors(rig.t.pdev)).toBe(3);
    const ops = vpOf(rig.t.vdev).ops;
    expect([0, 1, 2].map((q) => rig.t.fn.queueVector(q))).toEqual([0, 1, 0xffff]);
    expect(rig.t.fn.configVector).toBe(2);
    expect(ops.getVqIrq?.(0)).toBe(rig.t.pdev.irqVector(0));
    expect(ops.getVqIrq?.(2)).toBe(-EINVAL);
    // Setting DRIVER_OK again is not a 0 -> 1 edge: nothing more is requested.
    rig.v.setStatus(DRIVER_OK);
    expect(allocatedVectors(rig.t.pdev)).toBe(3);
  });

  it('without call eventfds DRIVER_OK takes the config vector only', () => {
    const rig = new NetRig({ calls: false });
    expect(allocatedVectors(rig.t.pdev)).toBe(1);
    expect(rig.t.fn.configVector).toBe(0);
    expect(vpOf(rig.t.vdev).ops.getVqIrq?.(0)).toBe(-EINVAL);
  });

  it('reset (SET_STATUS 0) frees every vector and turns MSI-X off; the next DRIVER_OK allocates again for the callbacks kept', () => {
    const rig = new NetRig();
    rig.v.setStatus(0);
    expect(allocatedVectors(rig.t.pdev)).toBe(0);
    expect(rig.t.fn.msix.enabled).toBe(false);
    expect(vpOf(rig.t.vdev).ops.getVqIrq?.(0)).toBe(-EINVAL);
    negotiate(rig.v);
    rig.v.setStatus(DRIVER_OK);
    // vp_vdpa_reset() kept vring[].cb: both vqs get a vector again without a new SET_VRING_CALL.
    expect(allocatedVectors(rig.t.pdev)).toBe(3);
  });

  it('a call eventfd set after DRIVER_OK gets no vector: the completion is not signalled until a reset and DRIVER_OK', () => {
    const rig = new NetRig({ calls: false });
    const c = rig.t.us.eventfd();
    if (typeof c === 'number') throw new Error('eventfd');
    rig.v.setVringCall(1, c.fd);
    rig.send(rig.alloc(2048), ethFrame(BROADCAST, Uint8Array.of(1)));
    rig.settle();
    expect(rig.reap(rig.tx)).toHaveLength(1);
    expect(c.read()).toBe(-11);
  });

  it('a config change (link down) reaches the config eventfd after DRIVER_OK, and GET_CONFIG shows it; none before DRIVER_OK or after reset', () => {
    const rig = new NetRig({ features: BASE_FEATURES | bit(VIRTIO_NET_F_STATUS), noDriverOk: true });
    const cfg = rig.t.us.eventfd();
    if (typeof cfg === 'number') throw new Error('eventfd');
    rig.v.setConfigCall(cfg.fd);
    rig.t.fn.setLink(false);
    expect(cfg.read()).toBe(-11);
    rig.t.fn.setLink(true);
    rig.v.setStatus(DRIVER_OK);
    rig.t.fn.setLink(false);
    expect(cfg.read()).toBe(1n);
    expect(rig.v.getConfig(6, 2)).toEqual(Uint8Array.of(0, 0));
    rig.v.setStatus(0);
    rig.t.fn.setLink(true);
    expect(cfg.read()).toBe(-11);
  });
});

describe('vhost-vdpa over vp_vdpa: config space (vp_vdpa_get_config)', () => {
  it('GET_CONFIG reads mac, status (LINK_UP), max_virtqueue_pairs and mtu from the function, whole or in pieces', () => {
    const t = vpOpen({ mac: MAC, mtu: 9000, maxQueuePairs: 4 });
    const cfg = t.v.getConfig(0, 12);
    expect(cfg.subarray(0, 6)).toEqual(MAC);
    const dv = new DataView(cfg.buffer, cfg.byteOffset);
    expect([dv.getUint16(6, true), dv.getUint16(8, true), dv.getUint16(10, true)]).toEqual([1, 4, 9000]);
    expect(t.v.getConfig(10, 2)).toEqual(Uint8Array.of(9000 & 0xff, 9000 >> 8));
  });

  it('the config space is the 0x1000-byte DEVICE region: past virtio_net_config (12 bytes) it reads all-ones, as QEMU answers', () => {
    const t = vpOpen();
    expect(t.v.getConfig(10, 6)).toEqual(Uint8Array.of(1500 & 0xff, 1500 >> 8, 0xff, 0xff, 0xff, 0xff));
    expect(t.v.getConfig(0x1000 - 4, 4)).toEqual(Uint8Array.of(0xff, 0xff, 0xff, 0xff));
  });

  it('GET_CONFIG outside get_config_size() (0x1000) is EINVAL: len 0, off > size, len > size - off (vhost_vdpa_config_validate)', () => {
    const t = vpOpen();
    expect(errOf(() => t.v.getConfig(0, 0))).toBe('EINVAL');
    expect(errOf(() => t.v.getConfig(0x1001, 1))).toBe('EINVAL');
    expect(errOf(() => t.v.getConfig(0x1000 - 2, 4))).toBe('EINVAL');
    expect(errOf(() => t.v.getConfig(0x1000, 1))).toBe('EINVAL');
  });
});

describe('vhost-vdpa over vp_vdpa: the doorbell mmap (vp_vdpa_get_vq_notification)', () => {
  it('with notify_off_multiplier 4 doorbells are 4 bytes apart: vq 0 (page aligned) ENOTSUPP (524) for its size, vq 1 EINVAL for its address', () => {
    const t = vpOpen();
    expect(t.us.proc.mmap(0, PAGE, PROT_WRITE, MAP_SHARED, t.v.fd, 0)).toBe(-524);
    expect(t.us.proc.mmap(0, PAGE, PROT_WRITE, MAP_SHARED, t.v.fd, PAGE)).toBe(-EINVAL);
  });

  it('with page-per-vq each doorbell is its own page: mmap works and a store to it kicks the vq', () => {
    const rig = new NetRig({ pagePerVq: true });
    const p = rig.t.us.proc;
    const bell = p.mmap(0, PAGE, PROT_WRITE, MAP_SHARED, rig.v.fd, PAGE);
    expect(bell).toBeGreaterThan(0);
    const at = rig.alloc(2048);
    rig.tx.vq.addOutbuf(at, putPacket(rig.bytes, at, ethFrame(BROADCAST, Uint8Array.of(7))), at);
    p.poke(bell, Uint8Array.of(1, 0));
    rig.settle();
    expect(rig.reap(rig.tx)).toEqual([[at, 0]]);
  });
});

describe('vhost-vdpa over vp_vdpa: status', () => {
  it('SET_STATUS passes every step through to device_status; FEATURES_OK refused by the function reads back without it', () => {
    const t = vpOpen();
    t.v.setStatus(ACK_DRIVER);
    // ACCESS_PLATFORM offered and not accepted under VERSION_1: QEMU's virtio_validate_features() refuses.
    t.v.setFeatures(bit(32));
    t.v.setStatus(FEATURES_OK);
    expect(t.v.getStatus()).toBe(ACK_DRIVER);
    expect(t.fn.status).toBe(ACK_DRIVER);
  });

  it('close resets the function (vhost_vdpa_release): status 0, vectors freed, domain detached, pages unpinned', () => {
    const rig = new NetRig();
    rig.v.close();
    expect(rig.t.fn.status).toBe(0);
    expect(allocatedVectors(rig.t.pdev)).toBe(0);
    expect(rig.t.pdev.iommu.domain).toBeUndefined();
    expect(rig.t.us.proc.mm.pinnedVm).toBe(0);
    expect(errOf(() => VhostVdpa.open(rig.t.us, '/dev/vhost-vdpa-0').close())).toBe('ok');
  });
});
