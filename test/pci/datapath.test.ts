// The virtio-net device behind the transport, driven only through the PCI access interface by a
// test driver with lib/virtio's driver-side split rings: loopback TX -> RX through the receive
// filter, control commands, multiqueue, MSI-X interrupts (with EVENT_IDX), link state,
// mergeable RX buffers, QEMU's drop of frames that do not fit, malformed rings, DMA through the
// platform's IOMMU translation, and the rule that a doorbell never runs device work itself.

import { describe, expect, it } from 'vitest';
import { VHOST_MAP_RW, VhostIotlb } from '../../lib/iotlb/index.js';
import { MemFile, PAGE_SIZE, PhysMem } from '../../lib/mm/index.js';
import { Scheduler } from '../../lib/sched/index.js';
import { VirtqueueSplit } from '../../lib/virtio/index.js';
import { VirtioNetPci } from '../../sim/pci/index.js';
import {
  PCI_COMMAND,
  PCI_COMMAND_MEMORY,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_NEEDS_RESET,
  VIRTIO_F_ACCESS_PLATFORM,
  VIRTIO_F_VERSION_1,
  VIRTIO_NET_CTRL_MAC,
  VIRTIO_NET_CTRL_MAC_ADDR_SET,
  VIRTIO_NET_CTRL_MQ,
  VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
  VIRTIO_NET_CTRL_RX,
  VIRTIO_NET_CTRL_RX_PROMISC,
  VIRTIO_NET_ERR,
  VIRTIO_NET_F_CTRL_MAC_ADDR,
  VIRTIO_NET_F_CTRL_RX,
  VIRTIO_NET_F_CTRL_VQ,
  VIRTIO_NET_F_GUEST_ANNOUNCE,
  VIRTIO_NET_F_MQ,
  VIRTIO_NET_F_MRG_RXBUF,
  VIRTIO_NET_F_STATUS,
  VIRTIO_NET_OK,
  VIRTIO_NET_S_ANNOUNCE,
  VIRTIO_PCI_COMMON_Q_SELECT,
  VIRTIO_PCI_COMMON_Q_DESCLO,
  VIRTIO_PCI_COMMON_Q_AVAILLO,
  VIRTIO_PCI_COMMON_Q_USEDLO,
  VIRTIO_PCI_COMMON_Q_SIZE,
  VIRTIO_PCI_COMMON_Q_MSIX,
  VIRTIO_PCI_COMMON_Q_ENABLE,
  VIRTIO_PCI_COMMON_MSIX,
  VIRTIO_PCI_COMMON_CFGGENERATION,
} from '../../uapi/index.js';
import { Driver, HDR_LEN, MAC_BYTES, type World, bit, enumerate, ethFrame, makeWorld, putPacket } from './helpers.js';

const BASE = bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_ACCESS_PLATFORM);
const CTRL = BASE | bit(VIRTIO_NET_F_CTRL_VQ) | bit(VIRTIO_NET_F_CTRL_RX) | bit(VIRTIO_NET_F_CTRL_MAC_ADDR);
const OTHER_MAC = [0x02, 0, 0, 0, 0, 0x77];

/** RX buffers of `size` bytes on queue `q`. */
function fillRx(d: Driver, q: number, count: number, size = 2048): number[] {
  const bufs: number[] = [];
  for (let i = 0; i < count; i++) {
    const b = d.alloc.alloc(size, 16);
    d.q(q).vq.addInbuf(b, size, b);
    bufs.push(b);
  }
  d.kick(q);
  return bufs;
}

/** One frame through TX queue `q`; the device work runs. */
function send(d: Driver, q: number, frame: Uint8Array): number {
  const buf = d.alloc.alloc(HDR_LEN + frame.length, 16);
  const len = putPacket(d.world.ram, buf, frame);
  d.q(q).vq.addOutbuf(buf, len, buf);
  d.kick(q);
  d.world.settle();
  return len;
}

