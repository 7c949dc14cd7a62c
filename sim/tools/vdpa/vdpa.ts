// Models: iproute2's vdpa/vdpa.c (the `vdpa` tool): mgmtdev show, dev show/add/del, dev config
// show, dev vstats show and (newer iproute2, with kernels that have DEV_ATTR_SET) dev set, with
// its argument grammar (prefix matching only where iproute2 allows it), text and JSON output
// (including the "link " and "link_announce " keys) and its exit codes: a failed request exits
// 1, except vstats, which prints the kernel's answer and exits 0.
// The tool is built against a profile's headers: attribute numbers, and whether `dev set` exists,
// follow the profile (iproute2 6.1 for linux-6.1).
// Deviations: the netlink socket is a transport function; `-V` names the modelled iproute2.

import {
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_REQUEST,
  type UapiProfile,
  VDPA_GENL_NAME,
  VDPA_GENL_VERSION,
  VIRTIO_ID_BLOCK,
  VIRTIO_ID_NET,
  VIRTIO_NET_F_CTRL_VQ,
  VIRTIO_NET_S_ANNOUNCE,
  VIRTIO_NET_S_LINK_UP,
  dataView,
  vdpaAttrs,
  vdpaCommands,
} from '../../../uapi/index.js';
import type { NlAttrs, NlMsgWriter } from '../../../lib/netlink/index.js';
import { LineBufferedStdout, type ToolIo } from '../io.js';
import { getU16, getU32, getU64Hex, llAddrA2n, matches, parseOptions } from './argv.js';
import { JsonPrint } from './json_print.js';
import { type GenlTransport, MnluGenSocket } from './mnl.js';

const EINVAL = 22;
const ENOENT = 2;

const NET_FEATURES: Record<number, string> = {
  0: 'CSUM',
  1: 'GUEST_CSUM',
  2: 'CTRL_GUEST_OFFLOADS',
  3: 'MTU',
  5: 'MAC',
  7: 'GUEST_TSO4',
  8: 'GUEST_TSO6',
  9: 'GUEST_ECN',
  10: 'GUEST_UFO',
  11: 'HOST_TSO4',
  12: 'HOST_TSO6',
  13: 'HOST_ECN',
  14: 'HOST_UFO',
  15: 'MRG_RXBUF',
  16: 'STATUS',
  17: 'CTRL_VQ',
  18: 'CTRL_RX',
  19: 'CTRL_VLAN',
  20: 'CTRL_RX_EXTRA',
  21: 'GUEST_ANNOUNCE',
  22: 'MQ',
  23: 'CTRL_MAC_ADDR',
  24: 'NOTIFY_ON_EMPTY',
  27: 'ANY_LAYOUT',
  57: 'HASH_REPORT',
  60: 'RSS',
  61: 'RSC_EXT',
  62: 'STANDBY',
  63: 'SPEED_DUPLEX',
};

/** Transport bits VIRTIO_TRANSPORT_F_START (28) .. F_END. */
const EXT_FEATURES: Record<number, string> = {
  28: 'RING_INDIRECT_DESC',
  29: 'RING_EVENT_IDX',
  32: 'VERSION_1',
  33: 'ACCESS_PLATFORM',
  34: 'RING_PACKED',
  35: 'IN_ORDER',
  36: 'ORDER_PLATFORM',
  37: 'SR_IOV',
  38: 'NOTIFICATION_DATA',
};

interface Opts {
  mgmtdev?: { bus?: string; name: string };
  devName?: string;
  mac?: Uint8Array;
  mtu?: number;
  maxVqp?: number;
  features?: bigint;
  qidx?: number;
}

type OptKind = 'mgmtdevHandle' | 'devMgmtdev' | 'devName' | 'devHandle' | 'mac' | 'mtu' | 'maxVqp' | 'features' | 'qidx';

export interface VdpaToolOptions {
  profile: UapiProfile;
  transport: GenlTransport;
}

class VdpaTool {
  private readonly A: Record<string, number>;
  private readonly C: Record<string, number>;
  private readonly stdout: LineBufferedStdout;
  private p!: JsonPrint;
  private nlg!: MnluGenSocket;
  private readonly err: (s: string) => void;

  constructor(
    io: ToolIo,
    private readonly cfg: VdpaToolOptions,
  ) {
    this.A = vdpaAttrs(cfg.profile) as Record<string, number>;
    this.C = vdpaCommands(cfg.profile) as Record<string, number>;
    this.stdout = new LineBufferedStdout(io);
    this.err = (s) => {
      io.err(s);
    };
  }

