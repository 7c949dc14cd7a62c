// Models: include/uapi/linux/virtio_types.h
// Deviations: none. The __virtio types are little-endian for every VERSION_1 device the model runs.

import { defineHeader } from './header_spec.js';

export const virtioTypesHeader = defineHeader('linux/virtio_types.h', [
  { kind: 'typedef', name: '__virtio16', ctype: '__u16 __bitwise' },
  { kind: 'typedef', name: '__virtio32', ctype: '__u32 __bitwise' },
  { kind: 'typedef', name: '__virtio64', ctype: '__u64 __bitwise' },
]);
