// linux-vdpa-facts.md §8, the behaviours of /dev/vhost-vdpa-N that need no datapath, one test
// each, named with the item number and the profiles it holds for. Where the facts sheet (from
// ~6.17 sources) and newer kernels or the 6.1 transcripts disagree, the test says which decides.

import { describe, expect, it } from 'vitest';
import {
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
  VHOST_GET_FEATURES,
  VHOST_IOTLB_BATCH_BEGIN,
  VHOST_IOTLB_UPDATE,
  VHOST_RESET_OWNER,
  VHOST_SET_LOG_BASE,
  VHOST_SET_LOG_FD,
  VHOST_VDPA_GET_VQS_COUNT,
  VHOST_VDPA_GET_VRING_GROUP,
  VHOST_VDPA_GET_VRING_SIZE,
  VHOST_VDPA_SUSPEND,
  errnoName,
} from '../../uapi/index.js';
import { VhostVdpa } from '../../lib/vhost_vdpa/index.js';
import { errOf } from '../helpers/errno_of.js';
import { PROFILES, modelTarget } from '../helpers/model_target.js';

const ACK = 1;
const DRIVER = 2;
const DRIVER_OK = 4;
const FEATURES_OK = 8;
const F_ACCESS_PLATFORM = 1n << 33n;
const F_VERSION_1 = 1n << 32n;
const NET_FEATURES = 0x300820020n; // VERSION_1 | ACCESS_PLATFORM | MAC | CTRL_VQ | CTRL_MAC_ADDR

/** Shared memory for IOTLB tests. */
function mem(t: ReturnType<typeof modelTarget>, pages = 16) {
  const m = t.us.mmap(pages * 4096, { shared: true, populate: true });
  if (typeof m === 'number') throw new Error(`mmap ${m}`);
  return m;
}

function driverOk(v: VhostVdpa): void {
  v.setStatus(ACK | DRIVER);
  v.setFeatures(NET_FEATURES);
  v.setStatus(ACK | DRIVER | FEATURES_OK);
  v.setStatus(ACK | DRIVER | FEATURES_OK | DRIVER_OK);
}

