// Models: drivers/vdpa/vdpa_sim/vdpa_sim_blk.c: a 128 MiB RAM disk (optionally one buffer
// shared by every device, the shared_backend parameter) behind one vq; IN, OUT, GET_ID, FLUSH,
// DISCARD and WRITE_ZEROES; at most 5 requests per pass; config rewritten on every read; the
// "vdpasim_blk" management device (no provisionable attributes).
// Profile differences: the config is 72 bytes with 6.1 headers, 96 upstream; FLUSH is upstream only.
// Deviations: a request whose range lies past the buffer fails with IOERR where the kernel's
// unsigned arithmetic would let it touch memory beyond the disk.

import {
  VIRTIO_BLK_F_BLK_SIZE,
  VIRTIO_BLK_F_DISCARD,
  VIRTIO_BLK_F_FLUSH,
  VIRTIO_BLK_F_MQ,
  VIRTIO_BLK_F_SEG_MAX,
  VIRTIO_BLK_F_SIZE_MAX,
  VIRTIO_BLK_F_TOPOLOGY,
  VIRTIO_BLK_F_WRITE_ZEROES,
  VIRTIO_BLK_ID_BYTES,
  VIRTIO_BLK_S_IOERR,
  VIRTIO_BLK_S_OK,
  VIRTIO_BLK_S_UNSUPP,
  VIRTIO_BLK_T_DISCARD,
  VIRTIO_BLK_T_FLUSH,
  VIRTIO_BLK_T_GET_ID,
  VIRTIO_BLK_T_IN,
  VIRTIO_BLK_T_OUT,
  VIRTIO_BLK_T_WRITE_ZEROES,
  VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_ID_BLOCK,
  vdpaAttrs,
  virtioBlkConfig,
  virtioBlkConfig61,
  virtioBlkDiscardWriteZeroes,
  virtioBlkOuthdr,
} from '../../../uapi/index.js';
import type { VdpaMgmtDev } from '../vdpa.js';
import { VDPASIM_FEATURES, type VdpaSim, type VdpaSimDevAttr, type VdpaSimEnv, type VdpaSimVirtqueue, VdpaSim as Sim } from './vdpa_sim.js';

export const VDPASIM_BLK_CAPACITY = 0x40000;
export const VDPASIM_BLK_SIZE_MAX = 0x1000;
export const VDPASIM_BLK_SEG_MAX = 32;
const VDPASIM_BLK_DWZ_MAX_SECTORS = 0xffff_ffff;
const SECTOR_SHIFT = 9;
const SECTOR_SIZE = 512;
const VDPASIM_BLK_VQ_NUM = 1;

const bit = (n: number): bigint => 1n << BigInt(n);

/** The block device id string ("vdpa_blk_sim", NUL padded). */
const BLK_ID = new Uint8Array(VIRTIO_BLK_ID_BYTES);
BLK_ID.set(new TextEncoder().encode('vdpa_blk_sim'));

export function vdpasimBlkFeatures(flush: boolean): bigint {
  return (
    VDPASIM_FEATURES |
    (flush ? bit(VIRTIO_BLK_F_FLUSH) : 0n) |
    bit(VIRTIO_BLK_F_SIZE_MAX) |
    bit(VIRTIO_BLK_F_SEG_MAX) |
    bit(VIRTIO_BLK_F_BLK_SIZE) |
    bit(VIRTIO_BLK_F_TOPOLOGY) |
    bit(VIRTIO_BLK_F_MQ) |
    bit(VIRTIO_BLK_F_DISCARD) |
    bit(VIRTIO_BLK_F_WRITE_ZEROES)
  );
}

/** struct vdpasim_blk beside the core. */
export class VdpaSimBlk {
  private readonly hdr = new Uint8Array(virtioBlkOuthdr.size);
  private readonly range = new Uint8Array(virtioBlkDiscardWriteZeroes.size);
  private readonly status = new Uint8Array(1);

  constructor(
    readonly sim: VdpaSim,
    /** The disk: VDPASIM_BLK_CAPACITY sectors. */
    readonly buffer: Uint8Array,
  ) {}

