// A client of the vdpasim daemon over its unix socket (protocol.ts), on the Node event loop:
// what `vdpasim dump`, `vdpasim down` and `vdpasim up` use, and what the blocking client of
// the `vdpa` command runs in its worker thread. One request at a time, each answered or failed
// within a bound: a daemon that dies or goes silent gives an error, never a hang.
// Not a kernel file.

import { type Socket, connect } from 'node:net';
import type { DeviceDump } from './dump.js';
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
  decodeDatagrams,
  decodeJson,
  decodeText,
  encodeFrame,
  encodeJson,
  socketPathProblem,
} from './protocol.js';

/** A request to the daemon failed: the message is one line for the user. */
export class DaemonError extends Error {
  override readonly name: string = 'DaemonError';
}

/** Nothing listens at the socket path (no file, or a stale one). */
export class NoDaemonError extends DaemonError {
  override readonly name = 'NoDaemonError';
  constructor(readonly path: string) {
    super(`no simulated host at ${path}`);
  }
}

/** The daemon answers at once unless it is wedged; this bounds every wait for it. */
export const REQUEST_TIMEOUT_MS = 10_000;

interface Pending {
  expect: number;
  resolve(f: Frame): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

export class DaemonClient {
  private readonly reader = new FrameReader();
  private pending: Pending | undefined;
  private failure: DaemonError | undefined;
  /** Settles when the connection is gone. */
  readonly closed: Promise<void>;
  private info_: DaemonInfo | undefined;

  private constructor(
    private readonly sock: Socket,
    readonly path: string,
  ) {
    sock.on('data', (chunk: Buffer) => this.onData(chunk));
    sock.on('error', (e) => this.fail(new DaemonError(`lost the simulated host at ${path}: ${e.message}`)));
    this.closed = new Promise((resolve) => {
      sock.on('close', () => {
        this.fail(new DaemonError(`the simulated host at ${path} closed the connection`));
        resolve();
      });
    });
  }

  /**
   * Connects and says HELLO as this process (its uid, and `comm` as its name on the simulated
   * host); NoDaemonError when nothing listens at `path`.
   */
  static async connect(path: string, comm: string): Promise<DaemonClient> {
    const hello: Hello = { uid: process.getuid?.() ?? 0, comm };
    const problem = socketPathProblem(path);
    if (problem) throw new DaemonError(problem);
    const sock = await new Promise<Socket>((resolve, reject) => {
      const s = connect(path);
      const onError = (e: NodeJS.ErrnoException): void => {
        reject(e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? new NoDaemonError(path) : new DaemonError(`cannot reach the simulated host at ${path}: ${e.message}`));
      };
      s.once('error', onError);
      s.once('connect', () => {
        s.off('error', onError);
        resolve(s);
      });
    });
    const client = new DaemonClient(sock, path);
    try {
      client.info_ = decodeJson<DaemonInfo>((await client.request(encodeJson(FRAME_HELLO, hello), FRAME_HELLO)).payload);
    } catch (e) {
      client.close();
      throw e;
    }
    return client;
  }

  /** What the daemon said about itself. */
  get info(): DaemonInfo {
    return this.info_ as DaemonInfo;
  }

  /** Sends one generic-netlink request datagram; the reply datagrams. */
  async genl(request: Uint8Array): Promise<Uint8Array[]> {
    return decodeDatagrams((await this.request(encodeFrame(FRAME_GENL, request), FRAME_GENL)).payload);
  }

  /** The introspection of one device or of all, keyed by device name. */
  async dump(dev?: string): Promise<Record<string, DeviceDump>> {
    const req: DumpRequest = dev === undefined ? {} : { dev };
    return decodeJson((await this.request(encodeJson(FRAME_DUMP, req), FRAME_DUMP)).payload);
  }

  /** Asks the daemon to stop; resolves once it has answered and closed the connection. */
  async down(): Promise<void> {
    await this.request(encodeFrame(FRAME_DOWN), FRAME_DOWN);
    await this.closed;
  }

  /** Sends an encoded frame and waits for the answer of kind `expect`. */
  request(frame: Uint8Array, expect: number): Promise<Frame> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.pending) return Promise.reject(new Error('daemon client: one request at a time'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(new DaemonError(`no answer from the simulated host at ${this.path} within ${REQUEST_TIMEOUT_MS / 1000} s`));
        this.sock.destroy();
      }, REQUEST_TIMEOUT_MS);
      this.pending = { expect, resolve, reject, timer };
      this.sock.write(frame);
    });
  }

  close(): void {
    this.sock.destroy();
  }

  private onData(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.reader.push(chunk);
    } catch (e) {
      this.fail(new DaemonError(`the simulated host at ${this.path} sent garbage: ${(e as Error).message}`));
      this.sock.destroy();
      return;
    }
    for (const f of frames) {
      const p = this.pending;
      if (!p) continue;
      this.pending = undefined;
      clearTimeout(p.timer);
      if (f.kind === FRAME_ERROR) p.reject(new DaemonError(decodeText(f.payload)));
      else if (f.kind !== p.expect) p.reject(new DaemonError(`the simulated host at ${this.path} answered frame kind ${f.kind} to ${p.expect}`));
      else p.resolve(f);
    }
  }

  /** The connection is unusable: the waiting request (if any) fails with `e`. */
  private fail(e: DaemonError): void {
    this.failure ??= e;
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    clearTimeout(p.timer);
    p.reject(this.failure);
  }
}

/** The daemon listening at `path`, or undefined when none does (nothing there or a stale file). */
export async function probeDaemon(path: string, comm: string): Promise<DaemonInfo | undefined> {
  try {
    const c = await DaemonClient.connect(path, comm);
    c.close();
    return c.info;
  } catch (e) {
    if (e instanceof NoDaemonError) return undefined;
    throw e;
  }
}
