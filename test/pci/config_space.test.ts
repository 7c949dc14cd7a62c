// The function's configuration space as firmware and vp_modern_probe see it: ids and class,
// the capability list (QEMU's order and offsets), BAR sizing and assignment, the PCI_CFG access
// window, bus mastering, and MSI-X (table, PBA, per-vector and function masks, pending bits).

import { describe, expect, it } from 'vitest';
import {
  PCI_BASE_ADDRESS_0,
  PCI_CAPABILITY_LIST,
  PCI_CAP_ID_MSIX,
  PCI_CAP_ID_VNDR,
  PCI_CLASS_DEVICE,
  PCI_CLASS_PROG,
  PCI_COMMAND,
  PCI_COMMAND_MASTER,
  PCI_COMMAND_MEMORY,
  PCI_DEVICE_ID,
  PCI_HEADER_TYPE,
  PCI_INTERRUPT_PIN,
  PCI_MSIX_ENTRY_VECTOR_CTRL,
  PCI_MSIX_FLAGS,
  PCI_MSIX_FLAGS_ENABLE,
  PCI_MSIX_FLAGS_MASKALL,
  PCI_MSIX_PBA,
  PCI_MSIX_TABLE,
  PCI_REVISION_ID,
  PCI_STATUS,
  PCI_STATUS_CAP_LIST,
  PCI_SUBSYSTEM_ID,
  PCI_SUBSYSTEM_VENDOR_ID,
  PCI_VENDOR_ID,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_MSI_NO_VECTOR,
  VIRTIO_PCI_CAP_COMMON_CFG,
  VIRTIO_PCI_CAP_DEVICE_CFG,
  VIRTIO_PCI_CAP_ISR_CFG,
  VIRTIO_PCI_CAP_NOTIFY_CFG,
  VIRTIO_PCI_CAP_PCI_CFG,
  VIRTIO_PCI_COMMON_MSIX,
  VIRTIO_PCI_COMMON_STATUS,
} from '../../uapi/index.js';
import { MmioBar, type MmioRegion, Msix, PciConfigSpace } from '../../sim/pci/index.js';
import { BAR_BASE, Driver, enumerate, findVirtioCap, makeWorld, walkCaps } from './helpers.js';

