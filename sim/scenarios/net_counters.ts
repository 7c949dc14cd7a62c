// A simulated NIC's per-queue counters under the names `vdpa dev vstats show` uses, whatever the
// device: what `vdpasim serve` prints and the demo reads where vp_vdpa has no vendor statistics.
// Not a kernel file.

import { VdpaSimNet, VdpaSimNetx, rxStatPairs, txStatPairs, cvqStatPairs } from '../../drivers/vdpa/vdpa_sim/index.js';
import type { NetPort } from '../../lib/net/index.js';
import { VirtioNetPci } from '../pci/index.js';

/** One queue's counters: `name` as serve prints it, `qidx` as `vdpa dev vstats show` numbers it. */
export interface QueueCounters {
  queue: string;
  qidx: number;
  counters: Record<string, number>;
}

/**
 * A NIC's per-queue counters with the vstats names: the simulators' (what their vendor stats
 * report) and the virtio-net-pci function's (vp_vdpa has no vendor stats, so these are the
 * device's own, as the hypervisor emulating it would count them).
 */
export function netPortCounters(port: NetPort): QueueCounters[] {
  const row = (queue: string, qidx: number, pairs: readonly (readonly [string, number])[]) => ({ queue, qidx, counters: Object.fromEntries(pairs) });
  if (port instanceof VdpaSimNetx || port instanceof VirtioNetPci) {
    const { rx, tx, cq } = port.stats;
    const pairs = rx.flatMap((r, q) => [row(`rx${q}`, 2 * q, rxStatPairs(r)), row(`tx${q}`, 2 * q + 1, txStatPairs(tx[q] as (typeof tx)[number]))]);
    return [...pairs, row('cvq', port.cvqIndex(), cvqStatPairs(cq))];
  }
  if (port instanceof VdpaSimNet) {
    const { rx, tx, cq } = port.stats;
    return [row('rx0', 0, rxStatPairs(rx)), row('tx0', 1, txStatPairs(tx)), row('cvq', 2, cvqStatPairs(cq))];
  }
  return [];
}

/** One counter of a NIC summed over its queues (e.g. 'rx drops': every filter verdict). */
export function netPortTotal(port: NetPort, name: string): number {
  return netPortCounters(port).reduce((n, q) => n + (q.counters[name] ?? 0), 0);
}
