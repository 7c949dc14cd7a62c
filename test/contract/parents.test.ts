// The vDPA parent contract (parent/rules.ts) over every parent (parent/parents.ts): each rule
// that applies passes, or is a known violation that still happens; and each rule can fail:
// its broken variant (parent/broken.ts) makes that rule, and only it, throw.

import { describe, expect, it } from 'vitest';
import { BROKEN, brokenCase } from './parent/broken.js';
import { PARENTS, type ParentCase } from './parent/parents.js';
import { ContractViolation, RULES, type Rule } from './parent/rules.js';

/** Runs `rule` on a fresh device of `pc`: its violation, or undefined when it passes or does not apply. */
function outcome(pc: ParentCase, rule: Rule): ContractViolation | undefined {
  const p = pc.create();
  try {
    if (rule.applies(p)) rule.check(p);
    return undefined;
  } catch (e) {
    if (e instanceof ContractViolation) return e;
    throw e;
  } finally {
    pc.destroy(p);
  }
}

function applicable(pc: ParentCase): Rule[] {
  const p = pc.create();
  try {
    return RULES.filter((r) => r.applies(p));
  } finally {
    pc.destroy(p);
  }
}

describe('vDPA parent contract', () => {
  for (const pc of PARENTS) {
    for (const r of applicable(pc)) {
      it(`${pc.name}: ${r.id} ${r.title}`, () => {
        const v = outcome(pc, r);
        if (v) throw v;
      });
    }
  }
});

describe('each rule can fail: its broken parent breaks it and no other rule', () => {
  it('every rule has exactly one broken variant, and every variant names a rule', () => {
    expect(RULES.filter((r) => BROKEN.filter((b) => b.rule === r.id).length !== 1).map((r) => r.id)).toEqual([]);
    expect(BROKEN.filter((b) => !RULES.some((r) => r.id === b.rule)).map((b) => b.rule)).toEqual([]);
  });

  for (const v of BROKEN) {
    it(`${v.rule} catches ${v.bug}`, () => {
      const pc = brokenCase(v);
      const thrown = RULES.map((r) => outcome(pc, r)).filter((e) => e !== undefined);
      expect(thrown.map((e) => e.rule)).toEqual([v.rule]);
      expect(thrown[0]?.message).toContain(v.mentions);
    });
  }
});
