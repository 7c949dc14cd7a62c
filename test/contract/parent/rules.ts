// The vDPA parent contract as data: what a struct vdpa_config_ops implementation owes the bus
// drivers (vhost_vdpa, virtio_vdpa), after include/linux/vdpa.h, the kernel's own parents and
// the virtio spec. A rule throws ContractViolation, never a test assertion, so that anyone can
// run it and catch it; each comment names the kernel function the rule follows.

import type { VdpaCallback, VdpaVqState } from '../../../drivers/vdpa/vdpa_ops.js';
import {
  EINVAL,
  EOPNOTSUPP,
  VIRTIO_CONFIG_S_ACKNOWLEDGE as ACK,
  VIRTIO_CONFIG_S_DRIVER as DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK as DRIVER_OK,
  VIRTIO_CONFIG_S_FEATURES_OK as FEATURES_OK,
  VIRTIO_F_ACCESS_PLATFORM,
  VIRTIO_F_VERSION_1,
  errnoName,
} from '../../../uapi/index.js';
import { type Datapath, DriverRing, type ParentUnderTest } from './parents.js';

/** A parent broke rule `rule`; the message says what was expected and what the parent did. */
export class ContractViolation extends Error {
  override readonly name = 'ContractViolation';

  constructor(
    readonly rule: string,
    detail: string,
  ) {
    super(`${rule}: ${detail}`);
  }
}

export interface Rule {
  readonly id: string;
  readonly title: string;
  applies(p: ParentUnderTest): boolean;
  check(p: ParentUnderTest): void;
}

type Shown = number | bigint | boolean;
const hex = (x: Shown): string => (typeof x === 'boolean' ? String(x) : `0x${x.toString(16)}`);
const errno = (x: Shown): string => (typeof x === 'number' && x < 0 ? `-${errnoName(x)}` : String(x));

/** How a rule states a finding. */
interface Judge {
  /** Throws `<what>: expected <want>, got <got>` unless they are equal. */
  eq<T extends Shown>(what: string, want: T, got: T, show?: (x: Shown) => string): void;
  fail(what: string, detail: string): never;
}

function judge(rule: string): Judge {
  const fail = (what: string, detail: string): never => {
    throw new ContractViolation(rule, `${what}: ${detail}`);
  };
  return {
    fail,
    eq: (what, want, got, show = String) => {
      if (want !== got) fail(what, `expected ${show(want)}, got ${show(got)}`);
    },
  };
}

function rule(id: string, title: string, applies: (p: ParentUnderTest) => boolean, body: (p: ParentUnderTest, j: Judge) => void): Rule {
  return { id, title, applies, check: (p) => body(p, judge(id)) };
}

const always = (): boolean => true;
const hasDatapath = (p: ParentUnderTest): boolean => p.datapath !== undefined;
const bit = (n: number): bigint => 1n << BigInt(n);

// ---- the driver's side, as virtio_vdpa and vhost_vdpa drive a parent ----------------------------

/** VERSION_1, and ACCESS_PLATFORM when offered: what vring_transport_features() lets a driver keep. */
function minimalFeatures(p: ParentUnderTest, extra = 0n): bigint {
  return p.ops.getDeviceFeatures() & (bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_ACCESS_PLATFORM) | extra);
}

/** Virtio 3.1.1 steps 1-5: ACK, DRIVER, the features, FEATURES_OK. */
function negotiate(p: ParentUnderTest, features = minimalFeatures(p)): void {
  p.ops.setStatus(ACK);
  p.ops.setStatus(ACK | DRIVER);
  p.ops.setDriverFeatures(features);
  p.ops.setStatus(ACK | DRIVER | FEATURES_OK);
}

/** virtio_vdpa_setup_vq(): size, addresses, callback, ready; -> the set_vq_address() result. */
function setupVq(p: ParentUnderTest, q: number, cb?: VdpaCallback): { ring: DriverRing; r: number } {
  const num = Math.min(64, p.ops.getVqNumMax());
  const ring = new DriverRing(p.dmaAlloc(DriverRing.size(num)), num);
  p.ops.setVqNum(q, num);
  const r = p.ops.setVqAddress(q, ring.desc, ring.avail, ring.used);
  if (cb) p.ops.setVqCb(q, cb);
  p.ops.setVqReady(q, true);
  return { ring, r };
}

