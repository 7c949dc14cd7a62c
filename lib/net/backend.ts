// The medium a simulated NIC transmits into, behind one interface: `loopback` (what vdpa_sim_net
// does in the kernel: a device's TX comes back to its own RX), `wire` (two NICs on one cable:
// each one's TX reaches the other's RX, through the receiver's filter) and `tap` (tap.ts: a real
// Linux tap interface). Not a kernel file; wire and tap are documented deviations from
// the kernel simulators, which only loop back.

/** What became of a frame offered to a NIC's receive path. */
export const NET_RX_DELIVERED = 0;
/** The receive filter dropped it. */
export const NET_RX_FILTERED = 1;
/** No receive buffer was available. */
export const NET_RX_OVERRUN = 2;
/** The receive buffer could not be written. */
export const NET_RX_ERROR = 3;
/** Nothing is attached to receive it (a cable with no far end). */
export const NET_RX_NO_CARRIER = 4;
export type NetRxVerdict = 0 | 1 | 2 | 3 | 4;

/** The verdicts by name, for logs and captures. */
export const NET_RX_VERDICT_NAMES = ['delivered', 'filtered', 'overrun', 'error', 'no carrier'] as const;

/** A NIC's receive side, as a medium sees it. */
export interface NetPort {
  readonly name: string;
  /**
   * Offers one frame: `buf[off, off + len)` is a virtio-net header of `hdrLen` bytes followed by
   * the Ethernet frame. `queue` is the sender's queue pair (receivers map it onto their own). The
   * receiver counts its own statistics. An offset rather than a view: a medium that reads many
   * frames into one buffer (tap) then makes no view per frame, which costs ~100 ns a frame on
   * Node 20 where the frame is copied (.buffer, .byteOffset), a sixth of the tap RX path.
   */
  receive(buf: Uint8Array, off: number, hdrLen: number, len: number, queue: number): NetRxVerdict;
}

export interface NetBackend {
  readonly kind: 'loopback' | 'wire' | 'tap';
  /** Whether frames come back to the sender itself (the kernel simulator's loop control cares). */
  readonly loopsBack: boolean;
  /** A frame `from` transmits; the verdict of whoever received it. */
  transmit(from: NetPort, buf: Uint8Array, hdrLen: number, len: number, queue: number): NetRxVerdict;
  /** The port goes away (device deleted or moved to another backend). */
  detach(port: NetPort): void;
}

/** A device that transmits into a backend it can be given. */
export interface NetAttachment {
  readonly port: NetPort;
  backend: NetBackend;
}

/** The kernel simulator's loopback: TX is received by the sender. */
export const loopbackBackend: NetBackend = {
  kind: 'loopback',
  loopsBack: true,
  transmit: (from, buf, hdrLen, len, queue) => from.receive(buf, 0, hdrLen, len, queue),
  detach() {},
};

/** Two NICs on one cable. Unplugging either end leaves the other with no carrier. */
export class Wire implements NetBackend {
  readonly kind = 'wire';
  readonly loopsBack = false;
  private a: NetPort | undefined;
  private b: NetPort | undefined;

  constructor(a: NetAttachment, b: NetAttachment) {
    if (a.port === b.port) throw new Error(`wire: ${a.port.name} cannot be wired to itself`);
    a.backend.detach(a.port);
    b.backend.detach(b.port);
    this.a = a.port;
    this.b = b.port;
    a.backend = this;
    b.backend = this;
  }

  /** The port at the other end from `p`. */
  peer(p: NetPort): NetPort | undefined {
    return p === this.a ? this.b : p === this.b ? this.a : undefined;
  }

  transmit(from: NetPort, buf: Uint8Array, hdrLen: number, len: number, queue: number): NetRxVerdict {
    const to = this.peer(from);
    return to ? to.receive(buf, 0, hdrLen, len, queue) : NET_RX_NO_CARRIER;
  }

  detach(port: NetPort): void {
    if (port === this.a) this.a = undefined;
    if (port === this.b) this.b = undefined;
  }
}
