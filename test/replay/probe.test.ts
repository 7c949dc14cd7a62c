// The public Linux 6.1 transcript replays on the linux-6.1 profile with every record matching,
// and the same transcript exposes the upstream profile's differences (VA mode skips the probe's
// private memory, so its datapath sees nothing; upstream features differ).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Replayer, parseTranscript } from '../../sim/replay/index.js';
import { runShell } from '../../sim/tools/index.js';
import { REFERENCE } from '../helpers/vdpa_tool_transcript.js';

const records = parseTranscript(readFileSync(join(REFERENCE, 'probe.jsonl'), 'utf8'));

describe('probe.jsonl (kref-v2, public set)', () => {
  it('replays on linux-6.1: every record of every mode passes, none skipped', () => {
    const r = new Replayer({ system: runShell }).run(records);
    expect(r.profile).toBe('linux-6.1');
    expect(r.mismatches).toEqual([]);
    expect(r.modes.map((m) => [m.name, m.passed, m.failed, m.skipped])).toEqual([
      ['api', 267, 0, 0],
      ['datapath', 347, 0, 0],
      ['asid', 332, 0, 0],
    ]);
  });

  it('on upstream the kernel answers differ where the profiles do', () => {
    const r = new Replayer({ profile: 'upstream', system: runShell }).run(records);
    const api = (seq: number) => r.mismatches.filter((m) => m.mode === 'api' && m.seq === seq).map((m) => m.got);
    // GET_FEATURES: upstream adds VIRTIO_NET_F_STATUS (bit 16).
    expect(api(6)).toEqual(['2800830803000000']);
    // GET_BACKEND_FEATURES: upstream offers RESUME, ENABLE_AFTER_DRIVER_OK, IOTLB_PERSIST.
    expect(api(12)).toEqual(['7e01000000000000']);
    // RESUME exists upstream: with status 0 it is a no-op success instead of EFAULT.
    expect(api(230)).toEqual(['0']);
    expect(r.modes.find((m) => m.name === 'datapath')?.failed).toBeGreaterThan(0);
  });

  it('without a command runner, system records are skipped with the reason given once', () => {
    const setupless = records.filter((x) => x.mode === 'datapath').map((x) => (x.call === 'env' ? { ...x, args: { ...x.args, setup: '' } } : x));
    const r = new Replayer({ profile: 'linux-6.1' }).run(setupless);
    const dp = r.modes.find((m) => m.name === 'datapath');
    expect(dp?.skipped).toBe(4);
    expect(r.skipReasons).toEqual(['record type system: no command runner (the vdpa tool) was given']);
  });
});
