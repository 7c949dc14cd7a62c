// Replays a kref-v2 transcript (shared/reference/kernel-6.1/FORMAT.md) against a fresh
// simulated host and compares every replay-relevant field: each `env` starts a new process
// (re-creating the devices of `setup` when `fresh` is "1"), handles are mapped to the model's
// descriptors, argument bytes are placed in the process's memory, `wait` runs the device until
// idle, `mmap` places memory at the recorded address and physical pages as `phys_runs` says,
// `loop` bodies are expanded with `vary`. `system` records go to a command runner (the `vdpa`
// tool); without one they are skipped, with the reason said once.
// Not a kernel file.

import {
  EFD_CLOEXEC,
  EFD_NONBLOCK,
  EFD_SEMAPHORE,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_HUGETLB,
  MAP_NORESERVE,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  O_CLOEXEC,
  O_NONBLOCK,
  O_RDONLY,
  O_RDWR,
  O_WRONLY,
  PROT_EXEC,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  type UapiProfile,
  errnoName,
} from '../../uapi/index.js';
import type { EventFdCtx } from '../../lib/eventfd.js';
import { eventfdFops } from '../../lib/fs/index.js';
import { Host, type Process } from '../host/index.js';
import { type TranscriptRecord, big, bytesToHex, hexToBytes, instantiate } from './transcript.js';

/** Runs a shell command line as the record's process would (`vdpa ...`). */
export type SystemRunner = (host: Host, proc: Process, cmd: string) => { stdout: string; stderr: string; exit: number };

export interface ReplayOptions {
  /** Kernel profile; default: linux-6.1 for a 6.1 transcript, else upstream. */
  profile?: UapiProfile;
  system?: SystemRunner;
}

export interface Mismatch {
  mode: string;
  seq: number;
  call: string;
  what: string;
  expected: string;
  got: string;
}

export interface ModeResult {
  name: string;
  passed: number;
  failed: number;
  skipped: number;
}

export interface ReplayResult {
  profile: UapiProfile;
  modes: ModeResult[];
  mismatches: Mismatch[];
  /** Why records were skipped, once per reason. */
  skipReasons: string[];
}

type Outcome = { kind: 'pass' } | { kind: 'fail'; diffs: Omit<Mismatch, 'mode' | 'seq' | 'call'>[] } | { kind: 'skip'; reason: string };

/** Where ioctl and write argument bytes are placed in the replaying process. */
const SCRATCH_ADDR = 0x5555_0000_0000;
const SCRATCH_LEN = 1 << 20;

const OPEN_FLAGS: Record<string, number> = { O_RDONLY, O_WRONLY, O_RDWR, O_NONBLOCK, O_CLOEXEC };
const EFD_FLAGS: Record<string, number> = { EFD_CLOEXEC, EFD_NONBLOCK, EFD_SEMAPHORE };
const MAP_FLAGS: Record<string, number> = {
  shared: MAP_SHARED,
  private: MAP_PRIVATE,
  anonymous: MAP_ANONYMOUS,
  fixed: MAP_FIXED,
  populate: MAP_POPULATE,
  hugetlb: MAP_HUGETLB,
  noreserve: MAP_NORESERVE,
};

function flagsOf(spec: unknown, table: Record<string, number>): number {
  if (typeof spec === 'number') return spec;
  let f = 0;
  for (const name of String(spec ?? '').split('|')) {
    if (!name || name === '0') continue;
    const v = table[name];
    if (v === undefined) throw new Error(`unknown flag ${name}`);
    f |= v;
  }
  return f;
}

function protOf(spec: unknown): number {
  const s = String(spec ?? 'none');
  if (s === 'none') return PROT_NONE;
  return (s.includes('r') ? PROT_READ : 0) | (s.includes('w') ? PROT_WRITE : 0) | (s.includes('x') ? PROT_EXEC : 0);
}

const show = (r: number): string => (r < 0 ? `-1 ${errnoName(-r)}` : String(r));

export class Replayer {
  private host: Host | undefined;
  private proc: Process | undefined;
  private handles = new Map<string, number>();
  private eventfds = 0;
  private readonly skipReasons = new Set<string>();
  private profile: UapiProfile | undefined;

  constructor(private readonly opts: ReplayOptions = {}) {}

