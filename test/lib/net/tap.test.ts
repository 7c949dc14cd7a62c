// The tap medium without a real tap: a stand-in TapDevice (frames the host "sent" wait in an
// inbox; writes are kept) in front of the real simulated devices on a live host, so the
// datapath, the header conversion, back-pressure, the capture and the live scheduling are
// checked without root. The real tap in a namespace is test/bin/vdpasim_serve.test.ts.

import { afterEach, describe, expect, it } from 'vitest';
import { EAGAIN, EINVAL, EIO, ENOBUFS } from '../../../uapi/index.js';
import {
  NET_RX_DELIVERED,
  NET_RX_FILTERED,
  NET_RX_NO_CARRIER,
  NET_RX_OVERRUN,
  type NetAttachment,
  type NetPort,
  type NetRxVerdict,
  TAP_RX_CHUNK,
  TapBackend,
  type TapDevice,
  loopbackBackend,
} from '../../../lib/net/index.js';
import type { FdWatch } from '../../../lib/host/poll.js';
import { MemorySink, PcapngWriter, readCapture } from '../../../lib/pcap/index.js';
import { VdpaSimNet, VdpaSimNetx } from '../../../drivers/vdpa/vdpa_sim/index.js';
import { type Server, startServe } from '../../../sim/scenarios/index.js';
import { macBytes, ipBytes, parseUdp, udpFrame } from '../../helpers/frames.js';

const HOST_MAC = '02:00:00:00:00:01';
const HOST_IP = '10.0.0.1';
const GUEST_IP = '10.0.0.2';
const HDR = 12;

class FakeTap implements TapDevice {
  readonly name = 'fake0';
  /** Frames the host sent, waiting to be read (vnet header included). */
  readonly inbox: Uint8Array[] = [];
  /** Frames the backend wrote (vnet header included). */
  readonly written: Uint8Array[] = [];
  /** What write() answers instead of writing, when set. */
  writeResult: number | undefined;
  private cb: (() => void) | undefined;

  constructor(readonly vnetHdrSize = HDR) {}

  /** As the addon's tapReadFrames: back to back, 64-byte aligned, while room remains. */
  readFrames(buf: Uint8Array, spans: Int32Array, max: number, room: number): number {
    let n = 0;
    let off = 0;
    while (n < max && buf.length - off >= room) {
      const f = this.inbox.shift();
      if (!f) break;
      buf.set(f, off);
      spans[2 * n] = off;
      spans[2 * n + 1] = f.length;
      n++;
      off += (f.length + 63) & ~63;
    }
    return n || -EAGAIN;
  }

  write(buf: Uint8Array, length = buf.length): number {
    if (this.writeResult !== undefined) return this.writeResult;
    this.written.push(buf.slice(0, length));
    return length;
  }

  onReadable(cb: () => void): FdWatch {
    this.cb = cb;
    return { stop: () => (this.cb = undefined), ref: () => {} };
  }

  get watched(): boolean {
    return this.cb !== undefined;
  }

  /** The host sends Ethernet frames; the poll callback fires as uv_poll would. */
  send(...frames: Uint8Array[]): void {
    for (const f of frames) {
      const b = new Uint8Array(this.vnetHdrSize + f.length);
      b.set(f, this.vnetHdrSize);
      this.inbox.push(b);
    }
    this.cb?.();
  }

  /** Written frames without the header. */
  frames(): Uint8Array[] {
    return this.written.map((w) => w.subarray(this.vnetHdrSize));
  }
}

function arpRequest(targetIp: string): Uint8Array {
  const f = new Uint8Array(42);
  const v = new DataView(f.buffer);
  f.fill(0xff, 0, 6);
  f.set(macBytes(HOST_MAC), 6);
  v.setUint16(12, 0x0806);
  v.setUint16(14, 1);
  v.setUint16(16, 0x0800);
  f[18] = 6;
  f[19] = 4;
  v.setUint16(20, 1);
  f.set(macBytes(HOST_MAC), 22);
  f.set(ipBytes(HOST_IP), 28);
  f.set(ipBytes(targetIp), 38);
  return f;
}

const udpTo = (mac: string, payload: Uint8Array, srcPort = 40000): Uint8Array =>
  udpFrame({ dstMac: mac, srcMac: HOST_MAC, srcIp: HOST_IP, dstIp: GUEST_IP, srcPort, dstPort: 7, payload });

/** Turns of the event loop: what a live host needs to run queued device work and NAPI. */
async function turns(n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
}

