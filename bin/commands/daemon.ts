// `vdpasim up`, `vdpasim down` and `vdpasim dump`: a simulated host that stays up between
// commands (sim/daemon), and the introspection iproute2 lacks.

import { spawn } from 'node:child_process';
import { closeSync, existsSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { MODULE_NAMES, type ModuleName, kernelProfile } from '../../drivers/profile.js';
import { packageRoot } from '../../lib/package_root.js';
import {
  DaemonClient,
  DaemonError,
  type DaemonInfo,
  NoDaemonError,
  VdpasimDaemon,
  probeDaemon,
  renderDump,
  socketPath,
} from '../../sim/daemon/index.js';
import type { UapiProfile } from '../../uapi/index.js';
import { type CommandIo, UsageError } from './io.js';
import { profileOf } from './uapi.js';

const SOCKET_HELP = `  --socket PATH  the daemon's socket (default $VDPASIM_SOCKET, else $XDG_RUNTIME_DIR/vdpasim/sock,
                 else /run/vdpasim/sock)`;

export const UP_USAGE = `Usage: vdpasim up [--profile P] [--modules M,...] [--socket PATH] [--foreground]
  Starts a simulated host in the background that stays up between commands: \`vdpa\` and
  \`vdpasim dump\` reach it through its socket, \`vdpasim down\` stops it.
  --profile P      kernel profile (default upstream)
  --modules M,...  modules to load (default: the profile's, plus vdpa_sim_netx)
${SOCKET_HELP}
  --foreground     stay in the terminal; SIGINT or SIGTERM stops it
  --ready-fd N     (with --foreground) write one line to descriptor N once listening, or the
                   error if it cannot start, then close it`;

export const DOWN_USAGE = `Usage: vdpasim down [--socket PATH]
  Stops the simulated host started by \`vdpasim up\`.`;

export const DUMP_USAGE = `Usage: vdpasim dump [DEV] [--json] [--socket PATH]
  Every vDPA device of the running simulated host (or DEV): status, features, vqs, groups and
  address spaces with their IOTLB entries, per-queue counters.`;

/** How long `up` waits for the background daemon to say it is ready (it boots in well under 1 s). */
const START_TIMEOUT_MS = 10_000;

const SOCKET_OPTIONS = { socket: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const;

function modulesOf(value: string | undefined, profile: UapiProfile): ModuleName[] {
  if (value === undefined) return [...kernelProfile(profile).defaultModules, 'vdpa_sim_netx'];
  const mods = value.split(',').filter(Boolean);
  for (const m of mods) {
    if (!(MODULE_NAMES as readonly string[]).includes(m)) throw new UsageError(`unknown module '${m}' (known: ${MODULE_NAMES.join(', ')})`);
  }
  return mods as ModuleName[];
}

export async function upCommand(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { ...SOCKET_OPTIONS, profile: { type: 'string' }, modules: { type: 'string' }, foreground: { type: 'boolean' }, 'ready-fd': { type: 'string' } },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) {
    io.out(`${UP_USAGE}\n`);
    return 0;
  }
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const profile = profileOf(values.profile);
  const modules = modulesOf(values.modules, profile);
  const path = socketPath(values.socket);
  const readyFd = values['ready-fd'];
  if (!values.foreground) {
    if (readyFd !== undefined) throw new UsageError('--ready-fd goes with --foreground');
    return startBackground(path, profile, modules, io);
  }
  if (readyFd !== undefined && !/^[1-9][0-9]*$/.test(readyFd)) throw new UsageError(`bad --ready-fd '${readyFd}'`);
  return runForeground(path, profile, modules, io, readyFd === undefined ? undefined : Number(readyFd));
}

/** The daemon in this process, until SIGINT, SIGTERM or `vdpasim down`. */
async function runForeground(path: string, profile: UapiProfile, modules: ModuleName[], io: CommandIo, readyFd: number | undefined): Promise<number> {
  const notify = (line: string): void => {
    if (readyFd === undefined) return;
    writeSync(readyFd, `${line}\n`);
    closeSync(readyFd);
  };
  let daemon: VdpasimDaemon;
  try {
    daemon = await VdpasimDaemon.start({ socket: path, profile, modules });
  } catch (e) {
    if (!(e instanceof DaemonError)) throw e;
    io.err(`vdpasim: ${e.message}\n`);
    notify(`vdpasim: ${e.message}`);
    return 1;
  }
  const stop = (): void => void daemon.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  io.out(`vdpasim: ${listening(daemon.info, path)}\n`);
  notify(`ready ${path}`);
  await daemon.stopped;
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  io.out(`vdpasim: simulated host at ${path} stopped\n`);
  return 0;
}

const listening = (info: DaemonInfo, path: string): string => `simulated host (profile ${info.profile}, pid ${info.pid}) listening on ${path}`;

/**
 * Starts `vdpasim up --foreground` detached (its own session, no terminal, cwd /), waits for its
 * ready line on a pipe (or its error, or its exit), then checks that the socket answers.
 */
async function startBackground(path: string, profile: UapiProfile, modules: ModuleName[], io: CommandIo): Promise<number> {
  const script = join(packageRoot(), 'dist', 'bin', 'vdpasim.js');
  if (!existsSync(script)) {
    io.err(`vdpasim: ${script} is not built (npm run build)\n`);
    return 1;
  }
  const argv = [script, 'up', '--foreground', '--ready-fd', '3', '--socket', path, '--profile', profile, '--modules', modules.join(',')];
  const child = spawn(process.execPath, argv, { detached: true, stdio: ['ignore', 'ignore', 'ignore', 'pipe'], cwd: '/' });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const pipe = child.stdio[3] as Readable;
  let said = '';
  pipe.setEncoding('utf8');
  pipe.on('data', (t: string) => (said += t));
  let timer: NodeJS.Timeout | undefined;
  const done = await Promise.race([
    new Promise<boolean>((resolve) => pipe.once('close', () => resolve(true))),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), START_TIMEOUT_MS))),
  ]);
  clearTimeout(timer);
  pipe.destroy();
  if (!done) {
    child.kill('SIGKILL');
    io.err(`vdpasim: the simulated host did not start within ${START_TIMEOUT_MS / 1000} s\n`);
    return 1;
  }
  if (!said.startsWith('ready ')) {
    io.err(said || `vdpasim: the simulated host exited (status ${await exited}) before it was ready\n`);
    return 1;
  }
  child.unref();
  const info = await probeDaemon(path, 'vdpasim');
  if (!info) {
    io.err(`vdpasim: the simulated host said it was ready but nothing answers at ${path}\n`);
    return 1;
  }
  io.out(`vdpasim: ${listening(info, path)}\n`);
  return 0;
}

