// The generic netlink family "vdpa" (§3.6 and §8 items 51–52) and the generic netlink core it
// sits on: validation order, errnos, extack texts (NL_SET_ERR_MSG_MOD's "vdpa: " prefix), the
// replies' attributes per profile, and the controller.

import { describe, expect, it } from 'vitest';
import { Host } from '../../sim/host/index.js';
import {
  CTRL_ATTR_FAMILY_ID,
  CTRL_ATTR_FAMILY_NAME,
  CTRL_ATTR_MAXATTR,
  CTRL_CMD_GETFAMILY,
  GENL_ID_CTRL,
  NLMSG_ERROR,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_REQUEST,
  VDPA_GENL_NAME,
} from '../../uapi/index.js';
import { NlAttrs, NlMsgWriter, parseAck, parseMessages } from '../../lib/netlink/index.js';
import { PROFILES } from '../helpers/model_target.js';
import { devAdd, devDel, labDevices, vdpaNodes, vdpaRequest } from '../helpers/vdpa_nl.js';
import { VhostVdpa } from '../../lib/vhost_vdpa/index.js';
import { ModelUserSpace } from '../../sim/host/index.js';

const MAC = Uint8Array.of(0, 0x11, 0x22, 0x33, 0x44, 0x55);
const EINVAL = -22;

