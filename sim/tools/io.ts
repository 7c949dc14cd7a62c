// Where a command-line tool prints. Tools return an exit code and never exit the process, so
// they run in-process in tests, in the replayer and in the `vdpa` command.

export interface ToolIo {
  out(text: string): void;
  err(text: string): void;
}

/**
 * C stdio as a terminal sees it: stdout is line-buffered (released at each newline and at
 * exit), stderr is not. Interleaving then matches what the real tool shows and what the
 * reference transcripts captured.
 */
export class LineBufferedStdout {
  private pending = '';

  constructor(private readonly io: ToolIo) {}

  write(text: string): void {
    this.pending += text;
    const nl = this.pending.lastIndexOf('\n');
    if (nl >= 0) {
      this.io.out(this.pending.slice(0, nl + 1));
      this.pending = this.pending.slice(nl + 1);
    }
  }

  flush(): void {
    if (this.pending) this.io.out(this.pending);
    this.pending = '';
  }
}