  private get hasDevSet(): boolean {
    return this.C.VDPA_CMD_DEV_ATTR_SET !== undefined;
  }

  private help(): void {
    this.err(
      'Usage: vdpa [ OPTIONS ] OBJECT { COMMAND | help }\n' +
        'where  OBJECT := { mgmtdev | dev }\n' +
        '       OPTIONS := { -V[ersion] | -n[o-nice-names] | -j[son] | -p[retty] }\n',
    );
  }

  run(argv: readonly string[]): number {
    const o = parseOptions(argv, this.err);
    if (o.bad) {
      this.err('Unknown option.\n');
      this.help();
      return 1;
    }
    if (o.version) {
      this.stdout.write('vdpa utility, iproute2-6.1.0\n');
      this.stdout.flush();
      return 0;
    }
    if (o.help) {
      this.help();
      return 0;
    }
    const nlg = MnluGenSocket.open(this.cfg.transport, VDPA_GENL_NAME, VDPA_GENL_VERSION, this.err);
    if (!nlg) {
      this.err('Failed to connect to vdpa Netlink\n');
      return 1;
    }
    this.nlg = nlg;
    this.p = new JsonPrint(this.stdout, o.json, o.pretty);
    const r = this.cmd(o.args);
    this.p.finish();
    this.stdout.flush();
    return r ? 1 : 0;
  }

  private cmd(args: readonly string[]): number {
    const [first, ...rest] = args;
    if (first === undefined || matches(first, 'help')) {
      this.help();
      return 0;
    }
    if (matches(first, 'mgmtdev')) return this.cmdMgmtdev(rest);
    if (matches(first, 'dev')) return this.cmdDev(rest);
    this.err(`Object "${first}" not found\n`);
    return -ENOENT;
  }

  // ---- argument parsing ------------------------------------------------------------------------

  /** vdpa_argv_handle(): "name" or "bus/name". */
  private handle(arg: string | undefined): { bus?: string; name: string } | number {
    if (arg === undefined) {
      this.err('vdpa identification ("mgmtdev_bus_name/mgmtdev_name") expected\n');
      return -EINVAL;
    }
    const parts = arg.split('/');
    if (parts.length > 2) {
      this.err('Wrong vdpa mgmtdev identification string format\n');
      this.err('Expected "mgmtdev_bus_name/mgmtdev_name"\n');
      this.err('Expected "mgmtdev_name"\n');
      return -EINVAL;
    }
    return parts.length === 2 ? { bus: parts[0] as string, name: parts[1] as string } : { name: arg };
  }

  /** vdpa_argv_parse(): fills Opts; -EINVAL (after a message) on bad input. */
  private parse(args: readonly string[], required: readonly OptKind[], optional: readonly OptKind[]): Opts | number {
    const all = new Set<OptKind>([...required, ...optional]);
    const o: Opts = {};
    const found = new Set<OptKind>();
    let i = 0;
    if (required.includes('mgmtdevHandle')) {
      const h = this.handle(args[0]);
      if (typeof h === 'number') return h;
      o.mgmtdev = h;
      found.add('mgmtdevHandle');
      i = 1;
    } else if (required.includes('devHandle')) {
      if (args[0] === undefined) {
        this.err('String parameter expected\n');
        return -EINVAL;
      }
      o.devName = args[0];
      found.add('devHandle');
      i = 1;
    }
    const value = (what: string): string | undefined => {
      const v = args[++i];
      if (v === undefined) this.err(`${what}\n`);
      return v;
    };
    for (; i < args.length; i++) {
      const a = args[i] as string;
      if (matches(a, 'name') && all.has('devName')) {
        const v = value('String parameter expected');
        if (v === undefined) return -EINVAL;
        o.devName = v;
        found.add('devName');
      } else if (matches(a, 'mgmtdev') && all.has('devMgmtdev')) {
        const h = this.handle(args[++i]);
        if (typeof h === 'number') return h;
        o.mgmtdev = h;
        found.add('devMgmtdev');
      } else if (a === 'mac' && all.has('mac')) {
        const v = value('String parameter expected');
        if (v === undefined) return -EINVAL;
        const mac = llAddrA2n(v, this.err);
        if (!mac) return -EINVAL;
        o.mac = mac;
        found.add('mac');
      } else if (a === 'mtu' && all.has('mtu')) {
        const v = value('number expected');
        const n = v === undefined ? undefined : getU16(v);
        if (n === undefined) return -EINVAL;
        o.mtu = n;
        found.add('mtu');
      } else if (matches(a, 'max_vqp') && optional.includes('maxVqp')) {
        const v = value('number expected');
        const n = v === undefined ? undefined : getU16(v);
        if (n === undefined) return -EINVAL;
        o.maxVqp = n;
        found.add('maxVqp');
      } else if (a === 'device_features' && all.has('features')) {
        const v = value('number expected');
        const n = v === undefined ? undefined : getU64Hex(v);
        if (n === undefined) return -EINVAL;
        o.features = n;
        found.add('features');
      } else if (a === 'qidx' && all.has('qidx')) {
        const v = value('number expected');
        const n = v === undefined ? undefined : getU32(v);
        if (n === undefined) return -EINVAL;
        o.qidx = n;
        found.add('qidx');
      } else {
        this.err(`Unknown option "${a}"\n`);
        return -EINVAL;
      }
    }
    const need: [OptKind, string][] = [
      ['devMgmtdev', 'management device handle not set.'],
      ['devName', 'device name is not set.'],
      ['devHandle', 'device name is not set.'],
    ];
    for (const [k, msg] of need) {
      if (required.includes(k) && !found.has(k)) {
        this.err(`${msg}\n`);
        return -EINVAL;
      }
    }
    return o;
  }

