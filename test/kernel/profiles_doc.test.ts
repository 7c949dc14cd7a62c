// docs/profiles.md lists every behaviour in which the kernel profiles differ: each KernelProfile
// field whose values differ between upstream and linux-6.1, or between upstream and a proposal
// profile, has a row.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LINUX_6_1, PROPOSAL_LM_LOG, UPSTREAM } from '../../drivers/profile.js';
import { packageRoot } from '../../lib/package_root.js';

function differing(a: object, b: object, prefix = ''): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(a)) {
    const w = (b as Record<string, unknown>)[k];
    if (v && typeof v === 'object' && !Array.isArray(v)) out.push(...differing(v, w as object, `${prefix}${k}.`));
    else if (JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)) !== JSON.stringify(w, (_k, x) => (typeof x === 'bigint' ? x.toString() : x))) out.push(`${prefix}${k}`);
  }
  return out;
}

describe('docs/profiles.md', () => {
  const doc = readFileSync(join(packageRoot(), 'docs', 'profiles.md'), 'utf8');
  const fields = differing(UPSTREAM, LINUX_6_1).filter((f) => f !== 'name' && f !== 'title');

  it('the profiles differ in at least twenty behaviours', () => {
    expect(fields.length).toBeGreaterThanOrEqual(20);
  });

  for (const f of fields) {
    it(`has a row for ${f}`, () => {
      expect(doc).toContain(`\`${f}\``);
    });
  }

  const proposal = doc.slice(doc.indexOf('## proposal-lm-log'), doc.indexOf('## uAPI differences'));
  const proposalFields = differing(PROPOSAL_LM_LOG, UPSTREAM).filter((f) => f !== 'name' && f !== 'title');

  it('proposal-lm-log differs from upstream in exactly its three behaviours', () => {
    expect(proposalFields.sort()).toEqual(['vhostVdpa.dirtyLog', 'vhostVdpa.knownBackendFeatures', 'vpVdpa.lmRegisters']);
  });

  for (const f of proposalFields) {
    it(`the proposal-lm-log section has a row for ${f}`, () => {
      expect(proposal).toContain(`\`${f}\``);
    });
  }
});