  run(records: readonly TranscriptRecord[]): ReplayResult {
    const modes = new Map<string, ModeResult>();
    const mismatches: Mismatch[] = [];
    for (const rec of records) {
      const mode = rec.mode ?? '(none)';
      let m = modes.get(mode);
      if (!m) {
        m = { name: mode, passed: 0, failed: 0, skipped: 0 };
        modes.set(mode, m);
      }
      let outcome: Outcome;
      try {
        outcome = this.exec(rec);
      } catch (e) {
        outcome = { kind: 'fail', diffs: [{ what: 'execution', expected: 'the record to run', got: (e as Error).message }] };
      }
      if (outcome.kind === 'pass') m.passed++;
      else if (outcome.kind === 'skip') {
        m.skipped++;
        this.skipReasons.add(outcome.reason);
      } else {
        m.failed++;
        for (const d of outcome.diffs) mismatches.push({ mode, seq: rec.seq ?? 0, call: callName(rec), ...d });
      }
    }
    this.proc?.exit();
    return { profile: this.profile ?? 'upstream', modes: [...modes.values()], mismatches, skipReasons: [...this.skipReasons] };
  }

  private get p(): Process {
    if (!this.proc) throw new Error('no process yet: a mode must start with an env record');
    return this.proc;
  }

  private fdOf(v: unknown): number {
    if (typeof v === 'number') return v;
    const fd = this.handles.get(String(v));
    if (fd === undefined) throw new Error(`unknown handle ${String(v)}`);
    return fd;
  }

  /** Compares a syscall result with the record's ret/errno. */
  private cmpRet(rec: TranscriptRecord, r: number, diffs: Omit<Mismatch, 'mode' | 'seq' | 'call'>[], success?: string): void {
    const expFail = rec.ret === -1;
    const exp = expFail ? `-1 ${rec.err ?? errnoName(rec.errno ?? 0)}` : typeof rec.ret === 'string' ? 'success' : String(rec.ret);
    const got = r < 0 ? `-1 ${errnoName(-r)}` : typeof rec.ret === 'string' ? 'success' : (success ?? String(r));
    if (expFail ? r !== -(rec.errno ?? 0) : r < 0 || (typeof rec.ret === 'number' && r !== rec.ret)) {
      diffs.push({ what: 'ret', expected: exp, got });
    }
  }

  private cmpHex(what: string, expected: unknown, got: Uint8Array, diffs: Omit<Mismatch, 'mode' | 'seq' | 'call'>[]): void {
    if (expected === undefined) return;
    const g = bytesToHex(got);
    if (g !== String(expected)) diffs.push({ what, expected: String(expected), got: g });
  }

  private outcome(diffs: Omit<Mismatch, 'mode' | 'seq' | 'call'>[]): Outcome {
    return diffs.length ? { kind: 'fail', diffs } : { kind: 'pass' };
  }

  private exec(rec: TranscriptRecord): Outcome {
    const a = rec.args;
    const diffs: Omit<Mismatch, 'mode' | 'seq' | 'call'>[] = [];
    switch (rec.call) {
      case 'env':
        this.env(rec);
        return { kind: 'pass' };
      case 'observe':
      case 'dmesg':
        return { kind: 'pass' };
      case 'open': {
        const r = this.p.open(String(a.path), flagsOf(a.flags, OPEN_FLAGS));
        const m = /vhost-vdpa-(\d+)$/.exec(String(a.path));
        const name = m ? `vdpa:${m[1]}` : `fd:${r}`;
        this.cmpRet(rec, r, diffs, name);
        if (r >= 0) {
          if (typeof rec.ret === 'string' && rec.ret !== name) diffs.push({ what: 'handle', expected: rec.ret, got: name });
          this.handles.set(typeof rec.ret === 'string' ? rec.ret : name, r);
        }
        return this.outcome(diffs);
      }
      case 'close': {
        const r = this.p.close(this.fdOf(a.fd));
        this.cmpRet(rec, r, diffs);
        if (r === 0 && typeof a.fd === 'string') this.handles.delete(a.fd);
        return this.outcome(diffs);
      }
      case 'eventfd': {
        const r = this.p.eventfd(Number(a.initval ?? 0), flagsOf(a.flags, EFD_FLAGS));
        const name = `efd:${this.eventfds + 1}`;
        this.cmpRet(rec, r, diffs, name);
        if (r >= 0) {
          this.eventfds++;
          if (typeof rec.ret === 'string' && rec.ret !== name) diffs.push({ what: 'handle', expected: rec.ret, got: name });
          this.handles.set(name, r);
        }
        return this.outcome(diffs);
      }
      case 'ioctl':
        return this.ioctl(rec);
      case 'write': {
        const bytes = hexToBytes(String(a.hex ?? ''));
        this.p.poke(SCRATCH_ADDR, bytes);
        const r = this.p.write(this.fdOf(a.fd), SCRATCH_ADDR, bytes.length);
        this.cmpRet(rec, r, diffs);
        return this.outcome(diffs);
      }
      case 'read': {
        const len = Number(a.len);
        const r = this.p.read(this.fdOf(a.fd), SCRATCH_ADDR, len);
        this.cmpRet(rec, r, diffs);
        if (r > 0) this.cmpHex('out.hex', rec.out.hex, this.p.peek(SCRATCH_ADDR, r), diffs);
        return this.outcome(diffs);
      }
      case 'mmap':
        return this.mmap(rec);
      case 'munmap': {
        const r = this.p.munmap(Number(big(a.addr)), Number(a.len));
        this.cmpRet(rec, r, diffs);
        return this.outcome(diffs);
      }
      case 'poke':
        this.p.poke(Number(big(a.addr)), hexToBytes(String(a.hex)));
        return { kind: 'pass' };
      case 'fill':
        this.p.poke(Number(big(a.addr)), new Uint8Array(Number(a.len)).fill(Number(big(a.byte))));
        return { kind: 'pass' };
      case 'peek':
        this.cmpHex('out.hex', rec.out.hex, this.p.peek(Number(big(a.addr)), Number(a.len)), diffs);
        return this.outcome(diffs);
      case 'wait':
        return this.wait(rec);
      case 'system':
        return this.system(rec);
      case 'loop':
        return this.loop(rec);
      default:
        return { kind: 'fail', diffs: [{ what: 'call', expected: 'a kref-v2 record type', got: rec.call }] };
    }
  }