for (const profile of PROFILES) {
  describe(`vdpa netlink family, ${profile}`, () => {
    const fresh = () => Host.boot({ profile });

    it(`§8.51 (${profile}): DEV_NEW on vdpasim_net: MAX_VQP EOPNOTSUPP, MTU 67 ERANGE, features not a subset EINVAL, duplicate EEXIST`, () => {
      const host = fresh();
      const vqp = devAdd(host, { name: 'a', mgmtdev: 'vdpasim_net', maxVqp: 2 });
      expect(vqp.error).toBe(-95);
      expect(vqp.extack).toBe(profile === 'upstream' ? 'vdpa: Some provided attributes are not supported: 0x1000' : 'vdpa: All provided attributes are not supported');
      const mtu = devAdd(host, { name: 'a', mgmtdev: 'vdpasim_net', mtu: 67 });
      expect(mtu).toMatchObject({ error: -34, extack: 'integer out of range' });
      expect(devAdd(host, { name: 'a', mgmtdev: 'vdpasim_net', features: 1n << 40n }).error).toBe(EINVAL);
      expect(devAdd(host, { name: 'a', mgmtdev: 'vdpasim_net' }).error).toBe(0);
      expect(devAdd(host, { name: 'a', mgmtdev: 'vdpasim_net' }).error).toBe(-17);
    });

    it(`§8.52 (${profile}): VSTATS ${profile === 'upstream' ? 'before FEATURES_OK is EAGAIN; queue index 3 is EINVAL' : 'is EOPNOTSUPP (6.1 vdpa_sim_net has no vendor stats)'}`, () => {
      const host = fresh();
      labDevices(host);
      const stats = (qidx: number) =>
        vdpaRequest(host, 'VDPA_CMD_DEV_VSTATS_GET', (w, A) => {
          w.putString(A.VDPA_ATTR_DEV_NAME as number, 'vdpa0');
          w.putU32(A.VDPA_ATTR_DEV_QUEUE_INDEX as number, qidx);
        });
      if (profile === 'linux-6.1') {
        expect(stats(0).error).toBe(-95);
        return;
      }
      expect(stats(0)).toMatchObject({ error: -11, extack: 'vdpa: feature negotiation not complete' });
      const us = new ModelUserSpace(host, host.spawn());
      const v = VhostVdpa.open(us, '/dev/vhost-vdpa-0');
      v.setStatus(3);
      v.setFeatures(0x300820020n);
      v.setStatus(0xb);
      expect(stats(3).error).toBe(EINVAL);
      const ok = stats(2);
      expect(ok.error).toBe(0);
      const A = host.profile.name;
      expect(A).toBe('upstream');
      const names = ok.replies[0]?.attrs.list.filter((a) => a.type === 18).map((a) => new TextDecoder().decode(a.payload.subarray(0, -1)));
      expect(names).toEqual(['cvq requests', 'cvq successes', 'cvq errors']);
      expect(stats(0x8001)).toMatchObject({ error: -34, extack: 'vdpa: queue index exceeds max value' });
    });

    it(`(${profile}): DEV_NEW validation order: name, MAX_VQP 0, CAP_NET_ADMIN, mgmtdev (ENODEV), attr mask`, () => {
      const host = fresh();
      expect(vdpaRequest(host, 'VDPA_CMD_DEV_NEW', (w, A) => w.putString(A.VDPA_ATTR_MGMTDEV_DEV_NAME as number, 'vdpasim_net')).error).toBe(EINVAL);
      expect(devAdd(host, { name: 'a', mgmtdev: 'vdpasim_net', maxVqp: 0 })).toMatchObject({ error: EINVAL, extack: 'vdpa: At least one pair of VQs is required' });
      // GENL_ADMIN_PERM refuses an unprivileged sender before any attribute is looked at.
      expect(devAdd(host, { name: 'a', mgmtdev: 'vdpasim_net', mac: MAC }, { uid: 1000 }).error).toBe(-1);
      expect(devAdd(host, { name: 'a', mgmtdev: 'nosuch' })).toMatchObject({ error: -19, extack: 'vdpa: Fail to find the specified management device' });
      expect(devAdd(host, { name: 'a', mgmtdev: 'vdpasim_net', mac: MAC.subarray(0, 5) })).toMatchObject({ error: EINVAL, extack: 'binary attribute size out of range' });
    });

    it(`(${profile}): CAP_NET_ADMIN is needed for net attributes only (a capable non-root user may add)`, () => {
      const host = fresh();
      expect(devAdd(host, { name: 'a', mgmtdev: 'vdpasim_net', mtu: 1400 }, { uid: 1000, capNetAdmin: true }).error).toBe(0);
    });

    it(`(${profile}): DEV_GET, dumps, DEV_CONFIG_GET and DEV_DEL`, () => {
      const host = fresh();
      labDevices(host);
      const dump = vdpaRequest(host, 'VDPA_CMD_DEV_GET', () => {}, { dump: true });
      expect(dump.error).toBe(0);
      expect(dump.replies.map((r) => r.attrs.string(4))).toEqual(['vdpa0', 'vdpa1']);
      const one = vdpaRequest(host, 'VDPA_CMD_DEV_GET', (w, A) => w.putString(A.VDPA_ATTR_DEV_NAME as number, 'vdpa1'));
      const a = one.replies[0]?.attrs as NlAttrs;
      expect([a.u32(5), a.u32(6), a.u32(7), a.u16(8), a.u16(9)]).toEqual([1, 0, 3, 256, 1]);
      const cfg = vdpaRequest(host, 'VDPA_CMD_DEV_CONFIG_GET', (w, A) => w.putString(A.VDPA_ATTR_DEV_NAME as number, 'vdpa1'));
      const c = cfg.replies[0]?.attrs as NlAttrs;
      expect(Buffer.from(c.binary(10) as Uint8Array).toString('hex')).toBe('001122334455');
      expect(c.u16(13)).toBe(9000);
      expect(c.u16(11)).toBe(1);
      // Device features ride in attribute 20 upstream, 21 (VDPA_DEV_SUPPORTED_FEATURES) on 6.1.
      expect(c.u64(profile === 'upstream' ? 20 : 21)).toBe(profile === 'upstream' ? 0x308830028n : 0x308820028n);
      expect(c.has(14)).toBe(false);
      expect(devDel(host, 'vdpa1').error).toBe(0);
      expect(devDel(host, 'vdpa1')).toMatchObject({ error: -19, extack: 'vdpa: device not found' });
      expect(vdpaNodes(host)).toEqual(['vhost-vdpa-0']);
    });

    it(`(${profile}): MGMTDEV_GET dumps every management device with classes, max vqs and features`, () => {
      const host = fresh();
      const r = vdpaRequest(host, 'VDPA_CMD_MGMTDEV_GET', () => {}, { dump: true });
      const names = r.replies.map((x) => x.attrs.string(2));
      expect(names).toEqual(profile === 'upstream' ? ['vdpasim_net', 'vdpasim_blk'] : ['vdpasim_net']);
      const net = r.replies[0]?.attrs as NlAttrs;
      expect([net.u64(3), net.u32(15), net.u64(16)]).toEqual([2n, 3, profile === 'upstream' ? 0x308830028n : 0x308820028n]);
      const miss = vdpaRequest(host, 'VDPA_CMD_MGMTDEV_GET', (w, A) => w.putString(A.VDPA_ATTR_MGMTDEV_DEV_NAME as number, 'nope'));
      expect(miss).toMatchObject({ error: -19, extack: 'vdpa: Fail to find the specified mgmt device' });
    });

    it(`(${profile}): DEV_ATTR_SET ${profile === 'upstream' ? 'changes the MAC; zero or multicast MACs are refused' : 'does not exist (EOPNOTSUPP from genetlink)'}`, () => {
      const host = fresh();
      labDevices(host);
      const set = (mac: Uint8Array) =>
        vdpaRequest(host, profile === 'upstream' ? 'VDPA_CMD_DEV_ATTR_SET' : 'VDPA_CMD_DEV_VSTATS_GET', (w, A) => {
          w.putString(A.VDPA_ATTR_DEV_NAME as number, 'vdpa0');
          w.put(A.VDPA_ATTR_DEV_NET_CFG_MACADDR as number, mac);
        });
      if (profile === 'linux-6.1') {
        // Command 8 is unknown to 6.1's family.
        const id = host.genl.familyId(VDPA_GENL_NAME) as number;
        const w = new NlMsgWriter().beginMsg(id, NLM_F_REQUEST | NLM_F_ACK, 1).genl(8, 1).endMsg();
        const ack = parseAck(parseMessages(host.genl.rcv(w.finish(), { portid: 1, cred: { uid: 0, capNetAdmin: true }, extAck: true, capAck: true })[0] as Uint8Array)[0]!);
        expect(ack.error).toBe(-95);
        return;
      }
      expect(set(Uint8Array.of(2, 1, 2, 3, 4, 5)).error).toBe(0);
      expect((host.bus.findDevice('vdpa0')?.parent as { config: Uint8Array }).config.subarray(0, 6)).toEqual(Uint8Array.of(2, 1, 2, 3, 4, 5));
      expect(set(new Uint8Array(6))).toMatchObject({ error: -95, extack: 'vdpa: Invalid MAC address' });
      expect(set(Uint8Array.of(1, 0, 0x5e, 0, 0, 1)).error).toBe(-95);
    });
  });
}