/** A port that answers with the verdicts given, then DELIVERED; remembers what it saw. */
function stubPort(verdicts: NetRxVerdict[] = []): NetPort & { seen: { hdrLen: number; len: number; first: number }[] } {
  const seen: { hdrLen: number; len: number; first: number }[] = [];
  return {
    name: 'stub',
    seen,
    receive(buf, off, hdrLen, len) {
      seen.push({ hdrLen, len, first: buf[off + hdrLen] as number });
      return verdicts.shift() ?? NET_RX_DELIVERED;
    },
  };
}

const attachment = (port: NetPort): NetAttachment => ({ port, backend: loopbackBackend });

describe('TapBackend', () => {
  it('TX: a frame with the tap\'s header size is written as the device gave it', () => {
    const tap = new FakeTap();
    const net = attachment(stubPort());
    const b = TapBackend.attach(net, tap);
    const buf = Uint8Array.from({ length: HDR + 60 }, (_, i) => i);
    expect(b.transmit(net.port, buf, HDR, buf.length, 0)).toBe(NET_RX_DELIVERED);
    expect(tap.written).toEqual([buf]);
    expect(b.stats.tx).toMatchObject({ frames: 1, bytes: 60 });
  });

  it('TX: a 10-byte legacy header becomes the tap\'s 12-byte one, num_buffers 0', () => {
    const tap = new FakeTap(12);
    const net = attachment(stubPort());
    const b = TapBackend.attach(net, tap);
    const buf = Uint8Array.from({ length: 10 + 60 }, (_, i) => i + 1);
    b.transmit(net.port, buf, 10, buf.length, 0);
    const w = tap.written[0] as Uint8Array;
    expect(w.length).toBe(72);
    expect([...w.subarray(0, 12)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 0]);
    expect([...w.subarray(12)]).toEqual([...buf.subarray(10)]);
  });

  it('TX: a 12-byte header is cut to a 10-byte tap header, the frame intact', () => {
    const tap = new FakeTap(10);
    const net = attachment(stubPort());
    const b = TapBackend.attach(net, tap);
    const buf = Uint8Array.from({ length: 12 + 60 }, (_, i) => i + 1);
    b.transmit(net.port, buf, 12, buf.length, 0);
    expect([...(tap.written[0] as Uint8Array)]).toEqual([...buf.subarray(0, 10), ...buf.subarray(12)]);
  });

  it('TX: a refused write is a verdict the device acts on, never a stalled queue (EIO no carrier, ENOBUFS overrun, EINVAL filtered)', () => {
    const tap = new FakeTap();
    const net = attachment(stubPort());
    const b = TapBackend.attach(net, tap);
    const buf = new Uint8Array(HDR + 60);
    const verdict = (r: number) => {
      tap.writeResult = r;
      return b.transmit(net.port, buf, HDR, buf.length, 0);
    };
    expect(verdict(-EIO)).toBe(NET_RX_NO_CARRIER);
    expect(verdict(-ENOBUFS)).toBe(NET_RX_OVERRUN);
    expect(verdict(-EINVAL)).toBe(NET_RX_FILTERED);
    expect(b.stats.tx).toEqual({ frames: 0, bytes: 0, linkDown: 1, errors: 2, lastErrno: EINVAL });
  });

  it('RX: one wake-up reads every ready frame, up to the budget; the rest waits in the tap', () => {
    const tap = new FakeTap();
    const port = stubPort();
    const b = TapBackend.attach(attachment(port), tap, { budget: 4 });
    tap.send(...Array.from({ length: 6 }, (_, i) => new Uint8Array(60).fill(i)));
    expect(port.seen.map((s) => s.first)).toEqual([0, 1, 2, 3]);
    expect(port.seen[0]).toMatchObject({ hdrLen: HDR, len: HDR + 60 });
    expect(tap.inbox.length).toBe(2);
    tap.send();
    expect(port.seen.length).toBe(6);
    expect(b.stats.rx).toMatchObject({ frames: 6, delivered: 6, wakeups: 2 });
  });

  it('RX: an overrun drops that frame, counts it and ends the wake-up after its chunk (nothing queued in user space)', () => {
    const tap = new FakeTap();
    const port = stubPort([NET_RX_DELIVERED, NET_RX_OVERRUN]);
    const b = TapBackend.attach(attachment(port), tap);
    tap.send(...Array.from({ length: TAP_RX_CHUNK + 6 }, () => new Uint8Array(60)));
    // The chunk was read in one call: each of its frames is offered (the device counts each).
    expect(port.seen.length).toBe(TAP_RX_CHUNK);
    expect(tap.inbox.length).toBe(6);
    expect(b.stats.rx).toMatchObject({ frames: TAP_RX_CHUNK, delivered: TAP_RX_CHUNK - 1, overruns: 1 });
  });

  it('RX: the port gets every frame of a chunk at its offset in the one read buffer', () => {
    const tap = new FakeTap();
    const seen: { buf: Uint8Array; off: number; hdrLen: number; len: number }[] = [];
    const port: NetPort = {
      name: 'in-place',
      receive(buf, off, hdrLen, len) {
        seen.push({ buf, off, hdrLen, len });
        return NET_RX_DELIVERED;
      },
    };
    const b = TapBackend.attach(attachment(port), tap);
    const sizes = [60, 61, 1500, 64, 9014, 127];
    tap.send(...sizes.map((n, i) => new Uint8Array(n).fill(i + 1)));
    expect(seen.length).toBe(sizes.length);
    // One buffer for the chunk: no view is made per frame.
    expect(new Set(seen.map((f) => f.buf)).size).toBe(1);
    seen.forEach((f, i) => {
      expect(f).toMatchObject({ hdrLen: HDR, len: HDR + (sizes[i] as number) });
      expect(f.off % 64).toBe(0);
      const frame = f.buf.subarray(f.off + HDR, f.off + f.len);
      expect(frame.every((x) => x === i + 1)).toBe(true);
    });
    expect(b.stats.rx).toMatchObject({ frames: sizes.length, delivered: sizes.length });
  });

  it('RX: large frames take several native calls per wake-up, each frame whole', () => {
    const tap = new FakeTap();
    const port = stubPort();
    TapBackend.attach(attachment(port), tap);
    tap.send(...Array.from({ length: 40 }, (_, i) => new Uint8Array(9014).fill(i)));
    expect(port.seen.map((s) => [s.len, s.first])).toEqual(Array.from({ length: 40 }, (_, i) => [HDR + 9014, i]));
  });

  it('detach stops the watch; a detached port transmits into no carrier', () => {
    const tap = new FakeTap();
    const net = attachment(stubPort());
    const b = TapBackend.attach(net, tap);
    expect(tap.watched).toBe(true);
    b.detach(net.port);
    expect(tap.watched).toBe(false);
    expect(b.transmit(net.port, new Uint8Array(HDR + 60), HDR, HDR + 60, 0)).toBe(NET_RX_NO_CARRIER);
    expect(tap.written).toEqual([]);
  });
});

