// A typed client of /dev/vhost-vdpa-N: one method per ioctl and IOTLB operation, encoding the
// kernel's structs from uapi/, throwing VhostError (errno number and name, the request) when
// the kernel refuses. It runs over any UserSpace, so one test suite drives both the model and
// a real kernel. Not a kernel file (the user side, as QEMU's vhost-vdpa.c is).

import {
  O_RDWR,
  VHOST_GET_BACKEND_FEATURES,
  VHOST_GET_FEATURES,
  VHOST_GET_VRING_BASE,
  VHOST_GET_VRING_BUSYLOOP_TIMEOUT,
  VHOST_IOTLB_BATCH_BEGIN,
  VHOST_IOTLB_BATCH_END,
  VHOST_IOTLB_INVALIDATE,
  VHOST_IOTLB_MSG,
  VHOST_IOTLB_MSG_V2,
  VHOST_IOTLB_UPDATE,
  VHOST_RESET_OWNER,
  VHOST_SET_BACKEND_FEATURES,
  VHOST_SET_FEATURES,
  VHOST_SET_MEM_TABLE,
  VHOST_SET_OWNER,
  VHOST_SET_VRING_ADDR,
  VHOST_SET_VRING_BASE,
  VHOST_SET_VRING_BUSYLOOP_TIMEOUT,
  VHOST_SET_VRING_CALL,
  VHOST_SET_VRING_ERR,
  VHOST_SET_VRING_KICK,
  VHOST_SET_VRING_NUM,
  VHOST_VDPA_GET_AS_NUM,
  VHOST_VDPA_GET_CONFIG,
  VHOST_VDPA_GET_CONFIG_SIZE,
  VHOST_VDPA_GET_DEVICE_ID,
  VHOST_VDPA_GET_GROUP_NUM,
  VHOST_VDPA_GET_IOVA_RANGE,
  VHOST_VDPA_GET_STATUS,
  VHOST_VDPA_GET_VQS_COUNT,
  VHOST_VDPA_GET_VRING_DESC_GROUP,
  VHOST_VDPA_GET_VRING_GROUP,
  VHOST_VDPA_GET_VRING_NUM,
  VHOST_VDPA_GET_VRING_SIZE,
  VHOST_VDPA_RESUME,
  VHOST_VDPA_SET_CONFIG,
  VHOST_VDPA_SET_CONFIG_CALL,
  VHOST_VDPA_SET_GROUP_ASID,
  VHOST_VDPA_SET_STATUS,
  VHOST_VDPA_SET_VRING_ENABLE,
  VHOST_VDPA_SUSPEND,
  dataView,
  errnoName,
  strerror,
  vhostIoctls,
  vhostMsg,
  vhostMsgV2,
  vhostVringAddr,
  vhostVringState,
} from '../../uapi/index.js';
import type { UserFile, UserSpace } from './user_space.js';

const NAMES = new Map<number, string>(Object.values(vhostIoctls).map((d) => [d.request, d.name]));

/** A request the kernel refused. */
export class VhostError extends Error {
  override readonly name = 'VhostError';
  /** Positive errno. */
  readonly errno: number;
  /** The errno's name, e.g. "EINVAL". */
  readonly code: string;

  constructor(
    readonly request: string,
    err: number,
  ) {
    const errno = Math.abs(err);
    super(`${request}: ${errnoName(errno)} (${strerror(errno)})`);
    this.errno = errno;
    this.code = errnoName(errno);
  }
}

export interface IotlbUpdate {
  /** Address space (honoured once VHOST_BACKEND_F_IOTLB_ASID is acked). */
  asid?: number;
  iova: bigint;
  size: bigint;
  uaddr: bigint;
  /** VHOST_ACCESS_RO/WO/RW. */
  perm: number;
}

export interface IotlbInvalidate {
  asid?: number;
  iova: bigint;
  size: bigint;
}

export interface VringAddr {
  desc: bigint;
  avail: bigint;
  used: bigint;
  log?: bigint;
  flags?: number;
}

export interface MemRegion {
  gpa: bigint;
  size: bigint;
  uaddr: bigint;
}

export interface IotlbFraming {
  /** struct vhost_msg (v1) instead of vhost_msg_v2. */
  v1?: boolean;
}

function requestName(req: number): string {
  return NAMES.get(req) ?? `ioctl 0x${(req >>> 0).toString(16)}`;
}

export class VhostVdpa {
  private constructor(
    readonly file: UserFile,
    readonly path: string,
  ) {}

  /** Opens `path` read-write; throws VhostError("open") when the kernel refuses (EBUSY, ENOENT...). */
  static open(us: UserSpace, path: string): VhostVdpa {
    const f = us.open(path, O_RDWR);
    if (typeof f === 'number') throw new VhostError(`open ${path}`, f);
    return new VhostVdpa(f, path);
  }

  get fd(): number {
    return this.file.fd;
  }

