// Models: include/uapi/linux/pci_regs.h: the PCI configuration-space registers a virtio-pci
// function and its drivers use (type 0 header, capability list, MSI-X capability).
// Deviations: only those registers; no PCIe extended capabilities, no bridge (type 1) header.

import { consts, defineHeader } from './header_spec.js';

export const PCI_STD_HEADER_SIZEOF = 64;
export const PCI_VENDOR_ID = 0x00;
export const PCI_DEVICE_ID = 0x02;
export const PCI_COMMAND = 0x04;
export const PCI_COMMAND_IO = 0x1;
export const PCI_COMMAND_MEMORY = 0x2;
export const PCI_COMMAND_MASTER = 0x4;
export const PCI_COMMAND_INTX_DISABLE = 0x400;
export const PCI_STATUS = 0x06;
export const PCI_STATUS_CAP_LIST = 0x10;
export const PCI_REVISION_ID = 0x08;
export const PCI_CLASS_PROG = 0x09;
export const PCI_CLASS_DEVICE = 0x0a;
export const PCI_HEADER_TYPE = 0x0e;
export const PCI_HEADER_TYPE_NORMAL = 0;
export const PCI_BASE_ADDRESS_0 = 0x10;
export const PCI_BASE_ADDRESS_SPACE_MEMORY = 0x00;
export const PCI_BASE_ADDRESS_MEM_TYPE_64 = 0x04;
export const PCI_BASE_ADDRESS_MEM_PREFETCH = 0x08;
export const PCI_SUBSYSTEM_VENDOR_ID = 0x2c;
export const PCI_SUBSYSTEM_ID = 0x2e;
export const PCI_CAPABILITY_LIST = 0x34;
export const PCI_INTERRUPT_LINE = 0x3c;
export const PCI_INTERRUPT_PIN = 0x3d;
export const PCI_CAP_LIST_ID = 0;
export const PCI_CAP_LIST_NEXT = 1;
export const PCI_CAP_ID_VNDR = 0x09;
export const PCI_CAP_ID_MSIX = 0x11;
export const PCI_MSIX_FLAGS = 2;
export const PCI_MSIX_FLAGS_QSIZE = 0x07ff;
export const PCI_MSIX_FLAGS_MASKALL = 0x4000;
export const PCI_MSIX_FLAGS_ENABLE = 0x8000;
export const PCI_MSIX_TABLE = 4;
export const PCI_MSIX_TABLE_BIR = 0x00000007;
export const PCI_MSIX_TABLE_OFFSET = 0xfffffff8;
export const PCI_MSIX_PBA = 8;
export const PCI_MSIX_ENTRY_SIZE = 16;
export const PCI_MSIX_ENTRY_LOWER_ADDR = 0x0;
export const PCI_MSIX_ENTRY_UPPER_ADDR = 0x4;
export const PCI_MSIX_ENTRY_DATA = 0x8;
export const PCI_MSIX_ENTRY_VECTOR_CTRL = 0xc;
export const PCI_MSIX_ENTRY_CTRL_MASKBIT = 0x00000001;

export const pciRegsHeader = defineHeader('linux/pci_regs.h', [
  consts({ PCI_STD_HEADER_SIZEOF, PCI_VENDOR_ID, PCI_DEVICE_ID, PCI_COMMAND }),
  consts({ PCI_COMMAND_IO, PCI_COMMAND_MEMORY, PCI_COMMAND_MASTER, PCI_COMMAND_INTX_DISABLE }, { hex: true }),
  consts({ PCI_STATUS }),
  consts({ PCI_STATUS_CAP_LIST }, { hex: true }),
  consts({ PCI_REVISION_ID, PCI_CLASS_PROG, PCI_CLASS_DEVICE, PCI_HEADER_TYPE, PCI_HEADER_TYPE_NORMAL, PCI_BASE_ADDRESS_0 }),
  consts({ PCI_BASE_ADDRESS_SPACE_MEMORY, PCI_BASE_ADDRESS_MEM_TYPE_64, PCI_BASE_ADDRESS_MEM_PREFETCH }, { hex: true }),
  consts({ PCI_SUBSYSTEM_VENDOR_ID, PCI_SUBSYSTEM_ID, PCI_CAPABILITY_LIST, PCI_INTERRUPT_LINE, PCI_INTERRUPT_PIN, PCI_CAP_LIST_ID, PCI_CAP_LIST_NEXT }),
  consts({ PCI_CAP_ID_VNDR, PCI_CAP_ID_MSIX }, { hex: true }),
  consts({ PCI_MSIX_FLAGS }),
  consts({ PCI_MSIX_FLAGS_QSIZE, PCI_MSIX_FLAGS_MASKALL, PCI_MSIX_FLAGS_ENABLE }, { hex: true }),
  consts({ PCI_MSIX_TABLE }),
  consts({ PCI_MSIX_TABLE_BIR, PCI_MSIX_TABLE_OFFSET }, { hex: true }),
  consts({ PCI_MSIX_PBA, PCI_MSIX_ENTRY_SIZE }),
  consts({ PCI_MSIX_ENTRY_LOWER_ADDR, PCI_MSIX_ENTRY_UPPER_ADDR, PCI_MSIX_ENTRY_DATA, PCI_MSIX_ENTRY_VECTOR_CTRL }, { hex: true }),
  consts({ PCI_MSIX_ENTRY_CTRL_MASKBIT }, { hex: true }),
]);
