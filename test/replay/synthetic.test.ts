// Small transcripts of our own for the record types and rules the public transcript does not
// exercise: loop with both kinds of `vary`, dmesg/observe, fresh device re-creation, mismatch
// reporting, and the CLI's summary lines and exit status.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { vdpasimMain } from '../../bin/commands/index.js';
import { Replayer, type TranscriptRecord, instantiate } from '../../sim/replay/index.js';
import { runShell } from '../../sim/tools/index.js';
import { captureIo } from '../helpers/capture_io.js';

const SETUP = 'vdpa dev add name vdpa0 mgmtdev vdpasim_net';
const env = (mode: string, fresh: string): TranscriptRecord => ({
  mode,
  seq: 1,
  call: 'env',
  args: { format: 'kref-v2', mode, setup: SETUP, fresh, devices: 'vdpa0' },
  ret: 0,
  out: { uname_release: '6.1.0-56-amd64', rlimit_memlock_cur: 8388608 },
});
let seq = 1;
const rec = (mode: string, call: string, args: Record<string, unknown>, ret: number | string = 0, out: Record<string, unknown> = {}, errno = 0): TranscriptRecord => ({
  mode,
  seq: ++seq,
  call,
  args,
  ret,
  errno,
  err: null,
  out,
});

const run = (records: TranscriptRecord[]) => new Replayer({ system: runShell }).run(records);

describe('loop and vary', () => {
  it('instantiate() replaces bytes of a hex field (offset/width) and numeric fields modulo `mod`', () => {
    const body: TranscriptRecord = {
      call: 'poke',
      args: { addr: '0x1000', hex: 'aaaa0000bbbb', target: 7 },
      ret: 0,
      out: {},
      vary: [
        { field: 'hex', offset: 2, width: 2, start: '0xfffe', step: '0x1' },
        { field: 'target', start: '0x5', step: '0x3', mod: '0x8' },
        { field: 'addr', start: '0x1000', step: '0x10', mod: '0x0' },
      ],
    };
    const i3 = instantiate(body, 3);
    expect(i3.args.hex).toBe('aaaa0100bbbb'); // 0xfffe + 3 = 0x10001 -> 16 bits 0x0001, little-endian
    expect(i3.args.target).toBe((5 + 3 * 3) % 8);
    expect(i3.args.addr).toBe('0x1030');
  });

  it('a loop runs its body from `from` to `to` and stops at the first mismatch, naming the iteration', () => {
    const base = [env('m', '1'), rec('m', 'mmap', { addr: '0x0', len: 4096, prot: 'rw', flags: 'private|anonymous', fd: null, offset: 0 }, '0x7ffff0000000')];
    const body = [
      { call: 'poke', args: { addr: '0x7ffff0000000', len: 2, hex: '0000' }, ret: 0, out: {}, vary: [{ field: 'hex', offset: 0, width: 2, start: '0x0', step: '0x1' }] },
      { call: 'peek', args: { addr: '0x7ffff0000000', len: 2 }, ret: 0, out: { hex: '0000' }, vary: [] },
    ];
    const good = run([...base, rec('m', 'loop', { var: 'i', from: 0, to: 1, body }, 0, { iterations: 1 })]);
    expect(good.mismatches).toEqual([]);
    const bad = run([...base, rec('m', 'loop', { var: 'i', from: 0, to: 5, body }, 0, { iterations: 5 })]);
    expect(bad.modes[0]?.failed).toBe(1);
    expect(bad.mismatches[0]?.what).toBe('iteration 1 peek out.hex');
    expect(bad.mismatches[0]?.got).toBe('0100');
  });
});

describe('informational records and device state', () => {
  it('observe and dmesg records need nothing and pass', () => {
    const r = run([env('m', '1'), rec('m', 'observe', { anything: 1 }), rec('m', 'dmesg', {}, 0, { lines: ['x'] })]);
    expect(r.modes[0]).toMatchObject({ passed: 3, failed: 0, skipped: 0 });
  });

  it('fresh "1" re-creates the devices of setup; "0" keeps what the previous mode left', () => {
    const open = (mode: string) => rec(mode, 'open', { path: '/dev/vhost-vdpa-0', flags: 'O_RDWR' }, 'vdpa:0');
    const setMac = (mode: string) =>
      rec(mode, 'ioctl', { fd: 'vdpa:0', req: '0x4008af74', len: 14, hex: '000000000600000002aabbccddee' });
    const getMac = (mode: string, mac: string) =>
      rec(mode, 'ioctl', { fd: 'vdpa:0', req: '0x8008af73', len: 14, hex: '0000000006000000000000000000' }, 0, { hex: `0000000006000000${mac}` });
    const r = run([
      env('a', '1'),
      open('a'),
      setMac('a'),
      rec('a', 'close', { fd: 'vdpa:0' }),
      env('b', '0'),
      open('b'),
      getMac('b', '02aabbccddee'),
      rec('b', 'close', { fd: 'vdpa:0' }),
      env('c', '1'),
      open('c'),
      getMac('c', '000000000000'),
    ]);
    expect(r.mismatches).toEqual([]);
  });

  it('a wrong expectation is reported with mode, sequence number, call, field, expected and got', () => {
    const r = run([env('m', '1'), rec('m', 'open', { path: '/dev/vhost-vdpa-0', flags: 'O_RDWR' }, -1, {}, 16)]);
    expect(r.mismatches).toEqual([{ mode: 'm', seq: seq, call: 'open', what: 'ret', expected: '-1 EBUSY', got: 'vdpa:0' }]);
  });

  it('an unknown record type fails instead of being ignored', () => {
    const r = run([env('m', '1'), rec('m', 'teleport', {})]);
    expect(r.modes[0]).toMatchObject({ failed: 1 });
  });
});

describe('vdpasim replay (CLI)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vdpasim-replay-'));
  const write = (name: string, records: TranscriptRecord[]) => {
    const file = join(dir, name);
    writeFileSync(file, records.map((r) => JSON.stringify(r)).join('\n'));
    return file;
  };

  it('prints one line per mode and the total; exit 0 when nothing failed', async () => {
    const io = captureIo();
    const file = write('ok.jsonl', [env('one', '1'), env('two', '0')]);
    expect(await vdpasimMain(['replay', file], io)).toBe(0);
    expect(io.stdout).toBe('mode one: 1 passed, 0 failed, 0 skipped\nmode two: 1 passed, 0 failed, 0 skipped\nreplay: 2 passed, 0 failed, 0 skipped\n');
  });

  it('prints each mismatch and exits 1 when a record fails', async () => {
    const io = captureIo();
    const file = write('bad.jsonl', [env('m', '1'), { ...rec('m', 'open', { path: '/dev/vhost-vdpa-9', flags: 'O_RDWR' }, 'vdpa:9'), seq: 2 }]);
    expect(await vdpasimMain(['replay', file], io)).toBe(1);
    expect(io.stdout).toContain('mismatch m #2 open: ret: expected success, got -1 ENOENT\n');
    expect(io.stdout).toMatch(/replay: 1 passed, 1 failed, 0 skipped\n$/);
  });

  it('refuses a file that is not kref-v2 JSON Lines, naming the line', async () => {
    const io = captureIo();
    const file = join(dir, 'junk.jsonl');
    writeFileSync(file, '{"call":"env","args":{}}\nnot json\n');
    expect(await vdpasimMain(['replay', file], io)).toBe(1);
    expect(io.stderr).toMatch(/line 2: not JSON/);
  });
});
