// The whole tree (sources, tests, benches) type-checks under the strict settings of
// tsconfig.json: vitest runs TypeScript without checking types, so this test does.

import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../lib/package_root.js';

describe('tsc --noEmit', () => {
  it('reports no errors', () => {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const r = spawnSync(process.execPath, [tsc, '--noEmit', '-p', packageRoot()], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  }, 120_000);
});
