// `vdpasim uapi header` must print a header that stands alone, compiles, states exactly what the
// TypeScript declarations state and, for the 6.1 subset, what the real kernel headers state.

import { beforeAll, describe, expect, it } from 'vitest';
import { vdpasimMain } from '../../bin/commands/index.js';
import { UAPI_HEADERS, UAPI_PROFILES, type UapiProfile } from '../../uapi/index.js';
import { captureIo } from '../helpers/capture_io.js';
import { compileAndRun } from '../helpers/gcc.js';
import { REAL_INCLUDES, factProgram, parseFactOutput, uapiFacts } from '../helpers/uapi_facts.js';

async function header(profile: UapiProfile): Promise<string> {
  const io = captureIo();
  expect(await vdpasimMain(['uapi', 'header', '--profile', profile], io)).toBe(0);
  expect(io.stderr).toBe('');
  return io.stdout;
}

/** Kernel-internal codes are not in the real headers. */
const internal = (key: string): boolean => key === 'ENOIOCTLCMD' || key === 'ENOTSUPP';

describe('vdpasim uapi header', () => {
  const texts = new Map<UapiProfile, string>();
  beforeAll(async () => {
    for (const p of UAPI_PROFILES) texts.set(p, await header(p));
  });

  it('includes only <linux/types.h> and <linux/ioctl.h>', () => {
    for (const text of texts.values()) {
      const includes = text.split('\n').filter((l) => l.startsWith('#include'));
      expect(includes).toEqual(['#include <linux/types.h>', '#include <linux/ioctl.h>']);
    }
  });

  for (const profile of UAPI_PROFILES) {
    it(`--profile ${profile}: compiles with -Wall -Wextra -Werror and states every TS-declared value`, () => {
      const facts = uapiFacts(profile);
      const printed = parseFactOutput(
        compileAndRun({ 'uapi.h': texts.get(profile) ?? '', 'main.c': factProgram(facts, ['"uapi.h"']) }, ['-pedantic']),
      );
      const diffs = facts.filter((f) => printed.get(f.key) !== f.value).map((f) => `${f.key}: ${f.value} vs ${printed.get(f.key)}`);
      expect(diffs).toEqual([]);
      expect(facts.length).toBeGreaterThan(1000);
    });
  }

  it('--profile linux-6.1 gives the same values as the machine\'s real 6.1 headers', () => {
    const facts = uapiFacts('linux-6.1').filter((f) => !internal(f.key));
    const ours = parseFactOutput(compileAndRun({ 'uapi.h': texts.get('linux-6.1') ?? '', 'main.c': factProgram(facts, ['"uapi.h"']) }));
    const real = parseFactOutput(compileAndRun({ 'main.c': factProgram(facts, REAL_INCLUDES) }));
    const diffs = facts.filter((f) => ours.get(f.key) !== real.get(f.key)).map((f) => f.key);
    expect(diffs).toEqual([]);
    expect(ours.size).toBe(facts.length);
  });

  it('the 6.1 header lacks RESUME and keeps attribute 21 as VDPA_ATTR_VDPA_DEV_SUPPORTED_FEATURES', () => {
    const h61 = texts.get('linux-6.1') ?? '';
    expect(h61).not.toMatch(/VHOST_VDPA_RESUME/);
    expect(h61).toMatch(/VDPA_ATTR_VDPA_DEV_SUPPORTED_FEATURES = 21,/);
    expect(texts.get('upstream')).toMatch(/#define VHOST_VDPA_RESUME\t_IO\(VHOST_VIRTIO, 0x7e\)/);
    expect(texts.get('upstream')).toMatch(/VDPA_ATTR_DEV_BLK_CFG_CAPACITY = 21,/);
  });
});

describe('vdpasim uapi (summary) and errors', () => {
  it('prints per-header counts and the vhost request table', async () => {
    const io = captureIo();
    expect(await vdpasimMain(['uapi'], io)).toBe(0);
    expect(io.stdout).toMatch(new RegExp(`^vdpa-model uAPI, profile upstream: ${UAPI_HEADERS.length} headers`));
    expect(io.stdout).toMatch(/VHOST_VDPA_GET_VRING_GROUP\s+0xc008af7b\s+_IOWR\s+nr 0x7b/);
    expect(io.stdout).toMatch(/linux-6\.1 lacks \d+ that upstream has/);
  });

  it('marks what the chosen profile lacks', async () => {
    const io = captureIo();
    expect(await vdpasimMain(['uapi', 'summary', '--profile', 'linux-6.1'], io)).toBe(0);
    expect(io.stdout).toMatch(/VHOST_VDPA_RESUME\s+0x0000af7e.*absent in linux-6\.1/);
  });

  it('an unknown profile is a usage error (exit 2) naming the known ones', async () => {
    const io = captureIo();
    expect(await vdpasimMain(['uapi', 'header', '--profile', 'linux-9.9'], io)).toBe(2);
    expect(io.stderr).toMatch(/^vdpasim: unknown profile 'linux-9\.9' \(known: upstream, linux-6\.1, proposal-lm-log\)/);
    expect(io.stdout).toBe('');
  });

  it('unknown commands and options are usage errors', async () => {
    for (const argv of [['frob'], ['uapi', 'frob'], ['uapi', '--bogus'], ['uapi', 'header', 'extra']]) {
      const io = captureIo();
      expect(await vdpasimMain(argv, io)).toBe(2);
      expect(io.stderr).toMatch(/^vdpasim: /);
    }
  });

  it('help prints the usage and exits 0; no command at all exits 2', async () => {
    const io = captureIo();
    expect(await vdpasimMain(['help'], io)).toBe(0);
    expect(io.stdout).toMatch(/^Usage: vdpasim COMMAND/);
    const none = captureIo();
    expect(await vdpasimMain([], none)).toBe(2);
    expect(none.stderr).toMatch(/^Usage: vdpasim COMMAND/);
  });
});
