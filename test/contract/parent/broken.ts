// Deliberately broken parents: a good parent (vdpa_sim_net; vdpasim_netx where a config
// interrupt is needed) with its ops wrapped to break exactly one rule of rules.ts, one variant
// per rule. Running every rule over each variant shows that each rule can fail, and fails alone.

import { NO_CALLBACK, type VdpaCallback, type VdpaConfigOps, type VdpaVqState } from '../../../drivers/vdpa/vdpa_ops.js';
import {
  EINVAL,
  EOPNOTSUPP,
  VIRTIO_CONFIG_S_ACKNOWLEDGE as ACK,
  VIRTIO_CONFIG_S_DRIVER as DRIVER,
  VIRTIO_CONFIG_S_FEATURES_OK as FEATURES_OK,
  VIRTIO_F_VERSION_1,
} from '../../../uapi/index.js';
import { type DeclaredCapabilities, PARENTS, type ParentCase, type ParentUnderTest, capabilitiesOf } from './parents.js';

export interface BrokenVariant {
  /** The id of the rule it breaks. */
  readonly rule: string;
  /** The bug, in words. */
  readonly bug: string;
  /** What the rule's message must name. */
  readonly mentions: string;
  /** The PARENTS entry it wraps; default vdpa_sim_net. */
  readonly base?: string;
  /** Declared capabilities it changes. */
  readonly caps?: Partial<DeclaredCapabilities>;
  /** The broken ops over the good ones `o`, once per device. */
  wrap(o: VdpaConfigOps, p: ParentUnderTest): Partial<VdpaConfigOps>;
}

/** A getter answering its values from before reset() (per vq; device-wide ones at 0) until a setter runs: "not cleared by reset". */
function staleAfterReset<V>(o: VdpaConfigOps, n: number, get: (q: number) => V) {
  let kept: V[] | undefined;
  return {
    reset: (): number => {
      kept = Array.from({ length: n }, (_, q) => get(q));
      return o.reset();
    },
    get: (q = 0): V => (kept ? (kept[q] as V) : get(q)),
    /** `set`, after which the device answers for itself again. */
    clearedBy:
      <A extends unknown[], R>(set: (...a: A) => R) =>
      (...a: A): R => {
        kept = undefined;
        return set(...a);
      },
  };
}