/** The frames received on RX queue `q` (header stripped). */
function received(d: Driver, q: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let b = d.q(q).vq.getBuf(); b !== undefined; b = d.q(q).vq.getBuf()) {
    out.push(d.world.ram.slice(b + HDR_LEN, b + d.q(q).vq.lastLen));
  }
  return out;
}

/** A control command on the CVQ at `q`; the ack, or undefined if none came back. */
function ctrl(d: Driver, q: number, cls: number, cmd: number, payload: number[] | Uint8Array): number | undefined {
  const out = d.alloc.alloc(2 + payload.length, 16);
  const ack = d.alloc.alloc(1, 16);
  d.world.ram[out] = cls;
  d.world.ram[out + 1] = cmd;
  d.world.ram.set(payload, out + 2);
  d.world.ram[ack] = 0xee;
  d.q(q).vq.addSgs(
    [
      { addr: out, len: 2 + payload.length },
      { addr: ack, len: 1 },
    ],
    1,
    ack,
  );
  d.kick(q);
  d.world.settle();
  return d.q(q).vq.getBuf() === undefined ? undefined : d.world.ram[ack];
}

function net(opts: Parameters<typeof makeWorld>[0] = {}): { w: World; d: Driver } {
  const w = makeWorld(opts);
  return { w, d: new Driver(w) };
}

