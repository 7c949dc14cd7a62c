// The daemon and the `vdpa` command as real processes over a real socket, from the built
// binaries (dist/, which `npm install` builds): the issue's acceptance sequence from a fresh
// shell, section A.1 of kernel-6.1/vdpa-tool.txt byte for byte through `vdpasim up` and `vdpa`,
// the socket's life (a second up, SIGTERM, a stale socket left by SIGKILL), and the `vdpa`
// client's failures. Every daemon started here is stopped or killed, and its files removed.

import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { vdpasimMain } from '../../bin/commands/index.js';
import { packageRoot } from '../../lib/package_root.js';
import { FRAME_HELLO, FrameReader, encodeJson } from '../../sim/daemon/index.js';
import { captureIo } from '../helpers/capture_io.js';
import { vdpaToolCases } from '../helpers/vdpa_tool_transcript.js';

const binJs = (name: string): string => join(packageRoot(), 'dist', 'bin', `${name}.js`);
const built = existsSync(binJs('vdpa')) && existsSync(binJs('vdpasim'));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let dir: string;
let path: string;
/** Daemon pids seen in any output: killed after each test if still alive. */
const pids = new Set<number>();

function remember(text: string): void {
  for (const m of text.matchAll(/\(?pid (\d+)[,)]/g)) pids.add(Number(m[1]));
}

function exec(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: 30_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      remember(stdout + stderr);
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

/** A built command (vdpa or vdpasim) with $VDPASIM_SOCKET set to this test's socket. */
const run = (name: string, args: string[]): Promise<Run> => exec(process.execPath, [binJs(name), ...args], { ...process.env, VDPASIM_SOCKET: path });

/**
 * A fresh bash (no profile, no rc) whose PATH starts with `vdpa` and `vdpasim` wrappers around the
 * built binaries, as `npm install -g` would provide, and nothing else in its environment but
 * $VDPASIM_SOCKET.
 */
function shell(script: string): Promise<Run> {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  for (const name of ['vdpa', 'vdpasim']) {
    writeFileSync(join(bin, name), `#!/bin/sh\nexec '${process.execPath}' '${binJs(name)}' "$@"\n`);
    chmodSync(join(bin, name), 0o755);
  }
  return exec('bash', ['--noprofile', '--norc', '-c', script], { PATH: `${bin}:/usr/bin:/bin`, VDPASIM_SOCKET: path });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie is gone for every purpose here; its parent (init) reaps it in its own time.
  return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 250 && alive(pid); i++) await new Promise((r) => setTimeout(r, 20));
  return !alive(pid);
}

const pidOf = (r: Run): number => Number(/pid (\d+)/.exec(r.stdout + r.stderr)?.[1]);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vdpasim-proc-'));
  path = join(dir, 'sock');
});

