// A real tap created inside a network namespace this test makes: a frame sent from the
// namespace arrives through the addon's poll callback, and a frame written through the addon
// reaches a socket in the namespace. Needs root; skips with a printed reason otherwise.

import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostError, Tap } from '../../lib/host/index.js';
import { parseUdp, udpFrame } from '../helpers/frames.js';
import { type TestNetns, announceSkip, createNetns, rootSkipReason } from '../helpers/netns.js';

const skip = announceSkip('tap/netns tests', rootSkipReason());
const PEER_MAC = '02:00:00:00:00:02';
const VNET_HDR = 12;

function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

describe.skipIf(skip)('tap inside a network namespace (root)', () => {
  let ns: TestNetns;
  let tap: Tap;
  let tapMac: string;

  beforeAll(() => {
    ns = createNetns('vdpa-tap');
    tap = Tap.open({ name: `vmt${process.pid % 1_000_000}`, netns: ns.name });
    ns.ip('link', 'set', tap.name, 'up');
    ns.ip('addr', 'add', '10.213.0.1/24', 'dev', tap.name);
    // A static neighbour, so the kernel sends IPv4 straight away instead of ARPing first.
    ns.ip('neigh', 'add', '10.213.0.2', 'lladdr', PEER_MAC, 'dev', tap.name, 'nud', 'permanent');
    tapMac = (JSON.parse(ns.ip('-j', 'link', 'show', tap.name)) as { address: string }[])[0]?.address ?? '';
  });

  afterAll(() => {
    tap?.close();
    ns?.remove();
  });

  it('the tap lives in the namespace, not in the test\'s own', () => {
    expect(ns.ip('link', 'show', tap.name)).toContain(tap.name);
    expect(() => execFileSync('ip', ['link', 'show', tap.name], { stdio: 'ignore' })).toThrow();
  });

  it('a UDP datagram sent inside the namespace arrives through the poll callback', async () => {
    const buf = new Uint8Array(65536);
    const arrived = new Promise<ReturnType<typeof parseUdp>>((resolve) => {
      tap.onReadable(() => {
        // Drain everything that is ready; IPv6 autoconfiguration traffic may come first.
        for (let i = 0; i < 256; i++) {
          const len = tap.read(buf);
          if (len < 0) return;
          const udp = parseUdp(buf.subarray(VNET_HDR, len));
          if (udp?.dstPort === 9999) resolve(udp);
        }
      });
    });
    execFile('ip', [
      'netns',
      'exec',
      ns.name,
      process.execPath,
      '-e',
      "require('dgram').createSocket('udp4').send('from-netns', 9999, '10.213.0.2', (e) => process.exit(e ? 1 : 0))",
    ]);
    const udp = await within(5000, 'the datagram on the tap', arrived);
    expect(udp).toMatchObject({ dstMac: PEER_MAC, srcMac: tapMac, srcIp: '10.213.0.1', dstIp: '10.213.0.2', dstPort: 9999 });
    expect(Buffer.from(udp?.payload ?? []).toString()).toBe('from-netns');
  });

  it('a frame written through the addon is received by a socket inside the namespace', async () => {
    const listener: ChildProcess = spawn(
      'ip',
      [
        'netns',
        'exec',
        ns.name,
        process.execPath,
        '-e',
        "const s = require('dgram').createSocket('udp4'); s.bind(7777, '10.213.0.1', () => console.log('ready'));" +
          "s.on('message', (m, r) => { console.log('got ' + m.toString() + ' from ' + r.address + ':' + r.port); process.exit(0); });" +
          'setTimeout(() => process.exit(2), 5000);',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    const lines = new Promise<string>((resolve) => {
      listener.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('ready') && !out.includes('sent')) {
          out += 'sent';
          const frame = udpFrame({
            dstMac: tapMac,
            srcMac: PEER_MAC,
            srcIp: '10.213.0.2',
            dstIp: '10.213.0.1',
            srcPort: 4242,
            dstPort: 7777,
            payload: Buffer.from('from-addon'),
          });
          const withHdr = new Uint8Array(VNET_HDR + frame.length);
          withHdr.set(frame, VNET_HDR);
          expect(tap.write(withHdr)).toBe(withHdr.length);
        }
        if (out.includes('got ')) resolve(out);
      });
    });
    const text = await within(5000, 'the socket in the namespace', lines);
    expect(text).toContain('got from-addon from 10.213.0.2:4242');
    listener.kill();
  });

  it('opening a tap whose name is in use fails with a message naming the cause', () => {
    const err = catchHostError(() => Tap.open({ name: tap.name, netns: ns.name }));
    expect(err.errno).toBe('EBUSY');
    expect(err.message).toBe(`tap ${tap.name}: the interface name is in use`);
  });

  it('a missing namespace and an over-long name are refused before anything is created', () => {
    expect(catchHostError(() => Tap.open({ name: 'x', netns: 'vdpa-model-no-such-ns' })).message).toBe(
      'network namespace vdpa-model-no-such-ns does not exist (/run/netns/vdpa-model-no-such-ns)',
    );
    expect(catchHostError(() => Tap.open({ name: 'a-name-longer-than-15', netns: ns.name })).message).toBe(
      "tap name 'a-name-longer-than-15' is 21 bytes; at most 15 fit (IFNAMSIZ 16)",
    );
  });
});

function catchHostError(fn: () => unknown): HostError {
  try {
    fn();
  } catch (e) {
    if (e instanceof HostError) return e;
    throw e;
  }
  throw new Error('expected a HostError');
}
