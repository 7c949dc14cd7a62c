// Models: drivers/block/virtio_blk.c (reduced), with the block-layer checks in front of it:
// probe (init_vq, virtblk_read_limits from the config space, the write cache from FLUSH, the
// capacity), requests as virtblk_setup_cmd()/virtblk_add_req() build them (out header, data,
// status byte last), completion in virtblk_done() on the queue interrupt, virtblk_get_id(), the
// config-change work (capacity re-read) and remove.
// The I/O calls are synchronous for their caller, as a direct read or write and blk_execute_rq()
// are: the transfer is split into requests within the queue limits, queued, notified, and the
// vCPU waits until every request completed. The block layer's own answers are kept: past the end
// of the disk -EIO (bio_check_eod), misaligned -EINVAL, a flush without a write cache completes
// at once, discard without DISCARD -EOPNOTSUPP, write-zeroes without WRITE_ZEROES writes zeroes.
// Deviations: data passes through per-request buffers in guest memory (the bio's pages), split
// into segments by max_segment_size; at most REQUEST_SLOTS requests of at most
// REQUEST_BYTES_MAX in flight, and no more segments than the ring holds (no indirect
// descriptors); one queue even when MQ offers more (as on a one-CPU guest); one range per
// discard or write-zeroes request; no RO, GEOMETRY, CONFIG_WCE, SECURE_ERASE or zoned devices;
// a request the device never completes fails with -ETIMEDOUT once the machine is idle (Linux
// would wait for ever) and keeps its slot until the device answers or the driver is removed.

import {
  EINVAL,
  EIO,
  ENOENT,
  ENOMEM,
  EOPNOTSUPP,
  ETIMEDOUT,
  VIRTIO_BLK_F_BLK_SIZE,
  VIRTIO_BLK_F_DISCARD,
  VIRTIO_BLK_F_FLUSH,
  VIRTIO_BLK_F_MQ,
  VIRTIO_BLK_F_SEG_MAX,
  VIRTIO_BLK_F_SIZE_MAX,
  VIRTIO_BLK_F_TOPOLOGY,
  VIRTIO_BLK_F_WRITE_ZEROES,
  VIRTIO_BLK_ID_BYTES,
  VIRTIO_BLK_S_OK,
  VIRTIO_BLK_S_UNSUPP,
  VIRTIO_BLK_T_DISCARD,
  VIRTIO_BLK_T_FLUSH,
  VIRTIO_BLK_T_GET_ID,
  VIRTIO_BLK_T_IN,
  VIRTIO_BLK_T_OUT,
  VIRTIO_BLK_T_WRITE_ZEROES,
  VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP,
  VIRTIO_CONFIG_S_FAILED,
  VIRTIO_F_VERSION_1,
  VIRTIO_ID_BLOCK,
  VIRTIO_RING_F_EVENT_IDX,
  virtioBlkConfig61,
  virtioBlkDiscardWriteZeroes,
  virtioBlkOuthdr,
} from '../../uapi/index.js';
import { Work } from '../../lib/sched/index.js';
import { type Sg, VirtqueueSplit } from '../../lib/virtio/index.js';
import type { GuestCpu } from './cpu.js';
import { GUEST_PAGE_SIZE, type GuestMemory } from './memory.js';
import type { VirtioDevice } from './virtio.js';

const bit = (n: number): bigint => 1n << BigInt(n);

/** The feature table (features[]) as far as this model implements it, plus the ring's EVENT_IDX. */
export const VIRTBLK_FEATURES =
  bit(VIRTIO_F_VERSION_1) |
  bit(VIRTIO_RING_F_EVENT_IDX) |
  bit(VIRTIO_BLK_F_SEG_MAX) |
  bit(VIRTIO_BLK_F_SIZE_MAX) |
  bit(VIRTIO_BLK_F_BLK_SIZE) |
  bit(VIRTIO_BLK_F_FLUSH) |
  bit(VIRTIO_BLK_F_TOPOLOGY) |
  bit(VIRTIO_BLK_F_MQ) |
  bit(VIRTIO_BLK_F_DISCARD) |
  bit(VIRTIO_BLK_F_WRITE_ZEROES);

