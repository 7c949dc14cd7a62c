// How fast the layout codecs parse and build the 72-byte IOTLB message every write() carries.
// The datapath never uses these (it reads rings with DataView at fixed offsets); the IOTLB
// control path does.

import { VHOST_ACCESS_RW, VHOST_IOTLB_UPDATE, vhostMsgV2 } from '../uapi/index.js';
import type { BenchDef } from './harness.js';

const msg = { type: 2, asid: 1, iotlb: { iova: 0x1000n, size: 0x200000n, uaddr: 0x7f0000000000n, perm: VHOST_ACCESS_RW, type: VHOST_IOTLB_UPDATE } };

export const uapiCodecBenches: BenchDef[] = [
  {
    bench: 'uapi.codec',
    unit: 'ops/s',
    cases: () => {
      const buf = vhostMsgV2.pack(msg);
      return [
        { name: 'vhost_msg_v2.decode', fn: () => void vhostMsgV2.decode(buf) },
        { name: 'vhost_msg_v2.encode', fn: () => vhostMsgV2.encode(msg, buf) },
      ];
    },
  },
];
