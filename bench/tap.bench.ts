// Through a real tap: a guest on a live simulated host (`vdpasim serve`'s machine, vdpasim_netx)
// whose device is cabled to a tap in a network namespace the bench makes and deletes.
// tap.rtt: ICMP echo round trips per second, iputils `ping -f` (one request in flight) from the
// namespace. tap.rx: frames per second the guest's virtio-net driver took off its RX ring while
// python3 floods the tap through an AF_PACKET socket (UDP to the guest's discard port, which it
// drops as NO_SOCKET). tap.tx: frames per second the host kernel counted into the tap (its
// rx_packets) while the guest's driver sends through the device (to a MAC nobody has, so the
// host drops them cheaply).
// Every figure is a count over the measured window divided by its length; the extra fields are
// counts over the same window (`seconds`), except `offeredPerS` and `cpuPct`, and say where
// frames went: tap.rx `offeredPerS` is what the host put into the tap (frames read plus frames its
// full queue dropped, `tapDropped`), `overruns` frames the device had no RX buffer for, `cpuPct`
// this process's CPU (100 = one core: below that with `tapDropped` > 0, something else had the
// CPU); tap.tx `written` is what the backend wrote (`writeErrors` what the tap refused) and
// `hostDiscarded` what the host's stack threw away after counting it in (all of it: nothing
// handles the frames' EtherType, which is what makes the host a cheap sink).
// Needs root, iproute2, and ping / python3 for rtt / rx; otherwise each says why on stderr and
// reports nothing. For scale: a C responder on a tap does ~70,000 ping round trips/s here, and a
// C writer puts ~3 M frames/s into a tap; one python3 sender offers ~0.6-0.9 M frames/s.

import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { HostError, Tap } from '../lib/host/index.js';
import { type Server, startServe } from '../sim/scenarios/index.js';
import type { BenchCase, BenchDef } from './harness.js';

const HOST_IP = '10.0.0.1';
const GUEST_IP = '10.0.0.2';
const GUEST_MAC = '02:76:64:70:61:02';
const BATCH = 128;

function missing(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return false;
  } catch {
    return true;
  }
}

