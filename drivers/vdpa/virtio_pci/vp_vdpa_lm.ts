// NOT UPSTREAM: the proposal-lm-log profile's access to the live-migration (LM) register block
// of QEMU's reverted `virtio-net-pci,vdpa=on` function (uapi/proposed/virtio_pci_lm.ts).
// The block has no PCI capability: it sits in the notify capability's BAR right after the notify
// region, so vp_vdpa finds it there and accepts it only when the BAR covers the whole block. A
// kernel patch would want a vendor capability (VIRTIO_PCI_CAP_VENDOR_CFG) instead; see
// docs/proposals/lm-log.md. Which of the seed's two layouts the function uses cannot be read
// from the device either; vp_vdpa takes it as a module parameter.

import {
  LM_DISABLE,
  LM_ENABLE,
  LM_REGION_SIZE,
  type LmRegisterLayout,
  lmVringStateOffset,
} from '../../../uapi/proposed/index.js';
import { VIRTIO_PCI_CAP_BAR, VIRTIO_PCI_CAP_LENGTH, VIRTIO_PCI_CAP_OFFSET } from '../../../uapi/index.js';
import type { Mmio } from '../../pci/pci.js';
import type { VirtioPciModernDevice } from '../../virtio/virtio_pci_modern_dev.js';

const lo32 = (v: bigint): number => Number(v & 0xffffffffn);
const hi32 = (v: bigint): number => Number((v >> 32n) & 0xffffffffn);

/** The LM block of one function. */
export class VpVdpaLm {
  private logging = false;

  constructor(
    private readonly regs: Mmio,
    readonly layout: LmRegisterLayout,
  ) {}

  /**
   * The ring-state word of vq `qid`: last_avail | used << 16, or LM_PACKED_STATE for packed rings
   * (a value a split ring with both indices at 0xffff also reads: only the features tell them apart).
   */
  readVqState(qid: number): number {
    return this.regs.read32(lmVringStateOffset(this.layout, qid)) >>> 0;
  }

  writeVqState(qid: number, word: number): void {
    this.regs.write32(lmVringStateOffset(this.layout, qid), word >>> 0);
  }

  /** Programs the bitmap window [base, end) in the device's DMA space, then turns logging on. */
  logStart(base: bigint, end: bigint): void {
    const l = this.layout;
    this.regs.write32(l.LM_BASE_ADDR_LOW, lo32(base));
    this.regs.write32(l.LM_BASE_ADDR_HIGH, hi32(base));
    this.regs.write32(l.LM_END_ADDR_LOW, lo32(end));
    this.regs.write32(l.LM_END_ADDR_HIGH, hi32(end));
    this.regs.write32(l.LM_LOGGING_CTRL, LM_ENABLE);
    this.logging = true;
  }

  logStop(): void {
    this.regs.write32(this.layout.LM_LOGGING_CTRL, LM_DISABLE);
    this.logging = false;
  }

  get isLogging(): boolean {
    return this.logging;
  }
}

/**
 * Locates the LM block after the notify region of a probed modern device: the block, or
 * undefined when the BAR ends before it (a function without `vdpa=on`).
 */
export function vpVdpaLmProbe(mdev: VirtioPciModernDevice, layout: LmRegisterLayout): VpVdpaLm | undefined {
  const pdev = mdev.pciDev;
  const cap = mdev.notifyCapPos;
  if (!cap) return undefined;
  const bar = pdev.readConfigByte(cap + VIRTIO_PCI_CAP_BAR);
  const start = pdev.readConfigDword(cap + VIRTIO_PCI_CAP_OFFSET) + pdev.readConfigDword(cap + VIRTIO_PCI_CAP_LENGTH);
  if (start + LM_REGION_SIZE > pdev.resourceLen(bar)) return undefined;
  const regs = pdev.iomapRange(bar, start, LM_REGION_SIZE);
  return regs && regs.len === LM_REGION_SIZE ? new VpVdpaLm(regs, layout) : undefined;
}