  /** vdpa_opts_put(). */
  private put(w: NlMsgWriter, o: Opts): void {
    const A = this.A;
    if (o.mgmtdev) {
      if (o.mgmtdev.bus !== undefined) w.putString(A.VDPA_ATTR_MGMTDEV_BUS_NAME as number, o.mgmtdev.bus);
      w.putString(A.VDPA_ATTR_MGMTDEV_DEV_NAME as number, o.mgmtdev.name);
    }
    if (o.devName !== undefined) w.putString(A.VDPA_ATTR_DEV_NAME as number, o.devName);
    if (o.mac) w.put(A.VDPA_ATTR_DEV_NET_CFG_MACADDR as number, o.mac);
    if (o.mtu !== undefined) w.putU16(A.VDPA_ATTR_DEV_NET_CFG_MTU as number, o.mtu);
    if (o.maxVqp !== undefined) w.putU16(A.VDPA_ATTR_DEV_NET_CFG_MAX_VQP as number, o.maxVqp);
    if (o.features !== undefined) w.putU64(A.VDPA_ATTR_DEV_FEATURES as number, o.features);
    if (o.qidx !== undefined) w.putU32(A.VDPA_ATTR_DEV_QUEUE_INDEX as number, o.qidx);
  }

  /** The request with its arguments parsed in, or -errno after the parser's message. */
  private build(cmd: string, flags: number, args: readonly string[], required: readonly OptKind[], optional: readonly OptKind[]): NlMsgWriter | number {
    const w = this.nlg.prepare(this.C[cmd] as number, flags);
    if (args.length > 0 || required.length > 0) {
      const o = this.parse(args, required, optional);
      if (typeof o === 'number') return o;
      this.put(w, o);
    }
    return w;
  }

  /** Sends a built request, printing replies inside a JSON section when one is named. */
  private send(w: NlMsgWriter, cb?: (tb: NlAttrs) => void, section?: string): number {
    if (section) this.sectionStart(section);
    const r = this.nlg.sndrcv(w, cb && ((_m, tb) => cb(tb)));
    if (section) this.sectionEnd();
    return r;
  }

  private request(
    cmd: string,
    flags: number,
    args: readonly string[],
    required: readonly OptKind[],
    optional: readonly OptKind[],
    cb?: (tb: NlAttrs) => void,
    section?: string,
  ): number {
    const w = this.build(cmd, flags, args, required, optional);
    return typeof w === 'number' ? w : this.send(w, cb, section);
  }

  private sectionStart(name: string): void {
    this.p.openObject(null);
    this.p.openObject(name);
  }

  private sectionEnd(): void {
    this.p.closeObject();
    this.p.closeObject();
  }

  private arrayStart(name: string): void {
    if (!this.p.json) {
      this.p.nl();
      this.p.incIndent();
      this.p.printIndent();
    }
    this.p.openArray(name);
  }

