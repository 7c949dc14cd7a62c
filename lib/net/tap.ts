// The `tap` medium: a simulated NIC whose cable ends in a real Linux tap interface (lib/host/tap.ts,
// opened as tools/virtio/vhost_net_test.c opens one), so the host's own stack, ping, tcpdump and
// socket programs talk to the guest through the whole vDPA datapath. Works with any NetPort:
// vdpa_sim_net, vdpasim_netx and the virtio-net-pci function vp_vdpa drives.
// TX: the frame the device transmits (virtio-net header + Ethernet) is written to the tap behind
// the tap's vnet header; the device's header is copied in as is when the sizes agree (zero copy)
// and re-laid out when they do not (a 10-byte legacy header gets num_buffers = 0).
// RX: the addon's poll callback (libuv, on the event loop) says the tap is readable; each wake-up
// reads every ready frame, up to a budget, in chunks of one native call each (crossing into C
// costs as much as the read itself), and offers each frame to the port with the tap's header,
// where it lies in the read buffer (nothing is allocated per frame); the device's filter and RX
// queue decide.
// Not a kernel file. Deviations from a kernel tap backend (vhost-net): one queue (every TX queue
// writes the one fd, RX arrives on queue pair 0); no offloads are negotiated with the tap, so
// the host checksums in software and never sends GSO frames; a frame the guest posted no buffer
// for is dropped and counted (the device counts an rx overrun), as is the rest of its chunk,
// already read, and the wake-up ends there: what is still queued waits in the tap's own bounded
// queue (the host kernel drops beyond it), never in ours.

import { EAGAIN, EIO, ENOBUFS, ENOMEM } from '../../uapi/index.js';
import type { FdWatch } from '../host/poll.js';
import {
  NET_RX_DELIVERED,
  NET_RX_FILTERED,
  NET_RX_NO_CARRIER,
  NET_RX_OVERRUN,
  type NetAttachment,
  type NetBackend,
  type NetPort,
  type NetRxVerdict,
} from './backend.js';

/** What the backend needs of a tap: lib/host's Tap, or a stand-in in tests. */
export interface TapDevice {
  readonly name: string;
  /** The header size set with TUNSETVNETHDRSZ: every frame read or written starts with it. */
  readonly vnetHdrSize: number;
  /**
   * Reads ready frames (header first) back to back into `buf` while fewer than `max` were read
   * and `room` bytes remain; spans[2i], spans[2i + 1] get frame i's offset and length. The number
   * read, or -errno (-EAGAIN when none was ready).
   */
  readFrames(buf: Uint8Array, spans: Int32Array, max: number, room: number): number;
  /** Writes buf[0, length) as one frame: bytes written, or -errno. */
  write(buf: Uint8Array, length?: number): number;
  /** Calls `cb` whenever frames are waiting (level-triggered), until the watch stops. */
  onReadable(cb: () => void): FdWatch;
}

/**
 * Frames one wake-up may read. The simulators' queues hold at most 256 buffers
 * (VDPASIM_QUEUE_MAX) and the guest refills only when its NAPI poll runs, after this callback:
 * a larger batch could only overrun. It also bounds how long the event loop is held.
 */
export const TAP_RX_BUDGET = 256;
/**
 * Frames per native read call: NAPI's weight. It also bounds what an overrun drops: the rest of
 * the chunk was already read.
 */
export const TAP_RX_CHUNK = 64;
/** The largest frame read from a tap without GSO: 64 KiB covers any MTU a tap accepts. */
const TAP_FRAME_MAX = 65536;
/** A chunk of frames up to this size fits the read buffer whole (larger ones take several calls). */
const TAP_CHUNK_FRAME = 2048;

/** What the backend did with frames, each way. */
export interface TapBackendStats {
  /** Host -> device: frames read from the tap and the device's verdicts on them. */
  rx: {
    frames: number;
    /** Ethernet bytes (without the vnet header). */
    bytes: number;
    delivered: number;
    filtered: number;
    overruns: number;
    /** The device could not write the RX buffer, had no carrier, or the read failed. */
    errors: number;
    /** Poll callbacks taken. */
    wakeups: number;
  };
  /** Device -> host: frames written to the tap. */
  tx: {
    frames: number;
    bytes: number;
    /** Writes refused while the interface is down (EIO): dropped as "no carrier". */
    linkDown: number;
    /** Other refused writes (ENOBUFS, EINVAL for a header the host rejects...). */
    errors: number;
    /** The errno of the last refused write, 0 if none. */
    lastErrno: number;
  };
}

/**
 * Sees every frame crossing the backend (a capture, a tracer): buf[off, off + len), header first;
 * `buf` is valid during the call only.
 */
export type TapFrameObserver = (
  dir: 'rx' | 'tx',
  queue: number,
  buf: Uint8Array,
  off: number,
  hdrLen: number,
  len: number,
  verdict: NetRxVerdict,
) => void;

export interface TapBackendOptions {
  /** Frames per wake-up (default TAP_RX_BUDGET). */
  budget?: number;
  observe?: TapFrameObserver;
}

