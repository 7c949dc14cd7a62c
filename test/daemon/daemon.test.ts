// The vdpasim daemon in this process: its socket protocol and credentials, `vdpasim dump` (text
// and JSON) checked against the model's state, `up --foreground` / `down`, and failures that
// end in one line and exit 1. The real processes (`vdpasim up` in the background, the `vdpa`
// command) are in processes.test.ts.

import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { type Server, type Socket, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { vdpasimMain } from '../../bin/commands/index.js';
import { VdpaSim, type VdpaSimVirtqueue } from '../../drivers/vdpa/vdpa_sim/vdpa_sim.js';
import type { VdpaSimNet } from '../../drivers/vdpa/vdpa_sim/vdpa_sim_net.js';
import { type NlMsg, NlMsgWriter, parseAck, parseMessages } from '../../lib/netlink/index.js';
import { VhostVdpa } from '../../lib/vhost_vdpa/index.js';
import {
  DaemonClient,
  type DeviceDump,
  FRAME_ERROR,
  FRAME_GENL,
  FRAME_HELLO,
  type Frame,
  FrameReader,
  VdpasimDaemon,
  decodeDatagrams,
  decodeText,
  encodeFrame,
  encodeJson,
  probeDaemon,
} from '../../sim/daemon/index.js';
import { ModelUserSpace } from '../../sim/host/index.js';
import { runShell } from '../../sim/tools/index.js';
import {
  EPERM,
  NLM_F_ACK,
  NLM_F_REQUEST,
  VDPA_GENL_NAME,
  VDPA_GENL_VERSION,
  VHOST_ACCESS_RO,
  VHOST_ACCESS_RW,
  VHOST_BACKEND_F_IOTLB_ASID,
  VHOST_BACKEND_F_IOTLB_BATCH,
  VHOST_BACKEND_F_IOTLB_MSG_V2,
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_F_ACCESS_PLATFORM,
  VIRTIO_F_VERSION_1,
  VIRTIO_NET_F_CTRL_VQ,
  VIRTIO_NET_F_MAC,
  vdpaAttrs,
  vdpaCommands,
} from '../../uapi/index.js';
import { captureIo } from '../helpers/capture_io.js';

const bit = (n: number): bigint => 1n << BigInt(n);

let dir: string;
let path: string;
let daemon: VdpasimDaemon | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vdpasim-test-'));
  path = join(dir, 'run', 'sock');
});

afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const start = async (profile: 'upstream' | 'linux-6.1' = 'upstream'): Promise<VdpasimDaemon> => {
  daemon = await VdpasimDaemon.start({ socket: path, profile, modules: ['vdpa', 'vhost_vdpa', 'vdpa_sim', 'vdpa_sim_net', 'vdpa_sim_netx'] });
  return daemon;
};

/** `vdpa dev add name NAME mgmtdev vdpasim_net` as the request bytes iproute2 sends. */
function devAddRequest(d: VdpasimDaemon, name: string): Uint8Array {
  const A = vdpaAttrs(d.info.profile);
  const C = vdpaCommands(d.info.profile);
  const w = new NlMsgWriter();
  w.beginMsg(d.host.genl.familyId(VDPA_GENL_NAME) as number, NLM_F_REQUEST | NLM_F_ACK, 1).genl(C.VDPA_CMD_DEV_NEW as number, VDPA_GENL_VERSION);
  w.putString(A.VDPA_ATTR_MGMTDEV_DEV_NAME as number, 'vdpasim_net').putString(A.VDPA_ATTR_DEV_NAME as number, name);
  return w.endMsg().finish();
}

const ackError = (datagrams: Uint8Array[]): number => parseAck(parseMessages(datagrams[0] as Uint8Array)[0] as NlMsg).error;

