// Models: the kernel log ring buffer (kernel/printk) as dmesg shows it: one line per message,
// stamped with the host's monotonic clock.
// Deviations: unbounded; the clock is whatever the host supplies (simulated time by default).

export interface KmsgLine {
  /** Seconds since boot. */
  readonly time: number;
  readonly text: string;
}

export class KernelLog {
  private readonly lines: KmsgLine[] = [];

  constructor(private readonly clock: () => number = () => 0) {}

  printk(text: string): void {
    this.lines.push({ time: this.clock(), text });
  }

  /** Lines from index `from` on (a reader keeps its own position, as /dev/kmsg readers do). */
  read(from = 0): readonly KmsgLine[] {
    return this.lines.slice(from);
  }

  get length(): number {
    return this.lines.length;
  }

  /** dmesg's format: "[    2.534502] text". */
  static format(line: KmsgLine): string {
    return `[${line.time.toFixed(6).padStart(12)}] ${line.text}`;
  }
}
