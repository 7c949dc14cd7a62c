// Test helpers: vdpa generic netlink requests against a simulated host, as `vdpa dev add` would
// send them (root credentials, extended ACKs on).

import { type NlMsg, NlAttrs, NlMsgWriter, parseAck, parseMessages } from '../../lib/netlink/index.js';
import type { Host } from '../../sim/host/index.js';
import { NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NLMSG_ERROR, NLMSG_DONE, VDPA_GENL_NAME, VDPA_GENL_VERSION, vdpaAttrs, vdpaCommands } from '../../uapi/index.js';

export interface NlResult {
  error: number;
  extack?: string;
  /** Reply messages (not the ACK), with their attributes. */
  replies: { msg: NlMsg; attrs: NlAttrs }[];
}

export interface Requester {
  uid?: number;
  capNetAdmin?: boolean;
}

/** Sends one vdpa request; `fill` adds attributes by name (profile numbering). */
export function vdpaRequest(
  host: Host,
  cmd: string,
  fill: (w: NlMsgWriter, a: Record<string, number>) => void = () => {},
  opts: { dump?: boolean; who?: Requester } = {},
): NlResult {
  const A = vdpaAttrs(host.profile.name) as Record<string, number>;
  const C = vdpaCommands(host.profile.name) as Record<string, number>;
  const id = host.genl.familyId(VDPA_GENL_NAME);
  if (id === undefined) throw new Error('vdpa family not registered');
  const w = new NlMsgWriter();
  w.beginMsg(id, NLM_F_REQUEST | NLM_F_ACK | (opts.dump ? NLM_F_DUMP : 0), 1, 4242).genl(C[cmd] as number, VDPA_GENL_VERSION);
  fill(w, A);
  w.endMsg();
  const uid = opts.who?.uid ?? 0;
  const out = host.genl.rcv(w.finish(), { portid: 4242, cred: { uid, capNetAdmin: opts.who?.capNetAdmin ?? uid === 0 }, extAck: true, capAck: true });
  const res: NlResult = { error: 0, replies: [] };
  for (const dg of out) {
    for (const m of parseMessages(dg)) {
      if (m.type === NLMSG_ERROR) {
        const ack = parseAck(m);
        res.error = ack.error;
        if (ack.msg !== undefined) res.extack = ack.msg;
      } else if (m.type === NLMSG_DONE) {
        res.error = new DataView(m.payload.buffer, m.payload.byteOffset).getInt32(0, true);
      } else {
        res.replies.push({ msg: m, attrs: NlAttrs.ofGenl(m) });
      }
    }
  }
  return res;
}

export interface DevAddOptions {
  name: string;
  mgmtdev: string;
  mac?: Uint8Array;
  mtu?: number;
  maxVqp?: number;
  features?: bigint;
}

/** `vdpa dev add`: the request's result. */
export function devAdd(host: Host, o: DevAddOptions, who?: Requester): NlResult {
  return vdpaRequest(
    host,
    'VDPA_CMD_DEV_NEW',
    (w, A) => {
      w.putString(A.VDPA_ATTR_MGMTDEV_DEV_NAME as number, o.mgmtdev);
      w.putString(A.VDPA_ATTR_DEV_NAME as number, o.name);
      if (o.mac) w.put(A.VDPA_ATTR_DEV_NET_CFG_MACADDR as number, o.mac);
      if (o.mtu !== undefined) w.putU16(A.VDPA_ATTR_DEV_NET_CFG_MTU as number, o.mtu);
      if (o.maxVqp !== undefined) w.putU16(A.VDPA_ATTR_DEV_NET_CFG_MAX_VQP as number, o.maxVqp);
      if (o.features !== undefined) w.putU64(A.VDPA_ATTR_DEV_FEATURES as number, o.features);
    },
    who ? { who } : {},
  );
}

/** `vdpa dev del`. */
export function devDel(host: Host, name: string): NlResult {
  return vdpaRequest(host, 'VDPA_CMD_DEV_DEL', (w, A) => w.putString(A.VDPA_ATTR_DEV_NAME as number, name));
}

/** The reference lab's setup: vdpa0 plain, vdpa1 with a MAC and MTU 9000. */
export function labDevices(host: Host): void {
  for (const o of [
    { name: 'vdpa0', mgmtdev: 'vdpasim_net' },
    { name: 'vdpa1', mgmtdev: 'vdpasim_net', mac: Uint8Array.of(0x00, 0x11, 0x22, 0x33, 0x44, 0x55), mtu: 9000 },
  ]) {
    const r = devAdd(host, o);
    if (r.error) throw new Error(`dev add ${o.name}: ${r.error} ${r.extack ?? ''}`);
  }
}

/** The /dev/vhost-vdpa-N nodes of a host, sorted. */
export function vdpaNodes(host: Host): string[] {
  return host.chrdev.list().filter((n) => n.startsWith('vhost-vdpa-'));
}
