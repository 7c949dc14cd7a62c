// Every benchmark the runner knows, in the order it runs them.
import type { BenchDef } from './harness.js';
import { iotlbBenches } from './iotlb.bench.js';
import { netBenches } from './net.bench.js';
import { ringBenches } from './ring.bench.js';
import { tapBenches } from './tap.bench.js';
import { uapiCodecBenches } from './uapi_codec.bench.js';

export const ALL_BENCHES: BenchDef[] = [...iotlbBenches, ...ringBenches, ...uapiCodecBenches, ...netBenches, ...tapBenches];
