// `vdpasim replay FILE [--profile P] [--quiet]`: re-executes a kref-v2 transcript against a
// fresh simulated host, printing each mismatch (mode, sequence number, call, what, expected,
// got), one line per mode and a final `replay: N passed, M failed, K skipped`. Exit 0 only
// when nothing failed.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Replayer, TranscriptError, parseTranscript } from '../../sim/replay/index.js';
import { runShell } from '../../sim/tools/index.js';
import { UAPI_PROFILES } from '../../uapi/index.js';
import { type CommandIo, UsageError } from './io.js';
import { profileOf } from './uapi.js';

export const REPLAY_USAGE = `Usage: vdpasim replay FILE [--profile P] [--quiet]
  Replays a kref-v2 transcript (e.g. ../shared/reference/kernel-6.1/probe.jsonl).
  --profile P   kernel profile (${UAPI_PROFILES.join(', ')}); default from the transcript's kernel
  --quiet       only the per-mode and total lines`;

export function replayCommand(args: string[], io: CommandIo): number {
  const { values, positionals } = parseArgs({
    args,
    options: { profile: { type: 'string' }, quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    io.out(`${REPLAY_USAGE}\n`);
    return 0;
  }
  const [file, ...rest] = positionals;
  if (file === undefined) throw new UsageError('replay needs a transcript file');
  if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    io.err(`vdpasim replay: cannot read ${file}: ${(e as Error).message}\n`);
    return 1;
  }
  let records;
  try {
    records = parseTranscript(text);
  } catch (e) {
    if (!(e instanceof TranscriptError)) throw e;
    io.err(`vdpasim replay: ${file}: ${e.message}\n`);
    return 1;
  }
  const replayer = new Replayer({
    ...(values.profile !== undefined ? { profile: profileOf(values.profile) } : {}),
    system: runShell,
  });
  const result = replayer.run(records);
  if (!values.quiet) {
    for (const m of result.mismatches) {
      io.out(`mismatch ${m.mode} #${m.seq} ${m.call}: ${m.what}: expected ${m.expected}, got ${m.got}\n`);
    }
    for (const r of result.skipReasons) io.out(`skipped: ${r}\n`);
  }
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const m of result.modes) {
    io.out(`mode ${m.name}: ${m.passed} passed, ${m.failed} failed, ${m.skipped} skipped\n`);
    passed += m.passed;
    failed += m.failed;
    skipped += m.skipped;
  }
  io.out(`replay: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  return failed === 0 ? 0 : 1;
}
