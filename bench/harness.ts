// Benchmark harness: each bench file exports BenchDef[]; `npm run bench [-- --filter NAME]`
// prints one JSON object per line: {"bench", "case", "unit", "value", ...extra}. Figures, not
// pass/fail.

import { Bench } from 'tinybench';

export interface BenchCase {
  /** e.g. `n=1000000`. */
  name: string;
  /** Runs once before timing (build the fixture). */
  setup?: () => void | Promise<void>;
  /** One operation; `ops` operations per call when the case batches them. */
  fn?: () => void;
  /**
   * Instead of `fn`: a case that times itself over about `timeMs` of real time (traffic from
   * another process, an event loop that must keep turning). Operations done and seconds taken.
   */
  measure?: (timeMs: number) => Promise<{ ops: number; seconds: number; extra?: Record<string, string | number> }>;
  ops?: number;
  extra?: Record<string, string | number>;
}

export interface BenchDef {
  /** e.g. `iotlb.lookup`. */
  bench: string;
  unit: string;
  cases: () => BenchCase[];
}

export interface BenchResult {
  bench: string;
  case: string;
  unit: string;
  value: number;
  [extra: string]: string | number;
}

export async function runBench(def: BenchDef, timeMs = 500): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const c of def.cases()) {
    await c.setup?.();
    if (c.measure) {
      const m = await c.measure(timeMs);
      results.push({ bench: def.bench, case: c.name, unit: def.unit, value: Math.round(m.ops / m.seconds), ...c.extra, ...m.extra });
      continue;
    }
    if (!c.fn) throw new Error(`bench ${def.bench} ${c.name}: neither fn nor measure`);
    const bench = new Bench({ time: timeMs, warmupTime: 100 });
    bench.add(c.name, c.fn);
    await bench.run();
    const r = bench.tasks[0]?.result;
    // Mean latency over all samples (ms per call); more stable than the mean of per-sample rates.
    const hz = r && 'latency' in r && r.latency.mean > 0 ? 1000 / r.latency.mean : 0;
    results.push({ bench: def.bench, case: c.name, unit: def.unit, value: Math.round(hz * (c.ops ?? 1)), ...c.extra });
  }
  return results;
}