const driverOk = (p: ParentUnderTest): void => p.ops.setStatus(ACK | DRIVER | FEATURES_OK | DRIVER_OK);

function counter(): { cb: VdpaCallback; calls: () => number } {
  let n = 0;
  return { cb: { callback: () => void n++, private: undefined, trigger: undefined }, calls: () => n };
}

function datapathOf(p: ParentUnderTest): Datapath {
  if (!p.datapath) throw new Error(`${p.name}: rule applied without a datapath`);
  return p.datapath;
}

/** Negotiates, sets up the datapath's queues (`cb` on its vq), DRIVER_OK: the ring of its vq. */
function startDatapath(p: ParentUnderTest, cb?: VdpaCallback): DriverRing {
  const dp = datapathOf(p);
  negotiate(p);
  let ring: DriverRing | undefined;
  for (const q of dp.queues) {
    const s = setupVq(p, q, q === dp.vq ? cb : undefined);
    if (q === dp.vq) ring = s.ring;
  }
  driverOk(p);
  if (!ring) throw new Error(`${p.name}: datapath vq ${dp.vq} not among its queues`);
  return ring;
}

/** Posts one request, kicks, runs the device: how many requests completed. */
function request(p: ParentUnderTest, ring: DriverRing): number {
  const dp = datapathOf(p);
  dp.post(ring);
  p.ops.kickVq(dp.vq);
  p.settle();
  return ring.reap();
}

/** The baseline a datapath rule stands on: a running device completes one request. */
function baseline(p: ParentUnderTest, j: Judge, ring: DriverRing, when: string): void {
  j.eq(`requests completed for one request kicked ${when}`, 1, request(p, ring));
}

function availIndex(p: ParentUnderTest, j: Judge, q: number, when: string): number {
  const s: VdpaVqState = { availIndex: -1, usedIndex: 0 };
  j.eq(`get_vq_state(${q}) ${when}`, 0, p.ops.getVqState(q, s), errno);
  return s.availIndex;
}

function readConfig(p: ParentUnderTest, offset: number, len: number): Uint8Array {
  const buf = new Uint8Array(len);
  p.ops.getConfig(offset, buf);
  return buf;
}

/** Throws at the first byte where reads `a` and `b` (named by `as`) differ. */
function sameBytes(j: Judge, what: string, as: [string, string], a: Uint8Array, b: Uint8Array): void {
  const i = a.findIndex((x, k) => x !== b[k]);
  if (i >= 0) j.fail(what, `byte ${i} is ${hex(a[i] as number)} in the ${as[0]}, ${hex(b[i] as number)} in the ${as[1]}`);
}

const vqs = (p: ParentUnderTest): number[] => Array.from({ length: p.nvqs }, (_, q) => q);

// ---- the rules ---------------------------------------------------------------------------------

const statusRules: Rule[] = [
  // vdpasim_create(): status lives in zeroed memory; virtio 2.1: the device status starts at 0.
  rule('status.initial-zero', 'a fresh device reads status 0', always, (p, j) => {
    j.eq('get_status() of a fresh device', 0, p.ops.getStatus(), hex);
  }),
  // vdpasim_set_status() stores the byte; vp_vdpa_set_status() writes device_status. FEATURES_OK
  // is the one bit a device may clear (refusing features): features.features-ok owns it.
  rule('status.set-stores', 'set_status() reads back ACK, DRIVER and DRIVER_OK as written', always, (p, j) => {
    const steps = [ACK, ACK | DRIVER, ACK | DRIVER | FEATURES_OK, ACK | DRIVER | FEATURES_OK | DRIVER_OK];
    for (const s of steps) {
      if (s & FEATURES_OK) p.ops.setDriverFeatures(minimalFeatures(p));
      p.ops.setStatus(s);
      j.eq(`get_status() & ~FEATURES_OK after set_status(${hex(s)})`, s & ~FEATURES_OK, p.ops.getStatus() & ~FEATURES_OK, hex);
    }
  }),
  // vdpasim_reset() -> vdpasim_do_reset(): status = 0; vp_vdpa_reset() writes 0 to device_status.
  rule('status.reset', 'reset() returns 0 and leaves status 0', always, (p, j) => {
    negotiate(p);
    driverOk(p);
    j.eq('reset() after DRIVER_OK', 0, p.ops.reset(), errno);
    j.eq('get_status() after reset()', 0, p.ops.getStatus(), hex);
  }),
];