describe('generic netlink core', () => {
  const host = Host.boot();
  const send = (w: NlMsgWriter, cred = { uid: 0, capNetAdmin: true }) =>
    host.genl.rcv(w.finish(), { portid: 7, cred, extAck: true, capAck: true }).flatMap((d) => parseMessages(d));

  it('nlctrl resolves "vdpa" to a dynamic id with its maxattr, and says ENOENT for an unknown family', () => {
    const w = new NlMsgWriter().beginMsg(GENL_ID_CTRL, NLM_F_REQUEST, 1).genl(CTRL_CMD_GETFAMILY, 1).putString(CTRL_ATTR_FAMILY_NAME, 'vdpa').endMsg();
    const [reply] = send(w);
    const a = NlAttrs.ofGenl(reply!);
    expect(a.u16(CTRL_ATTR_FAMILY_ID)).toBe(host.genl.familyId('vdpa'));
    expect(a.u32(CTRL_ATTR_MAXATTR)).toBe(37);
    const miss = new NlMsgWriter().beginMsg(GENL_ID_CTRL, NLM_F_REQUEST, 2).genl(CTRL_CMD_GETFAMILY, 1).putString(CTRL_ATTR_FAMILY_NAME, 'nope').endMsg();
    expect(parseAck(send(miss)[0]!).error).toBe(-2);
  });

  it('unknown family id is ENOENT; unknown command EOPNOTSUPP; a message shorter than the genl header EINVAL', () => {
    const unknown = new NlMsgWriter().beginMsg(0x3ff, NLM_F_REQUEST, 1).genl(1, 1).endMsg();
    expect(parseAck(send(unknown)[0]!).error).toBe(-2);
    const id = host.genl.familyId('vdpa') as number;
    expect(parseAck(send(new NlMsgWriter().beginMsg(id, NLM_F_REQUEST, 1).genl(99, 1).endMsg())[0]!).error).toBe(-95);
    expect(parseAck(send(new NlMsgWriter().beginMsg(id, NLM_F_REQUEST, 1).endMsg())[0]!).error).toBe(-22);
  });

  it('a dump of a doit-only command is EOPNOTSUPP; a successful request without NLM_F_ACK gets no ACK', () => {
    const id = host.genl.familyId('vdpa') as number;
    const dump = new NlMsgWriter().beginMsg(id, NLM_F_REQUEST | NLM_F_DUMP, 1).genl(7, 1).endMsg();
    expect(parseAck(send(dump)[0]!).error).toBe(-95);
    const get = new NlMsgWriter().beginMsg(id, NLM_F_REQUEST | NLM_F_DUMP, 2).genl(2, 1).endMsg();
    const msgs = send(get);
    expect(msgs.map((m) => m.type)).toEqual([id, id, 3]);
    expect(msgs.some((m) => m.type === NLMSG_ERROR)).toBe(false);
  });
});
