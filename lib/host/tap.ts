// A real tap interface, opened as tools/virtio/vhost_net_test.c does: IFF_TAP | IFF_NO_PI |
// IFF_VNET_HDR, TUNSETVNETHDRSZ (12: struct virtio_net_hdr_v1), TUNSETOFFLOAD, non-blocking,
// optionally created inside a named network namespace. Frames are read and written with their
// virtio-net header in front. Not a kernel file.

import { IFF_PERSIST, IFNAMSIZ, EACCES, EBUSY, EINVAL, ENOENT, EPERM, TUNGETIFF, ifreq, strerror } from '../../uapi/index.js';
import { HostError } from './host_error.js';
import { native } from './native.js';
import { withNetns } from './netns.js';
import { type FdWatch, watchFd } from './poll.js';

export interface TapOptions {
  /** Interface name; '' lets the kernel pick tapN. At most IFNAMSIZ - 1 bytes. */
  name?: string;
  /** Create the interface inside this network namespace (`ip netns` name). */
  netns?: string;
  /** vnet header size for TUNSETVNETHDRSZ; 0 leaves the kernel default (10). Default 12. */
  vnetHdrSize?: number;
  /** TUNSETOFFLOAD bits (TUN_F_*); -1 skips the ioctl. Default 0 (no offloads). */
  offload?: number;
}

function explain(op: string, err: number, name: string): string {
  const why = `${strerror(err)}`;
  if (op === 'IFNAMSIZ') return `tap name '${name}' is ${Buffer.byteLength(name)} bytes; at most ${IFNAMSIZ - 1} fit (IFNAMSIZ ${IFNAMSIZ})`;
  if (op.startsWith('open') && err === ENOENT) return '/dev/net/tun is missing: load the tun module (modprobe tun)';
  if (op.startsWith('open') && (err === EACCES || err === EPERM)) return `cannot open /dev/net/tun: ${why} (creating a tap needs root or CAP_NET_ADMIN)`;
  if (op === 'TUNSETIFF' && err === EPERM) return `creating tap ${name || '(auto)'} needs root or CAP_NET_ADMIN`;
  if (op === 'TUNSETIFF' && err === EBUSY) return `tap ${name}: the interface name is in use`;
  if (op === 'TUNSETIFF' && err === EINVAL) return `tap ${name}: TUNSETIFF refused (${why}); the name may belong to an interface that is not a tap`;
  return `tap ${name || '(auto)'}: ${op} failed: ${why}`;
}

export class Tap {
  private closed = false;
  private watch: FdWatch | undefined;

  private constructor(
    readonly fd: number,
    readonly name: string,
    readonly vnetHdrSize: number,
    readonly netns: string | undefined,
  ) {}

  /** Creates (or attaches to) a tap; throws HostError naming the cause on failure. */
  static open(opts: TapOptions = {}): Tap {
    const n = native();
    const name = opts.name ?? '';
    const hdr = opts.vnetHdrSize ?? 12;
    const flags = n.IFF_TAP | n.IFF_NO_PI | n.IFF_VNET_HDR;
    const create = () => n.tapOpen(name, flags, hdr, opts.offload ?? 0);
    const r = opts.netns === undefined ? create() : withNetns(opts.netns, create);
    if ('errno' in r) throw new HostError(r.op, r.errno, explain(r.op, r.errno, name));
    return new Tap(r.fd, r.name, hdr > 0 ? hdr : 10, opts.netns);
  }

  /** Reads one frame (vnet header first) into `buf`: its length, or -errno (-EAGAIN if none). */
  read(buf: Uint8Array): number {
    return native().read(this.fd, buf);
  }

  /**
   * Reads every ready frame (vnet header first) in one call, back to back into `buf` (each at a
   * multiple of 64 bytes), while fewer than `max` were read and `room` bytes remain; spans[2i] and
   * spans[2i + 1] get frame i's offset and length. The number read, or -errno (-EAGAIN if none).
   * `room` must hold the largest frame the tap can give: tun cuts a frame that does not fit.
   */
  readFrames(buf: Uint8Array, spans: Int32Array, max: number, room: number): number {
    return native().tapReadFrames(this.fd, buf, spans, max, room);
  }

  /** Writes one frame (vnet header first): bytes written, or -errno. */
  write(buf: Uint8Array, length = buf.length): number {
    return native().write(this.fd, buf, 0, length);
  }

  /**
   * Whether the interface outlives this fd (IFF_PERSIST, set by `ip tuntap add`): closing then
   * leaves it in place. Asked with TUNGETIFF, which fills a struct ifreq.
   */
  get persistent(): boolean {
    const req = new Uint8Array(ifreq.size);
    const r = native().ioctl(this.fd, TUNGETIFF, req);
    if (r < 0) throw new HostError('TUNGETIFF', r, `tap ${this.name}: TUNGETIFF failed: ${strerror(-r)}`);
    const flags = new DataView(req.buffer).getUint16(ifreq.offsetOf('ifr_ifru'), true);
    return (flags & IFF_PERSIST) !== 0;
  }

  /** Calls `cb` each time frames are waiting; one watch per tap (a new call replaces it). */
  onReadable(cb: () => void): FdWatch {
    this.watch?.stop();
    const w = watchFd(this.fd, { readable: true }, () => cb());
    this.watch = w;
    return w;
  }

  /** Stops watching and closes the fd (the interface goes away unless persistent). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.watch?.stop();
    native().close(this.fd);
  }
}
