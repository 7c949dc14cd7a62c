// Models: vhost_chr_write_iter() of drivers/vhost/vhost.c: one IOTLB message per write(), in
// struct vhost_msg (v1) or vhost_msg_v2 framing.
// Kept exactly: a short type or message is EINVAL; v1 skips the 4-byte hole; v2 reads the asid
// word only once VHOST_BACKEND_F_IOTLB_ASID is acked (otherwise skips it: asid 0); an UPDATE of
// size 0 is EINVAL before the handler; any handler error becomes EFAULT; success returns the
// size of the framing struct (72), whatever was written. Bytes past the message are ignored.

import {
  EFAULT,
  EINVAL,
  VHOST_BACKEND_F_IOTLB_ASID,
  VHOST_IOTLB_MSG,
  VHOST_IOTLB_MSG_V2,
  VHOST_IOTLB_UPDATE,
  dataView,
  vhostIotlbMsg,
  vhostMsg,
  vhostMsgV2,
} from '../../uapi/index.js';
import type { Task } from '../../lib/fs/index.js';
import { copyFromUser } from '../../lib/mm/index.js';
import { type VhostDev, type VhostIotlbMsg, type VhostVirtqueue, vhostBackendHasFeature } from './vhost.js';

/** struct iov_iter over one user buffer: copies advance it; a fault ends the copy short. */
class UserIter {
  constructor(
    private readonly task: Task,
    private at: number,
    private left: number,
  ) {}

  /** copy_from_iter(): bytes copied. */
  copy(dst: Uint8Array, n: number): number {
    const want = Math.min(n, this.left);
    const missed = copyFromUser(this.task.mm, dst, this.at, want);
    const done = want - missed;
    this.at += done;
    this.left -= done;
    return done;
  }

  /** iov_iter_advance(). */
  advance(n: number): void {
    const k = Math.min(n, this.left);
    this.at += k;
    this.left -= k;
  }
}

const word = new Uint8Array(4);
const wordView = dataView(word);
const body = new Uint8Array(vhostIotlbMsg.size);
const bodyView = dataView(body);

/** vhost_chr_write_iter(): the bytes accepted (72) or -errno. */
export function vhostChrWriteIter(dev: VhostDev, task: Task, ubuf: number, count: number): number {
  const from = new UserIter(task, ubuf, count);
  if (from.copy(word, 4) !== 4) return -EINVAL;
  const type = wordView.getInt32(0, true);
  let asid = 0;
  let offset: number;
  switch (type) {
    case VHOST_IOTLB_MSG:
      // The hole after the type in struct vhost_msg.
      offset = vhostMsg.offsetOf('iotlb') - 4;
      break;
    case VHOST_IOTLB_MSG_V2:
      if (vhostBackendHasFeature(dev.vqs[0] as VhostVirtqueue, VHOST_BACKEND_F_IOTLB_ASID)) {
        if (from.copy(word, 4) !== 4) return -EINVAL;
        asid = wordView.getUint32(0, true);
        offset = 0;
      } else {
        offset = 4;
      }
      break;
    default:
      return -EINVAL;
  }
  from.advance(offset);
  if (from.copy(body, body.length) !== body.length) return -EINVAL;
  const msg: VhostIotlbMsg = {
    iova: bodyView.getBigUint64(0, true),
    size: bodyView.getBigUint64(8, true),
    uaddr: bodyView.getBigUint64(16, true),
    perm: bodyView.getUint8(24),
    type: bodyView.getUint8(25),
  };
  if (msg.type === VHOST_IOTLB_UPDATE && msg.size === 0n) return -EINVAL;
  if (dev.msgHandler(dev, task, asid, msg)) return -EFAULT;
  return type === VHOST_IOTLB_MSG ? vhostMsg.size : vhostMsgV2.size;
}
