// Compiles and runs a small C program with the machine's gcc, in a temporary folder.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function hasGcc(): boolean {
  try {
    execFileSync('gcc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Writes `files`, compiles `main.c` with strict warnings, runs it and returns its stdout. */
export function compileAndRun(files: Record<string, string>, cflags: readonly string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), 'vdpa-model-gcc-'));
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const exe = join(dir, 'a.out');
    execFileSync('gcc', ['-std=gnu11', '-Wall', '-Wextra', '-Werror', '-I', dir, ...cflags, '-o', exe, join(dir, 'main.c')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return execFileSync(exe, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