export const SECTOR_SIZE = 512;
/** Requests in flight at once (Linux: queue_depth, half the ring without indirect descriptors). */
export const REQUEST_SLOTS = 4;
/** The largest request (Linux: max_sectors, from the segment limits). */
export const REQUEST_BYTES_MAX = 128 * 1024;
/** virtio_max_dma_size() without an IOMMU, as a u32. */
const U32_MAX = 0xffff_ffff;
/** Where the status byte sits behind the out header, in a slot's command area. */
const STATUS_OFF = virtioBlkOuthdr.size;
const CMD_STRIDE = 32;
/** Field offsets are the same in the 6.1 and upstream layouts. */
const cfg = (field: string): number => virtioBlkConfig61.offsetOf(field);

/** The queue limits virtblk_read_limits() sets (lengths in bytes unless named in sectors). */
export interface BlkLimits {
  logicalBlockSize: number;
  physicalBlockSize: number;
  ioMin: number;
  ioOpt: number;
  maxSegments: number;
  maxSegmentSize: number;
  /** 0: discard unsupported. */
  maxDiscardSectors: number;
  /** 0: write-zeroes unsupported (the block layer writes zeroes itself). */
  maxWriteZeroesSectors: number;
  /** BLK_FEAT_WRITE_CACHE: flushes reach the device (FLUSH negotiated). */
  writeCache: boolean;
}

/** What a request's submitter gets back. */
export interface BlkReply {
  /**
   * 0 or -errno: the block layer's refusal, the device's status through virtblk_result() and
   * blk_status_to_errno() (IOERR -> -EIO, UNSUPP -> -EOPNOTSUPP), or -ETIMEDOUT.
   */
  err: number;
  /** The first status byte that was not OK (else OK); absent when no request was answered. */
  status?: number;
  /** Read data (read, GET_ID, an IN request). */
  data?: Uint8Array;
}

/** A request as virtio_queue_rq() sends it, without the block layer's checks. */
export interface BlkRequest {
  type: number;
  sector?: bigint;
  /** Device-readable payload behind the header (OUT data, a discard range). */
  out?: Uint8Array;
  /** Device-writable bytes before the status byte (IN data, the id). */
  inLen?: number;
}

export interface VirtblkOptions {
  cpu: GuestCpu;
  memory: GuestMemory;
  /** The disk name (virtblk_name_format: vda, vdb, ...). */
  name?: string;
  /** Feature bits the driver may negotiate (default VIRTBLK_FEATURES). */
  features?: bigint;
}

/** A request slot: command area (out header, status), data buffer, and its state. */
interface Slot {
  cmd: number;
  data: number;
  busy: boolean;
  done: boolean;
  /** Its submitter gave up waiting (a timeout): freed when the device answers. */
  abandoned: boolean;
}

/** A request of one operation: what to send, and where IN data goes. */
interface Pending {
  req: BlkRequest;
  dst?: Uint8Array;
}

/** struct virtio_blk with its gendisk. */
export class VirtioBlk {
  readonly name: string;
  /** Capacity in 512-byte sectors (set_capacity). */
  capacity = 0;
  readonly limits: BlkLimits;
  readonly vq: VirtqueueSplit<Slot>;
  /** The largest request this driver builds, in bytes. */
  readonly requestBytes: number;
  removed = false;
  private readonly slots: Slot[] = [];
  private readonly allocations: number[];
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private readonly configWork: Work;
  private zeroes: Uint8Array | undefined;

