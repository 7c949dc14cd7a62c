// Register-level tests of the transport: every common-config field with QEMU's semantics
// (virtio_pci_common_read/write), the status rules (reset, FEATURES_OK, DRIVER_OK), access widths,
// ISR read-to-clear, the notify region (with and without page-per-vq) and the device config.

import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_NEEDS_RESET,
  VIRTIO_F_ACCESS_PLATFORM,
  VIRTIO_F_ANY_LAYOUT,
  VIRTIO_F_VERSION_1,
  VIRTIO_MSI_NO_VECTOR,
  VIRTIO_NET_F_CSUM,
  VIRTIO_NET_F_CTRL_MAC_ADDR,
  VIRTIO_NET_F_CTRL_RX,
  VIRTIO_NET_F_CTRL_RX_EXTRA,
  VIRTIO_NET_F_CTRL_VLAN,
  VIRTIO_NET_F_CTRL_VQ,
  VIRTIO_NET_F_GUEST_ANNOUNCE,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_MQ,
  VIRTIO_NET_F_MRG_RXBUF,
  VIRTIO_NET_F_MTU,
  VIRTIO_NET_F_STATUS,
  VIRTIO_NET_S_LINK_UP,
  VIRTIO_PCI_COMMON_ADM_Q_IDX,
  VIRTIO_PCI_COMMON_ADM_Q_NUM,
  VIRTIO_PCI_COMMON_CFGGENERATION,
  VIRTIO_PCI_COMMON_DF,
  VIRTIO_PCI_COMMON_DFSELECT,
  VIRTIO_PCI_COMMON_GF,
  VIRTIO_PCI_COMMON_GFSELECT,
  VIRTIO_PCI_COMMON_MSIX,
  VIRTIO_PCI_COMMON_NUMQ,
  VIRTIO_PCI_COMMON_Q_AVAILHI,
  VIRTIO_PCI_COMMON_Q_AVAILLO,
  VIRTIO_PCI_COMMON_Q_DESCHI,
  VIRTIO_PCI_COMMON_Q_DESCLO,
  VIRTIO_PCI_COMMON_Q_ENABLE,
  VIRTIO_PCI_COMMON_Q_MSIX,
  VIRTIO_PCI_COMMON_Q_NDATA,
  VIRTIO_PCI_COMMON_Q_NOFF,
  VIRTIO_PCI_COMMON_Q_RESET,
  VIRTIO_PCI_COMMON_Q_SELECT,
  VIRTIO_PCI_COMMON_Q_SIZE,
  VIRTIO_PCI_COMMON_Q_USEDHI,
  VIRTIO_PCI_COMMON_Q_USEDLO,
  VIRTIO_PCI_COMMON_STATUS,
  VIRTIO_RING_F_EVENT_IDX,
  VIRTIO_RING_F_INDIRECT_DESC,
} from '../../uapi/index.js';
import { Driver, MAC_BYTES, bit, makeWorld } from './helpers.js';

const ACK_DRIVER = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
const BASE = bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_ACCESS_PLATFORM);

const kicks: number[] = [];
const onKick = (m: unknown) => kicks.push((m as { vq: number }).vq);
subscribe('vdpa:pci:notify', onKick);
afterEach(() => {
  kicks.length = 0;
});
afterAll(() => unsubscribe('vdpa:pci:notify', onKick));

function driver(opts: Parameters<typeof makeWorld>[0] = {}) {
  const w = makeWorld(opts);
  return { w, d: new Driver(w) };
}

