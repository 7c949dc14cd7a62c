// `vdpasim serve`: a simulated host with one vDPA net device whose medium is a real tap, and a
// guest answering ARP, ICMP echo and UDP echo on it, until SIGINT or SIGTERM; then statistics,
// and the tap removed. Every failure is one line naming its cause, a non-zero exit, and nothing
// left behind (no tap, no capture file).

import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { HostError, NativeUnavailableError, Tap } from '../../lib/host/index.js';
import { parseMac } from '../../lib/net/index.js';
import { FileSink, PcapngWriter } from '../../lib/pcap/index.js';
import { SERVE_DEFAULT_IP, SERVE_DEFAULT_MAC, SERVE_DEVICES, type ServeDevice, type Server, renderServeStats, startServe } from '../../sim/scenarios/index.js';
import { type CommandIo, UsageError } from './io.js';
import { profileOf } from './uapi.js';

const DEVICES = Object.keys(SERVE_DEVICES) as ServeDevice[];

export const SERVE_USAGE = `Usage: vdpasim serve [--tap NAME] [--netns NS] [--ip ADDR/PREFIX] [--mac MAC] [--device D]
                     [--mtu N] [--pcap FILE] [--profile P]
  Runs a simulated host with one vDPA net device cabled to a real tap interface, and a guest on
  it answering ARP, ICMP echo and UDP echo (port 7), until SIGINT or SIGTERM; then prints
  statistics and removes the tap. Prints \`ready: <tap> <guest ip> <guest mac>\` once the guest
  answers. Configure the tap as for a QEMU tap (ip link set NAME up; ip addr add ...). Needs
  root or CAP_NET_ADMIN.
  --tap NAME       tap interface name (default: the kernel picks tapN)
  --netns NS       create the tap in network namespace NS (ip netns)
  --ip ADDR/PREFIX the guest's address (default ${SERVE_DEFAULT_IP})
  --mac MAC        the device's and guest's MAC (default ${SERVE_DEFAULT_MAC}); over vp_vdpa the
                   function's, set when it is plugged (vp_vdpa takes no MAC at dev add)
  --device D       management device: ${DEVICES.join(', ')} (default ${DEVICES[0]})
  --mtu N          the device's MTU, offered to the guest (default 1500); over vp_vdpa the
                   function's host_mtu (68..9000)
  --pcap FILE      write every frame crossing the device to FILE (pcapng; queue, direction, verdict)
  --profile P      kernel profile (default upstream)`;

/** ADDR/PREFIX with a dotted IPv4 address. */
function checkIp(cidr: string): void {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 32) throw new UsageError(`--ip '${cidr}' is not ADDR/PREFIX (e.g. ${SERVE_DEFAULT_IP})`);
}

/** Resolves with the first SIGINT or SIGTERM (both handlers removed). */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

const failure = (e: unknown): string | undefined =>
  e instanceof HostError || e instanceof NativeUnavailableError ? e.message : undefined;

export async function serveCommand(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      tap: { type: 'string' },
      netns: { type: 'string' },
      ip: { type: 'string' },
      mac: { type: 'string' },
      device: { type: 'string' },
      mtu: { type: 'string' },
      pcap: { type: 'string' },
      profile: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    io.out(`${SERVE_USAGE}\n`);
    return 0;
  }
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const device = (values.device ?? DEVICES[0]) as ServeDevice;
  if (!DEVICES.includes(device)) throw new UsageError(`unknown device '${values.device}' (one of ${DEVICES.join(', ')})`);
  const ip = values.ip ?? SERVE_DEFAULT_IP;
  checkIp(ip);
  const mac = values.mac ?? SERVE_DEFAULT_MAC;
  const macBytes = parseMac(mac);
  if (!macBytes || (macBytes[0] as number) & 1) throw new UsageError(`--mac '${mac}' is not a unicast MAC address`);
  const mtu = values.mtu === undefined ? undefined : Number(values.mtu);
  if (mtu !== undefined && !(Number.isInteger(mtu) && mtu > 0 && mtu <= 0xffff)) throw new UsageError(`--mtu '${values.mtu}' is not a number of bytes`);
  const profile = profileOf(values.profile ?? 'upstream');
  const say = (msg: string): number => {
    io.err(`vdpasim serve: ${msg}\n`);
    return 1;
  };

  let tap: Tap;
  try {
    tap = Tap.open({ name: values.tap ?? '', ...(values.netns !== undefined ? { netns: values.netns } : {}) });
  } catch (e) {
    const msg = failure(e);
    if (msg === undefined) throw e;
    return say(msg);
  }
  let pcap: PcapngWriter | undefined;
  let server: Server;
  try {
    if (values.pcap !== undefined) {
      try {
        pcap = new PcapngWriter(new FileSink(values.pcap));
      } catch (e) {
        throw new Error(`cannot write ${values.pcap}: ${(e as Error).message}`);
      }
    }
    server = startServe({ tap, device, profile, ip, mac, ...(mtu !== undefined ? { mtu } : {}), ...(pcap ? { pcap } : {}) });
  } catch (e) {
    tap.close();
    if (pcap) {
      pcap.close();
      rmSync(values.pcap as string, { force: true });
    }
    return say(failure(e) ?? (e as Error).message);
  }
  io.out(`ready: ${tap.name} ${server.ip.split('/')[0]} ${server.mac}\n`);

  const sig = await untilSignal();
  const stats = server.stats();
  server.stop();
  pcap?.close();
  const persistent = tap.persistent;
  tap.close();
  io.out(`${sig}: stopping\n`);
  io.out(renderServeStats(stats, tap.name, { name: server.vm.nic.name, ip: server.ip }));
  io.out(persistent ? `tap ${tap.name} is persistent (ip tuntap): left in place\n` : `removed tap ${tap.name}\n`);
  return 0;
}