for (const profile of PROFILES) {
  describe(`§8 vhost-vdpa behaviours, ${profile}`, () => {
    it(`§8.1 (${profile}): a second open is EBUSY while the first is open; after close it succeeds`, () => {
      const t = modelTarget(profile);
      expect(errOf(() => VhostVdpa.open(t.other(), '/dev/vhost-vdpa-0'))).toBe('EBUSY');
      t.v.close();
      expect(errOf(() => VhostVdpa.open(t.other(), '/dev/vhost-vdpa-0').close())).toBe('ok');
    });

    it(`§8.2 (${profile}): open resets the device: status 0 after reopen although DRIVER_OK was left`, () => {
      const t = modelTarget(profile);
      t.v.setOwner();
      driverOk(t.v);
      expect(t.v.getStatus()).toBe(0xf);
      t.us.exit();
      const again = VhostVdpa.open(t.other(), '/dev/vhost-vdpa-0');
      expect(again.getStatus()).toBe(0);
    });

    it(`§8.3 (${profile}): requests are answered at the kernel's numbers`, () => {
      const t = modelTarget(profile);
      t.v.setOwner();
      const state = new Uint8Array(8);
      state[0] = 2;
      expect(VHOST_VDPA_GET_VRING_GROUP).toBe(0xc008af7b);
      expect(t.v.file.ioctl(0xc008af7b, state)).toBe(0);
      expect(state[4]).toBe(1);
      expect(VHOST_VDPA_SUSPEND).toBe(0xaf7d);
      expect(t.v.file.ioctl(0xaf7d, null)).toBe(0);
      expect(VHOST_VDPA_GET_VRING_SIZE).toBe(0xc008af82);
    });

    it(`§8.4 (${profile}): per-vq ioctls are EPERM before SET_OWNER; device queries work`, () => {
      const t = modelTarget(profile);
      expect(errOf(() => t.v.setVringEnable(0, true))).toBe('EPERM');
      expect(errOf(() => t.v.getVringGroup(0))).toBe('EPERM');
      expect(errOf(() => t.v.setGroupAsid(0, 0))).toBe('EPERM');
      expect(errOf(() => t.v.setVringNum(0, 64))).toBe('EPERM');
      expect(t.v.getVqsCount()).toBe(3);
      expect(t.v.getFeatures()).toBe(profile === 'upstream' ? 0x308830028n : 0x308820028n);
      expect([VHOST_VDPA_GET_VQS_COUNT, VHOST_GET_FEATURES].every((r) => r > 0)).toBe(true);
    });

    it(`§8.5 (${profile}): a second SET_OWNER is EBUSY`, () => {
      const t = modelTarget(profile);
      t.v.setOwner();
      expect(errOf(() => t.v.setOwner())).toBe('EBUSY');
    });

    it(`§8.6 (${profile}): a per-vq ioctl with index >= nvqs is ENOBUFS`, () => {
      const t = modelTarget(profile);
      t.v.setOwner();
      for (const call of [() => t.v.setVringNum(3, 64), () => t.v.getVringBase(3), () => t.v.getVringGroup(1000), () => t.v.setVringEnable(3, 1)]) {
        expect(errOf(call)).toBe('ENOBUFS');
      }
    });

    it(`§8.7 (${profile}): SET_VRING_NUM 0, 3, 65536 are EINVAL; 1024 (above the max 256) succeeds`, () => {
      const t = modelTarget(profile);
      t.v.setOwner();
      expect([0, 3, 65536].map((n) => errOf(() => t.v.setVringNum(0, n)))).toEqual(['EINVAL', 'EINVAL', 'EINVAL']);
      expect(errOf(() => t.v.setVringNum(0, 1024))).toBe('ok');
      expect(t.sim.vqs[0]?.num).toBe(1024);
    });

    it(`§8.8 (${profile}): SET_VRING_ADDR with odd avail or used not 4-aligned is EINVAL; flags 2 is EOPNOTSUPP`, () => {
      const t = modelTarget(profile);
      t.v.setOwner();
      const a = { desc: 0x100000n, avail: 0x101000n, used: 0x102000n };
      expect(errOf(() => t.v.setVringAddr(0, { ...a, avail: 0x101001n }))).toBe('EINVAL');
      expect(errOf(() => t.v.setVringAddr(0, { ...a, used: 0x102002n }))).toBe('EINVAL');
      expect(errOf(() => t.v.setVringAddr(0, { ...a, flags: 2 }))).toBe('EOPNOTSUPP');
      expect(errOf(() => t.v.setVringAddr(0, { ...a, desc: 0x100001n, flags: 1 }))).toBe('ok');
    });

    it(`§8.9 (${profile}): split SET_VRING_BASE 0x10000 is EINVAL; 0xffff round-trips`, () => {
      const t = modelTarget(profile);
      t.v.setOwner();
      expect(errOf(() => t.v.setVringBase(0, 0x10000))).toBe('EINVAL');
      t.v.setVringBase(0, 0xffff);
      expect(t.v.getVringBase(0)).toBe(0xffff);
    });

    it(`§8.10 (${profile}): SET_VRING_ADDR/BASE during DRIVER_OK ${profile === 'upstream' ? 'are EINVAL until SUSPEND' : 'succeed (no such check in 6.1)'}`, () => {
      const t = modelTarget(profile);
      t.v.setOwner();
      driverOk(t.v);
      const a = { desc: 0x100000n, avail: 0x101000n, used: 0x102000n };
      const expected = profile === 'upstream' ? 'EINVAL' : 'ok';
      expect(errOf(() => t.v.setVringAddr(1, a))).toBe(expected);
      expect(errOf(() => t.v.setVringBase(1, 3))).toBe(expected);
      t.v.suspend();
      expect(errOf(() => t.v.setVringAddr(1, a))).toBe('ok');
      expect(errOf(() => t.v.setVringBase(1, 3))).toBe('ok');
      expect(t.v.getVringBase(1)).toBe(3);
    });

    it(`§8.11 (${profile}): SET_FEATURES after FEATURES_OK is EBUSY; after SET_STATUS(0) it succeeds`, () => {
      const t = modelTarget(profile);
      t.v.setOwner();
      t.v.setStatus(ACK | DRIVER);
      t.v.setFeatures(NET_FEATURES);
      t.v.setStatus(ACK | DRIVER | FEATURES_OK);
      expect(errOf(() => t.v.setFeatures(NET_FEATURES))).toBe('EBUSY');
      t.v.setStatus(0);
      expect(errOf(() => t.v.setFeatures(NET_FEATURES))).toBe('ok');
    });

    it(`§8.12 (${profile}): SET_FEATURES without ACCESS_PLATFORM is EINVAL; unoffered bits are dropped`, () => {
      const t = modelTarget(profile);
      expect(errOf(() => t.v.setFeatures(F_VERSION_1))).toBe('EINVAL');
      expect(errOf(() => t.v.setFeatures(0n))).toBe('EINVAL');
      t.v.setFeatures(0x4000728c20028n);
      expect(t.sim.features).toBe(0x4000728c20028n & t.v.getFeatures());
      expect(t.sim.features & (1n << 34n)).toBe(0n);
      expect(t.sim.features & F_ACCESS_PLATFORM).toBe(F_ACCESS_PLATFORM);
    });

    it(`§8.13 (${profile}): SET_STATUS clearing a bit is EINVAL; SET_STATUS(0) always succeeds`, () => {
      const t = modelTarget(profile);
      t.v.setStatus(0x0f);
      expect(errOf(() => t.v.setStatus(0x07))).toBe('EINVAL');
      expect(t.v.getStatus()).toBe(0x0f);
      t.v.setStatus(0x8f);
      expect(errOf(() => t.v.setStatus(0))).toBe('ok');
      expect(t.v.getStatus()).toBe(0);
    });

    it(`§8.14 (${profile}): after SET_STATUS(0): status 0, vqs not ready, features 0, groups back on AS 0`, () => {
      const t = modelTarget(profile);
      t.v.setOwner();
      driverOk(t.v);
      t.v.setVringEnable(2, 1);
      t.v.setGroupAsid(1, 1);
      expect(t.sim.vqs[2]?.iotlb).toBe(t.sim.iommu[1]);
      t.v.setStatus(0);
      expect(t.v.getStatus()).toBe(0);
      expect(t.sim.vqs.map((q) => q.ready)).toEqual([false, false, false]);
      expect(t.sim.features).toBe(0n);
      expect(t.sim.vqs.map((q) => q.iotlb)).toEqual([t.sim.iommu[0], t.sim.iommu[0], t.sim.iommu[0]]);
    });

    it(`§8.15 (${profile}): GET_CONFIG with len 0, off > size or off+len > size is EINVAL (never E2BIG)`, () => {
      const t = modelTarget(profile);
      expect(errOf(() => t.v.getConfig(0, 0))).toBe('EINVAL');
      expect(errOf(() => t.v.getConfig(25, 1))).toBe('EINVAL');
      expect(errOf(() => t.v.getConfig(24, 1))).toBe('EINVAL');
      expect(errOf(() => t.v.getConfig(0, 25))).toBe('EINVAL');
      expect(errOf(() => t.v.setConfig(0, new Uint8Array(0)))).toBe('EINVAL');
    });

    it(`§8.16 (${profile}): vdpa_sim_net config: zero MAC, status 01 00, max_vqp 0, MTU dc 05`, () => {
      const t = modelTarget(profile);
      expect(Buffer.from(t.v.getConfig(0, 24)).toString('hex')).toBe('00000000000001000000dc05000000000000000000000000');
    });

    it(`§8.17 (${profile}): device id 1, config size 24, 3 vqs, 2 groups, 2 ASes, vring num 256, full IOVA range`, () => {
      const t = modelTarget(profile);
      expect([t.v.getDeviceId(), t.v.getConfigSize(), t.v.getVqsCount(), t.v.getGroupNum(), t.v.getAsNum(), t.v.getVringNum()]).toEqual([1, 24, 3, 2, 2, 256]);
      expect(t.v.getIovaRange()).toEqual({ first: 0n, last: (1n << 64n) - 1n });
      // 6.1's vdpa_sim_net has no VIRTIO_NET_F_STATUS (the transcript's 0x308820028).
      expect(t.v.getFeatures()).toBe(profile === 'upstream' ? 0x308830028n : 0x308820028n);
    });

    it(`§8.18 (${profile}): GET_BACKEND_FEATURES = ${profile === 'upstream' ? '0x17e' : '0x1e'} and returns the offered set, not the acked one`, () => {
      const t = modelTarget(profile);
      const offered = profile === 'upstream' ? 0x17en : 0x1en;
      expect(t.v.getBackendFeatures()).toBe(offered);
      t.v.setBackendFeatures(0xen);
      expect(t.v.getBackendFeatures()).toBe(offered);
    });

    it(`§8.19 (${profile}): SET_BACKEND_FEATURES: bit 0 or 9 EOPNOTSUPP; DESC_ASID ${profile === 'upstream' ? 'without IOTLB_ASID EINVAL, with it EOPNOTSUPP' : 'unknown to 6.1: EOPNOTSUPP'}`, () => {
      const t = modelTarget(profile);
      expect(errOf(() => t.v.setBackendFeatures(1n))).toBe('EOPNOTSUPP');
      expect(errOf(() => t.v.setBackendFeatures(1n << 9n))).toBe('EOPNOTSUPP');
      expect(errOf(() => t.v.setBackendFeatures(1n << 7n))).toBe(profile === 'upstream' ? 'EINVAL' : 'EOPNOTSUPP');
      expect(errOf(() => t.v.setBackendFeatures((1n << 7n) | (1n << 3n)))).toBe('EOPNOTSUPP');
      // 6.1 knows neither RESUME (bit 5) nor ENABLE_AFTER_DRIVER_OK (bit 6).
      expect(errOf(() => t.v.setBackendFeatures(0x2en))).toBe(profile === 'upstream' ? 'ok' : 'EOPNOTSUPP');
    });

    it(`§8.20 (${profile}): GET_VRING_GROUP is 0, 0, 1 for vqs 0, 1, 2`, () => {
      const t = modelTarget(profile);
      t.v.setOwner();
      expect([0, 1, 2].map((i) => t.v.getVringGroup(i))).toEqual([0, 0, 1]);
    });

    it(`§8.21 (${profile}): SET_GROUP_ASID: asid >= nas EINVAL; group >= nvqs ENOBUFS; group == ngroups EINVAL (cd025c1e876b, in 6.1.y: the 6.1 transcript agrees)`, () => {
      const t = modelTarget(profile);
      t.v.setOwner();
      expect(errOf(() => t.v.setGroupAsid(0, 2))).toBe('EINVAL');
      expect(errOf(() => t.v.setGroupAsid(0, 0xffffffff))).toBe('EINVAL');
      expect(errOf(() => t.v.setGroupAsid(3, 0))).toBe('ENOBUFS');
      expect(errOf(() => t.v.setGroupAsid(2, 0))).toBe('EINVAL');
      expect(errOf(() => t.v.setGroupAsid(1, 1))).toBe('ok');
    });

    it(`§8.22 (${profile}): GET_VRING_SIZE and GET_VRING_DESC_GROUP ${profile === 'upstream' ? 'are EOPNOTSUPP on vdpa_sim (batch op set)' : 'are unknown to 6.1: the vring path ends in ENOTTY'}`, () => {
      const t = modelTarget(profile);
      t.v.setOwner();
      const expected = profile === 'upstream' ? 'EOPNOTSUPP' : 'ENOTTY';
      expect(errOf(() => t.v.getVringSize(0))).toBe(expected);
      expect(errOf(() => t.v.getVringDescGroup(0))).toBe(expected);
    });

    it(`§8.22b (${profile}): with batch_mapping=0 the dma_map op set has get_vq_size ${profile === 'upstream' ? '(256 before DRIVER_OK)' : '(not in 6.1)'}`, () => {
      const t = modelTarget(profile, { params: { vdpa_sim: { batchMapping: false } } });
      t.v.setOwner();
      expect(errOf(() => t.v.getVringSize(0))).toBe(profile === 'upstream' ? 'ok' : 'ENOTTY');
      if (profile === 'upstream') expect(t.v.getVringSize(0)).toBe(256);
    });

    it(`§8.23 (${profile}): an IOTLB write shorter than 40 bytes is EINVAL; 40 bytes return 72`, () => {
      const t = modelTarget(profile);
      t.v.setOwner();
      const m = mem(t);
      const msg = VhostVdpa.iotlbMessage(VHOST_IOTLB_UPDATE, 0, { iova: 0x600000n, size: 0x1000n, uaddr: BigInt(m.addr), perm: 3 });
      expect(t.v.file.write(msg.subarray(0, 4))).toBe(-22);
      expect(t.v.file.write(msg.subarray(0, 39))).toBe(-22);
      expect(t.v.file.write(msg.subarray(0, 40))).toBe(72);
      const long = new Uint8Array(100);
      long.set(msg);
      long.set(VhostVdpa.iotlbMessage(VHOST_IOTLB_UPDATE, 0, { iova: 0x700000n, size: 0x1000n, uaddr: BigInt(m.addr), perm: 3 }));
      expect(t.v.file.write(long)).toBe(72);
    });

    it(`§8.24 (${profile}): framing type other than 1 or 2 is EINVAL; UPDATE size 0 is EINVAL`, () => {
      const t = modelTarget(profile);
      t.v.setOwner();
      const msg = VhostVdpa.iotlbMessage(VHOST_IOTLB_UPDATE, 0, { iova: 0x100000n, size: 0x1000n, uaddr: 0x1000n, perm: 3 });
      msg[0] = 3;
      expect(t.v.file.write(msg)).toBe(-22);
      expect(errOf(() => t.v.iotlbUpdate({ iova: 0x200000n, size: 0n, uaddr: 0x1000n, perm: 3 }))).toBe('EINVAL');
    });

    it(`§8.25 (${profile}): handler failures (EEXIST, EPERM, EINVAL) reach userspace as EFAULT`, () => {
      const t = modelTarget(profile);
      const m = mem(t);
      const u = { iova: 0x100000n, size: 0x1000n, uaddr: BigInt(m.addr), perm: 3 };
      expect(errOf(() => t.v.iotlbUpdate(u))).toBe('EFAULT'); // EPERM: no owner
      t.v.setOwner();
      t.v.iotlbUpdate(u);
      expect(errOf(() => t.v.iotlbUpdate(u))).toBe('EFAULT'); // EEXIST
      const bad = VhostVdpa.iotlbMessage(99, 0, u);
      expect(t.v.file.write(bad)).toBe(-14); // EINVAL: unknown type
    });

    it(`§8.26 (${profile}): an overlapping UPDATE fails; the same range in the other AS succeeds`, () => {
      const t = modelTarget(profile);
      t.v.setOwner();
      t.v.setBackendFeatures(0xen);
      const m = mem(t);
      t.v.iotlbUpdate({ asid: 0, iova: 0x100000n, size: 0x4000n, uaddr: BigInt(m.addr), perm: 3 });
      expect(errOf(() => t.v.iotlbUpdate({ asid: 0, iova: 0x102000n, size: 0x4000n, uaddr: BigInt(m.addr), perm: 3 }))).toBe('EFAULT');
      expect(errOf(() => t.v.iotlbUpdate({ asid: 1, iova: 0x100000n, size: 0x4000n, uaddr: BigInt(m.addr), perm: 3 }))).toBe('ok');
    });

    it(`§8.27 (${profile}): before IOTLB_ASID is acked the asid word is ignored (AS 0); after, asid >= nas fails`, () => {
      const t = modelTarget(profile);
      t.v.setOwner();
      const m = mem(t);
      const u = { iova: 0x900000n, size: 0x1000n, uaddr: BigInt(m.addr), perm: 3 };
      t.v.iotlbUpdate({ ...u, asid: 1 });
      expect(errOf(() => t.v.iotlbUpdate({ ...u, asid: 0 }))).toBe('EFAULT');
      expect([...t.vhost.as.keys()]).toEqual([0]);
      t.v.setBackendFeatures(0xen);
      expect(errOf(() => t.v.iotlbUpdate({ ...u, iova: 0xa00000n, asid: 2 }))).toBe('EFAULT');
      expect(errOf(() => t.v.iotlbUpdate({ ...u, asid: 1 }))).toBe('ok');
    });

    it(`§8.28 (${profile}): INVALIDATE of an AS never updated fails; touching part of an entry removes it whole`, () => {
      const t = modelTarget(profile);
      t.v.setOwner();
      t.v.setBackendFeatures(0xen);
      const m = t.us.mmap(2 << 20, { huge: true, populate: true });
      if (typeof m === 'number') throw new Error('hugetlb');
      expect(errOf(() => t.v.iotlbInvalidate({ asid: 1, iova: 0n, size: 0x1000n }))).toBe('EFAULT');
      t.v.iotlbUpdate({ iova: 0x700000n, size: 0x4000n, uaddr: BigInt(m.addr), perm: 3 });
      t.v.iotlbInvalidate({ iova: 0x701000n, size: 0x1000n });
      expect([...(t.vhost.as.get(0)?.iotlb.list() ?? [])]).toEqual([]);
    });

    it(`§8.29 (${profile}): in a batch for AS A a message for AS B fails; set_map runs once at BATCH_END; no IOTLB_BATCH ack needed`, () => {
      const t = modelTarget(profile);
      t.v.setOwner();
      t.v.setBackendFeatures(1n << 3n);
      const m = mem(t);
      let setMaps = 0;
      const real = t.vdev.config.setMap?.bind(t.vdev.config);
      t.vdev.config.setMap = (asid, iotlb) => {
        setMaps++;
        return real ? real(asid, iotlb) : 0;
      };
      t.v.iotlbBatchBegin(0);
      t.v.iotlbUpdate({ iova: 0x100000n, size: 0x1000n, uaddr: BigInt(m.addr), perm: 3 });
      t.v.iotlbUpdate({ iova: 0x101000n, size: 0x1000n, uaddr: BigInt(m.addr + 4096), perm: 3 });
      expect(errOf(() => t.v.iotlbUpdate({ asid: 1, iova: 0x100000n, size: 0x1000n, uaddr: BigInt(m.addr), perm: 3 }))).toBe('EFAULT');
      expect(errOf(() => t.v.iotlbBatchBegin(1))).toBe('EFAULT');
      expect(setMaps).toBe(0);
      t.v.iotlbBatchEnd(0);
      expect(setMaps).toBe(1);
      expect(t.v.file.write(VhostVdpa.iotlbMessage(VHOST_IOTLB_BATCH_BEGIN, 0, { iova: 0n, size: 0n }))).toBe(72);
    });

    it(`§8.30 (${profile}): UPDATE past range.last or wrapping 2^64 fails; the last page of the space is accepted`, () => {
      const t = modelTarget(profile);
      t.v.setOwner();
      const m = mem(t);
      expect(errOf(() => t.v.iotlbUpdate({ iova: 0xfffffffffffff000n, size: 0x2000n, uaddr: BigInt(m.addr), perm: 3 }))).toBe('EFAULT');
      expect(errOf(() => t.v.iotlbUpdate({ iova: 0xfffffffffffff000n, size: 0x1000n, uaddr: BigInt(m.addr), perm: 3 }))).toBe('ok');
    });

    it(`§8.31 (${profile}): address spaces survive SET_STATUS(0) and disappear on close`, () => {
      const t = modelTarget(profile);
      t.v.setOwner();
      const m = mem(t);
      const u = { iova: 0x100000n, size: 0x1000n, uaddr: BigInt(m.addr), perm: 3 };
      t.v.iotlbUpdate(u);
      t.v.setStatus(0);
      expect(errOf(() => t.v.iotlbUpdate(u))).toBe('EFAULT');
      t.v.close();
      const again = VhostVdpa.open(t.us, '/dev/vhost-vdpa-0');
      again.setOwner();
      expect(errOf(() => again.iotlbInvalidate({ iova: 0x100000n, size: 0x1000n }))).toBe('EFAULT');
    });

    it(`§8.32 (${profile}): reset ${profile === 'upstream' ? 'restores passthrough unless IOTLB_PERSIST is acked' : 'always restores passthrough (no compat_reset, no IOTLB_PERSIST in 6.1)'}`, () => {
      const t = modelTarget(profile);
      t.v.setOwner();
      const m = mem(t);
      t.v.iotlbUpdate({ iova: 0x100000n, size: 0x1000n, uaddr: BigInt(m.addr), perm: 3 });
      expect(t.sim.iommuPt[0]).toBe(false);
      t.v.setStatus(0);
      expect(t.sim.iommuPt[0]).toBe(true);
      if (profile === 'upstream') {
        t.v.iotlbInvalidate({ iova: 0x100000n, size: 0x1000n });
        t.v.setBackendFeatures((1n << 8n) | (1n << 3n));
        t.v.iotlbUpdate({ iova: 0x100000n, size: 0x1000n, uaddr: BigInt(m.addr), perm: 3 });
        t.v.setStatus(0);
        expect(t.sim.iommuPt[0]).toBe(false);
        expect([...t.sim.iommu[0]!.list()].map((e) => e.start)).toEqual([0x100000n]);
      } else {
        expect(errOf(() => t.v.setBackendFeatures(1n << 8n))).toBe('EOPNOTSUPP');
      }
    });

    it(`§8.33 (${profile}): SUSPEND ${profile === 'upstream' ? 'and RESUME without DRIVER_OK return 0 and change nothing' : 'always calls the parent (6.1); RESUME is not a command (vring path: NULL arg EFAULT)'}`, () => {
      const t = modelTarget(profile);
      t.v.setOwner();
      t.v.suspend();
      expect(t.v.getStatus()).toBe(0);
      expect(t.vhost.suspended).toBe(false);
      if (profile === 'upstream') {
        t.v.resume();
        driverOk(t.v);
        t.v.suspend();
        expect(t.vhost.suspended).toBe(true);
        expect(t.sim.running).toBe(false);
        t.v.resume();
        expect(t.sim.running).toBe(true);
      } else {
        expect(errOf(() => t.v.resume())).toBe('EFAULT');
        const zero = new Uint8Array(8);
        expect(errnoName(-t.v.file.ioctl(0xaf7e, zero))).toBe('ENOTTY');
        zero[0] = 99;
        expect(errnoName(-t.v.file.ioctl(0xaf7e, zero))).toBe('ENOBUFS');
      }
    });

    it(`§8.44 (${profile}): mmap of the doorbell is ENOTSUPP (524) on vdpa_sim; wrong length, MAP_PRIVATE or PROT_READ are EINVAL`, () => {
      const t = modelTarget(profile);
      const p = t.us.proc;
      const fd = t.v.fd;
      expect(p.mmap(0, 4096, PROT_WRITE, MAP_SHARED, fd, 0)).toBe(-524);
      expect(p.mmap(0, 8192, PROT_WRITE, MAP_SHARED, fd, 0)).toBe(-22);
      expect(p.mmap(0, 4096, PROT_WRITE, MAP_PRIVATE, fd, 0)).toBe(-22);
      expect(p.mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)).toBe(-22);
      expect(p.mmap(0, 4096, PROT_WRITE, MAP_SHARED, fd, 3 * 4096)).toBe(profile === 'upstream' ? -524 : -22);
      expect(p.mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)).toBeGreaterThan(0);
    });

    it(`§8.45 (${profile}): read() on the fd is EINVAL`, () => {
      const t = modelTarget(profile);
      expect(t.v.file.read(128)).toBe(-22);
    });

    it(`§8.46 (${profile}): SET_LOG_BASE/SET_LOG_FD are ENOTTY; RESET_OWNER with NULL is EFAULT for the owner, EPERM for others`, () => {
      const t = modelTarget(profile);
      t.v.setOwner();
      expect(errnoName(-t.v.file.ioctl(VHOST_SET_LOG_BASE, new Uint8Array(8)))).toBe('ENOTTY');
      expect(errnoName(-t.v.file.ioctl(VHOST_SET_LOG_FD, new Uint8Array(4)))).toBe('ENOTTY');
      expect(errnoName(-t.v.file.ioctl(VHOST_RESET_OWNER, null))).toBe('EFAULT');
      expect(errnoName(-t.v.file.ioctl(VHOST_RESET_OWNER, new Uint8Array(4)))).toBe('ENOTTY');
      // Another process using the same open file (as after fork) is not the owner.
      const other = t.other();
      const file = t.us.proc.files.lookup(t.v.fd);
      if (!file) throw new Error('no file');
      const fd = other.proc.files.install(file.get());
      expect(errnoName(-other.proc.ioctl(fd, VHOST_RESET_OWNER, 0))).toBe('EPERM');
    });

    it(`§8.47 (${profile}): SET_CONFIG_CALL with an invalid fd is EBADF and leaves no config eventfd`, () => {
      const t = modelTarget(profile);
      const efd = t.us.eventfd(0, 0);
      if (typeof efd === 'number') throw new Error('eventfd');
      t.v.setConfigCall(efd.fd);
      expect(t.vhost.configCtx).toBeDefined();
      expect(errOf(() => t.v.setConfigCall(9999))).toBe('EBADF');
      expect(t.vhost.configCtx).toBeUndefined();
      expect(errOf(() => t.v.setConfigCall(t.v.fd))).toBe('EINVAL');
      expect(errOf(() => t.v.setConfigCall(-1))).toBe('ok');
    });

    it(`§8.48 (${profile}): SET_VRING_KICK with a non-zero eventfd kicks once at once; every write kicks once`, () => {
      const t = modelTarget(profile);
      t.v.setOwner();
      const kicks: number[] = [];
      const real = t.vdev.config.kickVq.bind(t.vdev.config);
      t.vdev.config.kickVq = (idx) => {
        kicks.push(idx);
        real(idx);
      };
      const efd = t.us.eventfd(3, 0);
      if (typeof efd === 'number') throw new Error('eventfd');
      t.v.setVringKick(1, efd.fd);
      expect(kicks).toEqual([1]);
      efd.write(1n);
      efd.write(0n);
      expect(kicks).toEqual([1, 1, 1]);
      t.v.setVringKick(1, -1);
      efd.write(1n);
      expect(kicks).toEqual([1, 1, 1]);
      expect(errOf(() => t.v.setVringKick(1, 9999))).toBe('EBADF');
      expect(errOf(() => t.v.setVringKick(1, t.v.fd))).toBe('EINVAL');
    });
  });
}