const featureRules: Rule[] = [
  // Virtio 6.1: a device MUST offer VIRTIO_F_VERSION_1; vdpa_sim's VDPASIM_FEATURES has it.
  rule('features.version-1', 'device features include VIRTIO_F_VERSION_1', always, (p, j) => {
    const f = p.ops.getDeviceFeatures();
    if (!(f & bit(VIRTIO_F_VERSION_1))) j.fail('get_device_features()', `expected VIRTIO_F_VERSION_1 (bit 32) set, got ${hex(f)}`);
  }),
  // vdpasim_get_driver_features() returns what vdpasim_set_driver_features() stored; vp_vdpa
  // reads the driver_feature registers back. A driver may rewrite them until FEATURES_OK.
  rule('features.driver-round-trip', 'get_driver_features() returns the offered subset set_driver_features() stored', always, (p, j) => {
    p.ops.setStatus(ACK);
    p.ops.setStatus(ACK | DRIVER);
    for (const f of [minimalFeatures(p), p.ops.getDeviceFeatures()]) {
      j.eq(`set_driver_features(${hex(f)})`, 0, p.ops.setDriverFeatures(f), errno);
      j.eq(`get_driver_features() after set_driver_features(${hex(f)})`, f, p.ops.getDriverFeatures(), hex);
    }
  }),
  // Virtio 3.1.1 step 6: FEATURES_OK still set means the device accepted the features;
  // vdpasim_set_status() keeps it, and a device should accept any subset it offered.
  rule('features.features-ok', 'FEATURES_OK sticks after negotiating a subset of the device features', always, (p, j) => {
    for (const f of [minimalFeatures(p), p.ops.getDeviceFeatures()]) {
      p.ops.reset();
      negotiate(p, f);
      const s = p.ops.getStatus();
      const what = `get_status() after set_status(ACK|DRIVER|FEATURES_OK) with features ${hex(f)}`;
      if (!(s & FEATURES_OK)) j.fail(what, `expected FEATURES_OK set, got ${hex(s)}`);
    }
  }),
];

const vqRules: Rule[] = [
  // vdpa_dev_probe(): max >= min (min defaults to 1); vring_alloc_queue_split() refuses a size that
  // is not a power of two, and virtio_vdpa_setup_vq() sizes the ring from get_vq_num_max().
  rule('vq.num-max', 'get_vq_num_max() is a power of two, at least get_vq_num_min() (1)', always, (p, j) => {
    const max = p.ops.getVqNumMax();
    const min = p.ops.getVqNumMin?.() ?? 1;
    if (max < min) j.fail('get_vq_num_max()', `expected at least ${min}, got ${max}`);
    if (max & (max - 1)) j.fail('get_vq_num_max()', `expected a power of two, got ${max}`);
  }),
  // virtio_vdpa_setup_vq(): a queue is not ready before set-up ("shouldn't already be set up"),
  // set_vq_address() returns 0, and vdpasim_get_vq_ready() reports what set_vq_ready() stored.
  rule('vq.ready', 'set_vq_num/set_vq_address accepted; get_vq_ready() false before, true after set_vq_ready(true)', always, (p, j) => {
    negotiate(p);
    for (const q of vqs(p)) {
      j.eq(`get_vq_ready(${q}) before set-up`, false, p.ops.getVqReady(q));
      j.eq(`set_vq_address(${q}, ...)`, 0, setupVq(p, q).r, errno);
      j.eq(`get_vq_ready(${q}) after set_vq_ready(${q}, true)`, true, p.ops.getVqReady(q));
    }
  }),
  // virtio_vdpa_setup_vq() error path: set_vq_ready(0), then WARN_ON(get_vq_ready()) - "VDPA
  // driver should make sure vq is stopped here".
  rule('vq.disable', 'get_vq_ready() is false after set_vq_ready(false)', (p) => p.caps.disableVq, (p, j) => {
    negotiate(p);
    for (const q of vqs(p)) {
      setupVq(p, q);
      p.ops.setVqReady(q, false);
      j.eq(`get_vq_ready(${q}) after set_vq_ready(${q}, false)`, false, p.ops.getVqReady(q));
    }
  }),
];

