// The vdpasim command table and dispatcher (bin/vdpasim.ts is only the process entry).

import type { CommandIo } from './io.js';
import { processIo, UsageError } from './io.js';
import { DOWN_USAGE, DUMP_USAGE, UP_USAGE, downCommand, dumpCommand, upCommand } from './daemon.js';
import { DEMO_USAGE, demoCommand } from './demo.js';
import { REPLAY_USAGE, replayCommand } from './replay.js';
import { SERVE_USAGE, serveCommand } from './serve.js';
import { UAPI_USAGE, uapiCommand } from './uapi.js';

export const VDPASIM_USAGE = `Usage: vdpasim COMMAND [ARGS]

Commands:
  demo [--device D] [--json]     the main scenario: guests, traffic, a MAC change through the CVQ
  uapi [summary] [--profile P]   what the modelled uAPI holds, per profile
  uapi header [--profile P]      the modelled uAPI as one C header
  replay FILE [--profile P]      replay a kernel transcript (kref-v2) against the model
  up [--profile P] [--socket S]  a simulated host that stays up in the background (for vdpa)
  down [--socket S]              stop it
  dump [DEV] [--json]            its devices' state: status, features, vqs, groups, IOTLBs, counters
  serve [--tap NAME] [...]       a guest on a simulated vDPA NIC cabled to a real tap
  help                           this text

${DEMO_USAGE}

${UAPI_USAGE}

${REPLAY_USAGE}

${UP_USAGE}

${DOWN_USAGE}

${DUMP_USAGE}

${SERVE_USAGE}
`;

type Command = (args: string[], io: CommandIo) => number | Promise<number>;

const COMMANDS: Record<string, Command> = {
  demo: demoCommand,
  uapi: uapiCommand,
  replay: replayCommand,
  up: upCommand,
  down: downCommand,
  dump: dumpCommand,
  serve: serveCommand,
};

/** Runs one vdpasim command line; returns the exit status. */
export async function vdpasimMain(argv: string[], io: CommandIo = processIo): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    (name === undefined ? io.err : io.out)(VDPASIM_USAGE);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  try {
    if (!command) throw new UsageError(`unknown command '${name}'`);
    return await command(args, io);
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`vdpasim: ${(e as Error).message}\n\n${VDPASIM_USAGE}`);
      return 2;
    }
    throw e;
  }
}