  close(): void {
    const r = this.file.close();
    if (r < 0) throw new VhostError('close', r);
  }

  /** ioctl that must succeed; returns the argument buffer after the call. */
  private call(req: number, arg: Uint8Array | number | bigint | null): Uint8Array | null {
    const r = this.file.ioctl(req, arg);
    if (r < 0) throw new VhostError(requestName(req), r);
    return arg instanceof Uint8Array ? arg : null;
  }

  private getU(req: number, size: 1 | 2 | 4 | 8): bigint {
    const buf = this.call(req, new Uint8Array(size)) as Uint8Array;
    const v = dataView(buf);
    switch (size) {
      case 1:
        return BigInt(v.getUint8(0));
      case 2:
        return BigInt(v.getUint16(0, true));
      case 4:
        return BigInt(v.getUint32(0, true));
      default:
        return v.getBigUint64(0, true);
    }
  }

  private setU(req: number, size: 1 | 4 | 8, value: bigint | number): void {
    const buf = new Uint8Array(size);
    const v = dataView(buf);
    if (size === 1) v.setUint8(0, Number(value));
    else if (size === 4) v.setInt32(0, Number(value), true);
    else v.setBigUint64(0, BigInt.asUintN(64, BigInt(value)), true);
    this.call(req, buf);
  }

  private state(req: number, index: number, num = 0): number {
    const buf = this.call(req, vhostVringState.pack({ index, num })) as Uint8Array;
    return vhostVringState.decode(buf).num;
  }

  private vringFile(req: number, index: number, fd: number): void {
    const buf = new Uint8Array(8);
    const v = dataView(buf);
    v.setUint32(0, index, true);
    v.setInt32(4, fd, true);
    this.call(req, buf);
  }

  // ---- device ----------------------------------------------------------------------------------

  setOwner(): void {
    this.call(VHOST_SET_OWNER, null);
  }

  resetOwner(): void {
    this.call(VHOST_RESET_OWNER, null);
  }

  getFeatures(): bigint {
    return this.getU(VHOST_GET_FEATURES, 8);
  }

  setFeatures(features: bigint): void {
    this.setU(VHOST_SET_FEATURES, 8, features);
  }

  getBackendFeatures(): bigint {
    return this.getU(VHOST_GET_BACKEND_FEATURES, 8);
  }

  setBackendFeatures(features: bigint): void {
    this.setU(VHOST_SET_BACKEND_FEATURES, 8, features);
  }

  getDeviceId(): number {
    return Number(this.getU(VHOST_VDPA_GET_DEVICE_ID, 4));
  }

  getStatus(): number {
    return Number(this.getU(VHOST_VDPA_GET_STATUS, 1));
  }

  setStatus(status: number): void {
    this.setU(VHOST_VDPA_SET_STATUS, 1, status);
  }

  getConfig(off: number, len: number): Uint8Array {
    const buf = new Uint8Array(8 + len);
    const v = dataView(buf);
    v.setUint32(0, off, true);
    v.setUint32(4, len, true);
    return (this.call(VHOST_VDPA_GET_CONFIG, buf) as Uint8Array).slice(8);
  }

  setConfig(off: number, data: Uint8Array): void {
    const buf = new Uint8Array(8 + data.length);
    const v = dataView(buf);
    v.setUint32(0, off, true);
    v.setUint32(4, data.length, true);
    buf.set(data, 8);
    this.call(VHOST_VDPA_SET_CONFIG, buf);
  }

  /** The largest vring size (VHOST_VDPA_GET_VRING_NUM). */
  getVringNum(): number {
    return Number(this.getU(VHOST_VDPA_GET_VRING_NUM, 2));
  }

  getConfigSize(): number {
    return Number(this.getU(VHOST_VDPA_GET_CONFIG_SIZE, 4));
  }

  getVqsCount(): number {
    return Number(this.getU(VHOST_VDPA_GET_VQS_COUNT, 4));
  }

  getGroupNum(): number {
    return Number(this.getU(VHOST_VDPA_GET_GROUP_NUM, 4));
  }

  getAsNum(): number {
    return Number(this.getU(VHOST_VDPA_GET_AS_NUM, 4));
  }

  getIovaRange(): { first: bigint; last: bigint } {
    const buf = this.call(VHOST_VDPA_GET_IOVA_RANGE, new Uint8Array(16)) as Uint8Array;
    const v = dataView(buf);
    return { first: v.getBigUint64(0, true), last: v.getBigUint64(8, true) };
  }

  /** fd -1 unbinds. */
  setConfigCall(fd: number): void {
    this.setU(VHOST_VDPA_SET_CONFIG_CALL, 4, fd);
  }

  suspend(): void {
    this.call(VHOST_VDPA_SUSPEND, null);
  }

  resume(): void {
    this.call(VHOST_VDPA_RESUME, null);
  }

