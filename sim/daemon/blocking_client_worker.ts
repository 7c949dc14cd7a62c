// The worker thread behind BlockingDaemonClient (blocking_client.ts): it owns the daemon
// connection on its own event loop, runs each request the blocked main thread posts, posts the
// outcome back and wakes the main thread through the shared flag. Not a kernel file.

import { type MessagePort, workerData } from 'node:worker_threads';
import { DaemonClient, NoDaemonError } from './client.js';
import type { Reply, Request, WorkerData } from './blocking_client.js';

const { path, comm, flag, port } = workerData as WorkerData;

function post(reply: Reply): void {
  port.postMessage(reply);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
}

const failure = (e: unknown): Reply => ({ ok: false, message: (e as Error).message, noDaemon: e instanceof NoDaemonError });

async function serve(p: MessagePort): Promise<void> {
  let client: DaemonClient;
  try {
    client = await DaemonClient.connect(path, comm);
  } catch (e) {
    post(failure(e));
    return;
  }
  post({ ok: true, info: client.info });
  p.on('message', (req: Request) => {
    client.genl(req.genl).then(
      (datagrams) => post({ ok: true, datagrams }),
      (e: unknown) => post(failure(e)),
    );
  });
}

void serve(port);
