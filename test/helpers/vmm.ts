// A simulated host with vDPA devices added as an operator would (vdpa0, vdpa1, ...), and VMs
// (VMM + guest + stack) on them with the VMM's system calls traced.

import type { ModuleName } from '../../drivers/profile.js';
import { Host } from '../../sim/host/index.js';
import { type Vm, type VmSpec, launchVm } from '../../sim/scenarios/index.js';
import type { UapiProfile } from '../../uapi/index.js';
import { type Inject, type Strace, strace } from './strace.js';
import { devAdd } from './vdpa_nl.js';

export const VMM_MODULES: readonly ModuleName[] = ['vdpa', 'vhost_vdpa', 'vdpa_sim', 'vdpa_sim_net', 'vdpa_sim_blk', 'vdpa_sim_netx'];

export interface DevSpec {
  mgmtdev: string;
  maxVqp?: number;
  mtu?: number;
  features?: bigint;
}

/** The MAC of device/VM i: no zero byte, so vdpa_sim_net's strncmp filter compares it whole. */
export const mac = (i: number): string => `02:aa:bb:cc:dd:${i.toString(16).padStart(2, '0')}`;
const macBytes = (i: number): Uint8Array => Uint8Array.from(mac(i).split(':').map((h) => parseInt(h, 16)));

export function bootVmmHost(profile: UapiProfile, devs: readonly DevSpec[]): Host {
  const host = Host.boot({ profile, modules: VMM_MODULES });
  devs.forEach((d, i) => {
    const isNet = d.mgmtdev !== 'vdpasim_blk';
    const r = devAdd(host, {
      name: `vdpa${i}`,
      mgmtdev: d.mgmtdev,
      ...(isNet ? { mac: macBytes(i) } : {}),
      ...(d.maxVqp !== undefined ? { maxVqp: d.maxVqp } : {}),
      ...(d.mtu !== undefined ? { mtu: d.mtu } : {}),
      ...(d.features !== undefined ? { features: d.features } : {}),
    });
    if (r.error) throw new Error(`vdpa dev add vdpa${i}: ${r.error} ${r.extack ?? ''}`);
  });
  return host;
}

export interface TracedVm extends Vm {
  trace: Strace;
}

/** A VM on vdpa`i` with IP 10.0.0.(i+1)/24 and MAC mac(i), its VMM traced. */
export function tracedVm(host: Host, i: number, spec: Partial<VmSpec> & { inject?: Inject } = {}): TracedVm {
  let trace: Strace | undefined;
  const { inject, ...rest } = spec;
  const vm = launchVm(host, {
    name: `vm${i}`,
    vhostdev: `/dev/vhost-vdpa-${i}`,
    ip: `10.0.0.${i + 1}/24`,
    mac: mac(i),
    wrapUserSpace: (us) => (trace = strace(us, inject)).us,
    ...rest,
  });
  if (typeof vm === 'string') throw new Error(vm);
  host.settleSync();
  return Object.assign(vm, { trace: trace as Strace });
}