  setMemTable(regions: readonly MemRegion[]): void {
    const buf = new Uint8Array(8 + 32 * regions.length);
    const v = dataView(buf);
    v.setUint32(0, regions.length, true);
    regions.forEach((r, i) => {
      v.setBigUint64(8 + 32 * i, r.gpa, true);
      v.setBigUint64(16 + 32 * i, r.size, true);
      v.setBigUint64(24 + 32 * i, r.uaddr, true);
    });
    this.call(VHOST_SET_MEM_TABLE, buf);
  }

  // ---- virtqueues ------------------------------------------------------------------------------

  setVringNum(index: number, num: number): void {
    this.state(VHOST_SET_VRING_NUM, index, num);
  }

  setVringAddr(index: number, a: VringAddr): void {
    this.call(
      VHOST_SET_VRING_ADDR,
      vhostVringAddr.pack({
        index,
        flags: a.flags ?? 0,
        desc_user_addr: a.desc,
        used_user_addr: a.used,
        avail_user_addr: a.avail,
        log_guest_addr: a.log ?? 0n,
      }),
    );
  }

  setVringBase(index: number, base: number): void {
    this.state(VHOST_SET_VRING_BASE, index, base);
  }

  getVringBase(index: number): number {
    return this.state(VHOST_GET_VRING_BASE, index);
  }

  setVringKick(index: number, fd: number): void {
    this.vringFile(VHOST_SET_VRING_KICK, index, fd);
  }

  setVringCall(index: number, fd: number): void {
    this.vringFile(VHOST_SET_VRING_CALL, index, fd);
  }

  setVringErr(index: number, fd: number): void {
    this.vringFile(VHOST_SET_VRING_ERR, index, fd);
  }

  setVringEnable(index: number, enable: boolean | number): void {
    this.state(VHOST_VDPA_SET_VRING_ENABLE, index, Number(enable));
  }

  getVringGroup(index: number): number {
    return this.state(VHOST_VDPA_GET_VRING_GROUP, index);
  }

  getVringDescGroup(index: number): number {
    return this.state(VHOST_VDPA_GET_VRING_DESC_GROUP, index);
  }

  getVringSize(index: number): number {
    return this.state(VHOST_VDPA_GET_VRING_SIZE, index);
  }

  setGroupAsid(group: number, asid: number): void {
    this.state(VHOST_VDPA_SET_GROUP_ASID, group, asid);
  }

  setVringBusyloopTimeout(index: number, timeout: number): void {
    this.state(VHOST_SET_VRING_BUSYLOOP_TIMEOUT, index, timeout);
  }

  getVringBusyloopTimeout(index: number): number {
    return this.state(VHOST_GET_VRING_BUSYLOOP_TIMEOUT, index);
  }

  // ---- IOTLB -----------------------------------------------------------------------------------

  /** Encodes one IOTLB message (vhost_msg_v2 unless v1 framing is asked for). */
  static iotlbMessage(type: number, asid: number, m: { iova: bigint; size: bigint; uaddr?: bigint; perm?: number }, framing: IotlbFraming = {}): Uint8Array {
    const iotlb = { iova: m.iova, size: m.size, uaddr: m.uaddr ?? 0n, perm: m.perm ?? 0, type };
    return framing.v1
      ? vhostMsg.pack({ type: VHOST_IOTLB_MSG, iotlb })
      : vhostMsgV2.pack({ type: VHOST_IOTLB_MSG_V2, asid, iotlb });
  }

  private iotlb(type: number, asid: number, m: { iova: bigint; size: bigint; uaddr?: bigint; perm?: number }, framing: IotlbFraming): void {
    const r = this.file.write(VhostVdpa.iotlbMessage(type, asid, m, framing));
    if (r < 0) throw new VhostError(`write(IOTLB type ${type}, asid ${asid})`, r);
  }

  iotlbUpdate(u: IotlbUpdate, framing: IotlbFraming = {}): void {
    this.iotlb(VHOST_IOTLB_UPDATE, u.asid ?? 0, u, framing);
  }

  iotlbInvalidate(i: IotlbInvalidate, framing: IotlbFraming = {}): void {
    this.iotlb(VHOST_IOTLB_INVALIDATE, i.asid ?? 0, i, framing);
  }

  iotlbBatchBegin(asid = 0): void {
    this.iotlb(VHOST_IOTLB_BATCH_BEGIN, asid, { iova: 0n, size: 0n }, {});
  }

  iotlbBatchEnd(asid = 0): void {
    this.iotlb(VHOST_IOTLB_BATCH_END, asid, { iova: 0n, size: 0n }, {});
  }

  /** BATCH_BEGIN, one UPDATE per entry, BATCH_END, all in `asid`. */
  iotlbBatch(asid: number, updates: readonly Omit<IotlbUpdate, 'asid'>[]): void {
    this.iotlbBatchBegin(asid);
    for (const u of updates) this.iotlbUpdate({ ...u, asid });
    this.iotlbBatchEnd(asid);
  }
}
