// Golden test: the `vdpa` commands of section A.1 of kernel-6.1/vdpa-tool.txt (iproute2 6.1
// against a real Linux 6.1), run in order against a fresh linux-6.1 host, reproduce the
// recorded output byte for byte (stdout and stderr in one stream, in write order) and the exit
// status.

import { describe, expect, it } from 'vitest';
import { Host } from '../../sim/host/index.js';
import { runShell } from '../../sim/tools/index.js';
import { vdpaMain } from '../../sim/tools/vdpa/index.js';
import { hostGenlTransport } from '../../sim/tools/vdpa/index.js';
import { vdpaToolCases } from '../helpers/vdpa_tool_transcript.js';
import { shellWords } from '../../sim/tools/shell.js';

describe('vdpa tool against kernel-6.1/vdpa-tool.txt section A.1', () => {
  const cases = vdpaToolCases('A.1');
  const host = Host.boot({ profile: 'linux-6.1' });
  const proc = host.spawn({ comm: 'vdpa' });

  it('has the recorded commands', () => {
    expect(cases.length).toBeGreaterThanOrEqual(18);
  });

  for (const c of cases) {
    it(`$ ${c.cmd}`, () => {
      let both = '';
      const io = { out: (t: string) => (both += t), err: (t: string) => (both += t) };
      const words = shellWords(c.cmd) as string[];
      const exit = vdpaMain(words.slice(1), io, { profile: 'linux-6.1', transport: hostGenlTransport(host, proc) });
      expect(both).toBe(c.output);
      expect(exit).toBe(c.exit);
    });
  }

  it('the shell runs vdpa with separate streams and reports unknown programs as sh does', () => {
    const r = runShell(host, proc, 'vdpa dev show nosuchdev');
    expect(r).toEqual({ stdout: '', stderr: 'Error: vdpa: device not found.\nkernel answers: No such device\n', exit: 1 });
    expect(runShell(host, proc, 'ip link')).toEqual({ stdout: '', stderr: 'sh: 1: ip: not found\n', exit: 127 });
  });
});
