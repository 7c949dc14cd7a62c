// Frames crossing a simulated NIC, written as pcapng: one interface (IDB) per queue pair of the
// device, declared when first used; each packet (EPB) carries the Ethernet frame without its
// virtio-net header, the direction in epb_flags (inbound: from the medium towards the guest;
// outbound: transmitted by the guest) and a comment naming device, queue and verdict
// ("vdpa0 rx0 delivered", "vdpa0 tx0 no carrier"), so tshark and lib/pcap's reader show all three.
// Not a kernel file.

import type { PcapngWriter } from '../pcap/index.js';
import { NET_RX_VERDICT_NAMES, type NetRxVerdict } from './backend.js';

/** Nanoseconds since the epoch, from the monotonic clock (one Date.now() at load). */
const EPOCH_BASE_NS = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
export const epochNs = (): bigint => EPOCH_BASE_NS + process.hrtime.bigint();

export class NetCapture {
  /** pcapng interface id per queue pair. */
  private readonly ids: number[] = [];
  /** Frames written. */
  frames = 0;

  constructor(
    private readonly writer: PcapngWriter,
    /** The device's name, e.g. `vdpa0`. */
    readonly device: string,
    /** Where its frames go, for the interface descriptions (e.g. `tap vdpa-t0`). */
    readonly medium: string,
    private readonly clock: () => bigint = epochNs,
  ) {}

  /** Records one frame: buf[off + hdrLen, off + len) is the Ethernet frame (a TapFrameObserver). */
  frame(dir: 'rx' | 'tx', queue: number, buf: Uint8Array, off: number, hdrLen: number, len: number, verdict: NetRxVerdict): void {
    const id = this.ids[queue] ?? this.declare(queue);
    this.writer.writePacket(id, buf.subarray(off + hdrLen, off + len), {
      timestampNs: this.clock(),
      direction: dir === 'rx' ? 'in' : 'out',
      comment: `${this.device} ${dir}${queue} ${NET_RX_VERDICT_NAMES[verdict]}`,
    });
    this.frames++;
  }

  private declare(queue: number): number {
    const id = this.writer.addInterface({
      name: `${this.device}/q${queue}`,
      description: `${this.device} queue pair ${queue} (rx${queue}/tx${queue}) on ${this.medium}`,
    });
    this.ids[queue] = id;
    return id;
  }

  close(): void {
    this.writer.close();
  }
}
