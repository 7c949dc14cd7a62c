// `vdpasim demo [--device D] [--profile P] [--json]`: the main scenario (npm start).

import { parseArgs } from 'node:util';
import { DEMO_NET_DEVICES, type DemoNetDevice, renderBlkDemo, renderDemo, runBlkDemo, runDemo } from '../../sim/scenarios/index.js';
import { type CommandIo, UsageError } from './io.js';
import { profileOf } from './uapi.js';

const DEMO_DEVICES = [...DEMO_NET_DEVICES, 'vdpasim_blk'];

export const DEMO_USAGE = `Usage: vdpasim demo [--device D] [--profile P] [--json]
  Boots a simulated host, adds three vDPA net devices with the vdpa tool, starts a VMM and a
  guest on each, pings across a wire, sends loopback traffic, changes a MAC through the
  control virtqueue and shows the filter follow. Over vp_vdpa: three emulated virtio-net-pci
  functions are plugged first, and the CVQ, which one vq group and one address space cannot
  isolate, is passed through to the device unshadowed. Over vdpasim_blk: one guest disk,
  written, read back, flushed, zeroed and discarded.
  --device D    management device: ${DEMO_DEVICES.join(', ')} (default ${DEMO_DEVICES[0]})
  --profile P   kernel profile (default upstream)
  --json        the same facts as one JSON object`;

export function demoCommand(args: string[], io: CommandIo): number {
  const { values, positionals } = parseArgs({
    args,
    options: { device: { type: 'string' }, profile: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    io.out(`${DEMO_USAGE}\n`);
    return 0;
  }
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const device = values.device ?? 'vdpasim_netx';
  if (!DEMO_DEVICES.includes(device)) throw new UsageError(`unknown device '${device}' (one of ${DEMO_DEVICES.join(', ')})`);
  const profile = profileOf(values.profile ?? 'upstream');
  if (device === 'vdpasim_blk') {
    const blk = runBlkDemo({ profile });
    io.out(values.json ? `${JSON.stringify(blk, null, 2)}\n` : renderBlkDemo(blk));
    return blk.summary.every((s) => s.ok) ? 0 : 1;
  }
  const report = runDemo({ device: device as DemoNetDevice, profile });
  io.out(values.json ? `${JSON.stringify(report, null, 2)}\n` : renderDemo(report));
  return report.summary.every((s) => s.ok) ? 0 : 1;
}