  private constructor(
    readonly vdev: VirtioDevice,
    private readonly o: VirtblkOptions,
    vq: VirtqueueSplit<Slot>,
    allocations: number[],
  ) {
    this.name = o.name ?? 'vda';
    this.vq = vq;
    this.allocations = allocations;
    this.bytes = o.memory.bytes;
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    this.limits = this.readLimits();
    this.requestBytes = Math.min(this.limits.maxSegments * this.limits.maxSegmentSize, REQUEST_BYTES_MAX);
    this.requestBytes -= this.requestBytes % this.limits.logicalBlockSize;
    this.configWork = new Work(() => this.configChangedWork(), `${this.name}: config`);
  }

  /** virtblk_probe(): negotiated, the queue up, limits and capacity read, DRIVER_OK; or -errno. */
  static probe(vdev: VirtioDevice, o: VirtblkOptions): VirtioBlk | number {
    if (vdev.id !== VIRTIO_ID_BLOCK) return -EINVAL;
    const r = vdev.negotiate(o.features ?? VIRTBLK_FEATURES);
    if (r) return r;
    const fail = (err: number, allocations: readonly number[] = []): number => {
      vdev.config.delVqs();
      for (const gpa of allocations) o.memory.release(gpa);
      vdev.addStatus(VIRTIO_CONFIG_S_FAILED);
      return err;
    };
    // init_vq(): one queue, whatever num_queues says, but MQ with none is refused.
    if (vdev.hasFeature(VIRTIO_BLK_F_MQ) && vdev.cread(cfg('num_queues'), 2) === 0) return fail(-EINVAL);
    const num = vdev.config.queueMaxSize(0);
    if (!num) return fail(-ENOENT);
    const usedOff = pageUp(16 * num + 6 + 2 * num);
    const ring = o.memory.alloc(usedOff + 6 + 8 * num);
    if (ring < 0) return fail(-ENOMEM);
    let vblk: VirtioBlk | undefined;
    const gpa = { num, desc: ring, avail: ring + 16 * num, used: ring + usedOff };
    const vq = new VirtqueueSplit<Slot>({ mem: o.memory.bytes, ...gpa, eventIdx: vdev.hasFeature(VIRTIO_RING_F_EVENT_IDX), notify: () => vdev.config.notify(0) });
    const e = vdev.config.setupVq(0, gpa, () => vblk?.done());
    if (e < 0) return fail(e, [ring]);
    vblk = new VirtioBlk(vdev, o, vq, [ring]);
    const err = vblk.initLimits() || vblk.allocSlots();
    if (err) return fail(err, vblk.allocations);
    vblk.updateCapacity();
    vdev.config.setConfigCallback(() => o.cpu.queueWork((vblk as VirtioBlk).configWork));
    vdev.ready();
    return vblk;
  }

  /** virtblk_read_limits(). */
  private readLimits(): BlkLimits {
    const vdev = this.vdev;
    const has = (f: number): boolean => vdev.hasFeature(f);
    // Without indirect descriptors a request's header, segments and status must fit the ring.
    const segs = Math.min(has(VIRTIO_BLK_F_SEG_MAX) ? vdev.cread(cfg('seg_max'), 4) || 1 : 1, this.vq.num - 2);
    // blk_queue_max_segment_size(): never below a page.
    const maxSegmentSize = Math.max(GUEST_PAGE_SIZE, has(VIRTIO_BLK_F_SIZE_MAX) ? vdev.cread(cfg('size_max'), 4) : U32_MAX);
    const lbs = has(VIRTIO_BLK_F_BLK_SIZE) ? vdev.cread(cfg('blk_size'), 4) : SECTOR_SIZE;
    const topology = has(VIRTIO_BLK_F_TOPOLOGY);
    const exp = topology ? vdev.cread(cfg('physical_block_exp'), 1) : 0;
    const minIo = topology ? vdev.cread(cfg('min_io_size'), 2) : 0;
    const optIo = topology ? vdev.cread(cfg('opt_io_size'), 4) : 0;
    const discard = has(VIRTIO_BLK_F_DISCARD) ? vdev.cread(cfg('max_discard_sectors'), 4) || U32_MAX : 0;
    const zeroes = has(VIRTIO_BLK_F_WRITE_ZEROES) ? vdev.cread(cfg('max_write_zeroes_sectors'), 4) || U32_MAX : 0;
    return {
      logicalBlockSize: lbs,
      physicalBlockSize: lbs * 2 ** exp,
      ioMin: lbs * minIo,
      ioOpt: lbs * optIo,
      maxSegments: Math.max(1, segs),
      maxSegmentSize,
      maxDiscardSectors: discard,
      maxWriteZeroesSectors: zeroes,
      writeCache: has(VIRTIO_BLK_F_FLUSH),
    };
  }