  private arrayEnd(): void {
    this.p.closeArray();
    if (!this.p.json) this.p.decIndent();
  }

  private handleStart(key: string): void {
    if (this.p.json) this.p.openObject(key);
    else this.p.text(`${key}: `);
  }

  private handleEnd(): void {
    if (this.p.json) this.p.closeObject();
    else this.p.nl();
  }

  private str(tb: NlAttrs, name: string): string | undefined {
    return tb.string(this.A[name] as number);
  }

  private mgmtdevKey(tb: NlAttrs): string {
    const name = this.str(tb, 'VDPA_ATTR_MGMTDEV_DEV_NAME') ?? '';
    const bus = this.str(tb, 'VDPA_ATTR_MGMTDEV_BUS_NAME');
    return bus === undefined ? name : `${bus}/${name}`;
  }

  private printFeatures(features: bigint, mgmtdev: boolean, devId: number): void {
    this.arrayStart(mgmtdev ? 'dev_features' : 'negotiated_features');
    const transportEnd = this.cfg.profile === 'linux-6.1' ? 41 : 42;
    for (let i = 0; i < 64; i++) {
      if (!(features & (1n << BigInt(i)))) continue;
      const s = i < 28 || i > transportEnd ? (devId === VIRTIO_ID_NET ? NET_FEATURES[i] : undefined) : EXT_FEATURES[i];
      if (s === undefined) this.p.uint(null, ' bit_%d', i);
      else this.p.string(null, ' %s', s);
    }
    this.arrayEnd();
  }

  // ---- mgmtdev ---------------------------------------------------------------------------------

  private cmdMgmtdev(args: readonly string[]): number {
    const [first, ...rest] = args;
    if (first === undefined || matches(first, 'help')) {
      this.err('Usage: vdpa mgmtdev show [ DEV ]\n');
      return 0;
    }
    if (matches(first, 'show') || matches(first, 'list')) {
      const flags = NLM_F_REQUEST | NLM_F_ACK | (rest.length === 0 ? NLM_F_DUMP : 0);
      return this.request('VDPA_CMD_MGMTDEV_GET', flags, rest, rest.length ? ['mgmtdevHandle'] : [], [], (tb) => this.prMgmtdev(tb), 'mgmtdev');
    }
    this.err(`Command "${first}" not found\n`);
    return -ENOENT;
  }

  private prMgmtdev(tb: NlAttrs): void {
    const A = this.A;
    if (!tb.has(A.VDPA_ATTR_MGMTDEV_DEV_NAME as number)) return;
    this.handleStart(this.mgmtdevKey(tb));
    const classes = tb.u64(A.VDPA_ATTR_MGMTDEV_SUPPORTED_CLASSES as number);
    if (classes !== undefined) {
      this.arrayStart('supported_classes');
      for (let i = 1; i < 64; i++) {
        if (!(classes & (1n << BigInt(i)))) continue;
        this.p.string(null, ' %s', i === VIRTIO_ID_NET ? 'net' : i === VIRTIO_ID_BLOCK ? 'block' : '< unknown class >');
      }
      this.arrayEnd();
    }
    const maxVqs = tb.u32(A.VDPA_ATTR_DEV_MGMTDEV_MAX_VQS as number);
    if (maxVqs !== undefined) {
      this.p.nl();
      this.p.uint('max_supported_vqs', '  max_supported_vqs %d', maxVqs);
    }
    const features = tb.u64(A.VDPA_ATTR_DEV_SUPPORTED_FEATURES as number);
    if (features !== undefined) {
      this.printFeatures(features, true, classes !== undefined && classes & (1n << BigInt(VIRTIO_ID_NET)) ? VIRTIO_ID_NET : 0);
    }
    this.handleEnd();
  }

  // ---- dev -------------------------------------------------------------------------------------

  private devHelp(): void {
    this.err('Usage: vdpa dev show [ DEV ]\n');
    this.err(
      '       vdpa dev add name NAME mgmtdev MANAGEMENTDEV [ device_features DEVICE_FEATURES]\n' +
        '                                                    [ mac MACADDR ] [ mtu MTU ]\n' +
        '                                                    [ max_vqp MAX_VQ_PAIRS ]\n',
    );
    this.err('       vdpa dev del DEV\n');
    if (this.hasDevSet) this.err('       vdpa dev set name NAME [ mac MACADDR ]\n');
    this.err('Usage: vdpa dev config COMMAND [ OPTIONS ]\n');
    this.err('Usage: vdpa dev vstats COMMAND\n');
  }

