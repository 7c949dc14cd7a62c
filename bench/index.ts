// Every benchmark the runner knows, in the order it runs them.
import type { BenchDef } from './harness.js';
import { uapiCodecBenches } from './uapi_codec.bench.js';

export const ALL_BENCHES: BenchDef[] = [...uapiCodecBenches];