/** Writes raw frames on a fresh connection and collects what comes back until the daemon closes or `want` frames arrived. */
function raw(frames: Uint8Array[], want: number): Promise<{ frames: Frame[]; closed: boolean }> {
  return new Promise((resolve) => {
    const s: Socket = connect(path);
    const reader = new FrameReader();
    const got: Frame[] = [];
    s.on('data', (c: Buffer) => {
      got.push(...reader.push(c));
      if (got.length >= want) {
        s.destroy();
        resolve({ frames: got, closed: false });
      }
    });
    s.on('close', () => resolve({ frames: got, closed: true }));
    s.on('error', () => undefined);
    for (const f of frames) s.write(f);
  });
}

describe('vdpasim daemon protocol', () => {
  it('HELLO answers the profile, pid and modules; GENL carries the netlink bytes to the host as its owner (root there)', async () => {
    const d = await start();
    const c = await DaemonClient.connect(path, 'test');
    try {
      expect(c.info).toMatchObject({ profile: 'upstream', pid: process.pid });
      expect(c.info.modules).toEqual(expect.arrayContaining(['vdpa_sim_net', 'vdpa_sim_netx']));
      expect(ackError(await c.genl(devAddRequest(d, 'vdpa0')))).toBe(0);
      expect(d.host.bus.findDevice('vdpa0')).toBeDefined();
      expect(ackError(await c.genl(devAddRequest(d, 'vdpa0')))).toBe(-17);
    } finally {
      c.close();
    }
  });

  it('a client stating another uid has no CAP_NET_ADMIN there: dev add answers EPERM', async () => {
    const d = await start();
    const r = await raw([encodeJson(FRAME_HELLO, { uid: 4321, comm: 'other' }), encodeFrame(FRAME_GENL, devAddRequest(d, 'vdpa0'))], 2);
    expect(r.frames.map((f) => f.kind)).toEqual([FRAME_HELLO, FRAME_GENL]);
    expect(ackError(decodeDatagrams((r.frames[1] as Frame).payload))).toBe(-EPERM);
    expect(d.host.bus.findDevice('vdpa0')).toBeUndefined();
  });

  it('a malformed request ends only its own connection', async () => {
    const d = await start();
    const before = await raw([encodeFrame(FRAME_GENL, devAddRequest(d, 'vdpa0'))], 2);
    expect(before.closed).toBe(true);
    expect(before.frames.map((f) => [f.kind, decodeText(f.payload)])).toEqual([[FRAME_ERROR, 'HELLO first']]);
    const badHello = await raw([encodeFrame(FRAME_HELLO, new TextEncoder().encode('{"uid":"0"}'))], 2);
    expect(badHello.frames.map((f) => decodeText(f.payload))).toEqual(['bad HELLO']);
    expect(await raw([new Uint8Array([0xff, 0xff, 0xff, 0xff, 1])], 1)).toEqual({ frames: [], closed: true });
    const unknown = await raw([encodeJson(FRAME_HELLO, { uid: 0, comm: 'x' }), encodeFrame(0x42)], 2);
    expect(decodeText((unknown.frames[1] as Frame).payload)).toBe('unknown request kind 66');
    expect(await probeDaemon(path, 'test')).toMatchObject({ pid: process.pid });
  });
});