describe('identity', () => {
  const { fn } = makeWorld();

  it('vendor 0x1af4 and device 0x1040 + VIRTIO_ID_NET, revision 1 (modern-only)', () => {
    expect(fn.configRead(PCI_VENDOR_ID, 2)).toBe(0x1af4);
    expect(fn.configRead(PCI_DEVICE_ID, 2)).toBe(0x1041);
    expect(fn.configRead(PCI_REVISION_ID, 1)).toBe(1);
  });

  it('class: network controller, Ethernet (0x020000)', () => {
    expect(fn.configRead(PCI_CLASS_DEVICE, 2)).toBe(0x0200);
    expect(fn.configRead(PCI_CLASS_PROG, 1)).toBe(0);
  });

  it("subsystem ids are QEMU's defaults, which a modern-only function keeps (1af4:1100)", () => {
    expect(fn.configRead(PCI_SUBSYSTEM_VENDOR_ID, 2)).toBe(0x1af4);
    expect(fn.configRead(PCI_SUBSYSTEM_ID, 2)).toBe(0x1100);
  });

  it('type-0 header, INTA#, capability list bit', () => {
    expect(fn.configRead(PCI_HEADER_TYPE, 1)).toBe(0);
    expect(fn.configRead(PCI_INTERRUPT_PIN, 1)).toBe(1);
    expect(fn.configRead(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST).toBe(PCI_STATUS_CAP_LIST);
  });
});

describe('capability list', () => {
  it('is walked MSI-X, PCI_CFG, NOTIFY, DEVICE, ISR, COMMON at 0x98..0x40 (QEMU prepends each)', () => {
    const { fn } = makeWorld();
    const caps = walkCaps(fn);
    const typeOf = (pos: number) => fn.configRead(pos + 3, 1);
    expect(caps.map((c) => c.pos)).toEqual([0x98, 0x84, 0x70, 0x60, 0x50, 0x40]);
    expect(caps[0]?.id).toBe(PCI_CAP_ID_MSIX);
    expect(caps.slice(1).map((c) => [c.id, typeOf(c.pos), c.len])).toEqual([
      [PCI_CAP_ID_VNDR, VIRTIO_PCI_CAP_PCI_CFG, 20],
      [PCI_CAP_ID_VNDR, VIRTIO_PCI_CAP_NOTIFY_CFG, 20],
      [PCI_CAP_ID_VNDR, VIRTIO_PCI_CAP_DEVICE_CFG, 16],
      [PCI_CAP_ID_VNDR, VIRTIO_PCI_CAP_ISR_CFG, 16],
      [PCI_CAP_ID_VNDR, VIRTIO_PCI_CAP_COMMON_CFG, 16],
    ]);
  });

  it("passes vp_modern_probe's checks: BAR 4, lengths, 4-byte alignment, notify mapped whole, device cfg <= 4096", () => {
    const { fn } = makeWorld();
    const common = findVirtioCap(fn, VIRTIO_PCI_CAP_COMMON_CFG);
    const isr = findVirtioCap(fn, VIRTIO_PCI_CAP_ISR_CFG);
    const device = findVirtioCap(fn, VIRTIO_PCI_CAP_DEVICE_CFG);
    const notify = findVirtioCap(fn, VIRTIO_PCI_CAP_NOTIFY_CFG);
    expect(common).toMatchObject({ bar: 4, offset: 0x0000, length: 0x1000 });
    expect(isr).toMatchObject({ bar: 4, offset: 0x1000, length: 0x1000 });
    expect(device).toMatchObject({ bar: 4, offset: 0x2000, length: 0x1000 });
    expect(notify).toMatchObject({ bar: 4, offset: 0x3000, length: 0x1000, mult: 4 });
    expect((common?.length ?? 0) >= 56 && (common?.offset ?? 1) % 4 === 0).toBe(true);
    expect((device?.length ?? 0) <= 4096 && (device?.offset ?? 1) % 4 === 0).toBe(true);
    // The notify region fits in one page from its offset: vp_modern maps it whole.
    expect((notify?.length ?? 0) + ((notify?.offset ?? 0) % 4096)).toBeLessThanOrEqual(4096);
  });

  it('page-per-vq: notify multiplier 0x1000, region 0x1000 * 1024', () => {
    const { fn } = makeWorld({ pagePerVq: true });
    expect(findVirtioCap(fn, VIRTIO_PCI_CAP_NOTIFY_CFG)).toMatchObject({ bar: 4, offset: 0x3000, length: 0x400000, mult: 0x1000 });
  });

  it('capability bytes are read-only; device-specific bytes outside capabilities are writable (pci_init_wmask)', () => {
    const { fn } = makeWorld();
    fn.configWrite(0x40 + 8, 4, 0x12345678);
    expect(fn.configRead(0x40 + 8, 4)).toBe(0);
    fn.configWrite(PCI_CAPABILITY_LIST, 1, 0x40);
    expect(fn.configRead(PCI_CAPABILITY_LIST, 1)).toBe(0x98);
    fn.configWrite(0xf0, 4, 0xdeadbeef);
    expect(fn.configRead(0xf0, 4)).toBe(0xdeadbeef);
  });

  it('extended space reads 0 and ignores writes; bad offsets and sizes never throw', () => {
    const { fn } = makeWorld();
    expect(fn.configRead(0x100, 4)).toBe(0);
    fn.configWrite(0x100, 4, 1);
    expect(fn.configRead(0x100, 4)).toBe(0);
    expect(() => fn.configRead(-1, 4)).not.toThrow();
    expect(fn.configRead(4095, 4)).toBe(0xffffffff);
    expect(fn.configRead(0, 3 as 4)).toBe(0xffffffff);
    expect(() => fn.configWrite(0, 4, Number.NaN)).not.toThrow();
    expect(() => fn.configWrite(1.5, 4, 1)).not.toThrow();
    expect(fn.configRead(PCI_VENDOR_ID, 2)).toBe(0x1af4);
  });
});

describe('BARs', () => {
  it('sizing: BAR 1 32-bit 4 KiB (MSI-X), BAR 4 64-bit prefetchable 16 KiB, the others absent', () => {
    const { fn } = makeWorld();
    const bars = enumerate(fn);
    expect([...bars.keys()]).toEqual([1, 4]);
    expect(bars.get(1)).toMatchObject({ size: 0x1000, mem64: false, prefetch: false });
    expect(bars.get(4)).toMatchObject({ size: 0x4000, mem64: true, prefetch: true });
  });

  it('sizing reads back the size mask with the type bits, then the address is taken', () => {
    const { fn } = makeWorld();
    const reg = PCI_BASE_ADDRESS_0 + 4 * 4;
    fn.configWrite(reg, 4, 0xffffffff);
    expect(fn.configRead(reg, 4)).toBe(0xffffc00c);
    fn.configWrite(reg + 4, 4, 0xffffffff);
    expect(fn.configRead(reg + 4, 4)).toBe(0xffffffff);
    enumerate(fn);
    expect(fn.cfg.barAddress(4)).toBe(BAR_BASE[4]);
    expect(fn.configRead(reg, 4)).toBe(0xc);
    expect(fn.configRead(reg + 4, 4)).toBe(8);
    expect(fn.cfg.barAddress(1)).toBe(BAR_BASE[1]);
  });

  it('with the LM block (vdpa=on) BAR 4 grows to pow2ceil(0x4000 + 0x1020) = 32 KiB; with page-per-vq to 8 MiB', () => {
    expect(enumerate(makeWorld({ lm: {} }).fn).get(4)?.size).toBe(0x8000);
    expect(enumerate(makeWorld({ pagePerVq: true }).fn).get(4)?.size).toBe(0x800000);
    expect(enumerate(makeWorld({ pagePerVq: true, lm: {} }).fn).get(4)?.size).toBe(0x800000);
  });

  it('a BAR is decoded only with PCI_COMMAND_MEMORY, inside its size, at 1/2/4/8 bytes', () => {
    const { fn } = makeWorld();
    expect(fn.barRead(4, VIRTIO_PCI_COMMON_STATUS, 1)).toBe(0xff);
    enumerate(fn);
    expect(fn.barRead(4, VIRTIO_PCI_COMMON_STATUS, 1)).toBe(0);
    expect(fn.barRead(4, 0x4000, 4)).toBe(0xffffffff);
    expect(fn.barRead(4, 0x3ffc, 8)).toBe(0xffff_ffff_ffff_ffffn);
    expect(fn.barRead(0, 0, 4)).toBe(0xffffffff);
    expect(fn.barRead(5, 0, 2)).toBe(0xffff);
    expect(fn.barRead(4, 0, 3 as 4)).toBe(0xffffffff);
    expect(() => fn.barWrite(4, -4, 4, 1)).not.toThrow();
    expect(() => fn.barWrite(4, 0, 8, 'x' as unknown as number)).not.toThrow();
    fn.configWrite(PCI_COMMAND, 2, 0);
    expect(fn.barRead(4, VIRTIO_PCI_COMMON_STATUS, 1)).toBe(0xff);
  });
});

describe('PCI_CFG access window', () => {
  const setup = () => {
    const w = makeWorld();
    const d = new Driver(w);
    const cap = w.fn.caps.pciCfg;
    const access = (offset: number, length: number) => {
      w.fn.configWrite(cap + 4, 1, 4);
      w.fn.configWrite(cap + 8, 4, offset);
      w.fn.configWrite(cap + 12, 4, length);
    };
    return { w, d, cap, access };
  };

  it('reads a BAR 4 register through pci_cfg_data', () => {
    const { w, d, cap, access } = setup();
    d.status = 1;
    access(VIRTIO_PCI_COMMON_STATUS, 1);
    expect(w.fn.configRead(cap + 16, 1)).toBe(1);
    access(0x2000, 4);
    expect(w.fn.configRead(cap + 16, 4)).toBe(0x00000002);
  });

  it('writes a BAR 4 register through pci_cfg_data', () => {
    const { w, d, cap, access } = setup();
    access(VIRTIO_PCI_COMMON_MSIX, 2);
    w.fn.configWrite(cap + 16, 2, 3);
    expect(d.r(VIRTIO_PCI_COMMON_MSIX, 2)).toBe(3);
  });

  it("aligns the offset down to the length and ignores lengths other than 1, 2, 4 (QEMU's checks)", () => {
    const { w, d, cap, access } = setup();
    d.status = 3;
    access(VIRTIO_PCI_COMMON_STATUS + 1, 2);
    expect(w.fn.configRead(cap + 16, 2)).toBe(3);
    access(VIRTIO_PCI_COMMON_STATUS, 3);
    w.fn.configWrite(cap + 16, 4, 0xaaaaaaaa);
    expect(w.fn.configRead(cap + 16, 4)).toBe(0xaaaaaaaa);
    w.fn.configWrite(cap + 16, 1, 0);
    expect(d.status).toBe(3);
  });

  it('does not reach the LM block (it is not one of the transport regions)', () => {
    const w = makeWorld({ lm: {} });
    new Driver(w);
    const cap = w.fn.caps.pciCfg;
    w.fn.configWrite(cap + 8, 4, 0x4004);
    w.fn.configWrite(cap + 12, 4, 4);
    w.fn.configWrite(cap + 16, 4, 0x1234);
    expect(w.fn.lm?.baseLow).toBe(0);
  });
});

describe('bus mastering', () => {
  it('clearing PCI_COMMAND_MASTER clears DRIVER_OK (virtio_write_config)', () => {
    const w = makeWorld();
    const d = new Driver(w);
    d.up({ queues: [0, 1] });
    expect(d.status & VIRTIO_CONFIG_S_DRIVER_OK).toBe(VIRTIO_CONFIG_S_DRIVER_OK);
    w.fn.configWrite(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    expect(d.status & VIRTIO_CONFIG_S_DRIVER_OK).toBe(0);
  });

  it('MSI-X messages need bus mastering', () => {
    const w = makeWorld();
    const d = new Driver(w);
    d.up({ queues: [0, 1] });
    w.fn.configWrite(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    w.fn.configWrite(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    d.status = d.status | VIRTIO_CONFIG_S_DRIVER_OK;
    w.fn.configWrite(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    w.fn.msix.notify(0);
    expect(w.irqs).toEqual([]);
  });
});

describe('MSI-X', () => {
  const setup = () => {
    const w = makeWorld({ maxQueuePairs: 2 });
    const d = new Driver(w);
    const table = w.fn.configRead(d.msix + PCI_MSIX_TABLE, 4);
    const pba = w.fn.configRead(d.msix + PCI_MSIX_PBA, 4);
    const ctrl = (v: number) => (table & ~7) + 16 * v + PCI_MSIX_ENTRY_VECTOR_CTRL;
    const pbaWord = () => w.fn.barRead(pba & 7, pba & ~7, 4) as number;
    const flags = () => w.fn.configRead(d.msix + PCI_MSIX_FLAGS, 2);
    return { w, d, table, pba, ctrl, pbaWord, flags };
  };

  it('table size 2 * pairs + 2, table at BAR 1 offset 0, PBA at BAR 1 offset 0x800 (msix_init_exclusive_bar)', () => {
    const { flags, table, pba } = setup();
    expect(flags() & 0x7ff).toBe(5);
    expect(table).toBe(0x0 | 1);
    expect(pba).toBe(0x800 | 1);
  });

  it('every vector starts masked; only enable and mask-all are writable in the flags', () => {
    const { w, ctrl, flags, d } = setup();
    for (let v = 0; v < 6; v++) expect(w.fn.barRead(1, ctrl(v), 4)).toBe(1);
    w.fn.configWrite(d.msix + PCI_MSIX_FLAGS, 2, 0xffff);
    expect(flags()).toBe(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL | 5);
  });

  it('the table holds address and data; 1 and 2-byte accesses are not valid (read 0, dropped)', () => {
    const { w } = setup();
    w.fn.barWrite(1, 16, 8, 0x0000_0001_fee0_1000n);
    expect(w.fn.barRead(1, 16, 8)).toBe(0x0000_0001_fee0_1000n);
    expect(w.fn.barRead(1, 16, 2)).toBe(0);
    w.fn.barWrite(1, 16, 1, 0xff);
    expect(w.fn.barRead(1, 16, 4)).toBe(0xfee0_1000);
  });

  it('a masked vector sets its pending bit; unmasking delivers it and clears the bit', () => {
    const { w, d, ctrl, pbaWord } = setup();
    d.up({ queues: [0, 1] });
    w.fn.barWrite(1, ctrl(0), 4, 1);
    w.fn.setLink(false);
    expect(w.irqs).toEqual([]);
    expect(pbaWord()).toBe(1);
    w.fn.barWrite(1, ctrl(0), 4, 0);
    expect(w.irqs).toEqual([0]);
    expect(pbaWord()).toBe(0);
  });

  it('mask-all holds every vector pending; clearing it delivers them', () => {
    const { w, d, pbaWord, flags } = setup();
    d.up({ queues: [0, 1] });
    w.fn.configWrite(d.msix + PCI_MSIX_FLAGS, 2, flags() | PCI_MSIX_FLAGS_MASKALL);
    w.fn.setLink(false);
    expect(pbaWord()).toBe(1);
    expect(w.irqs).toEqual([]);
    w.fn.configWrite(d.msix + PCI_MSIX_FLAGS, 2, flags() & ~PCI_MSIX_FLAGS_MASKALL);
    expect(w.irqs).toEqual([0]);
    expect(pbaWord()).toBe(0);
  });

  it('a vector nothing is bound to never fires (msix_vector_use); the PBA ignores writes', () => {
    const { w, d, pbaWord, pba } = setup();
    d.up({ queues: [0, 1] });
    w.fn.msix.notify(5);
    expect(w.irqs).toEqual([]);
    w.fn.barWrite(1, pba & ~7, 4, 0xffffffff);
    expect(pbaWord()).toBe(0);
  });

  it('the config vector reads NO_VECTOR when out of range', () => {
    const { d } = setup();
    d.wr(VIRTIO_PCI_COMMON_MSIX, 2, 6);
    expect(d.r(VIRTIO_PCI_COMMON_MSIX, 2)).toBe(VIRTIO_MSI_NO_VECTOR);
    d.wr(VIRTIO_PCI_COMMON_MSIX, 2, 5);
    expect(d.r(VIRTIO_PCI_COMMON_MSIX, 2)).toBe(5);
  });

  it('as a generic building block: a config space with a BAR and an MSI-X capability', () => {
    const cfg = new PciConfigSpace({ vendorId: 0x1234, deviceId: 0x11, revision: 0, classCode: 0xff0000, subsystemVendorId: 0, subsystemId: 0, interruptPin: 0 });
    cfg.registerBar(0, 0x1000);
    const msix = new Msix(cfg, 4, 0, 0, 0x800);
    const delivered: number[] = [];
    msix.deliver = (v) => delivered.push(v);
    const bar = new MmioBar(0x1000, [msix.tableRegion(), msix.pbaRegion()] as MmioRegion[]);
    expect(cfg.read(PCI_CAPABILITY_LIST, 1)).toBe(0x40);
    msix.vectorUse(2);
    cfg.write(0x40 + 2, 2, PCI_MSIX_FLAGS_ENABLE);
    msix.configWritten(0x40 + 2, 2);
    msix.notify(2);
    expect(bar.read(0x800, 4)).toBe(4);
    bar.write(16 * 2 + 12, 4, 0);
    expect(delivered).toEqual([2]);
    expect(() => cfg.registerBar(0, 0x1000)).toThrow(RangeError);
    expect(() => cfg.registerBar(2, 0x1001)).toThrow(RangeError);
  });
});
