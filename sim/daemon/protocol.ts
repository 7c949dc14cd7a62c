// The socket protocol between the vdpasim daemon (`vdpasim up`) and its clients (`vdpa`,
// `vdpasim dump`, `vdpasim down`). Not a kernel file.
//
// A unix stream socket carries frames: a u32 little-endian length (of what follows), a kind
// byte, then the payload. The client speaks first and waits for one answer per request:
//   HELLO  {uid, comm} as JSON; answered by HELLO with the daemon's {profile, pid, version,
//          modules}. Every connection opens with it: it is where the client's credentials come
//          from (Node has no SO_PEERCRED, so the client states its uid; the socket's file mode,
//          owner-only in an owner-only directory, is the access control, so only its owner
//          and root can state anything).
//   GENL   one generic-netlink request datagram, exactly the bytes lib/netlink builds (what
//          iproute2 would sendmsg() on a NETLINK_GENERIC socket); answered by GENL holding the
//          reply datagrams, each as a u32 length and its bytes.
//   DUMP   {dev?} as JSON; answered by DUMP with the introspection (dump.ts) as JSON.
//   DOWN   empty; answered by DOWN, then the daemon removes its socket and exits.
// A request that fails is answered by ERROR with a one-line message. Any malformed frame ends
// the connection.

import { join, resolve } from 'node:path';
import type { UapiProfile } from '../../uapi/index.js';

export const FRAME_HELLO = 1;
export const FRAME_GENL = 2;
export const FRAME_DUMP = 3;
export const FRAME_DOWN = 4;
export const FRAME_ERROR = 0x7f;

/** Largest frame either side accepts: far above any reply (a dump of many devices is kilobytes). */
export const MAX_FRAME = 16 << 20;

export interface Frame {
  kind: number;
  payload: Uint8Array;
}

/** What a client says about itself when it connects. */
export interface Hello {
  uid: number;
  comm: string;
}

/** What the daemon answers to HELLO. */
export interface DaemonInfo {
  profile: UapiProfile;
  /** The daemon's process id on the real machine. */
  pid: number;
  version: string;
  modules: string[];
}

export interface DumpRequest {
  dev?: string;
}

/** A frame the peer should not have sent. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
}

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

export function encodeFrame(kind: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(5 + payload.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, 1 + payload.length, true);
  v.setUint8(4, kind);
  out.set(payload, 5);
  return out;
}

export const encodeJson = (kind: number, value: unknown): Uint8Array => encodeFrame(kind, utf8.encode(JSON.stringify(value)));

export const decodeJson = <T>(payload: Uint8Array): T => JSON.parse(utf8d.decode(payload)) as T;

export const encodeText = (kind: number, text: string): Uint8Array => encodeFrame(kind, utf8.encode(text));

export const decodeText = (payload: Uint8Array): string => utf8d.decode(payload);

/** Splits a byte stream into frames. */
export class FrameReader {
  private buf = new Uint8Array(0);

  /** The frames completed by `chunk`; throws ProtocolError on an impossible length. */
  push(chunk: Uint8Array): Frame[] {
    const joined = new Uint8Array(this.buf.length + chunk.length);
    joined.set(this.buf);
    joined.set(chunk, this.buf.length);
    const frames: Frame[] = [];
    let off = 0;
    while (joined.length - off >= 4) {
      const len = new DataView(joined.buffer, off, 4).getUint32(0, true);
      if (len < 1 || len > MAX_FRAME) throw new ProtocolError(`bad frame length ${len}`);
      if (joined.length - off - 4 < len) break;
      frames.push({ kind: joined[off + 4] as number, payload: joined.slice(off + 5, off + 4 + len) });
      off += 4 + len;
    }
    this.buf = joined.slice(off);
    return frames;
  }
}

/** The GENL answer: every reply datagram as a u32 length and its bytes. */
export function encodeDatagrams(datagrams: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(datagrams.reduce((n, d) => n + 4 + d.length, 0));
  const v = new DataView(out.buffer);
  let off = 0;
  for (const d of datagrams) {
    v.setUint32(off, d.length, true);
    out.set(d, off + 4);
    off += 4 + d.length;
  }
  return out;
}

export function decodeDatagrams(payload: Uint8Array): Uint8Array[] {
  const v = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const out: Uint8Array[] = [];
  for (let off = 0; off < payload.length; ) {
    if (payload.length - off < 4) throw new ProtocolError('truncated GENL answer');
    const len = v.getUint32(off, true);
    if (len > payload.length - off - 4) throw new ProtocolError('truncated GENL answer');
    out.push(payload.slice(off + 4, off + 4 + len));
    off += 4 + len;
  }
  return out;
}

/** sizeof(sockaddr_un.sun_path) less its NUL: Node would silently cut a longer path short. */
export const SOCKET_PATH_MAX = 107;

/** Why `path` cannot be a unix socket address, or undefined when it can. */
export function socketPathProblem(path: string): string | undefined {
  const n = Buffer.byteLength(path);
  return n > SOCKET_PATH_MAX ? `socket path too long (${n} bytes, at most ${SOCKET_PATH_MAX}): ${path}` : undefined;
}

/**
 * Where clients look for the daemon: $VDPASIM_SOCKET, else $XDG_RUNTIME_DIR/vdpasim/sock, else
 * /run/vdpasim/sock. `--socket` options take precedence over all three.
 */
export function socketPath(option?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (option) return resolve(option);
  if (env.VDPASIM_SOCKET) return resolve(env.VDPASIM_SOCKET);
  return join(env.XDG_RUNTIME_DIR || '/run', 'vdpasim', 'sock');
}
