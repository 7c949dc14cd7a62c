// Layout check: every constant, enumerator, ioctl number, struct size, member offset and
// member size the linux-6.1 profile declares, compared with what gcc computes from this
// machine's Linux 6.1 uAPI headers (Debian linux-libc-dev).

import { beforeAll, describe, expect, it } from 'vitest';
import { UAPI_HEADERS, strerror, STRERROR } from '../../uapi/index.js';
import { compileAndRun } from '../helpers/gcc.js';
import { REAL_INCLUDES, type Fact, factProgram, parseFactOutput, uapiFacts } from '../helpers/uapi_facts.js';


/** Codes of include/linux/errno.h: not in the uAPI headers, checked against the facts sheet instead. */
const KERNEL_INTERNAL = new Set(['ENOIOCTLCMD', 'ENOTSUPP']);

const headerVersion: Fact = { key: 'LINUX_VERSION_CODE', value: '', cexpr: 'LINUX_VERSION_CODE' };
const strerrorFacts: Fact[] = Object.keys(STRERROR).map((n) => ({
  key: `strerror(${n})`,
  value: strerror(Number(n)),
  cexpr: `strerror(${n})`,
  string: true,
}));

let real: Map<string, string>;

beforeAll(() => {
  const facts = [headerVersion, ...uapiFacts('linux-6.1'), ...strerrorFacts].filter((f) => !KERNEL_INTERNAL.has(f.key));
  real = parseFactOutput(compileAndRun({ 'main.c': factProgram(facts, REAL_INCLUDES) }));
});

describe('uAPI declarations against the real Linux 6.1 headers (gcc)', () => {
  it('the machine has Linux 6.1 uAPI headers', () => {
    const code = Number(real.get('LINUX_VERSION_CODE'));
    expect(`${code >> 16}.${(code >> 8) & 0xff}`).toBe('6.1');
  });

  it('compares at least 200 items in total', () => {
    const compared = uapiFacts('linux-6.1').filter((f) => !KERNEL_INTERNAL.has(f.key));
    expect(compared.length).toBeGreaterThanOrEqual(200);
  });

  for (const header of UAPI_HEADERS) {
    const facts = uapiFacts('linux-6.1', [header]).filter((f) => !KERNEL_INTERNAL.has(f.key));
    if (facts.length === 0) continue;
    const kinds = (prefix: string): number => facts.filter((f) => f.key.startsWith(prefix)).length;
    const nStructs = kinds('sizeof(struct') - facts.filter((f) => /^sizeof\(struct [^)]*\.[^)]*\)$/.test(f.key)).length;
    const nMembers = kinds('offsetof(');
    const nNames = facts.length - nMembers - facts.filter((f) => f.key.startsWith('sizeof(')).length;
    it(`${header.file}: ${nNames} constants/enumerators/ioctls, ${nStructs} structs, ${nMembers} members match`, () => {
      const diffs = facts
        .filter((f) => real.get(f.key) !== f.value)
        .map((f) => `${f.key}: model ${f.value}, kernel ${real.get(f.key) ?? '(absent)'}`);
      expect(diffs).toEqual([]);
    });
  }

  it(`errno messages match glibc strerror() for all ${strerrorFacts.length} numbers`, () => {
    const diffs = strerrorFacts.filter((f) => real.get(f.key) !== f.value).map((f) => `${f.key}: "${f.value}" vs "${real.get(f.key)}"`);
    expect(diffs).toEqual([]);
  });
});
