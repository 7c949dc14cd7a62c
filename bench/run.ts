// `npm run bench [-- --filter NAME] [--time MS]`: runs the benches whose name contains NAME and
// prints one JSON line per case.

import { parseArgs } from 'node:util';
import { runBench } from './harness.js';
import { ALL_BENCHES } from './index.js';

const { values } = parseArgs({
  options: { filter: { type: 'string' }, time: { type: 'string' } },
  strict: true,
});
const filter = values.filter;
const timeMs = values.time ? Number(values.time) : 500;
const chosen = ALL_BENCHES.filter((b) => filter === undefined || b.bench.includes(filter));
if (chosen.length === 0) {
  process.stderr.write(`bench: nothing matches --filter ${filter} (known: ${ALL_BENCHES.map((b) => b.bench).join(', ')})\n`);
  process.exitCode = 2;
}
for (const def of chosen) {
  for (const result of await runBench(def, timeMs)) process.stdout.write(`${JSON.stringify(result)}\n`);
}
