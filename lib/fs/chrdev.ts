// Models: character device regions and nodes (fs/char_dev.c alloc_chrdev_region /
// cdev_device_add / cdev_device_del) together with the devtmpfs nodes they create, and the
// open path of a /dev node (chrdev_open).
// Deviations: /dev is a flat name space of character devices; there is no inode, so a node
// carries the driver's private object (what container_of(inode->i_cdev, ...) finds).

import { EBUSY, EEXIST, ENOENT, ENXIO, O_ACCMODE, O_RDONLY, O_RDWR, O_WRONLY } from '../../uapi/index.js';
import { FMODE_READ, FMODE_WRITE, File, type FileOperations } from './file.js';
import type { Task } from './task.js';

export interface DevNode {
  /** Node name under /dev, e.g. "vhost-vdpa-0". */
  readonly name: string;
  readonly major: number;
  readonly minor: number;
  readonly fops: FileOperations;
  /** The driver object behind the node. */
  readonly owner: unknown;
}

/** Dynamic majors are handed out downwards from here (CHRDEV_MAJOR_DYN_END .. 254). */
const DYN_MAJOR_TOP = 254;
const DYN_MAJOR_BOTTOM = 234;

export class CharDevices {
  private readonly nodes = new Map<string, DevNode>();
  private readonly regions = new Map<number, string>();

  /** alloc_chrdev_region(): a free dynamic major, or -EBUSY. */
  allocRegion(name: string): number {
    for (let major = DYN_MAJOR_TOP; major >= DYN_MAJOR_BOTTOM; major--) {
      if (!this.regions.has(major)) {
        this.regions.set(major, name);
        return major;
      }
    }
    return -EBUSY;
  }

  /** register_chrdev_region() of a fixed major: 0, or -EBUSY when taken. */
  registerRegion(major: number, name: string): number {
    if (this.regions.has(major)) return -EBUSY;
    this.regions.set(major, name);
    return 0;
  }

  unregisterRegion(major: number): void {
    this.regions.delete(major);
  }

  /** cdev_device_add(): creates /dev/<name>; -EEXIST if the name is taken. */
  add(node: DevNode): number {
    if (this.nodes.has(node.name)) return -EEXIST;
    this.nodes.set(node.name, node);
    return 0;
  }

  /** cdev_device_del(): the node disappears; files already open stay usable. */
  remove(name: string): void {
    this.nodes.delete(name);
  }

  node(name: string): DevNode | undefined {
    return this.nodes.get(name);
  }

  /** Node names, sorted as `ls /dev` would. */
  list(): string[] {
    return [...this.nodes.keys()].sort();
  }

  /** open(2) of a /dev path: a File, or -errno (ENOENT for no node, ENXIO without a driver open). */
  open(path: string, flags: number, task: Task): File | number {
    const name = path.startsWith('/dev/') ? path.slice('/dev/'.length) : undefined;
    const node = name === undefined ? undefined : this.nodes.get(name);
    if (!node) return -ENOENT;
    if (!this.regions.has(node.major)) return -ENXIO;
    const acc = flags & O_ACCMODE;
    const fmode = acc === O_RDONLY ? FMODE_READ : acc === O_WRONLY ? FMODE_WRITE : acc === O_RDWR ? FMODE_READ | FMODE_WRITE : 0;
    const file = new File(node.fops, flags, fmode);
    const r = node.fops.open ? node.fops.open(file, task, node) : 0;
    return r < 0 ? r : file;
  }
}