describe('loopback', () => {
  it('a TX frame to the MAC comes back on RX 0 with its header; both queues interrupt on their vectors', () => {
    const { w, d } = net();
    d.up({ queues: [0, 1] });
    fillRx(d, 0, 4);
    w.irqs.length = 0;
    const frame = ethFrame(MAC_BYTES, [1, 2, 3, 4, 5]);
    const len = send(d, 1, frame);
    expect(d.q(1).vq.getBuf()).toBeDefined();
    expect(d.q(1).vq.lastLen).toBe(0);
    expect(received(d, 0)).toEqual([frame]);
    expect(w.irqs.sort()).toEqual([1, 2]);
    expect(w.fn.stats.tx[0]).toMatchObject({ pkts: 1, bytes: len });
    expect(w.fn.stats.rx[0]).toMatchObject({ pkts: 1, bytes: len });
  });

  it('the doorbell only queues the work: nothing moves until the scheduler runs it', () => {
    const { w, d } = net();
    d.up({ queues: [0, 1] });
    fillRx(d, 0, 1);
    w.settle();
    const buf = d.alloc.alloc(64);
    d.q(1).vq.addOutbuf(buf, putPacket(w.ram, buf, ethFrame(MAC_BYTES, [9])), buf);
    d.kick(1);
    expect(w.fn.stats.tx[0]?.pkts).toBe(0);
    w.settle();
    expect(w.fn.stats.tx[0]?.pkts).toBe(1);
  });

  it('nothing is processed before DRIVER_OK, nor without bus mastering', () => {
    const { w, d } = net();
    d.negotiate(BASE);
    d.setupQueue(0);
    d.setupQueue(1);
    fillRx(d, 0, 1);
    send(d, 1, ethFrame(MAC_BYTES, [1]));
    expect(w.fn.stats.tx[0]?.pkts).toBe(0);
    w.fn.configWrite(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    d.status = d.status | VIRTIO_CONFIG_S_DRIVER_OK;
    d.kick(1);
    w.settle();
    expect(w.fn.stats.tx[0]?.pkts).toBe(0);
    enumerate(w.fn);
    d.kick(1);
    w.settle();
    expect(w.fn.stats.tx[0]?.pkts).toBe(1);
    expect(received(d, 0)).toHaveLength(1);
  });

  it('runts and frames over the MTU are dropped on TX, never truncated', () => {
    const { w, d } = net({ mtu: 100 });
    d.up({ queues: [0, 1] });
    fillRx(d, 0, 2);
    send(d, 1, ethFrame(MAC_BYTES, new Uint8Array(101 + 4)));
    send(d, 1, new Uint8Array(10));
    expect(w.fn.stats.tx[0]).toMatchObject({ pkts: 0, drops: 2 });
    expect(received(d, 0)).toEqual([]);
  });

  it('with the link down TX is dropped, and the change raises a config interrupt', () => {
    const { w, d } = net();
    d.up({ features: BASE | bit(VIRTIO_NET_F_STATUS), queues: [0, 1] });
    fillRx(d, 0, 1);
    w.irqs.length = 0;
    w.fn.setLink(false);
    expect(w.irqs).toEqual([0]);
    send(d, 1, ethFrame(MAC_BYTES, [1]));
    expect(w.fn.stats.tx[0]?.drops).toBe(1);
    expect(received(d, 0)).toEqual([]);
  });
});

describe('receive filter and control queue', () => {
  it('PROMISC off: frames to another unicast MAC are dropped, to ours delivered', () => {
    const { w, d } = net();
    d.up({ features: CTRL, queues: [0, 1, 2] });
    fillRx(d, 0, 4);
    expect(ctrl(d, 2, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, [0])).toBe(VIRTIO_NET_OK);
    send(d, 1, ethFrame(OTHER_MAC, [1]));
    send(d, 1, ethFrame(MAC_BYTES, [2]));
    expect(received(d, 0).map((f) => f[14])).toEqual([2]);
    expect(w.fn.stats.rx[0]?.drops).toBe(1);
    expect(w.fn.stats.cq).toEqual({ requests: 1, successes: 1, errors: 0 });
  });

  it('MAC_ADDR_SET changes the config MAC and the filter; reset brings the configured MAC back', () => {
    const { w, d } = net();
    d.up({ features: CTRL, queues: [0, 1, 2] });
    fillRx(d, 0, 4);
    ctrl(d, 2, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, [0]);
    expect(ctrl(d, 2, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, OTHER_MAC)).toBe(VIRTIO_NET_OK);
    expect([0, 1, 2, 3, 4, 5].map((k) => d.cfg8(k))).toEqual(OTHER_MAC);
    // The driver asked for it: no config interrupt, no new generation (as QEMU).
    expect(d.r(VIRTIO_PCI_COMMON_CFGGENERATION, 1)).toBe(0);
    send(d, 1, ethFrame(MAC_BYTES, [1]));
    send(d, 1, ethFrame(OTHER_MAC, [2]));
    expect(received(d, 0).map((f) => f[14])).toEqual([2]);
    d.status = 0;
    expect([0, 1, 2, 3, 4, 5].map((k) => d.cfg8(k))).toEqual([...MAC_BYTES]);
    expect(w.fn.n.promisc).toBe(1);
  });

  it('a command the device does not know is answered VIRTIO_NET_ERR', () => {
    const { d } = net();
    d.up({ features: CTRL, queues: [0, 1, 2] });
    expect(ctrl(d, 2, 0x7f, 0, [])).toBe(VIRTIO_NET_ERR);
  });

  it('a command without an ack buffer breaks the device (virtio-net ctrl missing headers)', () => {
    const { w, d } = net();
    d.up({ features: CTRL, queues: [0, 1, 2] });
    const out = d.alloc.alloc(16);
    d.q(2).vq.addOutbuf(out, 3, out);
    d.kick(2);
    w.settle();
    expect(w.fn.broken).toBe(true);
    expect(d.status & VIRTIO_CONFIG_S_NEEDS_RESET).toBe(VIRTIO_CONFIG_S_NEEDS_RESET);
  });

  it('the CVQ is not served unless CTRL_VQ was negotiated', () => {
    const { d } = net();
    d.up({ queues: [0, 1, 2] });
    expect(ctrl(d, 2, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, [0])).toBeUndefined();
  });

  it('announce: S_ANNOUNCE and a config interrupt with GUEST_ANNOUNCE and CTRL_VQ negotiated', () => {
    const { w, d } = net({ guestAnnounce: true });
    d.up({ features: CTRL | bit(VIRTIO_NET_F_GUEST_ANNOUNCE) | bit(VIRTIO_NET_F_STATUS), queues: [0, 1, 2] });
    w.irqs.length = 0;
    expect(w.fn.announce()).toBe(true);
    expect(d.cfg16(6) & VIRTIO_NET_S_ANNOUNCE).toBe(VIRTIO_NET_S_ANNOUNCE);
    expect(w.irqs).toEqual([0]);
  });
});

describe('multiqueue', () => {
  it('with MQ the CVQ is 2N; VQ_PAIRS_SET 2 makes pair 1 carry traffic (TX 3 -> RX 2)', () => {
    const { w, d } = net({ maxQueuePairs: 2 });
    d.up({ features: CTRL | bit(VIRTIO_NET_F_MQ), queues: [0, 1, 2, 3, 4] });
    expect(w.fn.cvqIndex()).toBe(4);
    fillRx(d, 0, 2);
    fillRx(d, 2, 2);
    send(d, 3, ethFrame(MAC_BYTES, [1]));
    expect(w.fn.stats.tx[1]?.pkts).toBe(0);
    expect(ctrl(d, 4, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, [2, 0])).toBe(VIRTIO_NET_OK);
    d.kick(3);
    w.settle();
    expect(w.fn.stats.tx[1]?.pkts).toBe(1);
    expect(received(d, 2).map((f) => f[14])).toEqual([1]);
    expect(received(d, 0)).toEqual([]);
    expect(ctrl(d, 4, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, [3, 0])).toBe(VIRTIO_NET_ERR);
  });

  it('without MQ the CVQ stays at 2 and VQ_PAIRS_SET is refused', () => {
    const { w, d } = net({ maxQueuePairs: 2 });
    d.up({ features: CTRL, queues: [0, 1, 2] });
    expect(w.fn.cvqIndex()).toBe(2);
    expect(ctrl(d, 2, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, [1, 0])).toBe(VIRTIO_NET_ERR);
  });
});

describe('interrupts', () => {
  it('with EVENT_IDX the device interrupts only when used_event asks', () => {
    const { w, d } = net();
    d.up({ queues: [0, 1], eventIdx: true });
    fillRx(d, 0, 4);
    w.irqs.length = 0;
    d.q(0).vq.enableCb();
    send(d, 1, ethFrame(MAC_BYTES, [1]));
    send(d, 1, ethFrame(MAC_BYTES, [2]));
    // RX (vector 1) once: the driver did not move used_event after the first.
    expect(w.irqs.filter((v) => v === 1)).toEqual([1]);
    expect(received(d, 0)).toHaveLength(2);
    send(d, 1, ethFrame(MAC_BYTES, [3]));
    expect(w.irqs.filter((v) => v === 1)).toEqual([1, 1]);
  });

  it('without a queue vector no MSI is sent, but ISR bit 0 is set', () => {
    const { w, d } = net();
    d.negotiate(BASE);
    d.enableMsix();
    d.setupQueue(0);
    d.setupQueue(1);
    d.status = d.status | VIRTIO_CONFIG_S_DRIVER_OK;
    fillRx(d, 0, 1);
    send(d, 1, ethFrame(MAC_BYTES, [1]));
    expect(w.irqs).toEqual([]);
    expect(d.readIsr()).toBe(1);
  });
});

describe('RX buffers', () => {
  it('MRG_RXBUF: a frame spans buffers and num_buffers says how many', () => {
    const { w, d } = net({ mrgRxbuf: true });
    d.up({ features: BASE | bit(VIRTIO_NET_F_MRG_RXBUF), queues: [0, 1] });
    const bufs = fillRx(d, 0, 4, 64);
    const payload = Array.from({ length: 136 }, (_, i) => i);
    const frame = ethFrame(MAC_BYTES, payload);
    send(d, 1, frame);
    const got: number[][] = [];
    for (let b = d.q(0).vq.getBuf(); b !== undefined; b = d.q(0).vq.getBuf()) got.push([b, d.q(0).vq.lastLen]);
    expect(got).toEqual([
      [bufs[0], 64],
      [bufs[1], 64],
      [bufs[2], HDR_LEN + frame.length - 128],
    ]);
    const b0 = bufs[0] as number;
    expect(w.ram[b0 + 10]).toBe(3);
    const stream = [...w.ram.slice(b0, b0 + 64), ...w.ram.slice(bufs[1], (bufs[1] as number) + 64), ...w.ram.slice(bufs[2], (bufs[2] as number) + 34)];
    expect(Uint8Array.from(stream.slice(HDR_LEN))).toEqual(frame);
  });

  it('MRG_RXBUF: a frame that runs out of buffers is dropped and the buffers stay available', () => {
    const { w, d } = net({ mrgRxbuf: true });
    d.up({ features: BASE | bit(VIRTIO_NET_F_MRG_RXBUF), queues: [0, 1] });
    fillRx(d, 0, 2, 64);
    send(d, 1, ethFrame(MAC_BYTES, new Uint8Array(200)));
    expect(w.fn.stats.rx[0]?.overruns).toBe(1);
    expect(w.fn.vqs[0]?.lastAvail).toBe(0);
    send(d, 1, ethFrame(MAC_BYTES, [7]));
    expect(received(d, 0).map((f) => f[14])).toEqual([7]);
  });

  it('without MRG_RXBUF a frame that does not fit is dropped and its buffer given back (virtqueue_unpop)', () => {
    const { w, d } = net();
    d.up({ queues: [0, 1] });
    fillRx(d, 0, 1, 64);
    send(d, 1, ethFrame(MAC_BYTES, new Uint8Array(100)));
    expect(w.fn.stats.rx[0]?.errors).toBe(1);
    expect(w.fn.vqs[0]?.lastAvail).toBe(0);
    send(d, 1, ethFrame(MAC_BYTES, [5]));
    expect(received(d, 0).map((f) => f[14])).toEqual([5]);
  });

  it('an empty RX queue is an overrun', () => {
    const { w, d } = net();
    d.up({ queues: [0, 1] });
    send(d, 1, ethFrame(MAC_BYTES, [1]));
    expect(w.fn.stats.rx[0]?.overruns).toBe(1);
    expect(w.fn.stats.tx[0]?.pkts).toBe(1);
  });
});

describe('malformed rings', () => {
  it('a head out of range breaks the device: NEEDS_RESET, a config interrupt, no more work', () => {
    const { w, d } = net();
    d.up({ queues: [0, 1] });
    const q = d.q(1);
    const v = new DataView(w.ram.buffer, w.ram.byteOffset, w.ram.byteLength);
    v.setUint16(q.avail + 4, q.num + 5, true);
    v.setUint16(q.avail + 2, 1, true);
    w.irqs.length = 0;
    d.kick(1);
    w.settle();
    expect(w.fn.broken).toBe(true);
    expect(d.status & VIRTIO_CONFIG_S_NEEDS_RESET).toBe(VIRTIO_CONFIG_S_NEEDS_RESET);
    expect(w.irqs).toEqual([0]);
    d.kick(1);
    expect(w.sched.idle).toBe(true);
  });

  it('a ring that the IOMMU stops translating breaks the device instead of reaching memory', () => {
    const { w, d } = net();
    d.up({ queues: [0, 1] });
    fillRx(d, 0, 1);
    const buf = d.alloc.alloc(64);
    d.q(1).vq.addOutbuf(buf, putPacket(w.ram, buf, ethFrame(MAC_BYTES, [1])), buf);
    w.iotlb.reset();
    d.kick(1);
    w.settle();
    expect(w.fn.broken).toBe(true);
  });
});

describe('DMA through the platform IOMMU', () => {
  it('device addresses are IOVAs: rings and buffers at IOVA 0x4000_0000 + offset reach guest RAM', () => {
    const ramSize = 4 << 20;
    const iovaBase = 0x4000_0000;
    const phys = new PhysMem();
    const file = MemFile.create(phys, 'ram', ramSize);
    file.obj.populate(0, file.obj.pages);
    const iotlb = new VhostIotlb();
    iotlb.addRange(BigInt(iovaBase), BigInt(iovaBase + ramSize - 1), BigInt((file.obj.pfn[0] as number) * PAGE_SIZE), VHOST_MAP_RW);
    const sched = new Scheduler();
    const irqs: number[] = [];
    const fn = new VirtioNetPci({ mac: MAC_BYTES, schedule: (wk) => sched.queue(wk) });
    fn.plug({ dma: { iotlb, mem: phys }, msix: (v) => irqs.push(v) });
    const w: World = { phys, ram: file.obj.bytes, ramSize, iotlb, sched, irqs, fn, settle: () => sched.drain() };
    const d = new Driver(w);
    expect(d.negotiate(BASE)).toBe(true);
    d.enableMsix();
    d.wr(VIRTIO_PCI_COMMON_MSIX, 2, 0);
    const rings: VirtqueueSplit<number>[] = [];
    for (const q of [0, 1]) {
      const desc = d.alloc.alloc(16 * 256);
      const avail = d.alloc.alloc(6 + 2 * 256, 2);
      const used = d.alloc.alloc(6 + 8 * 256);
      rings.push(new VirtqueueSplit<number>({ mem: w.ram, memBase: iovaBase, num: 256, desc: iovaBase + desc, avail: iovaBase + avail, used: iovaBase + used }));
      d.wr(VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
      d.wr(VIRTIO_PCI_COMMON_Q_SIZE, 2, 256);
      d.wr(VIRTIO_PCI_COMMON_Q_DESCLO, 4, iovaBase + desc);
      d.wr(VIRTIO_PCI_COMMON_Q_AVAILLO, 4, iovaBase + avail);
      d.wr(VIRTIO_PCI_COMMON_Q_USEDLO, 4, iovaBase + used);
      d.wr(VIRTIO_PCI_COMMON_Q_MSIX, 2, q + 1);
      d.wr(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
    }
    d.status = d.status | VIRTIO_CONFIG_S_DRIVER_OK;
    const [rx, tx] = rings as [VirtqueueSplit<number>, VirtqueueSplit<number>];
    const rxBuf = d.alloc.alloc(2048);
    rx.addInbuf(iovaBase + rxBuf, 2048, rxBuf);
    const txBuf = d.alloc.alloc(2048);
    const frame = ethFrame(MAC_BYTES, [0xab, 0xcd]);
    tx.addOutbuf(iovaBase + txBuf, putPacket(w.ram, txBuf, frame), txBuf);
    w.fn.barWrite(4, 0x3000 + 4, 2, 1);
    w.settle();
    expect(rx.getBuf()).toBe(rxBuf);
    expect(w.ram.slice(rxBuf + HDR_LEN, rxBuf + rx.lastLen)).toEqual(frame);
  });
});

describe('robustness', () => {
  it('random register traffic on every BAR never throws', () => {
    const { w, d } = net({ lm: { dirty: 'complete' }, maxQueuePairs: 2 });
    d.up({ features: CTRL | bit(VIRTIO_NET_F_MQ), queues: [0, 1, 2, 3, 4] });
    let x = 12345;
    const rnd = () => ((x = (x * 1103515245 + 12345) >>> 0), x);
    const sizes = [1, 2, 4, 8] as const;
    expect(() => {
      for (let i = 0; i < 20000; i++) {
        const bar = rnd() % 6;
        const size = sizes[rnd() % 4] as 1 | 2 | 4 | 8;
        const off = rnd() % 0x9000;
        if (rnd() & 1) w.fn.barRead(bar, off, size);
        else w.fn.barWrite(bar, off, size, size === 8 ? BigInt(rnd()) << 32n : rnd());
        if (i % 1000 === 0) w.settle();
      }
      for (let i = 0; i < 2000; i++) {
        const off = rnd() % 0x100;
        // Leave BAR decode and bus mastering on, so the BAR traffic keeps reaching the device.
        if (off < 8) continue;
        w.fn.configWrite(off, 1, rnd());
      }
      w.settle();
    }).not.toThrow();
  });

  it('the options are checked', () => {
    const schedule = () => {};
    expect(() => new VirtioNetPci({ schedule, maxQueuePairs: 17 })).toThrow(RangeError);
    expect(() => new VirtioNetPci({ schedule, mtu: 9001 })).toThrow(RangeError);
    expect(() => new VirtioNetPci({ schedule, mac: 'zz' })).toThrow(RangeError);
  });
});