  private cmdDev(args: readonly string[]): number {
    const [first, ...rest] = args;
    if (first === undefined) return this.devShow([]);
    if (matches(first, 'help')) {
      this.devHelp();
      return 0;
    }
    if (matches(first, 'show') || matches(first, 'list')) return this.devShow(rest);
    if (matches(first, 'add')) {
      return this.request('VDPA_CMD_DEV_NEW', NLM_F_REQUEST | NLM_F_ACK, rest, ['devMgmtdev', 'devName'], ['mac', 'mtu', 'maxVqp', 'features']);
    }
    if (matches(first, 'del')) return this.request('VDPA_CMD_DEV_DEL', NLM_F_REQUEST | NLM_F_ACK, rest, ['devHandle'], []);
    if (matches(first, 'config')) return this.cmdDevConfig(rest);
    if (first === 'vstats') return this.cmdDevVstats(rest);
    if (first === 'set' && this.hasDevSet) {
      return this.request('VDPA_CMD_DEV_ATTR_SET', NLM_F_REQUEST | NLM_F_ACK, rest, ['devName'], ['mac']);
    }
    this.err(`Command "${first}" not found\n`);
    return -ENOENT;
  }

  private devShow(args: readonly string[]): number {
    const flags = NLM_F_REQUEST | NLM_F_ACK | (args.length === 0 ? NLM_F_DUMP : 0);
    return this.request('VDPA_CMD_DEV_GET', flags, args, args.length ? ['devHandle'] : [], [], (tb) => this.prDev(tb), 'dev');
  }

  private prDev(tb: NlAttrs): void {
    const A = this.A;
    const name = this.str(tb, 'VDPA_ATTR_DEV_NAME');
    const id = tb.u32(A.VDPA_ATTR_DEV_ID as number);
    if (!tb.has(A.VDPA_ATTR_MGMTDEV_DEV_NAME as number) || name === undefined || id === undefined) return;
    this.handleStart(name);
    this.p.string('type', 'type %s', id === 1 ? 'network' : id === 2 ? 'block' : '<unknown type>');
    this.p.string('mgmtdev', ' mgmtdev %s', this.mgmtdevKey(tb));
    const vendor = tb.u32(A.VDPA_ATTR_DEV_VENDOR_ID as number);
    if (vendor !== undefined) this.p.uint('vendor_id', ' vendor_id %u', vendor);
    const maxVqs = tb.u32(A.VDPA_ATTR_DEV_MAX_VQS as number);
    if (maxVqs !== undefined) this.p.uint('max_vqs', ' max_vqs %u', maxVqs);
    const maxSize = tb.u16(A.VDPA_ATTR_DEV_MAX_VQ_SIZE as number);
    if (maxSize !== undefined) this.p.uint('max_vq_size', ' max_vq_size %u', maxSize);
    this.handleEnd();
  }

  private cmdDevConfig(args: readonly string[]): number {
    const [first, ...rest] = args;
    if (first === undefined) return this.configShow([]);
    if (matches(first, 'help')) {
      this.err('Usage: vdpa dev config show [ DEV ]\n');
      return 0;
    }
    if (matches(first, 'show')) return this.configShow(rest);
    this.err(`Command "${first}" not found\n`);
    return -ENOENT;
  }

  private configShow(args: readonly string[]): number {
    const flags = NLM_F_REQUEST | NLM_F_ACK | (args.length === 0 ? NLM_F_DUMP : 0);
    return this.request('VDPA_CMD_DEV_CONFIG_GET', flags, args, args.length ? ['devHandle'] : [], [], (tb) => this.prConfig(tb), 'config');
  }

  private prConfig(tb: NlAttrs): void {
    const A = this.A;
    const name = this.str(tb, 'VDPA_ATTR_DEV_NAME');
    const id = tb.u32(A.VDPA_ATTR_DEV_ID as number);
    if (name === undefined || id === undefined) return;
    this.handleStart(name);
    if (id === VIRTIO_ID_NET) this.prNetConfig(tb, id);
    this.handleEnd();
  }

