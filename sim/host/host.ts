// The simulated host: one kernel (a profile) with its vdpa bus, PCI bus, /dev, generic netlink,
// host physical memory, MMIO space, kernel log and work scheduler; modules loaded as modprobe would;
// processes spawned with their own address spaces and file tables.
// Not a kernel file. Device work runs only when the host is settled (deterministic) unless the
// host is live, then it also runs on the Node event loop.

import { type KernelProfile, MODULE_NAMES, type ModuleName, kernelProfile } from '../../drivers/profile.js';
import { registerMemDevices } from '../../drivers/char/mem.js';
import { PciBus } from '../../drivers/pci/pci.js';
import { VdpaBus } from '../../drivers/vdpa/vdpa.js';
import { CharDevices } from '../../lib/fs/index.js';
import { IoMem, PhysMem, type PlacementPolicy } from '../../lib/mm/index.js';
import { Genetlink } from '../../lib/netlink/index.js';
import { KernelLog } from '../../lib/printk.js';
import { KthreadWorker, Scheduler } from '../../lib/sched/index.js';
import { DEFAULT_UAPI_PROFILE, type UapiProfile } from '../../uapi/index.js';
import { type LoadedModule, MODULES, type ModuleParams } from './modules.js';
import { Process, type ProcessOptions } from './process.js';

export interface HostOptions {
  profile?: UapiProfile;
  /** Modules to load; default: the profile's set. */
  modules?: readonly ModuleName[];
  params?: ModuleParams;
  /** Run device work on the Node event loop as well as in settle(). */
  live?: boolean;
  /** 2 MiB huge pages in the hugetlb pool. */
  hugepages?: number;
  placement?: PlacementPolicy;
}

/** Thrown by a settle() that hit its work limit: something keeps rescheduling itself. */
export class SettleLimitError extends Error {
  override readonly name = 'SettleLimitError';
}

export class Host {
  readonly profile: KernelProfile;
  readonly phys: PhysMem;
  readonly iomem = new IoMem();
  readonly scheduler: Scheduler;
  readonly chrdev = new CharDevices();
  readonly genl = new Genetlink();
  readonly bus = new VdpaBus();
  /** The PCI root bus: emulated functions are plugged here (sim/pci) and bound to PCI drivers. */
  readonly pci: PciBus;
  readonly klog: KernelLog;
  private readonly loaded = new Map<ModuleName, LoadedModule>();
  private readonly workers = new Map<string, KthreadWorker>();
  private readonly params: ModuleParams;
  private readonly bootTime = performance.now();
  private nextPid = 1000;
  private readonly procs = new Set<Process>();

  private constructor(opts: HostOptions) {
    this.profile = kernelProfile(opts.profile ?? DEFAULT_UAPI_PROFILE);
    const physOpts = opts.placement ? { hugepages: opts.hugepages ?? 512, placement: opts.placement } : { hugepages: opts.hugepages ?? 512 };
    this.phys = new PhysMem(physOpts);
    this.pci = new PciBus(this.iomem, this.phys);
    this.scheduler = new Scheduler({ live: opts.live ?? false });
    this.klog = new KernelLog(() => (performance.now() - this.bootTime) / 1000);
    this.params = opts.params ?? {};
    registerMemDevices(this.chrdev);
  }

  /** Boots a host and loads its modules (with their dependencies). */
  static boot(opts: HostOptions = {}): Host {
    const host = new Host(opts);
    for (const m of opts.modules ?? host.profile.defaultModules) host.modprobe(m);
    return host;
  }

  /** modprobe: loads `name` after its dependencies; loading a loaded module does nothing. */
  modprobe(name: ModuleName): void {
    if (!MODULE_NAMES.includes(name)) throw new Error(`modprobe: FATAL: Module ${String(name)} not found`);
    if (this.loaded.has(name)) return;
    const def = MODULES[name];
    for (const dep of def.deps) this.modprobe(dep);
    this.loaded.set(name, def.init(this, this.params));
  }

  /** rmmod: refuses while another loaded module depends on it. */
  rmmod(name: ModuleName): void {
    const mod = this.loaded.get(name);
    if (!mod) throw new Error(`rmmod: ERROR: Module ${name} is not currently loaded`);
    const users = [...this.loaded.keys()].filter((m) => MODULES[m].deps.includes(name));
    if (users.length) throw new Error(`rmmod: ERROR: Module ${name} is in use by: ${users.join(' ')}`);
    mod.exit();
    this.loaded.delete(name);
  }

  modules(): ModuleName[] {
    return [...this.loaded.keys()];
  }

  /** A named kthread worker feeding the host scheduler. */
  worker(name: string): KthreadWorker {
    let w = this.workers.get(name);
    if (!w) {
      w = new KthreadWorker(this.scheduler, name);
      this.workers.set(name, w);
    }
    return w;
  }

  spawn(opts: ProcessOptions = {}): Process {
    const p = new Process(this, this.nextPid++, opts);
    this.procs.add(p);
    return p;
  }

  /** Called by a process when it exits. */
  reap(p: Process): void {
    this.procs.delete(p);
  }

  /** Runs device work until nothing is queued; the number of work items run. */
  settleSync(limit = 1_000_000): number {
    const n = this.scheduler.drain(limit);
    if (!this.scheduler.idle) throw new SettleLimitError(`settle: still busy after ${limit} work items`);
    return n;
  }

  /** Runs device work until idle. */
  async settle(limit?: number): Promise<number> {
    return this.settleSync(limit);
  }
}