/** Brings every vq up to DRIVER_OK, then resets. */
function upThenReset(p: ParentUnderTest): void {
  negotiate(p);
  for (const q of vqs(p)) setupVq(p, q);
  driverOk(p);
  p.ops.reset();
}

const resetRules: Rule[] = [
  // vdpasim_vq_reset(): ready = false; vp_vdpa_reset(): a device reset clears queue_enable.
  rule('reset.vq-ready', 'reset() disables every vq', always, (p, j) => {
    upThenReset(p);
    for (const q of vqs(p)) j.eq(`get_vq_ready(${q}) after reset()`, false, p.ops.getVqReady(q));
  }),
  // vdpasim_do_reset(): features = 0. vp_vdpa_reset() only writes device_status 0, and
  // vp_modern_get_driver_features() reads the driver_feature words back, which QEMU's
  // virtio_pci_reset() kept until its 2025 extended-features series: such a case declares it.
  rule('reset.driver-features', 'reset() clears the driver features', (p) => p.caps.resetClearsDriverFeatures, (p, j) => {
    upThenReset(p);
    j.eq('get_driver_features() after reset()', 0n, p.ops.getDriverFeatures(), hex);
  }),
  // vdpasim_vq_reset() -> vringh_init_iotlb(): last_avail_idx = 0.
  rule('reset.vq-state', 'reset() returns every vq state to avail index 0', (p) => p.caps.vqState === 'full', (p, j) => {
    negotiate(p);
    for (const q of vqs(p)) p.ops.setVqState(q, { availIndex: 7 + q, usedIndex: 0 });
    p.ops.reset();
    for (const q of vqs(p)) j.eq(`get_vq_state(${q}).avail_index after reset()`, 0, availIndex(p, j, q, 'after reset()'));
  }),
  // vdpasim_vq_reset() clears cb (vhost_vdpa must SET_VRING_CALL again, facts §8.53);
  // vp_vdpa_reset() leaves vring[].cb. The case declares which.
  rule('reset.vq-cb', 'reset() keeps or clears the vq callbacks as the parent declares', hasDatapath, (p, j) => {
    const { cb, calls } = counter();
    baseline(p, j, startDatapath(p, cb), 'before reset()');
    if (calls() === 0) j.fail('vq callback before reset()', 'expected a used-buffer notification for a completed request, got none');
    p.ops.reset();
    const before = calls();
    baseline(p, j, startDatapath(p), 'after reset() with no new set_vq_cb()');
    j.eq('vq callback fired after reset() with no new set_vq_cb()', p.caps.resetKeepsVqCb, calls() > before);
  }),
  // vp_vdpa_reset() leaves config_cb; vhost_vdpa sets it once (SET_CONFIG_CALL), not per reset.
  rule('reset.config-cb', 'a config callback set before reset() still fires after it', (p) => p.configChange !== undefined, (p, j) => {
    const cc = p.configChange;
    if (!cc) return;
    const { cb, calls } = counter();
    p.ops.setConfigCb(cb);
    const raise = (): number => {
      negotiate(p, minimalFeatures(p, cc.features));
      driverOk(p);
      const before = calls();
      cc.raise();
      return calls() - before;
    };
    if (raise() === 0) j.fail('config callback before reset()', 'expected a call for a config change, got none');
    p.ops.reset();
    j.eq('config callback calls for a config change after reset()', 1, raise());
  }),
];