/** Runs `fn` on a connection to the daemon; a DaemonError is the command's one-line error. */
async function withDaemon(path: string, io: CommandIo, fn: (c: DaemonClient) => Promise<number>): Promise<number> {
  let client: DaemonClient | undefined;
  try {
    client = await DaemonClient.connect(path, 'vdpasim');
    return await fn(client);
  } catch (e) {
    if (!(e instanceof DaemonError)) throw e;
    io.err(`vdpasim: ${e.message}${e instanceof NoDaemonError ? " (start one with 'vdpasim up')" : ''}\n`);
    return 1;
  } finally {
    client?.close();
  }
}

export async function downCommand(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: SOCKET_OPTIONS, strict: true, allowPositionals: true });
  if (values.help) {
    io.out(`${DOWN_USAGE}\n`);
    return 0;
  }
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const path = socketPath(values.socket);
  return withDaemon(path, io, async (c) => {
    await c.down();
    io.out(`vdpasim: stopped the simulated host at ${path} (pid ${c.info.pid})\n`);
    return 0;
  });
}

export async function dumpCommand(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { ...SOCKET_OPTIONS, json: { type: 'boolean' } }, strict: true, allowPositionals: true });
  if (values.help) {
    io.out(`${DUMP_USAGE}\n`);
    return 0;
  }
  const [dev, ...rest] = positionals;
  if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`);
  return withDaemon(socketPath(values.socket), io, async (c) => {
    const dump = await c.dump(dev);
    io.out(values.json ? `${JSON.stringify(dump, null, 2)}\n` : renderDump(dump));
    return 0;
  });
}
