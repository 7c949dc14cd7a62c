// Captures: written by our pcap/pcapng writers, read back by our reader always and by tshark
// when it is installed.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureFormatError, FileSink, MemorySink, PcapWriter, PcapngWriter, readCapture } from '../../lib/pcap/index.js';

const dir = mkdtempSync(join(tmpdir(), 'vdpa-model-pcap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function frame(len: number, fill: number): Uint8Array {
  const f = new Uint8Array(len).fill(fill);
  f.fill(0xff, 0, 6);
  f[12] = 0x08;
  f[13] = 0x06;
  return f;
}

function tshark(): string | undefined {
  try {
    execFileSync('tshark', ['-v'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'tshark is not installed';
  }
}
const noTshark = tshark();
if (noTshark) console.warn(`pcap tests: skipping the tshark cross-check: ${noTshark}`);

describe('pcapng', () => {
  function sample(sink: MemorySink | FileSink): void {
    const w = new PcapngWriter(sink);
    const tx = w.addInterface({ name: 'vdpa0/q1', description: 'vdpa0 tx queue' });
    const rx = w.addInterface({ name: 'vdpa0/q0', snaplen: 64 });
    w.writePacket(tx, frame(60, 1), { timestampNs: 1_700_000_000_123_456_789n, direction: 'out', comment: 'dev=vdpa0 queue=1 dir=tx asid=0' });
    w.writePacket(rx, frame(1514, 2), { timestampNs: 1_700_000_000_123_456_790n, direction: 'in', comment: 'dev=vdpa0 queue=0 dir=rx asid=0' });
    w.writePacket(tx, frame(43, 3), { timestampNs: 1_700_000_000_200_000_000n });
    w.close();
  }

  it('reads back every packet with its interface, timestamp, comment, direction and truncation', () => {
    const sink = new MemorySink();
    sample(sink);
    const cap = readCapture(sink.bytes());
    expect(cap.format).toBe('pcapng');
    expect(cap.interfaces).toEqual([
      { linktype: 1, snaplen: 262144, name: 'vdpa0/q1', description: 'vdpa0 tx queue' },
      { linktype: 1, snaplen: 64, name: 'vdpa0/q0' },
    ]);
    expect(cap.packets.map((p) => [p.interfaceId, p.data.length, p.origLen, p.timestampNs, p.comment, p.flags])).toEqual([
      [0, 60, 60, 1_700_000_000_123_456_789n, 'dev=vdpa0 queue=1 dir=tx asid=0', 2],
      [1, 64, 1514, 1_700_000_000_123_456_790n, 'dev=vdpa0 queue=0 dir=rx asid=0', 1],
      [0, 43, 43, 1_700_000_000_200_000_000n, undefined, undefined],
    ]);
    expect([...(cap.packets[2]?.data ?? [])]).toEqual([...frame(43, 3)]);
  });

  it.skipIf(noTshark !== undefined)('opens in tshark with the same packets, comments and directions', () => {
    const path = join(dir, 'sample.pcapng');
    sample(new FileSink(path));
    const out = execFileSync(
      'tshark',
      ['-r', path, '-T', 'fields', '-e', 'frame.len', '-e', 'frame.cap_len', '-e', 'frame.comment', '-e', 'frame.packet_flags_direction', '-e', 'frame.interface_name'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    );
    expect(out.trim().split('\n')).toEqual([
      '60\t60\tdev=vdpa0 queue=1 dir=tx asid=0\t0x00000002\tvdpa0/q1',
      '1514\t64\tdev=vdpa0 queue=0 dir=rx asid=0\t0x00000001\tvdpa0/q0',
      '43\t43\t\t\tvdpa0/q1',
    ]);
  });

  it('writing on an undeclared interface is refused', () => {
    const w = new PcapngWriter(new MemorySink());
    expect(() => w.writePacket(3, frame(60, 0), { timestampNs: 0n })).toThrow('pcapng: no interface 3');
  });
});

describe('pcap', () => {
  it('writes microsecond and nanosecond files that read back', () => {
    for (const nanosecond of [false, true]) {
      const path = join(dir, `s${nanosecond}.pcap`);
      const w = new PcapWriter(new FileSink(path), { nanosecond, snaplen: 100 });
      w.writePacket(frame(60, 9), 1_700_000_000_123_456_789n);
      w.writePacket(frame(200, 8), 1_700_000_001_000_000_000n);
      w.close();
      const cap = readCapture(readFileSync(path));
      expect(cap.format).toBe('pcap');
      expect(cap.packets.map((p) => [p.data.length, p.origLen, p.timestampNs])).toEqual([
        [60, 60, nanosecond ? 1_700_000_000_123_456_789n : 1_700_000_000_123_456_000n],
        [100, 200, 1_700_000_001_000_000_000n],
      ]);
    }
  });

  it.skipIf(noTshark !== undefined)('opens in tshark', () => {
    const path = join(dir, 'ns.pcap');
    const w = new PcapWriter(new FileSink(path), { nanosecond: true });
    w.writePacket(frame(60, 9), 1_700_000_000_123_456_789n);
    w.close();
    const out = execFileSync('tshark', ['-r', path, '-T', 'fields', '-e', 'frame.len', '-e', 'frame.time_epoch'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    expect(out.trim()).toBe('60\t1700000000.123456789');
  });
});

describe('reader errors', () => {
  it('names what is wrong with a file that is not a capture or is cut short', () => {
    expect(() => readCapture(Uint8Array.from([1, 2, 3, 4, 5]))).toThrow(/not a pcap or pcapng file/);
    const sink = new MemorySink();
    const w = new PcapWriter(sink);
    w.writePacket(frame(60, 1), 0n);
    const cut = sink.bytes().subarray(0, 24 + 16 + 10);
    expect(() => readCapture(cut)).toThrow(CaptureFormatError);
  });
});