  private env(rec: TranscriptRecord): void {
    this.proc?.exit();
    if (!this.host) {
      const release = String(rec.out.uname_release ?? '');
      this.profile = this.opts.profile ?? (/^6\.1\./.test(release) ? 'linux-6.1' : 'upstream');
      this.host = Host.boot({ profile: this.profile });
    }
    const host = this.host;
    const limit = rec.out.rlimit_memlock_cur;
    this.proc = host.spawn({ comm: 'probe', ...(typeof limit === 'number' ? { rlimitMemlock: limit } : {}) });
    this.handles = new Map();
    this.eventfds = 0;
    const scratch = this.proc.mmap(SCRATCH_ADDR, SCRATCH_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE);
    if (scratch !== SCRATCH_ADDR) throw new Error(`scratch mapping failed (${scratch})`);
    if (rec.args.fresh === '1' || rec.args.fresh === 1 || host.bus.allDevices().length === 0) this.freshDevices(String(rec.args.setup ?? ''));
  }

  /** Deletes every device and runs the setup commands. */
  private freshDevices(setup: string): void {
    const host = this.host as Host;
    const commands = setup
      .split(';')
      .map((c) => c.trim())
      .filter(Boolean);
    if (!commands.length) return;
    if (!this.opts.system) throw new Error('env setup needs the vdpa command emulation');
    for (const vdev of [...host.bus.allDevices()]) if (vdev.mdev) vdev.mdev.ops.devDel(vdev.mdev, vdev);
    for (const cmd of commands) {
      const r = this.opts.system(host, this.p, cmd);
      if (r.exit !== 0) throw new Error(`setup "${cmd}" failed: ${r.stderr.trim()}`);
    }
  }

  private ioctl(rec: TranscriptRecord): Outcome {
    const a = rec.args;
    const diffs: Omit<Mismatch, 'mode' | 'seq' | 'call'>[] = [];
    let arg = 0;
    let len = 0;
    if (a.argp !== null && a.hex !== undefined) {
      const bytes = hexToBytes(String(a.hex));
      for (const ref of (a.fd_refs as { offset: number; width: number; fd: string }[] | undefined) ?? []) {
        new DataView(bytes.buffer).setInt32(ref.offset, this.fdOf(ref.fd), true);
      }
      this.p.poke(SCRATCH_ADDR, bytes);
      arg = SCRATCH_ADDR;
      len = bytes.length;
    }
    const r = this.p.ioctl(this.fdOf(a.fd), Number(big(a.req)), arg);
    this.cmpRet(rec, r, diffs);
    if (rec.out.hex !== undefined && len) this.cmpHex('out.hex', rec.out.hex, this.p.peek(SCRATCH_ADDR, len), diffs);
    return this.outcome(diffs);
  }

