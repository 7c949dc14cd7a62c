// What `/bin/sh -c CMD` does for the command lines the transcripts record: split into words
// (single and double quotes group, no expansion) and run a modelled tool of the simulated host.
// Unknown programs answer as sh does: "sh: 1: NAME: not found", exit 127.

import type { Host, Process } from '../host/index.js';
import { hostGenlTransport, vdpaMain } from './vdpa/index.js';

export interface ShellResult {
  stdout: string;
  stderr: string;
  exit: number;
}

/** Word splitting with quotes; undefined for an unterminated quote. */
export function shellWords(line: string): string[] | undefined {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: string | undefined;
  for (const ch of line) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else cur += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (quote) return undefined;
  if (inWord) words.push(cur);
  return words;
}

export function runShell(host: Host, proc: Process, line: string): ShellResult {
  const res: ShellResult = { stdout: '', stderr: '', exit: 0 };
  const io = {
    out: (t: string) => {
      res.stdout += t;
    },
    err: (t: string) => {
      res.stderr += t;
    },
  };
  const words = shellWords(line);
  if (!words) {
    res.stderr = 'sh: 1: Syntax error: Unterminated quoted string\n';
    res.exit = 2;
    return res;
  }
  const [prog, ...args] = words;
  if (prog === undefined) return res;
  if (prog === 'vdpa' || prog.endsWith('/vdpa')) {
    res.exit = vdpaMain(args, io, { profile: host.profile.name, transport: hostGenlTransport(host, proc) });
    return res;
  }
  res.stderr = `sh: 1: ${prog}: not found\n`;
  res.exit = 127;
  return res;
}
