// strace for a vhost-vdpa user: wraps a UserSpace and logs every ioctl and IOTLB write on
// /dev/vhost-vdpa-N in a compact, stable form, e.g. `VHOST_VDPA_SET_STATUS 0x3 = 0`,
// `VHOST_VDPA_GET_VRING_GROUP {2} = 0 -> 1`, `IOTLB UPDATE asid 1 iova 0x1000 size 0x1000 RO = 72`.

import type { UserFile, UserSpace } from '../../lib/vhost_vdpa/index.js';
import { vhostIoctls, vhostMsgV2 } from '../../uapi/index.js';

const NAMES = new Map<number, string>(Object.values(vhostIoctls).map((d) => [d.request >>> 0, d.name]));
const IOTLB_TYPES: Record<number, string> = { 2: 'UPDATE', 3: 'INVALIDATE', 5: 'BATCH_BEGIN', 6: 'BATCH_END' };
const PERMS: Record<number, string> = { 1: 'RO', 2: 'WO', 3: 'RW' };

/**
 * The argument as strace shows it: what a SET passes (before), what a GET returns (after);
 * vring states as {index, num}, vring files as {index, fd}, scalars in hex.
 */
function argText(name: string, arg: Uint8Array | number | bigint | null, after: boolean): string {
  const isGet = /(^|_)GET_/.test(name);
  if (!(arg instanceof Uint8Array)) return after || arg === null || arg === 0 ? '' : ` ${String(arg)}`;
  const v = new DataView(arg.buffer, arg.byteOffset, arg.byteLength);
  if (arg.length === 8 && /VRING_(NUM|BASE|ENABLE|GROUP|DESC_GROUP|SIZE)|GROUP_ASID/.test(name)) {
    const index = v.getUint32(0, true);
    if (after) return isGet ? ` -> ${v.getUint32(4, true)}` : '';
    return isGet ? ` {${index}}` : ` {${index}, ${v.getUint32(4, true)}}`;
  }
  if (/CONFIG_CALL/.test(name)) return after ? '' : ' fd';
  if (arg.length === 8 && /VRING_(KICK|CALL|ERR)/.test(name)) return after ? '' : ` {${v.getUint32(0, true)}, fd}`;
  if (isGet !== after) return '';
  const scalar = arg.length === 1 ? v.getUint8(0) : arg.length === 4 ? v.getUint32(0, true) : arg.length === 8 ? v.getBigUint64(0, true) : undefined;
  if (scalar === undefined) return '';
  return `${after ? ' -> ' : ' '}0x${scalar.toString(16)}`;
}

function iotlbText(bytes: Uint8Array): string {
  if (bytes.length !== vhostMsgV2.size) return `write ${bytes.length} bytes`;
  const m = vhostMsgV2.decode(bytes);
  const t = IOTLB_TYPES[m.iotlb.type] ?? `type ${m.iotlb.type}`;
  if (m.iotlb.type === 5 || m.iotlb.type === 6) return `IOTLB ${t}`;
  const perm = m.iotlb.type === 2 ? ` ${PERMS[m.iotlb.perm] ?? m.iotlb.perm}` : '';
  return `IOTLB ${t} asid ${m.asid} iova 0x${m.iotlb.iova.toString(16)} size 0x${m.iotlb.size.toString(16)}${perm}`;
}

export interface Strace {
  us: UserSpace;
  log: string[];
  /** Only the lines naming `what` (an ioctl name or "IOTLB"). */
  grep(what: string | RegExp): string[];
}

/** A fault to inject: the result an ioctl (by name) should return instead of running, or undefined. */
export type Inject = (name: string, arg: Uint8Array | number | bigint | null) => number | undefined;

/** Wraps `us`; only files opened from /dev/vhost-vdpa-* are traced (and have faults injected). */
export function strace(us: UserSpace, inject?: Inject): Strace {
  const log: string[] = [];
  const wrap = (f: UserFile): UserFile => ({
    fd: f.fd,
    ioctl(request, arg) {
      const name = NAMES.get(request >>> 0) ?? `ioctl 0x${(request >>> 0).toString(16)}`;
      const before = argText(name, arg, false);
      const r = inject?.(name, arg) ?? f.ioctl(request, arg);
      log.push(`${name}${before} = ${r}${r >= 0 ? argText(name, arg, true) : ''}`);
      return r;
    },
    write(bytes) {
      const r = f.write(bytes);
      log.push(`${iotlbText(bytes)} = ${r}`);
      return r;
    },
    read: (len) => f.read(len),
    close: () => f.close(),
  });
  const traced: UserSpace = {
    description: us.description,
    open(path, flags) {
      const f = us.open(path, flags);
      if (typeof f === 'number' || !path.startsWith('/dev/vhost-vdpa-')) return f;
      log.push(`open ${path} = ${f.fd}`);
      return wrap(f);
    },
    mmap: (len, opts) => us.mmap(len, opts),
    munmap: (m) => us.munmap(m),
    eventfd: (initval, flags) => us.eventfd(initval, flags),
    settle: () => us.settle(),
    exit: () => us.exit(),
  };
  return {
    us: traced,
    log,
    grep: (what) => log.filter((l) => (typeof what === 'string' ? l.includes(what) : what.test(l))),
  };
}