  /** vdpasim_blk_check_range(). */
  private checkRange(start: bigint, num: bigint, max: bigint): boolean {
    if (num > max) return false;
    if (num > BigInt.asUintN(64, BigInt(VDPASIM_BLK_CAPACITY) - start)) return false;
    // Past the disk only through the kernel's unsigned wrap (start > capacity).
    return start <= BigInt(VDPASIM_BLK_CAPACITY);
  }

  /** vdpasim_blk_handle_req(): true if handled (status written). */
  private handleReq(vq: VdpaSimVirtqueue): boolean {
    const { vring, outIov, inIov } = vq;
    if (vring.getdesc(outIov, inIov, vq.head) !== 1) return false;
    let pushed = 0;
    let handled = false;
    const finish = (): boolean => {
      vring.complete(vq.head.head, pushed);
      return handled;
    };
    if (outIov.used < 1 || inIov.used < 1) return finish();
    if ((inIov.len[inIov.used - 1] as number) < 1) return finish();
    // The last byte is the status.
    const toPush = inIov.remaining() - 1;
    let toPull = outIov.remaining();
    let bytes = vring.pull(outIov, this.hdr);
    if (bytes !== this.hdr.length) return finish();
    toPull -= bytes;
    const h = new DataView(this.hdr.buffer);
    const type = h.getUint32(0, true);
    let sector = h.getBigUint64(8, true);
    let status = VIRTIO_BLK_S_OK;

    if (type !== VIRTIO_BLK_T_IN && type !== VIRTIO_BLK_T_OUT && sector !== 0n) {
      status = VIRTIO_BLK_S_IOERR;
    } else {
      const segBytes = BigInt(VDPASIM_BLK_SIZE_MAX * VDPASIM_BLK_SEG_MAX);
      const disk = (off: bigint, len: number): Uint8Array => this.buffer.subarray(Number(off), Number(off) + len);
      switch (type) {
        case VIRTIO_BLK_T_IN:
          if (!this.checkRange(sector, BigInt(toPush >> SECTOR_SHIFT), segBytes)) {
            status = VIRTIO_BLK_S_IOERR;
            break;
          }
          bytes = vring.push(inIov, disk(sector << 9n, toPush), toPush);
          if (bytes < 0) status = VIRTIO_BLK_S_IOERR;
          else pushed += bytes;
          break;
        case VIRTIO_BLK_T_OUT:
          if (!this.checkRange(sector, BigInt(toPull >> SECTOR_SHIFT), segBytes)) {
            status = VIRTIO_BLK_S_IOERR;
            break;
          }
          bytes = vring.pull(outIov, disk(sector << 9n, toPull), toPull);
          if (bytes < 0) status = VIRTIO_BLK_S_IOERR;
          break;
        case VIRTIO_BLK_T_GET_ID:
          bytes = vring.push(inIov, BLK_ID);
          if (bytes < 0) status = VIRTIO_BLK_S_IOERR;
          else pushed += bytes;
          break;
        case VIRTIO_BLK_T_FLUSH:
          break;
        case VIRTIO_BLK_T_DISCARD:
        case VIRTIO_BLK_T_WRITE_ZEROES: {
          if (toPull !== this.range.length) {
            status = VIRTIO_BLK_S_IOERR;
            break;
          }
          bytes = vring.pull(outIov, this.range, toPull);
          if (bytes < 0) {
            status = VIRTIO_BLK_S_IOERR;
            break;
          }
          const r = new DataView(this.range.buffer);
          sector = r.getBigUint64(0, true);
          const numSectors = r.getUint32(8, true);
          const flags = r.getUint32(12, true);
          if (type === VIRTIO_BLK_T_DISCARD && flags !== 0) {
            status = VIRTIO_BLK_S_UNSUPP;
            break;
          }
          if (type === VIRTIO_BLK_T_WRITE_ZEROES && flags & ~VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) {
            status = VIRTIO_BLK_S_UNSUPP;
            break;
          }
          if (!this.checkRange(sector, BigInt(numSectors), BigInt(VDPASIM_BLK_DWZ_MAX_SECTORS))) {
            status = VIRTIO_BLK_S_IOERR;
            break;
          }
          if (type === VIRTIO_BLK_T_WRITE_ZEROES) disk(sector << 9n, numSectors << SECTOR_SHIFT).fill(0);
          break;
        }
        default:
          status = VIRTIO_BLK_S_IOERR;
      }
    }
    // Skip what a failed operation did not push, so the status lands in the last byte.
    if (toPush - pushed > 0) inIov.skip(toPush - pushed);
    this.status[0] = status;
    bytes = vring.push(inIov, this.status);
    if (bytes !== 1) return finish();
    pushed += bytes;
    handled = true;
    return finish();
  }