/** Why the tap benches cannot run here, or undefined. */
function skipReason(tool?: { cmd: string; args: string[]; name: string }): string | undefined {
  if (process.platform !== 'linux') return `needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'needs root (CAP_NET_ADMIN) to create a network namespace and a tap';
  if (missing('ip', ['-V'])) return "needs iproute2's `ip`";
  if (tool && missing(tool.cmd, tool.args)) return `needs ${tool.name}`;
  return undefined;
}

interface Rig {
  ns: string;
  tap: Tap;
  server: Server;
}

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** A namespace, a tap in it (up, 10.0.0.1/24, IPv6 off) and the served guest at 10.0.0.2. */
function rig(): Rig {
  const ns = `vdpa-bench-${process.pid}`;
  ip('netns', 'add', ns);
  let tap: Tap | undefined;
  try {
    execFileSync('ip', ['netns', 'exec', ns, 'sh', '-c', 'echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6'], { stdio: 'ignore' });
    tap = Tap.open({ name: 'vbench0', netns: ns });
    const server = startServe({ tap, device: 'vdpasim_netx', ip: `${GUEST_IP}/24`, mac: GUEST_MAC });
    ip('-n', ns, 'link', 'set', tap.name, 'up');
    ip('-n', ns, 'addr', 'add', `${HOST_IP}/24`, 'dev', tap.name);
    // No ARP in the measured traffic.
    ip('-n', ns, 'neigh', 'add', GUEST_IP, 'lladdr', GUEST_MAC, 'dev', tap.name, 'nud', 'permanent');
    return { ns, tap, server };
  } catch (e) {
    tap?.close();
    ip('netns', 'del', ns);
    throw e instanceof HostError ? new Error(`tap bench: ${e.message}`) : e;
  }
}

function teardown(r: Rig): void {
  r.server.stop();
  r.tap.close();
  ip('netns', 'del', r.ns);
}

/** Runs `fn` on a fresh rig and always tears it down. */
async function withRig<T>(fn: (r: Rig) => Promise<T>): Promise<T> {
  const r = rig();
  try {
    return await fn(r);
  } finally {
    teardown(r);
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs a program in the namespace without blocking the event loop (the guest must keep running). */
function inNs(ns: string, cmd: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ip', ['netns', 'exec', ns, ...cmd], { encoding: 'utf8', timeout: timeoutMs }, (e, out, err) =>
      e ? reject(new Error(`${cmd[0]}: ${e.message} ${err}`)) : resolve(out),
    );
  });
}

function rttCase(): BenchCase {
  return {
    name: 'icmp,size=56',
    extra: { device: 'vdpasim_netx' },
    measure: (timeMs) =>
      withRig(async (r) => {
        // Warm up (JIT, ARP from the guest's side), then the flood for the measured time.
        await inNs(r.ns, ['ping', '-q', '-f', '-c', '2000', GUEST_IP], 30_000);
        const seconds = Math.max(1, Math.round(timeMs / 1000));
        const out = await inNs(r.ns, ['ping', '-q', '-f', '-w', String(seconds), GUEST_IP], (seconds + 10) * 1000);
        const m = /(\d+) packets transmitted, (\d+) received.*time (\d+)ms/.exec(out);
        if (!m) throw new Error(`tap.rtt: unexpected ping output: ${out}`);
        const avg = /= [\d.]+\/([\d.]+)\//.exec(out)?.[1];
        return { ops: Number(m[2]), seconds: Number(m[3]) / 1000, extra: { lost: Number(m[1]) - Number(m[2]), ...(avg ? { avgRttUs: Math.round(Number(avg) * 1000) } : {}) } };
      }),
  };
}

/** python3: AF_PACKET on the tap, the same UDP frame to the guest's discard port as fast as it can. */
const FLOOD = `
import socket, sys, time
size, seconds = int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
mac = lambda m: bytes(int(x, 16) for x in m.split(':'))
ip = bytes([10, 0, 0, 1]) + bytes([10, 0, 0, 2])
udp_len = size - 34
hdr = bytearray(20)
hdr[0] = 0x45; hdr[2:4] = (size - 14).to_bytes(2, 'big'); hdr[8] = 64; hdr[9] = 17; hdr[12:20] = ip
c = sum(int.from_bytes(hdr[i:i + 2], 'big') for i in range(0, 20, 2))
while c > 0xffff: c = (c & 0xffff) + (c >> 16)
hdr[10:12] = (~c & 0xffff).to_bytes(2, 'big')
udp = (40000).to_bytes(2, 'big') + (9).to_bytes(2, 'big') + udp_len.to_bytes(2, 'big') + bytes(2)
f = mac('${GUEST_MAC}') + bytes([2, 0, 0, 0, 0, 1]) + b'\\x08\\x00' + bytes(hdr) + udp + bytes(udp_len - 8)
send, n, t0 = s.send, 0, time.perf_counter()
end = t0 + seconds
while time.perf_counter() < end:
    for _ in range(1000):
        try: send(f)
        except OSError: pass
    n += 1000
print(n, time.perf_counter() - t0)
`;

/** The tap's counters as the host kernel keeps them (`ip -s link`), read outside measured windows. */
interface TapCounters {
  /** Frames written to the tap fd that the host accepted (device -> host). */
  rxPackets: number;
  rxDropped: number;
  /** Frames the tap fd gave us to read (counted when read: host -> device). */
  txPackets: number;
  /** Frames the host dropped because the tap's queue was full (nobody read fast enough). */
  txDropped: number;
  /** The tap's queue length (txqueuelen; tun's read queue holds this many frames). */
  qlen: number;
}

function tapCounters(r: Rig): TapCounters {
  type Link = { txqlen?: number; stats64: { rx: { packets: number; dropped: number }; tx: { packets: number; dropped: number } } };
  const j = (JSON.parse(ip('-n', r.ns, '-j', '-s', 'link', 'show', r.tap.name)) as Link[])[0];
  if (!j) throw new Error(`tap bench: ${r.tap.name} is gone`);
  const { rx, tx } = j.stats64;
  return { rxPackets: rx.packets, rxDropped: rx.dropped, txPackets: tx.packets, txDropped: tx.dropped, qlen: j.txqlen ?? 0 };
}

/**
 * The same counters, without qlen, from /proc/PID/net/dev of a process in the tap's namespace:
 * a file read, where `ip` would be a process that blocks the event loop for milliseconds, long
 * enough for a flood to fill the tap's queue.
 */
function procTapCounters(pid: number, tap: string): Omit<TapCounters, 'qlen'> {
  const line = readFileSync(`/proc/${pid}/net/dev`, 'utf8')
    .split('\n')
    .find((l) => l.trimStart().startsWith(`${tap}:`));
  if (!line) throw new Error(`tap bench: ${tap} is not in /proc/${pid}/net/dev`);
  // rx: bytes packets errs drop fifo frame compressed multicast; tx: bytes packets errs drop ...
  const f = (line.split(':')[1] as string).trim().split(/\s+/).map(Number);
  return { rxPackets: f[1] as number, rxDropped: f[3] as number, txPackets: f[9] as number, txDropped: f[11] as number };
}

/** Frames the guest's virtio-net driver took off its RX rings (virtnet's rq packets). */
const guestRx = (r: Rig): number => r.server.vm.nic.rq.reduce((n, q) => n + q.stats.packets, 0);

function rxCase(size: number): BenchCase {
  return {
    name: `size=${size}`,
    extra: { device: 'vdpasim_netx' },
    measure: (timeMs) =>
      withRig(async (r) => {
        const seconds = timeMs / 1000 + 1;
        const flood: ChildProcess = spawn('ip', ['netns', 'exec', r.ns, 'python3', '-c', FLOOD, r.tap.name, String(size), String(seconds)], {
          stdio: ['ignore', 'ignore', 'inherit'],
        });
        const exited = new Promise<void>((resolve) => flood.once('exit', () => resolve()));
        try {
          // Measure once frames flow: python's start-up is not part of the figure.
          for (let i = 0; i < 200 && guestRx(r) === 0; i++) await sleep(10);
          await sleep(100);
          const be = r.server.backend.stats.rx;
          // `ip netns exec` execs python3: this pid is a process in the namespace.
          const pid = flood.pid as number;
          const k0 = procTapCounters(pid, r.tap.name);
          const [g0, o0, w0, c0, t0] = [guestRx(r), be.overruns, be.wakeups, process.cpuUsage(), performance.now()];
          await sleep(timeMs);
          const [g1, o1, w1, c1, t1] = [guestRx(r), be.overruns, be.wakeups, process.cpuUsage(c0), performance.now()];
          const k1 = procTapCounters(pid, r.tap.name);
          await Promise.race([exited, sleep((seconds + 5) * 1000)]);
          const { qlen } = tapCounters(r);
          const s = (t1 - t0) / 1000;
          const received = g1 - g0;
          // What the host put into the tap meanwhile: what we read plus what its full queue dropped.
          const read = k1.txPackets - k0.txPackets;
          const tapDropped = k1.txDropped - k0.txDropped;
          return {
            ops: received,
            seconds: s,
            extra: {
              received,
              seconds: Math.round(s * 1000) / 1000,
              offeredPerS: Math.round((read + tapDropped) / s),
              tapDropped,
              overruns: o1 - o0,
              tapQueue: qlen,
              framesPerWakeup: w1 > w0 ? Math.round(read / (w1 - w0)) : 0,
              cpuPct: Math.round((c1.user + c1.system) / 10 / (t1 - t0)),
            },
          };
        } finally {
          flood.kill('SIGKILL');
        }
      }),
  };
}

/** A frame to a MAC nobody in the namespace has, with a local experimental EtherType. */
function stray(size: number): Uint8Array {
  const f = new Uint8Array(size);
  f.set([0x02, 0, 0, 0, 0, 0xfe], 0);
  f.set([0x02, 0x76, 0x64, 0x70, 0x61, 0x02], 6);
  f[12] = 0x88;
  f[13] = 0xb5;
  return f;
}

function txCase(size: number): BenchCase {
  return {
    name: `size=${size}`,
    extra: { device: 'vdpasim_netx' },
    measure: (timeMs) =>
      withRig(async (r) => {
        const { host, vm } = r.server;
        const f = stray(size);
        const burst = () => {
          for (let i = 0; i < BATCH; i++) if (!vm.nic.xmit(f, 0, size, i < BATCH - 1)) break;
          host.settleSync();
        };
        const tx = r.server.backend.stats.tx;
        for (let i = 0; i < 100; i++) burst();
        const k0 = tapCounters(r);
        const [n0, e0, t0] = [tx.frames, tx.errors + tx.linkDown, performance.now()];
        // The event loop turns every few milliseconds, as a guest vCPU would be preempted.
        while (performance.now() - t0 < timeMs) {
          for (let i = 0; i < 20; i++) burst();
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
        // Writes are synchronous: the host has counted every frame by the time the loop ends.
        const [n1, e1, t1] = [tx.frames, tx.errors + tx.linkDown, performance.now()];
        const k1 = tapCounters(r);
        const arrived = k1.rxPackets - k0.rxPackets;
        const s = (t1 - t0) / 1000;
        // The figure is what the host counted into the tap, not what we believe we wrote.
        return {
          ops: arrived,
          seconds: s,
          extra: { arrived, written: n1 - n0, seconds: Math.round(s * 1000) / 1000, hostDiscarded: k1.rxDropped - k0.rxDropped, writeErrors: e1 - e0 },
        };
      }),
  };
}

/** The cases, or none with the reason on stderr. */
function guarded(bench: string, tool: Parameters<typeof skipReason>[0], cases: () => BenchCase[]): () => BenchCase[] {
  return () => {
    const why = skipReason(tool);
    if (why) {
      process.stderr.write(`bench ${bench}: skipped: ${why}\n`);
      return [];
    }
    return cases();
  };
}

export const tapBenches: BenchDef[] = [
  { bench: 'tap.rtt', unit: 'round trips/s', cases: guarded('tap.rtt', { cmd: 'ping', args: ['-V'], name: 'iputils ping' }, () => [rttCase()]) },
  { bench: 'tap.rx', unit: 'frames/s', cases: guarded('tap.rx', { cmd: 'python3', args: ['--version'], name: 'python3' }, () => [rxCase(64), rxCase(1500)]) },
  { bench: 'tap.tx', unit: 'frames/s', cases: guarded('tap.tx', undefined, () => [txCase(64), txCase(1500)]) },
];