describe('a guest on a live host behind the tap backend', () => {
  let server: Server | undefined;
  afterEach(() => {
    server?.stop();
    server = undefined;
  });

  for (const device of ['vdpasim_netx', 'vdpasim_net'] as const) {
    it(`${device}: ARP and UDP echo answered from the poll callback alone, no settle`, async () => {
      const tap = new FakeTap();
      const s = startServe({ tap, device });
      server = s;
      tap.send(arpRequest(GUEST_IP));
      await turns();
      const arp = tap.frames()[0] as Uint8Array;
      expect(arp.length).toBe(42);
      expect([...arp.subarray(0, 6)]).toEqual([...macBytes(HOST_MAC)]);
      expect(new DataView(arp.buffer, arp.byteOffset).getUint16(20)).toBe(2);
      const payload = Uint8Array.from({ length: 1000 }, (_, i) => i * 7);
      tap.send(udpTo(s.mac, payload));
      await turns();
      const echo = parseUdp(tap.frames()[1] as Uint8Array);
      expect(echo).toMatchObject({ srcIp: GUEST_IP, dstIp: HOST_IP, srcPort: 7, dstPort: 40000, dstMac: HOST_MAC });
      expect(echo?.payload).toEqual(payload);
      // The written frames carry a zeroed 12-byte header.
      expect([...(tap.written[1] as Uint8Array).subarray(0, HDR)]).toEqual(new Array(HDR).fill(0));
      expect(s.stats().tap).toMatchObject({ rx: { frames: 2, delivered: 2 }, tx: { frames: 2 } });
    });
  }

  for (const [device, hdr] of [
    ['vdpasim_netx', HDR],
    ['vdpasim_netx', 10],
    ['vdpasim_net', HDR],
  ] as const) {
    it(`${device}, ${hdr}-byte tap header: every frame of one wake-up reaches the guest whole, wherever it lies in the read buffer`, async () => {
      const tap = new FakeTap(hdr);
      const s = startServe({ tap, device });
      server = s;
      tap.send(arpRequest(GUEST_IP));
      await turns();
      const payloads = [1, 17, 1000, 64, 1472, 3].map((n, i) => Uint8Array.from({ length: n }, (_, k) => (k * 13 + i) & 0xff));
      tap.send(...payloads.map((p, i) => udpTo(s.mac, p, 41000 + i)));
      await turns();
      const echoes = tap.frames().slice(1).map((f) => parseUdp(f));
      expect(echoes.map((e) => e?.dstPort)).toEqual(payloads.map((_, i) => 41000 + i));
      expect(echoes.map((e) => e?.payload)).toEqual(payloads);
      expect(s.stats().tap.rx).toMatchObject({ frames: 1 + payloads.length, delivered: 1 + payloads.length });
    });
  }

  it('frames for another MAC are dropped by the device filter', async () => {
    const tap = new FakeTap();
    server = startServe({ tap });
    tap.send(udpTo('02:00:00:00:00:99', new Uint8Array(10)));
    await turns();
    expect(server.stats().tap.rx).toMatchObject({ frames: 1, filtered: 1, delivered: 0 });
    expect(tap.written).toEqual([]);
  });

  it('a burst larger than the RX ring: the device counts the overrun, the rest stays in the tap, then flows', async () => {
    const tap = new FakeTap();
    const s = startServe({ tap, device: 'vdpasim_net' });
    server = s;
    const port = s.backend.attached as VdpaSimNet;
    const toPort9 = () => udpFrame({ dstMac: s.mac, srcMac: HOST_MAC, srcIp: HOST_IP, dstIp: GUEST_IP, srcPort: 9, dstPort: 9, payload: new Uint8Array(18) });
    // Two wake-ups before the guest runs: 200 + 100 frames, and the guest posted 256 buffers.
    tap.send(...Array.from({ length: 200 }, toPort9));
    tap.send(...Array.from({ length: 100 }, toPort9));
    // The second wake-up's first chunk: 56 frames fill the ring, its last 8 overrun.
    expect(port.stats.rx.overruns).toBe(8);
    expect(s.stats().tap.rx).toMatchObject({ frames: 264, delivered: 256, overruns: 8 });
    expect(tap.inbox.length).toBe(36);
    await turns();
    tap.send();
    expect(s.stats().tap.rx).toMatchObject({ frames: 300, delivered: 292 });
    await turns();
    expect(s.vm.stack.stats().udp.noPorts).toBe(292);
  });

  it('vdpasim_net truncates a frame beyond PAGE_SIZE as the kernel does; vdpasim_netx delivers it whole', async () => {
    const big = new Uint8Array(6000).fill(0x5a);
    const tapNet = new FakeTap();
    const net = startServe({ tap: tapNet, device: 'vdpasim_net', mtu: 9000 });
    tapNet.send(udpTo(net.mac, big));
    await turns();
    const sim = net.backend.attached as VdpaSimNet;
    // 4096 bytes: the 12-byte header and 4084 bytes of the frame; the guest drops the short IP packet.
    expect(sim.stats.rx).toMatchObject({ pkts: 1, bytes: 4096 });
    expect(net.vm.stack.stats().link.rxBytes).toBe(4084);
    expect(net.vm.stack.stats().drops.PKT_TOO_SMALL).toBe(1);
    expect(tapNet.written).toEqual([]);
    net.stop();

    const tapX = new FakeTap();
    server = startServe({ tap: tapX, device: 'vdpasim_netx', mtu: 9000 });
    tapX.send(arpRequest(GUEST_IP), udpTo(server.mac, big));
    await turns();
    expect((server.backend.attached as VdpaSimNetx).stats.rx[0]).toMatchObject({ pkts: 2, bytes: 2 * HDR + 42 + 42 + 6000 });
    expect(parseUdp(tapX.frames()[1] as Uint8Array)?.payload).toEqual(big);
  });

  it('the capture holds every frame with its queue, direction and verdict', async () => {
    const tap = new FakeTap();
    const sink = new MemorySink();
    server = startServe({ tap, pcap: new PcapngWriter(sink) });
    tap.send(arpRequest(GUEST_IP), udpTo('02:00:00:00:00:99', new Uint8Array(4)), udpTo(server.mac, new Uint8Array(4)));
    await turns();
    const cap = readCapture(sink.bytes());
    expect(cap.interfaces.map((i) => i.name)).toEqual(['vdpa0/q0']);
    expect(cap.packets.map((p) => [p.comment, p.flags, p.data.length])).toEqual([
      ['vdpa0 rx0 delivered', 1, 42],
      ['vdpa0 rx0 filtered', 1, 46],
      ['vdpa0 rx0 delivered', 1, 46],
      ['vdpa0 tx0 delivered', 2, 42],
      ['vdpa0 tx0 delivered', 2, 46],
    ]);
    expect(server.stats().captured).toBe(5);
  });
});
