// Where capture bytes go: memory (tests) or a file, buffered so a packet costs no syscall.

import { closeSync, openSync, writeSync } from 'node:fs';

export interface ByteSink {
  write(bytes: Uint8Array): void;
  flush(): void;
  close(): void;
}

/** Collects everything written; `bytes()` returns it. */
export class MemorySink implements ByteSink {
  private chunks: Uint8Array[] = [];
  write(bytes: Uint8Array): void {
    this.chunks.push(bytes.slice());
  }
  flush(): void {}
  close(): void {}
  bytes(): Uint8Array {
    return Buffer.concat(this.chunks);
  }
}

/** A file written through a 64 KiB buffer. */
export class FileSink implements ByteSink {
  private readonly fd: number;
  private readonly buf = new Uint8Array(64 * 1024);
  private used = 0;
  private closed = false;

  constructor(path: string) {
    this.fd = openSync(path, 'w');
  }

  write(bytes: Uint8Array): void {
    if (this.used + bytes.length > this.buf.length) this.flush();
    if (bytes.length > this.buf.length) {
      writeSync(this.fd, bytes);
      return;
    }
    this.buf.set(bytes, this.used);
    this.used += bytes.length;
  }

  flush(): void {
    if (this.used > 0) writeSync(this.fd, this.buf, 0, this.used);
    this.used = 0;
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    closeSync(this.fd);
    this.closed = true;
  }
}