  private mmap(rec: TranscriptRecord): Outcome {
    const a = rec.args;
    const diffs: Omit<Mismatch, 'mode' | 'seq' | 'call'>[] = [];
    let flags = flagsOf(a.flags, MAP_FLAGS);
    let addr = Number(big(a.addr ?? '0x0'));
    const expectAddr = typeof rec.ret === 'string' ? Number(big(rec.ret)) : undefined;
    if (expectAddr !== undefined && !(flags & MAP_FIXED)) {
      // Memory goes where the real process had it.
      addr = expectAddr;
      flags |= MAP_FIXED_NOREPLACE;
    }
    const runs = rec.out.phys_runs as [number, number][] | undefined;
    const phys = (this.host as Host).phys;
    const saved = phys.placement;
    if (runs?.length) {
      const lengths = [...runs].sort((x, y) => x[0] - y[0]).map((r) => r[1]);
      phys.placement = () => lengths;
    }
    try {
      const fd = a.fd === null || a.fd === undefined ? -1 : this.fdOf(a.fd);
      const r = this.p.mmap(addr, Number(a.len), protOf(a.prot), flags, fd, Number(a.offset ?? 0));
      if (expectAddr !== undefined) {
        if (r !== expectAddr) diffs.push({ what: 'ret', expected: String(rec.ret), got: r < 0 ? show(r) : `0x${r.toString(16)}` });
      } else {
        this.cmpRet(rec, r, diffs);
      }
    } finally {
      phys.placement = saved;
    }
    return this.outcome(diffs);
  }

  /** The counter of an eventfd handle, without consuming it. */
  private eventfdCount(handle: unknown): bigint {
    const file = this.p.files.lookup(this.fdOf(handle));
    if (!file || file.fops !== eventfdFops) throw new Error(`${String(handle)} is not an eventfd`);
    return (file.privateData as EventFdCtx).count;
  }

  private wait(rec: TranscriptRecord): Outcome {
    const a = rec.args;
    const diffs: Omit<Mismatch, 'mode' | 'seq' | 'call'>[] = [];
    (this.host as Host).settleSync();
    if (a.kind === 'used') {
      const b = this.p.peek(Number(big(a.addr)), 2);
      const idx = (b[0] as number) | ((b[1] as number) << 8);
      const reached = ((idx - Number(a.target)) & 0xffff) < 0x8000;
      if (rec.out.reached !== undefined && reached !== rec.out.reached) {
        diffs.push({ what: 'out.reached', expected: String(rec.out.reached), got: `${reached} (used idx ${idx})` });
      }
    }
    if ((a.kind === 'used' || a.kind === 'call') && rec.out.signalled !== undefined && a.call_fd !== undefined) {
      const signalled = this.eventfdCount(a.call_fd) !== 0n;
      if (signalled !== rec.out.signalled) diffs.push({ what: 'out.signalled', expected: String(rec.out.signalled), got: String(signalled) });
    }
    return this.outcome(diffs);
  }

  private system(rec: TranscriptRecord): Outcome {
    if (!this.opts.system) return { kind: 'skip', reason: 'record type system: no command runner (the vdpa tool) was given' };
    const r = this.opts.system(this.host as Host, this.p, String(rec.args.cmd));
    const diffs: Omit<Mismatch, 'mode' | 'seq' | 'call'>[] = [];
    for (const k of ['stdout', 'stderr', 'exit'] as const) {
      if (rec.out[k] !== undefined && rec.out[k] !== r[k]) diffs.push({ what: `out.${k}`, expected: JSON.stringify(rec.out[k]), got: JSON.stringify(r[k]) });
    }
    return this.outcome(diffs);
  }

  private loop(rec: TranscriptRecord): Outcome {
    const a = rec.args;
    const body = (a.body as TranscriptRecord[] | undefined) ?? [];
    const from = Number(a.from);
    const to = Number(a.to);
    for (let i = from; i < to; i++) {
      for (const b of body) {
        const o = this.exec(instantiate({ ...b, args: b.args ?? {}, out: b.out ?? {} }, i));
        if (o.kind === 'fail') {
          return { kind: 'fail', diffs: o.diffs.map((d) => ({ ...d, what: `iteration ${i} ${b.call} ${d.what}` })) };
        }
        if (o.kind === 'skip') return o;
      }
    }
    return { kind: 'pass' };
  }
}

function callName(rec: TranscriptRecord): string {
  return rec.call === 'ioctl' ? String(rec.args.name ?? 'ioctl') : rec.call;
}