const vqStateRules: Rule[] = [
  // vdpasim_set_vq_state()/vdpasim_get_vq_state(): split avail_index into and out of
  // last_avail_idx (GET/SET_VRING_BASE before DRIVER_OK).
  rule('vq-state.round-trip', 'set_vq_state() then get_vq_state() round-trips the avail index', (p) => p.caps.vqState === 'full', (p, j) => {
    negotiate(p);
    for (const q of vqs(p)) {
      for (const v of [0x1234, 0xffff, 0]) {
        j.eq(`set_vq_state(${q}, avail ${hex(v)})`, 0, p.ops.setVqState(q, { availIndex: v, usedIndex: 0 }), errno);
        j.eq(`get_vq_state(${q}).avail_index after set_vq_state(${q}, avail ${hex(v)})`, v, availIndex(p, j, q, 'after set'), hex);
      }
    }
  }),
  // vp_vdpa_get_vq_state(): -EOPNOTSUPP; vp_vdpa_set_vq_state(): only the initial state (split
  // avail 0), only after FEATURES_OK and on a disabled queue, else -EOPNOTSUPP.
  rule('vq-state.initial-only', 'without vq state support only the initial state is accepted', (p) => p.caps.vqState === 'initial-only', (p, j) => {
    const set = (q: number, v: number): number => p.ops.setVqState(q, { availIndex: v, usedIndex: 0 });
    j.eq('set_vq_state(0, avail 0) before FEATURES_OK', -EOPNOTSUPP, set(0, 0), errno);
    negotiate(p);
    for (const q of vqs(p)) {
      j.eq(`get_vq_state(${q})`, -EOPNOTSUPP, p.ops.getVqState(q, { availIndex: 0, usedIndex: 0 }), errno);
      j.eq(`set_vq_state(${q}, avail 0) after FEATURES_OK on a disabled queue`, 0, set(q, 0), errno);
      j.eq(`set_vq_state(${q}, avail 1) after FEATURES_OK on a disabled queue`, -EOPNOTSUPP, set(q, 1), errno);
      setupVq(p, q);
      j.eq(`set_vq_state(${q}, avail 0) on an enabled queue`, -EOPNOTSUPP, set(q, 0), errno);
    }
  }),
];

// Suspend is checked through a datapath (DriverRing in DMA memory, the case's one request): what
// the ops alone show (a stable state) would pass a device that keeps consuming buffers.
const suspendRules: Rule[] = [
  // vdpasim_suspend(): running = false, and vdpasim_kick_vq() then only records pending_kick.
  rule('suspend.stops', 'after suspend() a kick completes nothing and the vq state holds', (p) => p.caps.suspend && hasDatapath(p), (p, j) => {
    const ring = startDatapath(p);
    const vq = datapathOf(p).vq;
    baseline(p, j, ring, 'before suspend()');
    j.eq('suspend() with DRIVER_OK', 0, p.ops.suspend?.() ?? -EOPNOTSUPP, errno);
    const readable = p.caps.vqState === 'full';
    const before = readable ? availIndex(p, j, vq, 'after suspend()') : 0;
    j.eq('requests completed for one request kicked after suspend()', 0, request(p, ring));
    if (!readable) return;
    j.eq(`get_vq_state(${vq}).avail_index across a kick while suspended`, before, availIndex(p, j, vq, 'while suspended'));
  }),
  // vdpasim_resume(): running = true and a kick that came while suspended is replayed.
  rule('resume.proceeds', 'resume() completes a request kicked while suspended', (p) => p.caps.suspend && p.caps.resume && hasDatapath(p), (p, j) => {
    const ring = startDatapath(p);
    baseline(p, j, ring, 'before suspend()');
    p.ops.suspend?.();
    const whileSuspended = request(p, ring);
    j.eq('resume() after suspend()', 0, p.ops.resume?.() ?? -EOPNOTSUPP, errno);
    p.settle();
    j.eq('requests completed by resume() for one request kicked while suspended', 1, whileSuspended + ring.reap());
  }),
];