  /** blk_validate_limits(): a logical block size the block layer accepts; 0 or -EINVAL. */
  private initLimits(): number {
    const lbs = this.limits.logicalBlockSize;
    return lbs < SECTOR_SIZE || lbs > GUEST_PAGE_SIZE || lbs & (lbs - 1) ? -EINVAL : 0;
  }

  /** The tag set's requests: a command page for all slots, and their data buffers. */
  private allocSlots(): number {
    const n = Math.max(1, Math.min(REQUEST_SLOTS, Math.floor(this.vq.num / (this.limits.maxSegments + 2))));
    const cmds = this.o.memory.alloc(n * CMD_STRIDE);
    if (cmds < 0) return -ENOMEM;
    this.allocations.push(cmds);
    const data = this.o.memory.alloc(n * this.requestBytes);
    if (data < 0) return -ENOMEM;
    this.allocations.push(data);
    for (let i = 0; i < n; i++) this.slots.push({ cmd: cmds + i * CMD_STRIDE, data: data + i * this.requestBytes, busy: false, done: false, abandoned: false });
    return 0;
  }

  /** virtblk_remove(): the device reset, the queue deleted, memory returned; idempotent. */
  remove(): void {
    if (this.removed) return;
    this.removed = true;
    this.vdev.config.setConfigCallback(undefined);
    this.vdev.config.reset();
    this.vdev.config.delVqs();
    for (const gpa of this.allocations) this.o.memory.release(gpa);
    this.allocations.length = 0;
    this.slots.length = 0;
  }

  /** virtblk_update_capacity(). */
  private updateCapacity(): void {
    const b = new Uint8Array(8);
    this.vdev.config.get(cfg('capacity'), b);
    this.capacity = Number(new DataView(b.buffer).getBigUint64(0, true));
  }

  /** virtblk_config_changed_work(); remove() flushes it (here: it finds the disk gone). */
  private configChangedWork(): void {
    if (!this.removed) this.updateCapacity();
  }

  // ---- the block layer's entry points ------------------------------------------------------------

  /** Reads `count` sectors from `sector`. */
  read(sector: number, count: number): BlkReply {
    const err = this.checkRange(sector, count);
    if (err) return { err };
    const data = new Uint8Array(count * SECTOR_SIZE);
    const r = this.execute(this.split(sector, count, (s, n) => ({ req: { type: VIRTIO_BLK_T_IN, sector: BigInt(s), inLen: n * SECTOR_SIZE }, dst: data.subarray((s - sector) * SECTOR_SIZE) })));
    return r.err ? r : { ...r, data };
  }

  /** Writes `data` (a whole number of logical blocks) at `sector`. */
  write(sector: number, data: Uint8Array): BlkReply {
    if (data.length === 0 || data.length % this.limits.logicalBlockSize) return { err: -EINVAL };
    const count = data.length / SECTOR_SIZE;
    const err = this.checkRange(sector, count);
    if (err) return { err };
    return this.execute(this.split(sector, count, (s, n) => ({ req: { type: VIRTIO_BLK_T_OUT, sector: BigInt(s), out: data.subarray((s - sector) * SECTOR_SIZE, (s - sector + n) * SECTOR_SIZE) } })));
  }

  /** blkdev_issue_flush(): a FLUSH request with a write cache; without one, done at once. */
  flush(): BlkReply {
    if (!this.limits.writeCache) return { err: 0 };
    return this.execute([{ req: { type: VIRTIO_BLK_T_FLUSH } }]);
  }

