// A blocking client of the vdpasim daemon, for the `vdpa` command. Not a kernel file.
//
// iproute2's vdpa is synchronous: mnlu_gen_socket_sndrcv() sends and blocks in recv(), and the
// modelled tool keeps that shape (its GenlTransport returns the replies), which is also what
// lets the transcript replayer and runShell call it in-process with no event loop involved.
// Node has no blocking sockets, so rather than make the tool asynchronous end to end, this
// client blocks the way the C one does: a worker thread owns the connection (an ordinary
// DaemonClient on the worker's event loop), the main thread posts a request and sleeps in
// Atomics.wait() until the worker raises a shared flag, then takes the reply with
// receiveMessageOnPort(). The tool code is therefore literally the same function in every
// setting (vdpaMain), only its transport differs. Every wait is bounded (DaemonClient's
// request timeout, plus a margin here in case the worker itself dies).
// It must not be used on a thread whose event loop serves the daemon (it would wait for itself).

import { MessageChannel, type MessagePort, Worker, receiveMessageOnPort } from 'node:worker_threads';
import { DaemonError, NoDaemonError, REQUEST_TIMEOUT_MS } from './client.js';
import type { DaemonInfo } from './protocol.js';

/** What the worker is started with. */
export interface WorkerData {
  path: string;
  comm: string;
  /** Int32Array over a SharedArrayBuffer: the worker sets [0] to 1 when a reply is posted. */
  flag: Int32Array;
  port: MessagePort;
}

export interface Request {
  genl: Uint8Array;
}

export type Reply =
  | { ok: true; info: DaemonInfo }
  | { ok: true; datagrams: Uint8Array[] }
  | { ok: false; message: string; noDaemon: boolean };

/** Beyond the worker's own bound: the worker thread starting, or dying without an answer. */
const MARGIN_MS = 5_000;

export class BlockingDaemonClient {
  private constructor(
    private readonly worker: Worker,
    private readonly port: MessagePort,
    private readonly flag: Int32Array,
    readonly path: string,
    readonly info: DaemonInfo,
  ) {}

  /** Connects and says HELLO; NoDaemonError when nothing listens at `path`, DaemonError otherwise. */
  static connect(path: string, comm: string): BlockingDaemonClient {
    const flag = new Int32Array(new SharedArrayBuffer(4));
    const { port1, port2 } = new MessageChannel();
    const data: WorkerData = { path, comm, flag, port: port2 };
    const worker = new Worker(new URL('./blocking_client_worker.js', import.meta.url), { workerData: data, transferList: [port2] });
    const reply = BlockingDaemonClient.wait(worker, port1, flag, path);
    if (!('info' in reply)) throw new Error('blocking daemon client: expected the HELLO answer');
    return new BlockingDaemonClient(worker, port1, flag, path, reply.info);
  }

  /** A GenlTransport: one request datagram in, the reply datagrams out. */
  genl(request: Uint8Array): Uint8Array[] {
    const req: Request = { genl: request };
    this.port.postMessage(req);
    const reply = BlockingDaemonClient.wait(this.worker, this.port, this.flag, this.path);
    if (!('datagrams' in reply)) throw new Error('blocking daemon client: expected a GENL answer');
    return reply.datagrams;
  }

  close(): void {
    this.port.close();
    void this.worker.terminate();
  }

  /** Sleeps until the worker posts a reply; throws the failure it reports. */
  private static wait(worker: Worker, port: MessagePort, flag: Int32Array, path: string): Extract<Reply, { ok: true }> {
    const outcome = Atomics.wait(flag, 0, 0, REQUEST_TIMEOUT_MS + MARGIN_MS);
    Atomics.store(flag, 0, 0);
    const msg = receiveMessageOnPort(port)?.message as Reply | undefined;
    if (outcome === 'timed-out' || !msg) {
      void worker.terminate();
      throw new DaemonError(`no answer from the simulated host at ${path}`);
    }
    if (!msg.ok) {
      void worker.terminate();
      throw msg.noDaemon ? new NoDaemonError(path) : new DaemonError(msg.message);
    }
    return msg;
  }
}