describe('vdpasim dump', () => {
  /** A device driven through /dev/vhost-vdpa-0 as a VMM would, with both address spaces mapped. */
  async function drivenDevice(): Promise<{ d: VdpasimDaemon; sim: VdpaSim; mem: number }> {
    const d = await start();
    expect(runShell(d.host, d.host.spawn(), 'vdpa dev add name vdpa0 mgmtdev vdpasim_net mac 02:00:00:00:00:01').exit).toBe(0);
    const us = new ModelUserSpace(d.host, d.host.spawn({ comm: 'vmm' }));
    const v = VhostVdpa.open(us, '/dev/vhost-vdpa-0');
    v.setOwner();
    v.setBackendFeatures(bit(VHOST_BACKEND_F_IOTLB_MSG_V2) | bit(VHOST_BACKEND_F_IOTLB_BATCH) | bit(VHOST_BACKEND_F_IOTLB_ASID));
    v.setFeatures(bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_ACCESS_PLATFORM) | bit(VIRTIO_NET_F_CTRL_VQ) | bit(VIRTIO_NET_F_MAC));
    v.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
    const mem = us.mmap(0x10000, { shared: true, populate: true });
    if (typeof mem === 'number') throw new Error(`mmap: ${mem}`);
    v.iotlbUpdate({ asid: 0, iova: 0x100000n, size: 0x10000n, uaddr: BigInt(mem.addr), perm: VHOST_ACCESS_RW });
    v.setGroupAsid(1, 1);
    v.iotlbUpdate({ asid: 1, iova: 0x200000n, size: 0x1000n, uaddr: BigInt(mem.addr + 0x8000), perm: VHOST_ACCESS_RO });
    const kick = us.eventfd(0, 0o4000);
    const call = us.eventfd(0, 0o4000);
    if (typeof kick === 'number' || typeof call === 'number') throw new Error('eventfd');
    v.setVringNum(0, 64);
    v.setVringAddr(0, { desc: 0x100000n, avail: 0x101000n, used: 0x102000n });
    v.setVringBase(0, 5);
    v.setVringKick(0, kick.fd);
    v.setVringCall(0, call.fd);
    v.setVringEnable(0, true);
    v.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
    await d.host.settle();
    const sim = d.host.bus.findDevice('vdpa0')?.parent;
    if (!(sim instanceof VdpaSim)) throw new Error('vdpa0 is not a vdpa_sim device');
    return { d, sim, mem: mem.addr };
  }

  it('--json: status, features, vqs, groups, both IOTLBs and counters are the model\'s', async () => {
    const { sim, mem } = await drivenDevice();
    // Two buffers taken from the avail ring and not yet used, and some traffic counted.
    (sim.vqs[0] as VdpaSimVirtqueue).vring.lastAvailIdx = 7;
    (sim.net?.port as VdpaSimNet).stats.rx.pkts = 3;
    const io = captureIo();
    expect(await vdpasimMain(['dump', 'vdpa0', '--json', '--socket', path], io)).toBe(0);
    const dump = JSON.parse(io.stdout) as Record<string, DeviceDump>;
    expect(Object.keys(dump)).toEqual(['vdpa0']);
    const d = dump.vdpa0 as DeviceDump;
    const hex = (v: bigint | number): string => `0x${v.toString(16)}`;
    expect(d).toMatchObject({ name: 'vdpa0', type: 'net', mgmtdev: 'vdpasim_net', driver: 'vhost_vdpa', chardev: '/dev/vhost-vdpa-0', open: true, ngroups: 2, nas: 2 });
    expect(d.status).toEqual({ value: hex(sim.status), names: ['ACKNOWLEDGE', 'DRIVER', 'DRIVER_OK', 'FEATURES_OK'] });
    expect(d.features.device.value).toBe(hex(sim.attr.supportedFeatures));
    expect(d.features.negotiated).toEqual({ value: hex(sim.features), names: ['MAC', 'CTRL_VQ', 'VERSION_1', 'ACCESS_PLATFORM'] });
    expect(d.backendFeatures?.acked.names).toEqual(['IOTLB_MSG_V2', 'IOTLB_BATCH', 'IOTLB_ASID']);
    expect(d.vqs.map((q) => [q.index, q.group, q.ready])).toEqual([
      [0, 0, true],
      [1, 0, false],
      [2, 1, false],
    ]);
    expect(d.vqs[0]).toEqual({
      index: 0,
      group: 0,
      ready: true,
      lastAvail: 7,
      size: 64,
      desc: '0x100000',
      driver: '0x101000',
      device: '0x102000',
      lastUsed: 5,
      inFlight: 2,
      kick: true,
      call: true,
      counters: { 'rx packets': 3, 'rx bytes': 0, 'rx errors': 0, 'rx overruns': 0, 'rx drops': 0 },
    });
    expect(Object.keys(d.vqs[2]?.counters ?? {})).toEqual(['cvq requests', 'cvq successes', 'cvq errors']);
    const asid1 = [{ start: '0x200000', last: '0x200fff', addr: hex(mem + 0x8000), perm: 'RO' }];
    expect(d.addressSpaces).toEqual([
      { asid: 0, groups: [0], vhost: [{ start: '0x100000', last: '0x10ffff', addr: hex(mem), perm: 'RW' }], device: [{ start: '0x100000', last: '0x10ffff', addr: hex(mem), perm: 'RW' }] },
      { asid: 1, groups: [1], vhost: asid1, device: asid1 },
    ]);
  });

  it('text: one block per device, the same facts', async () => {
    const { mem } = await drivenDevice();
    const io = captureIo();
    expect(await vdpasimMain(['dump', '--socket', path], io)).toBe(0);
    const lines = io.stdout.split('\n');
    expect(lines.slice(0, 2)).toEqual(['vdpa0: type net mgmtdev vdpasim_net driver vhost_vdpa /dev/vhost-vdpa-0 open', '  status 0xf ACKNOWLEDGE DRIVER DRIVER_OK FEATURES_OK']);
    expect(lines).toContain('  negotiated_features 0x300020020 MAC CTRL_VQ VERSION_1 ACCESS_PLATFORM');
    expect(lines).toContain('  backend_features acked 0xe IOTLB_MSG_V2 IOTLB_BATCH IOTLB_ASID');
    expect(lines).toContain('  vq 0: group 0 ready yes size 64 desc 0x100000 driver 0x101000 device 0x102000 last_avail 5 last_used 5 in_flight 0 kick yes call yes');
    expect(lines).toContain('    rx packets 0, rx bytes 0, rx errors 0, rx overruns 0, rx drops 0');
    const asid1 = lines.indexOf('  asid 1: groups 1');
    expect(lines.slice(asid1, asid1 + 5)).toEqual([
      '  asid 1: groups 1',
      '    vhost-vdpa iotlb: 1 entry',
      `      0x200000-0x200fff -> 0x${(mem + 0x8000).toString(16)} RO`,
      '    device iotlb: 1 entry',
      `      0x200000-0x200fff -> 0x${(mem + 0x8000).toString(16)} RO`,
    ]);
  });

  it('a device nobody opened: no vhost-vdpa address spaces, the device IOTLBs in passthrough; linux-6.1 offers its backend features', async () => {
    const d = await start('linux-6.1');
    expect(runShell(d.host, d.host.spawn(), 'vdpa dev add name vdpa1 mgmtdev vdpasim_net').exit).toBe(0);
    const c = await DaemonClient.connect(path, 'test');
    const dump = await c.dump();
    c.close();
    const v = dump.vdpa1 as DeviceDump;
    expect(v).toMatchObject({ open: false, status: { value: '0x0', names: [] } });
    expect(v.features.negotiated).toBeUndefined();
    expect(v.backendFeatures?.offered.names).toEqual(['IOTLB_MSG_V2', 'IOTLB_BATCH', 'IOTLB_ASID', 'SUSPEND']);
    expect(v.addressSpaces).toEqual([
      { asid: 0, groups: [0, 1], device: 'passthrough' },
      { asid: 1, groups: [], device: 'passthrough' },
    ]);
    expect(v.vqs.every((q) => q.kick === undefined)).toBe(true);
  });

  it('an unknown device is an error: one line, exit 1', async () => {
    await start();
    const io = captureIo();
    expect(await vdpasimMain(['dump', 'nosuch', '--socket', path], io)).toBe(1);
    expect(io.stderr).toBe("vdpasim: no vdpa device 'nosuch' on the simulated host\n");
    expect(io.stdout).toBe('');
  });
});