  /** blkdev_issue_discard(). */
  discard(sector: number, count: number): BlkReply {
    const max = this.limits.maxDiscardSectors;
    if (!max) return { err: -EOPNOTSUPP };
    return this.ranges(VIRTIO_BLK_T_DISCARD, sector, count, max, 0);
  }

  /** blkdev_issue_zeroout(): WRITE_ZEROES (unmap allowed) when offered, else zeroes written. */
  writeZeroes(sector: number, count: number): BlkReply {
    const max = this.limits.maxWriteZeroesSectors;
    if (max) return this.ranges(VIRTIO_BLK_T_WRITE_ZEROES, sector, count, max, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
    const err = this.checkRange(sector, count);
    if (err) return { err };
    this.zeroes ??= new Uint8Array(this.requestBytes);
    const zeroes = this.zeroes;
    return this.execute(this.split(sector, count, (s, n) => ({ req: { type: VIRTIO_BLK_T_OUT, sector: BigInt(s), out: zeroes.subarray(0, n * SECTOR_SIZE) } })));
  }

  /** virtblk_get_id(): the serial, NUL-padded to VIRTIO_BLK_ID_BYTES, and as a string. */
  getId(): BlkReply & { id?: string } {
    const data = new Uint8Array(VIRTIO_BLK_ID_BYTES);
    const r = this.execute([{ req: { type: VIRTIO_BLK_T_GET_ID, inLen: VIRTIO_BLK_ID_BYTES }, dst: data }]);
    if (r.err) return r;
    const end = data.indexOf(0);
    return { ...r, data, id: new TextDecoder().decode(data.subarray(0, end < 0 ? data.length : end)) };
  }

  /** virtio_queue_rq() of one prepared request: no block-layer checks, only this driver's limits. */
  submit(req: BlkRequest): BlkReply {
    const len = req.out?.length ?? req.inLen ?? 0;
    if (len > this.requestBytes || (req.out && req.inLen)) return { err: -EINVAL };
    const dst = req.inLen ? new Uint8Array(req.inLen) : undefined;
    const r = this.execute([dst ? { req, dst } : { req }]);
    return dst && r.status !== undefined ? { ...r, data: dst } : r;
  }

  /** Sector range checks: misaligned or empty -EINVAL, past the end -EIO (bio_check_eod). */
  private checkRange(sector: number, count: number): number {
    const mask = this.limits.logicalBlockSize / SECTOR_SIZE - 1;
    if (!Number.isSafeInteger(sector) || !Number.isSafeInteger(count) || sector < 0 || count < 1) return -EINVAL;
    if (sector % (mask + 1) || count % (mask + 1)) return -EINVAL;
    return sector + count > this.capacity ? -EIO : 0;
  }

  /** DISCARD or WRITE_ZEROES over [sector, sector + count), one range per request of at most `max` sectors. */
  private ranges(type: number, sector: number, count: number, max: number, flags: number): BlkReply {
    const err = this.checkRange(sector, count);
    if (err) return { err };
    const out: Pending[] = [];
    for (let s = sector; s < sector + count; s += max) {
      const range = virtioBlkDiscardWriteZeroes.pack({ sector: BigInt(s), num_sectors: Math.min(max, sector + count - s), flags });
      out.push({ req: { type, out: range } });
    }
    return this.execute(out);
  }

  /** The block layer's split of [sector, sector + count) into requests of at most requestBytes. */
  private split(sector: number, count: number, make: (s: number, n: number) => Pending): Pending[] {
    const per = this.requestBytes / SECTOR_SIZE;
    const out: Pending[] = [];
    for (let s = sector; s < sector + count; s += per) out.push(make(s, Math.min(per, sector + count - s)));
    return out;
  }

  // ---- the request queue -------------------------------------------------------------------------

  /**
   * Queues the requests (as many at once as slots allow), notifies, and waits for each batch;
   * stops at the first request that failed.
   */
  private execute(reqs: readonly Pending[]): BlkReply {
    if (this.removed) return { err: -EIO };
    let status: number | undefined;
    let next = 0;
    const batch: { slot: Slot; p: Pending }[] = [];
    while (next < reqs.length) {
      for (let slot = this.freeSlot(); slot && next < reqs.length; slot = this.freeSlot()) {
        const p = reqs[next] as Pending;
        if (this.addReq(slot, p.req) < 0) {
          // Broken, or too big for the ring even when empty: it can never be queued.
          if (!batch.length) return { err: -EIO };
          break;
        }
        batch.push({ slot, p });
        next++;
      }
      if (batch.length && this.vq.kickPrepare()) this.vdev.config.notify(0);
      // Wait for this batch, or (all slots held by abandoned requests) for a slot.
      const answered =
        this.vq.broken === undefined &&
        this.o.cpu.spin(() => this.vq.broken !== undefined || (batch.length ? batch.every((b) => b.slot.done) : this.freeSlot() !== undefined));
      if (!answered || this.vq.broken) {
        for (const b of batch) b.slot.abandoned = true;
        return { err: this.vq.broken ? -EIO : -ETIMEDOUT };
      }
      for (const { slot, p } of batch) {
        const st = this.bytes[slot.cmd + STATUS_OFF] as number;
        if (p.dst) p.dst.set(this.bytes.subarray(slot.data, slot.data + (p.req.inLen ?? 0)));
        slot.busy = false;
        if (status === undefined || status === VIRTIO_BLK_S_OK) status = st;
      }
      batch.length = 0;
      if (status !== undefined && status !== VIRTIO_BLK_S_OK) break;
    }
    return status === undefined ? { err: 0 } : { err: virtblkResult(status), status };
  }

  private freeSlot(): Slot | undefined {
    return this.slots.find((s) => !s.busy);
  }

  /** virtblk_setup_cmd() + virtblk_add_req(): header, data segments, status; 0 or -errno. */
  private addReq(slot: Slot, req: BlkRequest): number {
    const v = this.view;
    v.setUint32(slot.cmd, req.type, true);
    v.setUint32(slot.cmd + 4, 0, true);
    v.setBigUint64(slot.cmd + 8, req.sector ?? 0n, true);
    // A device that completes without writing the status leaves this, an error.
    this.bytes[slot.cmd + STATUS_OFF] = 0xff;
    const sgs: Sg[] = [{ addr: slot.cmd, len: virtioBlkOuthdr.size }];
    if (req.out) this.bytes.set(req.out, slot.data);
    const len = req.out?.length ?? req.inLen ?? 0;
    const seg = this.limits.maxSegmentSize;
    for (let off = 0; off < len; off += seg) sgs.push({ addr: slot.data + off, len: Math.min(seg, len - off) });
    const outCount = req.out ? sgs.length : 1;
    sgs.push({ addr: slot.cmd + STATUS_OFF, len: 1 });
    const r = this.vq.addSgs(sgs, outCount, slot);
    if (r < 0) return r;
    slot.busy = true;
    slot.done = false;
    slot.abandoned = false;
    return 0;
  }

  /** virtblk_done(): every completed request collected, callbacks re-armed. */
  private done(): void {
    const vq = this.vq;
    do {
      vq.disableCb();
      for (let slot = vq.getBuf(); slot !== undefined; slot = vq.getBuf()) {
        slot.done = true;
        if (slot.abandoned) slot.busy = false;
      }
    } while (!vq.enableCb());
  }
}

/** virtblk_result() then blk_status_to_errno(). */
function virtblkResult(status: number): number {
  if (status === VIRTIO_BLK_S_OK) return 0;
  return status === VIRTIO_BLK_S_UNSUPP ? -EOPNOTSUPP : -EIO;
}

function pageUp(n: number): number {
  return Math.ceil(n / GUEST_PAGE_SIZE) * GUEST_PAGE_SIZE;
}