/** A NIC cabled to a tap. One port per backend; the caller owns the tap and closes it. */
export class TapBackend implements NetBackend {
  readonly kind = 'tap';
  readonly loopsBack = false;
  readonly stats: TapBackendStats = {
    rx: { frames: 0, bytes: 0, delivered: 0, filtered: 0, overruns: 0, errors: 0, wakeups: 0 },
    tx: { frames: 0, bytes: 0, linkDown: 0, errors: 0, lastErrno: 0 },
  };
  private port: NetPort | undefined;
  private readonly watch: FdWatch;
  /** Where a chunk of frames is read; `spans` says where each one is. */
  private readonly rxBuf: Uint8Array;
  private readonly spans = new Int32Array(2 * TAP_RX_CHUNK);
  /** Room for the largest frame, header included. */
  private readonly room: number;
  /** Where a frame is re-laid out when the device's header size is not the tap's. */
  private readonly txBuf: Uint8Array;
  private readonly budget: number;
  private readonly observe: TapFrameObserver | undefined;

  private constructor(
    port: NetPort,
    readonly tap: TapDevice,
    opts: TapBackendOptions,
  ) {
    this.port = port;
    this.budget = opts.budget ?? TAP_RX_BUDGET;
    if (!(Number.isInteger(this.budget) && this.budget > 0)) throw new RangeError(`tap: budget ${opts.budget} is not a positive integer`);
    this.observe = opts.observe;
    this.room = tap.vnetHdrSize + TAP_FRAME_MAX;
    this.rxBuf = new Uint8Array(this.room + TAP_RX_CHUNK * TAP_CHUNK_FRAME);
    this.txBuf = new Uint8Array(tap.vnetHdrSize + TAP_FRAME_MAX);
    this.watch = tap.onReadable(() => this.readable());
  }

  /** Takes `net` off its medium and cables it to `tap`; the tap is watched from now on. */
  static attach(net: NetAttachment, tap: TapDevice, opts: TapBackendOptions = {}): TapBackend {
    net.backend.detach(net.port);
    const b = new TapBackend(net.port, tap, opts);
    net.backend = b;
    return b;
  }

  /** The port on this cable, if still attached. */
  get attached(): NetPort | undefined {
    return this.port;
  }

  transmit(from: NetPort, buf: Uint8Array, hdrLen: number, len: number, queue: number): NetRxVerdict {
    if (from !== this.port) return NET_RX_NO_CARRIER;
    const tapHdr = this.tap.vnetHdrSize;
    let out = buf;
    let n = len;
    if (hdrLen !== tapHdr) {
      n = this.relayout(buf, hdrLen, len);
      out = this.txBuf;
    }
    const r = this.tap.write(out, n);
    const tx = this.stats.tx;
    let verdict: NetRxVerdict = NET_RX_DELIVERED;
    if (r >= 0) {
      tx.frames++;
      tx.bytes += n - tapHdr;
    } else {
      tx.lastErrno = -r;
      if (r === -EIO) {
        tx.linkDown++;
        verdict = NET_RX_NO_CARRIER;
      } else {
        tx.errors++;
        // No room is an overrun (the sender moves on); anything else the host refused this frame.
        verdict = r === -EAGAIN || r === -ENOBUFS || r === -ENOMEM ? NET_RX_OVERRUN : NET_RX_FILTERED;
      }
    }
    this.observe?.('tx', queue, buf, 0, hdrLen, len, verdict);
    return verdict;
  }

  detach(port: NetPort): void {
    if (port !== this.port) return;
    this.port = undefined;
    this.watch.stop();
  }

  /** The device's frame behind the tap's header in txBuf: its length there. */
  private relayout(buf: Uint8Array, hdrLen: number, len: number): number {
    const tapHdr = this.tap.vnetHdrSize;
    const t = this.txBuf;
    const common = Math.min(hdrLen, tapHdr);
    for (let i = 0; i < common; i++) t[i] = buf[i] as number;
    // Fields the device's layout lacks (num_buffers for a legacy header) are zero.
    t.fill(0, common, tapHdr);
    const frame = Math.min(len - hdrLen, t.length - tapHdr);
    t.set(buf.subarray(hdrLen, hdrLen + frame), tapHdr);
    return tapHdr + frame;
  }

  /** The poll callback: every ready frame up to the budget, each through the device's receive path. */
  private readable(): void {
    const rx = this.stats.rx;
    const buf = this.rxBuf;
    const spans = this.spans;
    const hdr = this.tap.vnetHdrSize;
    rx.wakeups++;
    for (let left = this.budget; left > 0; ) {
      const k = this.tap.readFrames(buf, spans, Math.min(left, TAP_RX_CHUNK), this.room);
      if (k < 0) {
        if (k !== -EAGAIN) rx.errors++;
        return;
      }
      left -= k;
      let overrun = false;
      for (let i = 0; i < k; i++) {
        const off = spans[2 * i] as number;
        const n = spans[2 * i + 1] as number;
        const port = this.port;
        if (!port || n < hdr) {
          // Detached meanwhile, or a read error's length (tun never gives less than the header).
          rx.errors++;
          continue;
        }
        rx.frames++;
        rx.bytes += n - hdr;
        const verdict = port.receive(buf, off, hdr, n, 0);
        if (verdict === NET_RX_DELIVERED) rx.delivered++;
        else if (verdict === NET_RX_FILTERED) rx.filtered++;
        else if (verdict === NET_RX_OVERRUN) {
          rx.overruns++;
          overrun = true;
        } else rx.errors++;
        if (this.observe) this.observe('rx', 0, buf, off, hdr, n, verdict);
      }
      // No RX buffer: what is not read yet stays in the tap until the guest has run and refilled.
      if (overrun) return;
    }
  }
}
