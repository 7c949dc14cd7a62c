// Models: lib/idr.c's IDA: the smallest free id in [min, max], freed ids reused.
// Deviations: a set searched upwards from min stands in for the radix tree (the model holds
// few ids).

import { ENOSPC } from '../uapi/index.js';

export class Ida {
  private readonly used = new Set<number>();

  /** ida_alloc_range(): the lowest free id in [min, max], or -ENOSPC. */
  allocRange(min: number, max: number): number {
    for (let id = min; id <= max; id++) {
      if (!this.used.has(id)) {
        this.used.add(id);
        return id;
      }
    }
    return -ENOSPC;
  }

  /** ida_alloc_max(). */
  allocMax(max: number): number {
    return this.allocRange(0, max);
  }

  /** ida_alloc(). */
  alloc(): number {
    return this.allocRange(0, 0x7fffffff);
  }

  /** ida_free(). */
  free(id: number): void {
    this.used.delete(id);
  }

  has(id: number): boolean {
    return this.used.has(id);
  }
}
