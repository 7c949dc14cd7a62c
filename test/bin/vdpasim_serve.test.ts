// `vdpasim serve` end to end (the acceptance of the tap backend): the built CLI runs with its tap
// in a network namespace this test makes; from inside the namespace ping and a UDP client talk to
// the simulated guest through the tap, the device and its rings, over the simulators and over
// vp_vdpa on an emulated virtio-net-pci function. The capture is read back (our
// reader, and tshark when installed), SIGTERM prints statistics and removes the tap, and every
// failure is one line naming its cause with nothing left behind. Needs root (skips with the
// reason otherwise) and the build in dist/. Every wait is bounded.

import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tap } from '../../lib/host/index.js';
import { packageRoot } from '../../lib/package_root.js';
import { readCapture } from '../../lib/pcap/index.js';
import { type TestNetns, announceSkip, createNetns, rootSkipReason } from '../helpers/netns.js';

const CLI = join(packageRoot(), 'dist', 'bin', 'vdpasim.js');
const built = existsSync(join(packageRoot(), 'dist', 'bin', 'commands', 'serve.js'));
const skip = announceSkip('vdpasim serve on a real tap', rootSkipReason() ?? (built ? undefined : 'needs the build in dist/ (npm run build)'));
const hasPing = (() => {
  try {
    execFileSync('ping', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const hasTshark = (() => {
  try {
    execFileSync('tshark', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!skip && !hasPing) console.warn('vdpasim serve: the ping checks skip: no `ping` (iputils-ping) on this machine');

const HOST_IP = '10.0.0.1';
const GUEST_IP = '10.0.0.2';
const GUEST_MAC = '02:76:64:70:61:02';
const SERVE_WAIT_MS = 15_000;

/** Rejects after `ms` with what was awaited. */
function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

interface Served {
  proc: ChildProcess;
  ready: string;
  out(): string;
  err(): string;
  /** SIGTERM, then the exit code once it exited. */
  stop(): Promise<number | null>;
}

/** Starts `vdpasim serve ARGS` and waits for its ready line. */
async function serve(args: string[]): Promise<Served> {
  const proc = spawn(process.execPath, [CLI, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const ready = await within(
    SERVE_WAIT_MS,
    'the ready line',
    new Promise<string>((resolve, reject) => {
      proc.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        const line = /^ready: .*$/m.exec(out);
        if (line) resolve(line[0]);
      });
      void exited.then((code) => reject(new Error(`serve exited (${code}) before it was ready: ${err}`)));
    }),
  ).catch((e: unknown) => {
    proc.kill('SIGKILL');
    throw e;
  });
  return {
    proc,
    ready,
    out: () => out,
    err: () => err,
    stop: async () => {
      proc.kill('SIGTERM');
      return within(SERVE_WAIT_MS, 'serve to exit after SIGTERM', exited).finally(() => proc.kill('SIGKILL'));
    },
  };
}

/** Runs a program inside the namespace; its stdout. */
function inNs(ns: TestNetns, cmd: string[], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ip', ['netns', 'exec', ns.name, ...cmd], { timeout: timeoutMs, encoding: 'utf8', maxBuffer: 16 << 20 }, (e, stdout, stderr) =>
      e ? reject(new Error(`${cmd.join(' ')}: ${e.message}\n${stderr}`)) : resolve(stdout),
    );
  });
}

/** The tap up with the host's address, IPv6 off (no autoconfiguration chatter in the counts). */
function configureTap(ns: TestNetns, tap: string, mtu: number): void {
  ns.ip('link', 'set', tap, 'mtu', String(mtu), 'up');
  ns.ip('addr', 'add', `${HOST_IP}/24`, 'dev', tap);
}

function disableIpv6(ns: TestNetns): void {
  try {
    execFileSync('ip', ['netns', 'exec', ns.name, 'sh', '-c', 'echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6'], {
      stdio: 'ignore',
    });
  } catch {
    // No IPv6 in this kernel: nothing to quieten.
  }
}

/**
 * A UDP echo client (node, dgram) run inside the namespace: `sizes` datagrams to port 7, at most
 * `window` outstanding, each payload a pattern of its sequence number, each echo compared byte for
 * byte. Ends when every echo is back or nothing arrives for `quietMs`; prints one JSON line.
 */
const UDP_CLIENT = `
const dgram = require('dgram');
const [dst, sizesJson, window, quietMs] = [process.argv[1], process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const sizes = JSON.parse(sizesJson);
const body = (i) => { const b = Buffer.alloc(sizes[i]); for (let k = 0; k < b.length; k++) b[k] = (i * 7 + k * 31) & 0xff; if (b.length >= 4) b.writeUInt32BE(i, 0); return b; };
const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 1 << 20 });
const got = new Uint8Array(sizes.length);
let next = 0, received = 0, corrupted = 0, duplicates = 0, stray = 0;
const t0 = process.hrtime.bigint();
const done = () => { clearTimeout(stall); console.log(JSON.stringify({ sent: next, received, corrupted, duplicates, stray, ms: Number(process.hrtime.bigint() - t0) / 1e6 })); s.close(); };
let stall = setTimeout(done, quietMs);
const pump = () => { while (next < sizes.length && next - received < window) s.send(body(next++), 7, dst); };
s.on('message', (m) => {
  clearTimeout(stall);
  stall = setTimeout(done, quietMs);
  const i = m.length >= 4 ? m.readUInt32BE(0) : -1;
  if (!(i >= 0 && i < next)) stray++;
  else if (!m.equals(body(i))) corrupted++;
  else if (got[i]) duplicates++;
  else { got[i] = 1; received++; }
  if (received === sizes.length) done(); else pump();
});
s.bind(() => pump());
`;

interface UdpResult {
  sent: number;
  received: number;
  corrupted: number;
  duplicates: number;
  stray: number;
  ms: number;
}

async function udpEcho(ns: TestNetns, sizes: number[], quietMs = 2000, window = 8): Promise<UdpResult> {
  const out = await inNs(ns, [process.execPath, '-e', UDP_CLIENT, GUEST_IP, JSON.stringify(sizes), String(window), String(quietMs)]);
  return JSON.parse(out.trim().split('\n').pop() as string) as UdpResult;
}

/** A deterministic spread of sizes in [4, max] (room for the sequence number), with max itself first. */
function randomSizes(n: number, max: number, seed = 0x9e3779b9): number[] {
  let x = seed >>> 0;
  const sizes = [max];
  while (sizes.length < n) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    sizes.push(4 + (x % (max - 3)));
  }
  return sizes;
}

/** One number after `label` in the stats line starting with `prefix`. */
function stat(text: string, prefix: string, label: string): number {
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  const m = line && new RegExp(`${label} (\\d+)`).exec(line);
  if (!m) throw new Error(`no '${label}' in the '${prefix}' line of:\n${text}`);
  return Number(m[1]);
}

/**
 * From the namespace: `pings` pings (none lost) and 3 of the tap's MTU with DF set, then UDP
 * echo of `datagrams` datagrams up to the MTU, every one back intact. The UDP result.
 */
async function pingAndEcho(ns: TestNetns, o: { mtu: number; pings: number; datagrams: number }): Promise<UdpResult> {
  if (hasPing) {
    const ping = await inNs(ns, ['ping', '-c', String(o.pings), '-i', '0.005', '-W', '2', GUEST_IP]);
    expect(ping).toMatch(new RegExp(`${o.pings} packets transmitted, ${o.pings} received, 0% packet loss`));
    const full = await inNs(ns, ['ping', '-c', '3', '-i', '0.01', '-W', '2', '-M', 'do', '-s', String(o.mtu - 28), GUEST_IP]);
    expect(full).toMatch(/3 packets transmitted, 3 received/);
  }
  const udp = await udpEcho(ns, randomSizes(o.datagrams, o.mtu - 28));
  expect(udp).toMatchObject({ sent: o.datagrams, received: o.datagrams, corrupted: 0, duplicates: 0, stray: 0 });
  return udp;
}

/** What every clean stop prints: the signal, the tap removed (and gone), no overruns, every datagram at the guest, no guest drops. */
function expectCleanStop(ns: TestNetns, out: string, tap: string, udpIn: number): void {
  expect(out).toContain('SIGTERM: stopping');
  expect(out).toContain(`removed tap ${tap}`);
  expect(linkExists(ns, tap)).toBe(false);
  expect(stat(out, `tap ${tap}:`, 'overruns')).toBe(0);
  expect(stat(out, 'guest eth0', 'udp in')).toBe(udpIn);
  expect(out).toMatch(/^guest eth0 .*; drops none$/m);
}

const tapName = (tag: string) => `vs${tag}${process.pid % 100000}`;
const linkExists = (ns: TestNetns, name: string): boolean => {
  try {
    ns.ip('link', 'show', name);
    return true;
  } catch {
    return false;
  }
};

describe.skipIf(skip)('vdpasim serve: a guest on a real tap (root)', () => {
  let ns: TestNetns;
  let dir: string;

  beforeAll(() => {
    ns = createNetns('vdpa-serve');
    disableIpv6(ns);
    dir = mkdtempSync(join(tmpdir(), 'vdpa-serve-'));
  });

  afterAll(() => {
    ns?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('vdpasim_netx at MTU 9000: ping loses nothing, 10,000 UDP datagrams up to the MTU echo intact, the capture holds every frame, SIGTERM prints stats and removes the tap', async () => {
    const tap = tapName('x');
    const pcap = join(dir, 'netx.pcapng');
    const s = await serve(['--netns', ns.name, '--tap', tap, '--ip', `${GUEST_IP}/24`, '--device', 'vdpasim_netx', '--mtu', '9000', '--pcap', pcap]);
    try {
      expect(s.ready).toBe(`ready: ${tap} ${GUEST_IP} ${GUEST_MAC}`);
      configureTap(ns, tap, 9000);
      const udp = await pingAndEcho(ns, { mtu: 9000, pings: 200, datagrams: 10_000 });
      console.log(`vdpasim_netx: 10,000 UDP datagrams of 4..8972 bytes echoed intact in ${Math.round(udp.ms)} ms`);
    } finally {
      expect(await s.stop()).toBe(0);
    }
    const out = s.out();
    expectCleanStop(ns, out, tap, 10_000);

    // Every frame that crossed the device, each way, with queue, direction and verdict.
    const rxFrames = stat(out, `tap ${tap}:`, 'rx frames');
    const txFrames = stat(out, `tap ${tap}:`, 'tx frames');
    const cap = readCapture(new Uint8Array(readFileSync(pcap)));
    expect(cap.format).toBe('pcapng');
    expect(cap.interfaces.map((i) => i.name)).toEqual(['vdpa0/q0']);
    expect(cap.packets.length).toBe(rxFrames + txFrames);
    expect(stat(out, 'pcap:', 'frames')).toBe(cap.packets.length);
    const inbound = cap.packets.filter((p) => p.flags === 1);
    const outbound = cap.packets.filter((p) => p.flags === 2);
    expect([inbound.length, outbound.length]).toEqual([rxFrames, txFrames]);
    expect(inbound.every((p) => /^vdpa0 rx0 (delivered|filtered)$/.test(p.comment ?? ''))).toBe(true);
    expect(outbound.every((p) => p.comment === 'vdpa0 tx0 delivered')).toBe(true);
    expect(Math.max(...cap.packets.map((p) => p.data.length))).toBe(9014);
    if (hasTshark) {
      const lines = execFileSync('tshark', ['-r', pcap, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 });
      expect(lines.trim().split('\n').length).toBe(cap.packets.length);
    }
  });

  it('vdpasim_net at MTU 9000: frames beyond PAGE_SIZE reach the guest cut to 4096 bytes with the header, as the kernel simulator copies them', async () => {
    const tap = tapName('n');
    const pcap = join(dir, 'net.pcapng');
    const s = await serve(['--netns', ns.name, '--tap', tap, '--device', 'vdpasim_net', '--mtu', '9000', '--pcap', pcap]);
    let small: UdpResult;
    let big: UdpResult;
    try {
      configureTap(ns, tap, 9000);
      // 4042 bytes of payload make a 4084-byte frame: with the 12-byte header exactly PAGE_SIZE.
      small = await udpEcho(ns, [4042, ...randomSizes(200, 4042)]);
      // Nothing comes back: a short quiet period ends it.
      big = await udpEcho(ns, [4043, 6000, 8972], 300);
    } finally {
      expect(await s.stop()).toBe(0);
    }
    expect(small).toMatchObject({ sent: 201, received: 201, corrupted: 0 });
    // One byte over, and the guest sees an IP packet longer than its frame: dropped, no echo.
    expect(big).toMatchObject({ sent: 3, received: 0 });
    const out = s.out();
    const cap = readCapture(new Uint8Array(readFileSync(pcap)));
    const delivered = cap.packets.filter((p) => p.comment === 'vdpa0 rx0 delivered').map((p) => p.data.length);
    expect(delivered.filter((n) => n > 4084).sort((a, b) => a - b)).toEqual([4085, 6042, 9014]);
    // What arrived: each frame cut at PAGE_SIZE - 12 bytes of Ethernet, 4096 bytes with the header.
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    expect(stat(out, 'device vdpa0 rx0', 'rx packets')).toBe(delivered.length);
    expect(stat(out, 'device vdpa0 rx0', 'rx bytes')).toBe(sum(delivered.map((n) => Math.min(n + 12, 4096))));
    expect(stat(out, 'guest eth0', 'rx packets \\d+ bytes')).toBe(sum(delivered.map((n) => Math.min(n, 4084))));
    expect(stat(out, 'guest eth0', 'PKT_TOO_SMALL')).toBe(3);
    console.log(`vdpasim_net: frames of ${[4085, 6042, 9014].join(', ')} bytes from the tap reached the guest as 4084 bytes each (4096 with the header); the guest dropped them (PKT_TOO_SMALL)`);
    expect(linkExists(ns, tap)).toBe(false);
  });

  it('vp_vdpa at MTU 9000 with --mac: the guest has that MAC, ping and UDP echo lose nothing, the function counts per queue and its CVQ got the guest\'s commands directly', async () => {
    const tap = tapName('p');
    const vpMac = '02:76:64:70:61:0a';
    const s = await serve(['--netns', ns.name, '--tap', tap, '--device', 'vp_vdpa', '--mac', vpMac, '--mtu', '9000']);
    try {
      expect(s.ready).toBe(`ready: ${tap} ${GUEST_IP} ${vpMac}`);
      configureTap(ns, tap, 9000);
      await pingAndEcho(ns, { mtu: 9000, pings: 50, datagrams: 1000 });
    } finally {
      expect(await s.stop()).toBe(0);
    }
    const out = s.out();
    expectCleanStop(ns, out, tap, 1000);
    // The function's counters: what reached its RX queue is what the tap delivered to it.
    expect(stat(out, 'device vdpa0 rx0', 'rx packets')).toBe(stat(out, `tap ${tap}:`, 'delivered'));
    expect(stat(out, 'device vdpa0 tx0', 'tx packets')).toBe(stat(out, `tap ${tap}:`, 'tx frames'));
    // The passed-through CVQ: PROMISC, ALLMULTI and the MAC table from the guest's probe.
    expect([stat(out, 'device vdpa0 cvq', 'cvq requests'), stat(out, 'device vdpa0 cvq', 'cvq errors')]).toEqual([3, 0]);
  });

  describe('errors: one line naming the cause, exit 1, nothing left behind', () => {
    const run = (args: string[], opts: { uid?: number; wrap?: string[] } = {}): Promise<{ code: number | null; out: string; err: string }> =>
      new Promise((resolve) => {
        const argv = [process.execPath, CLI, 'serve', ...args];
        const [cmd, ...rest] = [...(opts.wrap ?? []), ...argv] as [string, ...string[]];
        execFile(cmd, rest, { timeout: SERVE_WAIT_MS, encoding: 'utf8', ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.uid } : {}) }, (e, out, err) =>
          resolve({ code: e ? ((e as { code?: number }).code ?? null) : 0, out, err }),
        );
      });
    const linksBefore = () => ns.ip('-o', 'link', 'show');

    it('an over-long name, a missing namespace, a name held by another tap, a name that is not a tap', async () => {
      const links = linksBefore();
      const pcap = join(dir, 'never.pcapng');
      expect(await run(['--netns', ns.name, '--tap', 'a-name-longer-than-15', '--pcap', pcap])).toEqual({
        code: 1,
        out: '',
        err: "vdpasim serve: tap name 'a-name-longer-than-15' is 21 bytes; at most 15 fit (IFNAMSIZ 16)\n",
      });
      expect(await run(['--netns', 'vdpa-model-no-such-ns', '--tap', 't0'])).toMatchObject({
        code: 1,
        err: 'vdpasim serve: network namespace vdpa-model-no-such-ns does not exist (/run/netns/vdpa-model-no-such-ns)\n',
      });
      const held = Tap.open({ name: tapName('h'), netns: ns.name });
      try {
        expect(await run(['--netns', ns.name, '--tap', held.name, '--pcap', pcap])).toMatchObject({
          code: 1,
          err: `vdpasim serve: tap ${held.name}: the interface name is in use\n`,
        });
      } finally {
        held.close();
      }
      expect(await run(['--netns', ns.name, '--tap', 'lo'])).toMatchObject({
        code: 1,
        err: "vdpasim serve: tap lo: TUNSETIFF refused (Invalid argument); the name may belong to an interface that is not a tap\n",
      });
      expect(existsSync(pcap)).toBe(false);
      expect(linksBefore()).toBe(links);
    });

    it('a device that refuses its configuration removes the tap and the capture it had made', async () => {
      const links = linksBefore();
      const pcap = join(dir, 'refused.pcapng');
      const r = await run(['--netns', ns.name, '--tap', tapName('r'), '--mtu', '20000', '--pcap', pcap]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/^vdpasim serve: vdpa dev add name vdpa0 mgmtdev vdpasim_netx .* mtu 20000: kernel answers: Invalid argument\n$/);
      expect(existsSync(pcap)).toBe(false);
      expect(linksBefore()).toBe(links);
    });

    it('without root: creating the tap (or entering the namespace) needs privileges, and says so', async () => {
      const nobody = 65534;
      const plain = await run(['--tap', 't0'], { uid: nobody });
      expect(plain.code).toBe(1);
      expect(plain.err).toMatch(/^vdpasim serve: (cannot open \/dev\/net\/tun: Permission denied \(creating a tap needs root or CAP_NET_ADMIN\)|creating tap t0 needs root or CAP_NET_ADMIN)\n$/);
      expect(await run(['--netns', ns.name, '--tap', 't0'], { uid: nobody })).toMatchObject({
        code: 1,
        err: `vdpasim serve: cannot enter network namespace ${ns.name}: Operation not permitted (needs root or CAP_SYS_ADMIN)\n`,
      });
    });

    it('/dev/net/tun missing (hidden in a private mount namespace)', async () => {
      const r = await run(['--netns', ns.name, '--tap', 't0'], { wrap: ['unshare', '-m', 'sh', '-c', 'mount -t tmpfs none /dev/net && exec "$@"', 'sh'] });
      expect(r).toMatchObject({ code: 1, err: 'vdpasim serve: /dev/net/tun is missing: load the tun module (modprobe tun)\n' });
    });
  });
});
