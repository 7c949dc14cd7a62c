// Lazy loader of the native addon (build/Release/vdpa_host.node, built by `npm install` from
// binding.gyp and lib/host/src/). The model runs without it; a native feature used without it
// throws NativeUnavailableError naming the cause. Not a kernel file.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { packageRoot } from '../package_root.js';

/** The addon's functions. Syscall wrappers return the kernel's result or -errno; none throws. */
export interface VdpaHostAddon {
  open(path: string, flags: number, mode?: number): number;
  close(fd: number): number;
  ioctl(fd: number, request: number, arg?: ArrayBufferView | ArrayBuffer | number | bigint): number;
  read(fd: number, buffer: ArrayBufferView | ArrayBuffer, offset?: number, length?: number): number;
  write(fd: number, buffer: ArrayBufferView | ArrayBuffer, offset?: number, length?: number): number;
  pread(fd: number, buffer: ArrayBufferView | ArrayBuffer, position: number | bigint): number;
  pwrite(fd: number, buffer: ArrayBufferView | ArrayBuffer, position: number | bigint): number;
  mmap(length: number | bigint, prot: number, flags: number, fd: number, offset: number | bigint): { addr: bigint; buffer: ArrayBuffer } | number;
  munmap(buffer: ArrayBuffer): number;
  eventfd(initval: number, flags: number): number;
  eventfdRead(fd: number): bigint | number;
  eventfdWrite(fd: number, value: bigint | number): number;
  setns(fd: number, nstype: number): number;
  pollStart(fd: number, events: number, callback: (status: number, events: number) => void): PollHandle;
  pollStop(handle: PollHandle): number;
  pollRef(handle: PollHandle, keep: boolean): number;
  tapOpen(name: string, flags: number, vnetHdrSize: number, offload: number): { fd: number; name: string } | { errno: number; op: string };
  tapReadFrames(fd: number, buffer: ArrayBufferView | ArrayBuffer, spans: Int32Array, maxFrames: number, frameRoom: number): number;
  readonly O_RDONLY: number;
  readonly O_WRONLY: number;
  readonly O_RDWR: number;
  readonly O_NONBLOCK: number;
  readonly O_CLOEXEC: number;
  readonly PROT_NONE: number;
  readonly PROT_READ: number;
  readonly PROT_WRITE: number;
  readonly MAP_SHARED: number;
  readonly MAP_PRIVATE: number;
  readonly MAP_ANONYMOUS: number;
  readonly MAP_HUGETLB: number;
  readonly MAP_POPULATE: number;
  readonly MAP_LOCKED: number;
  readonly EFD_CLOEXEC: number;
  readonly EFD_NONBLOCK: number;
  readonly EFD_SEMAPHORE: number;
  readonly CLONE_NEWNET: number;
  readonly POLL_READABLE: number;
  readonly POLL_WRITABLE: number;
  readonly IFF_TAP: number;
  readonly IFF_NO_PI: number;
  readonly IFF_VNET_HDR: number;
  readonly IFNAMSIZ: number;
}

/** An opaque poller handle from pollStart. */
export type PollHandle = { readonly __pollHandle: unique symbol };

export class NativeUnavailableError extends Error {
  override readonly name = 'NativeUnavailableError';
  readonly code = 'ENATIVE';
}

const ADDON_RELATIVE = join('build', 'Release', 'vdpa_host.node');

let addon: VdpaHostAddon | undefined;
let failure: NativeUnavailableError | undefined;

/** Loads an addon file; throws NativeUnavailableError saying why it could not. */
export function loadNativeFrom(path: string): VdpaHostAddon {
  if (process.platform !== 'linux') {
    throw new NativeUnavailableError(`vdpa-model native addon: needs Linux, this is ${process.platform}`);
  }
  if (!existsSync(path)) {
    throw new NativeUnavailableError(
      `vdpa-model native addon not built: ${path} is missing (run \`npm install\` with python3, make and a C compiler, or \`npm rebuild\`)`,
    );
  }
  try {
    return createRequire(import.meta.url)(path) as VdpaHostAddon;
  } catch (e) {
    throw new NativeUnavailableError(`vdpa-model native addon failed to load from ${path}: ${(e as Error).message}`);
  }
}

/** The addon, loaded on first use. Throws NativeUnavailableError if it cannot be. */
export function native(): VdpaHostAddon {
  if (addon) return addon;
  if (failure) throw failure;
  try {
    addon = loadNativeFrom(join(packageRoot(), ADDON_RELATIVE));
    return addon;
  } catch (e) {
    failure = e instanceof NativeUnavailableError ? e : new NativeUnavailableError(String(e));
    throw failure;
  }
}

/** Whether the addon can be used, and if not, why. */
export function nativeStatus(): { available: true } | { available: false; reason: string } {
  try {
    native();
    return { available: true };
  } catch (e) {
    return { available: false, reason: (e as Error).message };
  }
}