afterEach(async () => {
  if (existsSync(path)) await run('vdpasim', ['down']);
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  pids.clear();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!built)('vdpasim up and vdpa as processes (needs the build in dist/)', () => {
  it('acceptance: vdpasim up; vdpa dev add; vdpa -jp dev config show; vdpasim dump; vdpasim down, from a fresh shell', async () => {
    const r = await shell(
      [
        'set -e',
        'vdpasim up',
        'vdpa dev add name vdpa0 mgmtdev vdpasim_net mac 00:11:22:33:44:55',
        'vdpa -jp dev config show vdpa0',
        'vdpasim dump vdpa0',
        'vdpasim down',
      ].join('\n'),
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const pid = pidOf(r);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe(`vdpasim: simulated host (profile upstream, pid ${pid}) listening on ${path}`);
    expect(lines.slice(1, 12).join('\n')).toBe(
      [
        '{',
        '    "config": {',
        '        "vdpa0": {',
        '            "mac": "00:11:22:33:44:55",',
        '            "link ": "up",',
        '            "link_announce ": false,',
        '            "mtu": 1500',
        '        }',
        '    }',
        '}',
        'vdpa0: type net mgmtdev vdpasim_net driver vhost_vdpa /dev/vhost-vdpa-0 closed',
      ].join('\n'),
    );
    expect(lines).toContain('  device_features 0x308830028 MTU MAC STATUS CTRL_VQ CTRL_MAC_ADDR ANY_LAYOUT VERSION_1 ACCESS_PLATFORM');
    expect(lines.at(-2)).toBe(`vdpasim: stopped the simulated host at ${path} (pid ${pid})`);
    expect(await gone(pid)).toBe(true);
    expect(existsSync(path)).toBe(false);
  });

  it('section A.1 of vdpa-tool.txt, byte for byte, through `vdpasim up --profile linux-6.1` and the vdpa command', async () => {
    const cases = vdpaToolCases('A.1');
    expect(cases.length).toBeGreaterThanOrEqual(18);
    // The transcript's kernel had vdpa_sim_net loaded and nothing else that registers a mgmtdev.
    const up = await run('vdpasim', ['up', '--profile', 'linux-6.1', '--modules', 'vdpa_sim_net']);
    expect(up.code).toBe(0);
    const quote = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;
    const r = await shell(cases.map((c) => `printf '%s\\n' ${quote(`$ ${c.cmd}`)}; ${c.cmd} 2>&1; echo "[exit $?]"`).join('\n'));
    expect(r.stdout).toBe(cases.map((c) => `$ ${c.cmd}\n${c.output}[exit ${c.exit}]\n`).join(''));
    expect((await run('vdpasim', ['down'])).code).toBe(0);
  });

  it('socket life: a second up says one is running; SIGTERM cleans up; a stale socket (SIGKILL) means no daemon, then is replaced', async () => {
    const first = await run('vdpasim', ['up']);
    expect(first.code).toBe(0);
    const pid = pidOf(first);
    const second = await run('vdpasim', ['up']);
    expect(second).toEqual({ code: 1, stdout: '', stderr: `vdpasim: a simulated host (pid ${pid}, profile upstream) is already running at ${path}\n` });
    process.kill(pid, 'SIGTERM');
    expect(await gone(pid)).toBe(true);
    expect(existsSync(path)).toBe(false);

    const third = await run('vdpasim', ['up']);
    expect(third.code).toBe(0);
    process.kill(pidOf(third), 'SIGKILL');
    expect(await gone(pidOf(third))).toBe(true);
    expect(existsSync(path)).toBe(true);
    expect(await run('vdpa', ['dev', 'show'])).toEqual({ code: 1, stdout: '', stderr: `vdpa: no simulated host at ${path}: start one with 'vdpasim up'\n` });
    // What needs no kernel works without one, as iproute2's does.
    expect(await run('vdpa', ['-V'])).toEqual({ code: 0, stdout: 'vdpa utility, iproute2-6.1.0\n', stderr: '' });

    // The next daemon (here in this process) replaces the stale file.
    const io = captureIo();
    const serving = vdpasimMain(['up', '--foreground', '--socket', path], io);
    const down = captureIo();
    for (let i = 0; i < 200 && !io.stdout; i++) await new Promise((r) => setTimeout(r, 10));
    expect(io.stdout).toBe(`vdpasim: simulated host (profile upstream, pid ${process.pid}) listening on ${path}\n`);
    expect(await vdpasimMain(['down', '--socket', path], down)).toBe(0);
    expect(await serving).toBe(0);
    expect(existsSync(path)).toBe(false);
  });

  describe('vdpa client failures', () => {
    let fake: Server | undefined;
    afterEach(() => fake?.close());

    it('a daemon that dies mid-request: one line, exit 1, no hang', async () => {
      fake = createServer((s) => {
        const reader = new FrameReader();
        s.on('data', (c: Buffer) => {
          for (const f of reader.push(c)) {
            if (f.kind === FRAME_HELLO) s.write(encodeJson(FRAME_HELLO, { profile: 'linux-6.1', pid: 1, version: '0', modules: [] }));
            else s.destroy();
          }
        });
      });
      await new Promise<void>((r) => fake?.listen(path, r));
      const t0 = performance.now();
      expect(await run('vdpa', ['dev', 'show'])).toEqual({ code: 1, stdout: '', stderr: `vdpa: the simulated host at ${path} closed the connection\n` });
      expect(performance.now() - t0).toBeLessThan(5000);
    });

    it('a socket path no socket can have: one line, exit 1', async () => {
      const long = join(dir, 'x'.repeat(120));
      const r = await exec(process.execPath, [binJs('vdpa'), 'dev', 'show'], { ...process.env, VDPASIM_SOCKET: long });
      expect(r).toEqual({ code: 1, stdout: '', stderr: `vdpa: socket path too long (${Buffer.byteLength(long)} bytes, at most 107): ${long}\n` });
    });
  });
});