describe('feature windows', () => {
  it('device_feature shows the offered features, 32 bits per device_feature_select; ANY_LAYOUT is legacy-only and hidden', () => {
    const { d } = driver();
    const expected =
      BASE |
      bit(VIRTIO_RING_F_EVENT_IDX) |
      bit(VIRTIO_RING_F_INDIRECT_DESC) |
      bit(VIRTIO_NET_F_MAC) |
      bit(VIRTIO_NET_F_MTU) |
      bit(VIRTIO_NET_F_STATUS) |
      bit(VIRTIO_NET_F_CTRL_VQ) |
      bit(VIRTIO_NET_F_CTRL_RX) |
      bit(VIRTIO_NET_F_CTRL_VLAN) |
      bit(VIRTIO_NET_F_CTRL_RX_EXTRA) |
      bit(VIRTIO_NET_F_MQ) |
      bit(VIRTIO_NET_F_CTRL_MAC_ADDR);
    expect(d.deviceFeatures()).toBe(expected);
    expect(d.deviceFeatures() & bit(VIRTIO_F_ANY_LAYOUT)).toBe(0n);
    d.wr(VIRTIO_PCI_COMMON_DFSELECT, 4, 2);
    expect(d.r(VIRTIO_PCI_COMMON_DFSELECT, 4)).toBe(2);
    expect(d.r(VIRTIO_PCI_COMMON_DF, 4)).toBe(0);
  });

  it('GUEST_ANNOUNCE and MRG_RXBUF are offered on request', () => {
    const { d } = driver({ guestAnnounce: true, mrgRxbuf: true });
    expect(d.deviceFeatures() & (bit(VIRTIO_NET_F_GUEST_ANNOUNCE) | bit(VIRTIO_NET_F_MRG_RXBUF))).toBe(bit(VIRTIO_NET_F_GUEST_ANNOUNCE) | bit(VIRTIO_NET_F_MRG_RXBUF));
  });

  it('driver_feature reads back what was written per driver_feature_select; select >= 2 reads 0 and drops writes', () => {
    const { w, d } = driver();
    d.writeFeatures(BASE | bit(VIRTIO_NET_F_MAC));
    d.wr(VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
    expect(d.r(VIRTIO_PCI_COMMON_GF, 4)).toBe(1 << VIRTIO_NET_F_MAC);
    d.wr(VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
    expect(d.r(VIRTIO_PCI_COMMON_GF, 4)).toBe(3);
    d.wr(VIRTIO_PCI_COMMON_GFSELECT, 4, 2);
    d.wr(VIRTIO_PCI_COMMON_GF, 4, 0xffffffff);
    expect(d.r(VIRTIO_PCI_COMMON_GF, 4)).toBe(0);
    expect(w.fn.guestFeatures).toBe(BASE | bit(VIRTIO_NET_F_MAC));
  });

  it('an 8-byte read is two 4-byte accesses: device_feature_select | device_feature << 32', () => {
    const { d } = driver();
    d.wr(VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
    expect(d.r64(VIRTIO_PCI_COMMON_DFSELECT)).toBe(1n | (3n << 32n));
  });

  it('a 1-byte write to driver_feature stores that byte as the whole word (dispatch by offset)', () => {
    const { d } = driver();
    d.wr(VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
    d.wr(VIRTIO_PCI_COMMON_GF, 4, 0x12345678);
    d.wr(VIRTIO_PCI_COMMON_GF, 1, 0xab);
    expect(d.r(VIRTIO_PCI_COMMON_GF, 4)).toBe(0xab);
    // Reads return the field's low bytes; an offset inside a field reads 0.
    expect(d.r(VIRTIO_PCI_COMMON_DF, 2)).toBe(Number(d.deviceFeatures() & 0xffffn) & 0xffff);
    d.wr(VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
    expect(d.r(VIRTIO_PCI_COMMON_DF + 1, 1)).toBe(0);
  });

  it('features written after FEATURES_OK are stored in the window but not taken (virtio_set_features)', () => {
    const { w, d } = driver();
    expect(d.negotiate(BASE)).toBe(true);
    d.writeFeatures(BASE | bit(VIRTIO_NET_F_MAC));
    d.wr(VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
    expect(d.r(VIRTIO_PCI_COMMON_GF, 4)).toBe(1 << VIRTIO_NET_F_MAC);
    expect(w.fn.guestFeatures).toBe(BASE);
  });
});

describe('device_status', () => {
  it('FEATURES_OK stays clear when the driver acked a feature the device does not offer', () => {
    const { w, d } = driver();
    expect(d.negotiate(BASE | bit(VIRTIO_NET_F_CSUM))).toBe(false);
    expect(d.status).toBe(ACK_DRIVER);
    expect(d.negotiate(BASE | bit(VIRTIO_F_ANY_LAYOUT))).toBe(false);
    expect(d.negotiate(BASE)).toBe(true);
    expect(w.fn.guestFeatures).toBe(BASE);
  });

  it('FEATURES_OK stays clear when ACCESS_PLATFORM is offered and not accepted (virtio_validate_features)', () => {
    const { d } = driver();
    expect(d.negotiate(bit(VIRTIO_F_VERSION_1))).toBe(false);
  });

  it('DRIVER_OK starts the device: work is scheduled, not run', () => {
    const { w, d } = driver();
    d.negotiate(BASE);
    d.status = d.status | VIRTIO_CONFIG_S_DRIVER_OK;
    expect(w.sched.idle).toBe(false);
    expect(w.settle()).toBe(1);
  });

  it('writing 0 resets the device synchronously: queues, vectors, features, select, ISR', () => {
    const { w, d } = driver();
    d.up({ queues: [0, 1, 2] });
    w.fn.setLink(false);
    expect(w.fn.isr).toBe(3);
    d.wr(VIRTIO_PCI_COMMON_Q_SELECT, 2, 1);
    d.wr(VIRTIO_PCI_COMMON_Q_SIZE, 2, 128);
    d.status = 0;
    expect(d.status).toBe(0);
    expect(w.fn.guestFeatures).toBe(0n);
    expect(w.fn.isr).toBe(0);
    expect(d.r(VIRTIO_PCI_COMMON_MSIX, 2)).toBe(VIRTIO_MSI_NO_VECTOR);
    expect(d.r(VIRTIO_PCI_COMMON_Q_SELECT, 2)).toBe(0);
    for (const q of [0, 1, 2]) {
      d.wr(VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
      expect(d.r(VIRTIO_PCI_COMMON_Q_ENABLE, 2)).toBe(0);
      expect(d.r(VIRTIO_PCI_COMMON_Q_SIZE, 2)).toBe(q === 2 ? 64 : 256);
      expect(d.r(VIRTIO_PCI_COMMON_Q_MSIX, 2)).toBe(VIRTIO_MSI_NO_VECTOR);
      expect(d.r(VIRTIO_PCI_COMMON_Q_DESCLO, 4)).toBe(0);
      expect(d.r(VIRTIO_PCI_COMMON_Q_USEDLO, 4)).toBe(0);
    }
  });

  it("reset keeps the feature selects and the driver's feature words (virtio_pci_reset does not clear them)", () => {
    const { d } = driver();
    d.negotiate(BASE);
    d.wr(VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
    d.status = 0;
    expect(d.r(VIRTIO_PCI_COMMON_DFSELECT, 4)).toBe(1);
    expect(d.r(VIRTIO_PCI_COMMON_GFSELECT, 4)).toBe(1);
    expect(d.r(VIRTIO_PCI_COMMON_GF, 4)).toBe(3);
  });

  it('a 4-byte write at device_status sets the status only (config_generation is its own offset)', () => {
    const { w, d } = driver();
    d.wr(VIRTIO_PCI_COMMON_STATUS, 4, 0x00000101);
    expect(d.status).toBe(1);
    expect(w.fn.generation).toBe(0);
  });

  it('NEEDS_RESET and a config interrupt on a device error once VERSION_1 is negotiated', () => {
    const { w, d } = driver();
    d.up({ queues: [0, 1] });
    d.wr(VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
    d.wr(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 0);
    expect(d.status & VIRTIO_CONFIG_S_NEEDS_RESET).toBe(VIRTIO_CONFIG_S_NEEDS_RESET);
    expect(w.fn.broken).toBe(true);
    expect(w.irqs).toEqual([0]);
    d.status = 0;
    expect(w.fn.broken).toBe(false);
  });
});

describe('config_generation and msix_config', () => {
  it('config_generation moves when the device config changes after DRIVER_OK (virtio_notify_config), not before', () => {
    const { w, d } = driver();
    d.negotiate(BASE | bit(VIRTIO_NET_F_STATUS));
    w.fn.setLink(false);
    expect(d.r(VIRTIO_PCI_COMMON_CFGGENERATION, 1)).toBe(0);
    d.status = d.status | VIRTIO_CONFIG_S_DRIVER_OK;
    w.fn.setLink(true);
    expect(d.r(VIRTIO_PCI_COMMON_CFGGENERATION, 1)).toBe(1);
    w.fn.setLink(true);
    expect(d.r(VIRTIO_PCI_COMMON_CFGGENERATION, 1)).toBe(1);
  });

  it('msix_config takes a vector in range and reads NO_VECTOR (0xffff) otherwise', () => {
    const { d } = driver();
    d.wr(VIRTIO_PCI_COMMON_MSIX, 2, 1);
    expect(d.r(VIRTIO_PCI_COMMON_MSIX, 2)).toBe(1);
    d.wr(VIRTIO_PCI_COMMON_MSIX, 2, 4);
    expect(d.r(VIRTIO_PCI_COMMON_MSIX, 2)).toBe(VIRTIO_MSI_NO_VECTOR);
  });

  it('num_queues is 2 * pairs + 1', () => {
    expect(driver().d.r(VIRTIO_PCI_COMMON_NUMQ, 2)).toBe(3);
    expect(driver({ maxQueuePairs: 4 }).d.r(VIRTIO_PCI_COMMON_NUMQ, 2)).toBe(9);
  });
});

describe('queue fields', () => {
  it('queue_select takes indices below 1024; a queue that does not exist has size 0', () => {
    const { d } = driver();
    d.wr(VIRTIO_PCI_COMMON_Q_SELECT, 2, 1023);
    expect(d.r(VIRTIO_PCI_COMMON_Q_SELECT, 2)).toBe(1023);
    expect(d.r(VIRTIO_PCI_COMMON_Q_SIZE, 2)).toBe(0);
    d.wr(VIRTIO_PCI_COMMON_Q_SIZE, 2, 64);
    expect(d.r(VIRTIO_PCI_COMMON_Q_SIZE, 2)).toBe(0);
    d.wr(VIRTIO_PCI_COMMON_Q_SELECT, 2, 1024);
    expect(d.r(VIRTIO_PCI_COMMON_Q_SELECT, 2)).toBe(1023);
  });

  it('queue_size: 256 for data queues, 64 for the CVQ at 2 (no MQ) or at 2N (MQ)', () => {
    const { d } = driver({ maxQueuePairs: 2 });
    const size = (q: number) => (d.wr(VIRTIO_PCI_COMMON_Q_SELECT, 2, q), d.r(VIRTIO_PCI_COMMON_Q_SIZE, 2));
    expect([0, 1, 2, 3, 4].map(size)).toEqual([256, 256, 64, 256, 256]);
    d.negotiate(BASE | bit(VIRTIO_NET_F_CTRL_VQ) | bit(VIRTIO_NET_F_MQ));
    expect([0, 1, 2, 3, 4].map(size)).toEqual([256, 256, 256, 256, 64]);
    // A reset keeps the layout (QEMU's n->multiqueue) until features are set again.
    d.status = 0;
    expect([0, 1, 2, 3, 4].map(size)).toEqual([256, 256, 256, 256, 64]);
    d.negotiate(BASE | bit(VIRTIO_NET_F_CTRL_VQ));
    expect([0, 1, 2, 3, 4].map(size)).toEqual([256, 256, 64, 256, 256]);
  });

  it('queue_size takes powers of two up to 1024 (VIRTQUEUE_MAX_SIZE) and ignores 0, others and larger', () => {
    const { d } = driver();
    d.wr(VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
    for (const [write, read] of [
      [128, 128],
      [1024, 1024],
      [0, 1024],
      [100, 1024],
      [2048, 1024],
      [16, 16],
    ] as const) {
      d.wr(VIRTIO_PCI_COMMON_Q_SIZE, 2, write);
      expect(d.r(VIRTIO_PCI_COMMON_Q_SIZE, 2)).toBe(read);
    }
  });

  it('queue_msix_vector takes a vector in range, NO_VECTOR otherwise (also for queues that do not exist)', () => {
    const { d } = driver();
    d.wr(VIRTIO_PCI_COMMON_Q_SELECT, 2, 1);
    d.wr(VIRTIO_PCI_COMMON_Q_MSIX, 2, 3);
    expect(d.r(VIRTIO_PCI_COMMON_Q_MSIX, 2)).toBe(3);
    d.wr(VIRTIO_PCI_COMMON_Q_MSIX, 2, 4);
    expect(d.r(VIRTIO_PCI_COMMON_Q_MSIX, 2)).toBe(VIRTIO_MSI_NO_VECTOR);
    d.wr(VIRTIO_PCI_COMMON_Q_SELECT, 2, 500);
    d.wr(VIRTIO_PCI_COMMON_Q_MSIX, 2, 2);
    expect(d.r(VIRTIO_PCI_COMMON_Q_MSIX, 2)).toBe(2);
  });

  it('queue_enable: 1 enables (and reads 1); any other value breaks the device', () => {
    const { w, d } = driver();
    d.negotiate(BASE);
    d.setupQueue(0);
    expect(d.r(VIRTIO_PCI_COMMON_Q_ENABLE, 2)).toBe(1);
    expect(w.fn.vqs[0]?.live).toBe(true);
    d.wr(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 2);
    expect(w.fn.broken).toBe(true);
    expect(d.status & VIRTIO_CONFIG_S_NEEDS_RESET).toBe(VIRTIO_CONFIG_S_NEEDS_RESET);
  });

  it('queue_notify_off is the queue index', () => {
    const { d } = driver({ maxQueuePairs: 2 });
    for (const q of [0, 3, 4, 700]) {
      d.wr(VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
      expect(d.r(VIRTIO_PCI_COMMON_Q_NOFF, 2)).toBe(q);
    }
  });

  it('queue_desc/driver/device are 64 bits as lo/hi pairs, also readable with one 8-byte access', () => {
    const { d } = driver();
    d.wr(VIRTIO_PCI_COMMON_Q_SELECT, 2, 1);
    const fields = [VIRTIO_PCI_COMMON_Q_DESCLO, VIRTIO_PCI_COMMON_Q_DESCHI, VIRTIO_PCI_COMMON_Q_AVAILLO, VIRTIO_PCI_COMMON_Q_AVAILHI, VIRTIO_PCI_COMMON_Q_USEDLO, VIRTIO_PCI_COMMON_Q_USEDHI];
    fields.forEach((f, k) => d.wr(f, 4, 0x1000 * (k + 1) + k));
    fields.forEach((f, k) => expect(d.r(f, 4)).toBe(0x1000 * (k + 1) + k));
    d.fn.barWrite(4, VIRTIO_PCI_COMMON_Q_USEDLO, 8, 0x1_2345_6000n);
    expect(d.r64(VIRTIO_PCI_COMMON_Q_USEDLO)).toBe(0x1_2345_6000n);
    d.wr(VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
    expect(d.r(VIRTIO_PCI_COMMON_Q_DESCLO, 4)).toBe(0);
  });

  it('queue_reset = 1 resets the queue whatever was negotiated (as QEMU); the ring addresses stay in the window', () => {
    const { w, d } = driver();
    d.negotiate(BASE);
    const q = d.setupQueue(0, { num: 128 });
    d.wr(VIRTIO_PCI_COMMON_Q_RESET, 2, 1);
    expect(d.r(VIRTIO_PCI_COMMON_Q_RESET, 2)).toBe(0);
    expect(d.r(VIRTIO_PCI_COMMON_Q_ENABLE, 2)).toBe(0);
    expect(d.r(VIRTIO_PCI_COMMON_Q_SIZE, 2)).toBe(256);
    expect(d.r(VIRTIO_PCI_COMMON_Q_DESCLO, 4)).toBe(q.desc);
    expect(w.fn.vqs[0]?.live).toBe(false);
    d.wr(VIRTIO_PCI_COMMON_Q_RESET, 2, 2);
    expect(d.r(VIRTIO_PCI_COMMON_Q_RESET, 2)).toBe(0);
  });

  it('queue_notify_data and the admin-queue fields are not decoded: read 0, writes dropped', () => {
    const { d } = driver();
    for (const off of [VIRTIO_PCI_COMMON_Q_NDATA, VIRTIO_PCI_COMMON_ADM_Q_IDX, VIRTIO_PCI_COMMON_ADM_Q_NUM]) {
      d.wr(off, 2, 0x55);
      expect(d.r(off, 2)).toBe(0);
    }
    expect(d.r(0x40, 4)).toBe(0);
    expect(d.r(0xffc, 4)).toBe(0);
  });

  it('an unaligned 4-byte write at queue_select is split: queue_select takes the low half, queue_size the high half', () => {
    const { d } = driver();
    d.wr(VIRTIO_PCI_COMMON_Q_SELECT, 4, (128 << 16) | 1);
    expect(d.r(VIRTIO_PCI_COMMON_Q_SELECT, 2)).toBe(1);
    expect(d.r(VIRTIO_PCI_COMMON_Q_SIZE, 2)).toBe(128);
    // And a read there gathers both.
    expect(d.r(VIRTIO_PCI_COMMON_Q_SELECT, 4)).toBe((128 << 16) | 1);
  });
});

describe('ISR', () => {
  it('is read-to-clear, at any offset of its region: 1 for a queue, 3 for a config change', () => {
    const { w, d } = driver();
    d.up({ queues: [0, 1] });
    w.fn.setLink(false);
    expect(w.fn.barRead(4, 0x1000 + 7, 1)).toBe(3);
    expect(d.readIsr()).toBe(0);
    w.fn.isr |= 1;
    expect(d.readIsr()).toBe(1);
    expect(d.readIsr()).toBe(0);
    w.fn.barWrite(4, 0x1000, 1, 0xff);
    expect(d.readIsr()).toBe(0);
  });
});

describe('notify region', () => {
  it('a 2-byte write at queue_notify_off * 4 kicks that queue; the work runs later, on the scheduler', () => {
    const { w, d } = driver({ maxQueuePairs: 2 });
    d.up({ queues: [0, 1, 2, 3, 4] });
    w.settle();
    d.kick(3);
    expect(kicks).toEqual([3]);
    expect(w.sched.idle).toBe(false);
    d.kick(0);
    expect(kicks).toEqual([3, 0]);
  });

  it("the queue is the write's offset / multiplier; the value does not matter (virtio_pci_notify_write)", () => {
    const { w, d } = driver({ maxQueuePairs: 2 });
    d.up({ queues: [0, 1, 2, 3, 4] });
    w.fn.barWrite(4, 0x3000 + 4 * 2, 2, 0x7777);
    w.fn.barWrite(4, 0x3000 + 4 * 1 + 2, 1, 0);
    expect(kicks).toEqual([2, 1]);
    expect(w.fn.barRead(4, 0x3000, 2)).toBe(0);
  });

  it('a queue without rings, one that does not exist, or a broken device ignores the doorbell', () => {
    const { w, d } = driver();
    d.negotiate(BASE);
    d.setupQueue(0);
    d.kick(1);
    w.fn.barWrite(4, 0x3000 + 4 * 9, 2, 9);
    expect(kicks).toEqual([]);
    d.wr(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 0);
    d.kick(0);
    expect(kicks).toEqual([]);
  });

  it('page-per-vq: queue q rings at 0x3000 + q * 0x1000, anywhere in its page', () => {
    const { w, d } = driver({ pagePerVq: true, maxQueuePairs: 2 });
    d.up({ queues: [0, 1, 2, 3, 4] });
    d.kick(4);
    w.fn.barWrite(4, 0x3000 + 3 * 0x1000, 2, 3);
    w.fn.barWrite(4, 0x3000 + 2 * 0x1000 + 0x800, 4, 0);
    expect(kicks).toEqual([4, 3, 2]);
  });
});

describe('device config', () => {
  it('mac, status, max_virtqueue_pairs and mtu; all-ones past config_len (12)', () => {
    const { d } = driver({ maxQueuePairs: 3, mtu: 9000 });
    expect([0, 1, 2, 3, 4, 5].map((k) => d.cfg8(k))).toEqual([...MAC_BYTES]);
    expect(d.cfg16(6)).toBe(VIRTIO_NET_S_LINK_UP);
    expect(d.cfg16(8)).toBe(3);
    expect(d.cfg16(10)).toBe(9000);
    expect(d.cfg16(12)).toBe(0xffff);
    // Unaligned: two 2-byte pieces, mtu and then past the end.
    expect(d.fn.barRead(4, 0x2000 + 10, 4)).toBe((0xffff0000 | 9000) >>> 0);
    expect(d.fn.barRead(4, 0x2000 + 12, 4)).toBe(0xffffffff);
    expect(d.fn.barRead(4, 0x2000 + 8, 4)).toBe((9000 << 16) | 3);
  });

  it('the link status follows setLink()', () => {
    const { w, d } = driver();
    w.fn.setLink(false);
    expect(d.cfg16(6)).toBe(0);
  });

  it('the MAC is writable only without VERSION_1 and CTRL_MAC_ADDR (virtio_net_set_config)', () => {
    const { w, d } = driver();
    d.negotiate(BASE);
    w.fn.barWrite(4, 0x2000, 1, 0xaa);
    expect(d.cfg8(0)).toBe(MAC_BYTES[0]);
    d.status = 0;
    w.fn.barWrite(4, 0x2000, 1, 0xaa);
    expect(d.cfg8(0)).toBe(0xaa);
  });
});