  /** vdpasim_blk_work(). */
  work(): void {
    const sim = this.sim;
    if (!(sim.status & VIRTIO_CONFIG_S_DRIVER_OK)) return;
    if (!sim.running) return;
    let reschedule = false;
    for (let i = 0; i < VDPASIM_BLK_VQ_NUM; i++) {
      const vq = sim.vqs[i] as VdpaSimVirtqueue;
      if (!vq.ready) continue;
      let reqs = 0;
      while (this.handleReq(vq)) {
        if (vq.vring.needNotify() > 0) vq.notify();
        if (++reqs > 4) {
          reschedule = true;
          break;
        }
      }
    }
    if (reschedule) sim.scheduleWork();
  }
}

/** vdpasim_blk_get_config(): the whole config, rewritten on every read. */
function fillConfig(cfg: Uint8Array): void {
  cfg.fill(0);
  const layout = cfg.length === virtioBlkConfig.size ? virtioBlkConfig : virtioBlkConfig61;
  layout.encode(
    {
      capacity: BigInt(VDPASIM_BLK_CAPACITY),
      size_max: VDPASIM_BLK_SIZE_MAX,
      seg_max: VDPASIM_BLK_SEG_MAX,
      num_queues: VDPASIM_BLK_VQ_NUM,
      min_io_size: 1,
      opt_io_size: 1,
      blk_size: SECTOR_SIZE,
      discard_sector_alignment: SECTOR_SIZE,
      max_discard_sectors: VDPASIM_BLK_DWZ_MAX_SECTORS,
      max_discard_seg: 1,
      max_write_zeroes_sectors: VDPASIM_BLK_DWZ_MAX_SECTORS,
      max_write_zeroes_seg: 1,
    },
    cfg,
  );
}

export interface VdpaSimBlkParams {
  /** shared_backend: every device uses one disk buffer. */
  sharedBackend: boolean;
}

/** The vdpasim_blk management device. */
export function vdpasimBlkMgmtdev(env: VdpaSimEnv, params: VdpaSimBlkParams = { sharedBackend: false }): VdpaMgmtDev {
  const diskBytes = VDPASIM_BLK_CAPACITY << SECTOR_SHIFT;
  let shared: Uint8Array | undefined;
  const configSize = env.profile.name === 'linux-6.1' ? virtioBlkConfig61.size : virtioBlkConfig.size;
  const features = vdpasimBlkFeatures(env.profile.vdpaSim.blkFlush);
  return {
    device: { name: 'vdpasim_blk' },
    idTable: [VIRTIO_ID_BLOCK],
    configAttrMask: 0n,
    maxSupportedVqs: 0,
    supportedFeatures: 0n,
    ops: {
      devAdd(m, name, config) {
        let blk: VdpaSimBlk | undefined;
        const attr: VdpaSimDevAttr = {
          mgmtDev: m,
          name,
          id: VIRTIO_ID_BLOCK,
          supportedFeatures: features,
          nvqs: VDPASIM_BLK_VQ_NUM,
          ngroups: 1,
          nas: 1,
          configSize,
          getConfig: (_sim, cfg) => fillConfig(cfg),
          workFn: () => blk?.work(),
        };
        const featuresBit = 1n << BigInt(vdpaAttrs(env.profile.name).VDPA_ATTR_DEV_FEATURES as number);
        const sim = Sim.create(env, attr, config, featuresBit);
        if (typeof sim === 'number') return sim;
        const disk = params.sharedBackend ? (shared ??= new Uint8Array(diskBytes)) : new Uint8Array(diskBytes);
        blk = new VdpaSimBlk(sim, disk);
        const r = env.bus.registerManagedDevice(sim.vdpa, VDPASIM_BLK_VQ_NUM);
        if (r) sim.vdpa.put();
        return r;
      },
      devDel(_m, vdev) {
        env.bus.unregisterDevice(vdev);
      },
    },
  };
}