export const BROKEN: readonly BrokenVariant[] = [
  {
    rule: 'status.initial-zero',
    bug: 'a fresh device reports ACKNOWLEDGE',
    mentions: 'get_status() of a fresh device',
    wrap(o) {
      // ACK until the driver first writes the status or resets the device.
      let fresh = true;
      return {
        getStatus: () => o.getStatus() | (fresh ? ACK : 0),
        setStatus: (s) => {
          fresh = false;
          o.setStatus(s);
        },
        reset: () => {
          fresh = false;
          return o.reset();
        },
      };
    },
  },
  {
    rule: 'status.set-stores',
    bug: 'DRIVER is not stored',
    mentions: 'after set_status(0x3)',
    wrap: (o) => ({ getStatus: () => o.getStatus() & ~DRIVER }),
  },
  {
    rule: 'status.reset',
    bug: 'reset() leaves the status',
    mentions: 'get_status() after reset()',
    wrap(o) {
      const s = staleAfterReset(o, 1, () => o.getStatus());
      return { reset: s.reset, getStatus: () => s.get(), setStatus: s.clearedBy((v: number) => o.setStatus(v)) };
    },
  },
  {
    rule: 'features.version-1',
    bug: 'VERSION_1 not offered',
    mentions: 'VIRTIO_F_VERSION_1',
    wrap: (o) => ({ getDeviceFeatures: () => o.getDeviceFeatures() & ~(1n << BigInt(VIRTIO_F_VERSION_1)) }),
  },
  {
    rule: 'features.driver-round-trip',
    bug: 'get_driver_features() reads 0',
    mentions: 'get_driver_features() after set_driver_features(',
    wrap: () => ({ getDriverFeatures: () => 0n }),
  },
  {
    rule: 'features.features-ok',
    bug: 'FEATURES_OK dropped',
    mentions: 'expected FEATURES_OK set',
    wrap: (o) => ({ setStatus: (s) => o.setStatus(s & ~FEATURES_OK) }),
  },
  {
    rule: 'vq.num-max',
    bug: 'a vq size of 300',
    mentions: 'expected a power of two, got 300',
    wrap: () => ({ getVqNumMax: () => 300 }),
  },
  {
    rule: 'vq.ready',
    bug: 'get_vq_ready() always false',
    mentions: 'get_vq_ready(0) after set_vq_ready(0, true)',
    wrap: () => ({ getVqReady: () => false }),
  },
  {
    rule: 'vq.disable',
    bug: 'set_vq_ready(false) ignored',
    mentions: 'get_vq_ready(0) after set_vq_ready(0, false)',
    wrap: (o) => ({
      setVqReady: (q, ready) => {
        if (ready) o.setVqReady(q, true);
      },
    }),
  },
  {
    rule: 'reset.vq-ready',
    bug: 'reset() leaves the vqs ready',
    mentions: 'get_vq_ready(0) after reset()',
    wrap(o, p) {
      const s = staleAfterReset(o, p.nvqs, (q) => o.getVqReady(q));
      return { reset: s.reset, getVqReady: s.get, setVqReady: s.clearedBy((q: number, ready: boolean) => o.setVqReady(q, ready)) };
    },
  },
  {
    rule: 'reset.driver-features',
    bug: 'reset() leaves the driver features',
    mentions: 'get_driver_features() after reset()',
    wrap(o) {
      const s = staleAfterReset(o, 1, () => o.getDriverFeatures());
      return { reset: s.reset, getDriverFeatures: () => s.get(), setDriverFeatures: s.clearedBy((f: bigint) => o.setDriverFeatures(f)) };
    },
  },
  {
    rule: 'reset.vq-state',
    bug: 'reset() leaves the vq state',
    mentions: 'get_vq_state(0).avail_index after reset()',
    wrap(o, p) {
      const s = staleAfterReset(o, p.nvqs, (q) => {
        const st = { availIndex: 0, usedIndex: 0 };
        o.getVqState(q, st);
        return st.availIndex;
      });
      return {
        reset: s.reset,
        getVqState: (q, st) => {
          const r = o.getVqState(q, st);
          st.availIndex = s.get(q);
          return r;
        },
        setVqState: s.clearedBy((q: number, st: VdpaVqState) => o.setVqState(q, st)),
      };
    },
  },
  {
    rule: 'reset.vq-cb',
    bug: 'reset() keeps the vq callbacks it should clear',
    mentions: 'vq callback fired after reset()',
    wrap(o) {
      const cbs = new Map<number, VdpaCallback>();
      return {
        setVqCb: (q, cb) => {
          cbs.set(q, cb);
          o.setVqCb(q, cb);
        },
        reset: () => {
          const r = o.reset();
          for (const [q, cb] of cbs) o.setVqCb(q, cb);
          return r;
        },
      };
    },
  },
  {
    rule: 'reset.config-cb',
    bug: 'reset() drops the config callback',
    mentions: 'config callback calls for a config change after reset()',
    base: 'vdpasim_netx',
    wrap: (o) => ({
      reset: () => {
        o.setConfigCb(NO_CALLBACK);
        return o.reset();
      },
    }),
  },
  {
    rule: 'vq-state.round-trip',
    bug: 'get_vq_state() truncates the avail index to 8 bits',
    mentions: 'get_vq_state(0).avail_index after set_vq_state(0, avail 0x1234)',
    wrap: (o) => ({
      getVqState: (q, st) => {
        const r = o.getVqState(q, st);
        st.availIndex &= 0xff;
        return r;
      },
    }),
  },
  {
    rule: 'vq-state.initial-only',
    bug: 'a vp_vdpa-like parent accepting any avail index',
    mentions: 'set_vq_state(0, avail 1) after FEATURES_OK on a disabled queue',
    caps: { vqState: 'initial-only' },
    wrap: (o) => ({
      getVqState: () => -EOPNOTSUPP,
      // vp_vdpa_set_vq_state()'s conditions without its avail_index == 0 check.
      setVqState: (q, st) => (o.getStatus() & FEATURES_OK && !o.getVqReady(q) ? o.setVqState(q, st) : -EOPNOTSUPP),
    }),
  },
  {
    rule: 'suspend.stops',
    bug: 'suspend() does nothing',
    mentions: 'requests completed for one request kicked after suspend()',
    wrap: () => ({ suspend: () => 0 }),
  },
  {
    rule: 'resume.proceeds',
    bug: 'resume() does nothing',
    mentions: 'requests completed by resume()',
    wrap: () => ({ resume: () => 0 }),
  },
  {
    rule: 'config.size',
    bug: 'get_config_size() 0',
    mentions: 'get_config_size()',
    wrap: () => ({ getConfigSize: () => 0 }),
  },
  {
    rule: 'config.stable',
    bug: 'the last config byte ticks on every whole read after the first',
    mentions: 'read twice with no change between',
    wrap(o) {
      let reads = 0;
      return {
        getConfig: (offset, buf) => {
          o.getConfig(offset, buf);
          const last = buf.length - 1;
          if (buf.length === o.getConfigSize() && reads++ > 0) buf[last] = (buf[last] as number) ^ reads;
        },
      };
    },
  },
  {
    rule: 'config.bytewise',
    bug: 'get_config() ignores the offset',
    mentions: 'against get_config(i, 1)',
    wrap: (o) => ({ getConfig: (_offset, buf) => o.getConfig(0, buf) }),
  },
  {
    rule: 'config.generation-stable',
    bug: 'the generation drifts on every read',
    mentions: 'get_generation() after a config read',
    wrap(o) {
      let drift = 0;
      return { getGeneration: () => (o.getGeneration?.() ?? 0) + drift++ };
    },
  },
  {
    rule: 'groups.vq-group-range',
    bug: 'the last vq reports group ngroups',
    mentions: 'expected < ngroups',
    wrap: (o, p) => ({ getVqGroup: (q) => (q === p.nvqs - 1 ? p.ngroups : (o.getVqGroup?.(q) ?? 0)) }),
  },
  {
    rule: 'asid.bad-group',
    bug: 'set_group_asid() clamps the group',
    mentions: 'set_group_asid(3, 0) with ngroups 2',
    wrap: (o, p) => ({ setGroupAsid: (g, a) => o.setGroupAsid?.(Math.min(g, p.ngroups - 1), a) ?? 0 }),
  },
  {
    rule: 'asid.bad-asid',
    bug: 'set_group_asid() clamps the asid',
    mentions: 'set_group_asid(0, 2) with nas 2',
    wrap: (o, p) => ({ setGroupAsid: (g, a) => o.setGroupAsid?.(g, Math.min(a, p.nas - 1)) ?? 0 }),
  },
  {
    rule: 'asid.valid-pairs',
    bug: 'set_group_asid() refuses every asid but 0',
    mentions: 'set_group_asid(0, 1)',
    wrap: (o) => ({ setGroupAsid: (g, a) => (a > 0 ? -EINVAL : (o.setGroupAsid?.(g, a) ?? 0)) }),
  },
];

/** The variant as a parent case: its base, with the kernel's group/ASID checks, then its bug. */
export function brokenCase(v: BrokenVariant): ParentCase {
  const baseName = v.base ?? 'vdpa_sim_net';
  const base = PARENTS.find((c) => c.name === baseName);
  if (!base) throw new Error(`broken ${v.rule}: no parent ${baseName}`);
  return {
    name: `${baseName} with ${v.bug}`,
    create() {
      const p = base.create();
      const ops: VdpaConfigOps = { ...p.ops, ...v.wrap(p.ops, p) };
      return { ...p, ops, caps: { ...capabilitiesOf(ops, p.caps), ...v.caps } };
    },
    destroy: (p) => base.destroy(p),
  };
}