const configRules: Rule[] = [
  // GET_CONFIG_SIZE / vhost_vdpa_config_validate() use get_config_size(); every device class
  // modelled here has a config struct (virtio_net_config, virtio_blk_config).
  rule('config.size', 'get_config_size() > 0', always, (p, j) => {
    const size = p.ops.getConfigSize();
    if (!(size > 0)) j.fail('get_config_size()', `expected > 0, got ${size}`);
  }),
  // vdpasim_get_config() copies a buffer nothing changed; vp_vdpa_get_config() retries until
  // config_generation holds.
  rule('config.stable', 'two whole-config reads with no change between are equal', always, (p, j) => {
    const size = p.ops.getConfigSize();
    const what = `get_config(0, ${size}) read twice with no change between`;
    sameBytes(j, what, ['first read', 'second'], readConfig(p, 0, size), readConfig(p, 0, size));
  }),
  // vdpasim_get_config() copies config + offset; vp_vdpa_get_config() reads byte by byte.
  rule('config.bytewise', 'the whole config equals the config read byte by byte', always, (p, j) => {
    const size = p.ops.getConfigSize();
    const bytes = Uint8Array.from({ length: size }, (_, i) => readConfig(p, i, 1)[0] as number);
    sameBytes(j, `get_config(0, ${size}) against get_config(i, 1) for each i`, ['whole read', 'byte reads'], readConfig(p, 0, size), bytes);
  }),
  // vdpasim_get_generation(): bumped by reset only; virtio_vdpa_generation() relies on it for a
  // consistent config snapshot, so reads alone must not move it.
  rule('config.generation-stable', 'get_generation() does not change without a config change', (p) => p.caps.generation, (p, j) => {
    const gen = (): number => p.ops.getGeneration?.() ?? 0;
    const g0 = gen();
    readConfig(p, 0, p.ops.getConfigSize());
    j.eq('get_generation() after a config read', g0, gen());
    j.eq('get_generation() read again', g0, gen());
  }),
];

const groupRules: Rule[] = [
  // vhost_vdpa_vring_ioctl(GET_VRING_GROUP) fails -EIO for a group >= ngroups. The group may
  // follow the features (the net CVQ's index moves with MQ), so both before and after them.
  rule('groups.vq-group-range', 'get_vq_group(i) < ngroups for every vq', (p) => p.caps.vqGroup, (p, j) => {
    const check = (when: string): void => {
      for (const q of vqs(p)) {
        const g = p.ops.getVqGroup?.(q) ?? 0;
        if (g >= p.ngroups) j.fail(`get_vq_group(${q}) ${when}`, `expected < ngroups ${p.ngroups}, got ${g}`);
      }
    };
    check('on a fresh device');
    negotiate(p, p.ops.getDeviceFeatures());
    check('with every device feature negotiated');
  }),
  // vdpasim_set_group_asid(): -EINVAL for group > ngroups (group == ngroups is the sim's quirk).
  rule('asid.bad-group', 'set_group_asid() refuses a group >= ngroups with -EINVAL', (p) => p.caps.groupAsid, (p, j) => {
    const groups = p.quirks.has('set-group-asid-accepts-ngroups') ? [p.ngroups + 1] : [p.ngroups, p.ngroups + 1];
    for (const g of groups) j.eq(`set_group_asid(${g}, 0) with ngroups ${p.ngroups}`, -EINVAL, p.ops.setGroupAsid?.(g, 0) ?? 0, errno);
  }),
  // vdpasim_set_group_asid(): -EINVAL for asid >= nas.
  rule('asid.bad-asid', 'set_group_asid() refuses an asid >= nas with -EINVAL', (p) => p.caps.groupAsid, (p, j) => {
    for (let g = 0; g < p.ngroups; g++) {
      j.eq(`set_group_asid(${g}, ${p.nas}) with nas ${p.nas}`, -EINVAL, p.ops.setGroupAsid?.(g, p.nas) ?? 0, errno);
    }
  }),
  // vdpasim_set_group_asid(): any group < ngroups to any asid < nas.
  rule('asid.valid-pairs', 'set_group_asid() accepts every group < ngroups with every asid < nas', (p) => p.caps.groupAsid, (p, j) => {
    for (let g = 0; g < p.ngroups; g++) {
      for (let a = 0; a < p.nas; a++) j.eq(`set_group_asid(${g}, ${a})`, 0, p.ops.setGroupAsid?.(g, a) ?? -EOPNOTSUPP, errno);
      p.ops.setGroupAsid?.(g, 0);
    }
  }),
];

export const RULES: readonly Rule[] = [
  ...statusRules,
  ...featureRules,
  ...vqRules,
  ...resetRules,
  ...vqStateRules,
  ...suspendRules,
  ...configRules,
  ...groupRules,
];