describe('vdpasim up --foreground / down', () => {
  it('serves until down, which removes the socket; a second up says one is running; down without one exits 1', async () => {
    const io = captureIo();
    const running = vdpasimMain(['up', '--foreground', '--profile', 'linux-6.1', '--socket', path], io);
    let info;
    for (let i = 0; i < 200 && !info; i++) {
      info = existsSync(path) ? await probeDaemon(path, 'test') : undefined;
      if (!info) await new Promise((r) => setTimeout(r, 10));
    }
    expect(info).toMatchObject({ profile: 'linux-6.1', pid: process.pid, modules: ['vdpa', 'vhost_vdpa', 'vdpa_sim', 'vdpa_sim_net', 'vdpa_sim_netx'] });
    expect(statSync(path).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'run')).mode & 0o777).toBe(0o700);

    const second = captureIo();
    expect(await vdpasimMain(['up', '--foreground', '--socket', path], second)).toBe(1);
    expect(second.stderr).toBe(`vdpasim: a simulated host (pid ${process.pid}, profile linux-6.1) is already running at ${path}\n`);

    const down = captureIo();
    expect(await vdpasimMain(['down', '--socket', path], down)).toBe(0);
    expect(down.stdout).toBe(`vdpasim: stopped the simulated host at ${path} (pid ${process.pid})\n`);
    expect(await running).toBe(0);
    expect(io.stdout).toBe(
      `vdpasim: simulated host (profile linux-6.1, pid ${process.pid}) listening on ${path}\nvdpasim: simulated host at ${path} stopped\n`,
    );
    expect(existsSync(path)).toBe(false);

    const again = captureIo();
    expect(await vdpasimMain(['down', '--socket', path], again)).toBe(1);
    expect(again.stderr).toBe(`vdpasim: no simulated host at ${path} (start one with 'vdpasim up')\n`);
  });

  it('bad socket paths fail in one line: uncreatable directory, not a socket, too long', async () => {
    const run = async (socket: string): Promise<string> => {
      const io = captureIo();
      expect(await vdpasimMain(['up', '--foreground', '--socket', socket], io)).toBe(1);
      return io.stderr;
    };
    writeFileSync(join(dir, 'file'), '');
    expect(await run(join(dir, 'file', 'sock'))).toMatch(new RegExp(`^vdpasim: cannot create ${join(dir, 'file')}: .*EEXIST.*\\n$`));
    expect(await run(join(dir, 'file'))).toBe(`vdpasim: ${join(dir, 'file')} exists and is not a socket\n`);
    const long = join(dir, 'x'.repeat(120));
    expect(await run(long)).toBe(`vdpasim: socket path too long (${Buffer.byteLength(long)} bytes, at most 107): ${long}\n`);
    const io = captureIo();
    expect(await vdpasimMain(['dump', '--socket', join(dir, 'file')], io)).toBe(1);
    expect(io.stderr).toBe(`vdpasim: no simulated host at ${join(dir, 'file')} (start one with 'vdpasim up')\n`);
  });

  it('bad arguments are usage errors (exit 2)', async () => {
    for (const args of [['up', '--modules', 'nosuch'], ['up', '--ready-fd', '3'], ['up', '--foreground', '--ready-fd', 'x'], ['dump', 'a', 'b'], ['down', 'x']]) {
      const io = captureIo();
      expect(await vdpasimMain(args, io)).toBe(2);
      expect(io.stderr.split('\n')[0]).toMatch(/^vdpasim: /);
    }
  });
});

describe('a daemon that dies mid-request', () => {
  let fake: Server | undefined;
  afterEach(() => fake?.close());

  it('the client fails in one line instead of waiting', async () => {
    // Answers HELLO like a daemon, then drops the connection at the first request.
    fake = createServer((s) => {
      const reader = new FrameReader();
      s.on('data', (c: Buffer) => {
        for (const f of reader.push(c)) {
          if (f.kind === FRAME_HELLO) s.write(encodeJson(FRAME_HELLO, { profile: 'upstream', pid: 1, version: '0', modules: [] }));
          else s.destroy();
        }
      });
    });
    const fakePath = join(dir, 'fake');
    await new Promise<void>((r) => fake?.listen(fakePath, r));
    const io = captureIo();
    expect(await vdpasimMain(['dump', '--socket', fakePath], io)).toBe(1);
    expect(io.stderr).toBe(`vdpasim: the simulated host at ${fakePath} closed the connection\n`);
  });
});
