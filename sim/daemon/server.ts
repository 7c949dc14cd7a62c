// The vdpasim daemon: one simulated host, live (device work runs on the Node event loop), that
// stays up between commands and serves the protocol of protocol.ts on a unix socket.
// Not a kernel file.
//
// Each connection is a process on the simulated host, spawned at HELLO and exited when the
// connection closes; its generic-netlink requests reach the host's genl with that process's
// port id and credentials, as a NETLINK_GENERIC socket's would. Credentials: the client states
// its uid (Node has no SO_PEERCRED) and only the socket's owner and root can connect (the socket
// is made under umask 077, in a directory made 0700), so the uid is information, not a proof. The daemon's owner is root on
// the simulated host, as a user is in a user namespace it created: it holds CAP_NET_ADMIN
// there (`vdpa dev add` works without sudo); any other uid a client states keeps its number
// and has no capabilities.

import { existsSync, lstatSync, mkdirSync, rmSync } from 'node:fs';
import { type Server, type Socket, createServer } from 'node:net';
import { dirname } from 'node:path';
import type { ModuleName } from '../../drivers/profile.js';
import { packageVersion } from '../../lib/package_root.js';
import type { UapiProfile } from '../../uapi/index.js';
import { Host, type Process } from '../host/index.js';
import { hostGenlTransport } from '../tools/vdpa/index.js';
import { DaemonError, probeDaemon } from './client.js';
import { dumpHost } from './dump.js';
import {
  type DaemonInfo,
  type DumpRequest,
  FRAME_DOWN,
  FRAME_DUMP,
  FRAME_ERROR,
  FRAME_GENL,
  FRAME_HELLO,
  type Frame,
  FrameReader,
  type Hello,
  decodeJson,
  encodeDatagrams,
  encodeFrame,
  encodeJson,
  encodeText,
  socketPathProblem,
} from './protocol.js';

export interface DaemonOptions {
  /** Absolute path of the socket. */
  socket: string;
  profile: UapiProfile;
  modules: readonly ModuleName[];
}

export class VdpasimDaemon {
  readonly host: Host;
  readonly info: DaemonInfo;
  /** Settles when the daemon has stopped (socket removed, connections closed). */
  readonly stopped: Promise<void>;
  private readonly conns = new Set<Socket>();
  private readonly ownerUid = process.getuid?.() ?? 0;
  private server: Server | undefined;
  private stopping = false;
  private resolveStopped!: () => void;

  private constructor(readonly opts: DaemonOptions) {
    this.host = Host.boot({ profile: opts.profile, modules: opts.modules, live: true });
    this.info = { profile: opts.profile, pid: process.pid, version: packageVersion(), modules: this.host.modules() };
    this.stopped = new Promise((resolve) => {
      this.resolveStopped = resolve;
    });
  }

  /**
   * Boots the host and listens. DaemonError when a daemon already answers at the socket or the
   * socket cannot be made; a stale socket file (nothing listening) is replaced.
   */
  static async start(opts: DaemonOptions): Promise<VdpasimDaemon> {
    const path = opts.socket;
    const problem = socketPathProblem(path);
    if (problem) throw new DaemonError(problem);
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new DaemonError(`cannot create ${dirname(path)}: ${(e as Error).message}`);
    }
    if (existsSync(path)) {
      if (!lstatSync(path).isSocket()) throw new DaemonError(`${path} exists and is not a socket`);
      const running = await probeDaemon(path, 'vdpasim');
      if (running) throw new DaemonError(`a simulated host (pid ${running.pid}, profile ${running.profile}) is already running at ${path}`);
      rmSync(path, { force: true });
    }
    const d = new VdpasimDaemon(opts);
    await d.listen();
    return d;
  }

  private listen(): Promise<void> {
    const server = createServer((conn) => this.serve(conn));
    return new Promise((resolve, reject) => {
      server.once('error', (e) => reject(new DaemonError(`cannot listen on ${this.opts.socket}: ${e.message}`)));
      // bind() inside listen() creates the socket file: owner-only from the start.
      const umask = process.umask(0o077);
      try {
        server.listen(this.opts.socket, () => {
          this.server = server;
          resolve();
        });
      } finally {
        process.umask(umask);
      }
    });
  }

  /** Removes the socket, ends every connection (answers written first); idempotent. */
  stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      rmSync(this.opts.socket, { force: true });
      for (const c of this.conns) c.end();
      // A client that does not close its side in time is cut off.
      setTimeout(() => {
        for (const c of this.conns) c.destroy();
      }, 1000).unref();
      if (this.server) this.server.close(() => this.resolveStopped());
      else this.resolveStopped();
    }
    return this.stopped;
  }

  private serve(conn: Socket): void {
    this.conns.add(conn);
    const reader = new FrameReader();
    let proc: Process | undefined;
    const refuse = (why: string): void => {
      conn.end(encodeText(FRAME_ERROR, why));
    };
    conn.on('data', (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = reader.push(chunk);
      } catch {
        conn.destroy();
        return;
      }
      for (const f of frames) {
        if (!conn.writable) return;
        if (proc) {
          conn.write(this.answer(f, proc));
          if (f.kind === FRAME_DOWN) void this.stop();
        } else if (f.kind !== FRAME_HELLO) {
          refuse('HELLO first');
        } else {
          const hello = parseHello(f.payload);
          if (!hello) return refuse('bad HELLO');
          proc = this.spawn(hello);
          conn.write(encodeJson(FRAME_HELLO, this.info));
        }
      }
    });
    conn.on('error', () => conn.destroy());
    conn.on('close', () => {
      this.conns.delete(conn);
      proc?.exit();
    });
  }

  /** The connection's process on the simulated host (see the header for the uid mapping). */
  private spawn(hello: Hello): Process {
    const root = hello.uid === 0 || hello.uid === this.ownerUid;
    return this.host.spawn({ comm: hello.comm.slice(0, 15), uid: root ? 0 : hello.uid });
  }

  private answer(f: Frame, proc: Process): Uint8Array {
    try {
      switch (f.kind) {
        case FRAME_GENL:
          return encodeFrame(FRAME_GENL, encodeDatagrams(hostGenlTransport(this.host, proc)(f.payload)));
        case FRAME_DUMP: {
          const { dev } = decodeJson<DumpRequest>(f.payload);
          const dump = dumpHost(this.host, dev);
          return dump ? encodeJson(FRAME_DUMP, dump) : encodeText(FRAME_ERROR, `no vdpa device '${dev}' on the simulated host`);
        }
        case FRAME_DOWN:
          return encodeFrame(FRAME_DOWN);
        default:
          return encodeText(FRAME_ERROR, `unknown request kind ${f.kind}`);
      }
    } catch (e) {
      // A malformed request must not take the host down with it.
      return encodeText(FRAME_ERROR, `request failed: ${(e as Error).message}`);
    }
  }
}

function parseHello(payload: Uint8Array): Hello | undefined {
  try {
    const h = decodeJson<Partial<Hello>>(payload);
    if (Number.isInteger(h.uid) && (h.uid as number) >= 0 && (h.uid as number) <= 0xffff_ffff && typeof h.comm === 'string') return h as Hello;
  } catch {
    // Not JSON: refused below.
  }
  return undefined;
}
