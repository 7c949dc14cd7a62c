// The `vdpa` command (bin/vdpa.ts): iproute2's vdpa tool, modelled (sim/tools/vdpa), against
// the simulated host of `vdpasim up`. It is the same vdpaMain the transcript replayer and
// runShell call in-process; only the transport differs: here each generic-netlink request goes
// over the daemon's socket, from a blocking client (sim/daemon/blocking_client.ts explains why
// blocking), with this process's uid.

import { BlockingDaemonClient } from '../../sim/daemon/blocking_client.js';
import { DaemonError, NoDaemonError } from '../../sim/daemon/client.js';
import { socketPath } from '../../sim/daemon/protocol.js';
import type { GenlTransport } from '../../sim/tools/vdpa/mnl.js';
import { vdpaMain } from '../../sim/tools/vdpa/vdpa.js';
import { DEFAULT_UAPI_PROFILE } from '../../uapi/index.js';
import type { CommandIo } from './io.js';

/** Runs one `vdpa` command line against the daemon; returns the exit status. */
export function vdpaCommand(argv: readonly string[], io: CommandIo): number {
  const path = socketPath();
  let client: BlockingDaemonClient | undefined;
  try {
    try {
      client = BlockingDaemonClient.connect(path, 'vdpa');
    } catch (e) {
      if (!(e instanceof NoDaemonError)) throw e;
    }
    const c = client;
    // With no daemon, what needs no kernel (-V, help) still works as iproute2's does; the first
    // netlink request says how to start one.
    const transport: GenlTransport = c
      ? (request) => c.genl(request)
      : () => {
          throw new NoDaemonError(path);
        };
    return vdpaMain(argv, io, { profile: c?.info.profile ?? DEFAULT_UAPI_PROFILE, transport });
  } catch (e) {
    if (!(e instanceof DaemonError)) throw e;
    io.err(`vdpa: ${e instanceof NoDaemonError ? `${e.message}: start one with 'vdpasim up'` : e.message}\n`);
    return 1;
  } finally {
    client?.close();
  }
}