  private prNetConfig(tb: NlAttrs, devId: number): void {
    const A = this.A;
    const mac = tb.binary(A.VDPA_ATTR_DEV_NET_CFG_MACADDR as number);
    if (mac) this.p.string('mac', 'mac %s ', [...mac].map((b) => b.toString(16).padStart(2, '0')).join(':'));
    const status = tb.u16(A.VDPA_ATTR_DEV_NET_STATUS as number);
    if (status !== undefined) {
      this.p.string('link ', 'link %s ', status & VIRTIO_NET_S_LINK_UP ? 'up' : 'down');
      this.p.bool('link_announce ', 'link_announce %s ', (status & VIRTIO_NET_S_ANNOUNCE) !== 0);
    }
    const vqp = tb.u16(A.VDPA_ATTR_DEV_NET_CFG_MAX_VQP as number);
    if (vqp !== undefined) this.p.uint('max_vq_pairs', 'max_vq_pairs %d ', vqp);
    const mtu = tb.u16(A.VDPA_ATTR_DEV_NET_CFG_MTU as number);
    if (mtu !== undefined) this.p.uint('mtu', 'mtu %d ', mtu);
    const negotiated = tb.u64(A.VDPA_ATTR_DEV_NEGOTIATED_FEATURES as number);
    if (negotiated !== undefined) this.printFeatures(negotiated, false, devId);
  }

  private vstatsHelp(): void {
    this.err('Usage: vdpa dev vstats show DEV [qidx QUEUE_INDEX]\n');
  }

  private cmdDevVstats(args: readonly string[]): number {
    const [first, ...rest] = args;
    if (first === undefined) {
      this.vstatsHelp();
      return -EINVAL;
    }
    if (matches(first, 'help')) {
      this.vstatsHelp();
      return 0;
    }
    if (first !== 'show') {
      this.err(`Command "${first}" not found\n`);
      return -ENOENT;
    }
    if (rest.length !== 1 && rest.length !== 3) {
      this.vstatsHelp();
      return -EINVAL;
    }
    const w = this.build('VDPA_CMD_DEV_VSTATS_GET', NLM_F_REQUEST | NLM_F_ACK, rest, ['devHandle'], ['qidx']);
    if (typeof w === 'number') return w;
    // The kernel's answer is printed, but the command succeeds whatever it was.
    this.send(w, (tb) => this.prVstats(tb), 'vstats');
    return 0;
  }

  private prVstats(tb: NlAttrs): void {
    const A = this.A;
    const name = this.str(tb, 'VDPA_ATTR_DEV_NAME');
    const id = tb.u32(A.VDPA_ATTR_DEV_ID as number);
    if (name === undefined || id === undefined) return;
    this.handleStart(name);
    if (id === VIRTIO_ID_NET) this.prNetVstats(tb);
    this.handleEnd();
  }

  /** pr_out_dev_net_vstats(): attributes in message order; the CVQ is the queue after the pairs. */
  private prNetVstats(tb: NlAttrs): void {
    const A = this.A;
    let maxVqp = 0;
    let features = 0n;
    let vendorName: string | undefined;
    for (const a of tb.list) {
      const v = dataView(a.payload);
      switch (a.type) {
        case A.VDPA_ATTR_DEV_NET_CFG_MAX_VQP:
          maxVqp = v.getUint16(0, true);
          break;
        case A.VDPA_ATTR_DEV_NEGOTIATED_FEATURES:
          features = v.getBigUint64(0, true);
          break;
        case A.VDPA_ATTR_DEV_QUEUE_INDEX: {
          const qidx = v.getUint32(0, true);
          const isCtrl = (features & (1n << BigInt(VIRTIO_NET_F_CTRL_VQ))) !== 0n && qidx === 2 * maxVqp;
          this.p.string('queue_type', 'queue_type %s ', isCtrl ? 'control_vq' : qidx % 2 ? 'tx' : 'rx');
          break;
        }
        case A.VDPA_ATTR_DEV_VENDOR_ATTR_NAME: {
          const nul = a.payload.indexOf(0);
          vendorName = new TextDecoder().decode(a.payload.subarray(0, nul < 0 ? undefined : nul));
          break;
        }
        case A.VDPA_ATTR_DEV_VENDOR_ATTR_VALUE:
          if (vendorName === undefined) break;
          this.p.uint(vendorName, `${vendorName} %lu `, v.getBigUint64(0, true));
          vendorName = undefined;
          break;
      }
    }
  }
}

/** Runs one `vdpa` command line; returns the exit status. */
export function vdpaMain(argv: readonly string[], io: ToolIo, cfg: VdpaToolOptions): number {
  return new VdpaTool(io, cfg).run(argv);
}
