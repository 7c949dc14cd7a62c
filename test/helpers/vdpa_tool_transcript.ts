// Reads kernel-6.1/vdpa-tool.txt: each `$ vdpa ...` command with the output it printed (stdout
// and stderr in one stream) and its exit status, in order, per section.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../lib/package_root.js';

/** The recorded Linux 6.1 transcripts, vendored from shared/reference/kernel-6.1. */
export const REFERENCE = join(packageRoot(), 'test', 'fixtures', 'kernel-6.1');

export interface ToolCase {
  cmd: string;
  output: string;
  exit: number;
}

/** The `$ vdpa` commands between `# section <name>` and the next section or `---` block. */
export function vdpaToolCases(section: string): ToolCase[] {
  const text = readFileSync(join(REFERENCE, 'vdpa-tool.txt'), 'utf8');
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`# section ${section}`));
  if (start < 0) throw new Error(`no section ${section}`);
  const cases: ToolCase[] = [];
  let cur: ToolCase | undefined;
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith('# section') || line.startsWith('---')) break;
    if (line.startsWith('$ ')) {
      cur = { cmd: line.slice(2), output: '', exit: -1 };
      continue;
    }
    const m = /^\[exit (\d+)\]$/.exec(line);
    if (m && cur) {
      cur.exit = Number(m[1]);
      if (cur.cmd.startsWith('vdpa ')) cases.push(cur);
      cur = undefined;
      continue;
    }
    if (cur) cur.output += `${line}\n`;
  }
  return cases;
}
